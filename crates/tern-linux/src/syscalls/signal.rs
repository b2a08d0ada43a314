//! Signal system calls: actions, masks, the alternate stack, sending and waiting.

use crate::errno::{Errno, SysResult};
use crate::signal::{self, bit, mirrored, SigAction, SigInfo, NSIG};
use crate::task::Task;
use crate::tree::{self, Target};

fn valid(n: u64) -> Result<i32, Errno> {
    if n == 0 || n > NSIG as u64 {
        Err(Errno::EINVAL)
    } else {
        Ok(n as i32)
    }
}

/// `rt_sigaction`.
pub fn rt_sigaction(t: &mut Task, a: [u64; 6]) -> SysResult {
    if a[3] != 8 {
        return Err(Errno::EINVAL);
    }
    // The new action is read before the signal number is checked (kernel/signal.c).
    let new = if a[1] != 0 {
        let b = t.proc.read_mem(a[1], 24)?;
        let w = |i: usize| u64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]));
        Some(SigAction {
            handler: w(0),
            flags: w(1),
            mask: w(2) & !signal::UNBLOCKABLE,
        })
    } else {
        None
    };
    let n = valid(a[0])?;
    if new.is_some() && (n == signal::sig::SIGKILL || n == signal::sig::SIGSTOP) {
        return Err(Errno::EINVAL);
    }
    let old = {
        let mut acts = t.proc.actions();
        let old = acts[n as usize];
        if let Some(act) = new {
            acts[n as usize] = act;
            signal::mirror_action(n, &act);
        }
        old
    };
    if a[2] != 0 {
        let mut b = [0u8; 24];
        b[..8].copy_from_slice(&old.handler.to_le_bytes());
        b[8..16].copy_from_slice(&old.flags.to_le_bytes());
        b[16..].copy_from_slice(&old.mask.to_le_bytes());
        t.proc.write_mem(a[2], &b)?;
    }
    Ok(0)
}

/// `rt_sigprocmask`.
pub fn rt_sigprocmask(t: &mut Task, a: [u64; 6]) -> SysResult {
    if a[3] != 8 {
        return Err(Errno::EINVAL);
    }
    let old = t.sigmask;
    if a[1] != 0 {
        let set = t.proc.read_u64(a[1])?;
        let new = match a[0] {
            0 => old | set,
            1 => old & !set,
            2 => set,
            _ => return Err(Errno::EINVAL),
        };
        t.set_mask(new);
    }
    if a[2] != 0 {
        t.proc.write_u64(a[2], old)?;
    }
    Ok(0)
}

/// `sigaltstack`; `sp` is the caller's stack pointer (whether it runs on the
/// alternate stack). As in kernel/signal.c, the new stack is read first and the old
/// one written back only when the change succeeded.
pub fn sigaltstack(t: &mut Task, sp: u64, a: [u64; 6]) -> SysResult {
    let new = if a[0] != 0 {
        Some(t.proc.read_mem(a[0], 24)?)
    } else {
        None
    };
    let old = t.altstack;
    let on = old.contains(sp);
    if let Some(b) = new {
        let ss_sp = u64::from_le_bytes(b[..8].try_into().map_err(|_| Errno::EFAULT)?);
        let flags = i32::from_le_bytes(b[8..12].try_into().map_err(|_| Errno::EFAULT)?);
        let size = u64::from_le_bytes(b[16..].try_into().map_err(|_| Errno::EFAULT)?);
        if on {
            return Err(Errno::EPERM);
        }
        // SS_AUTODISARM (1 << 31) is accepted and ignored.
        let flags = flags & !(1 << 31);
        if flags != 0 && flags != signal::SS_DISABLE && flags != signal::SS_ONSTACK {
            return Err(Errno::EINVAL);
        }
        if flags == signal::SS_DISABLE {
            t.altstack = signal::AltStack {
                sp: 0,
                flags: signal::SS_DISABLE,
                size: 0,
            };
        } else {
            if size < 2048 {
                return Err(Errno::ENOMEM);
            }
            t.altstack = signal::AltStack {
                sp: ss_sp,
                flags: 0,
                size,
            };
        }
    }
    if a[1] != 0 {
        let mut b = [0u8; 24];
        b[..8].copy_from_slice(&old.sp.to_le_bytes());
        let flags = if on {
            signal::SS_ONSTACK
        } else {
            old.flags & signal::SS_DISABLE
        };
        b[8..12].copy_from_slice(&flags.to_le_bytes());
        b[16..].copy_from_slice(&old.size.to_le_bytes());
        t.proc.write_mem(a[1], &b)?;
    }
    Ok(0)
}

fn user_info(t: &Task, n: i32, code: i32) -> SigInfo {
    // SAFETY: getuid cannot fail.
    let uid = unsafe { libc::getuid() };
    SigInfo {
        signo: n,
        code,
        addr: (t.proc_pid() as u32 as u64) | (u64::from(uid) << 32),
        value: 0,
    }
}

/// `kill`: to this process the signal is delivered directly; to other processes it
/// is a host signal, and only to processes of the VM's tree ([`crate::tree`]): a
/// host process outside it is `EPERM` (Linux's answer for a process one may not
/// signal), a pid nobody has `ESRCH`; `kill(0)` and `kill(-pgrp)` reach the members
/// of the group, `kill(-1)` every other member of the VM.
pub fn kill(t: &mut Task, a: [u64; 6]) -> SysResult {
    let pid = a[0] as i32;
    let n = a[1] as i32;
    if !(0..=NSIG as i32).contains(&n) {
        return Err(Errno::EINVAL);
    }
    if pid == t.proc_pid() {
        post_self(t, n);
        return Ok(0);
    }
    if n >= 32 {
        return Err(Errno::EINVAL);
    }
    let target = match pid {
        i32::MIN => return Err(Errno::ESRCH),
        -1 => Target::All,
        // SAFETY: getpgrp cannot fail.
        0 => Target::Group(unsafe { libc::getpgrp() }),
        p if p < 0 => Target::Group(-p),
        p => Target::Process(p),
    };
    // SAFETY: getpid cannot fail.
    let me = unsafe { libc::getpid() };
    if tree::signal(t.proc.vm_root(), me, target, n)? {
        post_self(t, n);
    }
    Ok(0)
}

/// The most signals queued in a process at once (its threads' queues included).
/// Each costs host memory; standard signals do not queue, so only realtime signals
/// fill it. Linux bounds them with `RLIMIT_SIGPENDING`.
pub const SIGQUEUE_MAX: usize = 8192;

/// Whether the queues of the process hold [`SIGQUEUE_MAX`] signals.
fn queue_full(t: &Task) -> bool {
    let p = t
        .proc
        .pending
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .len();
    let tp = t
        .proc
        .thread_pending
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .len();
    p + tp >= SIGQUEUE_MAX
}

/// Whether signal `n` is queued for the process or one of its threads.
fn queued(t: &Task, n: i32) -> bool {
    let p = t.proc.pending.lock().unwrap_or_else(|e| e.into_inner());
    if p.iter().any(|i| i.signo == n) {
        return true;
    }
    drop(p);
    let tp = t
        .proc
        .thread_pending
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    tp.iter().any(|(_, i)| i.signo == n)
}

/// Whether a signal `n` sent by `kill`/`tgkill` (`SI_USER`, `SI_TKILL`) is queued:
/// with the queues full a realtime signal already pending is not queued again
/// (Linux then keeps the signal pending but loses its extra information).
fn kill_queues(t: &Task, n: i32) -> bool {
    n != 0 && !(queue_full(t) && queued(t, n))
}

/// Queues signal `n` (0: none) sent by the program to itself.
fn post_self(t: &Task, n: i32) {
    if kill_queues(t, n) {
        t.proc.post(user_info(t, n, signal::code::SI_USER));
    }
}

/// `tgkill` (and `tkill`): to a thread of this process directly, to a thread of
/// another process of the VM's tree as a host signal (`EPERM` outside it).
pub fn tgkill(t: &mut Task, a: [u64; 6]) -> SysResult {
    let (tgid, tid, n) = (a[0] as i32, a[1] as i32, a[2] as i32);
    if !(0..=NSIG as i32).contains(&n) || tid <= 0 || tgid <= 0 {
        return Err(Errno::EINVAL);
    }
    if tgid == t.proc_pid() {
        if !t.proc.shoot.has(tid) {
            return Err(Errno::ESRCH);
        }
        if kill_queues(t, n) {
            if tid == t.tid {
                t.proc
                    .thread_pending
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push((tid, user_info(t, n, signal::code::SI_TKILL)));
                crate::sigwatch::notify(&*t.proc as *const crate::process::Process as usize, n);
            } else {
                t.proc
                    .post_thread(tid, user_info(t, n, signal::code::SI_TKILL));
            }
        }
        return Ok(0);
    }
    if n >= 32 {
        return Err(Errno::EINVAL);
    }
    // SAFETY: getpid cannot fail.
    let me = unsafe { libc::getpid() };
    tree::signal(t.proc.vm_root(), me, Target::Thread { tgid, tid }, n)?;
    Ok(0)
}

/// `rt_sigqueueinfo`.
pub fn rt_sigqueueinfo(t: &mut Task, a: [u64; 6]) -> SysResult {
    let n = valid(a[1])?;
    let b = t.proc.read_mem(a[2], 128)?;
    let code = i32::from_le_bytes(b[8..12].try_into().map_err(|_| Errno::EFAULT)?);
    let value = u64::from_le_bytes(b[24..32].try_into().map_err(|_| Errno::EFAULT)?);
    if a[0] as i32 != t.proc_pid() {
        return Err(Errno::EPERM);
    }
    if queue_full(t) {
        return Err(Errno::EAGAIN);
    }
    let mut info = user_info(t, n, code);
    info.value = value;
    t.proc.post(info);
    Ok(0)
}

/// `rt_tgsigqueueinfo`.
pub fn rt_tgsigqueueinfo(t: &mut Task, a: [u64; 6]) -> SysResult {
    let n = valid(a[2])?;
    let b = t.proc.read_mem(a[3], 128)?;
    let code = i32::from_le_bytes(b[8..12].try_into().map_err(|_| Errno::EFAULT)?);
    let value = u64::from_le_bytes(b[24..32].try_into().map_err(|_| Errno::EFAULT)?);
    if a[0] as i32 != t.proc_pid() {
        return Err(Errno::EPERM);
    }
    let tid = a[1] as i32;
    if !t.proc.shoot.has(tid) {
        return Err(Errno::ESRCH);
    }
    if queue_full(t) {
        return Err(Errno::EAGAIN);
    }
    let mut info = user_info(t, n, code);
    info.value = value;
    t.proc.post_thread(tid, info);
    Ok(0)
}

/// `rt_sigpending` (a size above 8 is `EINVAL`; a smaller one writes that many
/// bytes).
pub fn rt_sigpending(t: &mut Task, a: [u64; 6]) -> SysResult {
    if a[1] > 8 {
        return Err(Errno::EINVAL);
    }
    for info in signal::take_host_pending() {
        t.proc.post(info);
    }
    let mut set = 0u64;
    for i in t
        .proc
        .pending
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
    {
        set |= bit(i.signo);
    }
    for (tid, i) in t
        .proc
        .thread_pending
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
    {
        if *tid == t.tid {
            set |= bit(i.signo);
        }
    }
    // Blocked host-directed signals wait in the host kernel.
    // SAFETY: local sigset.
    unsafe {
        let mut hs: libc::sigset_t = std::mem::zeroed();
        libc::sigpending(&mut hs);
        for n in 1..32 {
            if mirrored(n) && libc::sigismember(&hs, n) == 1 {
                set |= bit(n);
            }
        }
    }
    // kernel/signal.c copies `sigsetsize` bytes of the set, no more.
    let bytes = (set & t.sigmask).to_le_bytes();
    t.proc.write_mem(a[0], &bytes[..a[1] as usize])?;
    Ok(0)
}

/// Blocks until a signal arrives for this thread (any unblocked host signal, or the
/// wake-up signal), without losing one that arrives just before: the wake-up signal
/// is blocked while checking and unblocked atomically by `sigsuspend`.
pub fn wait_for_signal(t: &Task, guest_mask: u64) {
    // SAFETY: signal-mask manipulation of this thread only.
    unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::pthread_sigmask(libc::SIG_BLOCK, &all, &mut old);
        if !t.signal_pending() {
            let mut wait: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut wait);
            for n in 1..32 {
                if mirrored(n) && guest_mask & bit(n) != 0 {
                    libc::sigaddset(&mut wait, n);
                }
            }
            libc::sigsuspend(&wait);
        }
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
    }
}

/// `rt_sigsuspend`: waits with a temporary mask; the handler's frame saves the
/// original one, which `rt_sigreturn` restores.
pub fn rt_sigsuspend(t: &mut Task, a: [u64; 6]) -> SysResult {
    if a[1] != 8 {
        return Err(Errno::EINVAL);
    }
    let mask = t.proc.read_u64(a[0])? & !signal::UNBLOCKABLE;
    let old = t.sigmask;
    t.saved_mask = Some(old);
    t.sigmask = mask;
    loop {
        if t.signal_pending() {
            break;
        }
        wait_for_signal(t, mask);
    }
    signal::mirror_mask(mask);
    Err(Errno::EINTR)
}

/// `rt_sigtimedwait`.
pub fn rt_sigtimedwait(t: &mut Task, a: [u64; 6]) -> SysResult {
    if a[3] != 8 {
        return Err(Errno::EINVAL);
    }
    let set = t.proc.read_u64(a[0])? & !signal::UNBLOCKABLE;
    let deadline = if a[2] != 0 {
        let ts = crate::futex::read_timespec(&t.proc, a[2])?;
        if ts.tv_sec < 0 || !(0..1_000_000_000).contains(&ts.tv_nsec) {
            return Err(Errno::EINVAL);
        }
        Some(
            std::time::Instant::now()
                + std::time::Duration::new(
                    ts.tv_sec.max(0) as u64,
                    ts.tv_nsec.clamp(0, 999_999_999) as u32,
                ),
        )
    } else {
        None
    };
    loop {
        for info in signal::take_host_pending() {
            t.proc.post(info);
        }
        let taken = {
            let mut tp = t
                .proc
                .thread_pending
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            match tp
                .iter()
                .position(|(tid, i)| *tid == t.tid && bit(i.signo) & set != 0)
            {
                Some(i) => Some(tp.remove(i).1),
                None => {
                    drop(tp);
                    let mut p = t.proc.pending.lock().unwrap_or_else(|e| e.into_inner());
                    p.iter()
                        .position(|i| bit(i.signo) & set != 0)
                        .map(|i| p.remove(i))
                }
            }
        };
        if let Some(info) = taken {
            if a[1] != 0 {
                t.proc.write_mem(a[1], &info.to_bytes())?;
            }
            return Ok(info.signo as u64);
        }
        // Signals in `set` that are blocked wait in the host kernel.
        let remaining = match deadline {
            Some(d) => {
                let now = std::time::Instant::now();
                if now >= d {
                    return Err(Errno::EAGAIN);
                }
                (d - now).min(std::time::Duration::from_millis(50))
            }
            None => std::time::Duration::from_millis(50),
        };
        // SAFETY: local sigset and timespec.
        let got = unsafe {
            let mut hs: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut hs);
            for n in 1..32 {
                if mirrored(n) && set & bit(n) != 0 {
                    libc::sigaddset(&mut hs, n);
                }
            }
            let ts = libc::timespec {
                tv_sec: remaining.as_secs() as i64,
                tv_nsec: i64::from(remaining.subsec_nanos()),
            };
            let mut si: libc::siginfo_t = std::mem::zeroed();
            let r = libc::sigtimedwait(&hs, &mut si, &ts);
            (r, si.si_code, si.si_pid())
        };
        if got.0 > 0 {
            let info = SigInfo {
                signo: got.0,
                code: got.1,
                addr: got.2 as u32 as u64,
                value: 0,
            };
            if a[1] != 0 {
                t.proc.write_mem(a[1], &info.to_bytes())?;
            }
            return Ok(got.0 as u64);
        }
        if t.signal_pending() {
            return Err(Errno::EINTR);
        }
    }
}
