//! tern's snapshot file format: one self-contained file per VM (DESIGN.md,
//! "encapsulation": operate on the VM by operating on the file).
//!
//! A snapshot holds a header (what VM, which format, which parent), a table of
//! contents, and named sections: component states (bytes this crate stores without
//! interpreting them; tern writes each component's versioned state, see tern-state),
//! guest memory regions, disk records and disk overlays. Every part has its own
//! CRC-32C; the reader checks everything except bulk page data when it opens a file,
//! and reports damage by naming the section ("snapshot section `plic`: crc mismatch").
//!
//! Memory is stored sparsely (zero pages left out) with uncompressed pages at
//! 4 KiB-aligned offsets, so a restore maps them instead of reading them
//! ([`MemoryView::plan`]); or in zstd chunks, decompressed on several threads
//! ([`MemoryView::populate`]). An incremental snapshot stores only the pages that
//! changed and names its parent by id and path.
//!
//! ```no_run
//! use tern_snapshot::*;
//! # fn main() -> Result<()> {
//! let ram = vec![0u8; 1 << 20];
//! let mut w = SnapshotWriter::create(
//!     "vm.tern".as_ref(),
//!     SnapshotMeta::new("riscv64", VmKind::System),
//!     WriteOptions::default(),
//! )?;
//! w.add_state("hart0", b"the hart's encoded state")?;
//! w.add_memory("ram", Region { base: 0x8000_0000, size: 1 << 20 }, &ram[..], Pages::All)?;
//! let (summary, _) = w.finish()?;
//!
//! let snap = Snapshot::open("vm.tern".as_ref())?;
//! snap.expect_guest("riscv64", VmKind::System)?;
//! let hart0 = snap.state("hart0")?;
//! let mem = snap.memory("ram")?;
//! let mut restored = vec![0u8; 1 << 20];
//! mem.populate(&mut restored)?; // or mem.plan() and mmap the File runs
//! # Ok(()) }
//! ```
//!
//! The byte layout, the versioning rules and the reader's checks are in FORMAT.md.

#![forbid(unsafe_code)]

mod codec;
mod disk;
mod error;
mod header;
mod id;
mod memory;
mod overlay;
mod reader;
mod storage;
mod target;
mod toc;
mod writer;

pub use disk::{
    ContentHash, DiskRecord, Fingerprint, FingerprintMatch, FingerprintMode, SAMPLE_BLOCK,
    SAMPLE_BLOCKS,
};
pub use error::{Error, Result};
pub use header::{
    Header, ParentRef, VmKind, FORMAT_VERSION, HEADER_AREA, MAGIC, OLDEST_FORMAT_VERSION,
};
pub use id::SnapshotId;
pub use memory::{
    FnPages, LazyMemory, MapRun, MemoryStats, MemoryView, PageCounts, PageLocation, PageSource,
    Pages, PopulateOptions, Region, MAX_RUN_PAGES, PAGE_SIZE,
};
pub use overlay::{DiskOverlay, OverlayExtent, OverlayGeometry, MAX_EXTENT_BYTES};
pub use reader::{SectionInfo, Snapshot, MAX_CHAIN};
pub use target::check_target;
pub use toc::{valid_name, SectionKind, MAX_NAME_LEN};
pub use writer::{MemoryLayout, SnapshotMeta, SnapshotWriter, Summary, WriteOptions};
