//! Disk images behind a virtio-blk device: raw files and qcow2 (through `imago`,
//! whose writes `qemu-img check` accepts), optionally read-only or with a throw-away
//! copy-on-write overlay (`snapshot=on`), and the written-block tracking that lets a
//! snapshot store what the guest wrote ([`TrackedDisk`], shared through
//! [`DiskHandle`]).
//!
//! The format is always the user's: probing a raw image that a guest can write is
//! unsafe (the guest could write a qcow2 header naming a host file as backing or data
//! file), so [`DiskFormat::detect`] serves only to hint at a forgotten `format=`. A
//! qcow2 image opens only the backing and data files the user named
//! ([`NamedFiles`], see [`super::disk_files`]).

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use imago::file::File as ImagoFile;
use imago::FormatAccess;

pub use super::disk_files::{NamedFiles, MAX_BACKING_CHAIN};
pub use super::overlay::{BlockSet, Overlay, Runs, BLOCK};

/// Random access to a disk's bytes.
pub trait BlockBackend: Send {
    /// Size in bytes.
    fn size(&self) -> u64;

    /// Fills `buf` from byte `offset`; the range is inside the disk.
    fn read_at(&mut self, buf: &mut [u8], offset: u64) -> io::Result<()>;

    /// Writes `buf` at byte `offset`; the range is inside the disk.
    fn write_at(&mut self, buf: &[u8], offset: u64) -> io::Result<()>;

    /// Makes written data durable (and image metadata consistent).
    fn flush(&mut self) -> io::Result<()>;
}

/// Image format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiskFormat {
    /// Bytes as they are.
    Raw,
    /// QEMU's qcow2.
    Qcow2,
}

impl DiskFormat {
    /// qcow2 if the file starts with qcow2's magic, raw otherwise. Never use it to
    /// choose how to open an image a guest may have written (see the module
    /// documentation); it serves to hint at a forgotten `format=qcow2`.
    pub fn detect(path: &Path) -> io::Result<DiskFormat> {
        let mut magic = [0u8; 4];
        let mut f = File::open(path)?;
        let n = f.read(&mut magic)?;
        Ok(if n == 4 && magic == *b"QFI\xfb" {
            DiskFormat::Qcow2
        } else {
            DiskFormat::Raw
        })
    }
}

/// How to open a disk.
#[derive(Clone, Debug)]
pub struct DiskOptions {
    /// The image file.
    pub path: PathBuf,
    /// Its format.
    pub format: DiskFormat,
    /// The guest may not write (`VIRTIO_BLK_F_RO`); the file is opened read-only.
    pub read_only: bool,
    /// Writes go to a temporary overlay dropped with the device; the file is opened
    /// read-only (QEMU's `snapshot=on`).
    pub snapshot: bool,
    /// The files a qcow2 image's header may refer to (none for a raw image).
    pub named_files: NamedFiles,
}

impl DiskOptions {
    /// A writable image of format `format` at `path`.
    pub fn new(path: impl Into<PathBuf>, format: DiskFormat) -> DiskOptions {
        DiskOptions {
            path: path.into(),
            format,
            read_only: false,
            snapshot: false,
            named_files: NamedFiles::default(),
        }
    }

    /// Whether the guest's writes go to a throw-away overlay: `snapshot` on a disk the
    /// guest may write.
    pub fn throwaway(&self) -> bool {
        self.snapshot && !self.read_only
    }
}

/// Errors opening a disk, naming the file.
#[derive(Debug, thiserror::Error)]
#[error("disk image {path}: {source}")]
pub struct DiskError {
    /// The image.
    pub path: PathBuf,
    /// What went wrong.
    pub source: io::Error,
}

/// Opens a disk as described by `opts`.
pub fn open(opts: &DiskOptions) -> Result<Box<dyn BlockBackend>, DiskError> {
    let err = |source| DiskError {
        path: opts.path.clone(),
        source,
    };
    let writable = !opts.read_only && !opts.snapshot;
    let base: Box<dyn BlockBackend> = match opts.format {
        DiskFormat::Raw if !opts.named_files.is_empty() => {
            return Err(err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "backing and data files apply to qcow2 images only",
            )))
        }
        DiskFormat::Raw => Box::new(RawDisk::open(&opts.path, writable).map_err(err)?),
        DiskFormat::Qcow2 => {
            Box::new(Qcow2Disk::open(&opts.path, writable, &opts.named_files).map_err(err)?)
        }
    };
    if opts.throwaway() {
        return Ok(Box::new(Overlay::new(base).map_err(err)?));
    }
    Ok(base)
}

/// A disk as the virtio-blk device and the VMM share it: what the guest reads and
/// writes (an image, or an overlay over one), and which blocks the guest wrote.
///
/// Two sets of [`BLOCK`]-sized blocks are kept. `written`: the blocks written since
/// the disk was opened, which an `--include-disks` snapshot stores (a disk restored
/// from such a snapshot counts the blocks loaded from it as written: the image does
/// not hold them either). `since_mark`: the blocks written since the last
/// [`TrackedDisk::mark`] (the last snapshot taken or restored): what an incremental
/// snapshot would need to store only the blocks written since its parent (tern's
/// incremental snapshots store the whole overlay again for now, so that each file's
/// overlay is complete on its own). A block is recorded before it is written,
/// whether the write then succeeds or not, so the sets never miss a changed block (at
/// worst they hold one whose bytes did not change).
pub struct TrackedDisk {
    backend: Box<dyn BlockBackend>,
    throwaway: bool,
    written: BlockSet,
    since_mark: BlockSet,
}

impl TrackedDisk {
    /// Tracks writes to `backend`; `throwaway` says that they never reach an image
    /// file (an [`Overlay`]), so that the VMM must keep them in a snapshot.
    pub fn new(backend: Box<dyn BlockBackend>, throwaway: bool) -> TrackedDisk {
        let blocks = backend.size().div_ceil(BLOCK);
        TrackedDisk {
            backend,
            throwaway,
            written: BlockSet::new(blocks),
            since_mark: BlockSet::new(blocks),
        }
    }

    /// Opens the disk described by `opts` (see [`open`]).
    pub fn open(opts: &DiskOptions) -> Result<TrackedDisk, DiskError> {
        Ok(TrackedDisk::new(open(opts)?, opts.throwaway()))
    }

    /// Whether the guest's writes go to a throw-away overlay instead of the image.
    pub fn throwaway(&self) -> bool {
        self.throwaway
    }

    /// The blocks written since the disk was opened (or loaded when it was restored).
    pub fn written(&self) -> &BlockSet {
        &self.written
    }

    /// The blocks written since the last [`TrackedDisk::mark`].
    pub fn written_since_mark(&self) -> &BlockSet {
        &self.since_mark
    }

    /// Starts a new interval for [`TrackedDisk::written_since_mark`] (after a snapshot
    /// was written, or a restore loaded the disk).
    pub fn mark(&mut self) {
        self.since_mark.clear();
    }

    /// The runs of `set` as byte ranges of the disk (the last one ends at the disk's
    /// end, which need not be a whole block).
    pub fn byte_runs<'a>(&self, set: &'a BlockSet) -> impl Iterator<Item = Range<u64>> + 'a {
        let size = self.backend.size();
        set.runs().filter_map(move |r| {
            let start = r.start.saturating_mul(BLOCK);
            let end = r.end.saturating_mul(BLOCK).min(size);
            (start < end).then_some(start..end)
        })
    }
}

impl BlockBackend for TrackedDisk {
    fn size(&self) -> u64 {
        self.backend.size()
    }

    fn read_at(&mut self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.backend.read_at(buf, offset)
    }

    fn write_at(&mut self, buf: &[u8], offset: u64) -> io::Result<()> {
        if !buf.is_empty() {
            let end = offset.saturating_add(buf.len() as u64);
            let blocks = offset / BLOCK..end.div_ceil(BLOCK);
            self.written.insert_range(blocks.clone());
            self.since_mark.insert_range(blocks);
        }
        self.backend.write_at(buf, offset)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.backend.flush()
    }
}

/// A [`TrackedDisk`] shared between its virtio-blk device (which serves the guest's
/// requests through it) and the VMM (which reads the written blocks into a snapshot
/// while the VM is paused, or loads restored blocks before it runs).
#[derive(Clone)]
pub struct DiskHandle(Arc<Mutex<TrackedDisk>>);

impl DiskHandle {
    /// Shares `disk`.
    pub fn new(disk: TrackedDisk) -> DiskHandle {
        DiskHandle(Arc::new(Mutex::new(disk)))
    }

    /// Opens and shares the disk described by `opts`.
    pub fn open(opts: &DiskOptions) -> Result<DiskHandle, DiskError> {
        Ok(DiskHandle::new(TrackedDisk::open(opts)?))
    }

    /// The disk, for one request or one snapshot. A panic while another holder had it
    /// leaves the disk as usable as any interrupted write would.
    pub fn lock(&self) -> MutexGuard<'_, TrackedDisk> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A raw image file.
pub struct RawDisk {
    file: File,
    size: u64,
}

impl RawDisk {
    /// Opens `path`; a size that is not a multiple of 512 is rounded down (as the
    /// device counts whole sectors).
    pub fn open(path: &Path, writable: bool) -> io::Result<RawDisk> {
        let file = OpenOptions::new().read(true).write(writable).open(path)?;
        let size = file.metadata()?.len();
        Ok(RawDisk { file, size })
    }
}

impl BlockBackend for RawDisk {
    fn size(&self) -> u64 {
        self.size
    }

    fn read_at(&mut self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.file.read_exact_at(buf, offset)
    }

    fn write_at(&mut self, buf: &[u8], offset: u64) -> io::Result<()> {
        self.file.write_all_at(buf, offset)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.sync_data()
    }
}

/// A qcow2 image (with its backing chain, if any) through `imago`.
pub struct Qcow2Disk {
    image: FormatAccess<ImagoFile>,
}

impl Qcow2Disk {
    /// Opens `path` and the backing and data files its header names, each of which
    /// must be in `named` (see [`super::disk_files`]).
    pub fn open(path: &Path, writable: bool, named: &NamedFiles) -> io::Result<Qcow2Disk> {
        Ok(Qcow2Disk {
            image: super::disk_files::open_qcow2(path, writable, named)?,
        })
    }
}

impl BlockBackend for Qcow2Disk {
    fn size(&self) -> u64 {
        self.image.size()
    }

    fn read_at(&mut self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.image.read(buf, offset)
    }

    fn write_at(&mut self, buf: &[u8], offset: u64) -> io::Result<()> {
        self.image.write(buf, offset)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.image.flush()?;
        self.image.sync()
    }
}

/// A disk held in host memory (tests, and small scratch disks).
#[derive(Clone, Debug, Default)]
pub struct MemDisk {
    /// The bytes.
    pub data: Vec<u8>,
}

impl BlockBackend for MemDisk {
    fn size(&self) -> u64 {
        self.data.len() as u64
    }

    fn read_at(&mut self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let start = usize::try_from(offset).map_err(io::Error::other)?;
        let src = start
            .checked_add(buf.len())
            .and_then(|end| self.data.get(start..end))
            .ok_or_else(|| io::Error::from(io::ErrorKind::UnexpectedEof))?;
        buf.copy_from_slice(src);
        Ok(())
    }

    fn write_at(&mut self, buf: &[u8], offset: u64) -> io::Result<()> {
        let start = usize::try_from(offset).map_err(io::Error::other)?;
        let dst = start
            .checked_add(buf.len())
            .and_then(|end| self.data.get_mut(start..end))
            .ok_or_else(|| io::Error::from(io::ErrorKind::UnexpectedEof))?;
        dst.copy_from_slice(buf);
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn disk(bytes: u64) -> TrackedDisk {
        let data = (0..bytes).map(|i| (i / 512) as u8).collect();
        TrackedDisk::new(Box::new(MemDisk { data }), false)
    }

    #[test]
    fn writes_mark_the_blocks_they_touch() {
        let mut d = disk(64 * 1024 + 1024);
        d.write_at(&[1; 512], 512).unwrap();
        d.write_at(&[2; 1024], 4096 * 3 - 512).unwrap();
        d.write_at(&[3; 512], 64 * 1024 + 512).unwrap();
        let runs: Vec<_> = d.written().runs().collect();
        assert_eq!(runs, vec![0..1, 2..4, 16..17]);
        // The last block is partial: its byte run ends at the disk's end.
        let bytes: Vec<_> = d.byte_runs(d.written()).collect();
        assert_eq!(bytes.last(), Some(&(64 * 1024..64 * 1024 + 1024)));
        d.mark();
        assert!(d.written_since_mark().is_empty());
        d.write_at(&[4; 4096], 8192).unwrap();
        assert_eq!(
            d.written_since_mark().runs().collect::<Vec<_>>(),
            vec![2..3]
        );
        assert_eq!(d.written().len(), 4);
        // A failed write still counts: the blocks may have changed in part.
        assert!(d.write_at(&[5; 512], 1 << 30).is_err());
        assert_eq!(d.written().len(), 4);
        assert!(d.write_at(&[5; 1024], 64 * 1024 + 512).is_err());
        assert!(d.written().contains(16));
    }

    #[test]
    fn a_handle_shares_one_disk() {
        let h = DiskHandle::new(disk(8192));
        let h2 = h.clone();
        h.lock().write_at(&[9; 512], 4096).unwrap();
        let mut buf = [0; 512];
        h2.lock().read_at(&mut buf, 4096).unwrap();
        assert_eq!(buf, [9; 512]);
        assert_eq!(h2.lock().written().len(), 1);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

        /// The image as it was, with the written blocks' current contents laid over
        /// it, is the disk as it is: what a snapshot with `--include-disks` relies on.
        /// The same for the blocks written since a mark, over the disk at the mark.
        #[test]
        fn written_blocks_rebuild_the_disk(
            sectors in 1u64..300,
            before in prop::collection::vec((0u64..300, 1u64..20), 0..20),
            after in prop::collection::vec((0u64..300, 1u64..20), 0..20),
        ) {
            let size = sectors * 512;
            let mut d = disk(size);
            let mut image = vec![0; size as usize];
            d.read_at(&mut image, 0).unwrap();
            let write = |d: &mut TrackedDisk, ops: &[(u64, u64)], tag: u8| {
                for (i, &(sector, len)) in ops.iter().enumerate() {
                    let sector = sector % sectors;
                    let len = len.min(sectors - sector) * 512;
                    d.write_at(&vec![tag ^ i as u8; len as usize], sector * 512).unwrap();
                }
            };
            let overlay = |d: &mut TrackedDisk, under: &[u8], set: &BlockSet| {
                let mut rebuilt = under.to_vec();
                let runs: Vec<_> = d.byte_runs(set).collect();
                for r in runs {
                    let (s, e) = (r.start as usize, r.end as usize);
                    d.read_at(&mut rebuilt[s..e], r.start).unwrap();
                }
                rebuilt
            };
            write(&mut d, &before, 0x10);
            let mut at_mark = vec![0; size as usize];
            d.read_at(&mut at_mark, 0).unwrap();
            d.mark();
            write(&mut d, &after, 0x80);
            let mut now = vec![0; size as usize];
            d.read_at(&mut now, 0).unwrap();
            let written = d.written().clone();
            let since = d.written_since_mark().clone();
            prop_assert_eq!(overlay(&mut d, &image, &written), now.clone());
            prop_assert_eq!(overlay(&mut d, &at_mark, &since), now);
        }
    }
}
