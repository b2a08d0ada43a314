//! Disk overlays: the blocks a guest wrote to a disk, stored inside the snapshot
//! (`--include-disks`), so that the file alone is the VM.
//!
//! The container is a copy-on-write overlay: a sorted list of extents (first sector,
//! sector count), each with its data stored in the section's data range, optionally
//! zstd-compressed, with its own CRC. Extents hold at most 1 MiB, so reading one needs
//! a bounded buffer and a damaged extent is reported without reading the others.

use std::io::{Seek, Write};

use crate::codec::{Dec, Enc};
use crate::error::{Error, Result};
use crate::storage::Storage;
use crate::writer::Out;

/// Most bytes in one overlay extent.
pub const MAX_EXTENT_BYTES: u64 = 1 << 20;
const HEAD_LEN: u64 = 24;
const EXTENT_LEN: u64 = 32;
const FLAG_ZSTD: u8 = 1;

/// The disk an overlay belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OverlayGeometry {
    /// Bytes per sector: a power of two from 512 to 65536.
    pub sector_size: u32,
    /// Size of the disk in sectors; extents lie below it.
    pub disk_sectors: u64,
}

impl OverlayGeometry {
    fn check(&self) -> Result<(), String> {
        if !self.sector_size.is_power_of_two() || !(512..=65536).contains(&self.sector_size) {
            return Err(format!(
                "sector size {} is not a power of two in 512..=65536",
                self.sector_size
            ));
        }
        if self
            .disk_sectors
            .checked_mul(u64::from(self.sector_size))
            .is_none()
        {
            return Err(format!("{} sectors overflow", self.disk_sectors));
        }
        Ok(())
    }
}

/// One run of written sectors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OverlayExtent {
    /// First sector.
    pub sector: u64,
    /// Number of sectors.
    pub sectors: u32,
}

/// An extent and where its data is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Stored {
    pub extent: OverlayExtent,
    pub compressed: bool,
    pub offset: u64,
    pub stored_len: u32,
    pub crc: u32,
}

/// A decoded overlay section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct OverlayMap {
    pub geometry: OverlayGeometry,
    pub extents: Vec<Stored>,
}

/// Writes overlay data as it comes, checking order and bounds; [`OverlayOut::finish`]
/// gives the section payload and the data range.
pub(crate) struct OverlayOut<'o, W: Write + Seek> {
    out: &'o mut Out<W>,
    name: &'o str,
    geometry: OverlayGeometry,
    zstd_level: Option<i32>,
    data_offset: u64,
    next_free: u64,
    stored: Vec<Stored>,
}

impl<'o, W: Write + Seek> OverlayOut<'o, W> {
    pub fn new(
        out: &'o mut Out<W>,
        name: &'o str,
        geometry: OverlayGeometry,
        zstd_level: Option<i32>,
    ) -> Result<Self> {
        geometry
            .check()
            .map_err(|m| Error::Usage(format!("disk overlay `{name}`: {m}")))?;
        out.pad_to(8)?;
        let data_offset = out.pos();
        Ok(OverlayOut {
            out,
            name,
            geometry,
            zstd_level,
            data_offset,
            next_free: 0,
            stored: Vec::new(),
        })
    }

    fn usage(&self, m: String) -> Error {
        Error::Usage(format!("disk overlay `{}`: {m}", self.name))
    }

    /// Checks that an extent of `sectors` sectors at `sector` follows the previous one
    /// and lies inside the disk.
    fn check_extent(&self, sector: u64, sectors: u64) -> Result<()> {
        let end = sector.checked_add(sectors);
        if sectors == 0
            || sector < self.next_free
            || end.is_none_or(|e| e > self.geometry.disk_sectors)
        {
            return Err(self.usage(format!(
                "extent of {sectors} sectors at sector {sector} is empty, overlaps the previous one, is out of order, or lies past the disk's end"
            )));
        }
        Ok(())
    }

    /// Appends the data of the sectors from `sector` on (a whole number of sectors,
    /// stored in extents of at most [`MAX_EXTENT_BYTES`]).
    pub fn push(&mut self, sector: u64, data: &[u8]) -> Result<()> {
        let ss = u64::from(self.geometry.sector_size);
        let n = data.len() as u64;
        if !n.is_multiple_of(ss) {
            return Err(self.usage(format!(
                "extent at sector {sector} has {n} bytes, not a whole number of {ss}-byte sectors"
            )));
        }
        self.check_extent(sector, n / ss)?;
        self.next_free = sector + n / ss;
        for (i, piece) in data
            .chunks((MAX_EXTENT_BYTES / ss * ss) as usize)
            .enumerate()
        {
            let first = sector + i as u64 * (MAX_EXTENT_BYTES / ss);
            let packed = match self.zstd_level {
                Some(level) => {
                    let z = zstd::bulk::compress(piece, level)
                        .map_err(|e| self.usage(format!("zstd failed: {e}")))?;
                    ((z.len() as u64) * 8 < (piece.len() as u64) * 7).then_some(z)
                }
                None => None,
            };
            let bytes = packed.as_deref().unwrap_or(piece);
            let offset = self.out.pos();
            self.out.write(bytes)?;
            self.stored.push(Stored {
                extent: OverlayExtent {
                    sector: first,
                    sectors: (piece.len() as u64 / ss) as u32,
                },
                compressed: packed.is_some(),
                offset,
                stored_len: bytes.len() as u32,
                crc: crc32c::crc32c(bytes),
            });
        }
        Ok(())
    }

    /// Appends `extent`, reading its data a piece of at most [`MAX_EXTENT_BYTES`] at a
    /// time with `read(first sector, buffer)`.
    pub fn push_from(
        &mut self,
        extent: OverlayExtent,
        buf: &mut Vec<u8>,
        read: &mut dyn FnMut(u64, &mut [u8]) -> std::io::Result<()>,
    ) -> Result<()> {
        let ss = u64::from(self.geometry.sector_size);
        let per_piece = MAX_EXTENT_BYTES / ss;
        let total = u64::from(extent.sectors);
        self.check_extent(extent.sector, total)?;
        let mut done = 0;
        while done < total {
            let n = (total - done).min(per_piece);
            let first = extent.sector + done;
            buf.resize((n * ss) as usize, 0);
            read(first, buf).map_err(|e| {
                Error::section(
                    self.name,
                    format!("cannot read the disk's sectors {first}+{n}: {e}"),
                )
            })?;
            self.push(first, buf)?;
            done += n;
        }
        Ok(())
    }

    /// The section payload and the data range.
    pub fn finish(self) -> (Vec<u8>, (u64, u64)) {
        let map = OverlayMap {
            geometry: self.geometry,
            extents: self.stored,
        };
        let len = self.out.pos() - self.data_offset;
        (map.encode(), (self.data_offset, len))
    }
}

/// Writes the overlay data, returning the section payload and the data range.
pub(crate) fn write_overlay<'d, W: Write + Seek>(
    out: &mut Out<W>,
    name: &str,
    geometry: OverlayGeometry,
    extents: impl IntoIterator<Item = (u64, &'d [u8])>,
    zstd_level: Option<i32>,
) -> Result<(Vec<u8>, (u64, u64))> {
    let mut o = OverlayOut::new(out, name, geometry, zstd_level)?;
    for (sector, data) in extents {
        if data.is_empty() {
            return Err(o.usage(format!("extent at sector {sector} has no data")));
        }
        o.push(sector, data)?;
    }
    Ok(o.finish())
}

impl OverlayMap {
    fn encode(&self) -> Vec<u8> {
        let mut e = Enc::default();
        e.u32(self.geometry.sector_size);
        e.u32(0);
        e.u64(self.geometry.disk_sectors);
        e.u32(self.extents.len() as u32);
        e.u32(0);
        for s in &self.extents {
            e.u64(s.extent.sector);
            e.u32(s.extent.sectors);
            e.u8(if s.compressed { FLAG_ZSTD } else { 0 });
            e.bytes(&[0; 3]);
            e.u64(s.offset);
            e.u32(s.stored_len);
            e.u32(s.crc);
        }
        e.buf
    }

    /// Parses and checks an overlay whose data must lie in `data_offset..+data_len`.
    pub fn decode(bytes: &[u8], data_offset: u64, data_len: u64) -> Result<OverlayMap, String> {
        let mut d = Dec::new(bytes);
        let geometry = OverlayGeometry {
            sector_size: d.u32()?,
            disk_sectors: {
                d.reserved32("overlay flags")?;
                d.u64()?
            },
        };
        geometry.check()?;
        let n = d.u32()?;
        d.reserved32("after the extent count")?;
        if HEAD_LEN + u64::from(n) * EXTENT_LEN != bytes.len() as u64 {
            return Err(format!(
                "{} bytes cannot hold {n} overlay extents",
                bytes.len()
            ));
        }
        let ss = u64::from(geometry.sector_size);
        let data_end = data_offset
            .checked_add(data_len)
            .ok_or("data range wraps around")?;
        let mut extents = Vec::with_capacity(n as usize);
        let (mut next_sector, mut next_byte) = (0u64, data_offset);
        for i in 0..n {
            let at = |m: &str| format!("overlay extent {i}: {m}");
            let sector = d.u64()?;
            let sectors = d.u32()?;
            let flags = d.u8()?;
            let reserved = d.take(3)?;
            let offset = d.u64()?;
            let stored_len = d.u32()?;
            let crc = d.u32()?;
            let raw = u64::from(sectors) * ss;
            if flags & !FLAG_ZSTD != 0
                || reserved != [0; 3]
                || sectors == 0
                || raw > MAX_EXTENT_BYTES
            {
                return Err(at("malformed, or longer than 1 MiB"));
            }
            let compressed = flags & FLAG_ZSTD != 0;
            let len = u64::from(stored_len);
            if len == 0 || len > raw || (!compressed && len != raw) {
                return Err(at("stored length does not fit its sectors"));
            }
            let past_end = sector
                .checked_add(u64::from(sectors))
                .is_none_or(|e| e > geometry.disk_sectors);
            if sector < next_sector || past_end {
                return Err(at(
                    "overlaps the previous extent or lies past the disk's end",
                ));
            }
            if offset < next_byte || offset.checked_add(len).is_none_or(|e| e > data_end) {
                return Err(at("data out of range or overlapping"));
            }
            next_sector = sector + u64::from(sectors);
            next_byte = offset + len;
            extents.push(Stored {
                extent: OverlayExtent { sector, sectors },
                compressed,
                offset,
                stored_len,
                crc,
            });
        }
        d.finish("overlay extents")?;
        Ok(OverlayMap { geometry, extents })
    }
}

/// A disk overlay in an open snapshot.
pub struct DiskOverlay<'s> {
    pub(crate) name: &'s str,
    pub(crate) map: &'s OverlayMap,
    pub(crate) storage: &'s Storage,
}

impl DiskOverlay<'_> {
    /// Sector size and disk size.
    pub fn geometry(&self) -> OverlayGeometry {
        self.map.geometry
    }

    /// Number of extents.
    pub fn len(&self) -> usize {
        self.map.extents.len()
    }

    /// Whether the overlay holds no written sectors.
    pub fn is_empty(&self) -> bool {
        self.map.extents.is_empty()
    }

    /// The extents, in sector order.
    pub fn extents(&self) -> impl Iterator<Item = OverlayExtent> + '_ {
        self.map.extents.iter().map(|s| s.extent)
    }

    /// Reads and checks extent `i`'s data (at most 1 MiB).
    pub fn read(&self, i: usize) -> Result<Vec<u8>> {
        let s = self.map.extents.get(i).ok_or_else(|| {
            Error::Usage(format!("disk overlay `{}` has no extent {i}", self.name))
        })?;
        let bytes = self.storage.read_vec(s.offset, u64::from(s.stored_len))?;
        let fail = |m: String| {
            Error::section(
                self.name,
                format!("extent {i} (sector {}): {m}", s.extent.sector),
            )
        };
        if crc32c::crc32c(&bytes) != s.crc {
            return Err(fail("crc mismatch".into()));
        }
        if !s.compressed {
            return Ok(bytes);
        }
        let raw = u64::from(s.extent.sectors) * u64::from(self.map.geometry.sector_size);
        let out = zstd::bulk::decompress(&bytes, raw as usize)
            .map_err(|e| fail(format!("cannot decompress: {e}")))?;
        if out.len() as u64 != raw {
            return Err(fail(format!(
                "decompresses to {} bytes, not {raw}",
                out.len()
            )));
        }
        Ok(out)
    }
}
