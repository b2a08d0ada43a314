//! Pipes and Unix socketpairs in snapshots: the bytes in flight are recorded
//! without consuming them, and a restore makes a new pipe or pair, puts them back
//! and gives the ends their old descriptor numbers.
//!
//! Recording runs on a guest thread (the descriptors are the guest's, see
//! [`crate::pause::Pause::on_parked_thread`]) while the process is paused:
//! - a pipe's bytes are duplicated with `tee(2)` into a scratch pipe of the same
//!   capacity (from the read end, or from a read end opened through
//!   `/proc/self/fd` when the program holds only the write end); its capacity
//!   (`F_GETPIPE_SZ`) is kept;
//! - a socketpair end's queue is read with `MSG_PEEK` at an advancing peek offset
//!   (`SO_PEEK_OFF`, put back afterwards), so datagram and record boundaries are
//!   kept; its buffer sizes are kept. Which socket is whose peer comes from
//!   [`crate::fs::pairs`]. Descriptors passed in the queue (`SCM_RIGHTS`),
//!   credentials, `shutdown` state and empty records at the end of a seqpacket
//!   queue whose peer is closed are not recorded.
//!
//! A pipe's bytes (or an end's queue) are recorded once, with the first descriptor
//! of that pipe (or end). An end the program does not hold is closed after the
//! restore has refilled the other: the reader then finds the bytes and end of
//! file, a writer `EPIPE`, as before. What a snapshot claims is checked before
//! anything is made: at most [`PIPE_MAX`] bytes in a pipe, [`QUEUE_MAX`] in a
//! socket's queue.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::fs::pairs;

/// Most bytes a pipe may hold in a snapshot (Linux's default `pipe-max-size`).
pub const PIPE_MAX: usize = 1 << 20;
/// Most bytes a socket's queue may hold in a snapshot (well above what the default
/// buffer limits let an unprivileged program queue).
pub const QUEUE_MAX: usize = 16 << 20;
/// Most messages in one socket's queue.
const MESSAGES_MAX: usize = 1 << 16;

/// One pipe end.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PipeEnd {
    /// The pipe (its host inode when recorded: equal for the two ends).
    pub pipe: u64,
    /// The write end (else the read end).
    pub write: bool,
    /// `F_GETPIPE_SZ`.
    pub capacity: u32,
    /// The bytes in the pipe, with the first descriptor of the pipe recorded.
    pub data: Option<Vec<u8>>,
}

/// One end of a Unix socketpair.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairEnd {
    /// This end (its host inode when recorded).
    pub sock: u64,
    /// The other end.
    pub peer: u64,
    /// `SOCK_STREAM`, `SOCK_DGRAM` or `SOCK_SEQPACKET`.
    pub sock_type: i32,
    /// `SO_SNDBUF` and `SO_RCVBUF` as `getsockopt` gives them.
    pub buffers: (i32, i32),
    /// What waits to be read at this end (one chunk for a stream, a message per
    /// datagram or record), with the first descriptor of this end recorded.
    pub queued: Option<Vec<Vec<u8>>>,
}

fn last_error(what: &str) -> String {
    format!("{what}: {}", std::io::Error::last_os_error())
}

/// A descriptor closed when dropped.
struct Owned(i32);

impl Drop for Owned {
    fn drop(&mut self) {
        // SAFETY: closing a descriptor this value owns.
        unsafe { libc::close(self.0) };
    }
}

/// Records pipe end `fd` (`flags` from fdinfo); the bytes if `first` of its pipe.
pub fn record_pipe(fd: i32, flags: i32, first: &mut BTreeSet<u64>) -> Result<PipeEnd, String> {
    let pipe = pairs::inode(fd).ok_or_else(|| last_error("fstat"))?;
    let write = flags & libc::O_ACCMODE == libc::O_WRONLY;
    // SAFETY: fcntl query on a descriptor number.
    let capacity = unsafe { libc::fcntl(fd, libc::F_GETPIPE_SZ) };
    if capacity <= 0 {
        return Err(last_error("F_GETPIPE_SZ"));
    }
    let data = if first.insert(pipe) {
        Some(pipe_bytes(fd, write, capacity)?)
    } else {
        None
    };
    Ok(PipeEnd {
        pipe,
        write,
        capacity: capacity as u32,
        data,
    })
}

/// The bytes in the pipe of end `fd`, left in it.
fn pipe_bytes(fd: i32, write: bool, capacity: i32) -> Result<Vec<u8>, String> {
    // A read end of our own when the program holds the write end: opening the
    // pipe through /proc makes one (non-blocking: never waits for a writer).
    let _reader;
    let reader = if write {
        let path = std::ffi::CString::new(format!("/proc/self/fd/{fd}")).expect("no NUL");
        // SAFETY: a valid C string.
        let r = unsafe {
            libc::open(
                path.as_ptr(),
                libc::O_RDONLY | libc::O_NONBLOCK | libc::O_CLOEXEC,
            )
        };
        if r < 0 {
            return Err(last_error("open a read end"));
        }
        _reader = Owned(r);
        r
    } else {
        fd
    };
    let mut queued: libc::c_int = 0;
    // SAFETY: FIONREAD writes an int.
    if unsafe { libc::ioctl(reader, libc::FIONREAD, &mut queued) } < 0 {
        return Err(last_error("FIONREAD"));
    }
    if queued <= 0 {
        return Ok(Vec::new());
    }
    let mut scratch = [0i32; 2];
    // SAFETY: two-element array.
    if unsafe { libc::pipe2(scratch.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } < 0 {
        return Err(last_error("scratch pipe"));
    }
    let (sr, sw) = (Owned(scratch[0]), Owned(scratch[1]));
    // SAFETY: fcntl on our own pipe.
    if unsafe { libc::fcntl(sw.0, libc::F_SETPIPE_SZ, capacity) } < capacity {
        return Err(last_error("scratch pipe capacity"));
    }
    // SAFETY: tee between two pipes; nothing is consumed from `reader`.
    let n = unsafe { libc::tee(reader, sw.0, queued as usize, libc::SPLICE_F_NONBLOCK) };
    if n != queued as isize {
        return Err(format!(
            "{} of the {queued} bytes in the pipe duplicated",
            n.max(0)
        ));
    }
    let mut out = vec![0u8; queued as usize];
    let mut got = 0;
    while got < out.len() {
        // SAFETY: reading into the rest of `out`.
        let r = unsafe { libc::read(sr.0, out[got..].as_mut_ptr().cast(), out.len() - got) };
        if r <= 0 {
            return Err(last_error("read the scratch pipe"));
        }
        got += r as usize;
    }
    Ok(out)
}

fn sockopt(fd: i32, name: i32) -> Result<i32, String> {
    let mut v: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: an int buffer and its length.
    let r = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            name,
            (&mut v as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if r < 0 {
        return Err(last_error("getsockopt"));
    }
    Ok(v)
}

fn set_sockopt(fd: i32, name: i32, v: i32) -> Result<(), String> {
    // SAFETY: an int and its length.
    let r = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            name,
            (&v as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r < 0 {
        return Err(last_error("setsockopt"));
    }
    Ok(())
}

/// Records socketpair end `fd`, or `None` if it is no end of a pair this process
/// made; its queue if `first` of that end.
pub fn record_pair(fd: i32, first: &mut BTreeSet<u64>) -> Result<Option<PairEnd>, String> {
    let sock = pairs::inode(fd).ok_or_else(|| last_error("fstat"))?;
    let Some(peer) = pairs::peer(sock) else {
        return Ok(None);
    };
    let sock_type = sockopt(fd, libc::SO_TYPE)?;
    if ![libc::SOCK_STREAM, libc::SOCK_DGRAM, libc::SOCK_SEQPACKET].contains(&sock_type) {
        return Ok(None);
    }
    let buffers = (sockopt(fd, libc::SO_SNDBUF)?, sockopt(fd, libc::SO_RCVBUF)?);
    let queued = if first.insert(sock) {
        Some(peek_queue(fd, sock_type)?)
    } else {
        None
    };
    Ok(Some(PairEnd {
        sock,
        peer,
        sock_type,
        buffers,
        queued,
    }))
}

/// What waits at socket `fd`, read with `MSG_PEEK` at an advancing peek offset.
fn peek_queue(fd: i32, sock_type: i32) -> Result<Vec<Vec<u8>>, String> {
    let old = sockopt(fd, libc::SO_PEEK_OFF)?;
    set_sockopt(fd, libc::SO_PEEK_OFF, 0)?;
    let r = peek_all(fd, sock_type);
    set_sockopt(fd, libc::SO_PEEK_OFF, old)?;
    r
}

fn peek_all(fd: i32, sock_type: i32) -> Result<Vec<Vec<u8>>, String> {
    let mut inq: libc::c_int = 0;
    // SAFETY: SIOCINQ writes an int.
    if unsafe { libc::ioctl(fd, libc::FIONREAD, &mut inq) } < 0 {
        return Err(last_error("SIOCINQ"));
    }
    let stream = sock_type == libc::SOCK_STREAM;
    let mut out: Vec<Vec<u8>> = Vec::new();
    let mut total = 0usize;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        if out.len() >= MESSAGES_MAX {
            return Err(format!("more than {MESSAGES_MAX} messages queued"));
        }
        // MSG_TRUNC: a datagram's real length, to refuse rather than cut one.
        let flags = libc::MSG_PEEK | libc::MSG_DONTWAIT | if stream { 0 } else { libc::MSG_TRUNC };
        // SAFETY: receiving into `buf`.
        let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), flags) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EAGAIN) {
                break;
            }
            return Err(format!("peek: {e}"));
        }
        let n = n as usize;
        if n > buf.len() {
            return Err(format!("a queued datagram of {n} bytes is too large"));
        }
        // End of the queue of a pair whose other end is closed (a stream, or
        // records: an empty record is not told apart once all bytes were seen).
        if n == 0 && (stream || (sock_type == libc::SOCK_SEQPACKET && total >= inq.max(0) as usize))
        {
            break;
        }
        total += n;
        if total > QUEUE_MAX {
            return Err(format!("more than {QUEUE_MAX} bytes queued"));
        }
        if stream {
            if out.is_empty() {
                out.push(Vec::new());
            }
            out[0].extend_from_slice(&buf[..n]);
        } else {
            out.push(buf[..n].to_vec());
        }
    }
    Ok(out)
}

/// Checks what a snapshot claims about pipes and pairs before anything is made.
pub fn check(pipes: &[&PipeEnd], pairs: &[&PairEnd]) -> Result<(), String> {
    for p in pipes {
        let len = p.data.as_ref().map_or(0, Vec::len);
        if len > PIPE_MAX || p.capacity as usize > PIPE_MAX {
            return Err(format!(
                "a pipe of {} bytes holding {len}: more than {PIPE_MAX}",
                p.capacity
            ));
        }
    }
    for e in pairs {
        let q = e.queued.as_deref().unwrap_or_default();
        let len: usize = q.iter().map(Vec::len).sum();
        if len > QUEUE_MAX || q.len() > MESSAGES_MAX {
            return Err(format!(
                "a socket queue of {} messages, {len} bytes: more than allowed",
                q.len()
            ));
        }
        if e.sock == e.peer {
            return Err("a socket that is its own peer".into());
        }
    }
    Ok(())
}

/// Moves new descriptor `fd` to a number at or above `min_fd` (out of the way of
/// the numbers being restored) and closes `fd`.
fn high(fd: i32, min_fd: i32) -> Result<Owned, String> {
    let low = Owned(fd);
    // SAFETY: duplicating our own descriptor.
    let h = unsafe { libc::fcntl(low.0, libc::F_DUPFD_CLOEXEC, min_fd) };
    if h < 0 {
        return Err(last_error("F_DUPFD"));
    }
    Ok(Owned(h))
}

/// Writes all of `data` to non-blocking `fd`.
fn write_all(fd: i32, data: &[u8], what: &str) -> Result<(), String> {
    let mut done = 0;
    while done < data.len() {
        // SAFETY: writing from `data`.
        let n = unsafe {
            libc::send(
                fd,
                data[done..].as_ptr().cast(),
                data.len() - done,
                libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
            )
        };
        let n = if n < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ENOTSOCK) {
            // SAFETY: as above, for a pipe.
            unsafe { libc::write(fd, data[done..].as_ptr().cast(), data.len() - done) }
        } else {
            n
        };
        if n <= 0 {
            return Err(format!(
                "{what}: {} of {} bytes put back: {}",
                done,
                data.len(),
                std::io::Error::last_os_error()
            ));
        }
        done += n as usize;
    }
    Ok(())
}

/// Where each rebuilt end is, by the id recorded: the caller moves them to their
/// numbers with `dup3`.
#[derive(Default)]
pub struct Rebuilt {
    ends: BTreeMap<(u64, bool), Owned>,
}

impl Rebuilt {
    /// The descriptor holding pipe `pipe`'s end (`write`), or pair end `sock`
    /// (`write` false).
    pub fn end(&self, id: u64, write: bool) -> Option<i32> {
        self.ends.get(&(id, write)).map(|o| o.0)
    }
}

/// Makes the pipes and pairs that `pipes` and `pairs` describe, with their bytes
/// back in them, each end at a descriptor at or above `min_fd` (closed when the
/// result is dropped). An end no descriptor holds is closed once the bytes are in.
pub fn rebuild(pipes: &[&PipeEnd], pairs: &[&PairEnd], min_fd: i32) -> Result<Rebuilt, String> {
    check(pipes, pairs)?;
    let mut out = Rebuilt::default();
    let mut by_pipe: BTreeMap<u64, Vec<&PipeEnd>> = BTreeMap::new();
    for p in pipes {
        by_pipe.entry(p.pipe).or_default().push(p);
    }
    for (id, ends) in by_pipe {
        let mut fds = [0i32; 2];
        // SAFETY: two-element array.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
            return Err(last_error("pipe"));
        }
        let r = high(fds[0], min_fd)?;
        let w = high(fds[1], min_fd)?;
        let capacity = ends.iter().map(|e| e.capacity).max().unwrap_or(0);
        // SAFETY: fcntl on our own pipe.
        let got = unsafe { libc::fcntl(w.0, libc::F_SETPIPE_SZ, capacity as i32) };
        let data: &[u8] = ends
            .iter()
            .find_map(|e| e.data.as_deref())
            .unwrap_or_default();
        if got < 0 && data.len() > 65536 {
            return Err(last_error(&format!("pipe capacity {capacity}")));
        }
        // SAFETY: status flags of our own descriptor (the program's end gets its
        // own flags after the dup).
        unsafe { libc::fcntl(w.0, libc::F_SETFL, libc::O_NONBLOCK) };
        write_all(w.0, data, "pipe")?;
        // SAFETY: as above.
        unsafe { libc::fcntl(w.0, libc::F_SETFL, 0) };
        if ends.iter().any(|e| !e.write) {
            out.ends.insert((id, false), r);
        }
        if ends.iter().any(|e| e.write) {
            out.ends.insert((id, true), w);
        }
    }
    // Pairs: keyed by their two ends, the lower id first.
    let mut by_pair: BTreeMap<(u64, u64), Vec<&PairEnd>> = BTreeMap::new();
    for e in pairs {
        by_pair
            .entry((e.sock.min(e.peer), e.sock.max(e.peer)))
            .or_default()
            .push(e);
    }
    for ((a, b), ends) in by_pair {
        let sock_type = ends[0].sock_type;
        if ends.iter().any(|e| e.sock_type != sock_type) {
            return Err("the two ends of a socketpair differ in type".into());
        }
        let mut sv = [0i32; 2];
        // SAFETY: two-element array.
        if unsafe {
            libc::socketpair(
                libc::AF_UNIX,
                sock_type | libc::SOCK_CLOEXEC,
                0,
                sv.as_mut_ptr(),
            )
        } < 0
        {
            return Err(last_error("socketpair"));
        }
        let new_a = high(sv[0], min_fd)?;
        let new_b = high(sv[1], min_fd)?;
        pairs::register(new_a.0, new_b.0);
        let fd_of = |id: u64| if id == a { new_a.0 } else { new_b.0 };
        for e in &ends {
            // getsockopt gives twice what setsockopt sets.
            let (snd, rcv) = e.buffers;
            set_sockopt(fd_of(e.sock), libc::SO_SNDBUF, snd / 2)?;
            set_sockopt(fd_of(e.sock), libc::SO_RCVBUF, rcv / 2)?;
        }
        for e in &ends {
            let from = fd_of(e.peer);
            for m in e.queued.as_deref().unwrap_or_default() {
                if sock_type == libc::SOCK_STREAM {
                    write_all(from, m, "socketpair")?;
                } else {
                    // SAFETY: sending from `m`.
                    let n = unsafe {
                        libc::send(
                            from,
                            m.as_ptr().cast(),
                            m.len(),
                            libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
                        )
                    };
                    if n != m.len() as isize {
                        return Err(last_error(&format!(
                            "socketpair: a message of {} bytes put back",
                            m.len()
                        )));
                    }
                }
            }
        }
        let held: BTreeSet<u64> = ends.iter().map(|e| e.sock).collect();
        if held.contains(&a) {
            out.ends.insert((a, false), new_a);
        }
        if held.contains(&b) {
            out.ends.insert((b, false), new_b);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_some(fd: i32) -> Vec<u8> {
        let mut buf = vec![0u8; 1 << 17];
        // SAFETY: reading into `buf`.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        buf.truncate(n.max(0) as usize);
        buf
    }

    #[test]
    fn pipe_bytes_are_recorded_without_consuming_them_and_put_back() {
        let mut fds = [0i32; 2];
        // SAFETY: two-element array.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        let (r, w) = (Owned(fds[0]), Owned(fds[1]));
        write_all(w.0, b"in flight", "test").unwrap();
        let mut first = BTreeSet::new();
        let we = record_pipe(w.0, libc::O_WRONLY, &mut first).unwrap();
        let re = record_pipe(r.0, libc::O_RDONLY, &mut first).unwrap();
        assert_eq!(we.data.as_deref(), Some(&b"in flight"[..]));
        assert_eq!(re.data, None, "recorded once");
        assert_eq!((we.pipe, we.write, re.write), (re.pipe, true, false));
        assert_eq!(read_some(r.0), b"in flight", "still in the pipe");
        let rebuilt = rebuild(&[&re, &we], &[], 100).unwrap();
        let nr = rebuilt.end(re.pipe, false).unwrap();
        assert!(nr >= 100);
        assert_eq!(read_some(nr), b"in flight");
        let too_big = PipeEnd {
            data: Some(vec![0; PIPE_MAX + 1]),
            ..we.clone()
        };
        assert!(rebuild(&[&too_big], &[], 100).is_err());
    }

    #[test]
    fn datagrams_are_recorded_with_their_boundaries() {
        let mut sv = [0i32; 2];
        // SAFETY: two-element array.
        let r = unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_DGRAM, 0, sv.as_mut_ptr()) };
        assert_eq!(r, 0);
        let (a, b) = (Owned(sv[0]), Owned(sv[1]));
        pairs::register(a.0, b.0);
        for m in [&b"one"[..], b"", b"three"] {
            // SAFETY: sending from `m`.
            let n = unsafe { libc::send(a.0, m.as_ptr().cast(), m.len(), 0) };
            assert_eq!(n, m.len() as isize);
        }
        let mut first = BTreeSet::new();
        let eb = record_pair(b.0, &mut first).unwrap().expect("a pair");
        assert_eq!(
            eb.queued,
            Some(vec![b"one".to_vec(), Vec::new(), b"three".to_vec()])
        );
        assert_eq!(read_some(b.0), b"one", "still queued");
        let ea = record_pair(a.0, &mut first).unwrap().expect("a pair");
        let rebuilt = rebuild(&[], &[&ea, &eb], 100).unwrap();
        let nb = rebuilt.end(eb.sock, false).unwrap();
        assert_eq!(read_some(nb), b"one");
        assert_eq!(read_some(nb), b"");
        assert_eq!(read_some(nb), b"three");
    }
}
