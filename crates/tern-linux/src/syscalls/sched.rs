//! Scheduling policies and priorities: `sched_get_priority_max/min`,
//! `sched_getscheduler`, `sched_getparam`, `sched_setscheduler`, `sched_setparam`.
//!
//! The numbers are Linux's (kernel/sched/syscalls.c): `SCHED_FIFO` and `SCHED_RR`
//! have priorities 1..=99, the others only 0; an unknown policy or a negative pid is
//! `EINVAL`, a pid nobody has `ESRCH`, a missing parameter block `EINVAL` and a bad
//! one `EFAULT`. The calling process and its threads are asked on the host; another
//! process only when it is one of the VM's tree ([`crate::tree::check_owner`]:
//! `EPERM` outside it). The non-realtime policies are applied to the host thread;
//! realtime ones are refused with `EPERM`, as for an unprivileged process whose
//! `RLIMIT_RTPRIO` is 0: a guest never gets a realtime host thread.

use crate::errno::{host, Errno, SysResult};
use crate::task::Task;

/// `SCHED_OTHER`.
pub const SCHED_OTHER: u64 = 0;
/// `SCHED_FIFO`.
pub const SCHED_FIFO: u64 = 1;
/// `SCHED_RR`.
pub const SCHED_RR: u64 = 2;
/// `SCHED_BATCH`.
pub const SCHED_BATCH: u64 = 3;
/// `SCHED_IDLE`.
pub const SCHED_IDLE: u64 = 5;
/// `SCHED_DEADLINE` (set only through `sched_setattr`).
pub const SCHED_DEADLINE: u64 = 6;
/// `SCHED_RESET_ON_FORK`, or-ed into a policy.
pub const SCHED_RESET_ON_FORK: u64 = 0x4000_0000;

/// The priority range of `policy`, `None` for an unknown one.
pub fn priority_range(policy: u64) -> Option<(u64, u64)> {
    match policy {
        SCHED_FIFO | SCHED_RR => Some((1, 99)),
        SCHED_OTHER | SCHED_BATCH | SCHED_IDLE | SCHED_DEADLINE => Some((0, 0)),
        _ => None,
    }
}

/// `sched_get_priority_max` (`max`) and `sched_get_priority_min`.
pub fn priority_limit(a: [u64; 6], max: bool) -> SysResult {
    let (lo, hi) = priority_range(a[0] as i32 as i64 as u64).ok_or(Errno::EINVAL)?;
    Ok(if max { hi } else { lo })
}

/// The host thread or process that guest pid `pid` names: 0, the process itself or
/// one of its threads, else a process of the VM's tree.
pub(crate) fn target(t: &Task, pid: u64) -> Result<i32, Errno> {
    let pid = pid as i32;
    if pid < 0 {
        return Err(Errno::EINVAL);
    }
    if pid == 0 || pid == t.tid {
        return Ok(0);
    }
    if pid == t.proc_pid() {
        // SAFETY: getpid cannot fail.
        return Ok(unsafe { libc::getpid() });
    }
    if t.proc.shoot.has(pid) {
        return t.proc.shoot.host_tid(pid).ok_or(Errno::ESRCH);
    }
    crate::tree::check_owner(t.proc.vm_root(), pid)?;
    Ok(pid)
}

/// `sched_getscheduler`.
pub fn getscheduler(t: &mut Task, a: [u64; 6]) -> SysResult {
    let pid = target(t, a[0])?;
    // SAFETY: integer argument.
    host(unsafe { libc::syscall(libc::SYS_sched_getscheduler, pid) })
}

/// `sched_getparam`.
pub fn getparam(t: &mut Task, a: [u64; 6]) -> SysResult {
    if a[1] == 0 || (a[0] as i32) < 0 {
        return Err(Errno::EINVAL);
    }
    let pid = target(t, a[0])?;
    let mut prio: i32 = 0;
    // SAFETY: `prio` is a local `struct sched_param`.
    host(unsafe { libc::syscall(libc::SYS_sched_getparam, pid, &mut prio) })?;
    t.proc.write_u32(a[1], prio as u32)?;
    Ok(0)
}

/// `sched_setscheduler` (`policy` `None`: `sched_setparam`, which keeps the policy).
pub fn setscheduler(t: &mut Task, pid: u64, policy: Option<u64>, param: u64) -> SysResult {
    if param == 0 || (pid as i32) < 0 {
        return Err(Errno::EINVAL);
    }
    if let Some(p) = policy {
        if (p as i32) < 0 {
            return Err(Errno::EINVAL);
        }
    }
    let prio = t.proc.read_u32(param)? as i32;
    let host_pid = target(t, pid)?;
    let policy = match policy {
        Some(p) => p & !SCHED_RESET_ON_FORK,
        None => {
            // SAFETY: integer argument.
            host(unsafe { libc::syscall(libc::SYS_sched_getscheduler, host_pid) })?
                & !SCHED_RESET_ON_FORK
        }
    };
    if policy == SCHED_DEADLINE {
        return Err(Errno::EINVAL);
    }
    let (lo, hi) = priority_range(policy).ok_or(Errno::EINVAL)?;
    if prio < lo as i32 || prio > hi as i32 {
        return Err(Errno::EINVAL);
    }
    if policy == SCHED_FIFO || policy == SCHED_RR {
        return Err(Errno::EPERM);
    }
    // SAFETY: `prio` is a local `struct sched_param`.
    host(unsafe { libc::syscall(libc::SYS_sched_setscheduler, host_pid, policy, &prio) })
}
