//! Fuzz target: the snapshot reader on arbitrary bytes and on mutated real snapshots.
//! Whatever the file, opening and reading every section (and decoding the state
//! sections of a process VM, then checking them as a restore does) must end in a
//! value or an error, never a panic, a hang or an allocation out of proportion to the file
//! (DESIGN.md invariant 3: bad snapshots get a clear error). State sections are
//! decoded with tern-state as a restore decodes them.
//!
//! The first input byte picks a mode:
//! - `0`: the rest of the input is the snapshot file;
//! - otherwise a real snapshot (uncompressed identity layout, dense, or zstd) is
//!   mutated by the rest of the input, read as `(offset: u16, xor: u8)` edits aimed at
//!   the whole file or only at its directories (table of contents, page maps, disk
//!   records, overlay extents), optionally truncated, and optionally resealed
//!   (checksums recomputed) so that the edits reach the structural checks behind them.
#![no_main]

use std::io::Cursor;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tern_snapshot::*;

/// Three real snapshots holding every kind of section.
fn seeds() -> &'static [Vec<u8>; 3] {
    static SEEDS: OnceLock<[Vec<u8>; 3]> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let build = |zstd: bool, layout: MemoryLayout| {
            let mut ram = vec![0u8; 16 * 4096];
            for (i, b) in ram.iter_mut().enumerate() {
                let page = i / 4096;
                if page % 3 != 1 {
                    *b = ((i * 7 + page) % 251) as u8;
                }
            }
            let opts = WriteOptions {
                zstd_level: zstd.then_some(1),
                memory_layout: layout,
                threads: 1,
                sync: false,
            };
            let meta = SnapshotMeta::new("riscv64", VmKind::System);
            let mut w = SnapshotWriter::new(Cursor::new(Vec::new()), meta, opts).expect("writer");
            let hart = tern_hart::HartState::new(0, 0x8000_0000);
            let hart = tern_state::to_bytes(&hart).expect("hart state");
            w.add_state("hart0", &hart).expect("state");
            w.add_state("plic", &[5u8; 700]).expect("state");
            let region = Region {
                base: 0x8000_0000,
                size: ram.len() as u64,
            };
            w.add_memory("ram", region, &ram[..], Pages::All)
                .expect("memory");
            let disk = DiskRecord {
                path: "/images/root.img".into(),
                format: "qcow2".into(),
                read_only: false,
                fingerprint: Fingerprint {
                    size: 1 << 30,
                    mtime_unix_ns: 1,
                    content: ContentHash::Full([3; 32]),
                },
            };
            w.add_disk("vda", &disk).expect("disk");
            let blocks = vec![0x42u8; 2048];
            let g = OverlayGeometry {
                sector_size: 512,
                disk_sectors: 1 << 20,
            };
            w.add_disk_overlay("vda", g, [(4u64, &blocks[..]), (64, &blocks[..512])])
                .expect("overlay");
            w.finish().expect("finish").1.into_inner()
        };
        [
            build(false, MemoryLayout::Identity),
            build(false, MemoryLayout::Dense),
            build(true, MemoryLayout::Dense),
        ]
    })
}

fn le64(b: &[u8], at: usize) -> u64 {
    b.get(at..at + 8)
        .map_or(0, |s| u64::from_le_bytes(s.try_into().unwrap_or_default()))
}

/// The table of contents and every payload of `b`, as (offset, len) ranges, and
/// the table entry offsets (parsed leniently: this is the fuzzer's map, not a reader).
fn directories(b: &[u8]) -> (Vec<(usize, usize)>, Vec<usize>) {
    let toc = le64(b, 32) as usize;
    let toc_len = le64(b, 40) as usize;
    let mut ranges = vec![(toc, toc_len)];
    let mut entries = Vec::new();
    let count = b
        .get(toc..toc + 4)
        .map_or(0, |s| u32::from_le_bytes(s.try_into().unwrap_or_default()));
    let mut at = toc + 8;
    for _ in 0..count.min(64) {
        let Some(e) = b.get(at..at + 56) else { break };
        let name_len = u16::from_le_bytes([e[4], e[5]]) as usize;
        entries.push(at);
        ranges.push((le64(b, at + 8) as usize, le64(b, at + 16) as usize));
        at += (56 + name_len).div_ceil(8) * 8;
    }
    (ranges, entries)
}

/// Recomputes every payload checksum, the table's and the header's.
fn reseal(b: &mut [u8]) {
    let (_, entries) = directories(b);
    for e in entries {
        let (off, len) = (le64(b, e + 8) as usize, le64(b, e + 16) as usize);
        let crc = off
            .checked_add(len)
            .and_then(|end| b.get(off..end))
            .map(crc32c::crc32c);
        if let (Some(crc), Some(dst)) = (crc, b.get_mut(e + 32..e + 36)) {
            dst.copy_from_slice(&crc.to_le_bytes());
        }
    }
    let (toc, toc_len) = (le64(b, 32) as usize, le64(b, 40) as usize);
    let crc = toc
        .checked_add(toc_len)
        .and_then(|end| b.get(toc..end))
        .map(crc32c::crc32c);
    if let (Some(crc), true) = (crc, b.len() >= 52) {
        b[48..52].copy_from_slice(&crc.to_le_bytes());
    }
    let hlen =
        b.get(12..16)
            .map_or(0, |s| u32::from_le_bytes(s.try_into().unwrap_or_default())) as usize;
    if (16..=4096).contains(&hlen) && hlen <= b.len() {
        let crc = crc32c::crc32c(&b[..hlen - 4]);
        b[hlen - 4..hlen].copy_from_slice(&crc.to_le_bytes());
    }
}

/// Mutates a seed as the input says.
fn mutate(mode: u8, input: &[u8]) -> Vec<u8> {
    let seeds = seeds();
    let mut b = seeds[usize::from(mode) % 3].clone();
    let aimed = mode & 0x08 != 0;
    let (ranges, _) = directories(&b);
    let targets: Vec<usize> = ranges
        .iter()
        .flat_map(|&(off, len)| {
            (off..off.saturating_add(len.min(1 << 16))).take_while(|&i| i < b.len())
        })
        .collect();
    for e in input.chunks_exact(3) {
        let at = usize::from(u16::from_le_bytes([e[0], e[1]]));
        let i = if aimed && !targets.is_empty() {
            targets[at % targets.len()]
        } else {
            at % b.len()
        };
        b[i] ^= e[2];
    }
    if mode & 0x10 != 0 {
        let cut = input.len() * 131 % (b.len() + 1);
        b.truncate(cut);
    }
    if mode & 0x20 != 0 {
        reseal(&mut b);
    }
    b
}

/// Decodes a component state section as `tern restore` does (by the name tern gives
/// it), and checks a decoded process state against a small guest RAM.
fn decode_state(name: &str, bytes: &[u8]) {
    use tern_linux::state::{ProcessState, ThreadState};
    let _ = tern_state::peek(bytes);
    if name == "process" {
        if let Ok(state) = tern_state::from_bytes::<ProcessState>(bytes) {
            if let Ok(ram) = tern_hart::GuestRam::new(0x8000_0000, 16 << 20) {
                let image = tern_linux::restore::Image {
                    state,
                    threads: Vec::new(),
                };
                let _ = image.check(&ram);
            }
        }
    } else if name.starts_with("thread.") {
        let _ = tern_state::from_bytes::<ThreadState>(bytes);
    } else if name.starts_with("hart") {
        let _ = tern_state::from_bytes::<tern_hart::HartState>(bytes);
    } else if name == "clock" {
        let _ = tern_state::from_bytes::<tern_hart::clock::ClockState>(bytes);
    }
}

/// Reads everything a restore would, and more.
fn read_everything(bytes: Vec<u8>) {
    let Ok(snap) = Snapshot::from_bytes(bytes) else {
        return;
    };
    let _ = snap.expect_guest("riscv64", VmKind::System);
    for s in snap.sections() {
        match s.kind {
            SectionKind::State => {
                if let Ok(bytes) = snap.state(&s.name) {
                    decode_state(&s.name, bytes);
                }
            }
            SectionKind::Memory => {
                let Ok(m) = snap.memory(&s.name) else {
                    continue;
                };
                let region = m.region();
                let _ = m.plan();
                let _ = m.page_counts();
                let _ = m.map_threshold(4);
                for p in [0, region.pages() / 3, region.pages() - 1, region.pages()] {
                    let _ = m.locate(p);
                    let _ = m.own_location(p);
                    let mut page = vec![0u8; 4096];
                    let _ = m.read_page(p, &mut page);
                }
                // The harness, not the reader, decides how much to allocate.
                if region.size <= 16 << 20 {
                    let mut buf = vec![0u8; region.size as usize];
                    let _ = m.populate(&mut buf);
                    let opts = PopulateOptions {
                        dest_is_zeroed: true,
                        mapped_min_pages: Some(2),
                        threads: 2,
                    };
                    let _ = m.populate_with(&mut buf, &opts);
                }
            }
            SectionKind::Disk => {
                let _ = snap.disk(&s.name);
            }
            SectionKind::DiskOverlay => {
                if let Ok(o) = snap.disk_overlay(&s.name) {
                    for i in 0..o.len().min(64) {
                        let _ = o.read(i);
                    }
                }
            }
            SectionKind::Unknown(_) => {}
        }
    }
    let _ = snap.verify_memory(1);
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let bytes = if mode == 0 {
        rest.to_vec()
    } else {
        mutate(mode, rest)
    };
    read_everything(bytes);
});
