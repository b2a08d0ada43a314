//! Guest memory in a snapshot: sparse, page aligned, optionally compressed, and
//! incremental.
//!
//! Writing: the caller names a region (guest physical base and size), gives a way to
//! read its pages ([`PageSource`]) and says which pages to consider ([`Pages`]). Zero
//! pages are left out. Uncompressed pages land at 4 KiB-aligned file offsets, so that a
//! restore can map them with `mmap(MAP_PRIVATE | MAP_FIXED)` instead of reading them.
//!
//! Reading: [`MemoryView`] resolves every page through the chain of incremental
//! snapshots into a mapping plan ([`MemoryView::plan`]): runs of pages that are zero,
//! mappable from a file, or inside a compressed chunk. [`MemoryView::populate`] copies
//! (and checks) everything into a buffer instead, decompressing on several threads;
//! [`MemoryView::read_stored`] reads and checks a few pages at a time, which is how
//! tern restores memory lazily ([`LazyMemory`] keeps a region for that).

mod lazy;
pub(crate) mod map;
mod populate;
mod resolve;
mod verify;
pub(crate) mod write;

pub use lazy::LazyMemory;
pub use map::MAX_RUN_PAGES;
pub use populate::PopulateOptions;
pub use resolve::{MemoryView, PageCounts};
pub(crate) use verify::verify_layer;

use std::io;

/// Size of a guest page: the unit of sparseness, dirty tracking and mapping.
pub const PAGE_SIZE: u64 = 4096;

/// A guest memory region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    /// Guest physical address of the first byte (page aligned).
    pub base: u64,
    /// Size in bytes (a non-zero multiple of [`PAGE_SIZE`]).
    pub size: u64,
}

impl Region {
    /// Number of pages.
    pub fn pages(&self) -> u64 {
        self.size / PAGE_SIZE
    }
}

/// Where the writer reads guest pages from.
///
/// `[u8]` implements it (the whole region as one slice), which lets the writer scan and
/// write pages without copying them. A RAM owner that cannot lend a slice implements
/// [`PageSource::read_page`] only.
pub trait PageSource: Sync {
    /// Copies page `index` (counted from the region's base) into `buf`, which holds
    /// exactly [`PAGE_SIZE`] bytes.
    fn read_page(&self, index: u64, buf: &mut [u8]) -> io::Result<()>;

    /// The whole region as one slice, if the source has it.
    fn as_slice(&self) -> Option<&[u8]> {
        None
    }
}

impl PageSource for [u8] {
    fn read_page(&self, index: u64, buf: &mut [u8]) -> io::Result<()> {
        let start = usize::try_from(index * PAGE_SIZE).map_err(|_| io::ErrorKind::InvalidInput)?;
        let page = self
            .get(start..start + buf.len())
            .ok_or(io::ErrorKind::UnexpectedEof)?;
        buf.copy_from_slice(page);
        Ok(())
    }

    fn as_slice(&self) -> Option<&[u8]> {
        Some(self)
    }
}

/// A [`PageSource`] from a closure `(page index, buffer) -> io::Result<()>`.
pub struct FnPages<F>(pub F);

impl<F: Fn(u64, &mut [u8]) -> io::Result<()> + Sync> PageSource for FnPages<F> {
    fn read_page(&self, index: u64, buf: &mut [u8]) -> io::Result<()> {
        (self.0)(index, buf)
    }
}

/// Which pages of a region the writer stores.
#[derive(Clone, Copy, Debug)]
pub enum Pages<'a> {
    /// Every page; zero pages are detected and left out.
    All,
    /// Only these pages (guest physical addresses, as the RAM's dirty log returns
    /// them) may hold non-zero data; every other page is known to be zero. For a first
    /// snapshot, the pages written since boot: untouched RAM is then not even read.
    Only(&'a [u64]),
    /// Only these pages (guest physical addresses) changed since the parent snapshot;
    /// every other page is as the parent has it. Needs a parent.
    ChangedSinceParent(&'a [u64]),
}

/// Where a run of guest pages comes from on restore.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageLocation {
    /// The pages are zero: leave fresh anonymous memory as it is.
    Zero,
    /// The pages lie uncompressed in layer `layer`'s file at `offset` (page aligned):
    /// map them with `mmap(MAP_PRIVATE | MAP_FIXED)`, or read them.
    File {
        /// Index of the file in the chain (0 = the snapshot opened, 1 = its parent...).
        layer: usize,
        /// File offset of the run's first page.
        offset: u64,
    },
    /// The pages are slots `slot..` of a compressed chunk: decompress them
    /// ([`MemoryView::populate_with`] does).
    Compressed {
        /// Index of the file in the chain.
        layer: usize,
        /// Chunk number within that file's region.
        chunk: u32,
        /// Slot of the run's first page in the chunk.
        slot: u32,
    },
    /// The pages are whatever the parent snapshot holds (only from
    /// [`MemoryView::own_location`], which does not follow the chain).
    InParent,
}

/// A run of consecutive guest pages with one location: one step of a restore.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MapRun {
    /// First page, counted from the region's base.
    pub first_page: u64,
    /// Number of pages.
    pub pages: u64,
    /// Where they come from. For `File`, the run's pages are consecutive in the file.
    pub location: PageLocation,
}

/// What the writer stored for one region.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemoryStats {
    /// Pages the writer looked at.
    pub pages_considered: u64,
    /// Pages found to be zero (left out, or recorded as zero over a parent's data).
    pub zero_pages: u64,
    /// Pages stored uncompressed (mappable).
    pub mapped_pages: u64,
    /// Pages stored in compressed chunks.
    pub compressed_pages: u64,
    /// Bytes of page data in the file (compressed chunks and page-aligned data).
    pub stored_bytes: u64,
}

/// Whether a page (or any slice) is all zero: OR-folds 64-bit words, which the
/// compiler turns into wide vector loads; this loop bounds how fast an idle guest can
/// be snapshotted.
pub(crate) fn is_zero(page: &[u8]) -> bool {
    let mut chunks = page.chunks_exact(64);
    for c in &mut chunks {
        let mut acc = 0u64;
        for w in c.chunks_exact(8) {
            acc |= u64::from_ne_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
        }
        if acc != 0 {
            return false;
        }
    }
    chunks.remainder().iter().all(|&b| b == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_detection() {
        let mut p = vec![0u8; 4096];
        assert!(is_zero(&p));
        for i in [0, 63, 64, 4095] {
            p[i] = 1;
            assert!(!is_zero(&p));
            p[i] = 0;
        }
        assert!(is_zero(&[0u8; 7]) && !is_zero(&[0, 0, 1]));
    }

    #[test]
    fn slices_are_page_sources() {
        let ram: Vec<u8> = (0..8192u32).map(|i| i as u8).collect();
        let mut buf = [0u8; 4096];
        ram[..].read_page(1, &mut buf).unwrap();
        assert_eq!(buf[..], ram[4096..]);
        assert!(ram[..].read_page(2, &mut buf).is_err());
    }
}
