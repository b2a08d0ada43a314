//! Error numbers as the guest sees them.
//!
//! riscv64 uses the asm-generic errno values, which are also the x86-64 values, so a
//! host `errno` passes through unchanged (this crate builds only for Linux hosts with
//! the generic numbering).

use std::fmt;

/// A Linux error number (positive); syscalls return it negated in `a0`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Errno(pub i32);

/// What a syscall handler returns: the value for `a0`, or an error number.
pub type SysResult = Result<u64, Errno>;

#[allow(missing_docs)]
impl Errno {
    pub const EPERM: Errno = Errno(libc::EPERM);
    pub const ENOENT: Errno = Errno(libc::ENOENT);
    pub const ESRCH: Errno = Errno(libc::ESRCH);
    pub const EINTR: Errno = Errno(libc::EINTR);
    pub const EIO: Errno = Errno(libc::EIO);
    pub const ENOEXEC: Errno = Errno(libc::ENOEXEC);
    pub const EBADF: Errno = Errno(libc::EBADF);
    pub const ECHILD: Errno = Errno(libc::ECHILD);
    pub const EAGAIN: Errno = Errno(libc::EAGAIN);
    pub const ENOMEM: Errno = Errno(libc::ENOMEM);
    pub const EACCES: Errno = Errno(libc::EACCES);
    pub const EFAULT: Errno = Errno(libc::EFAULT);
    pub const EEXIST: Errno = Errno(libc::EEXIST);
    pub const EXDEV: Errno = Errno(libc::EXDEV);
    pub const ENOTDIR: Errno = Errno(libc::ENOTDIR);
    pub const EISDIR: Errno = Errno(libc::EISDIR);
    pub const EINVAL: Errno = Errno(libc::EINVAL);
    pub const EMFILE: Errno = Errno(libc::EMFILE);
    pub const ENOTTY: Errno = Errno(libc::ENOTTY);
    pub const ESPIPE: Errno = Errno(libc::ESPIPE);
    pub const ERANGE: Errno = Errno(libc::ERANGE);
    pub const ENAMETOOLONG: Errno = Errno(libc::ENAMETOOLONG);
    pub const ENOSYS: Errno = Errno(libc::ENOSYS);
    pub const ELOOP: Errno = Errno(libc::ELOOP);
    pub const ENOTSUP: Errno = Errno(libc::ENOTSUP);
    pub const EMSGSIZE: Errno = Errno(libc::EMSGSIZE);
    pub const ETIMEDOUT: Errno = Errno(libc::ETIMEDOUT);
    pub const ENODEV: Errno = Errno(libc::ENODEV);

    /// The error a failed host call left in `errno`.
    pub fn last() -> Errno {
        Errno(
            std::io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::EIO),
        )
    }

    /// The value for `a0`: `-errno` as an unsigned register value.
    pub fn to_ret(self) -> u64 {
        (-(self.0 as i64)) as u64
    }

    /// The symbolic name (`ENOENT`), for `--strace`.
    pub fn name(self) -> &'static str {
        match self.0 {
            libc::EPERM => "EPERM",
            libc::ENOENT => "ENOENT",
            libc::ESRCH => "ESRCH",
            libc::EINTR => "EINTR",
            libc::EIO => "EIO",
            libc::ENXIO => "ENXIO",
            libc::E2BIG => "E2BIG",
            libc::ENOEXEC => "ENOEXEC",
            libc::EBADF => "EBADF",
            libc::ECHILD => "ECHILD",
            libc::EAGAIN => "EAGAIN",
            libc::ENOMEM => "ENOMEM",
            libc::EACCES => "EACCES",
            libc::EFAULT => "EFAULT",
            libc::EBUSY => "EBUSY",
            libc::EEXIST => "EEXIST",
            libc::EXDEV => "EXDEV",
            libc::ENODEV => "ENODEV",
            libc::ENOTDIR => "ENOTDIR",
            libc::EISDIR => "EISDIR",
            libc::EINVAL => "EINVAL",
            libc::ENFILE => "ENFILE",
            libc::EMFILE => "EMFILE",
            libc::ENOTTY => "ENOTTY",
            libc::EFBIG => "EFBIG",
            libc::ENOSPC => "ENOSPC",
            libc::ESPIPE => "ESPIPE",
            libc::EROFS => "EROFS",
            libc::EPIPE => "EPIPE",
            libc::ERANGE => "ERANGE",
            libc::ENAMETOOLONG => "ENAMETOOLONG",
            libc::ENOSYS => "ENOSYS",
            libc::ENOTEMPTY => "ENOTEMPTY",
            libc::ELOOP => "ELOOP",
            libc::ENOTSUP => "EOPNOTSUPP",
            libc::ENOTSOCK => "ENOTSOCK",
            libc::ECONNREFUSED => "ECONNREFUSED",
            libc::EINPROGRESS => "EINPROGRESS",
            libc::ETIMEDOUT => "ETIMEDOUT",
            libc::EADDRINUSE => "EADDRINUSE",
            _ => "E?",
        }
    }
}

impl fmt::Debug for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({})", self.name(), self.0)
    }
}

impl From<std::io::Error> for Errno {
    fn from(e: std::io::Error) -> Errno {
        Errno(e.raw_os_error().unwrap_or(libc::EIO))
    }
}

/// Runs a host call that returns -1 on error, mapping the result to a [`SysResult`].
pub fn host(ret: i64) -> SysResult {
    if ret < 0 {
        Err(Errno::last())
    } else {
        Ok(ret as u64)
    }
}
