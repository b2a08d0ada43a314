//! Moving data between descriptors inside the kernel: `splice`, `tee`,
//! `vmsplice`, `copy_file_range`, `sendfile`; and the page-cache hints
//! `readahead`, `sync_file_range`.
//!
//! Guest descriptors are host descriptors, so `splice`, `tee`, `copy_file_range`
//! and `sendfile` are the host's calls with the offsets (`loff_t` in user memory)
//! copied in and out. `vmsplice` hands user pages to a pipe; here the pages are the
//! guest's, so it is a gathered write into the pipe (or a scattered read out of
//! it), which is what a program observes either way.

use crate::errno::{host, Errno, SysResult};
use crate::syscalls::io::{fd_arg, read_iovecs, MAX_IO};
use crate::syscalls::transfer;
use crate::task::Task;

/// `SPLICE_F_MOVE | SPLICE_F_NONBLOCK | SPLICE_F_MORE | SPLICE_F_GIFT`.
const SPLICE_F_ALL: u64 = 0xf;

/// An optional `loff_t *` argument: read before the call.
fn off_in(t: &Task, va: u64) -> Result<Option<i64>, Errno> {
    if va == 0 {
        Ok(None)
    } else {
        Ok(Some(t.proc.read_u64(va)? as i64))
    }
}

fn off_ptr(o: &mut Option<i64>) -> *mut i64 {
    o.as_mut().map_or(std::ptr::null_mut(), |v| v as *mut i64)
}

/// Writes an offset back after the call.
fn off_out(t: &Task, va: u64, o: Option<i64>) -> Result<(), Errno> {
    match o {
        Some(v) if va != 0 => t.proc.write_u64(va, v as u64),
        _ => Ok(()),
    }
}

/// `splice(fd_in, off_in, fd_out, off_out, len, flags)`.
pub fn splice(t: &mut Task, a: [u64; 6]) -> SysResult {
    if a[5] & !SPLICE_F_ALL != 0 {
        return Err(Errno::EINVAL);
    }
    let fin = fd_arg(t, a[0])?;
    let fout = fd_arg(t, a[2])?;
    let mut oi = off_in(t, a[1])?;
    let mut oo = off_in(t, a[3])?;
    let len = (a[4] as usize).min(MAX_IO);
    // SAFETY: guest descriptors; the offsets are locals.
    let r = host(unsafe {
        libc::splice(
            fin,
            off_ptr(&mut oi),
            fout,
            off_ptr(&mut oo),
            len,
            a[5] as u32,
        ) as i64
    })?;
    off_out(t, a[1], oi)?;
    off_out(t, a[3], oo)?;
    Ok(r)
}

/// `tee(fd_in, fd_out, len, flags)`.
pub fn tee(t: &mut Task, a: [u64; 6]) -> SysResult {
    if a[3] & !SPLICE_F_ALL != 0 {
        return Err(Errno::EINVAL);
    }
    let fin = fd_arg(t, a[0])?;
    let fout = fd_arg(t, a[1])?;
    let len = (a[2] as usize).min(MAX_IO);
    // SAFETY: guest descriptors, integer arguments.
    host(unsafe { libc::tee(fin, fout, len, a[3] as u32) as i64 })
}

/// `copy_file_range(fd_in, off_in, fd_out, off_out, len, flags)`.
pub fn copy_file_range(t: &mut Task, a: [u64; 6]) -> SysResult {
    if a[5] != 0 {
        return Err(Errno::EINVAL);
    }
    let fin = fd_arg(t, a[0])?;
    let fout = fd_arg(t, a[2])?;
    let mut oi = off_in(t, a[1])?;
    let mut oo = off_in(t, a[3])?;
    // SAFETY: guest descriptors; the offsets are locals.
    let r = host(unsafe {
        libc::syscall(
            libc::SYS_copy_file_range,
            fin,
            off_ptr(&mut oi),
            fout,
            off_ptr(&mut oo),
            a[4] as usize,
            0u32,
        )
    })?;
    off_out(t, a[1], oi)?;
    off_out(t, a[3], oo)?;
    Ok(r)
}

/// The most `sendfile` moves in one call (Linux's `MAX_RW_COUNT`).
const MAX_RW_COUNT: usize = 0x7fff_f000;

/// `sendfile(out, in, offset, count)`: host calls of up to [`MAX_IO`] each until
/// the count is done or one moves less (the host call has no size limit of its
/// own, but each is bounded so that a signal is looked at in between).
pub fn sendfile(t: &mut Task, a: [u64; 6]) -> SysResult {
    let out = fd_arg(t, a[0])?;
    let inp = fd_arg(t, a[1])?;
    let mut off = off_in(t, a[2])?;
    let count = (a[3] as usize).min(MAX_RW_COUNT);
    let mut done = 0usize;
    let r = loop {
        let chunk = (count - done).min(MAX_IO);
        // SAFETY: guest descriptors; the offset is a local.
        let r = unsafe { libc::sendfile(out, inp, off_ptr(&mut off), chunk) };
        if r < 0 {
            let e = Errno::last();
            break if done > 0 { Ok(done as u64) } else { Err(e) };
        }
        done += r as usize;
        if (r as usize) < chunk || done >= count || (done > 0 && t.signal_pending()) {
            break Ok(done as u64);
        }
    };
    off_out(t, a[2], off)?;
    r
}

/// `vmsplice(fd, iov, nr_segs, flags)`: into a pipe's write end, out of its read
/// end (`EBADF` for anything else, as Linux).
pub fn vmsplice(t: &mut Task, a: [u64; 6]) -> SysResult {
    if a[3] & !SPLICE_F_ALL != 0 {
        return Err(Errno::EINVAL);
    }
    let fd = fd_arg(t, a[0])?;
    // SAFETY: querying a descriptor's type and status flags into locals.
    let (is_pipe, fl) = unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        if libc::fstat(fd, &mut st) != 0 {
            return Err(Errno::last());
        }
        (
            st.st_mode & libc::S_IFMT == libc::S_IFIFO,
            libc::fcntl(fd, libc::F_GETFL),
        )
    };
    if !is_pipe || fl < 0 {
        return Err(Errno::EBADF);
    }
    if a[2] > 1024 {
        return Err(Errno::EINVAL);
    }
    if a[2] == 0 {
        return Ok(0);
    }
    let iov = read_iovecs(t, a[1], a[2])?;
    // SPLICE_F_NONBLOCK makes the pipe operation non-blocking (not the descriptor).
    let nonblock = a[3] & 2 != 0 && fl & libc::O_NONBLOCK == 0;
    if nonblock {
        // SAFETY: setting a status flag for the call, restored below.
        unsafe { libc::fcntl(fd, libc::F_SETFL, fl | libc::O_NONBLOCK) };
    }
    let r = match fl & libc::O_ACCMODE {
        libc::O_WRONLY | libc::O_RDWR => transfer::write_out(t, fd, &iov, None),
        _ => transfer::read_in(t, fd, &iov, None),
    };
    if nonblock {
        // SAFETY: restoring the flags read above.
        unsafe { libc::fcntl(fd, libc::F_SETFL, fl) };
    }
    r
}

/// `readahead(fd, offset, count)`.
pub fn readahead(t: &mut Task, a: [u64; 6]) -> SysResult {
    let fd = fd_arg(t, a[0])?;
    // SAFETY: integer arguments.
    host(unsafe { libc::syscall(libc::SYS_readahead, fd, a[1] as i64, a[2] as usize) })
}

/// `sync_file_range(fd, offset, nbytes, flags)` (riscv64 has this argument order).
pub fn sync_file_range(t: &mut Task, a: [u64; 6]) -> SysResult {
    let fd = fd_arg(t, a[0])?;
    // SAFETY: integer arguments.
    host(unsafe {
        libc::syscall(
            libc::SYS_sync_file_range,
            fd,
            a[1] as i64,
            a[2] as i64,
            a[3] as u32,
        )
    })
}
