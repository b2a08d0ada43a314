//! Writing one memory region: scan pages, leave out zero pages, store the rest as
//! page-aligned runs (mappable) or as zstd chunks.
//!
//! Uncompressed, a run of consecutive non-zero pages (up to [`MAX_RUN_PAGES`]) becomes
//! one data extent with a CRC per page, written straight from the caller's RAM when it is
//! a slice. Compressed, non-zero pages are gathered in guest order into chunks of up to
//! 256 pages (not necessarily consecutive guest pages: scattered pages still share a
//! compression window); batches of chunks are compressed on several threads and written
//! in order. A chunk that zstd cannot shrink by an eighth is stored raw at an aligned
//! offset instead, so incompressible memory stays mappable.
//!
//! In the identity layout (uncompressed only), each run goes to its page's fixed place
//! in a data range as long as the region; the writer seeks over zero pages, leaving
//! holes.

use std::io::{Seek, Write};

use crate::error::{Error, Result};
use crate::memory::map::{Chunk, DataCrc, Extent, ExtentKind, PageMap, MAX_RUN_PAGES};
use crate::memory::{is_zero, MemoryStats, PageSource, Pages, Region, PAGE_SIZE};
use crate::writer::Out;

/// Compression settings for memory.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Compression {
    pub level: i32,
    pub threads: usize,
}

/// The outcome of writing a region: its page map and where its data went.
pub(crate) struct Written {
    pub map: PageMap,
    pub data_offset: u64,
    pub data_len: u64,
    pub stats: MemoryStats,
}

/// Pages gathered for one compressed chunk.
#[derive(Default)]
struct Pending {
    pages: Vec<u64>,
    raw: Vec<u8>,
    /// The zstd frame, when it is worth storing instead of `raw`.
    packed: Option<Vec<u8>>,
}

/// Writes region `name` at the output's current position.
pub(crate) fn write_region<W: Write + Seek, S: PageSource + ?Sized>(
    out: &mut Out<W>,
    name: &str,
    region: Region,
    src: &S,
    pages: Pages<'_>,
    comp: Option<Compression>,
    identity: bool,
) -> Result<Written> {
    let selected = select(name, region, pages)?;
    let slice = src.as_slice();
    if let Some(s) = slice {
        if (s.len() as u64) < region.size {
            return Err(Error::Usage(format!(
                "memory `{name}`: the page source holds {} bytes, the region {}",
                s.len(),
                region.size
            )));
        }
    }
    out.pad_to(PAGE_SIZE)?;
    let data_offset = out.pos();
    if identity {
        out.extend_to(data_offset + region.size)?;
    }
    let mut p = Packer {
        out,
        identity: identity.then_some(data_offset),
        name,
        slice,
        extents: Vec::new(),
        chunks: Vec::new(),
        page_crcs: Vec::new(),
        stats: MemoryStats::default(),
        run: (0, 0),
        run_buf: Vec::new(),
        zero: (0, 0),
        record_zero: matches!(pages, Pages::ChangedSinceParent(_)),
        comp,
        current: Pending::default(),
        pending: Vec::new(),
        spare: Vec::new(),
    };
    let mut scratch = vec![0u8; PAGE_SIZE as usize];
    let mut visit = |idx: u64| -> Result<()> {
        let page: &[u8] = match slice {
            Some(s) => &s[(idx * PAGE_SIZE) as usize..((idx + 1) * PAGE_SIZE) as usize],
            None => {
                src.read_page(idx, &mut scratch).map_err(|e| {
                    Error::Usage(format!("memory `{name}`: cannot read page {idx}: {e}"))
                })?;
                &scratch
            }
        };
        p.page(idx, page)
    };
    match &selected {
        None => (0..region.pages()).try_for_each(&mut visit)?,
        Some(list) => list.iter().copied().try_for_each(&mut visit)?,
    }
    p.finish()?;
    if identity {
        p.out.skip_to(data_offset + region.size)?;
    }
    let Packer {
        mut extents,
        chunks,
        page_crcs,
        stats,
        ..
    } = p;
    // Zero extents are recorded as they come while compressed pages wait for their
    // chunk: put the list back in guest order (extents never overlap).
    extents.sort_unstable_by_key(|x| x.first_page);
    // Data extents were added in guest page order, so their page checksums are in the
    // order the page map lists them.
    debug_assert!(extents
        .iter()
        .filter_map(|x| match x.kind {
            ExtentKind::Data {
                crc: DataCrc::Pages(at),
                ..
            } => Some((at, x.pages)),
            _ => None,
        })
        .try_fold(0u64, |next, (at, n)| (at == next)
            .then_some(at + u64::from(n)))
        .is_some());
    Ok(Written {
        map: PageMap {
            base: region.base,
            size: region.size,
            inherits: matches!(pages, Pages::ChangedSinceParent(_)),
            identity,
            data_offset,
            extents,
            chunks,
            page_crcs: Some(page_crcs),
        },
        data_offset,
        data_len: out.pos() - data_offset,
        stats,
    })
}

/// The sorted, deduplicated page indices to visit, or `None` for all pages.
fn select(name: &str, region: Region, pages: Pages<'_>) -> Result<Option<Vec<u64>>> {
    let addrs = match pages {
        Pages::All => return Ok(None),
        Pages::Only(a) | Pages::ChangedSinceParent(a) => a,
    };
    let mut list = Vec::with_capacity(addrs.len());
    for &a in addrs {
        if a < region.base || a - region.base >= region.size {
            return Err(Error::Usage(format!(
                "memory `{name}`: page {a:#x} is outside the region {:#x}+{:#x}",
                region.base, region.size
            )));
        }
        list.push((a - region.base) / PAGE_SIZE);
    }
    list.sort_unstable();
    list.dedup();
    Ok(Some(list))
}

/// The writer's state while scanning one region.
struct Packer<'a, 'o, W: Write + Seek> {
    out: &'o mut Out<W>,
    /// Start of the data range, for the identity layout.
    identity: Option<u64>,
    name: &'a str,
    slice: Option<&'a [u8]>,
    extents: Vec<Extent>,
    chunks: Vec<Chunk>,
    /// A CRC-32C per stored page, in the order data extents are added (which is guest
    /// page order, as the page map lists them).
    page_crcs: Vec<u32>,
    stats: MemoryStats,
    /// Uncompressed run being gathered: (first page, pages).
    run: (u64, u32),
    /// Its bytes, when the source is not a slice.
    run_buf: Vec<u8>,
    /// Zero run being gathered (only recorded over a parent).
    zero: (u64, u32),
    record_zero: bool,
    comp: Option<Compression>,
    current: Pending,
    /// Full chunks waiting for a parallel compression batch.
    pending: Vec<Pending>,
    /// Buffers to reuse.
    spare: Vec<Pending>,
}

impl<W: Write + Seek> Packer<'_, '_, W> {
    fn page(&mut self, idx: u64, page: &[u8]) -> Result<()> {
        self.stats.pages_considered += 1;
        if is_zero(page) {
            self.stats.zero_pages += 1;
            self.flush_run()?;
            if self.record_zero {
                let (start, n) = self.zero;
                if n > 0 && start + u64::from(n) == idx && n < u32::MAX {
                    self.zero.1 += 1;
                } else {
                    self.flush_zero();
                    self.zero = (idx, 1);
                }
            }
            return Ok(());
        }
        self.flush_zero();
        if self.comp.is_some() {
            self.current.pages.push(idx);
            self.current.raw.extend_from_slice(page);
            if self.current.pages.len() == MAX_RUN_PAGES as usize {
                self.queue_chunk()?;
            }
            return Ok(());
        }
        let (start, n) = self.run;
        if n == 0 || start + u64::from(n) != idx || n == MAX_RUN_PAGES {
            self.flush_run()?;
            self.run = (idx, 0);
        }
        self.run.1 += 1;
        if self.slice.is_none() {
            self.run_buf.extend_from_slice(page);
        }
        Ok(())
    }

    fn flush_zero(&mut self) {
        let (first_page, pages) = std::mem::take(&mut self.zero);
        if pages > 0 {
            self.extents.push(Extent {
                first_page,
                pages,
                kind: ExtentKind::Zero,
            });
        }
    }

    /// Writes the uncompressed run gathered so far as one data extent.
    fn flush_run(&mut self) -> Result<()> {
        let (first_page, pages) = std::mem::take(&mut self.run);
        if pages == 0 {
            return Ok(());
        }
        let bytes = match self.slice {
            Some(s) => {
                let start = (first_page * PAGE_SIZE) as usize;
                &s[start..start + pages as usize * PAGE_SIZE as usize]
            }
            None => &self.run_buf[..],
        };
        if let Some(start) = self.identity {
            self.out.skip_to(start + first_page * PAGE_SIZE)?;
        }
        let offset = self.out.pos();
        self.out.write(bytes)?;
        self.stats.stored_bytes += bytes.len() as u64;
        let crc = page_checksums(&mut self.page_crcs, bytes);
        self.extents.push(Extent {
            first_page,
            pages,
            kind: ExtentKind::Data { offset, crc },
        });
        self.stats.mapped_pages += u64::from(pages);
        self.run_buf.clear();
        Ok(())
    }

    /// Moves the current chunk to the compression batch; compresses and writes the
    /// batch when it is full.
    fn queue_chunk(&mut self) -> Result<()> {
        let next = self.spare.pop().unwrap_or_default();
        let full = std::mem::replace(&mut self.current, next);
        if !full.pages.is_empty() {
            self.pending.push(full);
        }
        let threads = self.comp.map_or(1, |c| c.threads.max(1));
        if self.pending.len() >= threads * 4 {
            self.flush_chunks()?;
        }
        Ok(())
    }

    fn flush_chunks(&mut self) -> Result<()> {
        let Some(comp) = self.comp else {
            return Ok(());
        };
        compress_batch(&mut self.pending, comp)
            .map_err(|e| Error::Usage(format!("memory `{}`: zstd failed: {e}", self.name)))?;
        let mut batch = std::mem::take(&mut self.pending);
        for mut ch in batch.drain(..) {
            self.emit_chunk(&mut ch)?;
            ch.pages.clear();
            ch.raw.clear();
            ch.packed = None;
            self.spare.push(ch);
        }
        self.pending = batch;
        Ok(())
    }

    /// Writes one chunk, compressed or (if that did not pay) as aligned raw runs.
    fn emit_chunk(&mut self, ch: &mut Pending) -> Result<()> {
        let n = ch.pages.len() as u32;
        let packed = ch.packed.take();
        let chunk_index = self.chunks.len() as u32;
        if let Some(z) = &packed {
            let offset = self.out.pos();
            self.out.write(z)?;
            self.stats.stored_bytes += z.len() as u64;
            self.chunks.push(Chunk {
                offset,
                stored_len: z.len() as u32,
                pages: n,
                crc: crc32c::crc32c(z),
            });
            self.stats.compressed_pages += u64::from(n);
        } else {
            self.out.pad_to(PAGE_SIZE)?;
            self.stats.mapped_pages += u64::from(n);
        }
        // One extent per run of consecutive guest pages.
        let mut slot = 0usize;
        while slot < ch.pages.len() {
            let first = ch.pages[slot];
            let mut len = 1;
            while slot + len < ch.pages.len() && ch.pages[slot + len] == first + len as u64 {
                len += 1;
            }
            let kind = if packed.is_some() {
                ExtentKind::Packed {
                    chunk: chunk_index,
                    slot: slot as u32,
                }
            } else {
                let bytes = &ch.raw[slot * PAGE_SIZE as usize..(slot + len) * PAGE_SIZE as usize];
                let offset = self.out.pos();
                self.out.write(bytes)?;
                self.stats.stored_bytes += bytes.len() as u64;
                let crc = page_checksums(&mut self.page_crcs, bytes);
                ExtentKind::Data { offset, crc }
            };
            self.extents.push(Extent {
                first_page: first,
                pages: len as u32,
                kind,
            });
            slot += len;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        self.flush_run()?;
        self.flush_zero();
        if self.comp.is_some() {
            self.queue_chunk()?;
            self.flush_chunks()?;
        }
        Ok(())
    }
}

/// Appends the checksums of the pages of a new data extent to `table`; returns where
/// they start in it.
fn page_checksums(table: &mut Vec<u32>, bytes: &[u8]) -> DataCrc {
    let first = table.len() as u64;
    table.extend(bytes.chunks(PAGE_SIZE as usize).map(crc32c::crc32c));
    DataCrc::Pages(first)
}

/// Compresses every chunk of the batch, spreading them over `comp.threads` threads;
/// keeps a frame only if it saves at least an eighth.
fn compress_batch(batch: &mut [Pending], comp: Compression) -> std::io::Result<()> {
    fn run(part: &mut [Pending], level: i32) -> std::io::Result<()> {
        let mut z = zstd::bulk::Compressor::new(level)?;
        for ch in part {
            let packed = z.compress(&ch.raw)?;
            if (packed.len() as u64) * 8 < (ch.raw.len() as u64) * 7 {
                ch.packed = Some(packed);
            }
        }
        Ok(())
    }
    let threads = comp.threads.clamp(1, batch.len().max(1));
    if threads == 1 {
        return run(batch, comp.level);
    }
    let per = batch.len().div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = batch
            .chunks_mut(per)
            .map(|part| s.spawn(move || run(part, comp.level)))
            .collect();
        handles.into_iter().try_for_each(|h| {
            h.join()
                .unwrap_or_else(|_| Err(std::io::Error::other("compression thread panicked")))
        })
    })
}
