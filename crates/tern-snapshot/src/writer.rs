//! Writing a snapshot file.
//!
//! The writer streams sections in the order the caller adds them, each written once and
//! never revisited, then appends the table of contents and finally fills in the header
//! page it reserved at the start. [`SnapshotWriter::create`] writes to a temporary file
//! beside the target and renames it into place when finished, so a snapshot path
//! never holds a half-written file (a crash leaves the old snapshot, or none), and
//! replaces only a snapshot file (see [`crate::check_target`]).

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::disk::DiskRecord;
use crate::error::{Error, Result};
use crate::header::{
    check_strings, Header, Layout, ParentRef, VmKind, FORMAT_VERSION, HEADER_AREA,
};
use crate::memory::write::{write_region, Compression};
use crate::memory::{MemoryStats, PageSource, Pages, Region, PAGE_SIZE};
use crate::overlay::{write_overlay, OverlayExtent, OverlayGeometry, OverlayOut};
use crate::toc::{self, max_raw_len, valid_name, SectionKind, TocEntry, FLAG_ZSTD};
use crate::SnapshotId;

/// What the caller says about the VM being saved.
#[derive(Clone, Debug)]
pub struct SnapshotMeta {
    /// Guest architecture, e.g. "riscv64".
    pub arch: String,
    /// System or process VM.
    pub vm_kind: VmKind,
    /// The producing tern version (informational).
    pub tern_version: String,
    /// For an incremental snapshot, the snapshot it builds on.
    pub parent: Option<ParentRef>,
}

impl SnapshotMeta {
    /// A full snapshot of a `vm_kind` guest of architecture `arch`, produced by this
    /// crate's version of tern.
    pub fn new(arch: &str, vm_kind: VmKind) -> SnapshotMeta {
        SnapshotMeta {
            arch: arch.to_string(),
            vm_kind,
            tern_version: env!("CARGO_PKG_VERSION").to_string(),
            parent: None,
        }
    }

    /// The same, as an incremental snapshot on top of `parent`.
    pub fn with_parent(mut self, parent: ParentRef) -> SnapshotMeta {
        self.parent = Some(parent);
        self
    }
}

/// Where uncompressed memory pages go in the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemoryLayout {
    /// Page `i` of a region at `data start + i * 4096`, zero pages left as holes of a
    /// sparse file: a restore maps a whole region with one `mmap`, however scattered
    /// its pages are. The file's apparent size includes the region's full size; its
    /// disk usage only the pages stored (`cp` keeps holes; copying through a pipe
    /// fills them with zeros, which is still a valid file).
    Identity,
    /// Stored pages back to back: the smallest apparent size, one mapping per run of
    /// consecutive non-zero pages.
    Dense,
}

/// How to write.
#[derive(Clone, Debug)]
pub struct WriteOptions {
    /// zstd level for memory, state sections and disk overlays; `None` stores
    /// everything uncompressed, which keeps all memory mappable on restore.
    pub zstd_level: Option<i32>,
    /// Layout of uncompressed memory (compressed memory is always dense).
    pub memory_layout: MemoryLayout,
    /// Threads for compression (default: the host's available parallelism).
    pub threads: usize,
    /// fsync the file before renaming it into place ([`SnapshotWriter::create`]).
    pub sync: bool,
}

impl Default for WriteOptions {
    fn default() -> WriteOptions {
        WriteOptions {
            zstd_level: None,
            memory_layout: MemoryLayout::Identity,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            sync: true,
        }
    }
}

/// What [`SnapshotWriter::finish`] reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Summary {
    /// The new snapshot's id.
    pub id: SnapshotId,
    /// Length of the file.
    pub file_len: u64,
    /// Memory totals over all regions.
    pub memory: MemoryStats,
}

/// A sink that counts its position.
pub(crate) struct Out<W: Write + Seek> {
    w: BufWriter<W>,
    pos: u64,
    path: PathBuf,
}

/// Zero gaps up to this size are written rather than skipped: a seek costs a flush
/// and a system call, a page of zeros costs a copy.
const SMALL_GAP: u64 = PAGE_SIZE;

impl<W: Write + Seek> Out<W> {
    pub fn pos(&self) -> u64 {
        self.pos
    }

    pub fn write(&mut self, b: &[u8]) -> Result<()> {
        self.w
            .write_all(b)
            .map_err(|e| Error::io(&self.path, "cannot write", e))?;
        self.pos += b.len() as u64;
        Ok(())
    }

    /// Moves forward to `pos`, leaving a hole (sparse file) unless the gap is small.
    pub fn skip_to(&mut self, pos: u64) -> Result<()> {
        const ZEROS: [u8; SMALL_GAP as usize] = [0; SMALL_GAP as usize];
        debug_assert!(pos >= self.pos);
        let gap = pos.saturating_sub(self.pos);
        if gap <= SMALL_GAP {
            return self.write(&ZEROS[..gap as usize]);
        }
        self.w
            .seek(SeekFrom::Start(pos))
            .map_err(|e| Error::io(&self.path, "cannot seek", e))?;
        self.pos = pos;
        Ok(())
    }

    /// Makes the output at least `end` bytes long (a zero byte at `end - 1`) without
    /// moving: later writes into the hole then need no change of the file's size,
    /// which makes scattered writes into a sparse file markedly cheaper on ext4.
    pub fn extend_to(&mut self, end: u64) -> Result<()> {
        if end <= self.pos {
            return Ok(());
        }
        let res = (|| {
            self.w.seek(SeekFrom::Start(end - 1))?;
            self.w.write_all(&[0])?;
            self.w.seek(SeekFrom::Start(self.pos)).map(drop)
        })();
        res.map_err(|e| Error::io(&self.path, "cannot write", e))
    }

    /// Writes zeros up to the next multiple of `align`.
    pub fn pad_to(&mut self, align: u64) -> Result<()> {
        const ZEROS: [u8; PAGE_SIZE as usize] = [0; PAGE_SIZE as usize];
        let n = (align - self.pos % align) % align;
        self.write(&ZEROS[..n as usize])
    }
}

/// The temporary file of [`SnapshotWriter::create`] and where it goes when done.
struct Target {
    tmp: PathBuf,
    path: PathBuf,
}

/// Writes one snapshot. Add sections, then call [`SnapshotWriter::finish`].
pub struct SnapshotWriter<W: Write + Seek> {
    out: Option<Out<W>>,
    header: Header,
    entries: Vec<TocEntry>,
    opts: WriteOptions,
    memory: MemoryStats,
    target: Option<Target>,
}

impl SnapshotWriter<File> {
    /// Starts writing the snapshot file `path` (through a fresh temporary file beside
    /// it, renamed when finished; dropped unfinished, the temporary file is removed).
    /// Refuses a `path` where something other than a tern snapshot is, then and at
    /// the rename (see [`check_target`](crate::check_target)).
    pub fn create(path: &Path, meta: SnapshotMeta, opts: WriteOptions) -> Result<Self> {
        crate::target::check_target(path)?;
        let (file, tmp) = crate::target::create_temp(path)?;
        match SnapshotWriter::start(file, &tmp, meta, opts) {
            Ok(mut w) => {
                w.target = Some(Target {
                    tmp,
                    path: path.to_path_buf(),
                });
                Ok(w)
            }
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                Err(e)
            }
        }
    }
}

impl<W: Write + Seek> SnapshotWriter<W> {
    /// Starts writing a snapshot into `w` (a file, or a `Cursor<Vec<u8>>`), which must
    /// be empty and positioned at its start.
    pub fn new(w: W, meta: SnapshotMeta, opts: WriteOptions) -> Result<Self> {
        SnapshotWriter::start(w, Path::new("<stream>"), meta, opts)
    }

    fn start(w: W, path: &Path, meta: SnapshotMeta, opts: WriteOptions) -> Result<Self> {
        check_strings(&meta.tern_version, &meta.arch, meta.parent.as_ref())?;
        let created_unix_ns = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let mut out = Out {
            w: BufWriter::with_capacity(1 << 20, w),
            pos: 0,
            path: path.to_path_buf(),
        };
        // The header page, filled in by `finish`.
        out.write(&[0; HEADER_AREA as usize])?;
        Ok(SnapshotWriter {
            out: Some(out),
            header: Header {
                format_version: FORMAT_VERSION,
                id: SnapshotId::random(),
                created_unix_ns,
                vm_kind: meta.vm_kind,
                tern_version: meta.tern_version,
                arch: meta.arch,
                parent: meta.parent,
                layout: Layout::default(),
            },
            entries: Vec::new(),
            opts,
            memory: MemoryStats::default(),
            target: None,
        })
    }

    /// The id the snapshot will have.
    pub fn id(&self) -> SnapshotId {
        self.header.id
    }

    fn out(&mut self) -> &mut Out<W> {
        self.out.as_mut().expect("writer used after finish")
    }

    fn check_new(&self, kind: SectionKind, name: &str) -> Result<()> {
        if !valid_name(name) {
            return Err(Error::Usage(format!(
                "bad section name {name:?}: use 1 to 64 letters, digits, `.`, `_` or `-`"
            )));
        }
        if self
            .entries
            .iter()
            .any(|e| e.kind == kind && e.name == name)
        {
            return Err(Error::Usage(format!(
                "{} section `{name}` added twice",
                kind.name()
            )));
        }
        Ok(())
    }

    fn compression(&self) -> Option<Compression> {
        self.opts.zstd_level.map(|level| Compression {
            level,
            threads: self.opts.threads.max(1),
        })
    }

    /// Adds the state of one component (bytes this crate does not interpret: tern
    /// writes tern-state's versioned encoding) under `name` ("hart0", "clock",
    /// "plic", "uart", "virtio1", "thread.42").
    pub fn add_state(&mut self, name: &str, bytes: &[u8]) -> Result<()> {
        self.check_new(SectionKind::State, name)?;
        let mut flags = 0;
        let mut packed = None;
        if let Some(level) = self.opts.zstd_level {
            if bytes.len() >= 256 {
                let z = zstd::bulk::compress(bytes, level)
                    .map_err(|e| Error::Usage(format!("section `{name}`: zstd failed: {e}")))?;
                let worth = (z.len() as u64) * 8 < (bytes.len() as u64) * 7;
                if worth && bytes.len() as u64 <= max_raw_len(z.len() as u64) {
                    flags = FLAG_ZSTD;
                    packed = Some(z);
                }
            }
        }
        let stored = packed.as_deref().unwrap_or(bytes);
        let out = self.out();
        out.pad_to(8)?;
        let offset = out.pos();
        out.write(stored)?;
        self.entries.push(TocEntry {
            kind: SectionKind::State,
            flags,
            name: name.to_string(),
            offset,
            len: stored.len() as u64,
            raw_len: bytes.len() as u64,
            crc: crc32c::crc32c(stored),
            aux_offset: 0,
            aux_len: 0,
        });
        Ok(())
    }

    /// Adds guest memory region `name` (e.g. "ram"), reading its pages from `src`.
    /// `pages` says which pages to look at: see [`Pages`].
    pub fn add_memory<S: PageSource + ?Sized>(
        &mut self,
        name: &str,
        region: Region,
        src: &S,
        pages: Pages<'_>,
    ) -> Result<MemoryStats> {
        self.check_new(SectionKind::Memory, name)?;
        if region.size == 0
            || !region.size.is_multiple_of(PAGE_SIZE)
            || !region.base.is_multiple_of(PAGE_SIZE)
            || region.base.checked_add(region.size).is_none()
        {
            return Err(Error::Usage(format!(
                "memory `{name}`: region {:#x}+{:#x} is not a non-empty run of whole pages",
                region.base, region.size
            )));
        }
        if matches!(pages, Pages::ChangedSinceParent(_)) && self.header.parent.is_none() {
            return Err(Error::Usage(format!(
                "memory `{name}`: changed pages only make sense in a snapshot with a parent"
            )));
        }
        let comp = self.compression();
        let identity = comp.is_none() && self.opts.memory_layout == MemoryLayout::Identity;
        let out = self.out();
        let w = write_region(out, name, region, src, pages, comp, identity)?;
        let payload = w.map.encode();
        self.push_payload(
            SectionKind::Memory,
            name,
            &payload,
            (w.data_offset, w.data_len),
        )?;
        let m = &mut self.memory;
        m.pages_considered += w.stats.pages_considered;
        m.zero_pages += w.stats.zero_pages;
        m.mapped_pages += w.stats.mapped_pages;
        m.compressed_pages += w.stats.compressed_pages;
        m.stored_bytes += w.stats.stored_bytes;
        Ok(w.stats)
    }

    /// Adds the record of disk `name` (e.g. "vda"): its image path and fingerprint.
    pub fn add_disk(&mut self, name: &str, record: &DiskRecord) -> Result<()> {
        self.check_new(SectionKind::Disk, name)?;
        let payload = record.encode(name)?;
        self.push_payload(SectionKind::Disk, name, &payload, (0, 0))
    }

    /// Adds the written blocks of disk `name` (`--include-disks`): extents of
    /// `(first sector, data)`, in increasing and non-overlapping sector order, each
    /// `data` a whole number of sectors.
    pub fn add_disk_overlay<'d>(
        &mut self,
        name: &str,
        geometry: OverlayGeometry,
        extents: impl IntoIterator<Item = (u64, &'d [u8])>,
    ) -> Result<()> {
        self.check_new(SectionKind::DiskOverlay, name)?;
        let level = self.opts.zstd_level;
        let out = self.out();
        let (payload, aux) = write_overlay(out, name, geometry, extents, level)?;
        self.push_payload(SectionKind::DiskOverlay, name, &payload, aux)
    }

    /// Adds the written blocks of disk `name` like [`SnapshotWriter::add_disk_overlay`],
    /// reading them as they are written: `read(first sector, buffer)` fills the buffer
    /// (at most [`crate::MAX_EXTENT_BYTES`]) with the disk's sectors from the first
    /// one on. Memory stays bounded however much the guest wrote. Extents must be in
    /// increasing, non-overlapping sector order; a read error fails the snapshot,
    /// naming the section and the sectors.
    pub fn add_disk_overlay_from(
        &mut self,
        name: &str,
        geometry: OverlayGeometry,
        extents: impl IntoIterator<Item = OverlayExtent>,
        mut read: impl FnMut(u64, &mut [u8]) -> std::io::Result<()>,
    ) -> Result<()> {
        self.check_new(SectionKind::DiskOverlay, name)?;
        let level = self.opts.zstd_level;
        let out = self.out();
        let mut o = OverlayOut::new(out, name, geometry, level)?;
        let mut buf = Vec::new();
        for extent in extents {
            o.push_from(extent, &mut buf, &mut read)?;
        }
        let (payload, aux) = o.finish();
        self.push_payload(SectionKind::DiskOverlay, name, &payload, aux)
    }

    /// Writes a section directory payload and its table entry.
    fn push_payload(
        &mut self,
        kind: SectionKind,
        name: &str,
        payload: &[u8],
        aux: (u64, u64),
    ) -> Result<()> {
        let out = self.out();
        out.pad_to(8)?;
        let offset = out.pos();
        out.write(payload)?;
        self.entries.push(TocEntry {
            kind,
            flags: 0,
            name: name.to_string(),
            offset,
            len: payload.len() as u64,
            raw_len: payload.len() as u64,
            crc: crc32c::crc32c(payload),
            aux_offset: aux.0,
            aux_len: aux.1,
        });
        Ok(())
    }

    /// Writes the table of contents and the header; for [`SnapshotWriter::create`],
    /// syncs and renames the file into place. Returns the summary and the sink.
    pub fn finish(mut self) -> Result<(Summary, W)> {
        let mut out = self.out.take().expect("writer used after finish");
        out.pad_to(8)?;
        let toc = toc::encode(&self.entries);
        let toc_offset = out.pos();
        out.write(&toc)?;
        self.header.layout = Layout {
            file_len: out.pos(),
            toc_offset,
            toc_len: toc.len() as u64,
            toc_crc: crc32c::crc32c(&toc),
        };
        let header = self.header.encode();
        let path = out.path.clone();
        let io = |e| Error::io(&path, "cannot write", e);
        let mut w = out.w.into_inner().map_err(|e| io(e.into_error()))?;
        w.seek(SeekFrom::Start(0)).map_err(io)?;
        w.write_all(&header).map_err(io)?;
        w.flush().map_err(io)?;
        let summary = Summary {
            id: self.header.id,
            file_len: self.header.layout.file_len,
            memory: self.memory,
        };
        if let Some(t) = self.target.take() {
            self.finish_file(&t, &mut w)?;
        }
        Ok((summary, w))
    }

    fn finish_file(&self, t: &Target, w: &mut W) -> Result<()> {
        let res = (|| {
            if self.opts.sync {
                // `W` is `File` here; flushing reached the OS, sync reaches the disk.
                w.flush()?;
                File::open(&t.tmp)?.sync_all()?;
            }
            Ok(())
        })();
        let res = res
            .map_err(|e| Error::io(&t.path, "cannot finish", e))
            .and_then(|()| crate::target::check_target(&t.path))
            .and_then(|()| {
                std::fs::rename(&t.tmp, &t.path).map_err(|e| Error::io(&t.path, "cannot finish", e))
            });
        if res.is_err() {
            let _ = std::fs::remove_file(&t.tmp);
        }
        res
    }
}

impl<W: Write + Seek> Drop for SnapshotWriter<W> {
    fn drop(&mut self) {
        if let Some(t) = self.target.take() {
            let _ = std::fs::remove_file(&t.tmp);
        }
    }
}
