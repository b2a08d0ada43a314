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
use crate::memory::map::{Chunk, ExtentKind};
use crate::memory::resolve::{MemoryView, Piece, Src};
use crate::memory::PAGE_SIZE;

/// How [`MemoryView::populate_with`] fills a buffer.
#[derive(Clone, Copy, Debug, Default)]
pub struct PopulateOptions {
    /// The buffer is already zero (fresh anonymous memory): leave zero pages alone
    /// rather than writing zeros into them, which would also make the host commit them.
    pub dest_is_zeroed: bool,
    /// Leave [`crate::PageLocation::File`] runs alone: the caller mapped them.
    pub skip_mappable: bool,
    /// Threads to use (0: the host's available parallelism).
    pub threads: usize,
}

/// Below this much work (in bytes copied), one thread does it all.
const PARALLEL_MIN: u64 = 8 << 20;

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
        let cost: Vec<u64> = self.pieces.iter().map(|p| self.cost(p, opts)).collect();
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
            return self.fill(&self.pieces, dest, 0, opts);
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
                let pages: u64 = group.iter().map(|p| p.pages).sum();
                let (mine, tail) = rest.split_at_mut((pages * PAGE_SIZE) as usize);
                rest = tail;
                let first = group.first().map_or(0, |p| p.first_page);
                handles.push(s.spawn(move || self.fill(group, mine, first, opts)));
            }
            handles.into_iter().try_for_each(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(Error::section(self.name, "a restore thread panicked")))
            })
        })
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
        self.fill(&[one], buf, page, &PopulateOptions::default())
    }

    /// Relative work of a piece.
    fn cost(&self, p: &Piece, opts: &PopulateOptions) -> u64 {
        let bytes = p.pages * PAGE_SIZE;
        match p.src {
            Src::Zero if opts.dest_is_zeroed => 0,
            Src::Zero => bytes / 4,
            Src::Extent { index, .. } => match self.maps[p.layer].extents[index as usize].kind {
                ExtentKind::Zero => bytes / 4,
                ExtentKind::Data { .. } if opts.skip_mappable => 0,
                ExtentKind::Data { .. } => bytes,
                ExtentKind::Packed { .. } => bytes * 3,
            },
        }
    }

    /// Fills `dest`, which starts at page `first`, with `pieces`.
    fn fill(
        &self,
        pieces: &[Piece],
        dest: &mut [u8],
        first: u64,
        opts: &PopulateOptions,
    ) -> Result<()> {
        let mut ctx = Ctx {
            scratch: Vec::new(),
            cache: vec![None; self.maps.len()],
            zstd: None,
        };
        for p in pieces {
            let at = ((p.first_page - first) * PAGE_SIZE) as usize;
            let out = &mut dest[at..at + (p.pages * PAGE_SIZE) as usize];
            let Src::Extent { index, skip } = p.src else {
                if !opts.dest_is_zeroed {
                    out.fill(0);
                }
                continue;
            };
            let x = self.maps[p.layer].extents[index as usize];
            let skip_bytes = u64::from(skip) * PAGE_SIZE;
            match x.kind {
                ExtentKind::Zero => {
                    if !opts.dest_is_zeroed {
                        out.fill(0);
                    }
                }
                ExtentKind::Data { .. } if opts.skip_mappable => {}
                ExtentKind::Data { offset, crc } => {
                    let storage = self.storages[p.layer];
                    if skip == 0 && p.pages == u64::from(x.pages) {
                        storage.read_at(offset, out)?;
                        if crc32c::crc32c(out) != crc {
                            return Err(self.damaged(p, "crc mismatch"));
                        }
                    } else {
                        ctx.scratch
                            .resize((u64::from(x.pages) * PAGE_SIZE) as usize, 0);
                        storage.read_at(offset, &mut ctx.scratch)?;
                        if crc32c::crc32c(&ctx.scratch) != crc {
                            return Err(self.damaged(p, "crc mismatch"));
                        }
                        out.copy_from_slice(&ctx.scratch[skip_bytes as usize..][..out.len()]);
                    }
                }
                ExtentKind::Packed { chunk, slot } => {
                    let c = self.maps[p.layer].chunks[chunk as usize];
                    let from = (u64::from(slot) * PAGE_SIZE + skip_bytes) as usize;
                    if from == 0 && p.pages == u64::from(c.pages) {
                        self.unpack(&mut ctx, p, &c, Dest::Slice(out))?;
                    } else {
                        if ctx.cache[p.layer].as_ref().is_none_or(|(n, _)| *n != chunk) {
                            let mut buf =
                                ctx.cache[p.layer].take().map(|c| c.1).unwrap_or_default();
                            self.unpack(&mut ctx, p, &c, Dest::Vec(&mut buf))?;
                            ctx.cache[p.layer] = Some((chunk, buf));
                        }
                        if let Some((_, buf)) = &ctx.cache[p.layer] {
                            out.copy_from_slice(&buf[from..from + out.len()]);
                        }
                    }
                }
            }
        }
        Ok(())
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

    /// An error naming the region, the pages and the chain member.
    pub(crate) fn damaged(&self, p: &Piece, what: &str) -> Error {
        let whose = match p.layer {
            0 => String::new(),
            l => format!(" (in parent snapshot {})", self.headers[l].id),
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
    /// The last chunk decompressed, per chain member.
    cache: Vec<Option<(u32, Vec<u8>)>>,
    zstd: Option<zstd::bulk::Decompressor<'static>>,
}

/// Where a chunk is decompressed to.
enum Dest<'a> {
    Slice(&'a mut [u8]),
    Vec(&'a mut Vec<u8>),
}
