//! `--root` without races: the host kernel resolves guest paths inside the root.
//!
//! The view ([`super::view`]) can resolve a path in guest terms, but a check made
//! before the host call leaves a window in which another guest thread can replace a
//! directory by a symbolic link pointing outside. Here the host kernel resolves the
//! whole path with `openat2(RESOLVE_IN_ROOT)` on an `O_PATH` descriptor of the root,
//! in the same step that yields the descriptor the call then uses: opens return that
//! descriptor, calls that follow the last link use `/proc/self/fd/N`, and calls on
//! the last component itself use it relative to a descriptor of its directory.
//! Paths under a `--bind` are left to the view.

use std::ffi::CString;

use crate::errno::Errno;
use crate::fs::view::{normalize, HostPath};
use crate::thread::Thread;

/// Under `--root`, opens with `openat2(RESOLVE_IN_ROOT)` on the root directory: the
/// host kernel then resolves the whole path (symbolic links and `..` included) as if
/// the root were `/`, atomically, so that a guest thread swapping a directory for a
/// symbolic link between our own resolution and the open cannot make it escape.
/// `None` when not confined or when the path leads under a `--bind` (resolved by the
/// view instead).
pub fn open_in_root(
    t: &Thread,
    dirfd: i32,
    path: &[u8],
    flags: i32,
    mode: u32,
) -> Option<Result<i32, Errno>> {
    let full = confined_path(t, dirfd, path, true)?;
    let rel = full.trim_start_matches('/');
    let rel = if rel.is_empty() { "." } else { rel };
    let c = CString::new(rel).ok()?;
    // Known open flags only: openat2 refuses unknown bits where openat ignores them.
    let known = libc::O_ACCMODE
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
    let creates = flags & libc::O_CREAT != 0 || flags & libc::O_TMPFILE == libc::O_TMPFILE;
    // SAFETY: open_how is plain data.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = (flags & known) as u32 as u64;
    how.mode = if creates { u64::from(mode & 0o7777) } else { 0 };
    how.resolve = libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS;
    // SAFETY: valid C string and a local open_how of the size passed.
    let r = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            t.proc.root_fd,
            c.as_ptr(),
            &how as *const libc::open_how,
            std::mem::size_of::<libc::open_how>(),
        )
    };
    Some(if r < 0 {
        Err(Errno::last())
    } else {
        Ok(r as i32)
    })
}

/// `openat2(root, rel, flags, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)`, the result
/// moved above the guest's descriptors.
fn openat2_in_root(t: &Thread, rel: &str, flags: i32) -> Result<std::os::fd::OwnedFd, Errno> {
    use std::os::fd::FromRawFd;
    let c = CString::new(rel).map_err(|_| Errno::EINVAL)?;
    // SAFETY: open_how is plain data.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = (flags | libc::O_CLOEXEC) as u32 as u64;
    how.resolve = libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS;
    // SAFETY: valid C string and open_how; the descriptors are our own.
    unsafe {
        let fd = libc::syscall(
            libc::SYS_openat2,
            t.proc.root_fd,
            c.as_ptr(),
            &how as *const libc::open_how,
            std::mem::size_of::<libc::open_how>(),
        );
        if fd < 0 {
            return Err(Errno::last());
        }
        let fd = fd as i32;
        let high = libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, t.proc.fd_limit);
        libc::close(fd);
        if high < 0 {
            return Err(Errno::last());
        }
        Ok(std::os::fd::OwnedFd::from_raw_fd(high))
    }
}

/// The absolute guest path of `path` (relative to `dirfd`) when the process is
/// confined by `--root` and the path does not lead under a `--bind`; `None`
/// otherwise (the view resolves it instead), or when `dirfd` has no known path.
fn confined_path(t: &Thread, dirfd: i32, path: &[u8], follow: bool) -> Option<String> {
    if t.proc.root_fd < 0 {
        return None;
    }
    let text = std::str::from_utf8(path).ok()?;
    let base = if text.starts_with('/') {
        String::new()
    } else if dirfd == libc::AT_FDCWD {
        t.proc.cwd()
    } else {
        t.proc.files().get(dirfd)?.path.clone()?
    };
    let full = format!("{base}/{text}");
    let view = &t.proc.opts.view;
    if !view.binds.is_empty() {
        let resolved = view.resolve_guest("/", &full, follow).ok()?;
        if view.bound(&resolved) || view.bound(&normalize(&full)) {
            return None;
        }
    }
    Some(full)
}

/// Under `--root` (outside `--bind`s), the race-free host form of a guest path: the
/// host kernel resolves it inside the root with `openat2(RESOLVE_IN_ROOT)`. A path
/// whose last symbolic link is followed becomes `/proc/self/fd/N` of an `O_PATH`
/// descriptor of the file itself; otherwise the call is made on the last component
/// relative to a descriptor of its directory. Either way a guest thread swapping a
/// component for a symbolic link cannot redirect the call outside the root.
pub fn in_root(
    t: &Thread,
    dirfd: i32,
    path: &[u8],
    follow: bool,
) -> Option<Result<HostPath, Errno>> {
    let full = confined_path(t, dirfd, path, follow)?;
    let trimmed = full.trim_end_matches('/');
    let rel = trimmed.trim_start_matches('/');
    let (parent, last) = match rel.rsplit_once('/') {
        Some((p, l)) => (p, l),
        None => ("", rel),
    };
    let whole = follow || last.is_empty() || last == "." || last == ".." || full.ends_with('/');
    if whole {
        let target = if rel.is_empty() { "." } else { rel };
        match openat2_in_root(t, target, libc::O_PATH) {
            Ok(fd) => {
                use std::os::fd::AsRawFd;
                // Following: the host follows the magic link to the file itself. Not
                // following ("/", ".", "..", "dir/"): a directory, named as ".".
                let (dirfd, p) = if follow {
                    (libc::AT_FDCWD, format!("/proc/self/fd/{}", fd.as_raw_fd()))
                } else {
                    (fd.as_raw_fd(), ".".to_string())
                };
                return Some(Ok(HostPath {
                    dirfd,
                    path: CString::new(p).ok()?,
                    hold: Some(fd),
                }));
            }
            // The last component may be about to be created.
            Err(Errno::ENOENT) if !last.is_empty() && last != "." && last != ".." => {}
            Err(e) => return Some(Err(e)),
        }
    }
    let parent = if parent.is_empty() { "." } else { parent };
    Some(
        openat2_in_root(t, parent, libc::O_PATH | libc::O_DIRECTORY).and_then(|fd| {
            use std::os::fd::AsRawFd;
            Ok(HostPath {
                dirfd: fd.as_raw_fd(),
                path: CString::new(last).map_err(|_| Errno::EINVAL)?,
                hold: Some(fd),
            })
        }),
    )
}
