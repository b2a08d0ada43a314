//! Moving data between host descriptors and user memory through a small scratch
//! buffer, so that no host allocation follows the size a program asks for.
//!
//! Every thread has one scratch buffer of at most [`SCRATCH`] bytes. A transfer
//! larger than that is done in chunks where Linux would move it all in one call
//! (regular files and block devices, and writes to anything but a datagram socket);
//! for pipes, terminals and sockets a read returns what one chunk holds, which is a
//! short read the program must handle anyway (the pipe buffer's maximum is the same
//! 1 MiB). A datagram larger than a chunk cannot be sent (`EMSGSIZE`).

use crate::errno::{host, Errno, SysResult};
use crate::task::Task;

/// The most bytes a thread's scratch buffer holds (and one chunk of a transfer).
pub const SCRATCH: usize = 1 << 20;

/// The most bytes one call moves (a larger request is a short read or write, which
/// the program must handle anyway; Linux stops at 2 GiB).
pub const MAX_IO: usize = 64 << 20;

/// Takes the thread's scratch buffer with room for `min(len, SCRATCH)` bytes; give
/// it back with [`give_back`].
pub fn take(t: &mut Task, len: usize) -> Vec<u8> {
    let mut b = std::mem::take(&mut t.buf);
    let len = len.min(SCRATCH);
    if b.len() < len {
        b.resize(len, 0);
    }
    b
}

/// Returns the scratch buffer to the thread (a buffer that somehow grew beyond
/// [`SCRATCH`] is dropped instead of kept).
pub fn give_back(t: &mut Task, b: Vec<u8>) {
    if b.capacity() <= SCRATCH {
        t.buf = b;
    }
}

/// User memory as a list of `(address, length)` pieces (an iovec array, or one
/// buffer).
pub type Pieces = [(u64, usize)];

/// Copies `data` to the pieces, starting `at` bytes into them.
pub fn scatter(t: &Task, pieces: &Pieces, mut at: usize, mut data: &[u8]) -> Result<(), Errno> {
    for &(base, len) in pieces {
        if data.is_empty() {
            break;
        }
        if at >= len {
            at -= len;
            continue;
        }
        let k = (len - at).min(data.len());
        t.proc.write_mem(base.wrapping_add(at as u64), &data[..k])?;
        data = &data[k..];
        at = 0;
    }
    Ok(())
}

/// Fills `buf` from the pieces, starting `at` bytes into them.
pub fn gather(t: &Task, pieces: &Pieces, mut at: usize, buf: &mut [u8]) -> Result<(), Errno> {
    let mut done = 0;
    for &(base, len) in pieces {
        if done == buf.len() {
            break;
        }
        if at >= len {
            at -= len;
            continue;
        }
        let k = (len - at).min(buf.len() - done);
        t.proc
            .mm()
            .read(base.wrapping_add(at as u64), &mut buf[done..done + k])?;
        done += k;
        at = 0;
    }
    Ok(())
}

/// The file type bits of `fd` (`S_IFMT`), or 0 when fstat fails.
fn file_type(fd: i32) -> u32 {
    // SAFETY: local struct.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fstat into a local.
    if unsafe { libc::fstat(fd, &mut st) } != 0 {
        return 0;
    }
    st.st_mode & libc::S_IFMT
}

/// Whether Linux would fill a read of this descriptor as far as the data goes
/// (regular files and block devices), so that it is read chunk after chunk.
fn reads_fully(fd: i32) -> bool {
    matches!(file_type(fd), libc::S_IFREG | libc::S_IFBLK)
}

/// Whether `fd` is a socket whose messages keep their boundaries (a datagram or
/// sequenced-packet socket), which cannot be sent in chunks.
pub fn keeps_boundaries(fd: i32) -> bool {
    if file_type(fd) != libc::S_IFSOCK {
        return false;
    }
    let mut ty: i32 = 0;
    let mut len = std::mem::size_of::<i32>() as u32;
    // SAFETY: an int and its length.
    let r = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_TYPE,
            (&mut ty as *mut i32).cast(),
            &mut len,
        )
    };
    r == 0 && ty != libc::SOCK_STREAM
}

/// How many bytes of a `len`-byte send go in one host call: at most a chunk (a short
/// send on a stream socket); a larger message on a socket that keeps message
/// boundaries is `EMSGSIZE`.
pub fn send_len(fd: i32, len: usize) -> Result<usize, Errno> {
    if len <= SCRATCH {
        return Ok(len);
    }
    if keeps_boundaries(fd) {
        return Err(Errno(libc::EMSGSIZE));
    }
    Ok(SCRATCH)
}

/// What a chunked transfer returns: the bytes moved so far if any (as Linux
/// returns a partial count when a later part fails), the error otherwise.
fn partial(done: usize, e: Errno) -> SysResult {
    if done > 0 {
        Ok(done as u64)
    } else {
        Err(e)
    }
}

/// Reads from `fd` (at file position `pos` if given) into the pieces.
pub fn read_in(t: &mut Task, fd: i32, pieces: &Pieces, pos: Option<i64>) -> SysResult {
    let total = pieces.iter().map(|p| p.1).sum::<usize>().min(MAX_IO);
    let chunked = total > SCRATCH && reads_fully(fd);
    let mut buf = take(t, total);
    let mut done = 0usize;
    let r = loop {
        let want = (total - done).min(SCRATCH);
        let p = buf.as_mut_ptr().cast();
        // SAFETY: `buf` holds at least `want` bytes.
        let n = host(unsafe {
            match pos {
                Some(at) => libc::pread(fd, p, want, at.saturating_add(done as i64)) as i64,
                None => libc::read(fd, p, want) as i64,
            }
        });
        let n = match n {
            Ok(n) => n as usize,
            Err(e) => break partial(done, e),
        };
        if let Err(e) = scatter(t, pieces, done, &buf[..n]) {
            break partial(done, e);
        }
        done += n;
        if n < want || !chunked || done == total {
            break Ok(done as u64);
        }
    };
    give_back(t, buf);
    r
}

/// Writes the pieces to `fd` (at file position `pos` if given). Up to one chunk goes
/// in one host write (so that a pipe write up to `PIPE_BUF` stays atomic).
pub fn write_out(t: &mut Task, fd: i32, pieces: &Pieces, pos: Option<i64>) -> SysResult {
    let total = pieces.iter().map(|p| p.1).sum::<usize>().min(MAX_IO);
    if total > SCRATCH && keeps_boundaries(fd) {
        return Err(Errno(libc::EMSGSIZE));
    }
    let mut buf = take(t, total);
    let mut done = 0usize;
    let r = loop {
        let want = (total - done).min(SCRATCH);
        if let Err(e) = gather(t, pieces, done, &mut buf[..want]) {
            break partial(done, e);
        }
        let p = buf.as_ptr().cast();
        // SAFETY: `buf` holds `want` initialized bytes.
        let n = host(unsafe {
            match pos {
                Some(at) => libc::pwrite(fd, p, want, at.saturating_add(done as i64)) as i64,
                None => libc::write(fd, p, want) as i64,
            }
        });
        let n = match n {
            Ok(n) => n as usize,
            Err(e) => break partial(done, e),
        };
        done += n;
        if n < want || done == total {
            break Ok(done as u64);
        }
    };
    give_back(t, buf);
    r
}
