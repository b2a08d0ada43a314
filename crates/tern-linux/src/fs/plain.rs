//! Plain paths under `--root`: a path of names only (no `.`, `..` or empty
//! component) that leads under no bind, from the root or the working directory, is
//! handed to the kernel in one `openat2` with `RESOLVE_BENEATH |
//! RESOLVE_NO_SYMLINKS`. The kernel then follows no link and stays below where it
//! started, so it reaches exactly what the resolver would reach name by name; a link
//! anywhere makes it fail (`ELOOP`) and the resolver takes the path. This is the
//! common case made cheap: one host call instead of a walk.

use std::ffi::CString;
use std::os::fd::RawFd;

use crate::errno::Errno;
use crate::fs::hostcall::{above, openat2_beneath};
use crate::fs::located::{Located, Opened};
use crate::fs::paths::Paths;
use crate::fs::resolve::{Fd, Last, Lookup, Walk, PATH_MAX};

/// `open` flags `openat2` knows (it refuses unknown bits where `openat` ignores
/// them).
const OPEN_FLAGS: i32 = libc::O_ACCMODE
    | libc::O_CREAT
    | libc::O_EXCL
    | libc::O_NOCTTY
    | libc::O_TRUNC
    | libc::O_APPEND
    | libc::O_NONBLOCK
    | libc::O_DSYNC
    | libc::O_SYNC
    | libc::O_DIRECT
    | libc::O_LARGEFILE
    | libc::O_DIRECTORY
    | libc::O_NOFOLLOW
    | libc::O_NOATIME
    | libc::O_CLOEXEC
    | libc::O_PATH
    | libc::O_TMPFILE;

/// Under `--root`, a path of plain names (no `.`, `..` or empty component) that
/// does not lead under a bind, from the root or the working directory: where the
/// kernel starts (the root, `AT_FDCWD`), the path for it (relative; a trailing slash
/// kept) and the guest path it names. `None` for any other path.
fn plain(paths: Paths<'_>, dirfd: i32, path: &[u8]) -> Option<(RawFd, CString, String)> {
    if !paths.anchors.confined() {
        return None;
    }
    let trimmed = path.strip_suffix(b"/").unwrap_or(path);
    let (start, rel, base) = if let Some(rel) = trimmed.strip_prefix(b"/") {
        (paths.anchors.root_fd()?, rel, String::new())
    } else if dirfd == libc::AT_FDCWD {
        (libc::AT_FDCWD, trimmed, paths.cwd())
    } else {
        return None;
    };
    if rel.is_empty()
        || rel
            .split(|&b| b == b'/')
            .any(|c| c.is_empty() || c == b"." || c == b"..")
    {
        return None;
    }
    let rel_text = std::str::from_utf8(rel).ok()?;
    let guest = crate::fs::view::normalize(&format!("{base}/{rel_text}"));
    if paths.view.bound(&guest) {
        return None;
    }
    let c = CString::new(path.strip_prefix(b"/").unwrap_or(path)).ok()?;
    Some((start, c, guest))
}

/// Errors of a plain-path `openat2` that leave the path to the resolver: a link on
/// the way (`ELOOP`), or a call the kernel would not make this way.
fn resolver_needed(e: Errno) -> bool {
    [
        Errno::ELOOP,
        Errno::EXDEV,
        Errno::EAGAIN,
        Errno::ENOSYS,
        Errno::EINVAL,
    ]
    .contains(&e)
}

/// The fast path of [`super::locate::locate_object`], for calls that need only the
/// object ([`Located::inspect`], [`Located::object_path`], [`Located::object_fd`];
/// never [`Located::entry`] or [`Located::reopen`]): a plain path (see `plain`) is
/// opened by the kernel in one `openat2` with `RESOLVE_BENEATH |
/// RESOLVE_NO_SYMLINKS`. Without links, `..` or binds on the way, the kernel reaches
/// what the resolver reaches name by name. `None`: the resolver must walk the path
/// (it is not plain, or a link is on the way).
pub(crate) fn object_plain<'t>(
    paths: Paths<'t>,
    dirfd: i32,
    path: &[u8],
    lookup: Lookup,
) -> Option<Result<Located<'t>, Errno>> {
    if lookup == Lookup::Parent || path.is_empty() || path.len() >= PATH_MAX {
        return None;
    }
    let (start, c, guest) = plain(paths, dirfd, path)?;
    let mut flags = libc::O_PATH | libc::O_CLOEXEC;
    if lookup == Lookup::NoFollow {
        flags |= libc::O_NOFOLLOW;
    }
    match openat2_beneath(start, &c, flags, 0) {
        Ok(fd) => {
            let object = match above(fd, paths.anchors.min_fd()) {
                Ok(fd) => fd,
                Err(e) => return Some(Err(e)),
            };
            let w = Walk {
                object: Some(Fd::Own(object)),
                entry: None,
                last: Last::Name,
                guest: guest.into_bytes(),
                dir_only: path.ends_with(b"/"),
            };
            Some(Ok(Located::from_walk(w, lookup)))
        }
        Err(e) if !resolver_needed(e) => Some(Err(e)),
        Err(_) => None,
    }
}

/// The fast path of [`super::locate::open`] (see [`object_plain`]): the guest's own open in one
/// `openat2` that follows no link, for a plain path.
pub(crate) fn open_plain(
    paths: Paths<'_>,
    dirfd: i32,
    path: &[u8],
    flags: i32,
    mode: u32,
) -> Option<Result<Opened, Errno>> {
    if flags & !OPEN_FLAGS != 0 {
        return None;
    }
    let (start, c, guest) = plain(paths, dirfd, path)?;
    match openat2_beneath(start, &c, flags, mode) {
        Ok(fd) => Some(Ok((fd, Some(guest.into_bytes())))),
        Err(e) if resolver_needed(e) => None,
        Err(e) => Some(Err(e)),
    }
}
