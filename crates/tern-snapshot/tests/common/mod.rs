//! Helpers shared by the integration tests: deterministic random RAM, a small but
//! complete snapshot, reading everything back, and re-sealing checksums after a
//! deliberate edit.
#![allow(dead_code)]

use std::io::Cursor;

use tern_snapshot::*;

/// xorshift64*: deterministic and dependency-free.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    pub fn fill(&mut self, buf: &mut [u8]) {
        for c in buf.chunks_mut(8) {
            let v = self.next().to_le_bytes();
            c.copy_from_slice(&v[..c.len()]);
        }
    }
}

/// RAM of `pages` pages where about `percent`% of the pages hold data: half of them
/// random bytes, half a compressible pattern.
pub fn sparse_ram(rng: &mut Rng, pages: u64, percent: u64) -> Vec<u8> {
    let mut ram = vec![0u8; (pages * PAGE_SIZE) as usize];
    for p in 0..pages {
        if rng.below(100) < percent {
            dirty_page(rng, &mut ram, p);
        }
    }
    ram
}

/// Overwrites page `p` with new non-zero content.
pub fn dirty_page(rng: &mut Rng, ram: &mut [u8], p: u64) {
    let page = &mut ram[(p * PAGE_SIZE) as usize..((p + 1) * PAGE_SIZE) as usize];
    if rng.below(2) == 0 {
        rng.fill(page);
    } else {
        let v = rng.next() as u8 | 1;
        for (i, b) in page.iter_mut().enumerate() {
            *b = if i % 64 < 8 { v } else { 0 };
        }
    }
}

pub const RAM_BASE: u64 = 0x8000_0000;
/// Pages of RAM in [`small_snapshot`].
pub const SMALL_PAGES: u64 = 16;

pub fn options(zstd: bool) -> WriteOptions {
    WriteOptions {
        zstd_level: zstd.then_some(1),
        memory_layout: MemoryLayout::Identity,
        threads: 2,
        sync: false,
    }
}

/// A disk record without a real image behind it.
pub fn fake_disk() -> DiskRecord {
    DiskRecord {
        path: "/images/root.img".into(),
        format: "raw".into(),
        read_only: false,
        fingerprint: Fingerprint {
            size: 1 << 30,
            mtime_unix_ns: 1_700_000_000_000_000_000,
            content: ContentHash::Sampled {
                block_size: SAMPLE_BLOCK,
                blocks: SAMPLE_BLOCKS,
                digest: [7; 32],
            },
        },
    }
}

/// A snapshot with every kind of section, small enough to flip each of its bytes.
pub fn small_snapshot(zstd: bool) -> Vec<u8> {
    let mut rng = Rng(0x5eed);
    let ram = sparse_ram(&mut rng, SMALL_PAGES, 40);
    let mut w = SnapshotWriter::new(
        Cursor::new(Vec::new()),
        SnapshotMeta::new("riscv64", VmKind::System),
        options(zstd),
    )
    .unwrap();
    w.add_state("hart0", &[1, 2, 3, 4, 5]).unwrap();
    w.add_state("plic", &vec![9u8; 600]).unwrap();
    w.add_state("empty", &[]).unwrap();
    w.add_memory(
        "ram",
        Region {
            base: RAM_BASE,
            size: ram.len() as u64,
        },
        &ram[..],
        Pages::All,
    )
    .unwrap();
    w.add_disk("vda", &fake_disk()).unwrap();
    let blocks = vec![0x5au8; 1024];
    let geometry = OverlayGeometry {
        sector_size: 512,
        disk_sectors: 1 << 21,
    };
    w.add_disk_overlay(
        "vda",
        geometry,
        [(8u64, &blocks[..]), (100, &blocks[..512])],
    )
    .unwrap();
    let (_, cur) = w.finish().unwrap();
    cur.into_inner()
}

/// An overlay read back: name, geometry, extents with their data.
pub type OverlayContent = (String, OverlayGeometry, Vec<(OverlayExtent, Vec<u8>)>);

/// Everything a snapshot holds, read back and checked.
#[derive(Debug, PartialEq, Eq)]
pub struct Content {
    pub states: Vec<(String, Vec<u8>)>,
    pub memory: Vec<(String, Region, Vec<u8>)>,
    pub disks: Vec<(String, DiskRecord)>,
    pub overlays: Vec<OverlayContent>,
}

/// Reads every section of `snap`, with a cap on region sizes (a damaged file may claim
/// a huge region; allocating for it is the test's choice, not the reader's).
pub fn read_all(snap: &Snapshot) -> Result<Content> {
    let mut c = Content {
        states: Vec::new(),
        memory: Vec::new(),
        disks: Vec::new(),
        overlays: Vec::new(),
    };
    for s in snap.sections() {
        match s.kind {
            SectionKind::State => c
                .states
                .push((s.name.clone(), snap.state(&s.name)?.to_vec())),
            SectionKind::Memory => {
                let m = snap.memory(&s.name)?;
                let region = m.region();
                let plan = m.plan();
                assert_eq!(plan.iter().map(|r| r.pages).sum::<u64>(), region.pages());
                if region.size <= 64 << 20 {
                    let mut buf = vec![0u8; region.size as usize];
                    m.populate(&mut buf)?;
                    for p in [0, region.pages() / 2, region.pages() - 1] {
                        let mut page = vec![0u8; PAGE_SIZE as usize];
                        m.read_page(p, &mut page)?;
                        assert_eq!(
                            page[..],
                            buf[(p * PAGE_SIZE) as usize..][..PAGE_SIZE as usize]
                        );
                    }
                    c.memory.push((s.name.clone(), region, buf));
                } else {
                    c.memory.push((s.name.clone(), region, Vec::new()));
                }
            }
            SectionKind::Disk => c.disks.push((s.name.clone(), snap.disk(&s.name)?.clone())),
            SectionKind::DiskOverlay => {
                let o = snap.disk_overlay(&s.name)?;
                let mut ex = Vec::new();
                for (i, e) in o.extents().enumerate() {
                    ex.push((e, o.read(i)?));
                }
                c.overlays.push((s.name.clone(), o.geometry(), ex));
            }
            SectionKind::Unknown(_) => {}
        }
    }
    snap.verify_memory(1)?;
    Ok(c)
}

/// Opens `bytes` and reads everything.
pub fn open_all(bytes: &[u8]) -> Result<Content> {
    read_all(&Snapshot::from_bytes(bytes.to_vec())?)
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

fn le64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

/// Recomputes the table of contents' checksum and the header's, after an edit meant
/// to get past them (FORMAT.md: toc crc at 48, header crc in the header's last 4 bytes).
pub fn reseal(b: &mut [u8]) {
    let toc_off = le64(b, 32) as usize;
    let toc_len = le64(b, 40) as usize;
    if let Some(toc) = b.get(toc_off..toc_off.saturating_add(toc_len)) {
        let crc = crc32c::crc32c(toc);
        b[48..52].copy_from_slice(&crc.to_le_bytes());
    }
    let hlen = le32(b, 12) as usize;
    if (16..=4096).contains(&hlen) && hlen <= b.len() {
        let crc = crc32c::crc32c(&b[..hlen - 4]);
        b[hlen - 4..hlen].copy_from_slice(&crc.to_le_bytes());
    }
}

/// File offset of the table entry for section `name` of kind code `kind`.
pub fn toc_entry(b: &[u8], kind: u16, name: &str) -> usize {
    let toc = le64(b, 32) as usize;
    let count = le32(b, toc) as usize;
    let mut at = toc + 8;
    for _ in 0..count {
        let k = u16::from_le_bytes([b[at], b[at + 1]]);
        let n = u16::from_le_bytes([b[at + 4], b[at + 5]]) as usize;
        if k == kind && &b[at + 56..at + 56 + n] == name.as_bytes() {
            return at;
        }
        at += (56 + n).div_ceil(8) * 8;
    }
    panic!("no entry {name}");
}

/// Payload (offset, len) of the entry at `entry`.
pub fn payload(b: &[u8], entry: usize) -> (usize, usize) {
    (le64(b, entry + 8) as usize, le64(b, entry + 16) as usize)
}

/// Sets the payload checksum of the entry at `entry` to match its bytes.
pub fn fix_payload_crc(b: &mut [u8], entry: usize) {
    let (off, len) = payload(b, entry);
    if let Some(bytes) = off.checked_add(len).and_then(|end| b.get(off..end)) {
        let crc = crc32c::crc32c(bytes);
        b[entry + 32..entry + 36].copy_from_slice(&crc.to_le_bytes());
    }
}
