//! The user-mode NAT backend over libslirp (the `libslirp` crate over Debian's
//! `libslirp-dev`); built with the `user-net` feature.
//!
//! A libslirp context is not thread-safe and lives on its own thread, which polls
//! libslirp's sockets, runs its timers, injects frames the guest sends (passed through
//! a bounded channel plus a wake-up socket) and pushes frames for the guest into the
//! device's bounded [`FrameQueue`], waking the board. Dropping the backend stops it.
//!
//! Building needs Debian's `libslirp-dev` and `libglib2.0-dev`: without them the
//! `libslirp-sys` build script stops with "The system library `slirp` ... was not
//! found" (pkg-config's `slirp.pc`).

use std::cell::{Cell, RefCell};
use std::ffi::CString;
use std::io::{self, Read, Write};
use std::net::Ipv4Addr;
use std::os::fd::AsRawFd;
use std::os::raw::c_void;
use std::os::unix::net::UnixStream;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use libslirp::{Context, Handler, PollEvents};
use libslirp_sys::{slirp_add_hostfwd, slirp_state_load, SlirpConfig};
use tern_state::{Persist, StateError};

use super::super::net::{FrameQueue, NetBackend};
use super::super::net_flows::{FlowGate, Verdict};
use super::{SlirpOptions, SlirpState, DNS, GUEST, HOST};
use crate::PollWaker;

const NETWORK: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 0);
const NETMASK: Ipv4Addr = Ipv4Addr::new(255, 255, 255, 0);
const QUEUE_FRAMES: usize = 256;

/// Requests to the slirp thread.
enum Control {
    Save(Sender<io::Result<Vec<u8>>>),
    Restore(Vec<u8>, Sender<io::Result<()>>),
}

/// How long a save or restore waits for the slirp thread.
const CONTROL_TIMEOUT: Duration = Duration::from_secs(10);

/// The user-mode NAT backend.
pub struct SlirpBackend {
    rx: FrameQueue,
    tx: Option<SyncSender<Vec<u8>>>,
    control: Sender<Control>,
    wake: UnixStream,
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl SlirpBackend {
    /// Starts the NAT; fails if a forwarded port cannot be bound.
    pub fn new(opts: SlirpOptions, waker: Option<PollWaker>) -> io::Result<SlirpBackend> {
        let rx = FrameQueue::new(QUEUE_FRAMES, waker);
        let (tx, txr) = sync_channel(QUEUE_FRAMES);
        let (wake, wake_rx) = UnixStream::pair()?;
        wake.set_nonblocking(true)?;
        wake_rx.set_nonblocking(true)?;
        let stop = Arc::new(AtomicBool::new(false));
        let (ready, ready_rx) = channel();
        let (control, control_rx) = channel();
        let (rx2, stop2) = (rx.clone(), stop.clone());
        let chans = Channels {
            frames: txr,
            control: control_rx,
            wake: wake_rx,
            ready,
        };
        let thread = thread::Builder::new()
            .name("slirp".into())
            .spawn(move || run(opts, rx2, chans, stop2))?;
        let mut b = SlirpBackend {
            rx,
            tx: Some(tx),
            control,
            wake,
            stop,
            thread: Some(thread),
        };
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(b),
            Ok(Err(e)) => {
                b.shutdown();
                Err(e)
            }
            Err(_) => {
                b.shutdown();
                Err(io::Error::other("libslirp failed to start"))
            }
        }
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::Release);
        self.tx = None;
        let _ = self.wake.write(&[0]);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl SlirpBackend {
    /// Runs a request on the slirp thread and waits for its answer.
    fn ask<T>(&self, make: impl FnOnce(Sender<io::Result<T>>) -> Control) -> io::Result<T> {
        let (reply, answer) = channel();
        self.control
            .send(make(reply))
            .map_err(|_| io::Error::other("the slirp thread has stopped"))?;
        let _ = (&self.wake).write(&[0]);
        answer
            .recv_timeout(CONTROL_TIMEOUT)
            .map_err(|_| io::Error::other("the slirp thread does not answer"))?
    }
}

impl NetBackend for SlirpBackend {
    fn send(&mut self, frame: &[u8]) {
        if let Some(tx) = &self.tx {
            if tx.try_send(frame.to_vec()).is_ok() {
                // A full wake-up socket already holds a wake-up.
                let _ = self.wake.write(&[0]);
            }
        }
    }

    fn recv(&mut self) -> Option<Vec<u8>> {
        self.rx.pop()
    }
}

impl Persist for SlirpBackend {
    type State = SlirpState;

    /// Asks the slirp thread for its state: a thread that stopped is an error.
    fn save(&self) -> Result<SlirpState, StateError> {
        let bytes = self
            .ask(Control::Save)
            .map_err(|e| StateError::save(e.to_string()))?;
        let (version, stream) = bytes
            .split_first_chunk::<4>()
            .ok_or_else(|| StateError::save("libslirp gave no state"))?;
        Ok(SlirpState {
            stream_version: i32::from_le_bytes(*version),
            stream: stream.to_vec(),
        })
    }

    /// Loads the stream into this backend's libslirp (a newer stream version than the
    /// host's libslirp reads is refused).
    fn restore(&mut self, state: &SlirpState) -> Result<(), StateError> {
        let mut bytes = state.stream_version.to_le_bytes().to_vec();
        bytes.extend_from_slice(&state.stream);
        self.ask(|reply| Control::Restore(bytes, reply))
            .map_err(|e| StateError::mismatch(e.to_string()))
    }
}

impl Drop for SlirpBackend {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// A libslirp timer: a callback and when it is due (ms on the handler's clock).
struct TimerInner {
    func: Option<Box<dyn FnMut()>>,
    expire_ms: Option<i64>,
}

type TimerRef = Rc<RefCell<TimerInner>>;

/// What libslirp calls back into, on the slirp thread.
struct SlirpHandler {
    rx: FrameQueue,
    timers: Rc<RefCell<Vec<TimerRef>>>,
    start: Instant,
    /// Host sockets libslirp holds now (it registers each one it opens for the guest
    /// and unregisters it when closed).
    flows: Rc<Cell<usize>>,
}

impl Handler for SlirpHandler {
    type Timer = TimerRef;

    fn clock_get_ns(&mut self) -> i64 {
        self.start.elapsed().as_nanos() as i64
    }

    fn send_packet(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.rx.push(buf.to_vec());
        Ok(buf.len())
    }

    fn register_poll_fd(&mut self, _fd: i32) {
        self.flows.set(self.flows.get() + 1);
    }

    fn unregister_poll_fd(&mut self, _fd: i32) {
        self.flows.set(self.flows.get().saturating_sub(1));
    }

    fn guest_error(&mut self, _msg: &str) {}

    fn notify(&mut self) {}

    fn timer_new(&mut self, func: Box<dyn FnMut()>) -> Box<TimerRef> {
        let t = Rc::new(RefCell::new(TimerInner {
            func: Some(func),
            expire_ms: None,
        }));
        self.timers.borrow_mut().push(t.clone());
        Box::new(t)
    }

    fn timer_mod(&mut self, timer: &mut Box<TimerRef>, expire_time: i64) {
        timer.borrow_mut().expire_ms = Some(expire_time);
    }

    fn timer_free(&mut self, timer: Box<TimerRef>) {
        self.timers.borrow_mut().retain(|t| !Rc::ptr_eq(t, &timer));
    }
}

fn to_libc(ev: PollEvents) -> i16 {
    let mut e = 0;
    if ev.has_in() {
        e |= libc::POLLIN;
    }
    if ev.has_out() {
        e |= libc::POLLOUT;
    }
    if ev.has_pri() {
        e |= libc::POLLPRI;
    }
    e
}

fn from_libc(revents: i16) -> PollEvents {
    let mut ev = PollEvents::empty();
    for (bit, flag) in [
        (libc::POLLIN, PollEvents::poll_in()),
        (libc::POLLOUT, PollEvents::poll_out()),
        (libc::POLLPRI, PollEvents::poll_pri()),
        (libc::POLLERR, PollEvents::poll_err()),
        (libc::POLLHUP, PollEvents::poll_hup()),
    ] {
        if revents & bit != 0 {
            ev |= flag;
        }
    }
    ev
}

/// The slirp thread's ends of its channels.
struct Channels {
    frames: Receiver<Vec<u8>>,
    control: Receiver<Control>,
    wake: UnixStream,
    ready: Sender<io::Result<()>>,
}

fn run(opts: SlirpOptions, rx: FrameQueue, chans: Channels, stop: Arc<AtomicBool>) {
    let Channels {
        frames,
        control,
        mut wake,
        ready,
    } = chans;
    let hostname = CString::new("tern").unwrap_or_default();
    let config = SlirpConfig {
        version: 3,
        restricted: i32::from(opts.restricted),
        in_enabled: true,
        vnetwork: NETWORK.into(),
        vnetmask: NETMASK.into(),
        vhost: HOST.into(),
        in6_enabled: false,
        vprefix_addr6: "fec0::"
            .parse::<std::net::Ipv6Addr>()
            .unwrap_or(std::net::Ipv6Addr::UNSPECIFIED)
            .into(),
        vprefix_len: 64,
        vhost6: "fec0::2"
            .parse::<std::net::Ipv6Addr>()
            .unwrap_or(std::net::Ipv6Addr::UNSPECIFIED)
            .into(),
        vhostname: hostname.as_ptr(),
        tftp_server_name: std::ptr::null(),
        tftp_path: std::ptr::null(),
        bootfile: std::ptr::null(),
        vdhcp_start: GUEST.into(),
        vnameserver: DNS.into(),
        vnameserver6: "fec0::3"
            .parse::<std::net::Ipv6Addr>()
            .unwrap_or(std::net::Ipv6Addr::UNSPECIFIED)
            .into(),
        vdnssearch: std::ptr::null_mut(),
        vdomainname: std::ptr::null(),
        if_mtu: 0,
        if_mru: 0,
        disable_host_loopback: !opts.host_loopback,
        enable_emu: false,
        outbound_addr: std::ptr::null(),
        outbound_addr6: std::ptr::null(),
        disable_dns: false,
        disable_dhcp: false,
    };
    let timers: Rc<RefCell<Vec<TimerRef>>> = Rc::default();
    let start = Instant::now();
    let flows = Rc::new(Cell::new(0));
    let refusals = rx.clone();
    let mut gate = FlowGate::new(opts.max_flows, opts.host_loopback);
    let handler = SlirpHandler {
        rx,
        timers: timers.clone(),
        start,
        flows: flows.clone(),
    };
    let ctx = Context::new_with_config(&config, handler);
    for f in &opts.hostfwd {
        // SAFETY: `ctx.inner.context` is the live libslirp context created above; it is
        // only used on this thread, and the address arguments are plain values.
        let r = unsafe {
            slirp_add_hostfwd(
                ctx.inner.context,
                i32::from(f.udp),
                f.host_addr.into(),
                i32::from(f.host_port),
                f.guest_addr.into(),
                i32::from(f.guest_port),
            )
        };
        if r != 0 {
            let _ = ready.send(Err(io::Error::other(format!(
                "hostfwd {}:{}:{}: cannot bind the host port",
                if f.udp { "udp" } else { "tcp" },
                f.host_addr,
                f.host_port
            ))));
            return;
        }
    }
    let _ = ready.send(Ok(()));

    let mut fds: Vec<libc::pollfd> = Vec::new();
    let mut scratch = [0u8; 64];
    while !stop.load(Ordering::Acquire) {
        let mut fed = false;
        while let Ok(frame) = frames.try_recv() {
            match gate.check(&frame, flows.get(), Instant::now()) {
                Verdict::Pass => {
                    ctx.input(&frame);
                    fed = true;
                }
                Verdict::Drop => {}
                Verdict::Refuse(answer) => refusals.push(answer),
            }
        }
        while let Ok(c) = control.try_recv() {
            match c {
                Control::Save(reply) => {
                    let _ = reply.send(save_state(&ctx));
                }
                Control::Restore(state, reply) => {
                    let _ = reply.send(load_state(&ctx, &state));
                }
            }
        }
        fds.clear();
        fds.push(libc::pollfd {
            fd: wake.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        });
        let mut timeout: u32 = u32::MAX;
        ctx.pollfds_fill(&mut timeout, |fd, events| {
            fds.push(libc::pollfd {
                fd,
                events: to_libc(events),
                revents: 0,
            });
            (fds.len() - 1) as i32
        });
        let now_ms = start.elapsed().as_millis() as i64;
        let next_timer = timers
            .borrow()
            .iter()
            .filter_map(|t| t.borrow().expire_ms)
            .min();
        let mut wait = i64::from(timeout.min(1000));
        if let Some(t) = next_timer {
            wait = wait.min((t - now_ms).max(0));
        }
        // libslirp sends the packets it queued (one waiting for the guest's ARP
        // answer, say) only from pollfds_poll, and its timeout does not count them: a
        // frame from the guest (that ARP answer) must not wait for the next timer,
        // up to half a second (the first connection to a restored guest did).
        if fed {
            wait = 0;
        }
        // SAFETY: `fds` is a valid array of `fds.len()` pollfd structures that lives
        // across the call.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, wait as i32) };
        if fds[0].revents != 0 {
            while matches!(wake.read(&mut scratch), Ok(k) if k > 0) {}
        }
        ctx.pollfds_poll(n < 0, |idx| {
            fds.get(idx as usize)
                .map_or(PollEvents::empty(), |p| from_libc(p.revents))
        });
        run_timers(&timers, start.elapsed().as_millis() as i64);
    }
}

fn save_state(ctx: &Context<SlirpHandler>) -> io::Result<Vec<u8>> {
    let mut out = libslirp::state_version().to_le_bytes().to_vec();
    out.extend_from_slice(&ctx.state_get()?);
    Ok(out)
}

/// Where `read_state` is in the saved bytes.
struct Cursor<'a> {
    data: &'a [u8],
}

/// libslirp's read callback: copies the next `len` bytes (fewer at the end).
unsafe extern "C" fn read_state(buf: *mut c_void, len: usize, opaque: *mut c_void) -> isize {
    // SAFETY: `opaque` is the `Cursor` that `load_state` passes, alive for the call.
    let cur = unsafe { &mut *(opaque as *mut Cursor<'_>) };
    let n = len.min(cur.data.len());
    // SAFETY: libslirp passes a buffer of at least `len` writable bytes.
    unsafe { std::ptr::copy_nonoverlapping(cur.data.as_ptr(), buf as *mut u8, n) };
    cur.data = &cur.data[n..];
    n as isize
}

fn load_state(ctx: &Context<SlirpHandler>, state: &[u8]) -> io::Result<()> {
    let bad =
        |what: &str| io::Error::new(io::ErrorKind::InvalidData, format!("slirp state: {what}"));
    let (version, data) = state
        .split_first_chunk::<4>()
        .ok_or_else(|| bad("too short"))?;
    let version = i32::from_le_bytes(*version);
    if version > libslirp::state_version() || version < 1 {
        return Err(bad(&format!("version {version} is not supported")));
    }
    let mut cur = Cursor { data };
    // SAFETY: the context is live and used on this thread only; the callback reads
    // from `cur`, which outlives the call.
    let r = unsafe {
        slirp_state_load(
            ctx.inner.context,
            version,
            Some(read_state),
            &mut cur as *mut Cursor<'_> as *mut c_void,
        )
    };
    if r < 0 {
        return Err(bad(&format!("libslirp refused it ({r})")));
    }
    Ok(())
}

/// Calls the callbacks of due timers (outside any borrow: they may re-arm timers).
fn run_timers(timers: &Rc<RefCell<Vec<TimerRef>>>, now_ms: i64) {
    let due: Vec<TimerRef> = timers
        .borrow()
        .iter()
        .filter(|t| t.borrow().expire_ms.is_some_and(|e| e <= now_ms))
        .cloned()
        .collect();
    for t in due {
        let func = {
            let mut inner = t.borrow_mut();
            inner.expire_ms = None;
            inner.func.take()
        };
        if let Some(mut f) = func {
            f();
            let mut inner = t.borrow_mut();
            if inner.func.is_none() {
                inner.func = Some(f);
            }
        }
    }
}
