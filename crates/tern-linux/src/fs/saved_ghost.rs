//! Files unlinked while open ("ghost files", as CRIU calls them) in snapshots: a
//! regular file the program holds whose last name is gone cannot be opened again by
//! its path, so its contents (at most [`GHOST_MAX`] bytes), size and mode are
//! recorded with the first descriptor of it. A restore makes a file of that
//! content at the recorded path (or beside it, when a new file took the name),
//! opens it for every descriptor that had it, and removes its name again.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::saved_anon::CHUNK;

/// Largest ghost file a snapshot records.
pub const GHOST_MAX: u64 = 64 << 20;

/// A regular file with no name left.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GhostFile {
    /// The file (its host inode when recorded).
    pub file: u64,
    /// Permission bits.
    pub mode: u32,
    /// Its size.
    pub size: u64,
    /// Non-zero chunks (offset, bytes), with the first descriptor of the file.
    pub chunks: Option<Vec<(u64, Vec<u8>)>>,
}

fn last_error(what: &str) -> String {
    format!("{what}: {}", std::io::Error::last_os_error())
}

/// `fd`'s inode, mode and size when it is a regular file without a name left.
fn unlinked(fd: i32) -> Option<(u64, u32, u64)> {
    // SAFETY: fstat into a local.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is a valid stat buffer.
    let ok = unsafe { libc::fstat(fd, &mut st) } == 0;
    (ok && st.st_nlink == 0 && st.st_mode & libc::S_IFMT == libc::S_IFREG).then_some((
        st.st_ino,
        st.st_mode & 0o7777,
        st.st_size as u64,
    ))
}

/// Records `fd` if it is a ghost file (`None` otherwise); its contents if it is
/// the first descriptor of that file (`seen` holds the files recorded).
pub fn record(
    fd: i32,
    seen: &mut std::collections::BTreeSet<u64>,
) -> Result<Option<GhostFile>, String> {
    let Some((file, mode, size)) = unlinked(fd) else {
        return Ok(None);
    };
    contents(fd, (file, mode, size), seen, "a file unlinked while open").map(Some)
}

/// The record of regular file `fd` (`file`, `mode`, `size` from its stat): its
/// contents with the file's first descriptor (`seen` holds the files recorded).
fn contents(
    fd: i32,
    (file, mode, size): (u64, u32, u64),
    seen: &mut std::collections::BTreeSet<u64>,
    what: &str,
) -> Result<GhostFile, String> {
    if size > GHOST_MAX {
        return Err(format!("{what} of {size} bytes: more than {GHOST_MAX}"));
    }
    let chunks = if seen.insert(file) {
        Some(super::saved_anon::nonzero_chunks(fd, size)?)
    } else {
        None
    };
    Ok(GhostFile {
        file,
        mode,
        size,
        chunks,
    })
}

/// Records the contents of regular file `fd` for a copy or a move (see
/// [`super::binding`]): `None` if it is not a regular file; its contents with the
/// first descriptor of the file (`seen` holds the files recorded).
pub fn record_copy(
    fd: i32,
    seen: &mut std::collections::BTreeSet<u64>,
) -> Result<Option<GhostFile>, String> {
    // SAFETY: fstat into a local.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is a valid stat buffer.
    if unsafe { libc::fstat(fd, &mut st) } != 0 || st.st_mode & libc::S_IFMT != libc::S_IFREG {
        return Ok(None);
    }
    let stat = (st.st_ino, st.st_mode & 0o7777, st.st_size as u64);
    contents(fd, stat, seen, "a file to copy").map(Some)
}

/// Writes the contents of a copied file (its first descriptor's record) at guest
/// path `path`, opened by `create` (made, or emptied if there).
pub fn write_copy(
    path: &str,
    g: &GhostFile,
    create: &dyn Fn(&str) -> Result<i32, String>,
) -> Result<(), String> {
    let Some(chunks) = &g.chunks else {
        return Ok(());
    };
    check(path, g, chunks)?;
    let fd = Owned(create(path).map_err(|e| format!("{path}: {e}"))?);
    fill(fd.0, g, chunks).map_err(|e| format!("{path}: {e}"))
}

/// Whether recorded `chunks` lie within file `g` (they come from a snapshot file or a
/// migration stream: untrusted).
fn check(path: &str, g: &GhostFile, chunks: &[(u64, Vec<u8>)]) -> Result<(), String> {
    if g.size > GHOST_MAX
        || chunks
            .iter()
            .any(|(o, b)| b.len() > CHUNK || o.saturating_add(b.len() as u64) > g.size)
    {
        return Err(format!("{path}: contents outside the file"));
    }
    Ok(())
}

/// Sizes our own new descriptor `fd` as `g`, writes `chunks` and sets `g`'s mode.
fn fill(fd: i32, g: &GhostFile, chunks: &[(u64, Vec<u8>)]) -> Result<(), String> {
    // SAFETY: sizing, filling and chmod-ing a descriptor the caller owns.
    unsafe {
        if libc::ftruncate(fd, g.size as i64) < 0 {
            return Err(last_error("ftruncate"));
        }
        for (off, bytes) in chunks {
            if libc::pwrite(fd, bytes.as_ptr().cast(), bytes.len(), *off as i64)
                != bytes.len() as isize
            {
                return Err(last_error("pwrite"));
            }
        }
        // Permission bits only: a set-user-ID bit from a snapshot or a stream is
        // not trusted.
        libc::fchmod(fd, g.mode & 0o777);
    }
    Ok(())
}

/// A descriptor closed when dropped.
struct Owned(i32);

impl Drop for Owned {
    fn drop(&mut self) {
        // SAFETY: closing a descriptor this value owns.
        unsafe { libc::close(self.0) };
    }
}

/// The ghost files made again, by recorded file.
#[derive(Default)]
pub struct Ghosts {
    files: BTreeMap<u64, Owned>,
}

impl Ghosts {
    /// A new descriptor of ghost `file` opened with `flags`.
    pub fn open(&self, file: u64, flags: i32) -> Result<i32, String> {
        let held = self
            .files
            .get(&file)
            .ok_or("its file unlinked while open was not made")?;
        let path = std::ffi::CString::new(format!("/proc/self/fd/{}", held.0)).expect("no NUL");
        // SAFETY: a valid C string.
        let n = unsafe { libc::open(path.as_ptr(), flags) };
        if n < 0 {
            return Err(last_error("open"));
        }
        Ok(n)
    }
}

/// Makes the ghost files of `ghosts` (each with the path of a descriptor that had
/// it) again: created through `create` (a guest path, opened with `O_CREAT |
/// O_EXCL`), filled, then their names removed.
pub fn rebuild(
    ghosts: &[(&str, &GhostFile)],
    min_fd: i32,
    create: &dyn Fn(&str) -> Result<i32, String>,
) -> Result<Ghosts, String> {
    let mut out = Ghosts::default();
    for (path, g) in ghosts {
        let Some(chunks) = &g.chunks else { continue };
        check(path, g, chunks)?;
        if out.files.contains_key(&g.file) {
            return Err(format!("{path}: a file unlinked while open recorded twice"));
        }
        // The name, or one beside it when a new file took it.
        let fd = (0..100)
            .map(|i| match i {
                0 => create(path),
                _ => create(&format!("{path}.tern-ghost-{i}")),
            })
            .find(|r| !matches!(r, Err(e) if e.contains("exists")))
            .unwrap_or_else(|| Err("no free name".into()))
            .map_err(|e| format!("{path}: {e}"))?;
        let low = Owned(fd);
        // SAFETY: moving our own descriptor out of the guest's numbers.
        let high = unsafe { libc::fcntl(low.0, libc::F_DUPFD_CLOEXEC, min_fd) };
        if high < 0 {
            return Err(last_error("F_DUPFD"));
        }
        let held = Owned(high);
        drop(low);
        let host_path = std::fs::read_link(format!("/proc/self/fd/{}", held.0))
            .map_err(|e| format!("{path}: {e}"))?;
        let filled = fill(held.0, g, chunks);
        // The name goes again whatever happened.
        let removed = std::fs::remove_file(&host_path);
        filled.map_err(|e| format!("{path}: {e}"))?;
        removed.map_err(|e| format!("{path}: cannot remove its name again: {e}"))?;
        out.files.insert(g.file, held);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn an_unlinked_file_is_recorded_and_made_again() {
        let dir = std::env::temp_dir().join(format!("tern-ghost-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let p = dir.join("g");
        std::fs::write(&p, b"ghost data").unwrap();
        let f = std::fs::File::open(&p).unwrap();
        let mut seen = Default::default();
        assert_eq!(record(f.as_raw_fd(), &mut seen), Ok(None), "still named");
        std::fs::remove_file(&p).unwrap();
        let g = record(f.as_raw_fd(), &mut seen).unwrap().expect("a ghost");
        assert_eq!(g.size, 10);
        assert_eq!(g.chunks.as_deref().map(<[_]>::len), Some(1));
        let again = record(f.as_raw_fd(), &mut seen).unwrap().expect("a ghost");
        assert_eq!(again.chunks, None, "contents once");
        let create = |path: &str| {
            let c = std::ffi::CString::new(path).unwrap();
            // SAFETY: a valid C string.
            let n = unsafe {
                libc::open(
                    c.as_ptr(),
                    libc::O_CREAT | libc::O_EXCL | libc::O_RDWR,
                    0o600,
                )
            };
            if n < 0 {
                Err(std::io::Error::last_os_error().to_string())
            } else {
                Ok(n)
            }
        };
        let path = p.to_str().unwrap();
        let ghosts = rebuild(&[(path, &g)], 100, &create).unwrap();
        assert!(!p.exists(), "its name is gone again");
        let n = ghosts.open(g.file, libc::O_RDONLY).unwrap();
        let mut buf = [0u8; 32];
        // SAFETY: reading into a local buffer.
        let r = unsafe { libc::read(n, buf.as_mut_ptr().cast(), buf.len()) };
        assert_eq!(&buf[..r as usize], b"ghost data");
        // SAFETY: closing our descriptor.
        unsafe { libc::close(n) };
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn copied_contents_outside_their_file_write_nothing() {
        // Contents of a copied file as a hostile snapshot or migration stream could
        // state them: a chunk past the size, a size past the bound, a chunk too long.
        let cases = [
            (10, vec![(8u64, vec![1u8; 4])]),
            (GHOST_MAX + 1, vec![(0, vec![1u8; 4])]),
            (u64::MAX, vec![(u64::MAX - 1, vec![1u8; 4])]),
            (2 * CHUNK as u64, vec![(0, vec![1u8; CHUNK + 1])]),
        ];
        for (size, chunks) in cases {
            let g = GhostFile {
                file: 1,
                mode: 0o4755,
                size,
                chunks: Some(chunks),
            };
            let made = std::cell::Cell::new(false);
            let create = |_: &str| -> Result<i32, String> {
                made.set(true);
                Err("not to be made".into())
            };
            let e = write_copy("/data/f", &g, &create).expect_err("refused");
            assert!(e.contains("outside the file"), "{e}");
            assert!(!made.get(), "a file was made for size {size}");
        }
    }
}
