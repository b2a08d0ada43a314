//! The host calls the resolver ([`super::resolve`]) and the lookup
//! ([`super::locate`]) make, each returning a descriptor of the emulator's own:
//! moved at or above the guest's descriptor limit, where the program cannot name,
//! close or replace it.

use std::ffi::{CStr, CString};
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::errno::Errno;

/// Longest path (and link text) Linux accepts, with its NUL (`PATH_MAX`).
pub const PATH_MAX: usize = 4096;

/// Moves a fresh descriptor at or above `min_fd`, closing the original.
pub fn above(fd: RawFd, min_fd: i32) -> Result<OwnedFd, Errno> {
    // SAFETY: `fd` is a descriptor we just opened; the copy is ours too.
    unsafe {
        let high = libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, min_fd);
        let e = Errno::last();
        libc::close(fd);
        if high < 0 {
            // No room above the guest's descriptors is a lack of descriptors.
            return Err(if e == Errno::EINVAL { Errno::EMFILE } else { e });
        }
        Ok(OwnedFd::from_raw_fd(high))
    }
}

/// `openat(dir, name, flags | O_CLOEXEC)`, moved above the guest's descriptors.
pub(crate) fn open_at(dir: RawFd, name: &[u8], flags: i32, min_fd: i32) -> Result<OwnedFd, Errno> {
    let c = CString::new(name).map_err(|_| Errno::EINVAL)?;
    // SAFETY: a valid C string; the result is ours.
    let fd = unsafe { libc::openat(dir, c.as_ptr(), flags | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(Errno::last());
    }
    above(fd, min_fd)
}

/// Whether the host has `openat2` (Linux 5.6); cleared at the first `ENOSYS`.
static OPENAT2: AtomicBool = AtomicBool::new(true);

/// Opens the directory `names` (plain names: no `.`, `..`, `/` or empty ones) below
/// `dir` in one host call, moved above the guest's descriptors: `openat2` with
/// `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS`, so the kernel follows no link and stays
/// below `dir`: exactly the directories a walk one name at a time would open.
/// Any error (a link on the way included) leaves it to that walk.
pub(crate) fn open_beneath(dir: RawFd, names: &[&[u8]], min_fd: i32) -> Result<OwnedFd, Errno> {
    let c = CString::new(names.join(&b'/')).map_err(|_| Errno::EINVAL)?;
    let fd = openat2_beneath(
        dir,
        &c,
        libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
        0,
    )?;
    above(fd, min_fd)
}

/// `openat2(start, path, flags, mode)` with `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
/// RESOLVE_NO_MAGICLINKS`: the kernel follows no link and stays below `start`. The
/// descriptor is the lowest free one. `ENOSYS` once the host was found to lack
/// `openat2`.
pub(crate) fn openat2_beneath(
    start: RawFd,
    path: &CStr,
    flags: i32,
    mode: u32,
) -> Result<RawFd, Errno> {
    if !OPENAT2.load(Ordering::Relaxed) {
        return Err(Errno::ENOSYS);
    }
    let creates = flags & libc::O_CREAT != 0 || flags & libc::O_TMPFILE == libc::O_TMPFILE;
    // SAFETY: open_how is plain data.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = flags as u32 as u64;
    how.mode = if creates { u64::from(mode & 0o7777) } else { 0 };
    how.resolve = libc::RESOLVE_BENEATH | libc::RESOLVE_NO_SYMLINKS | libc::RESOLVE_NO_MAGICLINKS;
    // SAFETY: a valid C string and a local open_how of the size passed.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            start,
            path.as_ptr(),
            &how as *const libc::open_how,
            std::mem::size_of::<libc::open_how>(),
        )
    };
    if fd < 0 {
        let e = Errno::last();
        if e == Errno::ENOSYS {
            OPENAT2.store(false, Ordering::Relaxed);
        }
        return Err(e);
    }
    Ok(fd as RawFd)
}

/// The text of a symbolic link (`name` in `dir`, or `dir` itself for an empty name).
pub(crate) fn read_link(dir: RawFd, name: &[u8]) -> Result<Vec<u8>, Errno> {
    let c = CString::new(name).map_err(|_| Errno::EINVAL)?;
    let mut buf = vec![0u8; PATH_MAX];
    // SAFETY: a valid C string and a buffer of the length passed.
    let n = unsafe { libc::readlinkat(dir, c.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        return Err(Errno::last());
    }
    let n = n as usize;
    if n >= PATH_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    buf.truncate(n);
    Ok(buf)
}

/// `fstat` of a descriptor's file type bits.
pub(crate) fn file_type(fd: RawFd) -> Result<u32, Errno> {
    // SAFETY: a local struct.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fstat into the local.
    if unsafe { libc::fstat(fd, &mut st) } != 0 {
        return Err(Errno::last());
    }
    Ok(st.st_mode & libc::S_IFMT)
}
