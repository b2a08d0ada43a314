//! A guest path located for a host call ([`super::locate`] makes them): the
//! descriptors a walk ended in, or a path the host resolves itself, and the forms
//! host calls take it in.
//!
//! [`Located::inspect`] for `*at` calls with `AT_EMPTY_PATH`, [`Located::entry`] for
//! calls on the last name that do not follow it, [`Located::object_path`]
//! (`/proc/thread-self/fd/N`, which the host follows to exactly that object) for
//! calls that have neither.

use std::ffi::{CStr, CString};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};

use crate::errno::Errno;
use crate::fs::resolve::{above, Fd, Last, Lookup, Walk};

/// A guest path located for a host call.
#[derive(Debug)]
pub struct Located<'t> {
    kind: Kind<'t>,
    lookup: Lookup,
}

#[derive(Debug)]
enum Kind<'t> {
    /// The host resolves `(dirfd, path)` itself (paths are the host's).
    Host { dirfd: i32, path: CString },
    /// Walked by the resolver.
    Walked(Walk<'t>),
}

/// The host path the kernel follows to exactly descriptor `fd` of this thread.
pub fn fd_path(fd: RawFd) -> CString {
    CString::new(format!("/proc/thread-self/fd/{fd}")).unwrap_or_default()
}

impl<'t> Located<'t> {
    /// A path the host resolves itself, relative to `dirfd` (paths that are the
    /// host's: without `--root`).
    pub fn host(dirfd: i32, path: &[u8], lookup: Lookup) -> Result<Located<'t>, Errno> {
        Ok(Located {
            kind: Kind::Host {
                dirfd,
                path: CString::new(path).map_err(|_| Errno::EINVAL)?,
            },
            lookup,
        })
    }

    /// A path the resolver walked (with `lookup`), for the calls below.
    pub fn from_walk(w: Walk<'t>, lookup: Lookup) -> Located<'t> {
        Located {
            kind: Kind::Walked(w),
            lookup,
        }
    }

    /// The guest path reached, without links, `.` or `..` (when the resolver walked
    /// it).
    pub fn guest(&self) -> Option<&[u8]> {
        match &self.kind {
            Kind::Walked(w) => Some(&w.guest),
            Kind::Host { .. } => None,
        }
    }

    /// The walk's result (`None` when the host resolves the path itself), for a
    /// check that looks at the descriptors the walk ended in.
    pub fn into_walk(self) -> Option<Walk<'t>> {
        match self.kind {
            Kind::Walked(w) => Some(w),
            Kind::Host { .. } => None,
        }
    }

    /// Whether the resolver walked the path (`false`: the host resolves it).
    pub fn walked(&self) -> bool {
        matches!(self.kind, Kind::Walked(_))
    }

    /// Whether the path ended with `/` (walked paths only).
    pub fn dir_only(&self) -> bool {
        matches!(&self.kind, Kind::Walked(w) if w.dir_only)
    }

    /// How a walked path ended (`None` when the host resolves it).
    pub fn last(&self) -> Option<Last> {
        match &self.kind {
            Kind::Walked(w) => Some(w.last),
            Kind::Host { .. } => None,
        }
    }

    /// For `*at` calls that inspect the object and accept `AT_EMPTY_PATH`
    /// (`fstatat`, `statx`, `faccessat2`, `fchownat`): `(dirfd, path, flags to
    /// add)`. Walked: the object's descriptor with `AT_EMPTY_PATH`, or, when the
    /// last name was not followed, its directory and the name with
    /// `AT_SYMLINK_NOFOLLOW`; `ENOENT` when a followed name does not exist.
    pub fn inspect(&self) -> Result<(RawFd, &CStr, i32), Errno> {
        match &self.kind {
            Kind::Host { dirfd, path } => Ok((*dirfd, path, 0)),
            Kind::Walked(w) => match (&w.object, &w.entry) {
                (Some(o), _) => Ok((o.as_raw_fd(), c"", libc::AT_EMPTY_PATH)),
                (None, Some((d, n))) if self.lookup != Lookup::Follow => {
                    Ok((d.as_raw_fd(), n, libc::AT_SYMLINK_NOFOLLOW))
                }
                _ => Err(Errno::ENOENT),
            },
        }
    }

    /// For calls on the last name that never follow it (`mkdirat`, `unlinkat`,
    /// `renameat2`, `symlinkat`, `mknodat`, `linkat`, `bind`): its directory and the
    /// name. A path that ends without a name (`/`, `.`, `..`, a bind's mount point)
    /// gets the error `no_name` gives for how it ended.
    pub fn entry(&self, no_name: impl Fn(Last) -> Errno) -> Result<(RawFd, &CStr), Errno> {
        match &self.kind {
            Kind::Host { dirfd, path } => Ok((*dirfd, path)),
            Kind::Walked(w) => match &w.entry {
                Some((d, n)) => Ok((d.as_raw_fd(), n)),
                None => Err(no_name(w.last)),
            },
        }
    }

    /// For calls that have no form taking a descriptor (`truncate`, `chmod`,
    /// `utimensat`, `linkat` following, `connect`): `(dirfd, path)` that the host
    /// follows to exactly the object (walked: `/proc/thread-self/fd/N`); `ENOENT`
    /// when the walk did not open an object.
    pub fn object_path(&self) -> Result<(RawFd, CString), Errno> {
        match &self.kind {
            Kind::Host { dirfd, path } => Ok((*dirfd, path.clone())),
            Kind::Walked(w) => match &w.object {
                Some(o) => Ok((libc::AT_FDCWD, fd_path(o.as_raw_fd()))),
                None => Err(Errno::ENOENT),
            },
        }
    }

    /// An `O_PATH` descriptor of the object (above descriptor `min_fd`), for
    /// `fstatfs`, `fchdir` and the like.
    pub fn object_fd(&self, min_fd: i32) -> Result<Fd<'_>, Errno> {
        match &self.kind {
            Kind::Host { dirfd, path } => {
                let mut flags = libc::O_PATH | libc::O_CLOEXEC;
                if self.lookup != Lookup::Follow {
                    flags |= libc::O_NOFOLLOW;
                }
                // SAFETY: a valid C string.
                let fd = unsafe { libc::openat(*dirfd, path.as_ptr(), flags) };
                if fd < 0 {
                    return Err(Errno::last());
                }
                Ok(Fd::Own(above(fd, min_fd)?))
            }
            Kind::Walked(w) => w
                .object
                .as_ref()
                .map(|o| Fd::Tree(o.as_fd()))
                .ok_or(Errno::ENOENT),
        }
    }

    /// Opens the object with `flags` (`O_RDONLY`...) as a new descriptor (the
    /// lowest free number, like `open`): the object the walk reached, never what its
    /// name leads to by then (checked by device and inode).
    pub fn reopen(&self, flags: i32) -> Result<OwnedFd, Errno> {
        let (dir, name): (RawFd, &CStr) = match &self.kind {
            Kind::Host { dirfd, path } => (*dirfd, path),
            Kind::Walked(w) => match (&w.object, &w.entry) {
                (Some(_), Some((d, n))) => (d.as_raw_fd(), n),
                (Some(o), None) => (o.as_raw_fd(), c"."),
                (None, _) => return Err(Errno::ENOENT),
            },
        };
        let extra = if self.walked() { libc::O_NOFOLLOW } else { 0 };
        // SAFETY: a valid C string.
        let fd = unsafe { libc::openat(dir, name.as_ptr(), flags | extra | libc::O_CLOEXEC) };
        if fd < 0 {
            return Err(Errno::last());
        }
        // SAFETY: the new descriptor is ours.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        if let Kind::Walked(Walk {
            object: Some(o), ..
        }) = &self.kind
        {
            if !same_file(fd.as_raw_fd(), o.as_raw_fd()) {
                // Replaced since the walk: the object is no longer at that name.
                return Err(Errno::ENOENT);
            }
        }
        Ok(fd)
    }
}

/// Whether two descriptors refer to the same file (device and inode).
pub fn same_file(a: RawFd, b: RawFd) -> bool {
    // SAFETY: local structs.
    let (mut x, mut y): (libc::stat, libc::stat) = unsafe { std::mem::zeroed() };
    // SAFETY: fstat into the locals.
    unsafe {
        libc::fstat(a, &mut x) == 0
            && libc::fstat(b, &mut y) == 0
            && x.st_dev == y.st_dev
            && x.st_ino == y.st_ino
    }
}

/// A new descriptor and the guest path it was reached by (see
/// [`super::locate::open`]).
pub type Opened = (i32, Option<Vec<u8>>);
