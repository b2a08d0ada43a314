//! Disk records: which image a disk was backed by, and a fingerprint of its content, so
//! that a restore refuses to run a guest against an image that changed under it (the
//! guest's page cache and file system state would no longer match the disk).
//!
//! The fingerprint is a trade-off between cost and certainty:
//!
//! - size and modification time alone cost nothing, but miss tools that preserve the
//!   mtime and flag a harmless `cp` to another host;
//! - BLAKE3 of the whole image ([`FingerprintMode::Full`]) is certain but reads the
//!   image: about 0.3 s per GiB here, paid at every snapshot and every restore;
//! - BLAKE3 of 64 sampled 64 KiB blocks spread evenly over the image plus its size
//!   ([`FingerprintMode::Sampled`], the default) reads 4 MiB whatever the image's size
//!   (milliseconds). It catches replaced, resized, reformatted or re-created images and
//!   most writes through a file system (whose metadata sits at sampled places), but not
//!   a lone write to an unsampled block: that is what the mtime is kept for, and a
//!   mtime difference with matching samples is reported for the caller to decide.

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::time::UNIX_EPOCH;

use crate::codec::{Dec, Enc};
use crate::error::{Error, Result};

/// Block size of a sampled fingerprint.
pub const SAMPLE_BLOCK: u32 = 64 * 1024;
/// Number of sampled blocks.
pub const SAMPLE_BLOCKS: u32 = 64;
/// Longest image path stored.
const MAX_PATH: usize = 4096;
/// Longest image format name.
const MAX_FORMAT: usize = 32;

/// How much content a fingerprint hashes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FingerprintMode {
    /// Size and modification time only.
    Metadata,
    /// Size, mtime and BLAKE3 of evenly spread sample blocks (the default).
    Sampled,
    /// Size, mtime and BLAKE3 of the whole image.
    Full,
}

/// The content part of a fingerprint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContentHash {
    /// Nothing hashed.
    None,
    /// BLAKE3 of `blocks` blocks of `block_size` bytes (see [`FingerprintMode::Sampled`]).
    Sampled {
        /// Bytes per sampled block.
        block_size: u32,
        /// Number of blocks.
        blocks: u32,
        /// The digest.
        digest: [u8; 32],
    },
    /// BLAKE3 of the whole image.
    Full([u8; 32]),
}

/// What identifies an image's content.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fingerprint {
    /// Image size in bytes.
    pub size: u64,
    /// Modification time, nanoseconds since the Unix epoch.
    pub mtime_unix_ns: u64,
    /// Content hash.
    pub content: ContentHash,
}

/// How an image compares with its fingerprint when it did not change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FingerprintMatch {
    /// Everything the fingerprint holds matches.
    Same,
    /// Size and sampled content match but the mtime differs: the image was copied or
    /// touched, or written where no sample looked. The caller decides (tern refuses
    /// unless told otherwise).
    MtimeDiffers,
}

/// A disk of the VM as the snapshot records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiskRecord {
    /// Path of the image (as the VM was started with).
    pub path: String,
    /// Image format ("raw", "qcow2").
    pub format: String,
    /// Whether the guest saw the disk read-only.
    pub read_only: bool,
    /// Fingerprint of the image when the snapshot was taken.
    pub fingerprint: Fingerprint,
}

impl DiskRecord {
    /// Records the image at `path` now.
    pub fn capture(
        path: &Path,
        format: &str,
        read_only: bool,
        mode: FingerprintMode,
    ) -> Result<DiskRecord> {
        let text = path
            .to_str()
            .ok_or_else(|| Error::Usage(format!("disk path {path:?} is not UTF-8")))?;
        Ok(DiskRecord {
            path: text.to_string(),
            format: format.to_string(),
            read_only,
            fingerprint: Fingerprint::compute(path, mode)?,
        })
    }

    /// Checks that the image at the recorded path still matches; `disk` names it in
    /// errors.
    pub fn check(&self, disk: &str) -> Result<FingerprintMatch> {
        self.fingerprint.check(disk, Path::new(&self.path))
    }

    pub(crate) fn encode(&self, name: &str) -> Result<Vec<u8>> {
        if self.path.is_empty() || self.path.len() > MAX_PATH || self.format.len() > MAX_FORMAT {
            return Err(Error::Usage(format!(
                "disk `{name}`: path must have 1 to {MAX_PATH} bytes and format at most {MAX_FORMAT}"
            )));
        }
        let f = &self.fingerprint;
        let mut e = Enc::default();
        e.u64(f.size);
        e.u64(f.mtime_unix_ns);
        let (kind, block, blocks, digest) = match f.content {
            ContentHash::None => (0, 0, 0, [0; 32]),
            ContentHash::Sampled {
                block_size,
                blocks,
                digest,
            } => (1, block_size, blocks, digest),
            ContentHash::Full(d) => (2, 0, 0, d),
        };
        e.u8(kind);
        e.u8(self.read_only as u8);
        e.u16(0);
        e.u32(block);
        e.u32(blocks);
        e.bytes(&digest);
        e.str16(&self.path);
        e.str16(&self.format);
        Ok(e.buf)
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<DiskRecord, String> {
        let mut d = Dec::new(bytes);
        let size = d.u64()?;
        let mtime_unix_ns = d.u64()?;
        let kind = d.u8()?;
        let read_only = match d.u8()? {
            0 => false,
            1 => true,
            v => return Err(format!("read-only flag is {v}")),
        };
        if d.u16()? != 0 {
            return Err("reserved bytes are not zero".into());
        }
        let block_size = d.u32()?;
        let blocks = d.u32()?;
        let digest = d.bytes32()?;
        let path = d.str16("the image path")?;
        let format = d.str16("the image format")?;
        d.finish("disk record")?;
        let content = match (kind, block_size, blocks) {
            (0, 0, 0) if digest == [0; 32] => ContentHash::None,
            (1, 4096..=0x100_0000, 1..=4096) => ContentHash::Sampled {
                block_size,
                blocks,
                digest,
            },
            (2, 0, 0) => ContentHash::Full(digest),
            _ => return Err(format!("unknown or malformed fingerprint kind {kind}")),
        };
        if path.is_empty() || path.len() > MAX_PATH || format.len() > MAX_FORMAT {
            return Err("image path or format has a bad length".into());
        }
        Ok(DiskRecord {
            path,
            format,
            read_only,
            fingerprint: Fingerprint {
                size,
                mtime_unix_ns,
                content,
            },
        })
    }
}

impl Fingerprint {
    /// Fingerprints the image at `path`.
    pub fn compute(path: &Path, mode: FingerprintMode) -> Result<Fingerprint> {
        let (size, mtime_unix_ns) = stat(path)?;
        let content = match mode {
            FingerprintMode::Metadata => ContentHash::None,
            FingerprintMode::Sampled => ContentHash::Sampled {
                block_size: SAMPLE_BLOCK,
                blocks: SAMPLE_BLOCKS,
                digest: sampled_hash(path, size, SAMPLE_BLOCK, SAMPLE_BLOCKS)?,
            },
            FingerprintMode::Full => ContentHash::Full(full_hash(path)?),
        };
        Ok(Fingerprint {
            size,
            mtime_unix_ns,
            content,
        })
    }

    /// Compares the image at `path` with this fingerprint: an error names what changed.
    pub fn check(&self, disk: &str, path: &Path) -> Result<FingerprintMatch> {
        let changed = |what: String| Error::DiskChanged {
            disk: disk.to_string(),
            what,
        };
        let (size, mtime) = stat(path)?;
        if size != self.size {
            return Err(changed(format!(
                "`{}` has {size} bytes, the snapshot was taken with {}",
                path.display(),
                self.size
            )));
        }
        let same_mtime = mtime == self.mtime_unix_ns;
        match self.content {
            ContentHash::None if same_mtime => Ok(FingerprintMatch::Same),
            ContentHash::None => Err(changed(format!(
                "`{}` was modified after the snapshot (no content hash to compare)",
                path.display()
            ))),
            ContentHash::Sampled {
                block_size,
                blocks,
                digest,
            } => {
                if sampled_hash(path, size, block_size, blocks)? != digest {
                    return Err(changed(format!(
                        "`{}` differs in sampled blocks",
                        path.display()
                    )));
                }
                Ok(if same_mtime {
                    FingerprintMatch::Same
                } else {
                    FingerprintMatch::MtimeDiffers
                })
            }
            ContentHash::Full(digest) => {
                if full_hash(path)? != digest {
                    return Err(changed(format!("`{}` has other content", path.display())));
                }
                Ok(FingerprintMatch::Same)
            }
        }
    }
}

/// Size and mtime of a file.
fn stat(path: &Path) -> Result<(u64, u64)> {
    let md = std::fs::metadata(path).map_err(|e| Error::io(path, "cannot stat disk image", e))?;
    let mtime = md
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as u64);
    Ok((md.len(), mtime))
}

/// BLAKE3 over the size and `blocks` blocks spread evenly from the first to the last
/// byte (all of the image when it is smaller than the samples).
fn sampled_hash(path: &Path, size: u64, block: u32, blocks: u32) -> Result<[u8; 32]> {
    let file = File::open(path).map_err(|e| Error::io(path, "cannot open disk image", e))?;
    let mut h = blake3::Hasher::new();
    h.update(b"tern disk samples v1");
    h.update(&size.to_le_bytes());
    let block = u64::from(block);
    let mut buf = vec![0u8; block as usize];
    let starts: Vec<u64> = if size <= block * u64::from(blocks) {
        (0..size.div_ceil(block)).map(|i| i * block).collect()
    } else {
        let span = size - block;
        let last = u64::from(blocks - 1).max(1);
        (0..u64::from(blocks))
            .map(|i| (span / last * i) & !4095)
            .collect()
    };
    for start in starts {
        let n = block.min(size - start) as usize;
        read_at(&file, start, &mut buf[..n])
            .map_err(|e| Error::io(path, "cannot read disk image", e))?;
        h.update(&start.to_le_bytes());
        h.update(&buf[..n]);
    }
    Ok(*h.finalize().as_bytes())
}

/// BLAKE3 of the whole file.
fn full_hash(path: &Path) -> Result<[u8; 32]> {
    let mut file = File::open(path).map_err(|e| Error::io(path, "cannot open disk image", e))?;
    let mut h = blake3::Hasher::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                h.update(&buf[..n]);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io(path, "cannot read disk image", e)),
        }
    }
    Ok(*h.finalize().as_bytes())
}

#[cfg(unix)]
fn read_at(file: &File, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(not(unix))]
fn read_at(mut file: &File, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
    use std::io::{Seek, SeekFrom};
    file.seek(SeekFrom::Start(offset))?;
    file.read_exact(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn image(bytes: &[u8]) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(bytes).unwrap();
        f.flush().unwrap();
        f
    }

    #[test]
    fn record_round_trip() {
        let img = image(&vec![7u8; 100_000]);
        for mode in [
            FingerprintMode::Metadata,
            FingerprintMode::Sampled,
            FingerprintMode::Full,
        ] {
            let r = DiskRecord::capture(img.path(), "raw", false, mode).unwrap();
            assert_eq!(DiskRecord::decode(&r.encode("vda").unwrap()).unwrap(), r);
            assert_eq!(r.check("vda").unwrap(), FingerprintMatch::Same);
        }
    }

    #[test]
    fn changes_are_caught() {
        let big: Vec<u8> = (0..8u32 << 20).map(|i| (i / 4096) as u8).collect();
        let img = image(&big);
        let sampled = Fingerprint::compute(img.path(), FingerprintMode::Sampled).unwrap();
        let full = Fingerprint::compute(img.path(), FingerprintMode::Full).unwrap();
        // A write at the very start (where a file system keeps its superblock).
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(img.path())
            .unwrap();
        std::os::unix::fs::FileExt::write_all_at(&f, b"changed", 1024).unwrap();
        let e = sampled.check("vda", img.path()).unwrap_err().to_string();
        assert!(
            e.starts_with("disk `vda` changed since the snapshot"),
            "{e}"
        );
        assert!(full.check("vda", img.path()).is_err());
        // A resize.
        f.set_len(1 << 20).unwrap();
        assert!(sampled
            .check("vda", img.path())
            .unwrap_err()
            .to_string()
            .contains("bytes"));
    }
}
