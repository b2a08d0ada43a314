//! inotify: `inotify_init1`, `inotify_add_watch`, `inotify_rm_watch`. The guest's
//! instance is a host inotify instance (its events, `struct inotify_event`, have
//! the same layout, and the names in them are the directory entries the guest
//! sees); the watched path goes through the confined resolver and the host watches
//! exactly the object it reached ([`super::pathobj`]).

use crate::errno::{host, Errno, SysResult};
use crate::fs::{FdInfo, FdKind};
use crate::syscalls::io::{fd_arg, new_fd};
use crate::syscalls::pathobj::with_host_path;
use crate::task::Task;

const IN_DONT_FOLLOW: u32 = 0x0200_0000;
const IN_MASK_CREATE: u32 = 0x1000_0000;
const IN_MASK_ADD: u32 = 0x2000_0000;
/// `ALL_INOTIFY_BITS` of include/linux/inotify.h.
const ALL_BITS: u32 = 0x0000_0fff // IN_ALL_EVENTS
    | 0x0000_2000 // IN_UNMOUNT
    | 0x0000_4000 // IN_Q_OVERFLOW
    | 0x0000_8000 // IN_IGNORED
    | 0x0100_0000 // IN_ONLYDIR
    | IN_DONT_FOLLOW
    | 0x0400_0000 // IN_EXCL_UNLINK
    | IN_MASK_CREATE
    | IN_MASK_ADD
    | 0x4000_0000 // IN_ISDIR
    | 0x8000_0000; // IN_ONESHOT

/// `inotify_init1(flags)`.
pub fn inotify_init1(t: &mut Task, a: [u64; 6]) -> SysResult {
    let flags = a[0] as i32;
    if flags & !(libc::IN_CLOEXEC | libc::IN_NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    // SAFETY: integer argument.
    let fd = unsafe { libc::inotify_init1(flags) };
    new_fd(
        t,
        i64::from(fd),
        FdInfo {
            kind: FdKind::File,
            path: None,
            flags: libc::O_RDONLY | flags,
        },
    )
}

/// Whether host descriptor `fd` is an inotify instance (`EBADF` when closed).
fn check_inotify(fd: i32) -> Result<(), Errno> {
    // SAFETY: querying a descriptor number.
    if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
        return Err(Errno::EBADF);
    }
    match std::fs::read_link(format!("/proc/thread-self/fd/{fd}")) {
        Ok(p) if p.as_os_str() == "anon_inode:inotify" => Ok(()),
        _ => Err(Errno::EINVAL),
    }
}

/// `inotify_add_watch(fd, path, mask)`: as fs/notify/inotify/inotify_user.c, the
/// mask, then the descriptor, then the path.
pub fn inotify_add_watch(t: &mut Task, a: [u64; 6]) -> SysResult {
    let mask = a[2] as u32;
    if mask & ALL_BITS == 0 || (mask & IN_MASK_ADD != 0 && mask & IN_MASK_CREATE != 0) {
        return Err(Errno::EINVAL);
    }
    let fd = fd_arg(t, a[0])?;
    check_inotify(fd)?;
    with_host_path(t, a[1], mask & IN_DONT_FOLLOW == 0, |path, nofollow| {
        // The object the walk opened (a link itself, if not followed) is reached
        // through its descriptor's magic link, which must be followed.
        let mask = if nofollow {
            mask
        } else {
            mask & !IN_DONT_FOLLOW
        };
        // SAFETY: a valid C string; the guest's inotify descriptor.
        host(unsafe { libc::inotify_add_watch(fd, path.as_ptr(), mask) as i64 })
    })
}

/// `inotify_rm_watch(fd, wd)`.
pub fn inotify_rm_watch(t: &mut Task, a: [u64; 6]) -> SysResult {
    let fd = fd_arg(t, a[0])?;
    check_inotify(fd)?;
    // SAFETY: integer arguments.
    host(unsafe { libc::inotify_rm_watch(fd, a[1] as i32) as i64 })
}
