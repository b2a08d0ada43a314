//! A located guest path as a host path string for host calls that take nothing
//! else (`inotify_add_watch`, the path forms of the xattr calls): the kernel
//! follows `/proc/thread-self/fd/N` to exactly the object the confined resolver
//! reached, and `/proc/thread-self/fd/N/name` to a name in the directory it
//! reached (for calls that must not follow a last symbolic link).

use std::ffi::{CStr, CString};
use std::sync::Arc;

use crate::errno::Errno;
use crate::fs::resolve::Lookup;
use crate::syscalls::path_args::object_at;
use crate::task::Task;

/// Calls `f` with a host path for the guest path at `va` (relative to the guest's
/// working directory), `follow`ing a last symbolic link or not, and whether the
/// host call must be the variant that does not follow one (`l...`). The
/// descriptors of the walk stay open until `f` returns.
pub fn with_host_path<R>(
    t: &Task,
    va: u64,
    follow: bool,
    f: impl FnOnce(&CStr, bool) -> Result<R, Errno>,
) -> Result<R, Errno> {
    let proc = Arc::clone(&t.proc);
    let lookup = if follow {
        Lookup::Follow
    } else {
        Lookup::NoFollow
    };
    let loc = object_at(t, &proc, libc::AT_FDCWD as u64, va, lookup)?;
    let (d, p, extra) = loc.inspect()?;
    if extra & libc::AT_EMPTY_PATH != 0 {
        // The object itself (opened by the walk).
        return f(&crate::fs::located::fd_path(d), false);
    }
    let name = p.to_bytes();
    let s = if d == libc::AT_FDCWD || name.first() == Some(&b'/') {
        name.to_vec()
    } else {
        let mut v = format!("/proc/thread-self/fd/{d}/").into_bytes();
        v.extend_from_slice(name);
        v
    };
    let nofollow = extra & libc::AT_SYMLINK_NOFOLLOW != 0 || !follow;
    let c = CString::new(s).map_err(|_| Errno::EINVAL)?;
    let r = f(&c, nofollow);
    drop(loc);
    r
}
