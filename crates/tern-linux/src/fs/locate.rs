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

use std::ffi::CStr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use crate::errno::Errno;
pub use crate::fs::located::{fd_path, same_file, Located, Opened};
use crate::fs::paths::Paths;
use crate::fs::plain::{object_plain, open_plain};
use crate::fs::resolve::{above, walk, Lookup, Start, Walk, PATH_MAX};
use crate::fs::FdKind;

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

fn start_of(paths: Paths<'_>, dirfd: i32) -> Result<Base, Errno> {
    let min_fd = paths.anchors.min_fd();
    if dirfd == libc::AT_FDCWD {
        let cwd = paths.cwd_lock();
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
        let files = paths.files();
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
    match host_path_of(dirfd).and_then(|h| paths.view.guest_of(&h)) {
        Some(g) => Ok(Base::Path(g.into_bytes())),
        // A directory outside the view, inherited from whoever started tern.
        None => Err(Errno::EBADF),
    }
}

/// Locates `path` (relative to guest descriptor `dirfd` or `AT_FDCWD`) for a host
/// call that does `lookup` with its last component.
pub fn locate<'t>(
    paths: Paths<'t>,
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
    let anchors = &paths.anchors;
    // A walk a system-call policy is watching (`guard`) may be refused here, on
    // the very descriptors the call will use.
    let walked = |w: Walk<'t>| {
        crate::fs::guard::check(&w, lookup)?;
        Ok(Located::from_walk(w, lookup))
    };
    if anchors.confined() {
        let tree = anchors.tree().ok_or(Errno::EBADF)?;
        if path[0] == b'/' {
            return walk(tree, None, path, lookup).and_then(walked);
        }
        return match start_of(paths, dirfd)? {
            Base::Start(s) => walk(tree, Some(s), path, lookup).and_then(walked),
            Base::Path(mut base) => {
                base.push(b'/');
                base.extend_from_slice(path);
                if base.len() >= PATH_MAX {
                    return Err(Errno::ENAMETOOLONG);
                }
                walk(tree, None, &base, lookup).and_then(walked)
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
                    return walked(w);
                }
            }
        }
        if let (true, Some(tree)) = (anchors.has_binds(), anchors.tree()) {
            let lexical = std::str::from_utf8(path)
                .map(crate::fs::view::normalize)
                .unwrap_or_default();
            if paths.view.bound(&lexical) {
                return walk(tree, None, path, lookup).and_then(walked);
            }
        }
    }
    if crate::fs::guard::armed() {
        // A policy watches this call: the walk's descriptors, not the host's own
        // resolution at the time of the call (see `guard`).
        let w = crate::fs::guard::host_walk(anchors.min_fd(), dirfd, path, lookup)?;
        return walked(w);
    }
    Located::host(dirfd, path, lookup)
}

/// Like [`locate`], for calls that need only the object ([`Located::inspect`],
/// [`Located::object_path`], [`Located::object_fd`]; never [`Located::entry`] or
/// [`Located::reopen`]): a path of plain names is opened by the kernel in one call
/// ([`super::plain`]); a link anywhere leaves the path to the resolver.
pub fn locate_object<'t>(
    paths: Paths<'t>,
    dirfd: i32,
    path: &[u8],
    lookup: Lookup,
) -> Result<Located<'t>, Errno> {
    match object_plain(paths, dirfd, path, lookup) {
        Some(r) => r,
        None => locate(paths, dirfd, path, lookup),
    }
}

/// How many times an open is walked again when a guest thread turned the name the
/// walk reached into a symbolic link before the open.
const OPEN_RETRIES: usize = 8;

/// `openat` of a guest path (relative to guest descriptor `dirfd`): the new
/// descriptor (the lowest free number) and the guest path it was reached by (the
/// walked path; `None` when the host resolved it).
pub fn open(
    paths: Paths<'_>,
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
    if let Some(r) = open_plain(paths, dirfd, path, flags, mode) {
        return r;
    }
    for _ in 0..OPEN_RETRIES {
        let loc = locate(paths, dirfd, path, lookup)?;
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
                object = loc.object_fd(paths.anchors.min_fd())?;
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
pub fn change_dir(paths: Paths<'_>, loc: &Located<'_>) -> Result<(), Errno> {
    let obj = loc.object_fd(paths.anchors.min_fd())?;
    let mut cwd = paths.cwd_lock();
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
pub fn change_dir_fd(paths: Paths<'_>, fd: i32) -> Result<(), Errno> {
    match start_of(paths, fd)? {
        Base::Start(s) => {
            let mut cwd = paths.cwd_lock();
            crate::fs::root::chdir_fd(s.fd.as_raw_fd())?;
            let now = host_path_of(s.fd.as_raw_fd()).and_then(|h| paths.view.guest_of(&h));
            *cwd = now.unwrap_or_else(|| String::from_utf8_lossy(&s.guest).into_owned());
            Ok(())
        }
        Base::Path(g) => {
            let loc = locate(paths, libc::AT_FDCWD, &g, Lookup::Follow)?;
            change_dir(paths, &loc)
        }
    }
}
