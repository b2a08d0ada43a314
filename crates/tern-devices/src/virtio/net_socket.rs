//! A network backend that carries Ethernet frames over TCP, compatible with QEMU's
//! `-netdev socket,listen=HOST:PORT` and `-netdev socket,connect=HOST:PORT`: each
//! frame is a 4-byte big-endian length followed by the frame (QEMU `net/socket.c`).
//! Two tern VMs, or tern and QEMU, joined this way share one Ethernet segment.
//!
//! Threads: a reader per connection pushes frames into the device's bounded
//! [`FrameQueue`]; one writer thread takes frames the guest sends from a bounded
//! channel (full: the frame is dropped, the vCPU never waits on the network); in
//! listen mode an acceptor thread takes connections (a new one replaces the old). A
//! peer that sends a length of 0 or above [`MAX_FRAME`] is disconnected. Dropping the
//! backend stops all its threads.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use tern_state::{NoState, Persist, StateError};

use super::net::{FrameQueue, NetBackend, MAX_FRAME};
use crate::PollWaker;

/// Frames waiting to be sent, and frames waiting for the guest.
const QUEUE_FRAMES: usize = 256;

struct Shared {
    /// The current peer (a clone of the stream the reader owns).
    peer: Mutex<Option<TcpStream>>,
    stop: AtomicBool,
}

/// The socket backend.
pub struct SocketBackend {
    rx: FrameQueue,
    tx: Option<SyncSender<Vec<u8>>>,
    shared: Arc<Shared>,
    local_addr: SocketAddr,
    threads: Vec<thread::JoinHandle<()>>,
}

impl SocketBackend {
    /// Listens on `addr` (`listen=`); the guest's link carries frames once a peer
    /// connects. Port 0 picks a free port: see [`SocketBackend::local_addr`].
    pub fn listen(addr: impl ToSocketAddrs, waker: Option<PollWaker>) -> io::Result<SocketBackend> {
        let listener = TcpListener::bind(addr)?;
        let local_addr = listener.local_addr()?;
        listener.set_nonblocking(true)?;
        let mut b = SocketBackend::start(local_addr, waker);
        let shared = b.shared.clone();
        let rx = b.rx.clone();
        b.threads
            .push(thread::spawn(move || accept_loop(listener, shared, rx)));
        Ok(b)
    }

    /// Connects to a listening peer at `addr` (`connect=`).
    pub fn connect(
        addr: impl ToSocketAddrs,
        waker: Option<PollWaker>,
    ) -> io::Result<SocketBackend> {
        let stream = TcpStream::connect(addr)?;
        let local_addr = stream.local_addr()?;
        let mut b = SocketBackend::start(local_addr, waker);
        let reader = attach(&b.shared, stream)?;
        let rx = b.rx.clone();
        b.threads.push(thread::spawn(move || read_loop(reader, rx)));
        Ok(b)
    }

    fn start(local_addr: SocketAddr, waker: Option<PollWaker>) -> SocketBackend {
        let shared = Arc::new(Shared {
            peer: Mutex::new(None),
            stop: AtomicBool::new(false),
        });
        let (tx, txr) = sync_channel(QUEUE_FRAMES);
        let s = shared.clone();
        let writer = thread::spawn(move || write_loop(txr, s));
        SocketBackend {
            rx: FrameQueue::new(QUEUE_FRAMES, waker),
            tx: Some(tx),
            shared,
            local_addr,
            threads: vec![writer],
        }
    }

    /// The local address (the listening address in listen mode).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Whether a peer is connected.
    pub fn connected(&self) -> bool {
        lock(&self.shared.peer).is_some()
    }

    /// Frames received but dropped because the guest did not take them in time.
    pub fn dropped(&self) -> u64 {
        self.rx.dropped()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Makes `stream` the current peer (closing the previous one) and returns the copy
/// the reader owns.
fn attach(shared: &Shared, stream: TcpStream) -> io::Result<TcpStream> {
    stream.set_nodelay(true)?;
    let reader = stream.try_clone()?;
    if let Some(old) = lock(&shared.peer).replace(stream) {
        let _ = old.shutdown(Shutdown::Both);
    }
    Ok(reader)
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>, rx: FrameQueue) {
    let mut readers = Vec::new();
    while !shared.stop.load(Ordering::Acquire) {
        match listener.accept() {
            Ok((stream, _)) => {
                let _ = stream.set_nonblocking(false);
                if let Ok(reader) = attach(&shared, stream) {
                    let rx = rx.clone();
                    readers.push(thread::spawn(move || read_loop(reader, rx)));
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                thread::sleep(Duration::from_millis(20));
            }
            Err(_) => thread::sleep(Duration::from_millis(20)),
        }
        readers.retain(|r: &thread::JoinHandle<()>| !r.is_finished());
    }
    // A connection accepted while the backend was being dropped.
    if let Some(peer) = lock(&shared.peer).take() {
        let _ = peer.shutdown(Shutdown::Both);
    }
    for r in readers {
        let _ = r.join();
    }
}

fn read_loop(mut stream: TcpStream, rx: FrameQueue) {
    let mut len = [0u8; 4];
    loop {
        if stream.read_exact(&mut len).is_err() {
            break;
        }
        let n = u32::from_be_bytes(len) as usize;
        if n == 0 || n > MAX_FRAME {
            break;
        }
        let mut frame = vec![0u8; n];
        if stream.read_exact(&mut frame).is_err() {
            break;
        }
        rx.push(frame);
    }
    let _ = stream.shutdown(Shutdown::Both);
}

fn write_loop(frames: Receiver<Vec<u8>>, shared: Arc<Shared>) {
    let mut buf = Vec::with_capacity(4 + MAX_FRAME);
    while let Ok(frame) = frames.recv() {
        let Some(mut peer) = lock(&shared.peer).as_ref().and_then(|s| s.try_clone().ok()) else {
            continue; // Nobody connected: the frame is lost.
        };
        buf.clear();
        buf.extend_from_slice(&(frame.len() as u32).to_be_bytes());
        buf.extend_from_slice(&frame);
        if peer.write_all(&buf).is_err() {
            let _ = peer.shutdown(Shutdown::Both);
        }
    }
}

impl NetBackend for SocketBackend {
    fn send(&mut self, frame: &[u8]) {
        if let Some(tx) = &self.tx {
            match tx.try_send(frame.to_vec()) {
                Ok(()) | Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {}
            }
        }
    }

    fn recv(&mut self) -> Option<Vec<u8>> {
        self.rx.pop()
    }
}

/// A socket link keeps no state: frames on the wire are lost like packets, and the
/// connection is made again by the restored VM's configuration.
impl Persist for SocketBackend {
    type State = NoState;

    fn save(&self) -> Result<NoState, StateError> {
        Ok(NoState)
    }

    fn restore(&mut self, _state: &NoState) -> Result<(), StateError> {
        Ok(())
    }
}

impl Drop for SocketBackend {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        self.tx = None;
        if let Some(peer) = lock(&self.shared.peer).take() {
            let _ = peer.shutdown(Shutdown::Both);
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}
