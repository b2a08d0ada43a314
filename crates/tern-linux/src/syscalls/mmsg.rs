//! `sendmmsg` and `recvmmsg`: `sendmsg`/`recvmsg` ([`super::net`]) for each
//! `struct mmsghdr` (a 56-byte `msghdr` and the `msg_len` the call fills in, 64
//! bytes in all) as net/socket.c does them: an error after the first message ends
//! the call with the count so far.

use crate::errno::{Errno, SysResult};
use crate::syscalls::io::fd_arg;
use crate::syscalls::net;
use crate::task::Task;

/// `UIO_MAXIOV`: the most messages one call handles.
const VLEN_MAX: u64 = 1024;
const MMSGHDR: u64 = 64;
const MSG_DONTWAIT: u64 = 0x40;
const MSG_WAITFORONE: u64 = 0x1_0000;

/// `sendmmsg(fd, msgvec, vlen, flags)`.
pub fn sendmmsg(t: &mut Task, a: [u64; 6]) -> SysResult {
    fd_arg(t, a[0])?;
    let vlen = a[2].min(VLEN_MAX);
    let mut sent = 0u64;
    while sent < vlen {
        let hdr = a[1].wrapping_add(sent * MMSGHDR);
        match net::sendmsg(t, [a[0], hdr, a[3], 0, 0, 0]) {
            Ok(n) => {
                if let Err(e) = t.proc.write_u32(hdr.wrapping_add(56), n as u32) {
                    return if sent > 0 { Ok(sent) } else { Err(e) };
                }
                sent += 1;
            }
            Err(e) => return if sent > 0 { Ok(sent) } else { Err(e) },
        }
    }
    Ok(sent)
}

/// `recvmmsg(fd, msgvec, vlen, flags, timeout)`: `MSG_WAITFORONE` makes the
/// receives after the first non-blocking; the timeout is looked at after each
/// message (as Linux does: it does not bound a blocking receive).
pub fn recvmmsg(t: &mut Task, a: [u64; 6]) -> SysResult {
    fd_arg(t, a[0])?;
    let deadline = if a[4] != 0 {
        let ts = crate::futex::read_timespec(&t.proc, a[4])?;
        if ts.tv_sec < 0 || !(0..1_000_000_000).contains(&ts.tv_nsec) {
            return Err(Errno::EINVAL);
        }
        // A timeout beyond what an Instant holds never expires.
        std::time::Instant::now().checked_add(std::time::Duration::new(
            ts.tv_sec as u64,
            ts.tv_nsec as u32,
        ))
    } else {
        None
    };
    let vlen = a[2].min(VLEN_MAX);
    let mut flags = a[3] & !MSG_WAITFORONE;
    let mut got = 0u64;
    while got < vlen {
        let hdr = a[1].wrapping_add(got * MMSGHDR);
        match net::recvmsg(t, [a[0], hdr, flags, 0, 0, 0]) {
            Ok(n) => {
                if let Err(e) = t.proc.write_u32(hdr.wrapping_add(56), n as u32) {
                    return if got > 0 { Ok(got) } else { Err(e) };
                }
                got += 1;
            }
            Err(e) => return if got > 0 { Ok(got) } else { Err(e) },
        }
        if a[3] & MSG_WAITFORONE != 0 {
            flags |= MSG_DONTWAIT;
        }
        if deadline.is_some_and(|d| std::time::Instant::now() >= d) {
            break;
        }
    }
    if let (Some(d), true) = (deadline, a[4] != 0) {
        let left = d.saturating_duration_since(std::time::Instant::now());
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&(left.as_secs() as i64).to_le_bytes());
        b[8..].copy_from_slice(&i64::from(left.subsec_nanos()).to_le_bytes());
        t.proc.write_mem(a[4], &b)?;
    }
    Ok(got)
}
