//! Where a snapshot's bytes come from when reading: a file (the normal case, whose
//! pages can be mapped) or a byte buffer (tests, fuzzing, snapshots received over a
//! stream).

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The bytes of one snapshot file.
pub(crate) enum Storage {
    /// An open file; reads use positional I/O, so one `File` serves many threads.
    File {
        /// The open file.
        file: File,
        /// Its path (for messages and for resolving a parent's relative path).
        path: PathBuf,
        /// Its length when opened.
        len: u64,
    },
    /// The whole snapshot in memory.
    Bytes(Vec<u8>),
}

impl Storage {
    /// Opens a snapshot file for reading.
    pub fn open(path: &Path) -> Result<Storage> {
        let file = File::open(path).map_err(|e| Error::io(path, "cannot open", e))?;
        let len = file
            .metadata()
            .map_err(|e| Error::io(path, "cannot stat", e))?
            .len();
        Ok(Storage::File {
            file,
            path: path.to_path_buf(),
            len,
        })
    }

    /// Length of the snapshot in bytes.
    pub fn len(&self) -> u64 {
        match self {
            Storage::File { len, .. } => *len,
            Storage::Bytes(b) => b.len() as u64,
        }
    }

    /// The file's path, or a placeholder for in-memory snapshots.
    pub fn path(&self) -> &Path {
        match self {
            Storage::File { path, .. } => path,
            Storage::Bytes(_) => Path::new("<memory>"),
        }
    }

    /// The open file, if the snapshot is one.
    pub fn file(&self) -> Option<&File> {
        match self {
            Storage::File { file, .. } => Some(file),
            Storage::Bytes(_) => None,
        }
    }

    /// Fills `buf` from `offset`. A range past the end is an error (the file shrank
    /// under us, or a caller bug), never a panic.
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        let res = match self {
            Storage::File { file, .. } => read_exact_at(file, offset, buf),
            Storage::Bytes(b) => {
                let end = offset.checked_add(buf.len() as u64);
                match end {
                    Some(end) if end <= b.len() as u64 => {
                        buf.copy_from_slice(&b[offset as usize..end as usize]);
                        Ok(())
                    }
                    _ => Err(io::Error::from(io::ErrorKind::UnexpectedEof)),
                }
            }
        };
        res.map_err(|e| {
            let what = if e.kind() == io::ErrorKind::UnexpectedEof {
                "cannot read: the file is shorter than when it was opened"
            } else {
                "cannot read"
            };
            Error::io(self.path(), what, e)
        })
    }

    /// Reads `len` bytes at `offset` into a new vector. Callers have checked the range
    /// against the file length, which bounds the allocation.
    pub fn read_vec(&self, offset: u64, len: u64) -> Result<Vec<u8>> {
        let len = usize::try_from(len).map_err(|_| {
            Error::io(
                self.path(),
                "cannot read",
                io::Error::from(io::ErrorKind::OutOfMemory),
            )
        })?;
        let mut v = vec![0u8; len];
        self.read_at(offset, &mut v)?;
        Ok(v)
    }
}

#[cfg(unix)]
fn read_exact_at(file: &File, offset: u64, buf: &mut [u8]) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(not(unix))]
fn read_exact_at(file: &File, mut offset: u64, mut buf: &mut [u8]) -> io::Result<()> {
    while !buf.is_empty() {
        match std::os::windows::fs::FileExt::seek_read(file, buf, offset)? {
            0 => return Err(io::Error::from(io::ErrorKind::UnexpectedEof)),
            n => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
        }
    }
    Ok(())
}
