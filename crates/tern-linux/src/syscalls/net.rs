//! Sockets: TCP, UDP and Unix sockets through the host's.
//!
//! Socket structures (`sockaddr*`, `msghdr`, `cmsghdr`, `iovec`) have the same layout on
//! riscv64 and x86-64. Control messages are checked and translated through the
//! descriptor table ([`cmsg`]): only the program's own descriptors travel, and
//! received ones are entered in the table. Under `--root`, Unix-socket names are
//! found by the confined resolver and abstract names are scoped to the VM
//! ([`crate::fs::unix_addr`]).

use crate::errno::{host, Errno, SysResult};
use crate::fs::unix_addr::{self, HostAddr};
use crate::fs::{FdInfo, FdKind};
use crate::process::Process;
use crate::syscalls::io::{fd_arg, new_fd, read_iovecs};
use crate::syscalls::{cmsg, transfer};
use crate::task::Task;

fn sock_info() -> FdInfo {
    FdInfo {
        kind: FdKind::Socket,
        path: None,
        flags: 0,
    }
}

/// `socket`.
pub fn socket(t: &mut Task, a: [u64; 6]) -> SysResult {
    // SAFETY: integer arguments.
    let fd = unsafe { libc::socket(a[0] as i32, a[1] as i32, a[2] as i32) };
    new_fd(t, i64::from(fd), sock_info())
}

/// `socketpair`.
pub fn socketpair(t: &mut Task, a: [u64; 6]) -> SysResult {
    let mut sv = [0i32; 2];
    // SAFETY: two-element array.
    host(unsafe {
        libc::socketpair(a[0] as i32, a[1] as i32, a[2] as i32, sv.as_mut_ptr()) as i64
    })?;
    let mut b = [0u8; 8];
    b[..4].copy_from_slice(&sv[0].to_le_bytes());
    b[4..].copy_from_slice(&sv[1].to_le_bytes());
    let limit = t.proc.files().limit;
    let written = if sv[0] >= limit || sv[1] >= limit {
        Err(Errno::EMFILE)
    } else {
        t.proc.write_mem(a[3], &b)
    };
    if let Err(e) = written {
        // Linux installs the pair only once the numbers are written.
        // SAFETY: closing what we just got, which the guest never saw.
        unsafe {
            libc::close(sv[0]);
            libc::close(sv[1]);
        }
        return Err(e);
    }
    // Recorded as a pair, for snapshots.
    crate::fs::pairs::register(sv[0], sv[1]);
    let mut files = t.proc.files();
    files.insert(sv[0], sock_info());
    files.insert(sv[1], sock_info());
    Ok(0)
}

/// Reads a socket address from the guest, in its host form (Unix names under
/// `--root`: see [`crate::fs::unix_addr`]); `bind` says whether it is for `bind`.
fn read_addr(proc: &Process, va: u64, len: u64, bind: bool) -> Result<HostAddr<'_>, Errno> {
    if len > 128 {
        return Err(Errno::EINVAL);
    }
    let b = proc.read_mem(va, len as usize)?;
    unix_addr::to_host(proc.paths(), b, bind)
}

/// `bind` / `connect`.
pub fn addr_in(t: &mut Task, a: [u64; 6], nr: i64) -> SysResult {
    let fd = fd_arg(t, a[0])?;
    let bind = nr == libc::SYS_bind;
    // An autobind name is chosen at random: another try if it was taken.
    for _ in 0..8 {
        let addr = read_addr(&t.proc, a[1], a[2], bind)?;
        // SAFETY: `addr` holds the address bytes.
        let r =
            host(unsafe { libc::syscall(nr, fd, addr.bytes.as_ptr(), addr.bytes.len() as u32) });
        if !(addr.autobind && r == Err(Errno(libc::EADDRINUSE))) {
            return r;
        }
    }
    Err(Errno(libc::EADDRINUSE))
}

/// Writes a socket address back (`addr`, `*addrlen`), truncating like the kernel.
fn write_addr(t: &Task, va: u64, lenp: u64, addr: &[u8], len: u32) -> Result<(), Errno> {
    // net/socket.c's move_addr_to_user: the length is read (EFAULT), cut to the
    // address's, negative is EINVAL; a non-zero length copies (EFAULT); the full
    // length is written back.
    let (addr, len) = unix_addr::to_guest(t.proc.paths(), addr, len);
    let addr = &addr[..];
    let cap = (t.proc.read_u32(lenp)? as i32).min(len as i32);
    if cap < 0 {
        return Err(Errno::EINVAL);
    }
    let n = (cap as usize).min(addr.len());
    if n > 0 {
        t.proc.write_mem(va, &addr[..n])?;
    }
    t.proc.write_u32(lenp, len)?;
    Ok(())
}

/// `getsockname` / `getpeername`.
pub fn addr_out(t: &mut Task, a: [u64; 6], nr: i64) -> SysResult {
    let fd = fd_arg(t, a[0])?;
    let mut addr = [0u8; 128];
    let mut len: u32 = 128;
    // SAFETY: 128-byte buffer and its length.
    host(unsafe { libc::syscall(nr, fd, addr.as_mut_ptr(), &mut len) })?;
    write_addr(t, a[1], a[2], &addr, len)?;
    Ok(0)
}

/// `accept4`.
pub fn accept(t: &mut Task, a: [u64; 6]) -> SysResult {
    let fd = fd_arg(t, a[0])?;
    let mut addr = [0u8; 128];
    let mut len: u32 = 128;
    // SAFETY: 128-byte buffer and its length.
    let r = unsafe { libc::accept4(fd, addr.as_mut_ptr().cast(), &mut len, a[3] as i32) };
    if r >= 0 && a[1] != 0 {
        // As in Linux, an address that cannot be written loses the connection:
        // the new socket is closed before it gets a descriptor.
        if let Err(e) = write_addr(t, a[1], a[2], &addr, len) {
            // SAFETY: `r` is the host descriptor accept4 just made, owned here.
            unsafe { libc::close(r) };
            return Err(e);
        }
    }
    new_fd(t, i64::from(r), sock_info())
}

/// `sendto`.
pub fn sendto(t: &mut Task, a: [u64; 6]) -> SysResult {
    let fd = fd_arg(t, a[0])?;
    // The address may hold descriptors of the process's resolver until the call.
    let proc = std::sync::Arc::clone(&t.proc);
    let len = transfer::send_len(fd, a[2] as usize)?;
    let addr = if a[4] != 0 {
        Some(read_addr(&proc, a[4], a[5], false)?)
    } else {
        None
    };
    let (ap, al) = addr.as_ref().map_or((std::ptr::null(), 0), |v| {
        (v.bytes.as_ptr(), v.bytes.len() as u32)
    });
    let mut buf = transfer::take(t, len);
    let r = t.proc.mm().read(a[1], &mut buf[..len]).and_then(|_| {
        // SAFETY: buffers are locals of the given sizes.
        host(unsafe {
            libc::sendto(fd, buf.as_ptr().cast(), len, a[3] as i32, ap.cast(), al) as i64
        })
    });
    transfer::give_back(t, buf);
    drop(addr);
    r
}

/// `recvfrom`.
pub fn recvfrom(t: &mut Task, a: [u64; 6]) -> SysResult {
    let fd = fd_arg(t, a[0])?;
    let len = (a[2] as usize).min(transfer::SCRATCH);
    let mut buf = transfer::take(t, len);
    let mut addr = [0u8; 128];
    let mut alen: u32 = 128;
    // SAFETY: buffers are locals of the given sizes.
    let r = host(unsafe {
        libc::recvfrom(
            fd,
            buf.as_mut_ptr().cast(),
            len,
            a[3] as i32,
            addr.as_mut_ptr().cast(),
            &mut alen,
        ) as i64
    });
    let r = r.and_then(|n| {
        t.proc.write_mem(a[1], &buf[..n as usize])?;
        if a[4] != 0 {
            write_addr(t, a[4], a[5], &addr, alen)?;
        }
        Ok(n)
    });
    transfer::give_back(t, buf);
    r
}

/// `setsockopt`.
pub fn setsockopt(t: &mut Task, a: [u64; 6]) -> SysResult {
    let fd = fd_arg(t, a[0])?;
    let len = (a[4] as usize).min(4096);
    let v = t.proc.read_mem(a[3], len)?;
    // SAFETY: option buffer of `len` bytes.
    host(unsafe {
        libc::setsockopt(fd, a[1] as i32, a[2] as i32, v.as_ptr().cast(), len as u32) as i64
    })
}

/// `getsockopt`.
pub fn getsockopt(t: &mut Task, a: [u64; 6]) -> SysResult {
    let fd = fd_arg(t, a[0])?;
    let cap = t.proc.read_u32(a[4])?;
    if (cap as i32) < 0 {
        return Err(Errno::EINVAL);
    }
    let cap = cap.min(4096);
    let mut v = vec![0u8; cap as usize];
    let mut len = cap;
    // SAFETY: option buffer of `cap` bytes.
    host(unsafe {
        libc::getsockopt(
            fd,
            a[1] as i32,
            a[2] as i32,
            v.as_mut_ptr().cast(),
            &mut len,
        ) as i64
    })?;
    t.proc.write_mem(a[3], &v[..(len.min(cap)) as usize])?;
    t.proc.write_u32(a[4], len)?;
    Ok(0)
}

/// A guest `msghdr` (56 bytes).
struct MsgHdr {
    name: u64,
    namelen: u32,
    iov: u64,
    iovlen: u64,
    control: u64,
    controllen: u64,
}

/// The most iovecs a message may have (`UIO_MAXIOV`): more is `EMSGSIZE` for
/// `sendmsg`/`recvmsg` (`EINVAL` for `readv`/`writev`).
const UIO_MAXIOV: u64 = 1024;

fn read_msghdr(t: &Task, va: u64) -> Result<MsgHdr, Errno> {
    let b = t.proc.read_mem(va, 56)?;
    let w = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap_or([0; 8]));
    Ok(MsgHdr {
        name: w(0),
        namelen: w(8) as u32,
        iov: w(16),
        iovlen: w(24),
        control: w(32),
        controllen: w(40),
    })
}

/// `sendmsg`: the data gathered into the scratch buffer (at most a chunk: a short
/// send on a stream socket, `EMSGSIZE` for a larger datagram), the control messages
/// checked and translated through the descriptor table ([`cmsg`]).
pub fn sendmsg(t: &mut Task, a: [u64; 6]) -> SysResult {
    let fd = fd_arg(t, a[0])?;
    // The name may hold descriptors of the process's resolver until the call.
    let proc = std::sync::Arc::clone(&t.proc);
    let m = read_msghdr(t, a[1])?;
    if m.iovlen > UIO_MAXIOV {
        return Err(Errno::EMSGSIZE);
    }
    let iov = read_iovecs(t, m.iov, m.iovlen)?;
    let total: usize = iov.iter().map(|v| v.1).sum();
    let len = transfer::send_len(fd, total)?;
    let name_addr = if m.name != 0 && m.namelen > 0 {
        Some(read_addr(&proc, m.name, u64::from(m.namelen), false)?)
    } else {
        None
    };
    // `name_addr` keeps the descriptors its host form names open until the call.
    let mut name = name_addr
        .as_ref()
        .map(|n| n.bytes.clone())
        .unwrap_or_default();
    let out = if m.control != 0 && m.controllen > 0 {
        if m.controllen > cmsg::CONTROL_MAX as u64 {
            return Err(Errno(libc::ENOBUFS));
        }
        let raw = t.proc.read_mem(m.control, m.controllen as usize)?;
        let who = cmsg::Sender::current(t.proc_pid());
        Some(cmsg::outgoing(&raw, &t.proc.files(), &who)?)
    } else {
        None
    };
    let mut buf = transfer::take(t, len);
    let r = transfer::gather(t, &iov, 0, &mut buf[..len]).and_then(|_| {
        let mut hiov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: len,
        };
        // SAFETY: zeroed msghdr filled with pointers to locals.
        let mut hm: libc::msghdr = unsafe { std::mem::zeroed() };
        if !name.is_empty() {
            hm.msg_name = name.as_mut_ptr().cast();
            hm.msg_namelen = name.len() as u32;
        }
        hm.msg_iov = &mut hiov;
        hm.msg_iovlen = 1;
        if let Some(o) = &out {
            if !o.control.is_empty() {
                hm.msg_control = o.control.as_ptr() as *mut libc::c_void;
                hm.msg_controllen = o.control.len();
            }
        }
        // SAFETY: `hm` points at live locals; the host only reads the control
        // buffer.
        host(unsafe { libc::sendmsg(fd, &hm, a[2] as i32) as i64 })
    });
    transfer::give_back(t, buf);
    // The private duplicates of passed descriptors are closed here (`out` dropped),
    // and the descriptors the socket name was found through.
    drop(out);
    drop(name_addr);
    r
}

/// `recvmsg`: the data through the scratch buffer (at most a chunk), received
/// descriptors entered in the descriptor table ([`cmsg`]).
pub fn recvmsg(t: &mut Task, a: [u64; 6]) -> SysResult {
    let fd = fd_arg(t, a[0])?;
    let m = read_msghdr(t, a[1])?;
    if m.iovlen > UIO_MAXIOV {
        return Err(Errno::EMSGSIZE);
    }
    let iov = read_iovecs(t, m.iov, m.iovlen)?;
    let total: usize = iov
        .iter()
        .map(|v| v.1)
        .sum::<usize>()
        .min(transfer::SCRATCH);
    let mut name = [0u8; 128];
    let mut control = vec![0u8; (m.controllen as usize).min(cmsg::CONTROL_MAX)];
    let mut buf = transfer::take(t, total);
    let mut hiov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: total,
    };
    // SAFETY: zeroed msghdr filled with pointers to locals.
    let mut hm: libc::msghdr = unsafe { std::mem::zeroed() };
    hm.msg_name = name.as_mut_ptr().cast();
    hm.msg_namelen = 128;
    hm.msg_iov = &mut hiov;
    hm.msg_iovlen = 1;
    if m.control != 0 && !control.is_empty() {
        hm.msg_control = control.as_mut_ptr().cast();
        hm.msg_controllen = control.len();
    }
    let flags = a[2] as i32;
    // SAFETY: `hm` points at live locals.
    let r = host(unsafe { libc::recvmsg(fd, &mut hm, flags) as i64 });
    let r = r.and_then(|n| {
        // Descriptors the host installed go into the table (or are closed) before
        // anything can fail on the way back to the program.
        let got = if hm.msg_controllen > 0 {
            let who = cmsg::Sender::current(t.proc_pid());
            let used = hm.msg_controllen.min(control.len());
            cmsg::incoming(&control[..used], &mut t.proc.files(), flags, &who)?
        } else {
            cmsg::Incoming {
                control: Vec::new(),
                truncated: false,
            }
        };
        transfer::scatter(t, &iov, 0, &buf[..(n as usize).min(total)])?;
        if m.name != 0 {
            let (name, namelen) = unix_addr::to_guest(t.proc.paths(), &name, hm.msg_namelen);
            let k = (namelen as usize).min(m.namelen as usize).min(name.len());
            t.proc.write_mem(m.name, &name[..k])?;
            t.proc.write_u32(a[1].wrapping_add(8), namelen)?;
        }
        if m.control != 0 {
            let k = got.control.len().min(m.controllen as usize);
            t.proc.write_mem(m.control, &got.control[..k])?;
            t.proc.write_u64(a[1].wrapping_add(40), k as u64)?;
        }
        let mut out_flags = hm.msg_flags;
        if got.truncated {
            out_flags |= cmsg::MSG_CTRUNC;
        }
        t.proc.write_u32(a[1].wrapping_add(48), out_flags as u32)?;
        Ok(n)
    });
    transfer::give_back(t, buf);
    r
}
