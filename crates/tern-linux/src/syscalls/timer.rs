//! POSIX timers: `timer_create`, `timer_settime`, `timer_gettime`,
//! `timer_getoverrun`, `timer_delete` (kernel/time/posix-timers.c).
//!
//! The timers of a host process are one table ([`TABLE`]) served by one emulator
//! thread (started with the first timer, all host signals blocked) that sleeps
//! until the next expiry. An expiry queues the signal through the guest's signal
//! machinery ([`crate::process::Process::post`] or `post_thread` for
//! `SIGEV_THREAD_ID`) with `si_code` `SI_TIMER`, the timer id and the overrun, and
//! `si_value` the `sigev_value`; while that signal is still queued, further
//! expirations only count as overruns, as on Linux. `SIGEV_NONE` timers only run.
//!
//! The clocks: `CLOCK_REALTIME`, `CLOCK_MONOTONIC`, `CLOCK_BOOTTIME`, `CLOCK_TAI`
//! are waited for on the host's monotonic clock (a step of the wall clock does not
//! move an armed absolute timer, a simplification); the CPU-time clocks of the
//! process and of the calling thread are checked against the host's CPU clocks
//! when the estimate says they are due. The alarm clocks need `CAP_WAKE_ALARM`
//! (`EPERM`); the raw and coarse clocks have no timers (`EOPNOTSUPP`), and other
//! processes' CPU clocks are not offered here (`EINVAL`).
//!
//! A forked child has no timers (its copy of the table is dropped on first use),
//! `execve` ends them with the emulator. A snapshot records them ([`save`]: the
//! time left and the interval, relative as the interval timers are) and a restore
//! arms them again ([`restore`]); a timer on a thread's CPU clock (whose host
//! thread a restore replaces) refuses the snapshot.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use crate::errno::{Errno, SysResult};
use crate::process::Process;
use crate::signal::{sig, SigInfo, NSIG};
use crate::state::PosixTimerState;
use crate::syscalls::signalfd::SI_TIMER;
use crate::task::Task;

/// The most timers a process may have (Linux bounds them by `RLIMIT_SIGPENDING`
/// and memory; each costs the host a table entry).
pub const MAX_TIMERS: usize = 1024;

/// The shortest period the timer thread runs a periodic timer at (a guest asking
/// for 1 ns would otherwise keep it spinning; expirations in between count as
/// overruns all the same, and `timer_gettime` shows the interval asked for).
const MIN_PERIOD: Duration = Duration::from_micros(50);

const SIGEV_SIGNAL: i32 = 0;
const SIGEV_NONE: i32 = 1;
const SIGEV_THREAD_ID: i32 = 4;
const TIMER_ABSTIME: u64 = 1;

/// Where an expiry goes.
#[derive(Clone, Copy, Debug)]
enum Notify {
    None,
    Process { signo: i32, value: u64 },
    Thread { tid: i32, signo: i32, value: u64 },
}

/// One timer.
struct Timer {
    id: i32,
    proc: Weak<Process>,
    /// The guest's clock id.
    clock: i32,
    /// The host CPU clock a CPU-time timer is measured on.
    cpu_clock: Option<libc::clockid_t>,
    notify: Notify,
    /// The next expiry on the host's monotonic clock (`None`: disarmed).
    deadline: Option<Instant>,
    /// For CPU-time timers: the next expiry on `cpu_clock`, in nanoseconds.
    cpu_target: Option<i128>,
    interval: Duration,
    /// The overrun count of the last expiry that queued or updated a signal.
    overrun: i32,
}

struct Table {
    /// The host process these timers belong to (a forked child finds its parent's).
    owner: i32,
    running: bool,
    next_id: i32,
    timers: Vec<Timer>,
}

static TABLE: Mutex<Table> = Mutex::new(Table {
    owner: 0,
    running: false,
    next_id: 0,
    timers: Vec::new(),
});
static WAKE: Condvar = Condvar::new();

fn table() -> MutexGuard<'static, Table> {
    let mut t = TABLE.lock().unwrap_or_else(|e| e.into_inner());
    // SAFETY: getpid cannot fail.
    let me = unsafe { libc::getpid() };
    if t.owner != me {
        // A forked child: timers are not inherited, nor is the thread.
        t.owner = me;
        t.running = false;
        t.timers.clear();
    }
    t
}

fn now_on(clock: libc::clockid_t) -> Result<i128, Errno> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a local struct.
    if unsafe { libc::clock_gettime(clock, &mut ts) } != 0 {
        return Err(Errno::last());
    }
    Ok(i128::from(ts.tv_sec) * 1_000_000_000 + i128::from(ts.tv_nsec))
}

/// `base + d`, or a time centuries away when that does not fit in an `Instant`
/// (a guest may ask for any number of seconds).
fn later(base: Instant, d: Duration) -> Instant {
    base.checked_add(d)
        .or_else(|| base.checked_add(Duration::from_secs(1 << 32)))
        .unwrap_or(base)
}

fn dur_ns(ns: i128) -> Duration {
    let ns = ns.max(0);
    Duration::new((ns / 1_000_000_000) as u64, (ns % 1_000_000_000) as u32)
}

/// Reads a `struct timespec` of an `itimerspec` and checks it (`EINVAL`).
fn timespec_ns(b: &[u8]) -> Result<i128, Errno> {
    let sec = i64::from_le_bytes(b[0..8].try_into().map_err(|_| Errno::EFAULT)?);
    let nsec = i64::from_le_bytes(b[8..16].try_into().map_err(|_| Errno::EFAULT)?);
    if sec < 0 || !(0..1_000_000_000).contains(&nsec) {
        return Err(Errno::EINVAL);
    }
    Ok(i128::from(sec) * 1_000_000_000 + i128::from(nsec))
}

fn put_ts(b: &mut [u8], d: Duration) {
    b[0..8].copy_from_slice(&(d.as_secs() as i64).to_le_bytes());
    b[8..16].copy_from_slice(&i64::from(d.subsec_nanos()).to_le_bytes());
}

/// The host clock a guest clock id is read on, and whether it measures CPU time.
/// Negative ids are CPU clocks (`~pid << 3 | perthread << 2 | which`; glibc names
/// `CLOCK_PROCESS_CPUTIME_ID` so, with pid 0 for the caller): the caller's process
/// or one of its threads (profiling and virtual time are measured as scheduled
/// time).
fn host_clock(t: &Task, clock: i32) -> Result<(libc::clockid_t, bool), Errno> {
    if clock < 0 {
        if clock & 3 == 3 {
            return Err(Errno::EINVAL);
        }
        let id = !(clock >> 3);
        let per_thread = clock & 4 != 0;
        if per_thread {
            let host_tid = if id == 0 || id == t.tid {
                t.host_tid
            } else {
                t.proc.shoot.host_tid(id).ok_or(Errno::EINVAL)?
            };
            return Ok(((!host_tid) << 3 | 6, true));
        }
        if id != 0 && id != t.proc_pid() {
            return Err(Errno::EINVAL);
        }
        return Ok((libc::CLOCK_PROCESS_CPUTIME_ID, true));
    }
    match clock {
        0 | 1 | 7 | 11 => Ok((clock, false)),
        2 => Ok((libc::CLOCK_PROCESS_CPUTIME_ID, true)),
        // The calling thread's CPU clock, named for the timer thread to read
        // (kernel encoding: ~tid << 3 | CPUCLOCK_PERTHREAD | CPUCLOCK_SCHED).
        3 => Ok(((!t.host_tid) << 3 | 6, true)),
        // The raw and coarse clocks have no timers.
        4..=6 => Err(Errno(libc::EOPNOTSUPP)),
        8 | 9 => Err(Errno::EPERM),
        _ => Err(Errno::EINVAL),
    }
}

/// `timer_create(clockid, sevp, timerid)`.
pub fn timer_create(t: &mut Task, a: [u64; 6]) -> SysResult {
    let clock = a[0] as i32;
    let ev = if a[1] != 0 {
        Some(t.proc.read_mem(a[1], 64)?)
    } else {
        None
    };
    let (cpu, is_cpu) = host_clock(t, clock)?;
    let notify = match &ev {
        None => Notify::Process {
            signo: sig::SIGALRM,
            value: u64::MAX, // the id, filled in below
        },
        Some(b) => {
            let value = u64::from_le_bytes(b[0..8].try_into().map_err(|_| Errno::EFAULT)?);
            let signo = i32::from_le_bytes(b[8..12].try_into().map_err(|_| Errno::EFAULT)?);
            let how = i32::from_le_bytes(b[12..16].try_into().map_err(|_| Errno::EFAULT)?);
            let tid = i32::from_le_bytes(b[16..20].try_into().map_err(|_| Errno::EFAULT)?);
            let valid_sig = (1..=NSIG as i32).contains(&signo);
            match how {
                SIGEV_NONE => Notify::None,
                SIGEV_SIGNAL if valid_sig => Notify::Process { signo, value },
                SIGEV_THREAD_ID if valid_sig => {
                    if !t.proc.shoot.has(tid) {
                        return Err(Errno::EINVAL);
                    }
                    Notify::Thread { tid, signo, value }
                }
                _ => return Err(Errno::EINVAL),
            }
        }
    };
    let mut tab = table();
    let mine = tab
        .timers
        .iter()
        .filter(|x| std::ptr::eq(x.proc.as_ptr(), Arc::as_ptr(&t.proc)))
        .count();
    if mine >= MAX_TIMERS {
        return Err(Errno::EAGAIN);
    }
    let id = tab.next_id;
    // The written id is checked before the timer exists (Linux frees it again).
    t.proc.write_u32(a[2], id as u32)?;
    tab.next_id = if id == i32::MAX { 0 } else { id + 1 };
    let notify = match notify {
        Notify::Process { signo, value } if value == u64::MAX && ev.is_none() => Notify::Process {
            signo,
            value: id as u64,
        },
        n => n,
    };
    tab.timers.push(Timer {
        id,
        proc: Arc::downgrade(&t.proc),
        clock,
        cpu_clock: is_cpu.then_some(cpu),
        notify,
        deadline: None,
        cpu_target: None,
        interval: Duration::ZERO,
        overrun: 0,
    });
    if !tab.running {
        tab.running = true;
        let started = std::thread::Builder::new()
            .name("tern-timers".into())
            .spawn(run);
        if started.is_err() {
            tab.running = false;
            tab.timers.pop();
            return Err(Errno::EAGAIN);
        }
    }
    Ok(0)
}

/// The timer `id` of the caller's process.
fn find<'a>(tab: &'a mut Table, t: &Task, id: u64) -> Result<&'a mut Timer, Errno> {
    let id = i32::try_from(id as i64).map_err(|_| Errno::EINVAL)?;
    tab.timers
        .iter_mut()
        .find(|x| x.id == id && std::ptr::eq(x.proc.as_ptr(), Arc::as_ptr(&t.proc)))
        .ok_or(Errno::EINVAL)
}

/// The `struct itimerspec` (interval, value) of a timer now.
fn current(x: &Timer) -> [u8; 32] {
    let mut b = [0u8; 32];
    put_ts(&mut b[0..16], x.interval);
    let left = match (x.cpu_target, x.cpu_clock) {
        (Some(target), Some(c)) => now_on(c).map_or(Duration::ZERO, |n| dur_ns(target - n)),
        _ => x.deadline.map_or(Duration::ZERO, |d| {
            d.saturating_duration_since(Instant::now())
        }),
    };
    // An armed timer never shows zero left (Linux shows at least 1 ns).
    let left = if x.deadline.is_some() && left.is_zero() {
        Duration::from_nanos(1)
    } else {
        left
    };
    put_ts(&mut b[16..32], left);
    b
}

/// `timer_settime(id, flags, new, old)`.
pub fn timer_settime(t: &mut Task, a: [u64; 6]) -> SysResult {
    let new = t.proc.read_mem(a[2], 32)?;
    let interval = timespec_ns(&new[0..16])?;
    let value = timespec_ns(&new[16..32])?;
    let mut tab = table();
    let x = find(&mut tab, t, a[0])?;
    let old = current(x);
    x.interval = dur_ns(interval);
    x.overrun = 0;
    if value == 0 {
        x.deadline = None;
        x.cpu_target = None;
    } else {
        let clock = x.cpu_clock.unwrap_or(x.clock);
        let now = now_on(clock)?;
        let target = if a[1] & TIMER_ABSTIME != 0 {
            value
        } else {
            now + value
        };
        x.deadline = Some(later(Instant::now(), dur_ns(target - now)));
        x.cpu_target = x.cpu_clock.map(|_| target);
    }
    drop(tab);
    WAKE.notify_all();
    if a[3] != 0 {
        t.proc.write_mem(a[3], &old)?;
    }
    Ok(0)
}

/// `timer_gettime(id, cur)`.
pub fn timer_gettime(t: &mut Task, a: [u64; 6]) -> SysResult {
    let cur = {
        let mut tab = table();
        current(find(&mut tab, t, a[0])?)
    };
    t.proc.write_mem(a[1], &cur)?;
    Ok(0)
}

/// `timer_getoverrun(id)`.
pub fn timer_getoverrun(t: &mut Task, a: [u64; 6]) -> SysResult {
    let mut tab = table();
    Ok(find(&mut tab, t, a[0])?.overrun as u64)
}

/// `timer_delete(id)`: its signal still queued goes with it.
pub fn timer_delete(t: &mut Task, a: [u64; 6]) -> SysResult {
    let mut tab = table();
    let id = find(&mut tab, t, a[0])?.id;
    tab.timers
        .retain(|x| !(x.id == id && std::ptr::eq(x.proc.as_ptr(), Arc::as_ptr(&t.proc))));
    drop(tab);
    let ours = |i: &SigInfo| i.code == SI_TIMER && i.addr as u32 == id as u32;
    t.proc
        .pending
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|i| !ours(i));
    t.proc
        .thread_pending
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|(_, i)| !ours(i));
    Ok(0)
}

/// The POSIX timers of `proc`, for a snapshot.
pub fn save(proc: &Process) -> Result<Vec<PosixTimerState>, String> {
    let tab = table();
    let mut out = Vec::new();
    for x in tab
        .timers
        .iter()
        .filter(|x| std::ptr::eq(x.proc.as_ptr(), proc))
    {
        let per_thread = x.clock == 3 || (x.clock < 0 && x.clock & 4 != 0);
        if per_thread {
            return Err(format!(
                "POSIX timer {} measures a thread's CPU time, which a snapshot cannot record",
                x.id
            ));
        }
        let cur = current(x);
        let left = x
            .deadline
            .map(|_| timespec_ns(&cur[16..32]).unwrap_or(1).max(1) as u64);
        let (how, signo, tid, value) = match x.notify {
            Notify::None => (SIGEV_NONE, 0, 0, 0),
            Notify::Process { signo, value } => (SIGEV_SIGNAL, signo, 0, value),
            Notify::Thread { tid, signo, value } => (SIGEV_THREAD_ID, signo, tid, value),
        };
        out.push(PosixTimerState {
            id: x.id,
            clock: x.clock,
            how,
            signo,
            tid,
            value,
            interval: x.interval.as_nanos().min(u64::MAX as u128) as u64,
            left,
            overrun: x.overrun,
        });
    }
    Ok(out)
}

/// Arms the timers `timers` of a restored `proc` again (before its threads run).
pub fn restore(proc: &Arc<Process>, timers: &[PosixTimerState]) -> Result<(), String> {
    if timers.is_empty() {
        return Ok(());
    }
    let mut tab = table();
    for s in timers {
        let cpu_clock = match s.clock {
            0 | 1 | 7 | 11 => None,
            // The process's CPU clock (not a thread's: the snapshot refused those).
            c if c == 2 || (c < 0 && c & 4 == 0 && c & 3 != 3) => {
                Some(libc::CLOCK_PROCESS_CPUTIME_ID)
            }
            c => {
                return Err(format!(
                    "POSIX timer {}: clock {c} cannot be restored",
                    s.id
                ))
            }
        };
        let valid_sig = (1..=NSIG as i32).contains(&s.signo);
        let notify = match s.how {
            SIGEV_NONE => Notify::None,
            SIGEV_SIGNAL if valid_sig => Notify::Process {
                signo: s.signo,
                value: s.value,
            },
            SIGEV_THREAD_ID if valid_sig => Notify::Thread {
                tid: s.tid,
                signo: s.signo,
                value: s.value,
            },
            _ => return Err(format!("POSIX timer {} is invalid", s.id)),
        };
        if s.id < 0 || tab.timers.iter().any(|x| x.id == s.id) {
            return Err(format!("POSIX timer {} is invalid or repeated", s.id));
        }
        let left = s.left.map(|l| Duration::from_nanos(l.max(1)));
        let cpu_target = match (cpu_clock, left) {
            (Some(c), Some(l)) => Some(
                now_on(c).map_err(|e| format!("CPU clock: errno {}", e.0))? + l.as_nanos() as i128,
            ),
            _ => None,
        };
        tab.timers.push(Timer {
            id: s.id,
            proc: Arc::downgrade(proc),
            clock: s.clock,
            cpu_clock,
            notify,
            deadline: left.map(|l| later(Instant::now(), l)),
            cpu_target,
            interval: Duration::from_nanos(s.interval),
            overrun: s.overrun,
        });
        tab.next_id = tab.next_id.max(s.id.saturating_add(1));
    }
    if !tab.running {
        tab.running = true;
        if let Err(e) = std::thread::Builder::new()
            .name("tern-timers".into())
            .spawn(run)
        {
            tab.running = false;
            return Err(format!("cannot start the timer thread: {e}"));
        }
    }
    drop(tab);
    WAKE.notify_all();
    Ok(())
}

/// Queues the signal of an expiry of timer `id` with `missed` further expirations,
/// or adds them all to the overrun of its signal still queued; returns the overrun
/// count now.
fn expire(proc: &Process, id: i32, n: Notify, missed: i64) -> i32 {
    let (tid, signo, value) = match n {
        Notify::None => return 0,
        Notify::Process { signo, value } => (None, signo, value),
        Notify::Thread { tid, signo, value } => (Some(tid), signo, value),
    };
    let bump = |i: &mut SigInfo| -> Option<i32> {
        if i.code == SI_TIMER && i.addr as u32 == id as u32 {
            let ov = ((i.addr >> 32) as i64 + 1 + missed).min(i32::MAX as i64) as i32;
            i.addr = (id as u32 as u64) | ((ov as u32 as u64) << 32);
            Some(ov)
        } else {
            None
        }
    };
    {
        let mut p = proc.pending.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(ov) = p.iter_mut().find_map(bump) {
            return ov;
        }
    }
    {
        let mut p = proc
            .thread_pending
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(ov) = p.iter_mut().find_map(|(_, i)| bump(i)) {
            return ov;
        }
    }
    let ov = missed.min(i32::MAX as i64) as i32;
    let info = SigInfo {
        signo,
        code: SI_TIMER,
        addr: (id as u32 as u64) | ((ov as u32 as u64) << 32),
        value,
    };
    match tid {
        Some(tid) => proc.post_thread(tid, info),
        None => {
            proc.post(info);
            // Any thread may take it: interrupt their waits (a thread that
            // blocks it restarts its call).
            for tid in proc.shoot.tids() {
                proc.shoot.kick(tid);
                if let Some(h) = proc.shoot.host_tid(tid) {
                    proc.wake_host_thread(h);
                }
            }
        }
    }
    ov
}

/// The timer thread: fires what is due, sleeps until the next deadline.
fn run() {
    // SAFETY: blocking every signal in this (emulator) thread only, so that host
    // signals for the guest reach its threads.
    unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_BLOCK, &all, std::ptr::null_mut());
    }
    let mut tab = table();
    loop {
        let now = Instant::now();
        let mut fired: Vec<(Arc<Process>, i32, Notify, i64)> = Vec::new();
        tab.timers.retain(|x| x.proc.strong_count() > 0);
        for x in tab.timers.iter_mut() {
            let Some(d) = x.deadline else { continue };
            if d > now {
                continue;
            }
            if let (Some(target), Some(c)) = (x.cpu_target, x.cpu_clock) {
                let cnow = now_on(c).unwrap_or(target);
                if cnow < target {
                    x.deadline = Some(later(now, dur_ns(target - cnow)));
                    continue;
                }
                let mut missed = 0i64;
                if x.interval.is_zero() {
                    x.deadline = None;
                    x.cpu_target = None;
                } else {
                    let iv = x.interval.as_nanos() as i128;
                    missed = ((cnow - target) / iv) as i64;
                    let next = target + (i128::from(missed) + 1) * iv;
                    x.cpu_target = Some(next);
                    x.deadline = Some(later(now, dur_ns(next - cnow).max(MIN_PERIOD)));
                }
                if let Some(p) = x.proc.upgrade() {
                    fired.push((p, x.id, x.notify, missed));
                }
                continue;
            }
            let mut missed = 0i64;
            if x.interval.is_zero() {
                x.deadline = None;
            } else {
                let iv = x.interval.as_nanos().max(1);
                let late = (now - d).as_nanos();
                missed = (late / iv).min(i64::MAX as u128) as i64;
                let step = x.interval.saturating_mul((missed as u32).saturating_add(1));
                x.deadline = Some(later(d, step).max(later(now, MIN_PERIOD)));
                if missed > u32::MAX as i64 {
                    x.deadline = Some(later(now, x.interval.max(MIN_PERIOD)));
                }
            }
            if let Some(p) = x.proc.upgrade() {
                fired.push((p, x.id, x.notify, missed));
            }
        }
        for (p, id, n, missed) in fired {
            let ov = expire(&p, id, n, missed);
            if let Some(x) = tab
                .timers
                .iter_mut()
                .find(|x| x.id == id && std::ptr::eq(x.proc.as_ptr(), Arc::as_ptr(&p)))
            {
                x.overrun = ov;
            }
        }
        let next = tab.timers.iter().filter_map(|x| x.deadline).min();
        tab = match next {
            Some(d) => {
                let wait = d.saturating_duration_since(Instant::now());
                WAKE.wait_timeout(tab, wait)
                    .map(|(g, _)| g)
                    .unwrap_or_else(|e| e.into_inner().0)
            }
            None => WAKE.wait(tab).unwrap_or_else(|e| e.into_inner()),
        };
    }
}
