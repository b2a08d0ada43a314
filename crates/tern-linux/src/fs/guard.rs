//! A check that a system-call policy arms on the calling thread for the length of
//! one call: every path that call has the resolver walk ([`super::locate`]) is
//! shown to it, with the descriptors the call will then use, and may be refused.
//!
//! The read-only trees of `--policy` (`policy::readonly`) check each path before
//! the call; this second look closes the window in which another thread of the
//! program could swap a directory for a symbolic link between that check and the
//! call's own walk. While a check is armed, a path the host would resolve itself
//! (without `--root`, a bind or the sysroot) is walked too, from the host's `/`
//! ([`host_walk`]), so that the call uses descriptors the check saw.

use std::cell::Cell;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::sync::OnceLock;

use crate::errno::Errno;
use crate::fs::resolve::{above, walk, Lookup, Start, Tree, Walk};

/// The check: an errno refuses the walk.
pub type Check = fn(&Walk<'_>, Lookup) -> Option<Errno>;

thread_local! {
    static ARMED: Cell<Option<Check>> = const { Cell::new(None) };
}

/// Arms `check` on this thread until [`disarm`].
pub fn arm(check: Check) {
    ARMED.with(|a| a.set(Some(check)));
}

/// Disarms this thread's check.
pub fn disarm() {
    ARMED.with(|a| a.set(None));
}

/// Whether a check is armed on this thread.
pub fn armed() -> bool {
    ARMED.with(Cell::get).is_some()
}

/// Runs this thread's check (if armed) on walk `w` done with `lookup`.
pub fn check(w: &Walk<'_>, lookup: Lookup) -> Result<(), Errno> {
    match ARMED.with(Cell::get) {
        Some(c) => c(w, lookup).map_or(Ok(()), Err),
        None => Ok(()),
    }
}

/// The host path descriptor `fd` of this thread refers to, as the kernel reports
/// it (` (deleted)` removed).
pub fn host_path(fd: RawFd) -> Option<Vec<u8>> {
    let p = std::fs::read_link(format!("/proc/thread-self/fd/{fd}")).ok()?;
    let mut b = p.into_os_string().into_encoded_bytes();
    if b.ends_with(b" (deleted)") {
        b.truncate(b.len() - b" (deleted)".len());
    }
    Some(b)
}

/// An `O_PATH` descriptor of the host's `/`, for walking host paths.
static HOST_ROOT: OnceLock<Option<OwnedFd>> = OnceLock::new();

/// Walks host path `path` (relative to guest descriptor `dirfd` or the working
/// directory) with the resolver, from the host's `/`.
pub fn host_walk(
    min_fd: i32,
    dirfd: i32,
    path: &[u8],
    lookup: Lookup,
) -> Result<Walk<'static>, Errno> {
    let root = HOST_ROOT
        .get_or_init(|| {
            // SAFETY: a constant C string.
            let fd = unsafe {
                libc::open(
                    c"/".as_ptr(),
                    libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
                )
            };
            if fd < 0 {
                return None;
            }
            above(fd, min_fd).ok()
        })
        .as_ref()
        .ok_or(Errno::ENOENT)?;
    let tree = Tree {
        root: root.as_fd(),
        binds: &[],
        min_fd,
    };
    let start = if path.first() == Some(&b'/') {
        None
    } else {
        let raw = if dirfd == libc::AT_FDCWD {
            // SAFETY: a constant C string.
            unsafe {
                libc::open(
                    c".".as_ptr(),
                    libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
                )
            }
        } else {
            // SAFETY: duplicating a descriptor; a closed number just fails.
            unsafe { libc::fcntl(dirfd, libc::F_DUPFD_CLOEXEC, min_fd) }
        };
        if raw < 0 {
            return Err(Errno::last());
        }
        let fd = above(raw, min_fd)?;
        let guest = host_path(fd.as_raw_fd()).ok_or(Errno::ENOENT)?;
        Some(Start {
            fd,
            guest,
            is_dir: false,
        })
    };
    walk(tree, start, path, lookup)
}
