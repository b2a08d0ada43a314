//! Resolving a region's pages through a chain of incremental snapshots.
//!
//! The child's extents win; the gaps between them fall through to the parent (when
//! the child's region inherits) and so on down the chain; what no file covers is
//! zero. The result is a list of pieces covering the whole region in page order, built
//! in time linear in the number of extents of the files involved. From it come the
//! mapping plan, single-page lookups and [`MemoryView::populate`].

use std::borrow::Cow;

use crate::error::{Error, Result};
use crate::memory::map::{ExtentKind, PageMap};
use crate::memory::{MapRun, PageLocation, Region, PAGE_SIZE};
use crate::reader::Snapshot;
use crate::storage::Storage;
use crate::Header;

/// A run of pages resolved to one place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Piece {
    pub first_page: u64,
    pub pages: u64,
    /// Chain member holding the pages (meaningless for [`Src::Zero`]).
    pub layer: usize,
    pub src: Src,
}

/// Which part of a layer's page map a piece comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Src {
    /// Zero pages (a gap in a file that does not inherit, or a zero extent).
    Zero,
    /// Pages `skip..skip + pages` of extent `index`.
    Extent { index: u32, skip: u32 },
}

/// How many pages of a region are zero, stored uncompressed, and compressed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PageCounts {
    /// Zero pages (stored nowhere).
    pub zero: u64,
    /// Pages stored uncompressed (mappable).
    pub data: u64,
    /// Pages in compressed chunks.
    pub compressed: u64,
}

/// One memory region of an open snapshot, resolved through its chain.
pub struct MemoryView<'s> {
    pub(crate) name: &'s str,
    pub(crate) region: Region,
    /// Page maps of the chain members the region draws from, child first.
    pub(crate) maps: Vec<&'s PageMap>,
    pub(crate) storages: Vec<&'s Storage>,
    pub(crate) headers: Vec<&'s Header>,
    pub(crate) pieces: Cow<'s, [Piece]>,
}

impl<'s> MemoryView<'s> {
    pub(crate) fn new(snap: &'s Snapshot, name: &str) -> Result<MemoryView<'s>> {
        let mut view = MemoryView::with_pieces(snap, name, Cow::Owned(Vec::new()))?;
        let mut pieces = Vec::new();
        resolve(&view.maps, 0, 0, view.region.pages(), &mut pieces);
        view.pieces = Cow::Owned(pieces);
        Ok(view)
    }

    /// The view of region `name` with `pieces` resolved before (by [`MemoryView::new`]
    /// on the same snapshot).
    pub(crate) fn with_pieces(
        snap: &'s Snapshot,
        name: &str,
        pieces: Cow<'s, [Piece]>,
    ) -> Result<MemoryView<'s>> {
        let mut maps = Vec::new();
        let mut storages = Vec::new();
        let mut headers = Vec::new();
        let mut region_name = None;
        for layer in &snap.layers {
            let Some((n, m)) = layer.memories.iter().find(|m| m.0 == name) else {
                break;
            };
            region_name.get_or_insert(n.as_str());
            maps.push(m);
            storages.push(&layer.storage);
            headers.push(&layer.header);
            if !m.inherits {
                break;
            }
        }
        let (Some(name), Some(first)) = (region_name, maps.first()) else {
            return Err(Error::NoSuchSection {
                kind: "memory",
                name: name.to_string(),
            });
        };
        // The reader checked that each inheriting region has a parent region.
        if maps.last().is_some_and(|m| m.inherits) {
            return Err(Error::section(
                name,
                "the chain ends in a region that inherits",
            ));
        }
        let region = Region {
            base: first.base,
            size: first.size,
        };
        Ok(MemoryView {
            name,
            region,
            maps,
            storages,
            headers,
            pieces,
        })
    }

    /// Runs of pages (first page, pages) stored uncompressed in a file, in order: what
    /// a lazy restore reads on first touch ([`MemoryView::read_stored`]). The other
    /// pages are zero or compressed.
    pub fn stored_runs(&self) -> Vec<(u64, u64)> {
        let mut runs: Vec<(u64, u64)> = Vec::new();
        for p in self.pieces.iter().filter(|p| self.is_data(p)) {
            match runs.last_mut() {
                Some(last) if last.0 + last.1 == p.first_page => last.1 += p.pages,
                _ => runs.push((p.first_page, p.pages)),
            }
        }
        runs
    }

    /// Whether piece `p` lies in a data extent (uncompressed in a file).
    pub(crate) fn is_data(&self, p: &Piece) -> bool {
        match p.src {
            Src::Zero => false,
            Src::Extent { index, .. } => matches!(
                self.maps[p.layer].extents[index as usize].kind,
                ExtentKind::Data { .. }
            ),
        }
    }

    /// The region's guest physical base and size.
    pub fn region(&self) -> Region {
        self.region
    }

    /// The mapping plan: runs covering every page of the region in order, merged where
    /// consecutive pages continue in the same place. A RAM owner maps a fresh
    /// anonymous region, maps each [`PageLocation::File`] run over it with
    /// `mmap(MAP_PRIVATE | MAP_FIXED)` from [`Snapshot::layer_file`], and lets
    /// [`MemoryView::populate_with`] fill in the compressed runs.
    pub fn plan(&self) -> Vec<MapRun> {
        let mut out: Vec<MapRun> = Vec::new();
        for p in self.pieces.iter() {
            let run = MapRun {
                first_page: p.first_page,
                pages: p.pages,
                location: self.location(p, 0),
            };
            if let Some(last) = out.last_mut() {
                if continues(last, &run) {
                    last.pages += run.pages;
                    continue;
                }
            }
            out.push(run);
        }
        out
    }

    /// Where page `page` (counted from the region's base) comes from.
    pub fn locate(&self, page: u64) -> Result<PageLocation> {
        let p = self.piece_of(page)?;
        Ok(self.location(p, page - p.first_page))
    }

    /// Where page `page` is in the snapshot opened, without following the chain:
    /// [`PageLocation::InParent`] for pages it does not hold itself.
    pub fn own_location(&self, page: u64) -> Result<PageLocation> {
        self.piece_of(page)?;
        let m = self.maps[0];
        let i = m.extents.partition_point(|x| x.end() <= page);
        match m.extents.get(i) {
            Some(x) if x.first_page <= page => {
                let p = Piece {
                    first_page: x.first_page,
                    pages: u64::from(x.pages),
                    layer: 0,
                    src: Src::Extent {
                        index: i as u32,
                        skip: 0,
                    },
                };
                Ok(self.location(&p, page - x.first_page))
            }
            _ if m.inherits => Ok(PageLocation::InParent),
            _ => Ok(PageLocation::Zero),
        }
    }

    /// Pages by what the chain stores for them.
    pub fn page_counts(&self) -> PageCounts {
        let mut c = PageCounts::default();
        for p in self.pieces.iter() {
            let kind = match p.src {
                Src::Zero => ExtentKind::Zero,
                Src::Extent { index, .. } => self.maps[p.layer].extents[index as usize].kind,
            };
            match kind {
                ExtentKind::Zero => c.zero += p.pages,
                ExtentKind::Data { .. } => c.data += p.pages,
                ExtentKind::Packed { .. } => c.compressed += p.pages,
            }
        }
        c
    }

    /// The smallest run length `n` such that mapping only the [`PageLocation::File`]
    /// runs of at least `n` pages takes at most `max_maps` mappings; shorter runs are
    /// then copied by [`MemoryView::populate_with`] with `mapped_min_pages: Some(n)`.
    /// Each mapping costs a few microseconds and the kernel caps a process's mappings
    /// (`vm.max_map_count`, 65530 by default), so a dense-layout snapshot of very
    /// fragmented memory is better partly copied.
    pub fn map_threshold(&self, max_maps: usize) -> u64 {
        let mut runs: Vec<u64> = self
            .plan()
            .iter()
            .filter(|r| matches!(r.location, PageLocation::File { .. }))
            .map(|r| r.pages)
            .collect();
        if runs.len() <= max_maps {
            return 1;
        }
        runs.sort_unstable_by(|a, b| b.cmp(a));
        runs[max_maps] + 1
    }

    pub(crate) fn piece_of(&self, page: u64) -> Result<&Piece> {
        let i = self
            .pieces
            .partition_point(|p| p.first_page + p.pages <= page);
        self.pieces.get(i).ok_or_else(|| {
            Error::Usage(format!(
                "memory `{}` has {} pages, not {page}",
                self.name,
                self.region.pages()
            ))
        })
    }

    /// The location of the page `delta` pages into piece `p`.
    pub(crate) fn location(&self, p: &Piece, delta: u64) -> PageLocation {
        let Src::Extent { index, skip } = p.src else {
            // Zero pages of an identity-layout file are holes at their page's place:
            // mapping them with their neighbours keeps runs long.
            return match self.maps.get(p.layer) {
                Some(m) if m.identity => PageLocation::File {
                    layer: p.layer,
                    offset: m.data_offset + (p.first_page + delta) * PAGE_SIZE,
                },
                _ => PageLocation::Zero,
            };
        };
        let x = self.maps[p.layer].extents[index as usize];
        let into = u64::from(skip) + delta;
        match x.kind {
            ExtentKind::Zero => PageLocation::Zero,
            ExtentKind::Data { offset, .. } => PageLocation::File {
                layer: p.layer,
                offset: offset + into * PAGE_SIZE,
            },
            ExtentKind::Packed { chunk, slot } => PageLocation::Compressed {
                layer: p.layer,
                chunk,
                slot: slot + into as u32,
            },
        }
    }
}

/// Whether `next` continues `last` in the same place.
pub(crate) fn continues(last: &MapRun, next: &MapRun) -> bool {
    match (last.location, next.location) {
        (PageLocation::Zero, PageLocation::Zero) => true,
        (
            PageLocation::File {
                layer: a,
                offset: o,
            },
            PageLocation::File {
                layer: b,
                offset: p,
            },
        ) => a == b && o + last.pages * PAGE_SIZE == p,
        (
            PageLocation::Compressed {
                layer: a,
                chunk: c,
                slot: s,
            },
            PageLocation::Compressed {
                layer: b,
                chunk: d,
                slot: t,
            },
        ) => a == b && c == d && u64::from(s) + last.pages == u64::from(t),
        _ => false,
    }
}

/// Appends the pieces for pages `start..end` as chain member `layer` sees them.
fn resolve(maps: &[&PageMap], layer: usize, start: u64, end: u64, out: &mut Vec<Piece>) {
    let Some(m) = maps.get(layer) else {
        push(
            out,
            Piece {
                first_page: start,
                pages: end - start,
                layer,
                src: Src::Zero,
            },
        );
        return;
    };
    let mut i = m.extents.partition_point(|x| x.end() <= start);
    let mut p = start;
    while p < end {
        match m.extents.get(i) {
            Some(x) if x.first_page <= p => {
                let stop = x.end().min(end);
                let src = match x.kind {
                    ExtentKind::Zero => Src::Zero,
                    _ => Src::Extent {
                        index: i as u32,
                        skip: (p - x.first_page) as u32,
                    },
                };
                push(
                    out,
                    Piece {
                        first_page: p,
                        pages: stop - p,
                        layer,
                        src,
                    },
                );
                p = stop;
                i += 1;
            }
            next => {
                let stop = next.map_or(end, |x| x.first_page.min(end));
                if m.inherits {
                    resolve(maps, layer + 1, p, stop, out);
                } else {
                    push(
                        out,
                        Piece {
                            first_page: p,
                            pages: stop - p,
                            layer,
                            src: Src::Zero,
                        },
                    );
                }
                p = stop;
            }
        }
    }
}

/// Appends a piece, merging runs of zero pages of one file.
fn push(out: &mut Vec<Piece>, piece: Piece) {
    if piece.src == Src::Zero {
        if let Some(last) = out.last_mut() {
            if last.src == Src::Zero && last.layer == piece.layer {
                last.pages += piece.pages;
                return;
            }
        }
    }
    out.push(piece);
}
