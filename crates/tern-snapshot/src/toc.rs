//! The table of contents: one entry per section, naming it and saying where its bytes
//! are and how to check them.
//!
//! Entries are self-describing (kind, flags, name, payload range, checksum, and a second
//! "aux" range for bulk data such as memory pages), so a tool can list and check a
//! snapshot without knowing what the sections mean. The reader checks here, before
//! reading any section, that every range lies inside the file and that no two ranges
//! overlap: later code can then trust offsets.

use std::collections::HashSet;

use crate::codec::{Dec, Enc};
use crate::error::{Error, Result};
use crate::header::{Layout, HEADER_AREA};

/// The kinds of section.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SectionKind {
    /// A component's state (a hart, device, clock, ...: tern writes each one's versioned
    /// state, see FORMAT.md).
    State,
    /// A guest memory region: a page map in the payload, page data in the aux range.
    Memory,
    /// A disk image record: path and content fingerprint.
    Disk,
    /// A disk's written blocks (copy-on-write overlay): an extent list in the payload,
    /// block data in the aux range.
    DiskOverlay,
    /// A kind from a newer format revision that is marked optional; readers skip it.
    Unknown(u16),
}

impl SectionKind {
    pub(crate) fn code(self) -> u16 {
        match self {
            SectionKind::State => 1,
            SectionKind::Memory => 2,
            SectionKind::Disk => 3,
            SectionKind::DiskOverlay => 4,
            SectionKind::Unknown(c) => c,
        }
    }

    fn from_code(c: u16) -> SectionKind {
        match c {
            1 => SectionKind::State,
            2 => SectionKind::Memory,
            3 => SectionKind::Disk,
            4 => SectionKind::DiskOverlay,
            c => SectionKind::Unknown(c),
        }
    }

    /// The kind's name in messages.
    pub fn name(self) -> &'static str {
        match self {
            SectionKind::State => "state",
            SectionKind::Memory => "memory",
            SectionKind::Disk => "disk",
            SectionKind::DiskOverlay => "disk overlay",
            SectionKind::Unknown(_) => "unknown",
        }
    }
}

/// The payload is a zstd frame of `raw_len` bytes (state sections only).
pub(crate) const FLAG_ZSTD: u16 = 1 << 0;
/// Readers that do not know the section's kind may skip it.
pub(crate) const FLAG_OPTIONAL: u16 = 1 << 1;
const KNOWN_FLAGS: u16 = FLAG_ZSTD | FLAG_OPTIONAL;

/// Longest section name.
pub const MAX_NAME_LEN: usize = 64;
/// Bytes of an entry before its name.
const ENTRY_FIXED: usize = 56;

/// Largest decompressed size accepted for a compressed payload of `stored` bytes: caps
/// what a hostile file can make the reader allocate. Writers store payloads that
/// compress better than this uncompressed.
pub(crate) fn max_raw_len(stored: u64) -> u64 {
    stored.saturating_mul(256).saturating_add(64 * 1024)
}

/// Whether `name` is a valid section name: 1 to 64 bytes of ASCII letters, digits,
/// `.`, `_` and `-` (names appear in messages and file listings).
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// One entry of the table of contents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TocEntry {
    pub kind: SectionKind,
    pub flags: u16,
    pub name: String,
    /// Payload range and checksum.
    pub offset: u64,
    pub len: u64,
    /// Payload length after decompression (equal to `len` when not compressed).
    pub raw_len: u64,
    pub crc: u32,
    /// Bulk data range (memory pages, overlay blocks); empty for other kinds.
    pub aux_offset: u64,
    pub aux_len: u64,
}

/// Encodes the table of contents.
pub(crate) fn encode(entries: &[TocEntry]) -> Vec<u8> {
    let mut e = Enc::default();
    e.u32(entries.len() as u32);
    e.u32(0);
    for t in entries {
        e.u16(t.kind.code());
        e.u16(t.flags);
        e.u16(t.name.len() as u16);
        e.u16(0);
        e.u64(t.offset);
        e.u64(t.len);
        e.u64(t.raw_len);
        e.u32(t.crc);
        e.u32(0);
        e.u64(t.aux_offset);
        e.u64(t.aux_len);
        e.bytes(t.name.as_bytes());
        e.pad_to(8);
    }
    e.buf
}

/// A stretch of the file that no range covers: padding, which must be zero.
#[derive(Debug)]
pub(crate) struct Gap {
    pub offset: u64,
    pub len: u64,
    /// What precedes it ("section `plic`", "the table of contents").
    pub after: String,
}

impl Gap {
    /// The error for non-zero bytes in this gap.
    pub fn error(&self) -> Error {
        toc_or_section(
            &self.after,
            format!(
                "padding at bytes {}..{} after {} is not zero",
                self.offset,
                self.offset + self.len,
                self.after
            ),
        )
    }
}

/// Parses the table of contents (already checksum-verified) and checks every entry
/// against the file layout. Returns the entries and the padding between ranges.
pub(crate) fn decode(bytes: &[u8], layout: &Layout) -> Result<(Vec<TocEntry>, Vec<Gap>)> {
    let entries = parse(bytes).map_err(Error::Toc)?;
    let gaps = check(&entries, layout)?;
    Ok((entries, gaps))
}

fn parse(bytes: &[u8]) -> Result<Vec<TocEntry>, String> {
    let mut d = Dec::new(bytes);
    let count = d.u32()? as usize;
    d.reserved32("after the entry count")?;
    if count > d.remaining() / ENTRY_FIXED {
        return Err(format!(
            "{count} entries cannot fit in {} bytes",
            bytes.len()
        ));
    }
    let mut entries = Vec::with_capacity(count);
    for i in 0..count {
        let at = |m: String| format!("entry {i}: {m}");
        let kind = SectionKind::from_code(d.u16().map_err(at)?);
        let flags = d.u16().map_err(at)?;
        let name_len = usize::from(d.u16().map_err(at)?);
        if d.u16().map_err(at)? != 0 {
            return Err(at("reserved bytes are not zero".into()));
        }
        let offset = d.u64().map_err(at)?;
        let len = d.u64().map_err(at)?;
        let raw_len = d.u64().map_err(at)?;
        let crc = d.u32().map_err(at)?;
        d.reserved32("of an entry").map_err(at)?;
        let aux_offset = d.u64().map_err(at)?;
        let aux_len = d.u64().map_err(at)?;
        let name = d.take(name_len).map_err(at)?;
        d.pad_to(8).map_err(at)?;
        let name = match std::str::from_utf8(name) {
            Ok(n) if valid_name(n) => n.to_string(),
            _ => {
                return Err(at(format!(
                    "bad section name {:?}",
                    String::from_utf8_lossy(name)
                )))
            }
        };
        entries.push(TocEntry {
            kind,
            flags,
            name,
            offset,
            len,
            raw_len,
            crc,
            aux_offset,
            aux_len,
        });
    }
    d.finish("last entry")?;
    Ok(entries)
}

/// Checks kinds, flags, names and ranges: every range inside the file after the
/// header page, no two ranges (the table's own included) overlapping.
fn check(entries: &[TocEntry], layout: &Layout) -> Result<Vec<Gap>> {
    let mut seen = HashSet::new();
    let mut ranges = vec![(
        layout.toc_offset,
        layout.toc_len,
        "the table of contents".to_string(),
    )];
    for t in entries {
        let fail = |m: String| Err(Error::section(&t.name, m));
        if let SectionKind::Unknown(code) = t.kind {
            if t.flags & FLAG_OPTIONAL == 0 {
                return fail(format!(
                    "unknown section kind {code} (written by a newer tern?)"
                ));
            }
        }
        if t.flags & !KNOWN_FLAGS != 0 {
            return fail(format!("unknown flags {:#x}", t.flags & !KNOWN_FLAGS));
        }
        if !seen.insert((t.kind, t.name.as_str())) {
            return fail(format!("appears twice as a {} section", t.kind.name()));
        }
        let compressed = t.flags & FLAG_ZSTD != 0;
        if compressed && !matches!(t.kind, SectionKind::State | SectionKind::Unknown(_)) {
            return fail("only state sections can be compressed as a whole".into());
        }
        if !compressed && t.raw_len != t.len {
            return fail(format!(
                "uncompressed, yet its length {} differs from its raw length {}",
                t.len, t.raw_len
            ));
        }
        if compressed && t.raw_len > max_raw_len(t.len) {
            return fail(format!(
                "absurd length: {} compressed bytes claim to hold {}",
                t.len, t.raw_len
            ));
        }
        if matches!(t.kind, SectionKind::State | SectionKind::Disk)
            && (t.aux_offset | t.aux_len) != 0
        {
            return fail("has a bulk data range it cannot use".into());
        }
        ranges.push((t.offset, t.len, format!("section `{}`", t.name)));
        if t.aux_len != 0 {
            ranges.push((
                t.aux_offset,
                t.aux_len,
                format!("the data of section `{}`", t.name),
            ));
        }
    }
    check_ranges(ranges, layout.file_len)
}

/// Fails if a range leaves `[HEADER_AREA, file_len)` or two ranges overlap; returns
/// the gaps between them.
fn check_ranges(mut ranges: Vec<(u64, u64, String)>, file_len: u64) -> Result<Vec<Gap>> {
    ranges.retain(|r| r.1 != 0);
    for (off, len, what) in &ranges {
        let end = off.checked_add(*len);
        if *off < HEADER_AREA || end.is_none_or(|e| e > file_len) {
            let msg = format!(
                "{what} at offset {off} with length {len} lies outside the file's {HEADER_AREA}..{file_len}"
            );
            return Err(toc_or_section(what, msg));
        }
    }
    ranges.sort_by_key(|r| r.0);
    for w in ranges.windows(2) {
        if w[0].0 + w[0].1 > w[1].0 {
            let msg = format!("{} overlaps {}", w[1].2, w[0].2);
            // Blame a section rather than the table itself.
            let culprit = if w[1].2.contains('`') {
                &w[1].2
            } else {
                &w[0].2
            };
            return Err(toc_or_section(culprit, msg));
        }
    }
    let mut gaps = Vec::new();
    let mut at = HEADER_AREA;
    let mut after = "the header page".to_string();
    for (off, len, what) in ranges.into_iter().chain([(file_len, 0, String::new())]) {
        if off > at {
            gaps.push(Gap {
                offset: at,
                len: off - at,
                after: std::mem::take(&mut after),
            });
        }
        at = off + len;
        after = what;
    }
    Ok(gaps)
}

/// Attributes a range problem to the section it names, or to the table.
fn toc_or_section(what: &str, msg: String) -> Error {
    match what.split('`').nth(1) {
        Some(name) => Error::section(name, msg),
        None => Error::Toc(msg),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, offset: u64, len: u64) -> TocEntry {
        TocEntry {
            kind: SectionKind::State,
            flags: 0,
            name: name.into(),
            offset,
            len,
            raw_len: len,
            crc: 0,
            aux_offset: 0,
            aux_len: 0,
        }
    }

    fn layout() -> Layout {
        Layout {
            file_len: 10_000,
            toc_offset: 9_000,
            toc_len: 1_000,
            toc_crc: 0,
        }
    }

    #[test]
    fn round_trip() {
        let es = vec![entry("hart0", 4096, 10), entry("plic", 4112, 20)];
        assert_eq!(decode(&encode(&es), &layout()).unwrap().0, es);
    }

    #[test]
    fn overlaps_and_out_of_range_name_the_section() {
        let e = decode(
            &encode(&[entry("hart0", 4096, 100), entry("plic", 4100, 20)]),
            &layout(),
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            e,
            "snapshot section `plic`: section `plic` overlaps section `hart0`"
        );
        let e = decode(&encode(&[entry("uart", 8_990, 20)]), &layout())
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("snapshot section `uart`:") && e.contains("overlaps"),
            "{e}"
        );
        let e = decode(&encode(&[entry("uart", u64::MAX, 20)]), &layout())
            .unwrap_err()
            .to_string();
        assert!(e.contains("outside the file"), "{e}");
        let e = decode(&encode(&[entry("uart", 100, 20)]), &layout())
            .unwrap_err()
            .to_string();
        assert!(e.contains("outside the file"), "{e}");
    }

    #[test]
    fn names_and_kinds() {
        assert!(valid_name("linux.fds") && valid_name("virtio-1") && valid_name("hart_0"));
        assert!(!valid_name("") && !valid_name("a b") && !valid_name(&"x".repeat(65)));
        let mut u = entry("future", 4096, 1);
        u.kind = SectionKind::Unknown(99);
        assert!(decode(&encode(&[u.clone()]), &layout()).is_err());
        u.flags = FLAG_OPTIONAL;
        assert!(decode(&encode(&[u]), &layout()).is_ok());
        let dup = [entry("a", 4096, 1), entry("a", 4104, 1)];
        assert!(decode(&encode(&dup), &layout())
            .unwrap_err()
            .to_string()
            .contains("twice"));
    }
}
