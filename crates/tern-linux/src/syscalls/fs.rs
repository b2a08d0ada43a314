//! Paths: opening, inspecting and changing files and directories.
//!
//! Every path goes through the file view ([`crate::fs::view`]), which confines it
//! under `--root`. A few `/proc/self` entries describe the *guest* process and are
//! answered here: `exe` (the guest program, not the emulator), `maps` (the guest's
//! areas), `cwd` and `fd/N` under `--root` (guest paths, never host ones).

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;

use crate::errno::{host, Errno, SysResult};
use crate::fs::view::{normalize, HostPath};
use crate::fs::{FdInfo, FdKind};
use crate::syscalls::io::{fd_arg, new_fd};
use crate::thread::Thread;

/// `AT_SYMLINK_NOFOLLOW`.
const AT_SYMLINK_NOFOLLOW: u64 = 0x100;
/// `AT_EMPTY_PATH`.
const AT_EMPTY_PATH: u64 = 0x1000;
/// `AT_REMOVEDIR`.
const AT_REMOVEDIR: u64 = 0x200;

/// A path argument resolved for a host call, with the guest's spelling.
pub struct PathArg {
    /// The host side.
    pub host: HostPath,
    /// The guest path as given.
    pub guest: Vec<u8>,
}

/// The dirfd argument: `AT_FDCWD` or a guest descriptor.
fn dirfd_arg(t: &Thread, v: u64) -> Result<i32, Errno> {
    let d = v as i32;
    if d == libc::AT_FDCWD {
        Ok(d)
    } else {
        fd_arg(t, v)
    }
}

/// The absolute guest path that `path` names relative to `dirfd`, lexically.
pub fn guest_abs(t: &Thread, dirfd: i32, path: &[u8]) -> Option<String> {
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
pub fn current_dir(t: &Thread) -> String {
    if t.proc.opts.view.confined() {
        t.proc.cwd()
    } else {
        std::env::current_dir()
            .map(|d| d.display().to_string())
            .unwrap_or_else(|_| "/".into())
    }
}

/// Resolves `(dirfd, path)` from the guest.
pub fn path_at(t: &Thread, dirfd: u64, va: u64, follow: bool) -> Result<PathArg, Errno> {
    let d = dirfd_arg(t, dirfd)?;
    let guest = t.proc.read_path(va)?;
    if guest.is_empty() {
        return Err(Errno::ENOENT);
    }
    let dir_path = if d == libc::AT_FDCWD {
        None
    } else {
        t.proc.files().get(d).and_then(|i| i.path.clone())
    };
    let cwd = t.proc.cwd();
    let host = match crate::fs::root::in_root(t, d, &guest, follow) {
        Some(r) => r?,
        None => t
            .proc
            .opts
            .view
            .resolve(&cwd, d, dir_path.as_deref(), &guest, follow)?,
    };
    Ok(PathArg { host, guest })
}

/// What a `/proc/self` path means for the guest.
enum Magic {
    /// `/proc/self/exe`.
    Exe,
    /// `/proc/self/maps`.
    Maps,
    /// `/proc/self/cwd`.
    Cwd,
    /// `/proc/self/fd/N`.
    Fd(i32),
}

fn magic(t: &Thread, dirfd: u64, path: &[u8]) -> Option<Magic> {
    if !path.starts_with(b"/proc/") {
        return None;
    }
    let p = guest_abs(t, dirfd as i32, path)?;
    let pid = t.proc_pid().to_string();
    let rest = p
        .strip_prefix("/proc/self/")
        .or_else(|| p.strip_prefix(&format!("/proc/{pid}/")))
        .or_else(|| p.strip_prefix("/proc/thread-self/"))?;
    match rest {
        "exe" => Some(Magic::Exe),
        "maps" => Some(Magic::Maps),
        "cwd" if t.proc.opts.view.confined() => Some(Magic::Cwd),
        _ => rest
            .strip_prefix("fd/")
            .and_then(|n| n.parse().ok())
            .filter(|_| t.proc.opts.view.confined())
            .map(Magic::Fd),
    }
}

/// Whether `(dirfd, path)` names `/proc/self/exe` (the guest program).
pub fn is_self_exe(t: &Thread, dirfd: u64, path: &[u8]) -> bool {
    matches!(magic(t, dirfd, path), Some(Magic::Exe))
}

/// A descriptor holding `text` (for generated `/proc` files).
fn memfd_with(text: &[u8]) -> Result<i32, Errno> {
    let name = CString::new("tern-proc").map_err(|_| Errno::EINVAL)?;
    // SAFETY: valid C string; writing a local buffer; seeking our own fd.
    unsafe {
        let fd = libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC);
        if fd < 0 {
            return Err(Errno::last());
        }
        let mut off = 0;
        while off < text.len() {
            let n = libc::write(fd, text[off..].as_ptr().cast(), text.len() - off);
            if n <= 0 {
                break;
            }
            off += n as usize;
        }
        libc::lseek(fd, 0, libc::SEEK_SET);
        Ok(fd)
    }
}

/// `openat`.
pub fn openat(t: &mut Thread, a: [u64; 6]) -> SysResult {
    let flags = a[2] as i32;
    let mode = (a[3] as u32) & !(t.proc.umask.load(std::sync::atomic::Ordering::Relaxed) as u32);
    let raw = t.proc.read_path(a[1])?;
    if let Some(m) = magic(t, a[0], &raw) {
        let fd = match m {
            Magic::Exe => {
                let hostp = t
                    .proc
                    .exe_host
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clone();
                let c = CString::new(hostp.as_os_str().as_bytes()).map_err(|_| Errno::EINVAL)?;
                // SAFETY: valid C string.
                unsafe { libc::open(c.as_ptr(), flags & !libc::O_CREAT, 0) }
            }
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
    let follow = flags & libc::O_NOFOLLOW == 0
        && flags & (libc::O_CREAT | libc::O_EXCL) != (libc::O_CREAT | libc::O_EXCL);
    let fd = match crate::fs::root::open_in_root(t, a[0] as i32, &raw, flags, mode) {
        Some(r) => r?,
        None => {
            let p = path_at(t, a[0], a[1], follow)?;
            // SAFETY: valid C string; integer arguments.
            unsafe { libc::openat(p.host.dirfd, p.host.path.as_ptr(), flags, mode) }
        }
    };
    let is_dir = flags & libc::O_DIRECTORY != 0 || {
        // SAFETY: `libc::stat` is plain data, for which all zero bytes are valid.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: `st` is a local; fstat of a possibly invalid fd just fails.
        fd >= 0
            && unsafe { libc::fstat(fd, &mut st) } == 0
            && st.st_mode & libc::S_IFMT == libc::S_IFDIR
    };
    let d = a[0] as i32;
    let gpath = guest_abs(t, d, &raw);
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
pub fn fstat(t: &mut Thread, a: [u64; 6]) -> SysResult {
    let fd = fd_arg(t, a[0])?;
    // SAFETY: `st` is a local.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fstat writes into the local `st`; an invalid fd just fails.
    host(unsafe { libc::fstat(fd, &mut st) as i64 })?;
    t.proc.write_mem(a[1], &stat_bytes(&st))?;
    Ok(0)
}

/// `newfstatat`.
pub fn newfstatat(t: &mut Thread, a: [u64; 6]) -> SysResult {
    let flags = a[3];
    // SAFETY: `st` is a local.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    let raw = t.proc.read_path(a[1])?;
    if raw.is_empty() && flags & AT_EMPTY_PATH != 0 {
        let fd = dirfd_arg(t, a[0])?;
        // SAFETY: as above.
        host(unsafe { libc::fstat(fd, &mut st) as i64 })?;
    } else if let Some(Magic::Exe) = magic(t, a[0], &raw) {
        let hostp = t
            .proc
            .exe_host
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let c = CString::new(hostp.as_os_str().as_bytes()).map_err(|_| Errno::EINVAL)?;
        // SAFETY: valid C string, local struct.
        host(unsafe { libc::stat(c.as_ptr(), &mut st) as i64 })?;
    } else {
        let p = path_at(t, a[0], a[1], flags & AT_SYMLINK_NOFOLLOW == 0)?;
        // SAFETY: valid C string, local struct.
        host(unsafe {
            libc::fstatat(
                p.host.dirfd,
                p.host.path.as_ptr(),
                &mut st,
                (flags & AT_SYMLINK_NOFOLLOW) as i32,
            ) as i64
        })?;
    }
    t.proc.write_mem(a[2], &stat_bytes(&st))?;
    Ok(0)
}

/// `statx` (`struct statx` is architecture independent).
pub fn statx(t: &mut Thread, a: [u64; 6]) -> SysResult {
    let flags = a[2] as i32;
    let mut buf = [0u8; 256];
    let raw = t.proc.read_path(a[1])?;
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
        let p = path_at(t, a[0], a[1], a[2] & AT_SYMLINK_NOFOLLOW == 0)?;
        // SAFETY: valid C string, local buffer.
        unsafe {
            libc::syscall(
                libc::SYS_statx,
                p.host.dirfd,
                p.host.path.as_ptr(),
                flags,
                a[3] as u32,
                buf.as_mut_ptr(),
            )
        }
    };
    host(r)?;
    t.proc.write_mem(a[4], &buf)?;
    Ok(0)
}

/// `readlinkat`.
pub fn readlinkat(t: &mut Thread, a: [u64; 6]) -> SysResult {
    let raw = t.proc.read_path(a[1])?;
    let bufsz = a[3] as i64;
    if bufsz <= 0 {
        return Err(Errno::EINVAL);
    }
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
            let p = path_at(t, a[0], a[1], false)?;
            let mut buf = vec![0u8; 4096];
            // SAFETY: valid C string, local buffer.
            let n = host(unsafe {
                libc::readlinkat(
                    p.host.dirfd,
                    p.host.path.as_ptr(),
                    buf.as_mut_ptr().cast(),
                    4096,
                ) as i64
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

/// `faccessat` / `faccessat2`.
pub fn faccessat(t: &mut Thread, a: [u64; 6]) -> SysResult {
    let raw = t.proc.read_path(a[1])?;
    if let Some(Magic::Exe) = magic(t, a[0], &raw) {
        return Ok(0);
    }
    let p = path_at(t, a[0], a[1], a[3] & AT_SYMLINK_NOFOLLOW == 0)?;
    // SAFETY: valid C string, integer arguments.
    host(unsafe {
        libc::syscall(
            libc::SYS_faccessat2,
            p.host.dirfd,
            p.host.path.as_ptr(),
            a[2] as i32,
            a[3] as i32,
        )
    })
}

/// `mkdirat`.
pub fn mkdirat(t: &mut Thread, a: [u64; 6]) -> SysResult {
    let p = path_at(t, a[0], a[1], false)?;
    // SAFETY: valid C string.
    host(unsafe { libc::mkdirat(p.host.dirfd, p.host.path.as_ptr(), a[2] as u32) as i64 })
}

/// `mknodat` (FIFOs and regular files only; devices need privileges anyway).
pub fn mknodat(t: &mut Thread, a: [u64; 6]) -> SysResult {
    let p = path_at(t, a[0], a[1], false)?;
    // SAFETY: valid C string.
    host(unsafe { libc::mknodat(p.host.dirfd, p.host.path.as_ptr(), a[2] as u32, a[3]) as i64 })
}

/// `unlinkat`.
pub fn unlinkat(t: &mut Thread, a: [u64; 6]) -> SysResult {
    let p = path_at(t, a[0], a[1], false)?;
    // SAFETY: valid C string.
    host(unsafe {
        libc::unlinkat(
            p.host.dirfd,
            p.host.path.as_ptr(),
            (a[2] & AT_REMOVEDIR) as i32,
        ) as i64
    })
}

/// `renameat2`.
pub fn renameat2(t: &mut Thread, a: [u64; 6]) -> SysResult {
    let from = path_at(t, a[0], a[1], false)?;
    let to = path_at(t, a[2], a[3], false)?;
    // SAFETY: valid C strings.
    host(unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            from.host.dirfd,
            from.host.path.as_ptr(),
            to.host.dirfd,
            to.host.path.as_ptr(),
            a[4] as u32,
        )
    })
}

/// `linkat`.
pub fn linkat(t: &mut Thread, a: [u64; 6]) -> SysResult {
    let follow = a[4] & 0x400 != 0;
    let from = path_at(t, a[0], a[1], follow)?;
    let to = path_at(t, a[2], a[3], false)?;
    // The source was resolved by the view; with AT_SYMLINK_FOLLOW the host follows
    // only what is left (a /proc/self/fd magic link under --root).
    let flags = if follow { libc::AT_SYMLINK_FOLLOW } else { 0 };
    // SAFETY: valid C strings.
    host(unsafe {
        libc::linkat(
            from.host.dirfd,
            from.host.path.as_ptr(),
            to.host.dirfd,
            to.host.path.as_ptr(),
            flags,
        ) as i64
    })
}

/// `symlinkat`: the target is stored as given (it is interpreted in the guest's view
/// when followed).
pub fn symlinkat(t: &mut Thread, a: [u64; 6]) -> SysResult {
    let target = t.proc.read_path(a[0])?;
    let c = CString::new(target).map_err(|_| Errno::EINVAL)?;
    let p = path_at(t, a[1], a[2], false)?;
    // SAFETY: valid C strings.
    host(unsafe { libc::symlinkat(c.as_ptr(), p.host.dirfd, p.host.path.as_ptr()) as i64 })
}

/// `fchmodat`.
pub fn fchmodat(t: &mut Thread, a: [u64; 6]) -> SysResult {
    let p = path_at(t, a[0], a[1], true)?;
    // SAFETY: valid C string.
    host(unsafe { libc::fchmodat(p.host.dirfd, p.host.path.as_ptr(), a[2] as u32, 0) as i64 })
}

/// `fchownat`.
pub fn fchownat(t: &mut Thread, a: [u64; 6]) -> SysResult {
    let raw = t.proc.read_path(a[1])?;
    if raw.is_empty() && a[4] & AT_EMPTY_PATH != 0 {
        let fd = dirfd_arg(t, a[0])?;
        // SAFETY: integer arguments.
        return host(unsafe { libc::fchown(fd, a[2] as u32, a[3] as u32) as i64 });
    }
    let p = path_at(t, a[0], a[1], a[4] & AT_SYMLINK_NOFOLLOW == 0)?;
    // SAFETY: valid C string.
    host(unsafe {
        libc::fchownat(
            p.host.dirfd,
            p.host.path.as_ptr(),
            a[2] as u32,
            a[3] as u32,
            (a[4] & AT_SYMLINK_NOFOLLOW) as i32,
        ) as i64
    })
}

/// `utimensat`.
pub fn utimensat(t: &mut Thread, a: [u64; 6]) -> SysResult {
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
    let p = path_at(t, a[0], a[1], a[3] & AT_SYMLINK_NOFOLLOW == 0)?;
    // SAFETY: valid C string, 32-byte times buffer.
    host(unsafe {
        libc::syscall(
            libc::SYS_utimensat,
            p.host.dirfd,
            p.host.path.as_ptr(),
            tp,
            (a[3] & AT_SYMLINK_NOFOLLOW) as i32,
        )
    })
}

/// `truncate`.
pub fn truncate(t: &mut Thread, a: [u64; 6]) -> SysResult {
    let p = path_at(t, libc::AT_FDCWD as u64, a[0], true)?;
    // SAFETY: valid C string.
    host(unsafe { libc::truncate(p.host.path.as_ptr(), a[1] as i64) as i64 })
}

/// `statfs` (`struct statfs` is the same 120 bytes on riscv64 and x86-64).
pub fn statfs(t: &mut Thread, a: [u64; 6]) -> SysResult {
    let p = path_at(t, libc::AT_FDCWD as u64, a[0], true)?;
    let mut b = [0u8; 120];
    // SAFETY: valid C string; 120-byte buffer is sizeof(struct statfs).
    host(unsafe { libc::syscall(libc::SYS_statfs, p.host.path.as_ptr(), b.as_mut_ptr()) })?;
    t.proc.write_mem(a[1], &b)?;
    Ok(0)
}

/// `fstatfs`.
pub fn fstatfs(t: &mut Thread, a: [u64; 6]) -> SysResult {
    let fd = fd_arg(t, a[0])?;
    let mut b = [0u8; 120];
    // SAFETY: 120-byte buffer.
    host(unsafe { libc::syscall(libc::SYS_fstatfs, fd, b.as_mut_ptr()) })?;
    t.proc.write_mem(a[1], &b)?;
    Ok(0)
}

/// `getcwd`.
pub fn getcwd(t: &mut Thread, a: [u64; 6]) -> SysResult {
    let mut cwd = current_dir(t).into_bytes();
    cwd.push(0);
    if cwd.len() as u64 > a[1] {
        return Err(Errno::ERANGE);
    }
    t.proc.write_mem(a[0], &cwd)?;
    Ok(cwd.len() as u64)
}

/// `chdir`.
pub fn chdir(t: &mut Thread, a: [u64; 6]) -> SysResult {
    let p = path_at(t, libc::AT_FDCWD as u64, a[0], true)?;
    change_dir(t, &p.host.path, &p.guest, libc::AT_FDCWD)
}

fn change_dir(t: &Thread, host_path: &CString, guest: &[u8], dirfd: i32) -> SysResult {
    // SAFETY: stat of a valid C string into a local.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `host_path` is a valid C string; stat writes into the local `st`.
    host(unsafe { libc::stat(host_path.as_ptr(), &mut st) as i64 })?;
    if st.st_mode & libc::S_IFMT != libc::S_IFDIR {
        return Err(Errno::ENOTDIR);
    }
    // SAFETY: access check on a valid C string.
    host(unsafe { libc::access(host_path.as_ptr(), libc::X_OK) as i64 })?;
    if t.proc.opts.view.confined() {
        if let Some(g) = guest_abs(t, dirfd, guest) {
            let view = &t.proc.opts.view;
            let resolved = view.resolve_guest("/", &g, true).unwrap_or(g);
            *t.proc.cwd.lock().unwrap_or_else(|e| e.into_inner()) = resolved;
        }
        // The host's cwd follows too, for relative host paths (none are made, but
        // it keeps /proc/PID/cwd meaningful).
        // SAFETY: chdir to a valid C string.
        unsafe { libc::chdir(host_path.as_ptr()) };
        Ok(0)
    } else {
        // SAFETY: chdir to a valid C string.
        host(unsafe { libc::chdir(host_path.as_ptr()) as i64 })
    }
}

/// `fchdir`.
pub fn fchdir(t: &mut Thread, a: [u64; 6]) -> SysResult {
    let fd = fd_arg(t, a[0])?;
    if t.proc.opts.view.confined() {
        let guest = t
            .proc
            .files()
            .get(fd)
            .and_then(|i| i.path.clone())
            .ok_or(Errno::ENOTDIR)?;
        let host_path = t.proc.opts.view.host_of(&guest);
        let c = CString::new(host_path.as_os_str().as_bytes()).map_err(|_| Errno::EINVAL)?;
        return change_dir(t, &c, guest.as_bytes(), libc::AT_FDCWD);
    }
    // SAFETY: integer argument.
    host(unsafe { libc::fchdir(fd) as i64 })
}
