//! Time: clocks and sleeps (the host's clocks; `struct timespec` and `timeval` have
//! the same layout on riscv64 and x86-64).

use crate::errno::{host, Errno, SysResult};
use crate::futex::read_timespec;
use crate::task::Task;

fn ts_bytes(ts: &libc::timespec) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&ts.tv_sec.to_le_bytes());
    b[8..].copy_from_slice(&ts.tv_nsec.to_le_bytes());
    b
}

/// `clock_gettime`.
pub fn clock_gettime(t: &mut Task, a: [u64; 6]) -> SysResult {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: local struct.
    host(unsafe { libc::clock_gettime(a[0] as i32, &mut ts) as i64 })?;
    t.proc.write_mem(a[1], &ts_bytes(&ts))?;
    Ok(0)
}

/// `clock_getres`.
pub fn clock_getres(t: &mut Task, a: [u64; 6]) -> SysResult {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: local struct.
    host(unsafe { libc::clock_getres(a[0] as i32, &mut ts) as i64 })?;
    if a[1] != 0 {
        t.proc.write_mem(a[1], &ts_bytes(&ts))?;
    }
    Ok(0)
}

/// `gettimeofday`.
pub fn gettimeofday(t: &mut Task, a: [u64; 6]) -> SysResult {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: local struct.
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) };
    if a[0] != 0 {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&ts.tv_sec.to_le_bytes());
        b[8..].copy_from_slice(&(ts.tv_nsec / 1000).to_le_bytes());
        t.proc.write_mem(a[0], &b)?;
    }
    if a[1] != 0 {
        t.proc.write_mem(a[1], &[0u8; 8])?;
    }
    Ok(0)
}

/// `nanosleep`.
pub fn nanosleep(t: &mut Task, a: [u64; 6]) -> SysResult {
    clock_nanosleep(t, [libc::CLOCK_MONOTONIC as u64, 0, a[0], a[1], 0, 0])
}

/// `clock_nanosleep`: the clock is checked before the time is read
/// (kernel/time/posix-timers.c), so a bad clock is `EINVAL` even with a bad pointer.
pub fn clock_nanosleep(t: &mut Task, a: [u64; 6]) -> SysResult {
    // SAFETY: a null result pointer, which clock_getres allows.
    host(unsafe { libc::clock_getres(a[0] as i32, std::ptr::null_mut()) as i64 })?;
    // kernel/time/posix-timers.c: a clock that cannot sleep is EOPNOTSUPP before the
    // request is read (the calling thread's CPU clock; glibc's wrapper would say
    // EINVAL, so the host call below is made raw).
    if a[0] as i32 == libc::CLOCK_THREAD_CPUTIME_ID {
        return Err(Errno::ENOTSUP);
    }
    let req = read_timespec(&t.proc, a[2])?;
    if req.tv_nsec < 0 || req.tv_nsec >= 1_000_000_000 || req.tv_sec < 0 {
        return Err(Errno::EINVAL);
    }
    if t.signal_pending() {
        return Err(Errno::EINTR);
    }
    let mut rem = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: local structs.
    let r = unsafe {
        libc::syscall(
            libc::SYS_clock_nanosleep,
            a[0] as i32,
            a[1] as i32 & libc::TIMER_ABSTIME,
            &req,
            &mut rem,
        )
    };
    if r != 0 {
        let r = Errno::last().0;
        if r == libc::EINTR && a[3] != 0 && a[1] == 0 {
            t.proc.write_mem(a[3], &ts_bytes(&rem))?;
        }
        return Err(Errno(r));
    }
    Ok(0)
}

/// `setitimer`: the host's timer delivers the host signal, which reaches the guest
/// like any other (`struct itimerval` has the same layout). No new value disarms
/// the timer, as Linux still allows.
pub fn setitimer(t: &mut Task, a: [u64; 6]) -> SysResult {
    let new = if a[1] == 0 {
        vec![0u8; 32]
    } else {
        t.proc.read_mem(a[1], 32)?
    };
    let mut old = [0u8; 32];
    // SAFETY: 32-byte buffers are sizeof(struct itimerval).
    host(unsafe {
        libc::syscall(
            libc::SYS_setitimer,
            a[0] as i32,
            new.as_ptr(),
            old.as_mut_ptr(),
        )
    })?;
    if a[2] != 0 {
        t.proc.write_mem(a[2], &old)?;
    }
    Ok(0)
}

/// `getitimer`.
pub fn getitimer(t: &mut Task, a: [u64; 6]) -> SysResult {
    let mut cur = [0u8; 32];
    // SAFETY: 32-byte buffer.
    host(unsafe { libc::syscall(libc::SYS_getitimer, a[0] as i32, cur.as_mut_ptr()) })?;
    t.proc.write_mem(a[1], &cur)?;
    Ok(0)
}

/// `times`.
pub fn times(t: &mut Task, a: [u64; 6]) -> SysResult {
    let mut b = [0u8; 32];
    // SAFETY: 32-byte buffer is sizeof(struct tms).
    let r = host(unsafe { libc::syscall(libc::SYS_times, b.as_mut_ptr()) })?;
    if a[0] != 0 {
        t.proc.write_mem(a[0], &b)?;
    }
    Ok(r)
}
