//! Waiting on descriptors: `ppoll`, `pselect6`, epoll, timerfd.
//!
//! The host does the waiting. A guest signal mask passed to these calls becomes the
//! host mask for the duration (as `ppoll` does atomically on the host too). riscv64's
//! `struct epoll_event` is 16 bytes (`events`, padding, `data`), x86-64's is packed
//! into 12, so events are converted.

use crate::errno::{host, Errno, SysResult};
use crate::fs::{FdInfo, FdKind};
use crate::signal::{bit, mirrored};
use crate::syscalls::io::{fd_arg, new_fd};
use crate::task::Task;

/// Host sigset for a guest mask (mirrored signals only; the wake-up signal stays
/// deliverable).
fn host_sigset(mask: u64) -> libc::sigset_t {
    // SAFETY: sigset manipulation on a local.
    unsafe {
        let mut s: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut s);
        for n in 1..32 {
            if mirrored(n) && mask & bit(n) != 0 {
                libc::sigaddset(&mut s, n);
            }
        }
        s
    }
}

/// The mask argument of `ppoll`/`pselect6`/`epoll_pwait`: the guest's mask if none.
fn mask_arg(t: &Task, va: u64, size: u64) -> Result<u64, Errno> {
    if va == 0 {
        return Ok(t.sigmask);
    }
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    t.proc.read_u64(va)
}

/// `ppoll` (`struct pollfd` is the same everywhere). As in fs/select.c, the
/// timeout and the mask are read before the array; a number at or above the
/// guest's descriptor limit (the emulator's own descriptors live there) is not
/// passed to the host but reported `POLLNVAL`, like a closed one.
pub fn ppoll(t: &mut Task, a: [u64; 6]) -> SysResult {
    let nfds = a[1] as usize;
    let mut ts = if a[2] != 0 {
        let ts = crate::futex::read_timespec(&t.proc, a[2])?;
        if ts.tv_sec < 0 || !(0..1_000_000_000).contains(&ts.tv_nsec) {
            return Err(Errno::EINVAL);
        }
        Some(ts)
    } else {
        None
    };
    let mask = mask_arg(t, a[3], a[4])?;
    if nfds > t.proc.fd_limit as usize {
        return Err(Errno::EINVAL);
    }
    let mut fds = if nfds > 0 {
        t.proc.read_mem(a[0], nfds * 8)?
    } else {
        Vec::new()
    };
    let limit = t.proc.fd_limit;
    let mut not_guests = Vec::new();
    for (i, p) in fds.chunks_exact_mut(8).enumerate() {
        let fd = i32::from_le_bytes([p[0], p[1], p[2], p[3]]);
        if fd >= limit {
            not_guests.push((i, fd));
            p[..4].copy_from_slice(&(-1i32).to_le_bytes());
        }
    }
    if !not_guests.is_empty() {
        // An invalid descriptor is an event: the call does not wait.
        ts = Some(libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        });
    }
    if t.signal_pending() {
        return Err(Errno::EINTR);
    }
    let set = host_sigset(mask);
    let tsp = ts
        .as_ref()
        .map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: `fds` holds `nfds` pollfd structs; timespec and sigset are locals.
    let mut r =
        host(unsafe { libc::ppoll(fds.as_mut_ptr().cast(), nfds as u64, tsp, &set) as i64 })?;
    for &(i, fd) in &not_guests {
        let p = &mut fds[i * 8..i * 8 + 8];
        p[..4].copy_from_slice(&fd.to_le_bytes());
        p[6..8].copy_from_slice(&libc::POLLNVAL.to_le_bytes());
        r += 1;
    }
    if nfds > 0 {
        t.proc.write_mem(a[0], &fds)?;
    }
    Ok(r)
}

/// `pselect6` (`fd_set` is a bitmap of longs everywhere).
pub fn pselect6(t: &mut Task, a: [u64; 6]) -> SysResult {
    let n = a[0] as i64;
    if n < 0 || n > i64::from(t.proc.fd_limit) {
        return Err(Errno::EINVAL);
    }
    let bytes = (n as usize).div_ceil(64) * 8;
    let mut sets: [Option<Vec<u8>>; 3] = [None, None, None];
    for (i, s) in sets.iter_mut().enumerate() {
        if a[1 + i] != 0 {
            let mut v = t.proc.read_mem(a[1 + i], bytes)?;
            v.resize(bytes.max(128), 0);
            *s = Some(v);
        }
    }
    let ts = if a[4] != 0 {
        Some(crate::futex::read_timespec(&t.proc, a[4])?)
    } else {
        None
    };
    let mask = if a[5] != 0 {
        let ptr = t.proc.read_u64(a[5])?;
        let size = t.proc.read_u64(a[5].wrapping_add(8))?;
        mask_arg(t, ptr, size)?
    } else {
        t.sigmask
    };
    if t.signal_pending() {
        return Err(Errno::EINTR);
    }
    let set = host_sigset(mask);
    let ptr = |s: &mut Option<Vec<u8>>| s.as_mut().map_or(std::ptr::null_mut(), |v| v.as_mut_ptr());
    let (r0, r1, r2) = {
        let [s0, s1, s2] = &mut sets;
        (ptr(s0), ptr(s1), ptr(s2))
    };
    let tsp = ts
        .as_ref()
        .map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: each set buffer holds at least `n` bits (and 128 bytes); locals otherwise.
    let r = host(unsafe {
        libc::pselect(n as i32, r0.cast(), r1.cast(), r2.cast(), tsp, &set) as i64
    })?;
    for (i, s) in sets.iter().enumerate() {
        if let Some(v) = s {
            t.proc.write_mem(a[1 + i], &v[..bytes])?;
        }
    }
    Ok(r)
}

/// `epoll_create1`.
pub fn epoll_create1(t: &mut Task, a: [u64; 6]) -> SysResult {
    // SAFETY: integer argument.
    let fd = unsafe { libc::epoll_create1(a[0] as i32) };
    new_fd(
        t,
        i64::from(fd),
        FdInfo {
            kind: FdKind::Epoll,
            path: None,
            flags: a[0] as i32,
        },
    )
}

/// `epoll_ctl`: the event is read before the descriptors are looked at, and not at all for
/// `EPOLL_CTL_DEL` (fs/eventpoll.c).
pub fn epoll_ctl(t: &mut Task, a: [u64; 6]) -> SysResult {
    let mut ev = libc::epoll_event { events: 0, u64: 0 };
    if a[1] as i32 != libc::EPOLL_CTL_DEL {
        let b = t.proc.read_mem(a[3], 16)?;
        ev.events = u32::from_le_bytes(b[0..4].try_into().map_err(|_| Errno::EFAULT)?);
        ev.u64 = u64::from_le_bytes(b[8..16].try_into().map_err(|_| Errno::EFAULT)?);
    }
    let ep = fd_arg(t, a[0])?;
    let fd = fd_arg(t, a[2])?;
    // SAFETY: local event struct.
    host(unsafe { libc::epoll_ctl(ep, a[1] as i32, fd, &mut ev) as i64 })
}

fn epoll_wait_common(t: &mut Task, a: [u64; 6], timeout_ms: i32, mask: u64) -> SysResult {
    let max = a[2] as i32;
    if max <= 0 || max > 1 << 16 {
        return Err(Errno::EINVAL);
    }
    let ep = fd_arg(t, a[0])?;
    if t.signal_pending() {
        return Err(Errno::EINTR);
    }
    let mut evs = vec![libc::epoll_event { events: 0, u64: 0 }; max as usize];
    let set = host_sigset(mask);
    // SAFETY: `evs` holds `max` events; sigset is a local.
    let n = host(unsafe { libc::epoll_pwait(ep, evs.as_mut_ptr(), max, timeout_ms, &set) as i64 })?;
    let mut out = Vec::with_capacity(n as usize * 16);
    for e in &evs[..n as usize] {
        let events = e.events;
        let data = e.u64;
        out.extend_from_slice(&events.to_le_bytes());
        out.extend_from_slice(&[0u8; 4]);
        out.extend_from_slice(&data.to_le_bytes());
    }
    t.proc.write_mem(a[1], &out)?;
    Ok(n)
}

/// `epoll_pwait`.
pub fn epoll_pwait(t: &mut Task, a: [u64; 6]) -> SysResult {
    let mask = mask_arg(t, a[4], a[5])?;
    epoll_wait_common(t, a, a[3] as i32, mask)
}

/// `epoll_pwait2` (timeout as a timespec; rounded up to milliseconds).
pub fn epoll_pwait2(t: &mut Task, a: [u64; 6]) -> SysResult {
    let ms = if a[3] == 0 {
        -1
    } else {
        let ts = crate::futex::read_timespec(&t.proc, a[3])?;
        (ts.tv_sec.saturating_mul(1000) + (ts.tv_nsec + 999_999) / 1_000_000)
            .clamp(0, i32::MAX as i64) as i32
    };
    let mask = mask_arg(t, a[4], a[5])?;
    epoll_wait_common(t, a, ms, mask)
}

/// `timerfd_create`.
pub fn timerfd_create(t: &mut Task, a: [u64; 6]) -> SysResult {
    // SAFETY: integer arguments.
    let fd = unsafe { libc::timerfd_create(a[0] as i32, a[1] as i32) };
    new_fd(
        t,
        i64::from(fd),
        FdInfo {
            kind: FdKind::File,
            path: None,
            flags: a[1] as i32,
        },
    )
}

/// `timerfd_settime` (`struct itimerspec` is the same 32 bytes).
pub fn timerfd_settime(t: &mut Task, a: [u64; 6]) -> SysResult {
    let fd = fd_arg(t, a[0])?;
    let new = t.proc.read_mem(a[2], 32)?;
    let mut old = [0u8; 32];
    // SAFETY: 32-byte buffers.
    host(unsafe {
        libc::syscall(
            libc::SYS_timerfd_settime,
            fd,
            a[1] as i32,
            new.as_ptr(),
            old.as_mut_ptr(),
        )
    })?;
    if a[3] != 0 {
        t.proc.write_mem(a[3], &old)?;
    }
    Ok(0)
}

/// `timerfd_gettime`.
pub fn timerfd_gettime(t: &mut Task, a: [u64; 6]) -> SysResult {
    let fd = fd_arg(t, a[0])?;
    let mut cur = [0u8; 32];
    // SAFETY: 32-byte buffer.
    host(unsafe { libc::syscall(libc::SYS_timerfd_gettime, fd, cur.as_mut_ptr()) })?;
    t.proc.write_mem(a[1], &cur)?;
    Ok(0)
}
