//! Control messages of `sendmsg` and `recvmsg` (`struct cmsghdr` lists), checked
//! and translated through the descriptor table.
//!
//! Guest descriptors are host descriptors, so the bytes of an `SCM_RIGHTS` message
//! would mean something to the host kernel as they are: any number open in tern —
//! its own descriptors above the program's limit, or one opened for a moment below
//! it — would travel. So the control buffer is parsed as Linux's `__scm_send` walks
//! it, every passed descriptor must be one the descriptor table lists (`EBADF`
//! otherwise, as Linux says for a descriptor the sender does not have), and what
//! goes to the host is a private duplicate of each, made while the table is locked
//! (a descriptor the program closes meanwhile cannot be swapped for another).
//! Credentials (`SCM_CREDENTIALS`) may name only the sender itself. Received
//! descriptors are entered in the table with the kind `fstat` tells, so that a
//! snapshot records or refuses them; one the host installed at or above the
//! program's limit is closed and the message flagged `MSG_CTRUNC`, as Linux does
//! when `RLIMIT_NOFILE` is reached.
//!
//! The layout (`cmsg_len` as a 64-bit length, 16-byte header, 8-byte alignment) is
//! the same on riscv64 and x86-64.

use std::os::fd::{FromRawFd, OwnedFd};

use crate::errno::Errno;
use crate::fs::{FdInfo, FdKind, FdTable};

/// `SOL_SOCKET`.
pub const SOL_SOCKET: i32 = 1;
/// `SCM_RIGHTS`.
pub const SCM_RIGHTS: i32 = 1;
/// `SCM_CREDENTIALS`.
pub const SCM_CREDENTIALS: i32 = 2;
/// `MSG_CTRUNC`.
pub const MSG_CTRUNC: i32 = 0x8;
/// `MSG_CMSG_CLOEXEC`.
pub const MSG_CMSG_CLOEXEC: i32 = 0x4000_0000;
/// The largest control buffer accepted (Linux refuses more than `optmem_max`,
/// 20 KiB to 128 KiB, with `ENOBUFS`).
pub const CONTROL_MAX: usize = 64 << 10;
/// The most descriptors one message may carry (Linux's `SCM_MAX_FD`).
pub const MAX_FDS: usize = 253;

/// Size of `struct cmsghdr`.
const HDR: usize = 16;
/// Size of `struct ucred` (`pid`, `uid`, `gid`).
const UCRED: usize = 12;

/// `CMSG_ALIGN`.
fn align(n: usize) -> Option<usize> {
    n.checked_add(7).map(|v| v & !7)
}

/// One control message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cmsg {
    /// `cmsg_level`.
    pub level: i32,
    /// `cmsg_type`.
    pub kind: i32,
    /// The bytes after the header (`cmsg_len - 16` of them).
    pub data: Vec<u8>,
}

/// Parses a control buffer as Linux walks it (`CMSG_FIRSTHDR`/`CMSG_NXTHDR`):
/// messages follow each other at aligned lengths; what is left after the last one
/// is shorter than a header and ignored; a `cmsg_len` shorter than a header or
/// longer than what is left is `EINVAL`.
pub fn parse(buf: &[u8]) -> Result<Vec<Cmsg>, Errno> {
    let mut out = Vec::new();
    let mut at = 0usize;
    while buf.len() - at >= HDR {
        let h = &buf[at..at + HDR];
        let len = u64::from_le_bytes(h[0..8].try_into().map_err(|_| Errno::EINVAL)?);
        let level = i32::from_le_bytes(h[8..12].try_into().map_err(|_| Errno::EINVAL)?);
        let kind = i32::from_le_bytes(h[12..16].try_into().map_err(|_| Errno::EINVAL)?);
        if len < HDR as u64 || len > (buf.len() - at) as u64 {
            return Err(Errno::EINVAL);
        }
        let len = len as usize;
        out.push(Cmsg {
            level,
            kind,
            data: buf[at + HDR..at + len].to_vec(),
        });
        match align(len).and_then(|l| at.checked_add(l)) {
            Some(next) if next <= buf.len() => at = next,
            _ => break,
        }
    }
    Ok(out)
}

/// Lays messages out as a control buffer, each padded to alignment (Linux's
/// `put_cmsg` counts `CMSG_SPACE` for every message; the caller cuts the result to
/// the program's buffer).
pub fn build(msgs: &[Cmsg]) -> Vec<u8> {
    let mut out = Vec::new();
    for m in msgs {
        let len = HDR + m.data.len();
        out.extend_from_slice(&(len as u64).to_le_bytes());
        out.extend_from_slice(&m.level.to_le_bytes());
        out.extend_from_slice(&m.kind.to_le_bytes());
        out.extend_from_slice(&m.data);
        out.resize(align(out.len()).unwrap_or(out.len()), 0);
    }
    out
}

/// The descriptor numbers of an `SCM_RIGHTS` message.
fn fds_of(data: &[u8]) -> Vec<i32> {
    data.chunks_exact(4)
        .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// A control buffer ready for the host, and the private duplicates it names (closed
/// when this is dropped, after the host call).
#[derive(Debug)]
pub struct Outgoing {
    /// The bytes for `msg_control`.
    pub control: Vec<u8>,
    /// Private duplicates of the passed descriptors.
    _dups: Vec<OwnedFd>,
}

/// Who the sender is, for `SCM_CREDENTIALS`.
#[derive(Clone, Copy, Debug)]
pub struct Sender {
    /// The program's pid (what it passes).
    pub guest_pid: i32,
    /// The host's pid of this process (what the host kernel checks).
    pub host_pid: i32,
    /// Real, effective and saved uid.
    pub uids: [u32; 3],
    /// Real, effective and saved gid.
    pub gids: [u32; 3],
}

impl Sender {
    /// The calling host process.
    pub fn current(guest_pid: i32) -> Sender {
        let (mut r, mut e, mut s) = (0, 0, 0);
        let (mut gr, mut ge, mut gs) = (0, 0, 0);
        // SAFETY: getpid cannot fail; getres[ug]id write three locals.
        unsafe {
            libc::getresuid(&mut r, &mut e, &mut s);
            libc::getresgid(&mut gr, &mut ge, &mut gs);
            Sender {
                guest_pid,
                host_pid: libc::getpid(),
                uids: [r, e, s],
                gids: [gr, ge, gs],
            }
        }
    }
}

/// Translates a guest control buffer for `sendmsg`: every `SCM_RIGHTS` descriptor
/// must be in `files` (checked and duplicated above its limit while the caller
/// holds the table's lock), credentials must name `who`; other messages go as they
/// are (the host kernel judges them, with the same layouts).
pub fn outgoing(buf: &[u8], files: &FdTable, who: &Sender) -> Result<Outgoing, Errno> {
    let mut msgs = parse(buf)?;
    let mut dups: Vec<OwnedFd> = Vec::new();
    for m in &mut msgs {
        if m.level != SOL_SOCKET {
            continue;
        }
        match m.kind {
            SCM_RIGHTS => {
                let fds = fds_of(&m.data);
                if dups.len() + fds.len() > MAX_FDS {
                    return Err(Errno::EINVAL);
                }
                let mut data = Vec::with_capacity(m.data.len());
                for fd in fds {
                    if files.check(i64::from(fd)).is_err() || files.get(fd).is_none() {
                        return Err(Errno::EBADF);
                    }
                    // SAFETY: duplicating a descriptor of the guest's table (checked
                    // above, the table locked) to a number above the guest's limit.
                    let dup = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, files.limit) };
                    if dup < 0 {
                        let e = Errno::last();
                        return Err(if e == Errno::EBADF {
                            e
                        } else {
                            Errno(libc::ETOOMANYREFS)
                        });
                    }
                    // SAFETY: `dup` is ours alone.
                    dups.push(unsafe { OwnedFd::from_raw_fd(dup) });
                    data.extend_from_slice(&dup.to_le_bytes());
                }
                m.data = data;
            }
            SCM_CREDENTIALS => {
                if m.data.len() != UCRED {
                    return Err(Errno::EINVAL);
                }
                let w = |i: usize| {
                    u32::from_le_bytes([m.data[i], m.data[i + 1], m.data[i + 2], m.data[i + 3]])
                };
                let (pid, uid, gid) = (w(0) as i32, w(4), w(8));
                if pid != who.guest_pid || !who.uids.contains(&uid) || !who.gids.contains(&gid) {
                    return Err(Errno::EPERM);
                }
                m.data[0..4].copy_from_slice(&who.host_pid.to_le_bytes());
            }
            _ => {}
        }
    }
    Ok(Outgoing {
        control: build(&msgs),
        _dups: dups,
    })
}

/// What `recvmsg` hands back: the guest's control bytes, and `MSG_CTRUNC` if a
/// received descriptor had to be dropped.
#[derive(Debug, PartialEq, Eq)]
pub struct Incoming {
    /// The bytes for the guest's `msg_control`.
    pub control: Vec<u8>,
    /// A descriptor was dropped at the limit.
    pub truncated: bool,
}

/// Takes over what the host's `recvmsg` put in `buf`: received descriptors are
/// entered in the table (kind by `fstat`, `FD_CLOEXEC` noted with
/// `MSG_CMSG_CLOEXEC`), one the host put at or above `files.limit` moved below it
/// if a number is free there; from the first that cannot be, they are closed and
/// left out. Host credentials of this process are shown with the guest's pid.
pub fn incoming(
    buf: &[u8],
    files: &mut FdTable,
    flags: i32,
    who: &Sender,
) -> Result<Incoming, Errno> {
    let mut msgs = parse(buf)?;
    let mut truncated = false;
    let mut changed = false;
    for m in &mut msgs {
        if m.level != SOL_SOCKET {
            continue;
        }
        match m.kind {
            SCM_RIGHTS => {
                let mut kept = Vec::new();
                for fd in fds_of(&m.data) {
                    let fd = if truncated {
                        -1
                    } else {
                        below_limit(fd, files.limit, flags & MSG_CMSG_CLOEXEC != 0)
                    };
                    if fd < 0 {
                        truncated = true;
                        continue;
                    }
                    let info = FdInfo {
                        kind: kind_of(fd),
                        path: None,
                        flags: if flags & MSG_CMSG_CLOEXEC != 0 {
                            libc::O_CLOEXEC
                        } else {
                            0
                        },
                    };
                    files.insert(fd, info);
                    kept.extend_from_slice(&fd.to_le_bytes());
                }
                changed |= kept != m.data;
                m.data = kept;
            }
            SCM_CREDENTIALS if m.data.len() == UCRED => {
                let pid = i32::from_le_bytes([m.data[0], m.data[1], m.data[2], m.data[3]]);
                if pid == who.host_pid && pid != who.guest_pid {
                    m.data[0..4].copy_from_slice(&who.guest_pid.to_le_bytes());
                    changed = true;
                }
            }
            _ => {}
        }
    }
    if !changed {
        return Ok(Incoming {
            control: buf.to_vec(),
            truncated,
        });
    }
    // A rights message left without descriptors is not shown (Linux puts none).
    msgs.retain(|m| !(m.level == SOL_SOCKET && m.kind == SCM_RIGHTS && m.data.is_empty()));
    Ok(Incoming {
        control: build(&msgs),
        truncated,
    })
}

/// A received descriptor `fd` as a number below `limit`: itself, or a duplicate at
/// the lowest free number if that is below (a number freed meanwhile); -1 (and `fd`
/// closed) when there is none.
fn below_limit(fd: i32, limit: i32, cloexec: bool) -> i32 {
    if (0..limit).contains(&fd) {
        return fd;
    }
    if fd < 0 {
        return -1;
    }
    let cmd = if cloexec {
        libc::F_DUPFD_CLOEXEC
    } else {
        libc::F_DUPFD
    };
    // SAFETY: duplicating, then closing, a descriptor the host just installed for
    // this message, which nobody else knows.
    unsafe {
        let low = libc::fcntl(fd, cmd, 0);
        libc::close(fd);
        if (0..limit).contains(&low) {
            return low;
        }
        if low >= 0 {
            libc::close(low);
        }
    }
    -1
}

/// The kind of a received descriptor, by `fstat`: sockets and pipes as such, the
/// rest as files without a path (which a snapshot refuses: nothing to reopen).
fn kind_of(fd: i32) -> FdKind {
    // SAFETY: local struct.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fstat into a local.
    if unsafe { libc::fstat(fd, &mut st) } != 0 {
        return FdKind::File;
    }
    match st.st_mode & libc::S_IFMT {
        libc::S_IFSOCK => FdKind::Socket,
        libc::S_IFIFO => FdKind::Pipe,
        libc::S_IFDIR => FdKind::Dir,
        _ => FdKind::File,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(len: u64, level: i32, kind: i32) -> Vec<u8> {
        let mut b = len.to_le_bytes().to_vec();
        b.extend_from_slice(&level.to_le_bytes());
        b.extend_from_slice(&kind.to_le_bytes());
        b
    }

    fn rights(fds: &[i32]) -> Vec<u8> {
        let mut b = header((HDR + 4 * fds.len()) as u64, SOL_SOCKET, SCM_RIGHTS);
        for fd in fds {
            b.extend_from_slice(&fd.to_le_bytes());
        }
        b.resize(align(b.len()).unwrap(), 0);
        b
    }

    fn sender() -> Sender {
        Sender {
            guest_pid: 42,
            host_pid: 4242,
            uids: [1000, 1000, 1000],
            gids: [100, 100, 100],
        }
    }

    #[test]
    fn parse_walks_aligned_messages_and_ignores_a_short_tail() {
        let mut b = rights(&[3]);
        b.extend_from_slice(&rights(&[4, 5]));
        b.extend_from_slice(&[0u8; 15]);
        let m = parse(&b).unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(fds_of(&m[0].data), vec![3]);
        assert_eq!(fds_of(&m[1].data), vec![4, 5]);
        assert_eq!(build(&m), b[..b.len() - 15].to_vec(), "rebuilt the same");
        // The last message need not be padded.
        let unpadded = &rights(&[3])[..20];
        assert_eq!(fds_of(&parse(unpadded).unwrap()[0].data), vec![3]);
        assert_eq!(parse(&[]).unwrap(), vec![]);
    }

    #[test]
    fn parse_refuses_lengths_outside_the_buffer() {
        for len in [0, 15, 33, u64::MAX, u64::MAX - 6, 1 << 63] {
            let mut b = header(len, SOL_SOCKET, SCM_RIGHTS);
            b.extend_from_slice(&[0u8; 16]);
            assert_eq!(parse(&b), Err(Errno::EINVAL), "cmsg_len {len}");
        }
        // A bad second header after a good first one.
        let mut b = rights(&[3]);
        b.extend_from_slice(&header(7, SOL_SOCKET, SCM_RIGHTS));
        assert_eq!(parse(&b), Err(Errno::EINVAL));
    }

    #[test]
    fn only_descriptors_in_the_table_are_passed_as_private_duplicates() {
        let mut p = [0i32; 2];
        // SAFETY: a two-element array.
        assert_eq!(unsafe { libc::pipe(p.as_mut_ptr()) }, 0);
        let (known, unknown) = (p[0], p[1]);
        let mut files = FdTable::new(known.max(unknown) + 1);
        let limit = files.limit;
        files.remove(unknown);
        files.insert(
            known,
            FdInfo {
                kind: FdKind::Pipe,
                path: None,
                flags: 0,
            },
        );
        let out = outgoing(&rights(&[known]), &files, &sender()).unwrap();
        let sent = fds_of(&parse(&out.control).unwrap()[0].data);
        assert_eq!(sent.len(), 1);
        assert!(
            sent[0] >= limit,
            "a duplicate above the limit, not {}",
            sent[0]
        );
        drop(out);
        for bad in [vec![unknown], vec![known, unknown], vec![limit], vec![-1]] {
            assert_eq!(
                outgoing(&rights(&bad), &files, &sender()).unwrap_err(),
                Errno::EBADF,
                "{bad:?}"
            );
        }
        let many = vec![known; MAX_FDS + 1];
        assert_eq!(
            outgoing(&rights(&many), &files, &sender()).unwrap_err(),
            Errno::EINVAL
        );
        // SAFETY: closing the test's pipe.
        unsafe {
            libc::close(p[0]);
            libc::close(p[1]);
        }
    }

    #[test]
    fn credentials_name_only_the_sender() {
        let files = FdTable::new(16);
        let cred = |pid: i32, uid: u32, gid: u32| {
            let mut b = header((HDR + UCRED) as u64, SOL_SOCKET, SCM_CREDENTIALS);
            for w in [pid as u32, uid, gid] {
                b.extend_from_slice(&w.to_le_bytes());
            }
            b.resize(32, 0);
            b
        };
        let out = outgoing(&cred(42, 1000, 100), &files, &sender()).unwrap();
        let m = &parse(&out.control).unwrap()[0];
        assert_eq!(&m.data[0..4], &4242i32.to_le_bytes(), "the host's pid");
        for (pid, uid, gid) in [(1, 1000, 100), (42, 0, 100), (42, 1000, 0)] {
            assert_eq!(
                outgoing(&cred(pid, uid, gid), &files, &sender()).unwrap_err(),
                Errno::EPERM
            );
        }
        let mut short = header((HDR + 8) as u64, SOL_SOCKET, SCM_CREDENTIALS);
        short.extend_from_slice(&[0; 8]);
        assert_eq!(
            outgoing(&short, &files, &sender()).unwrap_err(),
            Errno::EINVAL
        );
    }

    #[test]
    fn received_descriptors_are_entered_in_the_table() {
        let mut files = FdTable::new(1 << 20);
        let mut p = [0i32; 2];
        // SAFETY: a two-element array.
        assert_eq!(unsafe { libc::pipe(p.as_mut_ptr()) }, 0);
        let got = incoming(&rights(&p), &mut files, MSG_CMSG_CLOEXEC, &sender()).unwrap();
        assert!(!got.truncated);
        assert_eq!(got.control, rights(&p), "nothing to change");
        for fd in p {
            let info = files.get(fd).map(|i| (i.kind, i.flags));
            assert_eq!(info, Some((FdKind::Pipe, libc::O_CLOEXEC)));
            // SAFETY: closing the test's descriptor.
            unsafe { libc::close(fd) };
        }
    }

    #[test]
    fn a_received_descriptor_above_the_limit_moves_below_it_or_is_dropped() {
        let mut p = [0i32; 2];
        // SAFETY: a two-element array.
        assert_eq!(unsafe { libc::pipe(p.as_mut_ptr()) }, 0);
        // SAFETY: duplicating our own descriptor to a high number.
        let high = unsafe { libc::fcntl(p[0], libc::F_DUPFD_CLOEXEC, 500) };
        assert!(high >= 500);
        // Numbers below 500 are free in this test process: it moves there.
        let mut files = FdTable::new(high);
        let got = incoming(&rights(&[high]), &mut files, 0, &sender()).unwrap();
        assert!(!got.truncated);
        let moved = fds_of(&parse(&got.control).unwrap()[0].data);
        assert!(moved.len() == 1 && moved[0] < high, "{moved:?}");
        assert!(files.get(moved[0]).is_some());
        assert!(
            // SAFETY: querying the flags of a number touches no memory.
            unsafe { libc::fcntl(high, libc::F_GETFD) } < 0,
            "the high one closed"
        );
        // With no number below the limit, it is closed and the message flagged;
        // a rights message left empty is not shown at all.
        let mut none = FdTable::new(0);
        let got = incoming(&rights(&[p[1]]), &mut none, 0, &sender()).unwrap();
        assert!(got.truncated && got.control.is_empty());
        // SAFETY: querying a number.
        assert!(unsafe { libc::fcntl(p[1], libc::F_GETFD) } < 0, "closed");
        // SAFETY: closing the test's descriptors.
        unsafe {
            libc::close(p[0]);
            libc::close(moved[0]);
        }
    }
}
