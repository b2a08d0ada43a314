//! POSIX message queues: `mq_open`, `mq_unlink`, `mq_timedsend`,
//! `mq_timedreceive`, `mq_notify`, `mq_getsetattr` (ipc/mqueue.c).
//!
//! A guest's queue is a host queue whose name carries the VM's identity
//! (`tern.<root pid>.<root start>.<name>`), so the processes of one VM share
//! their queues by name and no two VMs (nor the host's own programs) meet in
//! that namespace; its descriptor is a host descriptor (so `poll`/`epoll` work),
//! messages are copied through host buffers bounded by the queue's message size
//! (at most `HARD_MSGSIZEMAX`, 16 MiB). The host kernel's limits on queues and
//! bytes per user apply. `mq_notify` takes `SIGEV_NONE` and `SIGEV_SIGNAL` with a
//! signal that reaches the guest from the host (1–31, see [`crate::signal`]); the
//! host's notification comes from the kernel as `SI_MESGQ`. A snapshot records a
//! queue descriptor with the queue's messages (`fs::saved_mq`).

use crate::errno::{host, Errno, SysResult};
use crate::fs::{FdInfo, FdKind};
use crate::signal::mirrored;
use crate::syscalls::io::{fd_arg, new_fd};
use crate::task::Task;

/// `HARD_MSGSIZEMAX`.
const MSGSIZE_MAX: u64 = 16 << 20;
/// `NAME_MAX`.
const NAME_MAX: usize = 255;

/// The host name of guest queue `name` (the syscall takes it without the leading
/// `/` that glibc strips):
/// `EACCES` for a name with a `/` (as Linux), `ENOENT` for an empty one,
/// `ENAMETOOLONG` when it does not fit with the VM's prefix.
fn host_name(t: &Task, va: u64) -> Result<std::ffi::CString, Errno> {
    let name = t.proc.read_path(va)?;
    if name.is_empty() {
        return Err(Errno::ENOENT);
    }
    if name.contains(&b'/') || name == b"." || name == b".." {
        return Err(Errno::EACCES);
    }
    let root = t.proc.vm_root();
    let mut full = format!("tern.{}.{}.", root.pid, root.start).into_bytes();
    full.extend_from_slice(&name);
    if full.len() > NAME_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    std::ffi::CString::new(full).map_err(|_| Errno::EINVAL)
}

/// `mq_open(name, oflag, mode, attr)`.
pub fn mq_open(t: &mut Task, a: [u64; 6]) -> SysResult {
    let name = host_name(t, a[0])?;
    let oflag = a[1] as i32;
    let mut attr = [0i64; 8];
    let with_attr = a[3] != 0 && oflag & libc::O_CREAT != 0;
    if with_attr {
        let b = t.proc.read_mem(a[3], 64)?;
        for (i, c) in b.chunks_exact(8).enumerate() {
            attr[i] = i64::from_le_bytes(c.try_into().map_err(|_| Errno::EFAULT)?);
        }
        if attr[1] <= 0 || attr[2] <= 0 || attr[2] as u64 > MSGSIZE_MAX {
            return Err(Errno::EINVAL);
        }
    }
    let mode =
        (a[2] as u32) & 0o7777 & !(t.proc.umask.load(std::sync::atomic::Ordering::Relaxed) as u32);
    let ap = if with_attr {
        attr.as_ptr()
    } else {
        std::ptr::null()
    };
    // SAFETY: a valid C string; `attr` is a local struct mq_attr (8 longs).
    let fd = unsafe { libc::syscall(libc::SYS_mq_open, name.as_ptr(), oflag, mode, ap) };
    new_fd(
        t,
        fd,
        FdInfo {
            kind: FdKind::File,
            path: None,
            flags: oflag,
        },
    )
}

/// `mq_unlink(name)`.
pub fn mq_unlink(t: &mut Task, a: [u64; 6]) -> SysResult {
    let name = host_name(t, a[0])?;
    // SAFETY: a valid C string.
    host(unsafe { libc::syscall(libc::SYS_mq_unlink, name.as_ptr()) })
}

/// The queue's `mq_attr` (flags, maxmsg, msgsize, curmsgs).
fn attr_of(fd: i32) -> Result<[i64; 8], Errno> {
    let mut cur = [0i64; 8];
    // SAFETY: a local struct mq_attr.
    host(unsafe {
        libc::syscall(
            libc::SYS_mq_getsetattr,
            fd,
            std::ptr::null::<i64>(),
            cur.as_mut_ptr(),
        )
    })?;
    Ok(cur)
}

/// An optional absolute timeout (`struct timespec`, checked by the host).
fn timeout_arg(t: &Task, va: u64) -> Result<Option<libc::timespec>, Errno> {
    if va == 0 {
        return Ok(None);
    }
    Ok(Some(crate::futex::read_timespec(&t.proc, va)?))
}

/// `mq_timedsend(mqdes, msg, len, prio, timeout)`.
pub fn mq_timedsend(t: &mut Task, a: [u64; 6]) -> SysResult {
    let fd = fd_arg(t, a[0])?;
    let at = attr_of(fd)?;
    if a[2] > at[2] as u64 {
        return Err(Errno(libc::EMSGSIZE));
    }
    let msg = if a[2] > 0 {
        t.proc.read_mem(a[1], a[2] as usize)?
    } else {
        Vec::new()
    };
    let ts = timeout_arg(t, a[4])?;
    if t.signal_pending() {
        return Err(Errno::EINTR);
    }
    let tp = ts
        .as_ref()
        .map_or(std::ptr::null(), |x| x as *const libc::timespec);
    // SAFETY: `msg` holds the message; the timeout is a local or null.
    host(unsafe {
        libc::syscall(
            libc::SYS_mq_timedsend,
            fd,
            msg.as_ptr(),
            msg.len(),
            a[3] as u32,
            tp,
        )
    })
}

/// `mq_timedreceive(mqdes, msg, len, prio, timeout)`.
pub fn mq_timedreceive(t: &mut Task, a: [u64; 6]) -> SysResult {
    let fd = fd_arg(t, a[0])?;
    let at = attr_of(fd)?;
    if a[2] < at[2] as u64 {
        return Err(Errno(libc::EMSGSIZE));
    }
    let ts = timeout_arg(t, a[4])?;
    let mut buf = vec![0u8; at[2].clamp(0, MSGSIZE_MAX as i64) as usize];
    let mut prio = 0u32;
    if t.signal_pending() {
        return Err(Errno::EINTR);
    }
    let tp = ts
        .as_ref()
        .map_or(std::ptr::null(), |x| x as *const libc::timespec);
    // SAFETY: `buf` holds a whole message of the queue; locals otherwise.
    let n = host(unsafe {
        libc::syscall(
            libc::SYS_mq_timedreceive,
            fd,
            buf.as_mut_ptr(),
            buf.len(),
            &mut prio as *mut u32,
            tp,
        )
    })?;
    t.proc.write_mem(a[1], &buf[..n as usize])?;
    if a[3] != 0 {
        t.proc.write_u32(a[3], prio)?;
    }
    Ok(n)
}

/// `mq_notify(mqdes, sevp)`.
pub fn mq_notify(t: &mut Task, a: [u64; 6]) -> SysResult {
    let fd = fd_arg(t, a[0])?;
    if a[1] == 0 {
        // SAFETY: integer arguments (unregister).
        return host(unsafe { libc::syscall(libc::SYS_mq_notify, fd, std::ptr::null::<u8>()) });
    }
    let b = t.proc.read_mem(a[1], 64)?;
    let signo = i32::from_le_bytes([b[8], b[9], b[10], b[11]]);
    let how = i32::from_le_bytes([b[12], b[13], b[14], b[15]]);
    match how {
        libc::SIGEV_NONE => {}
        libc::SIGEV_SIGNAL => {
            if !(1..=64).contains(&signo) {
                return Err(Errno::EINVAL);
            }
            if !mirrored(signo) {
                // Realtime signals do not travel between host processes here.
                return Err(Errno::EINVAL);
            }
        }
        _ => return Err(Errno::EINVAL),
    }
    // struct sigevent: the value, signo and notify fields have the same layout.
    let mut ev = [0u8; 64];
    ev[..16].copy_from_slice(&b[..16]);
    // SAFETY: a local struct sigevent.
    host(unsafe { libc::syscall(libc::SYS_mq_notify, fd, ev.as_ptr()) })
}

/// `mq_getsetattr(mqdes, new, old)` (`struct mq_attr` is 8 longs everywhere).
pub fn mq_getsetattr(t: &mut Task, a: [u64; 6]) -> SysResult {
    let new = if a[1] != 0 {
        let b = t.proc.read_mem(a[1], 64)?;
        let mut v = [0i64; 8];
        for (i, c) in b.chunks_exact(8).enumerate() {
            v[i] = i64::from_le_bytes(c.try_into().map_err(|_| Errno::EFAULT)?);
        }
        Some(v)
    } else {
        None
    };
    let fd = fd_arg(t, a[0])?;
    let mut old = [0i64; 8];
    let np = new.as_ref().map_or(std::ptr::null(), |v| v.as_ptr());
    // SAFETY: local structs.
    host(unsafe { libc::syscall(libc::SYS_mq_getsetattr, fd, np, old.as_mut_ptr()) })?;
    if a[2] != 0 {
        let b: Vec<u8> = old.iter().flat_map(|v| v.to_le_bytes()).collect();
        t.proc.write_mem(a[2], &b)?;
    }
    Ok(0)
}
