//! `wait4` and `waitid`, with the core-dump bit Linux would report.
//!
//! A guest process that dies by a signal ends its tern the same way
//! ([`crate::signal::die_by_signal`]), so the parent's host wait sees the signal.
//! The host never dumps tern's core (the dying process makes itself non-dumpable),
//! so the host status lacks the core-dump bit (`WCOREDUMP`, 0x80; `CLD_DUMPED` for
//! `waitid`). It is computed here as fs/coredump.c decides it for the program: the
//! signal's default action dumps core (signal(7)) and the child's `RLIMIT_CORE`
//! (which the guest sets on its host process) allows at least a page. The limit is
//! read from the zombie before it is reaped: the wait first looks with `WNOWAIT`,
//! then reaps exactly the child it saw. (Linux also needs a writable working
//! directory and a file `core_pattern`; tern writes no core file.)

use crate::errno::{host, Errno, SysResult};
use crate::signal::{CLD_DUMPED, CLD_KILLED};
use crate::task::Task;

/// `WNOWAIT`.
const WNOWAIT: i32 = 0x0100_0000;
/// `WEXITED`.
const WEXITED: i32 = 4;
/// `__WNOTHREAD`, `__WALL`, `__WCLONE`.
const WFLAGS_THREAD: i32 = 0x2000_0000 | 0x4000_0000 | 0x8000_0000_u32 as i32;
/// The options `wait4` accepts.
const WAIT4_OPTIONS: i32 = libc::WNOHANG | libc::WUNTRACED | libc::WCONTINUED | WFLAGS_THREAD;

/// Whether Linux would have dumped the core of child `pid` (a zombie not yet
/// reaped) killed by signal `n`.
fn core_dumped(pid: i32, n: i32) -> bool {
    crate::signal::dumps_core(n) && crate::signal::core_marked(pid)
}

/// The `waitid` id type and id that wait4's `pid` names.
fn id_of(pid: i32) -> Result<(libc::idtype_t, u32), Errno> {
    Ok(match pid {
        -1 => (libc::P_ALL, 0),
        0 => (libc::P_PGID, 0),
        p if p < 0 => (libc::P_PGID, p.checked_neg().ok_or(Errno::ESRCH)? as u32),
        p => (libc::P_PID, p as u32),
    })
}

/// Looks (without reaping) for a child `waitid(idtype, id, options)` would report:
/// its pid (0: none yet, with `WNOHANG`), and whether it was killed with a core
/// dump.
fn peek(idtype: libc::idtype_t, id: u32, options: i32) -> Result<(i32, bool), Errno> {
    // SAFETY: a zeroed local siginfo.
    let mut si: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: `si` is a local; no rusage.
    host(unsafe {
        libc::syscall(
            libc::SYS_waitid,
            idtype,
            id,
            &mut si,
            options | WNOWAIT,
            std::ptr::null_mut::<libc::c_void>(),
        )
    })?;
    // SAFETY: waitid filled `si` (or left it zero).
    let (pid, status) = unsafe { (si.si_pid(), si.si_status()) };
    let killed = si.si_code == CLD_KILLED || si.si_code == CLD_DUMPED;
    Ok((pid, pid != 0 && killed && core_dumped(pid, status)))
}

/// `wait4` (`struct rusage` has the same layout).
pub fn wait4(t: &mut Task, a: [u64; 6]) -> SysResult {
    let options = a[2] as i32;
    if options & !WAIT4_OPTIONS != 0 {
        return Err(Errno::EINVAL);
    }
    let (idtype, id) = id_of(a[0] as i32)?;
    let look = (options & !libc::WUNTRACED)
        | WEXITED
        | if options & libc::WUNTRACED != 0 {
            libc::WSTOPPED
        } else {
            0
        };
    loop {
        if t.signal_pending() {
            return Err(Errno::EINTR);
        }
        let (child, core) = peek(idtype, id, look)?;
        if child == 0 {
            return Ok(0);
        }
        let mut status = 0i32;
        let mut ru = [0u8; 144];
        // SAFETY: locals for status and rusage.
        let pid = host(unsafe {
            libc::syscall(
                libc::SYS_wait4,
                child,
                &mut status,
                options | libc::WNOHANG,
                ru.as_mut_ptr(),
            )
        });
        let pid = match pid {
            // Another thread reaped it in between: look again.
            Ok(0) | Err(Errno::ECHILD) => continue,
            r => r?,
        };
        if core && libc::WIFSIGNALED(status) {
            status |= 0x80;
        }
        if a[1] != 0 {
            t.proc.write_u32(a[1], status as u32)?;
        }
        if a[3] != 0 {
            t.proc.write_mem(a[3], &ru)?;
        }
        return Ok(pid);
    }
}

/// `waitid` (`siginfo_t` and `rusage` have the same layout).
pub fn waitid(t: &mut Task, a: [u64; 6]) -> SysResult {
    let options = a[3] as i32;
    let (idtype, id) = (a[0] as i32 as libc::idtype_t, a[1] as u32);
    loop {
        if t.signal_pending() {
            return Err(Errno::EINTR);
        }
        // A call that reaps looks first, to read the child's limit before it goes.
        let seen = if options & WNOWAIT == 0 {
            match peek(idtype, id, options)? {
                (0, _) => None,
                c => Some(c),
            }
        } else {
            None
        };
        let (idt, which, opts) = match seen {
            Some((child, _)) => (libc::P_PID, child as u32, options | libc::WNOHANG),
            None => (idtype, id, options),
        };
        let mut si = [0u8; 128];
        let mut ru = [0u8; 144];
        // SAFETY: locals for siginfo and rusage.
        let r = host(unsafe {
            libc::syscall(
                libc::SYS_waitid,
                idt,
                which,
                si.as_mut_ptr(),
                opts,
                ru.as_mut_ptr(),
            )
        });
        let r = match r {
            // Another thread reaped it in between: look again.
            Err(Errno::ECHILD) if seen.is_some() => continue,
            r => r?,
        };
        let code = i32::from_le_bytes([si[8], si[9], si[10], si[11]]);
        let pid = i32::from_le_bytes([si[16], si[17], si[18], si[19]]);
        let status = i32::from_le_bytes([si[24], si[25], si[26], si[27]]);
        let core = match seen {
            Some(_) if pid == 0 => continue,
            Some((_, core)) => core,
            // WNOWAIT: the child is still there to ask.
            None => pid != 0 && code == CLD_KILLED && core_dumped(pid, status),
        };
        if core && code == CLD_KILLED {
            si[8..12].copy_from_slice(&CLD_DUMPED.to_le_bytes());
        }
        if a[2] != 0 {
            t.proc.write_mem(a[2], &si)?;
        }
        if a[4] != 0 {
            t.proc.write_mem(a[4], &ru)?;
        }
        return Ok(r);
    }
}
