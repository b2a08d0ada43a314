//! Capabilities and scheduling attributes of the guest: `capset`, `ioprio_get`,
//! `ioprio_set`, `sched_getattr`, `sched_setattr`.
//!
//! The guest's capabilities are what `capget` reports (none), and its I/O priority
//! is the process VM's own plain data ([`IOPRIO`], per host process = per guest
//! process). The scheduling policy and the nice value are the host thread's, as
//! `sched_getscheduler`/`sched_setscheduler` (`syscalls::sched`) and
//! `getpriority`/`setpriority` see them; only non-realtime policies are set. The sandbox's probe `ioprio_get(MARKER, 0)`
//! (tern-sandbox) is never passed on: an unknown `which` is `EINVAL` here.

use std::sync::atomic::{AtomicI32, Ordering};

use crate::errno::{Errno, SysResult};
use crate::task::Task;

const LINUX_CAPABILITY_VERSION_1: u32 = 0x1998_0330;
const LINUX_CAPABILITY_VERSION_2: u32 = 0x2007_1026;
const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

/// `capset(hdrp, datap)`: the guest holds no capabilities (what `capget`
/// reports), so it may set the empty sets again and nothing more (`EPERM`), as
/// security/commoncap.c's `cap_capset` decides for an unprivileged process.
pub fn capset(t: &mut Task, a: [u64; 6]) -> SysResult {
    let hdr = t.proc.read_mem(a[0], 8)?;
    let version = u32::from_le_bytes([hdr[0], hdr[1], hdr[2], hdr[3]]);
    let pid = i32::from_le_bytes([hdr[4], hdr[5], hdr[6], hdr[7]]);
    let words = match version {
        LINUX_CAPABILITY_VERSION_1 => 1,
        LINUX_CAPABILITY_VERSION_2 | LINUX_CAPABILITY_VERSION_3 => 2,
        _ => {
            t.proc.write_u32(a[0], LINUX_CAPABILITY_VERSION_3)?;
            return Err(Errno::EINVAL);
        }
    };
    if pid != 0 && pid != t.proc_pid() && pid != t.tid {
        return Err(Errno::EPERM);
    }
    let data = t.proc.read_mem(a[1], 12 * words)?;
    if data.iter().any(|&b| b != 0) {
        return Err(Errno::EPERM);
    }
    Ok(0)
}

/// The guest's I/O priority (`IOPRIO_PRIO_VALUE(class, data)`); 0 until set.
static IOPRIO: AtomicI32 = AtomicI32::new(0);

const IOPRIO_WHO_PROCESS: u64 = 1;
const IOPRIO_WHO_PGRP: u64 = 2;
const IOPRIO_WHO_USER: u64 = 3;
const IOPRIO_CLASS_SHIFT: i32 = 13;

/// The nice value of the calling process (host `getpriority`).
fn nice() -> i32 {
    // SAFETY: integer arguments; a process's own priority.
    let r = unsafe { libc::syscall(libc::SYS_getpriority, libc::PRIO_PROCESS, 0) };
    if r < 0 {
        0
    } else {
        20 - r as i32
    }
}

/// What `ioprio_get` reports for this process (0, `IOPRIO_CLASS_NONE`, until set:
/// the kernel then derives the priority from the nice value).
fn own_ioprio() -> i32 {
    IOPRIO.load(Ordering::Relaxed)
}

/// Whether `(which, who)` names this process (others of the VM are refused:
/// their settings live in their own emulators).
fn names_self(t: &Task, which: u64, who: u64) -> Result<bool, Errno> {
    let who = who as i32;
    match which {
        IOPRIO_WHO_PROCESS => {
            if who == 0 || who == t.proc_pid() || t.proc.shoot.has(who) {
                Ok(true)
            } else if who < 0 {
                Err(Errno::EINVAL)
            } else {
                crate::tree::check_owner(t.proc.vm_root(), who)?;
                Ok(false)
            }
        }
        IOPRIO_WHO_PGRP => {
            // SAFETY: getpgrp cannot fail.
            if who == 0 || who == unsafe { libc::getpgrp() } {
                Ok(true)
            } else if who < 0 {
                Err(Errno::EINVAL)
            } else {
                crate::tree::check_owner(t.proc.vm_root(), -who)?;
                Ok(false)
            }
        }
        IOPRIO_WHO_USER => {
            // SAFETY: getuid cannot fail.
            if who == 0 || who as u32 == unsafe { libc::getuid() } {
                Ok(true)
            } else {
                Err(Errno::ESRCH)
            }
        }
        _ => Err(Errno::EINVAL),
    }
}

/// `ioprio_get(which, who)`.
pub fn ioprio_get(t: &mut Task, a: [u64; 6]) -> SysResult {
    if names_self(t, a[0], a[1])? {
        Ok(own_ioprio() as u64)
    } else {
        // Another process of the VM: the default, as for one that never set it.
        Ok(0)
    }
}

/// `ioprio_set(which, who, ioprio)`: the class is checked as block/ioprio.c does
/// (the realtime class needs a privilege: `EPERM`; the data bits are a level and
/// a hint since Linux 6.5, any value of which is taken).
pub fn ioprio_set(t: &mut Task, a: [u64; 6]) -> SysResult {
    let prio = a[2] as i32;
    let class = (prio >> IOPRIO_CLASS_SHIFT) & 7;
    if prio as u32 >> 16 != 0 {
        return Err(Errno::EINVAL);
    }
    match class {
        1 => return Err(Errno::EPERM),
        0..=3 => {}
        _ => return Err(Errno::EINVAL),
    }
    if !names_self(t, a[0], a[1])? {
        return Err(Errno::EPERM);
    }
    IOPRIO.store(prio, Ordering::Relaxed);
    Ok(0)
}

/// The host thread's scheduling policy (`SCHED_RESET_ON_FORK` included): the
/// policy is the host's, as `sched_getscheduler` and `sched_setscheduler` see it
/// (`syscalls::sched`).
fn host_policy(host_tid: i32) -> Result<u32, Errno> {
    // SAFETY: integer argument.
    let p = unsafe { libc::syscall(libc::SYS_sched_getscheduler, host_tid) };
    if p < 0 {
        return Err(Errno::last());
    }
    Ok(p as u32)
}

/// `SCHED_RESET_ON_FORK` in a policy word.
const RESET_ON_FORK_POLICY: u32 = 0x4000_0000;

const SCHED_ATTR_SIZE_VER0: u32 = 48;
const SCHED_ATTR_SIZE_VER1: u32 = 56;
const SCHED_FLAG_ALL: u64 = 0x7f;
const SCHED_FLAG_RESET_ON_FORK: u64 = 0x01;
const SCHED_FLAG_KEEP_POLICY: u64 = 0x08;
const SCHED_FLAG_KEEP_PARAMS: u64 = 0x10;
const SCHED_FLAG_UTIL_CLAMP: u64 = 0x60;

/// Whether `pid` (0: the caller) is a thread of this process (`ESRCH` for others
/// not in the VM, `EPERM` for the VM's other processes, whose settings their own
/// emulators hold).
fn own_thread(t: &Task, pid: u64) -> Result<(), Errno> {
    let pid = pid as i32;
    if pid < 0 {
        return Err(Errno::EINVAL);
    }
    if pid == 0 || pid == t.proc_pid() || t.proc.shoot.has(pid) {
        return Ok(());
    }
    match crate::tree::check_owner(t.proc.vm_root(), pid) {
        Ok(()) => Err(Errno::EPERM),
        Err(Errno::EPERM) => Err(Errno::ESRCH),
        Err(e) => Err(e),
    }
}

/// `sched_getattr(pid, attr, size, flags)`: `struct sched_attr` up to the size the
/// caller's version knows (`size` is written as what was filled).
pub fn sched_getattr(t: &mut Task, a: [u64; 6]) -> SysResult {
    let size = a[2] as u32;
    if a[0] as i64 > i32::MAX as i64
        || (a[0] as i32) < 0
        || a[3] != 0
        || !(SCHED_ATTR_SIZE_VER0..=4096).contains(&size)
    {
        return Err(Errno::EINVAL);
    }
    own_thread(t, a[0])?;
    let n = size.min(SCHED_ATTR_SIZE_VER1);
    let policy = host_policy(super::sched::target(t, a[0])?)?;
    let reset = u64::from(policy & RESET_ON_FORK_POLICY != 0);
    let mut b = vec![0u8; n as usize];
    b[0..4].copy_from_slice(&n.to_le_bytes());
    b[4..8].copy_from_slice(&(policy & !RESET_ON_FORK_POLICY).to_le_bytes());
    b[8..16].copy_from_slice(&(reset * SCHED_FLAG_RESET_ON_FORK).to_le_bytes());
    b[16..20].copy_from_slice(&nice().to_le_bytes());
    if n >= SCHED_ATTR_SIZE_VER1 {
        // sched_util_max: the whole range when not clamped.
        b[52..56].copy_from_slice(&1024u32.to_le_bytes());
    }
    t.proc.write_mem(a[1], &b)?;
    Ok(0)
}

/// `sched_setattr(pid, attr, flags)`: `SCHED_OTHER`, `SCHED_BATCH` and
/// `SCHED_IDLE` with a nice value; the realtime and deadline policies need a
/// privilege (`EPERM`), as for an unprivileged process without `RLIMIT_RTPRIO`.
pub fn sched_setattr(t: &mut Task, a: [u64; 6]) -> SysResult {
    if (a[0] as i32) < 0 || a[2] != 0 {
        return Err(Errno::EINVAL);
    }
    let mut size = t.proc.read_u32(a[1])?;
    if size == 0 {
        size = SCHED_ATTR_SIZE_VER0;
    }
    if !(SCHED_ATTR_SIZE_VER0..=4096).contains(&size) {
        t.proc.write_u32(a[1], SCHED_ATTR_SIZE_VER1)?;
        return Err(Errno(libc::E2BIG));
    }
    let b = t.proc.read_mem(a[1], size as usize)?;
    if size > SCHED_ATTR_SIZE_VER1 && b[SCHED_ATTR_SIZE_VER1 as usize..].iter().any(|&x| x != 0) {
        t.proc.write_u32(a[1], SCHED_ATTR_SIZE_VER1)?;
        return Err(Errno(libc::E2BIG));
    }
    let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    let policy = u32_at(4);
    let flags = u64::from_le_bytes(b[8..16].try_into().map_err(|_| Errno::EFAULT)?);
    let nice = u32_at(16) as i32;
    let prio = u32_at(20);
    own_thread(t, a[0])?;
    if flags & !SCHED_FLAG_ALL != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & SCHED_FLAG_UTIL_CLAMP != 0 && size < SCHED_ATTR_SIZE_VER1 {
        return Err(Errno::EINVAL);
    }
    let host_tid = super::sched::target(t, a[0])?;
    let keep_policy = flags & SCHED_FLAG_KEEP_POLICY != 0;
    let policy = if keep_policy {
        host_policy(host_tid)? & !RESET_ON_FORK_POLICY
    } else {
        policy
    };
    match policy {
        0 | 3 | 5 => {
            if prio != 0 {
                return Err(Errno::EINVAL);
            }
        }
        1 | 2 => {
            if prio > 99 {
                return Err(Errno::EINVAL);
            }
            return Err(Errno::EPERM);
        }
        6 => return Err(Errno::EPERM),
        _ => return Err(Errno::EINVAL),
    }
    if flags & SCHED_FLAG_KEEP_PARAMS == 0 {
        let nice = nice.clamp(-20, 19);
        // SAFETY: integer arguments; the caller's own priority (the host refuses a
        // lower nice value without privilege, as Linux does).
        if unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, nice) } != 0 {
            return Err(Errno::last());
        }
    }
    let reset = if flags & SCHED_FLAG_RESET_ON_FORK != 0 {
        RESET_ON_FORK_POLICY
    } else {
        0
    };
    let prio: i32 = 0;
    // SAFETY: `prio` is a local `struct sched_param`; a non-realtime policy of the
    // caller's own thread (checked above), which the host grants without privilege.
    let r = unsafe {
        libc::syscall(
            libc::SYS_sched_setscheduler,
            host_tid,
            policy | reset,
            &prio,
        )
    };
    if r < 0 {
        return Err(Errno::last());
    }
    Ok(0)
}
