//! Locating a guest path for a host call: the one entry point of every system call
//! that takes a path (files, `*at` calls, truncate, statfs, the working directory,
//! exec, the interpreter, Unix-socket names).
//!
//! - Under `--root`, every path is walked by the resolver ([`super::resolve`]):
//!   absolute ones from the root, relative ones from the program's working
//!   directory or directory descriptor (held as a descriptor for the walk; `..`
//!   beyond it follows its guest path back towards the root).
//! - Without `--root`, paths are the host's (as under `qemu-riscv64`), except that
//!   an absolute path found in `--sysroot` is taken from there (walked inside the
//!   sysroot, so that its links cannot lead out of it) and an absolute path under a
//!   `--bind` is walked with the binds.
//!
//! The result names the object by descriptor: [`Located::inspect`] for `*at` calls
//! with `AT_EMPTY_PATH`, [`Located::entry`] for calls on the last name that do not
//! follow it, [`Located::object_path`] (`/proc/thread-self/fd/N`, which the host
//! follows to exactly that object) for calls that have neither.

use std::ffi::{CStr, CString};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};

use crate::errno::Errno;
pub use crate::fs::plain::locate_object;
use crate::fs::resolve::{above, walk, Fd, Last, Lookup, Start, Walk, PATH_MAX};
use crate::fs::FdKind;
use crate::process::Process;

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

/// Whether `(dir, name)` exists (not following a last link).
fn exists(dir: RawFd, name: &CStr) -> bool {
    // SAFETY: a local struct.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: a valid C string and the local.
    unsafe { libc::fstatat(dir, name.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) == 0 }
}

/// The host path a descriptor of ours refers to (`/proc/thread-self/fd/N`), unless
/// its file was removed.
fn host_path_of(fd: RawFd) -> Option<std::path::PathBuf> {
    let p = std::fs::read_link(format!("/proc/thread-self/fd/{fd}")).ok()?;
    if p.as_os_str().as_encoded_bytes().ends_with(b" (deleted)") {
        return None;
    }
    Some(p)
}

/// Where a relative path under `--root` starts: the working directory or a
/// directory descriptor the program opened through the resolver (duplicated for
/// the walk, with its recorded guest path), or, for a descriptor of other origin
/// (inherited), the guest path of the directory it refers to, walked from the root.
enum Base {
    Start(Start),
    Path(Vec<u8>),
}

fn start_of(proc: &Process, dirfd: i32) -> Result<Base, Errno> {
    let min_fd = proc.anchors.min_fd();
    if dirfd == libc::AT_FDCWD {
        let cwd = proc.cwd.lock().unwrap_or_else(|e| e.into_inner());
        // SAFETY: a constant C string.
        let fd = unsafe {
            libc::open(
                c".".as_ptr(),
                libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(Errno::last());
        }
        return Ok(Base::Start(Start {
            fd: above(fd, min_fd)?,
            guest: cwd.clone().into_bytes(),
            is_dir: true,
        }));
    }
    {
        // The table stays locked while the descriptor is duplicated, so that what
        // it records about the number is what is duplicated.
        let files = proc.files();
        if let Some(info) = files.get(dirfd) {
            if let (Some(p), FdKind::File | FdKind::Dir) = (&info.path, info.kind) {
                // SAFETY: duplicating a guest descriptor above the guest's range.
                let fd = unsafe { libc::fcntl(dirfd, libc::F_DUPFD_CLOEXEC, min_fd) };
                if fd < 0 {
                    return Err(Errno::last());
                }
                return Ok(Base::Start(Start {
                    // SAFETY: the duplicate is ours.
                    fd: unsafe { OwnedFd::from_raw_fd(fd) },
                    guest: p.clone().into_bytes(),
                    is_dir: info.kind == FdKind::Dir,
                }));
            }
        }
    }
    // SAFETY: a local struct; fstat of a number that may not be open just fails.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is a local struct the call fills; a closed number just fails.
    if unsafe { libc::fstat(dirfd, &mut st) } != 0 {
        return Err(Errno::EBADF);
    }
    if st.st_mode & libc::S_IFMT != libc::S_IFDIR {
        return Err(Errno::ENOTDIR);
    }
    match host_path_of(dirfd).and_then(|h| proc.opts.view.guest_of(&h)) {
        Some(g) => Ok(Base::Path(g.into_bytes())),
        // A directory outside the view, inherited from whoever started tern.
        None => Err(Errno::EBADF),
    }
}

/// Locates `path` (relative to guest descriptor `dirfd` or `AT_FDCWD`) for a host
/// call that does `lookup` with its last component.
pub fn locate<'t>(
    proc: &'t Process,
    dirfd: i32,
    path: &[u8],
    lookup: Lookup,
) -> Result<Located<'t>, Errno> {
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    if path.len() >= PATH_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    let anchors = &proc.anchors;
    let walked = |w: Walk<'t>| Located {
        kind: Kind::Walked(w),
        lookup,
    };
    if anchors.confined() {
        let tree = anchors.tree().ok_or(Errno::EBADF)?;
        if path[0] == b'/' {
            return walk(tree, None, path, lookup).map(walked);
        }
        return match start_of(proc, dirfd)? {
            Base::Start(s) => walk(tree, Some(s), path, lookup).map(walked),
            Base::Path(mut base) => {
                base.push(b'/');
                base.extend_from_slice(path);
                if base.len() >= PATH_MAX {
                    return Err(Errno::ENAMETOOLONG);
                }
                walk(tree, None, &base, lookup).map(walked)
            }
        };
    }
    if path[0] == b'/' {
        if let Some(sys) = anchors.sysroot() {
            if let Ok(w) = walk(sys, None, path, lookup) {
                let found = w.object.is_some()
                    || w.entry
                        .as_ref()
                        .is_some_and(|(d, n)| lookup != Lookup::Follow && exists(d.as_raw_fd(), n));
                if found {
                    return Ok(walked(w));
                }
            }
        }
        if let (true, Some(tree)) = (anchors.has_binds(), anchors.tree()) {
            let lexical = std::str::from_utf8(path)
                .map(crate::fs::view::normalize)
                .unwrap_or_default();
            if proc.opts.view.bound(&lexical) {
                return walk(tree, None, path, lookup).map(walked);
            }
        }
    }
    Located::host(dirfd, path, lookup)
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

/// How many times an open is walked again when a guest thread turned the name the
/// walk reached into a symbolic link before the open.
const OPEN_RETRIES: usize = 8;

/// A new descriptor and the guest path it was reached by (see [`open`]).
pub type Opened = (i32, Option<Vec<u8>>);

/// `openat` of a guest path (relative to guest descriptor `dirfd`): the new
/// descriptor (the lowest free number) and the guest path it was reached by (the
/// walked path; `None` when the host resolved it).
pub fn open(
    proc: &Process,
    dirfd: i32,
    path: &[u8],
    flags: i32,
    mode: u32,
) -> Result<Opened, Errno> {
    let nofollow = flags & libc::O_NOFOLLOW != 0
        || flags & (libc::O_CREAT | libc::O_EXCL) == (libc::O_CREAT | libc::O_EXCL);
    let lookup = if nofollow {
        Lookup::NoFollow
    } else {
        Lookup::Follow
    };
    if flags & libc::O_CREAT != 0 && path.ends_with(b"/") {
        return Err(Errno::EISDIR);
    }
    if let Some(r) = crate::fs::plain::open_plain(proc, dirfd, path, flags, mode) {
        return r;
    }
    for _ in 0..OPEN_RETRIES {
        let loc = locate(proc, dirfd, path, lookup)?;
        let mut f = flags;
        if loc.dir_only() {
            f |= libc::O_DIRECTORY;
        }
        let named = loc.entry(|_| Errno::EISDIR);
        let object;
        let (dir, name) = match named {
            Ok(x) => x,
            Err(_) => {
                // "/", ".", "..", a bind: the directory itself.
                object = loc.object_fd(proc.anchors.min_fd())?;
                (object.as_raw_fd(), c".")
            }
        };
        // The walk followed every link there was: the host must not follow one
        // that appeared since.
        let extra = if loc.walked() { libc::O_NOFOLLOW } else { 0 };
        // SAFETY: a valid C string; integer arguments.
        let fd = unsafe { libc::openat(dir, name.as_ptr(), f | extra, mode) };
        if fd < 0 {
            let e = Errno::last();
            if e == Errno::ELOOP && extra != 0 && !nofollow {
                continue;
            }
            return Err(e);
        }
        if extra != 0 && !nofollow && f & libc::O_PATH != 0 && is_link(fd) {
            // SAFETY: closing the descriptor just opened.
            unsafe { libc::close(fd) };
            continue;
        }
        return Ok((fd, loc.guest().map(<[u8]>::to_vec)));
    }
    Err(Errno::ELOOP)
}

fn is_link(fd: RawFd) -> bool {
    // SAFETY: a local struct.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fstat into the local.
    unsafe { libc::fstat(fd, &mut st) == 0 && st.st_mode & libc::S_IFMT == libc::S_IFLNK }
}

/// Makes the object of `loc` the process's working directory (host and guest):
/// `fchdir` on its descriptor (which checks it is a searchable directory), the guest
/// path from the walk.
pub fn change_dir(proc: &Process, loc: &Located<'_>) -> Result<(), Errno> {
    let obj = loc.object_fd(proc.anchors.min_fd())?;
    let mut cwd = proc.cwd.lock().unwrap_or_else(|e| e.into_inner());
    crate::fs::root::chdir_fd(obj.as_raw_fd())?;
    if let Some(g) = loc.guest() {
        *cwd = String::from_utf8_lossy(g).into_owned();
    }
    Ok(())
}

/// `fchdir` under `--root`: to the directory of guest descriptor `fd` itself when
/// the program opened it through the resolver (its guest path read back from the
/// host, as it may have moved), else to the guest path of the directory it refers
/// to.
pub fn change_dir_fd(proc: &Process, fd: i32) -> Result<(), Errno> {
    match start_of(proc, fd)? {
        Base::Start(s) => {
            let mut cwd = proc.cwd.lock().unwrap_or_else(|e| e.into_inner());
            crate::fs::root::chdir_fd(s.fd.as_raw_fd())?;
            let now = host_path_of(s.fd.as_raw_fd()).and_then(|h| proc.opts.view.guest_of(&h));
            *cwd = now.unwrap_or_else(|| String::from_utf8_lossy(&s.guest).into_owned());
            Ok(())
        }
        Base::Path(g) => {
            let loc = locate(proc, libc::AT_FDCWD, &g, Lookup::Follow)?;
            change_dir(proc, &loc)
        }
    }
}
