//! Copying a file's contents into the frames of a new file mapping.
//!
//! A file mapping is a private copy made when it is mapped (see `syscalls::mm`), so
//! its data costs frames of the process's physical memory, the `--memory` budget.
//! The copy goes through a bounded buffer a chunk at a time, straight into the
//! area's frames; holes of sparse files (found with `SEEK_DATA`/`SEEK_HOLE` on a
//! private open file description, so the program's file offset does not move) and
//! pages that read as all zeros take no frame, because an untouched page of the area
//! reads as zeros anyway. A 1 GiB sparse file maps in no memory at all; data that
//! does not fit fails with `ENOMEM` (the caller then removes the whole area).

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use crate::errno::Errno;
use crate::mm::{Mm, PAGE};

/// Copies the file range `[off, off + len)` of `fd` into the area at `start` (which
/// must be mapped, `len` bytes long), using `buf` (non-empty) for the chunks. The
/// area is left partly filled on error.
pub fn fill(
    mm: &mut Mm,
    fd: i32,
    off: u64,
    start: u64,
    len: u64,
    buf: &mut [u8],
) -> Result<(), Errno> {
    if buf.is_empty() {
        return Err(Errno::ENOMEM);
    }
    let end = off.checked_add(len).ok_or(Errno(libc::EOVERFLOW))?;
    let holes = Holes::of(fd);
    let mut pos = off;
    while pos < end {
        let Some((data, data_end)) = holes.next_data(pos, end) else {
            return Ok(());
        };
        let mut at = data;
        while at < data_end {
            let want = ((data_end - at) as usize).min(buf.len());
            // SAFETY: `buf` holds at least `want` bytes.
            let n = unsafe { libc::pread(fd, buf.as_mut_ptr().cast(), want, at as i64) };
            if n < 0 {
                return Err(Errno::last());
            }
            if n == 0 {
                return Ok(()); // end of file: the rest of the area reads as zeros
            }
            let n = n as usize;
            store_nonzero(mm, start + (at - off), &buf[..n])?;
            at += n as u64;
        }
        pos = data_end;
    }
    Ok(())
}

/// Writes `data` at user address `va`, page by page, skipping pages (or parts of
/// pages) whose bytes are all zero.
fn store_nonzero(mm: &mut Mm, va: u64, data: &[u8]) -> Result<(), Errno> {
    let mut done = 0usize;
    while done < data.len() {
        let a = va + done as u64;
        let n = ((PAGE - (a & (PAGE - 1))) as usize).min(data.len() - done);
        let piece = &data[done..done + n];
        if piece.iter().any(|&b| b != 0) {
            mm.poke(a, piece)?;
        }
        done += n;
    }
    Ok(())
}

/// Where a file has data, from `lseek(SEEK_DATA/SEEK_HOLE)` on a private open file
/// description (or everywhere, where the file system cannot say).
struct Holes(Option<OwnedFd>);

impl Holes {
    /// Opens a private description of `fd` (through `/proc/self/fd`), if possible.
    fn of(fd: i32) -> Holes {
        let path = format!("/proc/self/fd/{fd}\0");
        // SAFETY: a NUL-terminated path; the new descriptor is owned below.
        let own = unsafe { libc::open(path.as_ptr().cast(), libc::O_RDONLY | libc::O_CLOEXEC) };
        if own < 0 {
            return Holes(None);
        }
        // SAFETY: `own` is a descriptor we just opened and own alone.
        Holes(Some(unsafe { OwnedFd::from_raw_fd(own) }))
    }

    /// The first range of data at or after `pos` and before `end`, widened to page
    /// boundaries (relative to `pos`, which is page aligned), or `None` when the
    /// rest is a hole.
    fn next_data(&self, pos: u64, end: u64) -> Option<(u64, u64)> {
        let Some(fd) = &self.0 else {
            return Some((pos, end));
        };
        let seek = |at: u64, whence: i32| {
            // SAFETY: lseek on our own description.
            let r = unsafe { libc::lseek(fd.as_raw_fd(), at as i64, whence) };
            if r < 0 {
                Err(Errno::last())
            } else {
                Ok(r as u64)
            }
        };
        let data = match seek(pos, libc::SEEK_DATA) {
            Ok(d) => d,
            Err(Errno(libc::ENXIO)) => return None,
            Err(_) => return Some((pos, end)),
        };
        let hole = seek(data, libc::SEEK_HOLE).unwrap_or(end);
        let data = pos + ((data.max(pos) - pos) & !(PAGE - 1));
        let hole = pos + (hole.max(pos) - pos).saturating_add(PAGE - 1) / PAGE * PAGE;
        if data >= end {
            return None;
        }
        Some((data, hole.max(data + PAGE).min(end)))
    }
}
