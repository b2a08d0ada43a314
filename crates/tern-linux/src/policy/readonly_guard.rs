//! The second look of read-only trees: the checks [`crate::fs::guard`] runs on
//! every walk of a writing call (armed by [`super::readonly::ReadOnly::guard_for`]),
//! on the descriptors the call will use, and the path tests they share with the
//! check before the call.

use std::ffi::CStr;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::OnceLock;

use crate::errno::Errno;
use crate::fs::guard::host_path;
use crate::fs::resolve::{Lookup, Walk};

/// The file type bits of what descriptor `fd` refers to.
pub(crate) fn file_type(fd: RawFd) -> Option<u32> {
    // SAFETY: a local struct.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fstat into the local.
    (unsafe { libc::fstat(fd, &mut st) } == 0).then_some(st.st_mode & libc::S_IFMT)
}

/// Records the trees' host paths for the guards (once per host process).
pub(crate) fn set_trees(host: Vec<Vec<u8>>) {
    let _ = TREES.set(host);
}

/// The trees' host paths, for the walk guard ([`crate::fs::guard`]), which is a
/// plain function: one policy per host process.
static TREES: OnceLock<Vec<Vec<u8>>> = OnceLock::new();

/// Whether host path `host` is inside a tree (`above`: or is a tree's ancestor).
fn in_trees(host: &[u8], above: bool) -> bool {
    TREES.get().is_some_and(|trees| path_in(trees, host, above))
}

/// Whether `host` is one of `trees` or below one (`above`: or an ancestor of one),
/// by whole components: `/data2` is not below `/data`.
pub(crate) fn path_in(trees: &[Vec<u8>], host: &[u8], above: bool) -> bool {
    trees.iter().any(|t| {
        let below =
            host.starts_with(t) && (host.len() == t.len() || t == b"/" || host[t.len()] == b'/');
        let ancestor = t.starts_with(host) && (host == b"/" || t.get(host.len()) == Some(&b'/'));
        below || (above && ancestor)
    })
}

/// The host path of `name` in directory `dir`.
fn name_path(dir: RawFd, name: &CStr) -> Option<Vec<u8>> {
    let mut h = host_path(dir)?;
    if h != b"/" {
        h.push(b'/');
    }
    h.extend_from_slice(name.to_bytes());
    Some(h)
}

/// Whether the file type bits are a device, pipe or socket (written where it
/// leads, not in the tree).
fn is_special(ty: Option<u32>) -> bool {
    matches!(
        ty,
        Some(libc::S_IFCHR | libc::S_IFBLK | libc::S_IFIFO | libc::S_IFSOCK)
    )
}

/// The type of what is at `name` in `dir`, not following a link.
fn entry_type(dir: RawFd, name: &CStr) -> Option<u32> {
    // SAFETY: a local struct.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: a valid C string and the local.
    let r = unsafe { libc::fstatat(dir, name.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) };
    (r == 0).then_some(st.st_mode & libc::S_IFMT)
}

/// The walk guard of a call that writes: a name it creates, removes or renames
/// (inside or above a tree), the object it changes (a followed name), the entry
/// it changes (a name not followed).
pub(crate) fn guard_write(w: &Walk<'_>, lookup: Lookup) -> Option<Errno> {
    let inside = match (lookup, &w.object, &w.entry) {
        (Lookup::Parent, _, Some((d, n))) => {
            name_path(d.as_raw_fd(), n).is_some_and(|h| in_trees(&h, true))
        }
        (Lookup::Follow, Some(o), _) => {
            host_path(o.as_raw_fd()).is_some_and(|h| in_trees(&h, false))
        }
        (Lookup::Follow, None, _) => false,
        (_, _, Some((d, n))) => name_path(d.as_raw_fd(), n).is_some_and(|h| in_trees(&h, false)),
        (_, Some(o), None) => host_path(o.as_raw_fd()).is_some_and(|h| in_trees(&h, false)),
        (_, None, None) => false,
    };
    inside.then_some(Errno(libc::EROFS))
}

/// The walk guard of an `openat` that writes: a file (not a device, pipe or
/// socket) in a tree, or a name it would create there.
pub(crate) fn guard_open_write(w: &Walk<'_>, _lookup: Lookup) -> Option<Errno> {
    let inside = match (&w.object, &w.entry) {
        (Some(o), _) => {
            !is_special(file_type(o.as_raw_fd()))
                && host_path(o.as_raw_fd()).is_some_and(|h| in_trees(&h, false))
        }
        (None, Some((d, n))) => {
            !is_special(entry_type(d.as_raw_fd(), n))
                && name_path(d.as_raw_fd(), n).is_some_and(|h| in_trees(&h, false))
        }
        (None, None) => false,
    };
    inside.then_some(Errno(libc::EROFS))
}

/// The walk guard of an `openat` that only creates (`O_CREAT` without writing):
/// a name that does not exist yet, in a tree.
pub(crate) fn guard_open_create(w: &Walk<'_>, _lookup: Lookup) -> Option<Errno> {
    let inside = match (&w.object, &w.entry) {
        (None, Some((d, n))) => {
            entry_type(d.as_raw_fd(), n).is_none()
                && name_path(d.as_raw_fd(), n).is_some_and(|h| in_trees(&h, false))
        }
        _ => false,
    };
    inside.then_some(Errno(libc::EROFS))
}

#[cfg(test)]
mod tests {
    use super::path_in;

    #[test]
    fn trees_match_whole_components() {
        let trees = vec![b"/srv/data".to_vec()];
        for (p, inside, or_above) in [
            ("/srv/data", true, true),
            ("/srv/data/f", true, true),
            ("/srv/data/sub/g", true, true),
            ("/srv/data2", false, false),
            ("/srv/dat", false, false),
            ("/srv/database/x", false, false),
            ("/srv", false, true),
            ("/", false, true),
            ("/s", false, false),
            ("/other", false, false),
        ] {
            assert_eq!(path_in(&trees, p.as_bytes(), false), inside, "{p} inside");
            assert_eq!(
                path_in(&trees, p.as_bytes(), true),
                or_above,
                "{p} inside or above"
            );
        }
        // The host's / as a tree holds everything.
        assert!(path_in(&[b"/".to_vec()], b"/anything/at/all", false));
    }
}
