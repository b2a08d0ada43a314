//! `chroot`, `name_to_handle_at`, `open_by_handle_at`: what an unprivileged
//! Linux process gets, after the same path checks.
//!
//! - `chroot` needs `CAP_SYS_CHROOT`: the path is looked up first (`ENOENT`,
//!   `ENOTDIR`, `EFAULT` as Linux gives them), then `EPERM`. (A guest chroot
//!   inside `--root` would need a per-process root in the confined resolver; an
//!   unprivileged program cannot tell the difference.)
//! - `name_to_handle_at`: the flags and the path are checked, then
//!   `EOPNOTSUPP`, what a file system without export operations answers (file
//!   handles would name host files outside the resolver's reach, and opening one
//!   needs a privilege anyway).
//! - `open_by_handle_at` needs `CAP_DAC_READ_SEARCH`: `EPERM`, as Linux checks
//!   first.

use std::os::fd::AsRawFd;
use std::sync::Arc;

use crate::errno::{Errno, SysResult};
use crate::fs::resolve::Lookup;
use crate::syscalls::path_args::{dirfd_arg, object_at};
use crate::task::Task;

const AT_HANDLE_MNT_ID_UNIQUE: u64 = 0x001;
const AT_HANDLE_FID: u64 = 0x200;
const AT_SYMLINK_FOLLOW: u64 = 0x400;
const AT_EMPTY_PATH: u64 = 0x1000;

/// `chroot(path)`.
pub fn chroot(t: &mut Task, a: [u64; 6]) -> SysResult {
    let proc = Arc::clone(&t.proc);
    let loc = object_at(t, &proc, libc::AT_FDCWD as u64, a[0], Lookup::Follow)?;
    let obj = loc.object_fd(proc.anchors.min_fd())?;
    // SAFETY: a local stat struct; fstat works on O_PATH descriptors.
    let mode = unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        if libc::fstat(obj.as_raw_fd(), &mut st) != 0 {
            return Err(Errno::last());
        }
        st.st_mode
    };
    if mode & libc::S_IFMT != libc::S_IFDIR {
        return Err(Errno::ENOTDIR);
    }
    Err(Errno::EPERM)
}

/// `name_to_handle_at(dirfd, path, handle, mount_id, flags)`.
pub fn name_to_handle_at(t: &mut Task, a: [u64; 6]) -> SysResult {
    if a[4] & !(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH | AT_HANDLE_FID | AT_HANDLE_MNT_ID_UNIQUE) != 0 {
        return Err(Errno::EINVAL);
    }
    let raw = t.proc.read_path(a[1])?;
    if raw.is_empty() {
        if a[4] & AT_EMPTY_PATH == 0 {
            return Err(Errno::ENOENT);
        }
        dirfd_arg(t, a[0])?;
        if a[0] as i32 != libc::AT_FDCWD {
            // SAFETY: querying a descriptor number.
            if unsafe { libc::fcntl(a[0] as i32, libc::F_GETFD) } < 0 {
                return Err(Errno::EBADF);
            }
        }
    } else {
        let lookup = if a[4] & AT_SYMLINK_FOLLOW != 0 {
            Lookup::Follow
        } else {
            Lookup::NoFollow
        };
        let proc = Arc::clone(&t.proc);
        let loc = object_at(t, &proc, a[0], a[1], lookup)?;
        let (d, p, extra) = loc.inspect()?;
        // SAFETY: a local stat struct, a valid C string.
        if unsafe {
            let mut st: libc::stat = std::mem::zeroed();
            libc::fstatat(d, p.as_ptr(), &mut st, extra | libc::AT_SYMLINK_NOFOLLOW)
        } != 0
        {
            return Err(Errno::last());
        }
    }
    Err(Errno(libc::EOPNOTSUPP))
}

/// `open_by_handle_at(mount_fd, handle, flags)`.
pub fn open_by_handle_at(_t: &mut Task, _a: [u64; 6]) -> SysResult {
    Err(Errno::EPERM)
}
