//! Extended attributes: `getxattr`/`lgetxattr`/`fgetxattr`, the `setxattr`,
//! `listxattr` and `removexattr` families (fs/xattr.c). Paths go through the
//! confined resolver ([`super::pathobj`]); the host's file system answers (the
//! `user.*` namespace works on tmpfs and ext4; `trusted.*` and `security.*` give
//! what an unprivileged user gets). Values and lists are copied through a host
//! buffer of at most `XATTR_SIZE_MAX` (64 KiB), as the kernel bounds them.

use std::ffi::{CStr, CString};

use crate::errno::{host, Errno, SysResult};
use crate::syscalls::io::fd_arg;
use crate::syscalls::pathobj::with_host_path;
use crate::task::Task;

/// `XATTR_SIZE_MAX`.
const SIZE_MAX: usize = 65536;
/// `XATTR_NAME_MAX`.
const NAME_MAX: usize = 255;
const XATTR_CREATE: u64 = 1;
const XATTR_REPLACE: u64 = 2;

/// Which object a call names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// A path, following a last symbolic link.
    Path,
    /// A path, not following one (`l...`).
    Link,
    /// A descriptor (`f...`).
    Fd,
}

/// The attribute name argument: empty or longer than `XATTR_NAME_MAX` is `ERANGE`.
fn name_arg(t: &Task, va: u64) -> Result<CString, Errno> {
    let n = t.proc.mm().read_cstr(va, NAME_MAX + 1).map_err(|e| {
        if e == Errno::ENAMETOOLONG {
            Errno::ERANGE
        } else {
            e
        }
    })?;
    if n.is_empty() || n.len() > NAME_MAX {
        return Err(Errno::ERANGE);
    }
    CString::new(n).map_err(|_| Errno::ERANGE)
}

/// Runs `call` on the object: with `Ok(fd)` for a descriptor, `Err((path,
/// nofollow))` for a path.
fn on_object(
    t: &Task,
    target: Target,
    arg: u64,
    call: impl FnOnce(Result<i32, (&CStr, bool)>) -> SysResult,
) -> SysResult {
    match target {
        Target::Fd => {
            let fd = fd_arg(t, arg)?;
            call(Ok(fd))
        }
        Target::Path | Target::Link => {
            with_host_path(t, arg, target == Target::Path, |p, nofollow| {
                call(Err((p, nofollow)))
            })
        }
    }
}

/// `getxattr` and relatives: `(object, name, value, size)`.
pub fn getxattr(t: &mut Task, a: [u64; 6], target: Target) -> SysResult {
    let name = name_arg(t, a[1])?;
    let size = (a[3] as usize).min(SIZE_MAX);
    let mut buf = vec![0u8; size];
    let (bp, n) = (buf.as_mut_ptr(), buf.len());
    let r = on_object(t, target, a[0], |o| {
        // SAFETY: valid C strings; `buf` holds `n` bytes.
        host(unsafe {
            match o {
                Ok(fd) => libc::fgetxattr(fd, name.as_ptr(), bp.cast(), n),
                Err((p, false)) => libc::getxattr(p.as_ptr(), name.as_ptr(), bp.cast(), n),
                Err((p, true)) => libc::lgetxattr(p.as_ptr(), name.as_ptr(), bp.cast(), n),
            }
        } as i64)
    });
    match r {
        Ok(len) => {
            if size > 0 {
                t.proc.write_mem(a[2], &buf[..len as usize])?;
            }
            Ok(len)
        }
        Err(Errno::ERANGE) if a[3] as usize >= SIZE_MAX => Err(Errno(libc::E2BIG)),
        Err(e) => Err(e),
    }
}

/// `setxattr` and relatives: `(object, name, value, size, flags)`.
pub fn setxattr(t: &mut Task, a: [u64; 6], target: Target) -> SysResult {
    if a[4] & !(XATTR_CREATE | XATTR_REPLACE) != 0 {
        return Err(Errno::EINVAL);
    }
    let name = name_arg(t, a[1])?;
    if a[3] as usize > SIZE_MAX {
        return Err(Errno(libc::E2BIG));
    }
    let value = if a[3] > 0 {
        t.proc.read_mem(a[2], a[3] as usize)?
    } else {
        Vec::new()
    };
    let flags = a[4] as i32;
    on_object(t, target, a[0], |o| {
        let (vp, n) = (value.as_ptr().cast(), value.len());
        // SAFETY: valid C strings; `value` holds `n` bytes.
        host(unsafe {
            match o {
                Ok(fd) => libc::fsetxattr(fd, name.as_ptr(), vp, n, flags),
                Err((p, false)) => libc::setxattr(p.as_ptr(), name.as_ptr(), vp, n, flags),
                Err((p, true)) => libc::lsetxattr(p.as_ptr(), name.as_ptr(), vp, n, flags),
            }
        } as i64)
    })
}

/// `listxattr` and relatives: `(object, list, size)`.
pub fn listxattr(t: &mut Task, a: [u64; 6], target: Target) -> SysResult {
    let size = (a[2] as usize).min(SIZE_MAX);
    let mut buf = vec![0u8; size];
    let (bp, n) = (buf.as_mut_ptr(), buf.len());
    let r = on_object(t, target, a[0], |o| {
        // SAFETY: valid C strings; `buf` holds `n` bytes.
        host(unsafe {
            match o {
                Ok(fd) => libc::flistxattr(fd, bp.cast(), n),
                Err((p, false)) => libc::listxattr(p.as_ptr(), bp.cast(), n),
                Err((p, true)) => libc::llistxattr(p.as_ptr(), bp.cast(), n),
            }
        } as i64)
    });
    match r {
        Ok(len) => {
            if size > 0 {
                t.proc.write_mem(a[1], &buf[..len as usize])?;
            }
            Ok(len)
        }
        Err(Errno::ERANGE) if a[2] as usize >= SIZE_MAX => Err(Errno(libc::E2BIG)),
        Err(e) => Err(e),
    }
}

/// `removexattr` and relatives: `(object, name)`.
pub fn removexattr(t: &mut Task, a: [u64; 6], target: Target) -> SysResult {
    let name = name_arg(t, a[1])?;
    on_object(t, target, a[0], |o| {
        // SAFETY: valid C strings.
        host(unsafe {
            match o {
                Ok(fd) => libc::fremovexattr(fd, name.as_ptr()),
                Err((p, false)) => libc::removexattr(p.as_ptr(), name.as_ptr()),
                Err((p, true)) => libc::lremovexattr(p.as_ptr(), name.as_ptr()),
            }
        } as i64)
    })
}
