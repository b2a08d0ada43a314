//! Disk images behind a virtio-blk device: raw files and qcow2 (through `imago`,
//! whose writes `qemu-img check` accepts), optionally read-only or with a throw-away
//! copy-on-write overlay (`snapshot=on`).
//!
//! Image format detection is explicit: [`DiskFormat::detect`] exists for the command
//! line, but probing a raw image that a guest can write is unsafe (the guest could
//! write a qcow2 header naming a host file as backing file), so the board should probe
//! only when the user did not say the format, as QEMU warns.

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use imago::file::File as ImagoFile;
use imago::qcow2::Qcow2;
use imago::{FormatAccess, FormatDriverBuilder, PermissiveImplicitOpenGate};

use super::overlay::Overlay;

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
    /// qcow2 if the file starts with qcow2's magic, raw otherwise (see the module
    /// documentation for why a board should not probe images by default).
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
}

impl DiskOptions {
    /// A writable image of format `format` at `path`.
    pub fn new(path: impl Into<PathBuf>, format: DiskFormat) -> DiskOptions {
        DiskOptions {
            path: path.into(),
            format,
            read_only: false,
            snapshot: false,
        }
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
        DiskFormat::Raw => Box::new(RawDisk::open(&opts.path, writable).map_err(err)?),
        DiskFormat::Qcow2 => Box::new(Qcow2Disk::open(&opts.path, writable).map_err(err)?),
    };
    if opts.snapshot && !opts.read_only {
        return Ok(Box::new(Overlay::new(base).map_err(err)?));
    }
    Ok(base)
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
    /// Opens `path` and the backing files its header names.
    pub fn open(path: &Path, writable: bool) -> io::Result<Qcow2Disk> {
        let q = Qcow2::<ImagoFile>::builder_path(path)
            .write(writable)
            .open(PermissiveImplicitOpenGate::default())?;
        Ok(Qcow2Disk {
            image: FormatAccess::new(q),
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
