//! Damaged files: every corruption gives an error that names what is wrong, or reads
//! back exactly what was written; never a panic (DESIGN.md, invariant 3).

mod common;

use common::*;
use proptest::prelude::*;
use tern_snapshot::*;

/// Kind codes of the table of contents (FORMAT.md).
const STATE: u16 = 1;
const MEMORY: u16 = 2;

fn err(bytes: &[u8]) -> String {
    match open_all(bytes) {
        Ok(_) => panic!("damaged snapshot accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn every_byte_flip_is_caught_or_harmless() {
    for zstd in [false, true] {
        let bytes = small_snapshot(zstd);
        let good = open_all(&bytes).unwrap();
        let (mut caught, mut harmless) = (0, 0);
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 1 << (i % 8);
            match open_all(&b) {
                Err(_) => caught += 1,
                Ok(c) => {
                    assert_eq!(c, good, "flipping byte {i} changed the content");
                    harmless += 1;
                }
            }
        }
        // Only padding (the header page's tail, alignment gaps) is not checksummed.
        eprintln!(
            "zstd {zstd}: {} bytes, {caught} flips caught, {harmless} in padding",
            bytes.len()
        );
        assert!(caught > 0);
    }
}

/// What a restored VM can see of `bytes` when it is restored as tern does it: state
/// sections and compressed pages at restore, stored pages one group of 16 at a time
/// when the guest first touches them ([`LazyMemory::read_stored`]), each group read
/// separately as a first touch does. An error means the damage was caught before the
/// guest could see it.
fn restore_lazily(bytes: &[u8]) -> Result<(Vec<Vec<u8>>, Vec<u8>)> {
    let snap = std::sync::Arc::new(Snapshot::from_bytes(bytes.to_vec())?);
    let mut states = Vec::new();
    for s in snap.sections() {
        if s.kind == SectionKind::State {
            states.push(snap.state(&s.name)?.to_vec());
        }
    }
    let view = snap.memory("ram")?;
    let mut ram = vec![0u8; view.region().size as usize];
    let opts = PopulateOptions {
        dest_is_zeroed: true,
        mapped_min_pages: Some(1),
        threads: 1,
    };
    view.populate_with(&mut ram, &opts)?;
    let lazy = LazyMemory::new(snap.clone(), "ram")?;
    let page = PAGE_SIZE as usize;
    for (first, n) in lazy.stored_runs()? {
        for p in first..first + n {
            let mut buf = vec![0u8; page];
            lazy.read_stored(p, &mut buf)?;
            ram[p as usize * page..][..page].copy_from_slice(&buf);
        }
    }
    Ok((states, ram))
}

/// Every single-byte flip of a snapshot is caught when it is opened, when it is
/// restored, or when the guest first touches the page it damaged; or it changes
/// nothing the restored guest sees (padding, holes of the identity layout, which
/// `verify_memory` finds).
#[test]
fn every_byte_flip_is_caught_before_a_lazy_restore_shows_it() {
    for zstd in [false, true] {
        let bytes = small_snapshot(zstd);
        let good = restore_lazily(&bytes).unwrap();
        assert!(good.1.iter().any(|&b| b != 0));
        let (mut caught, mut unseen) = (0, 0);
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 1 << (i % 8);
            match restore_lazily(&b) {
                Err(_) => caught += 1,
                Ok(seen) => {
                    assert!(
                        seen == good,
                        "flipping byte {i} changed what the guest sees"
                    );
                    unseen += 1;
                }
            }
        }
        eprintln!("zstd {zstd}: {caught} flips caught, {unseen} unseen by the guest");
        assert!(caught > 0);
    }
}

#[test]
fn every_truncation_is_caught() {
    for zstd in [false, true] {
        let bytes = small_snapshot(zstd);
        for n in 0..bytes.len() {
            let e = err(&bytes[..n]);
            assert!(
                e.contains("truncated") || e.contains("not a tern snapshot"),
                "length {n}: {e}"
            );
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(err(&longer).contains("bytes after the end"));
    }
}

#[test]
fn header_problems_are_named() {
    let bytes = small_snapshot(false);
    let mut b = bytes.clone();
    b[0] ^= 1;
    assert_eq!(err(&b), "snapshot: not a tern snapshot file (wrong magic)");

    let mut b = bytes.clone();
    b[8..12].copy_from_slice(&7u32.to_le_bytes());
    let e = err(&b);
    assert_eq!(e, "snapshot header: checksum mismatch");
    reseal(&mut b);
    assert_eq!(
        err(&b),
        "snapshot: format version 7 is newer than this tern understands (2)"
    );
    let mut b = bytes.clone();
    b[8..12].copy_from_slice(&1u32.to_le_bytes());
    reseal(&mut b);
    assert!(
        err(&b)
            .starts_with("snapshot: format version 1 is older than this tern reads (2 and later)"),
        "{}",
        err(&b)
    );

    let mut b = bytes.clone();
    b[16] |= 2; // a required feature this reader does not know
    reseal(&mut b);
    assert!(err(&b).contains("features 0x2"));

    let mut b = bytes.clone();
    b[12..16].copy_from_slice(&9000u32.to_le_bytes());
    assert!(err(&b).starts_with("snapshot header: header length 9000"));

    assert_eq!(
        err(&[]),
        "snapshot: not a tern snapshot file (the file has only 0 bytes)"
    );
}

#[test]
fn table_and_section_problems_are_named() {
    let bytes = small_snapshot(false);
    let toc = u64::from_le_bytes(bytes[32..40].try_into().unwrap()) as usize;

    let mut b = bytes.clone();
    b[toc + 60] ^= 4;
    assert_eq!(err(&b), "snapshot table of contents: checksum mismatch");

    // A section's payload damaged.
    let plic = toc_entry(&bytes, STATE, "plic");
    let (off, _) = payload(&bytes, plic);
    let mut b = bytes.clone();
    b[off + 3] ^= 0x10;
    assert_eq!(err(&b), "snapshot section `plic`: crc mismatch");

    // Overlapping offsets.
    let hart = toc_entry(&bytes, STATE, "hart0");
    let mut b = bytes.clone();
    let hart_off = payload(&bytes, hart).0 as u64;
    b[plic + 8..plic + 16].copy_from_slice(&(hart_off + 2).to_le_bytes());
    reseal(&mut b);
    let e = err(&b);
    assert!(
        e.starts_with("snapshot section `plic`: section `plic` overlaps"),
        "{e}"
    );

    // Out of range and absurd lengths.
    for (field, value) in [
        (8, bytes.len() as u64),
        (16, u64::MAX - 5),
        (16, 1 << 40),
        (8, 12),
    ] {
        let mut b = bytes.clone();
        b[plic + field..plic + field + 8].copy_from_slice(&value.to_le_bytes());
        b.copy_within(plic + 16..plic + 24, plic + 24);
        reseal(&mut b);
        let e = err(&b);
        assert!(
            e.starts_with("snapshot section `plic`:") && e.contains("outside the file"),
            "{e}"
        );
    }

    // A compressed section claiming an absurd decompressed size.
    let zbytes = small_snapshot(true);
    let zplic = toc_entry(&zbytes, STATE, "plic");
    let mut b = zbytes.clone();
    b[zplic + 24..zplic + 32].copy_from_slice(&(1u64 << 40).to_le_bytes());
    reseal(&mut b);
    assert!(err(&b).contains("absurd length"));
    // ... or one a little off.
    let mut b = zbytes.clone();
    b[zplic + 24..zplic + 32].copy_from_slice(&601u64.to_le_bytes());
    reseal(&mut b);
    assert!(err(&b).starts_with("snapshot section `plic`:"));

    // A kind from the future.
    let mut b = bytes.clone();
    b[plic..plic + 2].copy_from_slice(&99u16.to_le_bytes());
    reseal(&mut b);
    assert!(err(&b).contains("unknown section kind 99"));
}

#[test]
fn memory_problems_are_named() {
    for zstd in [false, true] {
        let bytes = small_snapshot(zstd);
        let snap = Snapshot::from_bytes(bytes.clone()).unwrap();
        let m = snap.memory("ram").unwrap();
        // Damage inside stored page data: found when the pages are copied or verified.
        let (first, at) = m
            .plan()
            .iter()
            .find_map(|r| match r.location {
                PageLocation::File { offset, .. } => Some((r.first_page, offset)),
                _ => None,
            })
            .or_else(|| {
                let ram = toc_entry(&bytes, MEMORY, "ram");
                let data = u64::from_le_bytes(bytes[ram + 40..ram + 48].try_into().unwrap());
                Some((0, data))
            })
            .unwrap();
        let mut b = bytes.clone();
        b[at as usize + 100] ^= 1;
        let damaged = Snapshot::from_bytes(b).unwrap();
        let e = damaged.verify_memory(1).unwrap_err().to_string();
        assert!(
            e.starts_with("snapshot section `ram`:") && e.contains("crc mismatch"),
            "{e}"
        );
        let dm = damaged.memory("ram").unwrap();
        let mut buf = vec![0u8; dm.region().size as usize];
        let e = dm.populate(&mut buf).unwrap_err().to_string();
        assert!(e.starts_with("snapshot section `ram`: pages"), "{e}");
        if !zstd {
            assert!(e.contains(&format!("{first:#x}..")), "{e}");
        }

        // A page map pointing outside its data.
        let ram = toc_entry(&bytes, MEMORY, "ram");
        let (off, len) = payload(&bytes, ram);
        assert!(len > 32 + 32);
        let mut b = bytes.clone();
        let loc = off + 32 + 16; // the first extent's location
        let v = u64::from_le_bytes(b[loc..loc + 8].try_into().unwrap());
        b[loc..loc + 8].copy_from_slice(&(v + (1 << 30)).to_le_bytes());
        fix_payload_crc(&mut b, ram);
        reseal(&mut b);
        let e = err(&b);
        assert!(e.starts_with("snapshot section `ram`: extent 0"), "{e}");
    }
}

/// Builds a table-sized mutation of a real snapshot.
fn mutate(bytes: &[u8], edits: &[(usize, u8)], truncate: Option<usize>, seal: bool) -> Vec<u8> {
    let mut b = bytes.to_vec();
    for &(i, x) in edits {
        let n = b.len();
        b[i % n] ^= x;
    }
    if let Some(t) = truncate {
        b.truncate(t % (b.len() + 1));
    }
    if seal && b.len() > 64 {
        reseal(&mut b);
    }
    b
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..10_000)) {
        let _ = open_all(&bytes);
        let mut with_magic = MAGIC.to_vec();
        with_magic.extend_from_slice(&bytes);
        let _ = open_all(&with_magic);
    }

    #[test]
    fn mutated_snapshots_never_panic(
        zstd in any::<bool>(),
        edits in prop::collection::vec((any::<usize>(), 1..=255u8), 1..8),
        truncate in prop::option::weighted(0.1, any::<usize>()),
        seal in any::<bool>(),
    ) {
        let bytes = small_snapshot(zstd);
        let b = mutate(&bytes, &edits, truncate, seal);
        if let Ok(c) = open_all(&b) {
            if !seal {
                prop_assert_eq!(c, open_all(&bytes).unwrap());
            }
        }
    }

    /// Edits aimed at the table of contents and the section directories, resealed so
    /// they get past the outer checksums and exercise the structural checks.
    #[test]
    fn mutated_directories_never_panic(
        zstd in any::<bool>(),
        edits in prop::collection::vec((any::<usize>(), 1..=255u8), 1..6),
    ) {
        let bytes = small_snapshot(zstd);
        let toc = u64::from_le_bytes(bytes[32..40].try_into().unwrap()) as usize;
        let ram = toc_entry(&bytes, MEMORY, "ram");
        let (map, map_len) = payload(&bytes, ram);
        let mut b = bytes.clone();
        for (k, &(i, x)) in edits.iter().enumerate() {
            if k % 2 == 0 {
                let n = bytes.len() - toc;
                b[toc + i % n] ^= x;
            } else {
                b[map + i % map_len] ^= x;
            }
        }
        fix_payload_crc(&mut b, ram);
        reseal(&mut b);
        let _ = open_all(&b);
    }
}
