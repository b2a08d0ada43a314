//! Reading, writing and managing descriptors.
//!
//! Guest descriptors are host descriptors (see [`crate::fs`]); data moves through a
//! per-thread scratch buffer of at most 1 MiB ([`transfer`]) and is copied from or to
//! user memory with permission checks.

use crate::errno::{host, Errno, SysResult};
use crate::fs::{FdInfo, FdKind};
use crate::syscalls::transfer;
use crate::task::Task;

pub use crate::syscalls::transfer::MAX_IO;

/// Checks a descriptor argument.
pub fn fd_arg(t: &Task, v: u64) -> Result<i32, Errno> {
    t.proc.files().check(v as i32 as i64)
}

/// Checks that a descriptor the guest got is below its limit; closes it otherwise.
pub fn new_fd(t: &Task, fd: i64, info: FdInfo) -> SysResult {
    let fd = host(fd)? as i32;
    let mut files = t.proc.files();
    if fd >= files.limit {
        // SAFETY: closing the descriptor we just got.
        unsafe { libc::close(fd) };
        return Err(Errno::EMFILE);
    }
    files.insert(fd, info);
    Ok(fd as u64)
}

/// A call whose arguments are all plain integers, the first `nargs` passed on.
pub fn simple(t: &Task, a: [u64; 6], nr: i64, nargs: usize) -> SysResult {
    let takes_fd = !matches!(
        nr,
        libc::SYS_getpgid | libc::SYS_setpgid | libc::SYS_getsid | libc::SYS_setsid
    );
    if takes_fd && nargs > 0 {
        fd_arg(t, a[0])?;
    }
    let v = |i: usize| if i < nargs { a[i] } else { 0 };
    // SAFETY: integer arguments only.
    host(unsafe { libc::syscall(nr, v(0), v(1), v(2), v(3), v(4), v(5)) })
}

/// `read`.
pub fn read(t: &mut Task, a: [u64; 6]) -> SysResult {
    let fd = fd_arg(t, a[0])?;
    if let Some(id) = crate::syscalls::signalfd::id_of(t, fd) {
        return crate::syscalls::signalfd::read(t, fd, id, a[1], a[2] as usize);
    }
    transfer::read_in(t, fd, &[(a[1], a[2] as usize)], None)
}

/// `write`.
pub fn write(t: &mut Task, a: [u64; 6]) -> SysResult {
    let fd = fd_arg(t, a[0])?;
    transfer::write_out(t, fd, &[(a[1], a[2] as usize)], None)
}

/// `pread64`.
pub fn pread(t: &mut Task, a: [u64; 6]) -> SysResult {
    let fd = fd_arg(t, a[0])?;
    transfer::read_in(t, fd, &[(a[1], a[2] as usize)], Some(a[3] as i64))
}

/// `pwrite64`.
pub fn pwrite(t: &mut Task, a: [u64; 6]) -> SysResult {
    let fd = fd_arg(t, a[0])?;
    transfer::write_out(t, fd, &[(a[1], a[2] as usize)], Some(a[3] as i64))
}

/// Reads an iovec array: `(base, len)` pairs, the total cut to [`MAX_IO`].
pub fn read_iovecs(t: &Task, va: u64, count: u64) -> Result<Vec<(u64, usize)>, Errno> {
    if count > 1024 {
        return Err(Errno::EINVAL);
    }
    let b = t.proc.read_mem(va, count as usize * 16)?;
    let mut v = Vec::with_capacity(count as usize);
    let mut total = 0usize;
    for c in b.chunks_exact(16) {
        let base = u64::from_le_bytes(c[0..8].try_into().unwrap_or([0; 8]));
        let len = u64::from_le_bytes(c[8..16].try_into().unwrap_or([0; 8]));
        if len > isize::MAX as u64 {
            return Err(Errno::EINVAL);
        }
        let len = (len as usize).min(MAX_IO.saturating_sub(total));
        total += len;
        v.push((base, len));
    }
    Ok(v)
}

/// `readv` / `preadv`: host reads of up to a chunk, scattered into the guest buffers.
pub fn readv(t: &mut Task, a: [u64; 6], positioned: bool) -> SysResult {
    let fd = fd_arg(t, a[0])?;
    let iov = read_iovecs(t, a[1], a[2])?;
    if let (false, Some(id)) = (positioned, crate::syscalls::signalfd::id_of(t, fd)) {
        return crate::syscalls::signalfd::read_into(t, fd, id, &iov);
    }
    transfer::read_in(t, fd, &iov, positioned.then_some(a[3] as i64))
}

/// `writev` / `pwritev`: gathered into host writes of up to a chunk (so pipe writes
/// stay atomic).
pub fn writev(t: &mut Task, a: [u64; 6], positioned: bool) -> SysResult {
    let fd = fd_arg(t, a[0])?;
    let iov = read_iovecs(t, a[1], a[2])?;
    transfer::write_out(t, fd, &iov, positioned.then_some(a[3] as i64))
}

/// `RWF_*` flags of `preadv2`/`pwritev2` that Linux 6.1 knows: HIPRI, DSYNC, SYNC,
/// NOWAIT, APPEND.
const RWF_KNOWN: u64 = 0x1f;
const RWF_DSYNC: u64 = 0x2;
const RWF_SYNC: u64 = 0x4;
const RWF_NOWAIT: u64 = 0x8;
const RWF_APPEND: u64 = 0x10;

/// `preadv2` / `pwritev2` (`write`): `preadv`/`pwritev` with flags, where offset -1
/// means the file position (`readv`/`writev`). `RWF_HIPRI` is a hint; a write with
/// `RWF_DSYNC`/`RWF_SYNC` is followed by `fdatasync`/`fsync` of the file, as
/// `O_DSYNC`/`O_SYNC` would; unknown flags are `EOPNOTSUPP`, as on Linux. Not done:
/// `RWF_NOWAIT` and `RWF_APPEND` (`EOPNOTSUPP`, what Linux says for a file that
/// cannot honour them).
pub fn rw2(t: &mut Task, a: [u64; 6], write: bool) -> SysResult {
    // fs/read_write.c: the offset, the descriptor, the vector, then the flags.
    let flags = a[5];
    if (a[3] as i64) < -1 {
        return Err(Errno::EINVAL);
    }
    fd_arg(t, a[0])?;
    read_iovecs(t, a[1], a[2])?;
    if flags & !RWF_KNOWN != 0 || flags & (RWF_NOWAIT | RWF_APPEND) != 0 {
        return Err(Errno(libc::EOPNOTSUPP));
    }
    let positioned = a[3] as i64 != -1;
    let args = [a[0], a[1], a[2], a[3], 0, 0];
    if !write {
        return readv(t, args, positioned);
    }
    let n = writev(t, args, positioned)?;
    if flags & (RWF_DSYNC | RWF_SYNC) != 0 {
        let fd = fd_arg(t, a[0])?;
        // SAFETY: integer argument: a guest descriptor.
        let r = unsafe {
            if flags & RWF_SYNC != 0 {
                libc::fsync(fd)
            } else {
                libc::fdatasync(fd)
            }
        };
        // A pipe or socket has nothing to sync (EINVAL there): the data went.
        if r != 0 && Errno::last() != Errno::EINVAL {
            return Err(Errno::last());
        }
    }
    Ok(n)
}

/// `lseek`.
pub fn lseek(t: &mut Task, a: [u64; 6]) -> SysResult {
    let fd = fd_arg(t, a[0])?;
    // SAFETY: integer arguments.
    host(unsafe { libc::lseek(fd, a[1] as i64, a[2] as i32) })
}

/// `close`. The table entry goes with the host descriptor, under the table's lock:
/// whoever checks the table (`SCM_RIGHTS`) never sees a number that the host may
/// already have handed to someone else.
pub fn close(t: &mut Task, a: [u64; 6]) -> SysResult {
    let fd = fd_arg(t, a[0])?;
    let mut files = t.proc.files();
    files.remove(fd);
    // SAFETY: closing a guest descriptor.
    host(unsafe { libc::close(fd) as i64 })
}

/// `close_range`: limited to the guest's descriptors. Unknown flags and a range
/// whose first number is above its last are `EINVAL`, as on Linux, before the
/// range is cut to the guest's limit (where nothing may be left to close).
pub fn close_range(t: &mut Task, a: [u64; 6]) -> SysResult {
    let flags = a[2] as u32;
    if flags & !(libc::CLOSE_RANGE_UNSHARE | libc::CLOSE_RANGE_CLOEXEC) != 0
        || a[0] as u32 > a[1] as u32
    {
        return Err(Errno::EINVAL);
    }
    let limit = t.proc.files().limit as u64;
    let first = a[0] as u32 as u64;
    let last = (a[1] as u32 as u64).min(limit - 1);
    if first > last {
        return Ok(0);
    }
    // As for `close`: the table changes with the host's, under its lock.
    let mut files = t.proc.files();
    // SAFETY: integer arguments; the range excludes the emulator's descriptors.
    let r = host(unsafe { libc::syscall(libc::SYS_close_range, first, last, a[2] as u32) });
    if r.is_ok() && a[2] as u32 & libc::CLOSE_RANGE_CLOEXEC == 0 {
        for fd in first..=last.min(i32::MAX as u64) {
            if files.get(fd as i32).is_some() {
                files.remove(fd as i32);
            }
        }
    }
    r
}

/// `dup`.
pub fn dup(t: &mut Task, a: [u64; 6]) -> SysResult {
    let fd = fd_arg(t, a[0])?;
    // SAFETY: integer arguments.
    let new = host(unsafe { libc::dup(fd) as i64 })?;
    let info = t.proc.files().get(fd).cloned().unwrap_or(FdInfo {
        kind: FdKind::Inherited,
        path: None,
        flags: 0,
    });
    new_fd(t, new as i64, info)
}

/// `dup3`. Linux checks the flags and `oldfd == newfd` (`EINVAL`) before either
/// descriptor (`EBADF`).
pub fn dup3(t: &mut Task, a: [u64; 6]) -> SysResult {
    if a[2] as i32 & !libc::O_CLOEXEC != 0 || a[0] as u32 == a[1] as u32 {
        return Err(Errno::EINVAL);
    }
    let old = fd_arg(t, a[0])?;
    let new = fd_arg(t, a[1])?;
    // SAFETY: integer arguments; both are guest descriptors.
    let r = host(unsafe { libc::dup3(old, new, a[2] as i32) as i64 })?;
    t.proc.files().dup(old, new);
    Ok(r)
}

/// `fcntl`.
pub fn fcntl(t: &mut Task, a: [u64; 6]) -> SysResult {
    let fd = fd_arg(t, a[0])?;
    let cmd = a[1] as i32;
    match cmd {
        libc::F_DUPFD | libc::F_DUPFD_CLOEXEC => {
            let limit = t.proc.files().limit;
            if a[2] as i64 >= i64::from(limit) {
                return Err(Errno::EINVAL);
            }
            // SAFETY: integer arguments.
            let new = unsafe { libc::fcntl(fd, cmd, a[2] as i32) };
            let info = t.proc.files().get(fd).cloned().unwrap_or(FdInfo {
                kind: FdKind::Inherited,
                path: None,
                flags: 0,
            });
            new_fd(t, i64::from(new), info)
        }
        libc::F_GETLK
        | libc::F_SETLK
        | libc::F_SETLKW
        | libc::F_OFD_GETLK
        | libc::F_OFD_SETLK
        | libc::F_OFD_SETLKW => {
            // struct flock has the same 32-byte layout on riscv64 and x86-64.
            let mut b = t.proc.read_mem(a[2], 32)?;
            // SAFETY: `b` is a 32-byte buffer, the size of struct flock.
            let r = host(unsafe { libc::fcntl(fd, cmd, b.as_mut_ptr()) as i64 })?;
            if cmd == libc::F_GETLK || cmd == libc::F_OFD_GETLK {
                t.proc.write_mem(a[2], &b)?;
            }
            Ok(r)
        }
        libc::F_SETOWN => {
            let owner = owner_for_host(t, a[2] as i32)?;
            // SAFETY: integer argument.
            host(unsafe { libc::fcntl(fd, cmd, owner) as i64 })
        }
        F_SETOWN_EX | F_GETOWN_EX => {
            // struct f_owner_ex { int type; pid_t pid; } on both.
            let mut b = [0u8; 8];
            if cmd == F_SETOWN_EX {
                b.copy_from_slice(&t.proc.read_mem(a[2], 8)?);
                let kind = i32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                let pid = i32::from_le_bytes([b[4], b[5], b[6], b[7]]);
                let owner = match kind {
                    F_OWNER_TID | F_OWNER_PID => owner_for_host(t, pid)?,
                    F_OWNER_PGRP => -owner_for_host(t, pid.checked_neg().ok_or(Errno::EINVAL)?)?,
                    _ => return Err(Errno::EINVAL),
                };
                b[4..].copy_from_slice(&owner.to_le_bytes());
            }
            // SAFETY: `b` is an 8-byte struct f_owner_ex.
            let r = host(unsafe { libc::fcntl(fd, cmd, b.as_mut_ptr()) as i64 })?;
            if cmd == F_GETOWN_EX {
                t.proc.write_mem(a[2], &b)?;
            }
            Ok(r)
        }
        libc::F_GETFD
        | libc::F_SETFD
        | libc::F_GETFL
        | libc::F_SETFL
        | libc::F_GETPIPE_SZ
        | libc::F_SETPIPE_SZ
        | libc::F_GETOWN
        | libc::F_GET_SEALS
        | libc::F_ADD_SEALS
        | libc::F_NOTIFY
        | libc::F_SETLEASE
        | libc::F_GETLEASE => {
            // SAFETY: integer argument.
            host(unsafe { libc::fcntl(fd, cmd, a[2] as i64) as i64 })
        }
        _ => Err(Errno::EINVAL),
    }
}

/// `fcntl` commands for `struct f_owner_ex` and its owner kinds (asm-generic).
const F_SETOWN_EX: i32 = 15;
const F_GETOWN_EX: i32 = 16;
const F_OWNER_TID: i32 = 0;
const F_OWNER_PID: i32 = 1;
const F_OWNER_PGRP: i32 = 2;

/// The owner a descriptor's `SIGIO`/`SIGURG` may go to (`F_SETOWN`: a pid, or a
/// process group as a negative number), as the host knows it: 0 (none), this
/// process or one of its threads, or processes of the VM's tree only
/// ([`crate::tree::check_owner`]); `EPERM` for others.
fn owner_for_host(t: &Task, owner: i32) -> Result<i32, Errno> {
    // SAFETY: getpid cannot fail.
    let me = unsafe { libc::getpid() };
    if owner == 0 || owner == me {
        return Ok(owner);
    }
    if owner == t.proc_pid() {
        return Ok(me);
    }
    if owner > 0 && t.proc.shoot.has(owner) {
        return Ok(t.proc.shoot.host_tid(owner).unwrap_or(owner));
    }
    crate::tree::check_owner(t.proc.vm_root(), owner)?;
    Ok(owner)
}

/// `ioctl`: terminal and descriptor requests whose layouts riscv64 shares with the
/// host (asm-generic numbers, kernel `struct termios` of 36 bytes).
pub fn ioctl(t: &mut Task, a: [u64; 6]) -> SysResult {
    let fd = fd_arg(t, a[0])?;
    let req = a[1] as u32 as u64;
    // (bytes read from the guest before, bytes written back after)
    let (inb, outb): (usize, usize) = match req {
        0x5401 => (0, 36),                  // TCGETS
        0x5402..=0x5404 => (36, 0),         // TCSETS, TCSETSW, TCSETSF
        0x5413 => (0, 8),                   // TIOCGWINSZ
        0x5414 => (8, 0),                   // TIOCSWINSZ
        0x540f => (0, 4),                   // TIOCGPGRP
        0x5410 => (4, 0),                   // TIOCSPGRP
        0x5429 => (0, 4),                   // TIOCGSID
        0x541b => (0, 4),                   // FIONREAD
        0x5421 | 0x5452 => (4, 0),          // FIONBIO, FIOASYNC
        0x5450 | 0x5451 => (0, 0),          // FIONCLEX, FIOCLEX
        0x540e | 0x5422 | 0x5409 => (0, 0), // TIOCSCTTY, TIOCNOTTY, TCSBRK (int arg)
        0x540b | 0x540a => (0, 0),          // TCFLSH, TCXONC (int arg)
        0x80045430 => (0, 4),               // TIOCGPTN
        0x40045431 => (4, 0),               // TIOCSPTLCK
        _ => return Err(Errno::ENOTTY),
    };
    if inb == 0 && outb == 0 {
        // SAFETY: integer argument.
        return host(unsafe { libc::ioctl(fd, req as _, a[2]) as i64 });
    }
    let mut b = vec![0u8; 64];
    if inb > 0 {
        let src = t.proc.read_mem(a[2], inb)?;
        b[..inb].copy_from_slice(&src);
    }
    // SAFETY: `b` is larger than any of the structures above.
    let r = host(unsafe { libc::ioctl(fd, req as _, b.as_mut_ptr()) as i64 })?;
    if outb > 0 {
        t.proc.write_mem(a[2], &b[..outb])?;
    }
    Ok(r)
}

/// `pipe2`.
pub fn pipe2(t: &mut Task, a: [u64; 6]) -> SysResult {
    let mut fds = [0i32; 2];
    // SAFETY: `fds` is a 2-element array.
    host(unsafe { libc::pipe2(fds.as_mut_ptr(), a[1] as i32) as i64 })?;
    let info = FdInfo {
        kind: FdKind::Pipe,
        path: None,
        flags: a[1] as i32,
    };
    let limit = t.proc.files().limit;
    if fds[0] >= limit || fds[1] >= limit {
        // SAFETY: closing what we just got.
        unsafe {
            libc::close(fds[0]);
            libc::close(fds[1]);
        }
        return Err(Errno::EMFILE);
    }
    let mut b = [0u8; 8];
    b[..4].copy_from_slice(&fds[0].to_le_bytes());
    b[4..].copy_from_slice(&fds[1].to_le_bytes());
    if let Err(e) = t.proc.write_mem(a[0], &b) {
        // SAFETY: as above.
        unsafe {
            libc::close(fds[0]);
            libc::close(fds[1]);
        }
        return Err(e);
    }
    let mut files = t.proc.files();
    files.insert(fds[0], info.clone());
    files.insert(fds[1], info);
    Ok(0)
}

/// `getdents64` (`struct linux_dirent64` is the same everywhere).
pub fn getdents64(t: &mut Task, a: [u64; 6]) -> SysResult {
    let fd = fd_arg(t, a[0])?;
    let len = (a[2] as usize).min(transfer::SCRATCH);
    let mut buf = transfer::take(t, len);
    // SAFETY: `buf` holds `len` bytes.
    let r = host(unsafe { libc::syscall(libc::SYS_getdents64, fd, buf.as_mut_ptr(), len) });
    let r = r.and_then(|n| t.proc.write_mem(a[1], &buf[..n as usize]).map(|_| n));
    transfer::give_back(t, buf);
    r
}

/// `memfd_create`.
pub fn memfd_create(t: &mut Task, a: [u64; 6]) -> SysResult {
    let name = t.proc.read_path(a[0])?;
    let c = std::ffi::CString::new(name).map_err(|_| Errno::EINVAL)?;
    // SAFETY: valid C string.
    let fd = unsafe { libc::memfd_create(c.as_ptr(), a[1] as u32) };
    new_fd(
        t,
        i64::from(fd),
        FdInfo {
            kind: FdKind::File,
            path: None,
            flags: 0,
        },
    )
}

/// `eventfd2`.
pub fn eventfd2(t: &mut Task, a: [u64; 6]) -> SysResult {
    // SAFETY: integer arguments.
    let fd = unsafe { libc::eventfd(a[0] as u32, a[1] as i32) };
    new_fd(
        t,
        i64::from(fd),
        FdInfo {
            kind: FdKind::EventFd,
            path: None,
            flags: a[1] as i32,
        },
    )
}
