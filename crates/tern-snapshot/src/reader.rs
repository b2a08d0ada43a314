//! Opening a snapshot: check everything, once, up front.
//!
//! [`Snapshot::open`] reads the header, the table of contents and every section
//! directory (state blobs, page maps, disk records, overlay extent lists), checks all
//! their checksums and ranges, and opens the chain of parent snapshots. What it leaves
//! for later is bulk data: memory pages (checked when copied, or by
//! [`Snapshot::verify_memory`]; mapped pages are trusted, see FORMAT.md) and overlay
//! blocks (checked when read). Everything it allocates is bounded by the file's size.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::disk::DiskRecord;
use crate::error::{Error, Result};
use crate::header::{Header, VmKind, HEADER_AREA};
use crate::memory::map::PageMap;
use crate::memory::{verify_layer, MemoryView, Region};
use crate::overlay::{DiskOverlay, OverlayMap};
use crate::storage::Storage;
use crate::toc::{self, SectionKind, TocEntry, FLAG_ZSTD};
use crate::SnapshotId;

/// Longest chain of incremental snapshots a reader follows.
pub const MAX_CHAIN: usize = 64;

/// One file of a chain, parsed and checked.
pub(crate) struct Layer {
    pub storage: Storage,
    pub header: Header,
    pub entries: Vec<TocEntry>,
    pub states: Vec<(String, Vec<u8>)>,
    pub memories: Vec<(String, PageMap)>,
    pub disks: Vec<(String, DiskRecord)>,
    pub overlays: Vec<(String, OverlayMap)>,
}

impl Layer {
    pub fn memory(&self, name: &str) -> Option<&PageMap> {
        self.memories.iter().find(|m| m.0 == name).map(|m| &m.1)
    }
}

/// A section as the table of contents lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SectionInfo {
    /// Its name.
    pub name: String,
    /// Its kind.
    pub kind: SectionKind,
    /// Bytes of its payload in the file.
    pub stored_len: u64,
    /// Bytes of its payload after decompression.
    pub raw_len: u64,
    /// Bytes of bulk data (memory pages, overlay blocks).
    pub data_len: u64,
}

/// An open, checked snapshot and its parents.
pub struct Snapshot {
    /// `layers[0]` is the snapshot opened, `layers[1]` its parent, and so on.
    pub(crate) layers: Vec<Layer>,
}

impl Snapshot {
    /// Opens and checks the snapshot file `path`, and its parents if it is incremental.
    pub fn open(path: &Path) -> Result<Snapshot> {
        Snapshot::chain(parse(Storage::open(path)?)?)
    }

    /// Checks a snapshot held in memory. An incremental one fails: its parent cannot be
    /// found without a file path.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Snapshot> {
        Snapshot::chain(parse(Storage::Bytes(bytes))?)
    }

    fn chain(first: Layer) -> Result<Snapshot> {
        let mut layers = vec![first];
        loop {
            let child = &layers[layers.len() - 1];
            let Some(p) = child.header.parent.clone() else {
                break;
            };
            if layers.len() >= MAX_CHAIN {
                return Err(Error::Chain(format!(
                    "more than {MAX_CHAIN} snapshots deep"
                )));
            }
            if layers.iter().any(|l| l.header.id == p.id) {
                return Err(Error::Chain(format!(
                    "snapshot {} is its own ancestor",
                    p.id
                )));
            }
            let path = parent_path(&child.storage, &p.path_hint);
            let missing = |e: Error| Error::ParentMissing {
                id: p.id,
                path: path.clone(),
                source: Box::new(e),
            };
            if child.storage.file().is_none() {
                return Err(missing(Error::Usage(
                    "a snapshot held in memory cannot open its parent".into(),
                )));
            }
            let storage = Storage::open(&path).map_err(missing)?;
            let layer = parse(storage)
                .map_err(|e| Error::Chain(format!("parent `{}`: {e}", path.display())))?;
            if layer.header.id != p.id {
                return Err(Error::ParentMismatch {
                    path,
                    expected: p.id,
                    found: layer.header.id,
                });
            }
            let (h, c) = (&layer.header, &child.header);
            if h.arch != c.arch || h.vm_kind != c.vm_kind {
                return Err(Error::Chain(format!(
                    "parent `{}` holds a {} {} VM, the child a {} {} VM",
                    path.display(),
                    h.arch,
                    h.vm_kind.name(),
                    c.arch,
                    c.vm_kind.name()
                )));
            }
            layers.push(layer);
        }
        check_inheritance(&layers)?;
        Ok(Snapshot { layers })
    }

    /// The header of the snapshot opened.
    pub fn header(&self) -> &Header {
        &self.layers[0].header
    }

    /// Its id.
    pub fn id(&self) -> SnapshotId {
        self.header().id
    }

    /// Fails unless the snapshot holds a `kind` VM of architecture `arch`.
    pub fn expect_guest(&self, arch: &str, kind: VmKind) -> Result<()> {
        let h = self.header();
        if h.arch != arch || h.vm_kind != kind {
            return Err(Error::WrongGuest {
                found: format!("{} {} VM", h.arch, h.vm_kind.name()),
                expected: format!("{arch} {} VM", kind.name()),
            });
        }
        Ok(())
    }

    /// The sections of the snapshot opened, in file order.
    pub fn sections(&self) -> Vec<SectionInfo> {
        self.layers[0]
            .entries
            .iter()
            .map(|e| SectionInfo {
                name: e.name.clone(),
                kind: e.kind,
                stored_len: e.len,
                raw_len: e.raw_len,
                data_len: e.aux_len,
            })
            .collect()
    }

    /// The bytes of state section `name` (decompressed and checked).
    pub fn state(&self, name: &str) -> Result<&[u8]> {
        self.layers[0]
            .states
            .iter()
            .find(|s| s.0 == name)
            .map(|s| s.1.as_slice())
            .ok_or_else(|| Error::NoSuchSection {
                kind: "state",
                name: name.to_string(),
            })
    }

    /// Names of the memory regions.
    pub fn memory_names(&self) -> impl Iterator<Item = &str> {
        self.layers[0].memories.iter().map(|m| m.0.as_str())
    }

    /// Region `name`'s extent, without resolving its pages.
    pub fn region(&self, name: &str) -> Result<Region> {
        let m = self.layers[0]
            .memory(name)
            .ok_or_else(|| Error::NoSuchSection {
                kind: "memory",
                name: name.to_string(),
            })?;
        Ok(Region {
            base: m.base,
            size: m.size,
        })
    }

    /// Memory region `name`, its pages resolved through the chain.
    pub fn memory(&self, name: &str) -> Result<MemoryView<'_>> {
        MemoryView::new(self, name)
    }

    /// The disk records, by name.
    pub fn disks(&self) -> impl Iterator<Item = (&str, &DiskRecord)> {
        self.layers[0].disks.iter().map(|d| (d.0.as_str(), &d.1))
    }

    /// Disk record `name`.
    pub fn disk(&self, name: &str) -> Result<&DiskRecord> {
        self.disks()
            .find(|d| d.0 == name)
            .map(|d| d.1)
            .ok_or_else(|| Error::NoSuchSection {
                kind: "disk",
                name: name.to_string(),
            })
    }

    /// The overlay (written blocks) of disk `name`.
    pub fn disk_overlay(&self, name: &str) -> Result<DiskOverlay<'_>> {
        let l = &self.layers[0];
        let (name, map) =
            l.overlays
                .iter()
                .find(|o| o.0 == name)
                .ok_or_else(|| Error::NoSuchSection {
                    kind: "disk overlay",
                    name: name.to_string(),
                })?;
        Ok(DiskOverlay {
            name,
            map,
            storage: &l.storage,
        })
    }

    /// Number of files in the chain (1 for a full snapshot).
    pub fn chain_len(&self) -> usize {
        self.layers.len()
    }

    /// The open file of chain member `layer` (what [`crate::PageLocation::File`]
    /// offsets refer to), or `None` for an in-memory snapshot.
    pub fn layer_file(&self, layer: usize) -> Option<&File> {
        self.layers.get(layer).and_then(|l| l.storage.file())
    }

    /// Path of chain member `layer`.
    pub fn layer_path(&self, layer: usize) -> Option<&Path> {
        self.layers.get(layer).map(|l| l.storage.path())
    }

    /// Header of chain member `layer`.
    pub fn layer_header(&self, layer: usize) -> Option<&Header> {
        self.layers.get(layer).map(|l| &l.header)
    }

    /// Checks the checksum of every memory page stored in every file of the chain
    /// (and that every compressed chunk decompresses): what lazy mapping skips. About
    /// the speed of reading the files; uses `threads` threads (0: all cores).
    pub fn verify_memory(&self, threads: usize) -> Result<()> {
        for l in &self.layers {
            for (name, map) in &l.memories {
                verify_layer(&l.storage, name, map, threads)?;
            }
        }
        Ok(())
    }
}

/// Where the parent named by `hint` is: relative hints are relative to the child's
/// directory.
fn parent_path(child: &Storage, hint: &str) -> PathBuf {
    let hint = Path::new(hint);
    match child.path().parent() {
        Some(dir) if hint.is_relative() => dir.join(hint),
        _ => hint.to_path_buf(),
    }
}

/// Every region that inherits pages must find a region of the same name and extent in
/// the parent.
fn check_inheritance(layers: &[Layer]) -> Result<()> {
    for (i, l) in layers.iter().enumerate() {
        for (name, m) in &l.memories {
            if !m.inherits {
                continue;
            }
            let parent = layers.get(i + 1);
            let Some(p) = parent.and_then(|p| p.memory(name)) else {
                return Err(Error::section(
                    name,
                    "inherits pages from a parent snapshot that has no such region",
                ));
            };
            if p.base != m.base || p.size != m.size {
                return Err(Error::section(
                    name,
                    format!(
                        "region {:#x}+{:#x} differs from the parent's {:#x}+{:#x}",
                        m.base, m.size, p.base, p.size
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Padding between sections must be zero: writers zero it, and a reader that checks
/// it leaves no byte of the file outside some check (other than the padding inside
/// memory data ranges, which [`Snapshot::verify_memory`] covers for the identity
/// layout).
fn check_padding(storage: &Storage, gaps: &[toc::Gap]) -> Result<()> {
    let mut buf = Vec::new();
    for g in gaps {
        let mut at = g.offset;
        while at < g.offset + g.len {
            let n = (g.offset + g.len - at).min(64 * 1024);
            buf.resize(n as usize, 0);
            storage.read_at(at, &mut buf)?;
            if buf.iter().any(|&b| b != 0) {
                return Err(g.error());
            }
            at += n;
        }
    }
    Ok(())
}

/// Parses and checks one file.
fn parse(storage: Storage) -> Result<Layer> {
    let len = storage.len();
    let mut first = vec![0u8; len.min(HEADER_AREA) as usize];
    storage.read_at(0, &mut first)?;
    let header = Header::decode(&first, len)?;
    let l = header.layout;
    if len < l.file_len {
        return Err(Error::Truncated {
            expected: l.file_len,
            actual: len,
        });
    }
    if len > l.file_len {
        return Err(Error::Header(format!(
            "the file has {} bytes after the end the header records ({})",
            len - l.file_len,
            l.file_len
        )));
    }
    if l.toc_offset < HEADER_AREA || l.toc_offset.checked_add(l.toc_len).is_none_or(|e| e > len) {
        return Err(Error::Toc(format!(
            "range {}+{} lies outside the file's {HEADER_AREA}..{len}",
            l.toc_offset, l.toc_len
        )));
    }
    let toc_bytes = storage.read_vec(l.toc_offset, l.toc_len)?;
    if crc32c::crc32c(&toc_bytes) != l.toc_crc {
        return Err(Error::Toc("checksum mismatch".into()));
    }
    let (entries, gaps) = toc::decode(&toc_bytes, &l)?;
    check_padding(&storage, &gaps)?;
    let mut layer = Layer {
        storage,
        header,
        entries: Vec::new(),
        states: Vec::new(),
        memories: Vec::new(),
        disks: Vec::new(),
        overlays: Vec::new(),
    };
    for e in &entries {
        let payload = layer.storage.read_vec(e.offset, e.len)?;
        let fail = |m: String| Error::section(&e.name, m);
        if crc32c::crc32c(&payload) != e.crc {
            return Err(fail("crc mismatch".into()));
        }
        match e.kind {
            SectionKind::State => {
                let bytes = if e.flags & FLAG_ZSTD != 0 {
                    let raw = zstd::bulk::decompress(&payload, e.raw_len as usize)
                        .map_err(|err| fail(format!("cannot decompress: {err}")))?;
                    if raw.len() as u64 != e.raw_len {
                        return Err(fail(format!(
                            "decompresses to {} bytes, not {}",
                            raw.len(),
                            e.raw_len
                        )));
                    }
                    raw
                } else {
                    payload
                };
                layer.states.push((e.name.clone(), bytes));
            }
            SectionKind::Memory => {
                let map = PageMap::decode(&payload, e.aux_offset, e.aux_len).map_err(fail)?;
                if map.inherits && layer.header.parent.is_none() {
                    return Err(fail(
                        "inherits pages, but the snapshot has no parent".into(),
                    ));
                }
                layer.memories.push((e.name.clone(), map));
            }
            SectionKind::Disk => {
                layer
                    .disks
                    .push((e.name.clone(), DiskRecord::decode(&payload).map_err(fail)?));
            }
            SectionKind::DiskOverlay => {
                let map = OverlayMap::decode(&payload, e.aux_offset, e.aux_len).map_err(fail)?;
                layer.overlays.push((e.name.clone(), map));
            }
            SectionKind::Unknown(_) => {}
        }
    }
    layer.entries = entries;
    Ok(layer)
}
