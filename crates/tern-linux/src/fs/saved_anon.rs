//! memfds and timerfds in snapshots: descriptors without a path, recorded by what
//! they hold and made anew on restore.
//!
//! - A memfd (`/memfd:NAME` to the host) keeps its name, size, seals and contents
//!   (the non-zero 64 KiB chunks; at most [`MEMFD_MAX`] bytes); the restore makes
//!   a memfd of the same name with sealing allowed, fills it, and adds the seals
//!   (`F_SEAL_SEAL` among them for one made without `MFD_ALLOW_SEALING`).
//! - A timerfd keeps its clock, its time to the next expiry and interval
//!   (`timerfd_gettime`: relative, as the interval timers are kept) and the
//!   expirations not yet read (`ticks` in fdinfo, put back with
//!   `TFD_IOC_SET_TICKS` where the host allows it). An absolute timer is armed
//!   again relative to the restore, as it was to the snapshot.
//!
//! Recording runs on a guest thread (the descriptors are the guest's).

use serde::{Deserialize, Serialize};

/// Largest memfd a snapshot records.
pub const MEMFD_MAX: u64 = 1 << 30;
/// Chunk size of recorded memfd and ghost-file contents.
pub(crate) const CHUNK: usize = 1 << 16;

/// A memfd.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemFdState {
    /// The name given to `memfd_create`.
    pub name: String,
    /// Its size.
    pub size: u64,
    /// `F_GET_SEALS`.
    pub seals: i32,
    /// Non-zero chunks: (offset, bytes).
    pub chunks: Vec<(u64, Vec<u8>)>,
}

/// A timerfd.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimerFdState {
    /// The clock (`CLOCK_REALTIME`, `CLOCK_MONOTONIC`, `CLOCK_BOOTTIME`...).
    pub clock: i32,
    /// `struct itimerspec` from `timerfd_gettime` (interval, then value).
    pub spec: [i64; 4],
    /// Expirations not yet read.
    pub ticks: u64,
}

/// The first `size` bytes of `fd` (or fewer, at its end) as (offset, bytes) chunks of
/// at most [`CHUNK`] bytes, all-zero chunks left out; the file position is untouched.
/// Shared by the memfd and ghost-file records.
pub(crate) fn nonzero_chunks(fd: i32, size: u64) -> Result<Vec<(u64, Vec<u8>)>, String> {
    let mut chunks = Vec::new();
    let mut buf = vec![0u8; CHUNK];
    let mut off = 0u64;
    while off < size {
        let want = (size - off).min(CHUNK as u64) as usize;
        // SAFETY: reading into `buf` at an offset; the file position is untouched.
        let n = unsafe { libc::pread(fd, buf.as_mut_ptr().cast(), want, off as i64) };
        if n < 0 {
            return Err(last_error("pread"));
        }
        if n == 0 {
            break;
        }
        let n = n as usize;
        if buf[..n].iter().any(|&b| b != 0) {
            chunks.push((off, buf[..n].to_vec()));
        }
        off += n as u64;
    }
    Ok(chunks)
}

fn last_error(what: &str) -> String {
    format!("{what}: {}", std::io::Error::last_os_error())
}

/// The memfd name in a host link target `/memfd:NAME (deleted)`, if it is one.
pub fn memfd_name(link: &str) -> Option<&str> {
    let rest = link.strip_prefix("/memfd:")?;
    Some(rest.strip_suffix(" (deleted)").unwrap_or(rest))
}

/// Records memfd `fd` named `name`.
pub fn record_memfd(fd: i32, name: &str) -> Result<MemFdState, String> {
    // SAFETY: fstat into a local.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is a valid stat buffer.
    if unsafe { libc::fstat(fd, &mut st) } < 0 {
        return Err(last_error("fstat"));
    }
    let size = st.st_size as u64;
    if size > MEMFD_MAX {
        return Err(format!("a memfd of {size} bytes: more than {MEMFD_MAX}"));
    }
    // SAFETY: fcntl query.
    let seals = unsafe { libc::fcntl(fd, libc::F_GET_SEALS) };
    if seals < 0 {
        return Err(last_error("F_GET_SEALS"));
    }
    let chunks = nonzero_chunks(fd, size)?;
    Ok(MemFdState {
        name: name.to_string(),
        size,
        seals,
        chunks,
    })
}

/// Makes the memfd `m` describes; returns its descriptor (close-on-exec).
pub fn make_memfd(m: &MemFdState) -> Result<i32, String> {
    if m.size > MEMFD_MAX
        || m.chunks
            .iter()
            .any(|(off, b)| b.len() > CHUNK || off.saturating_add(b.len() as u64) > m.size)
    {
        return Err(format!("memfd {:?}: contents outside its size", m.name));
    }
    let name =
        std::ffi::CString::new(m.name.clone()).map_err(|_| format!("memfd name {:?}", m.name))?;
    // SAFETY: a valid C string.
    let fd =
        unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING) };
    if fd < 0 {
        return Err(last_error("memfd_create"));
    }
    let fail = |what: &str| {
        let e = last_error(what);
        // SAFETY: closing our own new descriptor.
        unsafe { libc::close(fd) };
        Err(e)
    };
    // SAFETY: sizing our own memfd.
    if unsafe { libc::ftruncate(fd, m.size as i64) } < 0 {
        return fail("ftruncate");
    }
    for (off, bytes) in &m.chunks {
        // SAFETY: writing from `bytes` at an offset inside the size.
        if unsafe { libc::pwrite(fd, bytes.as_ptr().cast(), bytes.len(), *off as i64) }
            != bytes.len() as isize
        {
            return fail("pwrite");
        }
    }
    // SAFETY: adding seals to our own memfd.
    if m.seals != 0 && unsafe { libc::fcntl(fd, libc::F_ADD_SEALS, m.seals) } < 0 {
        return fail("F_ADD_SEALS");
    }
    Ok(fd)
}

/// Records timerfd `fd` (`clock` and `ticks` from its fdinfo).
pub fn record_timerfd(fd: i32, clock: i32, ticks: u64) -> Result<TimerFdState, String> {
    let mut spec = [0i64; 4];
    // SAFETY: a struct itimerspec is four 64-bit fields on the host.
    if unsafe { libc::syscall(libc::SYS_timerfd_gettime, fd, spec.as_mut_ptr()) } < 0 {
        return Err(last_error("timerfd_gettime"));
    }
    Ok(TimerFdState { clock, spec, ticks })
}

/// `TFD_IOC_SET_TICKS` (`_IOW('T', 0, u64)`).
const TFD_IOC_SET_TICKS: u64 = 0x4008_5400;

/// Makes the timerfd `t` describes; returns its descriptor (close-on-exec).
pub fn make_timerfd(t: &TimerFdState) -> Result<i32, String> {
    if t.spec.iter().any(|&v| v < 0) || t.spec[1] >= 1_000_000_000 || t.spec[3] >= 1_000_000_000 {
        return Err("a timerfd's times are out of range".into());
    }
    // SAFETY: integer arguments.
    let fd = unsafe { libc::timerfd_create(t.clock, libc::TFD_CLOEXEC) };
    if fd < 0 {
        return Err(last_error(&format!("timerfd_create(clock {})", t.clock)));
    }
    let mut spec = t.spec;
    if spec[2] == 0 && spec[3] == 0 && (spec[0] != 0 || spec[1] != 0) {
        // A periodic timer reads as running: never zero, but be safe.
        spec[3] = 1;
    }
    if spec.iter().any(|&v| v != 0) {
        // SAFETY: a struct itimerspec from a local; no old value asked for.
        let r = unsafe {
            libc::syscall(
                libc::SYS_timerfd_settime,
                fd,
                0,
                spec.as_ptr(),
                std::ptr::null_mut::<i64>(),
            )
        };
        if r < 0 {
            let e = last_error("timerfd_settime");
            // SAFETY: closing our own new descriptor.
            unsafe { libc::close(fd) };
            return Err(e);
        }
    }
    if t.ticks > 0 {
        // Without CONFIG_CHECKPOINT_RESTORE the expirations not yet read are lost.
        // SAFETY: the ioctl reads a u64 from a local.
        unsafe { libc::ioctl(fd, TFD_IOC_SET_TICKS as _, &t.ticks) };
    }
    Ok(fd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memfd_names_are_read_from_links() {
        assert_eq!(memfd_name("/memfd:state (deleted)"), Some("state"));
        assert_eq!(memfd_name("/memfd:x"), Some("x"));
        assert_eq!(memfd_name("/tmp/memfd:x"), None);
    }

    #[test]
    fn a_memfd_is_made_again_with_contents_and_seals() {
        let m = MemFdState {
            name: "t".into(),
            size: 200_000,
            seals: libc::F_SEAL_SHRINK,
            chunks: vec![(65536, b"abc".to_vec())],
        };
        let fd = make_memfd(&m).unwrap();
        let back = record_memfd(fd, "t").unwrap();
        assert_eq!(
            (back.size, back.seals, back.chunks.len()),
            (m.size, m.seals, 1)
        );
        let (off, bytes) = &back.chunks[0];
        assert_eq!(*off, 65536, "only the non-zero chunk");
        assert!(bytes.starts_with(b"abc") && bytes[3..].iter().all(|&b| b == 0));
        // SAFETY: closing our descriptor.
        unsafe { libc::close(fd) };
        let bad = MemFdState {
            chunks: vec![(199_999, b"ab".to_vec())],
            ..m
        };
        assert!(make_memfd(&bad).is_err());
    }

    #[test]
    fn a_timerfd_is_armed_again() {
        let t = TimerFdState {
            clock: libc::CLOCK_MONOTONIC,
            spec: [0, 50_000_000, 5, 0],
            ticks: 0,
        };
        let fd = make_timerfd(&t).unwrap();
        let back = record_timerfd(fd, libc::CLOCK_MONOTONIC, 0).unwrap();
        assert_eq!(back.spec[..2], t.spec[..2]);
        assert!(back.spec[2] == 4 || back.spec[2] == 5, "{:?}", back.spec);
        // SAFETY: closing our descriptor.
        unsafe { libc::close(fd) };
        let bad = TimerFdState {
            spec: [0, -1, 0, 0],
            ..t
        };
        assert!(make_timerfd(&bad).is_err());
    }
}
