//! Path arguments of system calls: a directory descriptor (`AT_FDCWD` or one of
//! the guest's) and a path in user memory, read and located in the process's file
//! view ([`crate::fs::locate`]), and the guest's working directory.

use crate::errno::Errno;
use crate::fs::locate::{locate, locate_object, Located};
use crate::fs::resolve::Lookup;
use crate::fs::view::normalize;
use crate::process::Process;
use crate::syscalls::io::fd_arg;
use crate::task::Task;

/// The dirfd argument: `AT_FDCWD` or a guest descriptor.
pub fn dirfd_arg(t: &Task, v: u64) -> Result<i32, Errno> {
    let d = v as i32;
    if d == libc::AT_FDCWD {
        Ok(d)
    } else {
        fd_arg(t, v)
    }
}

/// The dirfd argument for `path`: not looked at when the path is absolute (Linux
/// ignores it then, even when it is not a descriptor), else as [`dirfd_arg`].
pub fn dirfd_for(t: &Task, v: u64, path: &[u8]) -> Result<i32, Errno> {
    if path.first() == Some(&b'/') {
        Ok(libc::AT_FDCWD)
    } else {
        dirfd_arg(t, v)
    }
}

/// The absolute guest path that `path` names relative to `dirfd`, lexically.
pub fn guest_abs(t: &Task, dirfd: i32, path: &[u8]) -> Option<String> {
    let p = std::str::from_utf8(path).ok()?;
    if p.starts_with('/') {
        return Some(normalize(p));
    }
    let base = if dirfd == libc::AT_FDCWD {
        current_dir(t)
    } else {
        t.proc.files().get(dirfd)?.path.clone()?
    };
    Some(normalize(&format!("{base}/{p}")))
}

/// The guest's current directory.
pub fn current_dir(t: &Task) -> String {
    if t.proc.opts.view.confined() {
        t.proc.cwd()
    } else {
        std::env::current_dir()
            .map(|d| d.display().to_string())
            .unwrap_or_else(|_| "/".into())
    }
}

/// Reads the path argument at `va` and locates it relative to the dirfd argument
/// (the path first, as Linux's `getname` comes before the descriptor).
/// The process is passed separately (`t.proc` cloned by the caller), so that the
/// result may borrow it while `t` is used.
pub fn path_at<'p>(
    t: &Task,
    proc: &'p Process,
    dirfd: u64,
    va: u64,
    lookup: Lookup,
) -> Result<(Located<'p>, Vec<u8>), Errno> {
    let guest = proc.read_path(va)?;
    let d = dirfd_for(t, dirfd, &guest)?;
    Ok((locate(proc.paths(), d, &guest, lookup)?, guest))
}

/// Like [`path_at`], for calls that need only the object (see
/// [`crate::fs::locate::locate_object`]).
pub fn object_at<'p>(
    t: &Task,
    proc: &'p Process,
    dirfd: u64,
    va: u64,
    lookup: Lookup,
) -> Result<Located<'p>, Errno> {
    let guest = proc.read_path(va)?;
    let d = dirfd_for(t, dirfd, &guest)?;
    locate_object(proc.paths(), d, &guest, lookup)
}
