//! Paths: opening, inspecting and changing files and directories.
//!
//! Every path goes through [`crate::fs::locate`], which under `--root` walks it with
//! the confined resolver and hands back descriptors: each call below is made on the
//! object's descriptor or on the last name relative to its directory's descriptor,
//! never on a host path that the host would resolve again. A few `/proc/self`
//! entries describe the *guest* process and are answered here: `exe` (the guest
//! program, not the emulator), `maps` (the guest's areas), `cwd` and `fd/N` under
//! `--root` (guest paths, never host ones).

use std::ffi::CString;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::sync::Arc;

use crate::errno::{host, Errno, SysResult};
use crate::fs::locate::{locate_object, Located};
use crate::fs::resolve::{Last, Lookup};
use crate::fs::{FdInfo, FdKind};
use crate::syscalls::io::{fd_arg, new_fd};
use crate::syscalls::path_args::{
    current_dir, dirfd_arg, dirfd_for, guest_abs, object_at, path_at,
};
use crate::syscalls::proc_self::{exe_located, magic, memfd_with, Magic};
use crate::task::Task;

/// `AT_SYMLINK_NOFOLLOW`.
const AT_SYMLINK_NOFOLLOW: u64 = 0x100;
/// `AT_EMPTY_PATH`.
const AT_EMPTY_PATH: u64 = 0x1000;
/// `AT_REMOVEDIR`.
const AT_REMOVEDIR: u64 = 0x200;
/// `AT_SYMLINK_FOLLOW`.
const AT_SYMLINK_FOLLOW: u64 = 0x400;
/// `AT_EACCESS`.
const AT_EACCESS: u64 = 0x200;
/// `AT_NO_AUTOMOUNT`.
const AT_NO_AUTOMOUNT: u64 = 0x800;
/// `AT_STATX_SYNC_TYPE`: `AT_STATX_FORCE_SYNC` and `AT_STATX_DONT_SYNC`.
const AT_STATX_SYNC_TYPE: u64 = 0x6000;
/// The flags `newfstatat` and `statx` accept (fs/stat.c `vfs_statx`); others are
/// `EINVAL` before the lookup.
const STAT_FLAGS: u64 = AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH | AT_STATX_SYNC_TYPE;

/// `Follow` or `NoFollow` as `AT_SYMLINK_NOFOLLOW` in `flags` says.
fn follow_unless(flags: u64) -> Lookup {
    if flags & AT_SYMLINK_NOFOLLOW != 0 {
        Lookup::NoFollow
    } else {
        Lookup::Follow
    }
}

/// `openat`.
pub fn openat(t: &mut Task, a: [u64; 6]) -> SysResult {
    let flags = a[2] as i32;
    let mode = (a[3] as u32) & !(t.proc.umask.load(std::sync::atomic::Ordering::Relaxed) as u32);
    let raw = t.proc.read_path(a[1])?;
    let proc = Arc::clone(&t.proc);
    if let Some(m) = magic(t, a[0], &raw) {
        let fd = match m {
            Magic::Exe => exe_located(&proc)?
                .reopen(flags & !(libc::O_CREAT | libc::O_CLOEXEC))
                .map(|fd| {
                    if flags & libc::O_CLOEXEC == 0 {
                        // SAFETY: clearing FD_CLOEXEC on our own new descriptor.
                        unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, 0) };
                    }
                    std::os::fd::IntoRawFd::into_raw_fd(fd)
                })?,
            Magic::Maps => {
                let text = t.proc.mm().maps_text();
                let fd = memfd_with(text.as_bytes())?;
                if flags & libc::O_CLOEXEC == 0 {
                    // SAFETY: clearing FD_CLOEXEC on our own new descriptor.
                    unsafe { libc::fcntl(fd, libc::F_SETFD, 0) };
                }
                fd
            }
            _ => return Err(Errno::ENOENT),
        };
        return new_fd(
            t,
            i64::from(fd),
            FdInfo {
                kind: FdKind::File,
                path: Some(String::from_utf8_lossy(&raw).into_owned()),
                flags,
            },
        );
    }
    let d = dirfd_for(t, a[0], &raw)?;
    let (fd, walked) = crate::fs::locate::open(proc.paths(), d, &raw, flags, mode)?;
    let is_dir = flags & libc::O_DIRECTORY != 0 || {
        // SAFETY: `libc::stat` is plain data, for which all zero bytes are valid.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: `st` is a local; fstat of our new descriptor.
        (unsafe { libc::fstat(fd, &mut st) } == 0) && st.st_mode & libc::S_IFMT == libc::S_IFDIR
    };
    let gpath = match walked {
        Some(g) => String::from_utf8(g).ok(),
        None => guest_abs(t, d, &raw),
    };
    new_fd(
        t,
        i64::from(fd),
        FdInfo {
            kind: if is_dir { FdKind::Dir } else { FdKind::File },
            path: gpath,
            flags,
        },
    )
}

/// Converts a host `struct stat` to the riscv64 (asm-generic) layout, 128 bytes.
pub fn stat_bytes(st: &libc::stat) -> [u8; 128] {
    let mut b = [0u8; 128];
    let mut put = |off: usize, v: &[u8]| b[off..off + v.len()].copy_from_slice(v);
    put(0, &st.st_dev.to_le_bytes());
    put(8, &st.st_ino.to_le_bytes());
    put(16, &st.st_mode.to_le_bytes());
    put(20, &(st.st_nlink as u32).to_le_bytes());
    put(24, &st.st_uid.to_le_bytes());
    put(28, &st.st_gid.to_le_bytes());
    put(32, &st.st_rdev.to_le_bytes());
    put(48, &st.st_size.to_le_bytes());
    put(56, &(st.st_blksize as i32).to_le_bytes());
    put(64, &st.st_blocks.to_le_bytes());
    put(72, &st.st_atime.to_le_bytes());
    put(80, &(st.st_atime_nsec as u64).to_le_bytes());
    put(88, &st.st_mtime.to_le_bytes());
    put(96, &(st.st_mtime_nsec as u64).to_le_bytes());
    put(104, &st.st_ctime.to_le_bytes());
    put(112, &(st.st_ctime_nsec as u64).to_le_bytes());
    b
}

/// `fstat`.
pub fn fstat(t: &mut Task, a: [u64; 6]) -> SysResult {
    let fd = fd_arg(t, a[0])?;
    // SAFETY: `st` is a local.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fstat writes into the local `st`; an invalid fd just fails.
    host(unsafe { libc::fstat(fd, &mut st) as i64 })?;
    t.proc.write_mem(a[1], &stat_bytes(&st))?;
    Ok(0)
}

/// `newfstatat`.
pub fn newfstatat(t: &mut Task, a: [u64; 6]) -> SysResult {
    let flags = a[3];
    // SAFETY: `st` is a local.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    let raw = t.proc.read_path(a[1])?;
    if flags & !STAT_FLAGS != 0 {
        return Err(Errno::EINVAL);
    }
    let proc = Arc::clone(&t.proc);
    if raw.is_empty() && flags & AT_EMPTY_PATH != 0 {
        let fd = dirfd_arg(t, a[0])?;
        // SAFETY: as above.
        host(unsafe { libc::fstat(fd, &mut st) as i64 })?;
    } else {
        let loc = match magic(t, a[0], &raw) {
            Some(Magic::Exe) => exe_located(&proc)?,
            _ => locate_object(
                proc.paths(),
                dirfd_for(t, a[0], &raw)?,
                &raw,
                follow_unless(flags),
            )?,
        };
        let (d, p, extra) = loc.inspect()?;
        let fl = (flags & AT_SYMLINK_NOFOLLOW) as i32 | extra;
        // SAFETY: valid C string, local struct.
        host(unsafe { libc::fstatat(d, p.as_ptr(), &mut st, fl) as i64 })?;
    }
    t.proc.write_mem(a[2], &stat_bytes(&st))?;
    Ok(0)
}

/// `statx` (`struct statx` is architecture independent).
pub fn statx(t: &mut Task, a: [u64; 6]) -> SysResult {
    let flags = a[2] as i32;
    let mut buf = [0u8; 256];
    let raw = t.proc.read_path(a[1])?;
    if a[2] & !STAT_FLAGS != 0 {
        return Err(Errno::EINVAL);
    }
    let proc = Arc::clone(&t.proc);
    let r = if raw.is_empty() && a[2] & AT_EMPTY_PATH != 0 {
        let fd = dirfd_arg(t, a[0])?;
        // SAFETY: empty C string, local buffer.
        unsafe {
            libc::syscall(
                libc::SYS_statx,
                fd,
                c"".as_ptr(),
                flags,
                a[3] as u32,
                buf.as_mut_ptr(),
            )
        }
    } else {
        let loc = locate_object(
            proc.paths(),
            dirfd_for(t, a[0], &raw)?,
            &raw,
            follow_unless(a[2]),
        )?;
        let (d, p, extra) = loc.inspect()?;
        // SAFETY: valid C string, local buffer.
        unsafe {
            libc::syscall(
                libc::SYS_statx,
                d,
                p.as_ptr(),
                flags | extra,
                a[3] as u32,
                buf.as_mut_ptr(),
            )
        }
    };
    host(r)?;
    t.proc.write_mem(a[4], &buf)?;
    Ok(0)
}

/// `readlinkat` (a size of 0 or less is `EINVAL` before the path is read).
pub fn readlinkat(t: &mut Task, a: [u64; 6]) -> SysResult {
    let bufsz = a[3] as i32 as i64;
    if bufsz <= 0 {
        return Err(Errno::EINVAL);
    }
    let raw = t.proc.read_path(a[1])?;
    let target: Vec<u8> = match magic(t, a[0], &raw) {
        Some(Magic::Exe) => t
            .proc
            .exe
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .into_bytes(),
        Some(Magic::Cwd) => t.proc.cwd().into_bytes(),
        Some(Magic::Fd(n)) => {
            let files = t.proc.files();
            match files.get(n) {
                Some(FdInfo { path: Some(p), .. }) => p.clone().into_bytes(),
                Some(_) => {
                    drop(files);
                    host_readlink(&format!("/proc/self/fd/{n}"))?
                }
                None => return Err(Errno::ENOENT),
            }
        }
        _ => {
            let proc = Arc::clone(&t.proc);
            let loc = object_at(t, &proc, a[0], a[1], Lookup::NoFollow)?;
            let (d, p, extra) = loc.inspect()?;
            if extra & libc::AT_EMPTY_PATH != 0 {
                // The object itself: only a link has a text to read.
                // SAFETY: a local struct; fstat of our descriptor.
                let mut st: libc::stat = unsafe { std::mem::zeroed() };
                // SAFETY: `st` is a local struct the call fills.
                host(unsafe { libc::fstat(d, &mut st) as i64 })?;
                if st.st_mode & libc::S_IFMT != libc::S_IFLNK {
                    return Err(Errno::EINVAL);
                }
            }
            let mut buf = vec![0u8; 4096];
            // SAFETY: valid C string, local buffer.
            let n = host(unsafe {
                libc::readlinkat(d, p.as_ptr(), buf.as_mut_ptr().cast(), 4096) as i64
            })?;
            buf.truncate(n as usize);
            buf
        }
    };
    let n = target.len().min(bufsz as usize);
    t.proc.write_mem(a[2], &target[..n])?;
    Ok(n as u64)
}

fn host_readlink(p: &str) -> Result<Vec<u8>, Errno> {
    Ok(std::fs::read_link(p)?.as_os_str().as_bytes().to_vec())
}

/// `faccessat` / `faccessat2` (the mode and flags are checked before the path, as
/// in fs/open.c).
pub fn faccessat(t: &mut Task, a: [u64; 6]) -> SysResult {
    if a[2] & !0o7 != 0 || a[3] & !(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let raw = t.proc.read_path(a[1])?;
    if let Some(Magic::Exe) = magic(t, a[0], &raw) {
        return Ok(0);
    }
    let proc = Arc::clone(&t.proc);
    let loc = locate_object(
        proc.paths(),
        dirfd_for(t, a[0], &raw)?,
        &raw,
        follow_unless(a[3]),
    )?;
    let (d, p, extra) = loc.inspect()?;
    // SAFETY: valid C string, integer arguments.
    host(unsafe {
        libc::syscall(
            libc::SYS_faccessat2,
            d,
            p.as_ptr(),
            a[2] as i32,
            a[3] as i32 | extra,
        )
    })
}

/// `mkdirat`.
pub fn mkdirat(t: &mut Task, a: [u64; 6]) -> SysResult {
    let proc = Arc::clone(&t.proc);
    let (loc, _) = path_at(t, &proc, a[0], a[1], Lookup::Parent)?;
    let (d, n) = loc.entry(|_| Errno::EEXIST)?;
    // SAFETY: valid C string.
    host(unsafe { libc::mkdirat(d, n.as_ptr(), a[2] as u32) as i64 })
}

/// A name given with a trailing `/` that is not a directory: `ENOTDIR` (Linux's
/// answer for calls that create or remove such a name, unless it exists as a
/// directory).
fn slash_needs_dir(loc: &Located<'_>) -> Result<(), Errno> {
    if !loc.dir_only() {
        return Ok(());
    }
    let (d, n) = loc.entry(|_| Errno::EISDIR)?;
    // SAFETY: a local struct and a valid C string.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is local and `n` a valid C string.
    if unsafe { libc::fstatat(d, n.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) } == 0
        && st.st_mode & libc::S_IFMT != libc::S_IFDIR
    {
        return Err(Errno::ENOTDIR);
    }
    Ok(())
}

/// `mknodat` (FIFOs and regular files only; devices need privileges anyway).
pub fn mknodat(t: &mut Task, a: [u64; 6]) -> SysResult {
    let proc = Arc::clone(&t.proc);
    let (loc, _) = path_at(t, &proc, a[0], a[1], Lookup::Parent)?;
    let (d, n) = loc.entry(|_| Errno::EEXIST)?;
    // SAFETY: valid C string.
    host(unsafe { libc::mknodat(d, n.as_ptr(), a[2] as u32, a[3]) as i64 })
}

/// `unlinkat` (flags other than `AT_REMOVEDIR` are `EINVAL` before the path).
pub fn unlinkat(t: &mut Task, a: [u64; 6]) -> SysResult {
    if a[2] & !AT_REMOVEDIR != 0 {
        return Err(Errno::EINVAL);
    }
    let proc = Arc::clone(&t.proc);
    let rmdir = a[2] & AT_REMOVEDIR != 0;
    let (loc, _) = path_at(t, &proc, a[0], a[1], Lookup::Parent)?;
    let (d, n) = loc.entry(|last| match (rmdir, last) {
        (false, _) => Errno::EISDIR,
        (true, Last::Dot) => Errno::EINVAL,
        (true, Last::DotDot) => Errno(libc::ENOTEMPTY),
        (true, _) => Errno(libc::EBUSY),
    })?;
    if !rmdir {
        slash_needs_dir(&loc)?;
    }
    // SAFETY: valid C string.
    host(unsafe { libc::unlinkat(d, n.as_ptr(), (a[2] & AT_REMOVEDIR) as i32) as i64 })
}

/// `renameat2`.
pub fn renameat2(t: &mut Task, a: [u64; 6]) -> SysResult {
    let proc = Arc::clone(&t.proc);
    let (from, _) = path_at(t, &proc, a[0], a[1], Lookup::Parent)?;
    let (to, _) = path_at(t, &proc, a[2], a[3], Lookup::Parent)?;
    let (fd, fname) = from.entry(|_| Errno(libc::EBUSY))?;
    let (td, tname) = to.entry(|_| Errno(libc::EBUSY))?;
    if from.dir_only() || to.dir_only() {
        // Either name with a trailing slash: the source must be a directory.
        // SAFETY: a local struct and a valid C string.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: `st` is local and `fname` a valid C string.
        host(unsafe {
            libc::fstatat(fd, fname.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) as i64
        })?;
        if st.st_mode & libc::S_IFMT != libc::S_IFDIR {
            return Err(Errno::ENOTDIR);
        }
    }
    // SAFETY: valid C strings.
    host(unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            fd,
            fname.as_ptr(),
            td,
            tname.as_ptr(),
            a[4] as u32,
        )
    })
}

/// `linkat`.
pub fn linkat(t: &mut Task, a: [u64; 6]) -> SysResult {
    // fs/namei.c do_linkat: flags other than these are EINVAL before any path.
    if a[4] & !(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let proc = Arc::clone(&t.proc);
    let follow = a[4] & AT_SYMLINK_FOLLOW != 0;
    let lookup = if follow {
        Lookup::Follow
    } else {
        Lookup::Parent
    };
    let (from, _) = if follow {
        (object_at(t, &proc, a[0], a[1], lookup)?, Vec::new())
    } else {
        path_at(t, &proc, a[0], a[1], lookup)?
    };
    let (to, _) = path_at(t, &proc, a[2], a[3], Lookup::Parent)?;
    // Following: the host follows /proc/thread-self/fd/N to exactly the object the
    // walk reached; otherwise the name itself, never followed.
    let (fd, fname, flags) = if follow {
        let (d, p) = from.object_path()?;
        (d, p, libc::AT_SYMLINK_FOLLOW)
    } else {
        let (d, n) = from.entry(|_| Errno::EPERM)?;
        (d, n.to_owned(), 0)
    };
    let (td, tname) = to.entry(|_| Errno::EEXIST)?;
    // SAFETY: valid C strings.
    host(unsafe { libc::linkat(fd, fname.as_ptr(), td, tname.as_ptr(), flags) as i64 })
}

/// `symlinkat`: the target is stored as given (it is interpreted in the guest's view
/// when followed).
pub fn symlinkat(t: &mut Task, a: [u64; 6]) -> SysResult {
    let target = t.proc.read_path(a[0])?;
    let c = CString::new(target).map_err(|_| Errno::EINVAL)?;
    let proc = Arc::clone(&t.proc);
    let (loc, _) = path_at(t, &proc, a[1], a[2], Lookup::Parent)?;
    let (d, n) = loc.entry(|_| Errno::EEXIST)?;
    // SAFETY: valid C strings.
    host(unsafe { libc::symlinkat(c.as_ptr(), d, n.as_ptr()) as i64 })
}

/// `fchmodat` (the object itself: `chmod` has no `AT_EMPTY_PATH` before Linux 6.6).
pub fn fchmodat(t: &mut Task, a: [u64; 6]) -> SysResult {
    let proc = Arc::clone(&t.proc);
    let loc = object_at(t, &proc, a[0], a[1], Lookup::Follow)?;
    let (d, p) = loc.object_path()?;
    // SAFETY: valid C string.
    host(unsafe { libc::fchmodat(d, p.as_ptr(), a[2] as u32, 0) as i64 })
}

/// `fchownat`.
pub fn fchownat(t: &mut Task, a: [u64; 6]) -> SysResult {
    let raw = t.proc.read_path(a[1])?;
    if raw.is_empty() && a[4] & AT_EMPTY_PATH != 0 {
        let fd = dirfd_arg(t, a[0])?;
        // SAFETY: integer arguments.
        return host(unsafe { libc::fchown(fd, a[2] as u32, a[3] as u32) as i64 });
    }
    let proc = Arc::clone(&t.proc);
    let loc = locate_object(
        proc.paths(),
        dirfd_for(t, a[0], &raw)?,
        &raw,
        follow_unless(a[4]),
    )?;
    let (d, p, extra) = loc.inspect()?;
    // SAFETY: valid C string.
    host(unsafe {
        libc::fchownat(
            d,
            p.as_ptr(),
            a[2] as u32,
            a[3] as u32,
            (a[4] & AT_SYMLINK_NOFOLLOW) as i32 | extra,
        ) as i64
    })
}

/// `utimensat`.
pub fn utimensat(t: &mut Task, a: [u64; 6]) -> SysResult {
    let times = if a[2] == 0 {
        None
    } else {
        Some(t.proc.read_mem(a[2], 32)?)
    };
    let tp = times.as_ref().map_or(std::ptr::null(), |b| b.as_ptr());
    if a[1] == 0 {
        let fd = dirfd_arg(t, a[0])?;
        // SAFETY: null path is futimens; the times buffer is 32 bytes (two timespecs).
        return host(unsafe { libc::syscall(libc::SYS_utimensat, fd, 0usize, tp, a[3] as i32) });
    }
    let proc = Arc::clone(&t.proc);
    let (loc, _) = path_at(t, &proc, a[0], a[1], follow_unless(a[3]))?;
    let nofollow = (a[3] & AT_SYMLINK_NOFOLLOW) as i32;
    // The object's descriptor through /proc/thread-self/fd/N (utimensat takes
    // AT_EMPTY_PATH only on recent kernels), or the name not followed.
    let (d, p, fl) = match loc.inspect()? {
        (o, _, libc::AT_EMPTY_PATH) => (libc::AT_FDCWD, crate::fs::locate::fd_path(o), 0),
        (d, p, extra) => (d, p.to_owned(), nofollow | extra),
    };
    // SAFETY: valid C string, 32-byte times buffer.
    host(unsafe { libc::syscall(libc::SYS_utimensat, d, p.as_ptr(), tp, fl) })
}

/// `truncate`.
pub fn truncate(t: &mut Task, a: [u64; 6]) -> SysResult {
    let proc = Arc::clone(&t.proc);
    let loc = object_at(t, &proc, libc::AT_FDCWD as u64, a[0], Lookup::Follow)?;
    let (_, p) = loc.object_path()?;
    // SAFETY: valid C string (absolute, or relative to the cwd when paths are the
    // host's).
    host(unsafe { libc::truncate(p.as_ptr(), a[1] as i64) as i64 })
}

/// `statfs` (`struct statfs` is the same 120 bytes on riscv64 and x86-64).
pub fn statfs(t: &mut Task, a: [u64; 6]) -> SysResult {
    let proc = Arc::clone(&t.proc);
    let loc = object_at(t, &proc, libc::AT_FDCWD as u64, a[0], Lookup::Follow)?;
    let obj = loc.object_fd(proc.anchors.min_fd())?;
    let mut b = [0u8; 120];
    // SAFETY: 120-byte buffer is sizeof(struct statfs); fstatfs works on O_PATH.
    host(unsafe { libc::syscall(libc::SYS_fstatfs, obj.as_raw_fd(), b.as_mut_ptr()) })?;
    t.proc.write_mem(a[1], &b)?;
    Ok(0)
}

/// `fstatfs`.
pub fn fstatfs(t: &mut Task, a: [u64; 6]) -> SysResult {
    let fd = fd_arg(t, a[0])?;
    let mut b = [0u8; 120];
    // SAFETY: 120-byte buffer.
    host(unsafe { libc::syscall(libc::SYS_fstatfs, fd, b.as_mut_ptr()) })?;
    t.proc.write_mem(a[1], &b)?;
    Ok(0)
}

/// `getcwd`.
pub fn getcwd(t: &mut Task, a: [u64; 6]) -> SysResult {
    let mut cwd = current_dir(t).into_bytes();
    cwd.push(0);
    if cwd.len() as u64 > a[1] {
        return Err(Errno::ERANGE);
    }
    t.proc.write_mem(a[0], &cwd)?;
    Ok(cwd.len() as u64)
}

/// `chdir`: `fchdir` on the directory's descriptor (the host process moves too,
/// so that its working directory is always inside the view).
pub fn chdir(t: &mut Task, a: [u64; 6]) -> SysResult {
    let proc = Arc::clone(&t.proc);
    let loc = object_at(t, &proc, libc::AT_FDCWD as u64, a[0], Lookup::Follow)?;
    crate::fs::locate::change_dir(proc.paths(), &loc)?;
    Ok(0)
}

/// `fchdir`.
pub fn fchdir(t: &mut Task, a: [u64; 6]) -> SysResult {
    let fd = fd_arg(t, a[0])?;
    if t.proc.opts.view.confined() {
        let proc = Arc::clone(&t.proc);
        crate::fs::locate::change_dir_fd(proc.paths(), fd)?;
        return Ok(0);
    }
    // SAFETY: integer argument.
    host(unsafe { libc::fchdir(fd) as i64 })
}
