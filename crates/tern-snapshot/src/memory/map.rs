//! The page map of one memory region: which guest pages a snapshot file stores, and
//! where.
//!
//! A page map is a sorted list of extents (runs of consecutive guest pages) of three
//! kinds: zero pages, uncompressed data at a page-aligned file offset (mappable), and
//! pages inside a zstd-compressed chunk. Pages that no extent covers are zero, or, in an
//! incremental snapshot's region marked "inherits", whatever the parent holds.
//!
//! A region in the *identity* layout keeps page `i` at `data_offset + i * 4096`: its
//! data range is as long as the region, and the pages it does not store are holes of a
//! sparse file (or zeros). Such a region maps with a single `mmap`, whatever the
//! pattern of zero pages, which is what makes restore time independent of how
//! fragmented guest memory is.
//!
//! Stored pages carry checksums: in files written since the page-checksum feature, a
//! CRC-32C per page (a table after the chunks), so that a restore reading pages on
//! first touch checks exactly the pages it reads; in older files one CRC-32C per
//! data extent (up to 1 MiB), which a reader must read whole to check.
//!
//! Decoding checks everything a later reader relies on, so that resolving a page never
//! needs another check: extents sorted and disjoint inside the region, data extents
//! aligned and inside the section's data range with increasing offsets, chunks inside
//! the data range and disjoint from data extents, every compressed extent inside its
//! chunk, and every run short enough (256 pages, 1 MiB) that checking or decompressing
//! it needs a bounded buffer.

use crate::codec::{Dec, Enc};
use crate::memory::PAGE_SIZE;

/// Most pages in one data extent or compressed chunk (1 MiB): the unit of decompression
/// (and of checksumming, in files without page checksums), so buffers stay small.
pub const MAX_RUN_PAGES: u32 = 256;
/// Bytes of the page map's own header.
const HEAD_LEN: u64 = 32;
/// Bytes of one extent record.
const EXTENT_LEN: u64 = 32;
/// Bytes of one chunk record.
const CHUNK_LEN: u64 = 24;
/// Region flag: uncovered pages come from the parent snapshot.
const FLAG_INHERITS: u32 = 1;
/// Region flag: identity layout (page `i` at `data_offset + i * 4096`).
const FLAG_IDENTITY: u32 = 2;
/// Region flag: a CRC-32C per stored page follows the chunks (extent CRCs are 0).
const FLAG_PAGE_CRCS: u32 = 4;

/// Where an extent's pages are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ExtentKind {
    /// All zero (recorded explicitly only where a parent holds non-zero data).
    Zero,
    /// Uncompressed at this page-aligned file offset, checked by `crc`.
    Data { offset: u64, crc: DataCrc },
    /// Slots `slot..slot + pages` of compressed chunk `chunk`.
    Packed { chunk: u32, slot: u32 },
}

/// How a data extent's bytes are checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DataCrc {
    /// One CRC-32C of all the extent's bytes (files without page checksums).
    Extent(u32),
    /// A CRC-32C per page: the extent's first page's is `PageMap::page_crcs[i]`.
    Pages(u64),
}

/// A run of consecutive guest pages stored the same way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Extent {
    pub first_page: u64,
    pub pages: u32,
    pub kind: ExtentKind,
}

impl Extent {
    pub fn end(&self) -> u64 {
        self.first_page + u64::from(self.pages)
    }
}

/// A zstd frame holding `pages` pages (4096 bytes each once decompressed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Chunk {
    pub offset: u64,
    pub stored_len: u32,
    pub pages: u32,
    /// CRC-32C of the stored (compressed) bytes.
    pub crc: u32,
}

/// The page map of one memory region.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PageMap {
    /// Guest physical address of the region's first byte.
    pub base: u64,
    /// Size of the region in bytes.
    pub size: u64,
    /// Uncovered pages come from the parent (incremental snapshot).
    pub inherits: bool,
    /// Identity layout: the data range holds every page at `data_offset + i * 4096`
    /// (pages not stored read as zero there).
    pub identity: bool,
    /// Start of the section's data range (only meaningful for the identity layout).
    pub data_offset: u64,
    pub extents: Vec<Extent>,
    pub chunks: Vec<Chunk>,
    /// A CRC-32C per stored page, in extent order (`Some` for maps with page
    /// checksums, whose data extents are all [`DataCrc::Pages`]).
    pub page_crcs: Option<Vec<u32>>,
}

impl PageMap {
    /// Number of pages in the region.
    pub fn pages(&self) -> u64 {
        self.size / PAGE_SIZE
    }

    /// Whether each stored page has its own checksum, so that any run of pages of a
    /// data extent can be read and checked alone.
    pub fn per_page(&self) -> bool {
        self.page_crcs.is_some()
    }

    /// Checks `bytes`, which hold pages `skip..` of data extent `x`. With page
    /// checksums any run of the extent's pages can be checked; with an extent checksum
    /// `bytes` must be the whole extent (`skip` 0). On a mismatch, returns the first
    /// page found damaged, counted from the region's base (with an extent checksum:
    /// the extent's first page).
    pub fn check_data(&self, x: &Extent, skip: u32, bytes: &[u8]) -> Result<(), u64> {
        let ExtentKind::Data { crc, .. } = x.kind else {
            return Ok(());
        };
        let first = x.first_page + u64::from(skip);
        match (crc, &self.page_crcs) {
            (DataCrc::Pages(at), Some(crcs)) => {
                let at = (at + u64::from(skip)) as usize;
                for (i, page) in bytes.chunks(PAGE_SIZE as usize).enumerate() {
                    if crcs.get(at + i) != Some(&crc32c::crc32c(page)) {
                        return Err(first + i as u64);
                    }
                }
                Ok(())
            }
            (DataCrc::Extent(want), _)
                if skip == 0 && bytes.len() as u64 == u64::from(x.pages) * PAGE_SIZE =>
            {
                if crc32c::crc32c(bytes) == want {
                    Ok(())
                } else {
                    Err(first)
                }
            }
            _ => Err(first),
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut e = Enc::default();
        e.u64(self.base);
        e.u64(self.size);
        e.u32(PAGE_SIZE as u32);
        let mut flags = 0;
        if self.inherits {
            flags |= FLAG_INHERITS;
        }
        if self.identity {
            flags |= FLAG_IDENTITY;
        }
        if self.page_crcs.is_some() {
            flags |= FLAG_PAGE_CRCS;
        }
        e.u32(flags);
        e.u32(self.extents.len() as u32);
        e.u32(self.chunks.len() as u32);
        for x in &self.extents {
            e.u64(x.first_page);
            e.u32(x.pages);
            let (kind, loc, slot, crc) = match x.kind {
                ExtentKind::Zero => (0, 0, 0, 0),
                ExtentKind::Data {
                    offset,
                    crc: DataCrc::Extent(crc),
                } => (1, offset, 0, crc),
                ExtentKind::Data { offset, .. } => (1, offset, 0, 0),
                ExtentKind::Packed { chunk, slot } => (2, u64::from(chunk), slot, 0),
            };
            e.u8(kind);
            e.bytes(&[0; 3]);
            e.u64(loc);
            e.u32(slot);
            e.u32(crc);
        }
        for c in &self.chunks {
            e.u64(c.offset);
            e.u32(c.stored_len);
            e.u32(c.pages);
            e.u32(c.crc);
            e.u32(0);
        }
        for &crc in self.page_crcs.iter().flatten() {
            e.u32(crc);
        }
        e.buf
    }

    /// Parses and checks a page map whose page data must lie in
    /// `data_offset..data_offset + data_len`.
    pub fn decode(bytes: &[u8], data_offset: u64, data_len: u64) -> Result<PageMap, String> {
        let mut d = Dec::new(bytes);
        let base = d.u64()?;
        let size = d.u64()?;
        let page_size = d.u32()?;
        let flags = d.u32()?;
        let n_ext = d.u32()?;
        let n_chunk = d.u32()?;
        if u64::from(page_size) != PAGE_SIZE {
            return Err(format!("page size {page_size} is not {PAGE_SIZE}"));
        }
        if flags & !(FLAG_INHERITS | FLAG_IDENTITY | FLAG_PAGE_CRCS) != 0 {
            return Err(format!("unknown region flags {flags:#x}"));
        }
        if size == 0 || !size.is_multiple_of(PAGE_SIZE) || !base.is_multiple_of(PAGE_SIZE) {
            return Err(format!(
                "region {base:#x}+{size:#x} is not a non-empty run of whole pages"
            ));
        }
        if base.checked_add(size).is_none() {
            return Err(format!("region {base:#x}+{size:#x} wraps around"));
        }
        let per_page = flags & FLAG_PAGE_CRCS != 0;
        let want = HEAD_LEN + u64::from(n_ext) * EXTENT_LEN + u64::from(n_chunk) * CHUNK_LEN;
        // With page checksums, the table after the chunks is checked against the data
        // extents' pages below.
        if want != bytes.len() as u64 && !(per_page && want < bytes.len() as u64) {
            return Err(format!(
                "page map of {} bytes cannot hold {n_ext} extents and {n_chunk} chunks",
                bytes.len()
            ));
        }
        let mut map = PageMap {
            base,
            size,
            inherits: flags & FLAG_INHERITS != 0,
            identity: flags & FLAG_IDENTITY != 0,
            data_offset,
            extents: Vec::with_capacity(n_ext as usize),
            chunks: Vec::with_capacity(n_chunk as usize),
            page_crcs: None,
        };
        let mut raw = Vec::with_capacity(n_ext as usize);
        for _ in 0..n_ext {
            let first_page = d.u64()?;
            let pages = d.u32()?;
            let kind = d.u8()?;
            let reserved = d.take(3)?;
            let loc = d.u64()?;
            let slot = d.u32()?;
            let crc = d.u32()?;
            raw.push((first_page, pages, kind, reserved != [0; 3], loc, slot, crc));
        }
        for _ in 0..n_chunk {
            let chunk = Chunk {
                offset: d.u64()?,
                stored_len: d.u32()?,
                pages: d.u32()?,
                crc: d.u32()?,
            };
            d.reserved32("of a chunk")?;
            map.chunks.push(chunk);
        }
        let stored: u64 = raw
            .iter()
            .filter(|r| r.2 == 1)
            .fold(0u64, |a, r| a.saturating_add(u64::from(r.1)));
        if per_page {
            if (bytes.len() as u64 - want) != stored.saturating_mul(4) {
                return Err(format!(
                    "page map of {} bytes cannot hold {n_ext} extents, {n_chunk} chunks and {stored} page checksums",
                    bytes.len()
                ));
            }
            map.page_crcs = Some((0..stored).map(|_| d.u32()).collect::<Result<_, _>>()?);
        }
        d.finish("page map")?;
        if map.identity
            && (data_len != size || !data_offset.is_multiple_of(PAGE_SIZE) || n_chunk != 0)
        {
            return Err(format!(
                "identity layout with a data range of {data_len} bytes at {data_offset} for a region of {size} bytes, or with chunks"
            ));
        }
        let data_end = data_offset
            .checked_add(data_len)
            .ok_or("data range wraps around")?;
        let in_data = |off: u64, len: u64| {
            off >= data_offset && off.checked_add(len).is_some_and(|e| e <= data_end)
        };
        let mut chunk_end = 0;
        for (i, c) in map.chunks.iter().enumerate() {
            let raw_len = u64::from(c.pages) * PAGE_SIZE;
            if c.pages == 0
                || c.pages > MAX_RUN_PAGES
                || c.stored_len == 0
                || u64::from(c.stored_len) > raw_len
            {
                return Err(format!(
                    "chunk {i}: {} stored bytes for {} pages is absurd",
                    c.stored_len, c.pages
                ));
            }
            if !in_data(c.offset, u64::from(c.stored_len)) || c.offset < chunk_end {
                return Err(format!(
                    "chunk {i} at offset {} is out of range or overlaps the previous one",
                    c.offset
                ));
            }
            chunk_end = c.offset + u64::from(c.stored_len);
        }
        let mut page_end = 0;
        let mut data_end_seen = 0;
        let mut next_crc = 0u64;
        for (i, (first_page, pages, kind, bad_reserved, loc, slot, crc)) in
            raw.into_iter().enumerate()
        {
            let at = |m: String| format!("extent {i} (pages {first_page:#x}+{pages:#x}): {m}");
            if pages == 0 || bad_reserved {
                return Err(at("malformed".into()));
            }
            let end = first_page
                .checked_add(u64::from(pages))
                .ok_or_else(|| at("wraps".into()))?;
            if first_page < page_end {
                return Err(at("overlaps or precedes the previous extent".into()));
            }
            if end > map.pages() {
                return Err(at(format!("beyond the region's {} pages", map.pages())));
            }
            page_end = end;
            let kind = match kind {
                0 if loc == 0 && slot == 0 && crc == 0 => ExtentKind::Zero,
                1 if slot == 0 => {
                    let len = u64::from(pages) * PAGE_SIZE;
                    if pages > MAX_RUN_PAGES {
                        return Err(at(format!("longer than {MAX_RUN_PAGES} pages")));
                    }
                    let identity_ok = !map.identity
                        || Some(loc)
                            == first_page
                                .checked_mul(PAGE_SIZE)
                                .and_then(|o| o.checked_add(data_offset));
                    if !identity_ok {
                        return Err(at(format!(
                            "file offset {loc} is not where the identity layout puts it"
                        )));
                    }
                    if !loc.is_multiple_of(PAGE_SIZE) || !in_data(loc, len) || loc < data_end_seen {
                        return Err(at(format!(
                            "file offset {loc} is unaligned, outside the section's data, or overlaps earlier data"
                        )));
                    }
                    data_end_seen = loc + len;
                    let crc = if per_page {
                        if crc != 0 {
                            return Err(at("has an extent checksum besides page checksums".into()));
                        }
                        next_crc += u64::from(pages);
                        DataCrc::Pages(next_crc - u64::from(pages))
                    } else {
                        DataCrc::Extent(crc)
                    };
                    ExtentKind::Data { offset: loc, crc }
                }
                2 if crc == 0 && !map.identity => {
                    let c = usize::try_from(loc)
                        .ok()
                        .and_then(|c| map.chunks.get(c))
                        .ok_or_else(|| at(format!("names chunk {loc} of {n_chunk}")))?;
                    if u64::from(slot) + u64::from(pages) > u64::from(c.pages) {
                        return Err(at(format!(
                            "reaches past the {} pages of chunk {loc}",
                            c.pages
                        )));
                    }
                    ExtentKind::Packed {
                        chunk: loc as u32,
                        slot,
                    }
                }
                _ => return Err(at(format!("unknown or malformed extent kind {kind}"))),
            };
            map.extents.push(Extent {
                first_page,
                pages,
                kind,
            });
        }
        map.check_data_vs_chunks()?;
        Ok(map)
    }

    /// Both lists are sorted by offset already: one merge pass finds any overlap
    /// between a data extent and a chunk.
    fn check_data_vs_chunks(&self) -> Result<(), String> {
        let mut chunks = self.chunks.iter().peekable();
        for x in &self.extents {
            let ExtentKind::Data { offset, .. } = x.kind else {
                continue;
            };
            let end = offset + u64::from(x.pages) * PAGE_SIZE;
            while let Some(c) = chunks.peek() {
                let c_end = c.offset + u64::from(c.stored_len);
                if c_end <= offset {
                    chunks.next();
                } else if c.offset < end {
                    return Err(format!(
                        "data at file offset {offset} overlaps the chunk at {}",
                        c.offset
                    ));
                } else {
                    break;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> PageMap {
        PageMap {
            base: 0x8000_0000,
            size: 64 * PAGE_SIZE,
            inherits: true,
            identity: false,
            data_offset: 8192,
            extents: vec![
                Extent {
                    first_page: 0,
                    pages: 2,
                    kind: ExtentKind::Data {
                        offset: 8192,
                        crc: DataCrc::Extent(5),
                    },
                },
                Extent {
                    first_page: 2,
                    pages: 1,
                    kind: ExtentKind::Zero,
                },
                Extent {
                    first_page: 10,
                    pages: 3,
                    kind: ExtentKind::Packed { chunk: 0, slot: 1 },
                },
            ],
            chunks: vec![Chunk {
                offset: 16384,
                stored_len: 100,
                pages: 4,
                crc: 9,
            }],
            page_crcs: None,
        }
    }

    #[test]
    fn round_trip() {
        let m = sample();
        assert_eq!(PageMap::decode(&m.encode(), 8192, 16384).unwrap(), m);
    }

    /// A map with page checksums: the table after the chunks, one per stored page.
    fn per_page() -> PageMap {
        let mut m = sample();
        m.extents[0].kind = ExtentKind::Data {
            offset: 8192,
            crc: DataCrc::Pages(0),
        };
        m.page_crcs = Some(vec![11, 22]);
        m
    }

    #[test]
    fn page_checksums_round_trip_and_are_counted() {
        let m = per_page();
        assert_eq!(PageMap::decode(&m.encode(), 8192, 16384).unwrap(), m);
        // One checksum too few or too many.
        for n in [1, 3] {
            let mut short = m.clone();
            short.page_crcs = Some(vec![7; n]);
            assert!(PageMap::decode(&short.encode(), 8192, 16384)
                .unwrap_err()
                .contains("page checksums"));
        }
        // An extent checksum next to page checksums.
        let mut both = m.encode();
        both[32 + 28] = 1;
        assert!(PageMap::decode(&both, 8192, 16384)
            .unwrap_err()
            .contains("besides page checksums"));
        // Without the flag, the table is trailing garbage.
        let mut plain = m.encode();
        plain[20] &= !4;
        assert!(PageMap::decode(&plain, 8192, 16384).is_err());
    }

    #[test]
    fn data_is_checked_page_by_page_or_whole() {
        let pages: Vec<u8> = (0..2 * PAGE_SIZE as usize).map(|i| (i / 7) as u8).collect();
        let (a, b) = pages.split_at(PAGE_SIZE as usize);
        let mut m = per_page();
        m.page_crcs = Some(vec![crc32c::crc32c(a), crc32c::crc32c(b)]);
        let x = m.extents[0];
        assert_eq!(m.check_data(&x, 0, &pages), Ok(()));
        assert_eq!(m.check_data(&x, 1, b), Ok(()));
        assert_eq!(
            m.check_data(&x, 0, b),
            Err(0),
            "page 1's bytes are not page 0's"
        );
        let mut bad = pages.clone();
        bad[PAGE_SIZE as usize + 9] ^= 1;
        assert_eq!(m.check_data(&x, 0, &bad), Err(1));
        // An extent checksum checks only the whole extent.
        let mut old = sample();
        old.extents[0].kind = ExtentKind::Data {
            offset: 8192,
            crc: DataCrc::Extent(crc32c::crc32c(&pages)),
        };
        let x = old.extents[0];
        assert_eq!(old.check_data(&x, 0, &pages), Ok(()));
        assert_eq!(old.check_data(&x, 1, b), Err(1));
        assert_eq!(old.check_data(&x, 0, &bad), Err(0));
    }

    #[test]
    fn identity_layout() {
        let m = PageMap {
            base: 0,
            size: 64 * PAGE_SIZE,
            inherits: false,
            identity: true,
            data_offset: 8192,
            extents: vec![Extent {
                first_page: 3,
                pages: 2,
                kind: ExtentKind::Data {
                    offset: 8192 + 3 * 4096,
                    crc: DataCrc::Extent(5),
                },
            }],
            chunks: vec![],
            page_crcs: None,
        };
        assert_eq!(
            PageMap::decode(&m.encode(), 8192, 64 * PAGE_SIZE).unwrap(),
            m
        );
        assert!(PageMap::decode(&m.encode(), 8192, 63 * PAGE_SIZE)
            .unwrap_err()
            .contains("identity"));
        let mut moved = m.clone();
        moved.extents[0].kind = ExtentKind::Data {
            offset: 8192,
            crc: DataCrc::Extent(5),
        };
        assert!(PageMap::decode(&moved.encode(), 8192, 64 * PAGE_SIZE)
            .unwrap_err()
            .contains("identity"));
    }

    #[test]
    fn rejects_bad_maps() {
        let bad = |f: &dyn Fn(&mut PageMap)| {
            let mut m = sample();
            f(&mut m);
            PageMap::decode(&m.encode(), 8192, 16384).unwrap_err()
        };
        assert!(bad(&|m| m.extents[1].first_page = 1).contains("overlaps"));
        assert!(bad(&|m| m.extents[2].first_page = 62).contains("beyond"));
        assert!(bad(&|m| m.extents[0].kind = ExtentKind::Data {
            offset: 8193,
            crc: DataCrc::Extent(0)
        })
        .contains("unaligned"));
        assert!(bad(&|m| m.extents[0].kind = ExtentKind::Data {
            offset: 16384,
            crc: DataCrc::Extent(0)
        })
        .contains("overlaps the chunk"));
        assert!(
            bad(&|m| m.extents[2].kind = ExtentKind::Packed { chunk: 0, slot: 2 })
                .contains("reaches past")
        );
        assert!(
            bad(&|m| m.extents[2].kind = ExtentKind::Packed { chunk: 1, slot: 0 })
                .contains("names chunk")
        );
        assert!(bad(&|m| m.chunks[0].stored_len = 5 * 4096).contains("absurd"));
        assert!(bad(&|m| m.chunks[0].offset = 24500).contains("out of range"));
        assert!(bad(&|m| m.size = 100).contains("whole pages"));
        assert!(bad(&|m| m.base = u64::MAX - 4095).contains("wraps"));
    }
}
