//! Copying a region's pages into a buffer, checking every checksum on the way.
//!
//! The region is cut into as many contiguous stretches as there are threads, balanced
//! by the work they hold (decompression weighs more than a copy; zero pages weigh
//! nothing in a buffer known to be zero). Each thread fills its own stretch of the
//! destination, so no locking is needed. Data extents that a piece covers whole are
//! read straight into the destination; compressed chunks are decompressed straight
//! into it when they hold one run of consecutive pages, and through a per-thread cache
//! of one chunk per chain member otherwise.

use crate::error::{Error, Result};
use crate::memory::map::{Chunk, ExtentKind, PageMap};
use crate::memory::resolve::{continues, MemoryView, Piece, Src};
use crate::memory::{MapRun, PageLocation, PAGE_SIZE};

/// How [`MemoryView::populate_with`] fills a buffer.
#[derive(Clone, Copy, Debug, Default)]
pub struct PopulateOptions {
    /// The buffer is already zero (fresh anonymous memory): leave zero pages alone
    /// rather than writing zeros into them, which would also make the host commit them.
    pub dest_is_zeroed: bool,
    /// The caller mapped every [`crate::PageLocation::File`] run of
    /// [`MemoryView::plan`] that has at least this many pages: leave those alone and
    /// fill the rest (`Some(1)`: every file run was mapped; see
    /// [`MemoryView::map_threshold`]).
    pub mapped_min_pages: Option<u64>,
    /// Threads to use (0: the host's available parallelism).
    pub threads: usize,
}

/// Below this much work (in bytes copied), one thread does it all.
const PARALLEL_MIN: u64 = 8 << 20;
/// Small extents are read in batches of up to this many bytes: one system call for
/// many scattered pages.
const WINDOW: u64 = 1 << 20;
/// A batch read does not span a stretch of file without data longer than this.
const WINDOW_GAP: u64 = 64 * 1024;
/// Whole extents of at least this many pages are read straight into the destination.
const DIRECT_PAGES: u32 = 32;

impl MemoryView<'_> {
    /// Copies the whole region into `dest` (exactly the region's size), checking every
    /// checksum.
    pub fn populate(&self, dest: &mut [u8]) -> Result<()> {
        self.populate_with(dest, &PopulateOptions::default())
    }

    /// Fills `dest` (exactly the region's size) as `opts` says.
    pub fn populate_with(&self, dest: &mut [u8], opts: &PopulateOptions) -> Result<()> {
        if dest.len() as u64 != self.region.size {
            return Err(Error::Usage(format!(
                "memory `{}`: buffer of {} bytes for a region of {}",
                self.name,
                dest.len(),
                self.region.size
            )));
        }
        let mapped = self.mapped_flags(opts.mapped_min_pages);
        let cost: Vec<u64> = self
            .pieces
            .iter()
            .zip(&mapped)
            .map(|(p, &m)| if m { 0 } else { self.cost(p, opts) })
            .collect();
        let total: u64 = cost.iter().sum();
        let threads = match opts.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let threads = if total < PARALLEL_MIN {
            1
        } else {
            threads.min(16)
        };
        if threads == 1 {
            return self.fill(&self.pieces, &mapped, dest, 0, opts);
        }
        // Cut the pieces into `threads` groups of about equal cost.
        let mut cuts = vec![0usize];
        let mut acc = 0;
        for (i, c) in cost.iter().enumerate() {
            if cuts.len() < threads
                && acc >= total * cuts.len() as u64 / threads as u64
                && i > *cuts.last().unwrap_or(&0)
            {
                cuts.push(i);
            }
            acc += c;
        }
        cuts.push(self.pieces.len());
        std::thread::scope(|s| {
            let mut rest = dest;
            let mut handles = Vec::new();
            for w in cuts.windows(2) {
                let group = &self.pieces[w[0]..w[1]];
                let flags = &mapped[w[0]..w[1]];
                let pages: u64 = group.iter().map(|p| p.pages).sum();
                let (mine, tail) = rest.split_at_mut((pages * PAGE_SIZE) as usize);
                rest = tail;
                let first = group.first().map_or(0, |p| p.first_page);
                handles.push(s.spawn(move || self.fill(group, flags, mine, first, opts)));
            }
            handles.into_iter().try_for_each(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(Error::section(self.name, "a restore thread panicked")))
            })
        })
    }

    /// For each piece, whether it belongs to a file run of the plan that the caller
    /// mapped.
    fn mapped_flags(&self, min_pages: Option<u64>) -> Vec<bool> {
        let mut flags = vec![false; self.pieces.len()];
        let Some(min) = min_pages else {
            return flags;
        };
        let mut i = 0;
        while i < self.pieces.len() {
            let p = &self.pieces[i];
            let mut run = MapRun {
                first_page: p.first_page,
                pages: p.pages,
                location: self.location(p, 0),
            };
            let mut j = i + 1;
            if matches!(run.location, PageLocation::File { .. }) {
                while let Some(q) = self.pieces.get(j) {
                    let next = MapRun {
                        first_page: q.first_page,
                        pages: q.pages,
                        location: self.location(q, 0),
                    };
                    if !continues(&run, &next) {
                        break;
                    }
                    run.pages += q.pages;
                    j += 1;
                }
                if run.pages >= min {
                    flags[i..j].fill(true);
                }
            }
            i = j;
        }
        flags
    }

    /// Reads page `page` into `buf` (one page), checking its extent's checksum (which
    /// means reading up to 1 MiB).
    pub fn read_page(&self, page: u64, buf: &mut [u8]) -> Result<()> {
        let p = *self.piece_of(page)?;
        let src = match p.src {
            Src::Zero => Src::Zero,
            Src::Extent { index, skip } => Src::Extent {
                index,
                skip: skip + (page - p.first_page) as u32,
            },
        };
        let one = Piece {
            first_page: page,
            pages: 1,
            layer: p.layer,
            src,
        };
        if buf.len() as u64 != PAGE_SIZE {
            return Err(Error::Usage(format!("page buffer of {} bytes", buf.len())));
        }
        self.fill(&[one], &[false], buf, page, &PopulateOptions::default())
    }

    /// Reads the pages of `dest` (whole pages from page `first`) that the chain stores
    /// uncompressed in a file ([`MemoryView::stored_runs`]), checking each against its
    /// checksum; leaves the others as they are. What a lazy restore does on a page's
    /// first touch: with page checksums, it reads exactly these pages.
    pub fn read_stored(&self, first: u64, dest: &mut [u8]) -> Result<()> {
        let n = dest.len() as u64 / PAGE_SIZE;
        if !(dest.len() as u64).is_multiple_of(PAGE_SIZE)
            || first
                .checked_add(n)
                .is_none_or(|end| end > self.region.pages())
        {
            return Err(Error::Usage(format!(
                "memory `{}`: {} bytes at page {first} are not whole pages of the region",
                self.name,
                dest.len()
            )));
        }
        let end = first + n;
        let mut pieces = Vec::new();
        let mut skipped = Vec::new();
        let at = self
            .pieces
            .partition_point(|p| p.first_page + p.pages <= first);
        for p in self.pieces[at..].iter().take_while(|p| p.first_page < end) {
            let a = p.first_page.max(first);
            let b = (p.first_page + p.pages).min(end);
            let src = match p.src {
                Src::Zero => Src::Zero,
                Src::Extent { index, skip } => Src::Extent {
                    index,
                    skip: skip + (a - p.first_page) as u32,
                },
            };
            skipped.push(!self.is_data(p));
            pieces.push(Piece {
                first_page: a,
                pages: b - a,
                layer: p.layer,
                src,
            });
        }
        let opts = PopulateOptions {
            dest_is_zeroed: true,
            ..PopulateOptions::default()
        };
        self.fill(&pieces, &skipped, dest, first, &opts)
    }

    /// Relative work of a piece.
    fn cost(&self, p: &Piece, opts: &PopulateOptions) -> u64 {
        let bytes = p.pages * PAGE_SIZE;
        match p.src {
            Src::Zero if opts.dest_is_zeroed => 0,
            Src::Zero => bytes / 4,
            Src::Extent { index, .. } => match self.maps[p.layer].extents[index as usize].kind {
                ExtentKind::Zero => bytes / 4,
                ExtentKind::Data { .. } => bytes,
                ExtentKind::Packed { .. } => bytes * 3,
            },
        }
    }

    /// Fills `dest`, which starts at page `first`, with `pieces` (except those
    /// `mapped`).
    fn fill(
        &self,
        pieces: &[Piece],
        mapped: &[bool],
        dest: &mut [u8],
        first: u64,
        opts: &PopulateOptions,
    ) -> Result<()> {
        let mut ctx = Ctx {
            scratch: Vec::new(),
            window: Window::default(),
            verified: None,
            cache: vec![None; self.maps.len()],
            zstd: None,
        };
        for (i, p) in pieces.iter().enumerate() {
            if mapped[i] {
                continue;
            }
            let at = ((p.first_page - first) * PAGE_SIZE) as usize;
            let out = &mut dest[at..at + (p.pages * PAGE_SIZE) as usize];
            let kind = match p.src {
                Src::Zero => ExtentKind::Zero,
                Src::Extent { index, .. } => self.maps[p.layer].extents[index as usize].kind,
            };
            let Src::Extent { index, skip } = p.src else {
                if !opts.dest_is_zeroed {
                    out.fill(0);
                }
                continue;
            };
            let x = self.maps[p.layer].extents[index as usize];
            let skip_bytes = (u64::from(skip) * PAGE_SIZE) as usize;
            match kind {
                ExtentKind::Zero => {
                    if !opts.dest_is_zeroed {
                        out.fill(0);
                    }
                }
                ExtentKind::Data { offset, .. } => {
                    let map = self.maps[p.layer];
                    let whole = skip == 0 && p.pages == u64::from(x.pages);
                    if whole && x.pages >= DIRECT_PAGES {
                        self.storages[p.layer].read_at(offset, out)?;
                        map.check_data(&x, 0, out)
                            .map_err(|page| self.damaged_page(p, map, page))?;
                        continue;
                    }
                    // With page checksums only the pages needed are read and checked;
                    // an extent checksum needs the whole extent (checked once).
                    let (start, len) = if map.per_page() {
                        (offset + skip_bytes as u64, out.len() as u64)
                    } else {
                        (offset, u64::from(x.pages) * PAGE_SIZE)
                    };
                    if !ctx.window.holds(p.layer, start, len) {
                        self.load_window(&mut ctx.window, &pieces[i..], &mapped[i..], start)?;
                    }
                    let bytes = ctx.window.slice(start, len);
                    if map.per_page() {
                        map.check_data(&x, skip, bytes)
                            .map_err(|page| self.damaged_page(p, map, page))?;
                        out.copy_from_slice(bytes);
                    } else {
                        if ctx.verified != Some((p.layer, index)) {
                            map.check_data(&x, 0, bytes)
                                .map_err(|page| self.damaged_page(p, map, page))?;
                            ctx.verified = Some((p.layer, index));
                        }
                        out.copy_from_slice(&bytes[skip_bytes..skip_bytes + out.len()]);
                    }
                }
                ExtentKind::Packed { chunk, slot } => {
                    let c = self.maps[p.layer].chunks[chunk as usize];
                    let from = (u64::from(slot) * PAGE_SIZE) as usize + skip_bytes;
                    if from == 0 && p.pages == u64::from(c.pages) {
                        self.unpack(&mut ctx, p, &c, Dest::Slice(out))?;
                        continue;
                    }
                    if ctx.cache[p.layer].as_ref().is_none_or(|(n, _)| *n != chunk) {
                        let mut buf = ctx.cache[p.layer].take().map(|c| c.1).unwrap_or_default();
                        self.unpack(&mut ctx, p, &c, Dest::Vec(&mut buf))?;
                        ctx.cache[p.layer] = Some((chunk, buf));
                    }
                    if let Some((_, buf)) = &ctx.cache[p.layer] {
                        out.copy_from_slice(&buf[from..from + out.len()]);
                    }
                }
            }
        }
        Ok(())
    }

    /// Reads into `win` the file range from `start` (inside a data extent of
    /// `pieces[0]`'s layer) to the end of the bytes the last upcoming piece of the same
    /// layer needs that fits in [`WINDOW`] bytes: the pieces' own pages with page
    /// checksums, their whole extents otherwise.
    fn load_window(
        &self,
        win: &mut Window,
        pieces: &[Piece],
        mapped: &[bool],
        start: u64,
    ) -> Result<()> {
        let layer = pieces[0].layer;
        let map = self.maps[layer];
        let mut end = start;
        for (p, &m) in pieces.iter().zip(mapped).take(4096) {
            let Src::Extent { index, skip } = p.src else {
                continue;
            };
            let x = map.extents.get(index as usize);
            let (Some(x), false, true) = (x, m, p.layer == layer) else {
                continue;
            };
            let ExtentKind::Data { offset: o, .. } = x.kind else {
                continue;
            };
            let (o, e) = if map.per_page() {
                let o = o + u64::from(skip) * PAGE_SIZE;
                (o, o + p.pages * PAGE_SIZE)
            } else {
                (o, o + u64::from(x.pages) * PAGE_SIZE)
            };
            if o < start {
                continue;
            }
            // Stop at the window's size, and before a long hole (identity layout):
            // reading it would only copy zeros.
            if end > start && (e - start > WINDOW || o > end + WINDOW_GAP) {
                break;
            }
            end = end.max(e);
        }
        win.layer = layer;
        win.start = start;
        win.buf.resize((end - start) as usize, 0);
        self.storages[layer].read_at(start, &mut win.buf)
    }

    /// Reads, checks and decompresses chunk `c` of piece `p`'s layer into `dest`.
    fn unpack(&self, ctx: &mut Ctx, p: &Piece, c: &Chunk, dest: Dest<'_>) -> Result<()> {
        ctx.scratch.resize(c.stored_len as usize, 0);
        self.storages[p.layer].read_at(c.offset, &mut ctx.scratch)?;
        if crc32c::crc32c(&ctx.scratch) != c.crc {
            return Err(self.damaged(p, "crc mismatch in a compressed chunk"));
        }
        let z = match &mut ctx.zstd {
            Some(z) => z,
            None => ctx.zstd.insert(
                zstd::bulk::Decompressor::new()
                    .map_err(|e| self.damaged(p, &format!("zstd: {e}")))?,
            ),
        };
        let raw = u64::from(c.pages) * PAGE_SIZE;
        let n = match dest {
            Dest::Slice(s) => z.decompress_to_buffer(&ctx.scratch[..], s),
            Dest::Vec(v) => {
                v.clear();
                v.reserve(raw as usize);
                z.decompress_to_buffer(&ctx.scratch[..], v)
            }
        }
        .map_err(|e| self.damaged(p, &format!("cannot decompress a chunk: {e}")))?;
        if n as u64 != raw {
            return Err(self.damaged(p, &format!("a chunk decompresses to {n} bytes, not {raw}")));
        }
        Ok(())
    }

    /// An error naming the damaged page `page` of piece `p` (with page checksums) or
    /// the piece's pages (with extent checksums, which do not say which page).
    fn damaged_page(&self, p: &Piece, map: &PageMap, page: u64) -> Error {
        if map.per_page() {
            let one = Piece {
                first_page: page,
                pages: 1,
                ..*p
            };
            self.damaged(&one, "crc mismatch")
        } else {
            self.damaged(p, "crc mismatch")
        }
    }

    /// An error naming the region, the pages and the chain member.
    pub(crate) fn damaged(&self, p: &Piece, what: &str) -> Error {
        let path = self.storages[p.layer].path().display();
        let whose = match p.layer {
            0 => format!(" (in `{path}`)"),
            l => format!(" (in parent snapshot {} at `{path}`)", self.headers[l].id),
        };
        Error::section(
            self.name,
            format!(
                "pages {:#x}..{:#x}{whose}: {what}",
                p.first_page,
                p.first_page + p.pages
            ),
        )
    }
}

/// Per-thread buffers.
struct Ctx {
    scratch: Vec<u8>,
    /// File bytes read ahead for small data extents.
    window: Window,
    /// The data extent last checked, (layer, index): pieces of one extent are checked
    /// once.
    verified: Option<(usize, u32)>,
    /// The last chunk decompressed, per chain member.
    cache: Vec<Option<(u32, Vec<u8>)>>,
    zstd: Option<zstd::bulk::Decompressor<'static>>,
}

/// Where a chunk is decompressed to.
enum Dest<'a> {
    Slice(&'a mut [u8]),
    Vec(&'a mut Vec<u8>),
}

/// A range of one chain member's file, read ahead.
#[derive(Default)]
struct Window {
    layer: usize,
    start: u64,
    buf: Vec<u8>,
}

impl Window {
    fn holds(&self, layer: usize, offset: u64, len: u64) -> bool {
        self.layer == layer
            && offset >= self.start
            && offset + len <= self.start + self.buf.len() as u64
    }

    fn slice(&self, offset: u64, len: u64) -> &[u8] {
        let at = (offset - self.start) as usize;
        &self.buf[at..at + len as usize]
    }
}
