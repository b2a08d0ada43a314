//! Round trips: what the writer stores, the reader gives back, through files, chains
//! of incremental snapshots, compression and lazy mapping.

mod common;

use std::path::Path;

use common::*;
use tern_snapshot::*;

fn write_full(path: &Path, ram: &[u8], zstd: bool) -> Summary {
    write_full_with(path, ram, options(zstd))
}

fn write_full_with(path: &Path, ram: &[u8], opts: WriteOptions) -> Summary {
    let mut w =
        SnapshotWriter::create(path, SnapshotMeta::new("riscv64", VmKind::System), opts).unwrap();
    w.add_state("hart0", b"hart state").unwrap();
    w.add_memory(
        "ram",
        Region {
            base: RAM_BASE,
            size: ram.len() as u64,
        },
        ram,
        Pages::All,
    )
    .unwrap();
    w.finish().unwrap().0
}

fn write_child(path: &Path, parent: &Path, ram: &[u8], changed: &[u64], zstd: bool) -> Summary {
    let parent_id = Snapshot::open(parent).unwrap().id();
    let meta = SnapshotMeta::new("riscv64", VmKind::System).with_parent(ParentRef {
        id: parent_id,
        path_hint: parent.file_name().unwrap().to_str().unwrap().into(),
    });
    let mut w = SnapshotWriter::create(path, meta, options(zstd)).unwrap();
    w.add_state("hart0", path.to_str().unwrap().as_bytes())
        .unwrap();
    let addrs: Vec<u64> = changed.iter().map(|p| RAM_BASE + p * PAGE_SIZE).collect();
    w.add_memory(
        "ram",
        Region {
            base: RAM_BASE,
            size: ram.len() as u64,
        },
        ram,
        Pages::ChangedSinceParent(&addrs),
    )
    .unwrap();
    w.finish().unwrap().0
}

fn restored(path: &Path) -> Vec<u8> {
    let snap = Snapshot::open(path).unwrap();
    let m = snap.memory("ram").unwrap();
    let mut buf = vec![0xeeu8; m.region().size as usize];
    m.populate(&mut buf).unwrap();
    snap.verify_memory(0).unwrap();
    buf
}

/// Files written before page checksums (one CRC-32C per data extent, no required
/// features; `tests/data/extent-crc*.tern`, written from `small_snapshot` by the
/// writer before page checksums, their header's format version then set to 2 and its
/// CRC recomputed: format 2 changed only what state sections mean, so these are the
/// format-2 files a tern without page checksums wrote) read back exactly as the same
/// snapshot written today, and a flipped page byte in them is still found.
#[test]
fn files_from_before_page_checksums_read_the_same() {
    for (zstd, old) in [
        (false, &include_bytes!("data/extent-crc.tern")[..]),
        (true, &include_bytes!("data/extent-crc-zstd.tern")[..]),
    ] {
        assert_eq!(&old[16..24], &[0; 8], "no required features");
        assert_eq!(
            open_all(old).unwrap(),
            open_all(&small_snapshot(zstd)).unwrap()
        );
        if zstd {
            continue;
        }
        // Identity layout: page i of the region at the start of the plan's first run
        // plus i pages. Every flip is found: by an extent's CRC where the page is
        // stored, as a non-zero hole elsewhere.
        let snap = Snapshot::from_bytes(old.to_vec()).unwrap();
        let Some(PageLocation::File { offset, .. }) = snap
            .memory("ram")
            .unwrap()
            .plan()
            .first()
            .map(|r| r.location)
        else {
            panic!("identity layout expected");
        };
        let mut crc_errors = 0;
        for page in 0..SMALL_PAGES {
            let mut b = old.to_vec();
            b[(offset + page * PAGE_SIZE + 77) as usize] ^= 0x40;
            let e = open_all(&b).unwrap_err().to_string();
            assert!(e.starts_with("snapshot section `ram`: pages"), "{e}");
            crc_errors += usize::from(e.contains("crc mismatch"));
        }
        assert!(crc_errors > 0);
    }
}

#[test]
fn sections_round_trip() {
    for zstd in [false, true] {
        let bytes = small_snapshot(zstd);
        let c = open_all(&bytes).unwrap();
        assert_eq!(c.states[0], ("hart0".into(), vec![1, 2, 3, 4, 5]));
        assert_eq!(c.states[1], ("plic".into(), vec![9u8; 600]));
        assert_eq!(c.states[2], ("empty".into(), vec![]));
        assert_eq!(c.disks, vec![("vda".into(), fake_disk())]);
        let (_, g, ex) = &c.overlays[0];
        assert_eq!(g.sector_size, 512);
        assert_eq!(
            ex[0].0,
            OverlayExtent {
                sector: 8,
                sectors: 2
            }
        );
        assert_eq!(
            ex[1].0,
            OverlayExtent {
                sector: 100,
                sectors: 1
            }
        );
        assert!(ex.iter().all(|(_, d)| d.iter().all(|&b| b == 0x5a)));
        let mut rng = Rng(0x5eed);
        assert_eq!(c.memory[0].2, sparse_ram(&mut rng, SMALL_PAGES, 40));
        let snap = Snapshot::from_bytes(bytes).unwrap();
        let plic = snap
            .sections()
            .into_iter()
            .find(|s| s.name == "plic")
            .unwrap();
        assert_eq!(plic.stored_len < plic.raw_len, zstd, "{plic:?}");
    }
}

#[test]
fn sparse_memory_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    for (seed, percent) in [(1, 0), (2, 3), (3, 50), (4, 100)] {
        let mut rng = Rng(seed);
        let ram = sparse_ram(&mut rng, 3000, percent);
        for (zstd, layout) in [
            (false, MemoryLayout::Identity),
            (false, MemoryLayout::Dense),
            (true, MemoryLayout::Dense),
        ] {
            let path = dir.path().join(format!("s{seed}{zstd}{layout:?}.tern"));
            let opts = WriteOptions {
                memory_layout: layout,
                ..options(zstd)
            };
            let s = write_full_with(&path, &ram, opts);
            assert_eq!(s.memory.pages_considered, 3000);
            assert_eq!(
                s.memory.zero_pages + s.memory.mapped_pages + s.memory.compressed_pages,
                3000
            );
            assert_eq!(restored(&path), ram, "seed {seed} zstd {zstd}");
            let snap = Snapshot::open(&path).unwrap();
            let m = snap.memory("ram").unwrap();
            let c = m.page_counts();
            assert_eq!(
                (c.zero, c.data, c.compressed),
                (
                    s.memory.zero_pages,
                    s.memory.mapped_pages,
                    s.memory.compressed_pages
                )
            );
            let plan = m.plan();
            if !zstd {
                // Every stored page is mappable, at an aligned offset holding its bytes.
                for r in &plan {
                    if let PageLocation::File { layer, offset } = r.location {
                        assert_eq!(offset % PAGE_SIZE, 0);
                        assert_eq!(layer, 0);
                        let mut b = vec![0u8; (r.pages * PAGE_SIZE) as usize];
                        std::os::unix::fs::FileExt::read_exact_at(
                            snap.layer_file(0).unwrap(),
                            &mut b,
                            offset,
                        )
                        .unwrap();
                        assert_eq!(b[..], ram[(r.first_page * PAGE_SIZE) as usize..][..b.len()]);
                    }
                }
            }
            if layout == MemoryLayout::Identity && !zstd {
                // One mapping for the whole region; holes where pages are zero.
                assert_eq!(plan.len(), 1, "{plan:?}");
                assert_eq!(m.map_threshold(1), 1);
                let file_len = std::fs::metadata(&path).unwrap().len();
                assert!(file_len >= 3000 * PAGE_SIZE);
                if percent == 0 {
                    use std::os::unix::fs::MetadataExt;
                    let used = std::fs::metadata(&path).unwrap().blocks() * 512;
                    assert!(used < 1 << 20, "a sparse file, {used} bytes used");
                }
            } else {
                let files = plan
                    .iter()
                    .filter(|r| matches!(r.location, PageLocation::File { .. }))
                    .count();
                assert!(m.map_threshold(files) == 1);
                if files > 3 {
                    let n = m.map_threshold(3);
                    let big = plan
                        .iter()
                        .filter(|r| matches!(r.location, PageLocation::File { .. }) && r.pages >= n)
                        .count();
                    assert!(big <= 3 && n > 1);
                }
            }
        }
    }
}

#[test]
fn only_listed_pages_are_read() {
    let mut rng = Rng(9);
    let mut ram = sparse_ram(&mut rng, 64, 50);
    let listed: Vec<u64> = (0..64)
        .filter(|p| p % 3 == 0)
        .map(|p| RAM_BASE + p * PAGE_SIZE)
        .collect();
    let mut bytes = std::io::Cursor::new(Vec::new());
    let mut w = SnapshotWriter::new(
        &mut bytes,
        SnapshotMeta::new("riscv64", VmKind::System),
        options(false),
    )
    .unwrap();
    let region = Region {
        base: RAM_BASE,
        size: ram.len() as u64,
    };
    w.add_memory("ram", region, &ram[..], Pages::Only(&listed))
        .unwrap();
    w.finish().unwrap();
    for p in 0..64u64 {
        if p % 3 != 0 {
            ram[(p * PAGE_SIZE) as usize..((p + 1) * PAGE_SIZE) as usize].fill(0);
        }
    }
    let c = open_all(bytes.get_ref()).unwrap();
    assert_eq!(c.memory[0].2, ram);
}

#[test]
fn callback_sources_match_slices() {
    let mut rng = Rng(11);
    let ram = sparse_ram(&mut rng, 700, 30);
    for zstd in [false, true] {
        let src = FnPages(|i: u64, buf: &mut [u8]| {
            buf.copy_from_slice(&ram[(i * PAGE_SIZE) as usize..][..PAGE_SIZE as usize]);
            Ok(())
        });
        let mut w = SnapshotWriter::new(
            std::io::Cursor::new(Vec::new()),
            SnapshotMeta::new("riscv64", VmKind::Process),
            options(zstd),
        )
        .unwrap();
        w.add_memory(
            "user",
            Region {
                base: 0x1_0000,
                size: ram.len() as u64,
            },
            &src,
            Pages::All,
        )
        .unwrap();
        let (_, cur) = w.finish().unwrap();
        let c = open_all(cur.get_ref()).unwrap();
        assert_eq!(c.memory[0].1.base, 0x1_0000);
        assert_eq!(c.memory[0].2, ram);
    }
}

/// A chain of three: a full snapshot and two incremental ones, each changing, adding
/// and zeroing pages; every combination of compression.
#[test]
fn incremental_chain_of_three() {
    let dir = tempfile::tempdir().unwrap();
    for mask in 0..8u32 {
        let z = |i: u32| mask & (1 << i) != 0;
        let mut rng = Rng(100 + u64::from(mask));
        let pages = 1500;
        let mut ram = sparse_ram(&mut rng, pages, 40);
        let p0 = dir.path().join(format!("{mask}-0.tern"));
        write_full(&p0, &ram, z(0));
        let snap0 = ram.clone();
        let mut prev = p0.clone();
        let mut versions = vec![(p0, snap0)];
        for gen in 1..3 {
            let mut changed = Vec::new();
            for _ in 0..200 {
                let p = rng.below(pages);
                changed.push(p);
                if rng.below(4) == 0 {
                    ram[(p * PAGE_SIZE) as usize..((p + 1) * PAGE_SIZE) as usize].fill(0);
                } else {
                    dirty_page(&mut rng, &mut ram, p);
                }
            }
            let path = dir.path().join(format!("{mask}-{gen}.tern"));
            let s = write_child(&path, &prev, &ram, &changed, z(gen));
            assert!(s.memory.pages_considered <= 200);
            prev = path.clone();
            versions.push((path, ram.clone()));
        }
        for (path, want) in &versions {
            assert_eq!(&restored(path), want, "mask {mask} {}", path.display());
        }
        let last = Snapshot::open(&versions[2].0).unwrap();
        assert_eq!(last.chain_len(), 3);
        assert_eq!(
            last.state("hart0").unwrap(),
            versions[2].0.to_str().unwrap().as_bytes()
        );
        let m = last.memory("ram").unwrap();
        // Pages the last child does not hold are found in its ancestors.
        let in_parent = (0..pages)
            .filter(|&p| m.own_location(p).unwrap() == PageLocation::InParent)
            .count();
        assert!(in_parent > 1000, "{in_parent}");
    }
}

#[test]
fn parent_problems_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(5);
    let ram = sparse_ram(&mut rng, 64, 50);
    let base = dir.path().join("base.tern");
    let child = dir.path().join("child.tern");
    write_full(&base, &ram, false);
    write_child(&child, &base, &ram, &[1, 2], false);
    assert!(Snapshot::open(&child).is_ok());

    // The parent replaced by another snapshot of the same name.
    write_full(&base, &ram, false);
    let e = Snapshot::open(&child).err().unwrap();
    assert!(matches!(e, Error::ParentMismatch { .. }), "{e}");
    assert!(
        e.to_string().contains("but the child was taken from"),
        "{e}"
    );

    // The parent gone.
    std::fs::remove_file(&base).unwrap();
    let e = Snapshot::open(&child).err().unwrap();
    assert!(matches!(e, Error::ParentMissing { .. }), "{e}");
    assert!(e.to_string().starts_with("snapshot parent "), "{e}");

    // An incremental snapshot held in memory cannot find its parent.
    let e = Snapshot::from_bytes(std::fs::read(&child).unwrap())
        .err()
        .unwrap();
    assert!(matches!(e, Error::ParentMissing { .. }), "{e}");
}

#[test]
fn copied_chain_directory_still_opens() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(6);
    let mut ram = sparse_ram(&mut rng, 64, 50);
    let a = dir.path().join("a");
    std::fs::create_dir(&a).unwrap();
    write_full(&a.join("base.tern"), &ram, true);
    dirty_page(&mut rng, &mut ram, 3);
    write_child(
        &a.join("child.tern"),
        &a.join("base.tern"),
        &ram,
        &[3],
        true,
    );
    let b = dir.path().join("b");
    std::fs::rename(&a, &b).unwrap();
    assert_eq!(restored(&b.join("child.tern")), ram);
}

#[test]
fn guest_checks_and_partial_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vm.tern");
    write_full(&path, &vec![0u8; 8192], false);
    let snap = Snapshot::open(&path).unwrap();
    snap.expect_guest("riscv64", VmKind::System).unwrap();
    let e = snap
        .expect_guest("riscv64", VmKind::Process)
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "snapshot holds a riscv64 system VM, not a riscv64 process VM"
    );
    assert!(snap.expect_guest("aarch64", VmKind::System).is_err());
    assert!(snap
        .state("nope")
        .unwrap_err()
        .to_string()
        .contains("no state section `nope`"));

    // A writer dropped before `finish` leaves neither the file nor its partial copy.
    let other = dir.path().join("other.tern");
    let mut w = SnapshotWriter::create(
        &other,
        SnapshotMeta::new("riscv64", VmKind::System),
        options(false),
    )
    .unwrap();
    w.add_state("hart0", b"x").unwrap();
    drop(w);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn writer_refuses_misuse() {
    let mut w = SnapshotWriter::new(
        std::io::Cursor::new(Vec::new()),
        SnapshotMeta::new("riscv64", VmKind::System),
        options(false),
    )
    .unwrap();
    assert!(w.add_state("bad name", b"").is_err());
    w.add_state("uart", b"").unwrap();
    assert!(w
        .add_state("uart", b"")
        .unwrap_err()
        .to_string()
        .contains("twice"));
    let ram = vec![0u8; 8192];
    let region = Region {
        base: RAM_BASE,
        size: 8192,
    };
    assert!(w
        .add_memory("ram", region, &ram[..], Pages::ChangedSinceParent(&[]))
        .is_err());
    assert!(w
        .add_memory("ram", region, &ram[..], Pages::Only(&[RAM_BASE + 8192]))
        .is_err());
    assert!(w
        .add_memory(
            "ram",
            Region {
                base: 1,
                size: 8192
            },
            &ram[..],
            Pages::All
        )
        .is_err());
    assert!(w
        .add_memory(
            "ram",
            Region {
                base: 0,
                size: 16384
            },
            &ram[..],
            Pages::All
        )
        .is_err());
    let g = OverlayGeometry {
        sector_size: 512,
        disk_sectors: 100,
    };
    let d = [0u8; 1024];
    assert!(w
        .add_disk_overlay("vda", g, [(10, &d[..]), (11, &d[..])])
        .is_err());
}

/// What a RAM owner does with the plan: map the file's runs over fresh anonymous
/// memory, then let populate fill what cannot be mapped.
#[test]
fn lazy_mapping_restores_memory() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(77);
    let mut ram = sparse_ram(&mut rng, 2048, 30);
    let base = dir.path().join("base.tern");
    let child = dir.path().join("child.tern");
    write_full(&base, &ram, false);
    let changed: Vec<u64> = (0..2048).step_by(7).collect();
    for &p in &changed {
        dirty_page(&mut rng, &mut ram, p);
    }
    // The child is compressed: its pages must be decompressed over the mapped parent.
    write_child(&child, &base, &ram, &changed, true);
    let snap = Snapshot::open(&child).unwrap();
    let m = snap.memory("ram").unwrap();
    let size = m.region().size as usize;
    // SAFETY: a fresh private anonymous mapping of `size` bytes, unmapped below.
    let addr = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            size,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    assert_ne!(addr, libc::MAP_FAILED);
    let mut mapped = 0;
    for r in m.plan() {
        if let PageLocation::File { layer, offset } = r.location {
            let fd = std::os::fd::AsRawFd::as_raw_fd(snap.layer_file(layer).unwrap());
            // SAFETY: the target range lies inside the mapping made above.
            let at = unsafe { addr.cast::<u8>().add((r.first_page * PAGE_SIZE) as usize) };
            let len = (r.pages * PAGE_SIZE) as usize;
            // SAFETY: MAP_FIXED replaces part of our own mapping with a private file mapping.
            let got = unsafe {
                libc::mmap(
                    at.cast(),
                    len,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_FIXED,
                    fd,
                    offset as libc::off_t,
                )
            };
            assert_eq!(got, at.cast());
            mapped += r.pages;
        }
    }
    assert!(mapped > 0);
    // SAFETY: the mapping is `size` bytes, readable and writable, and lives until munmap.
    let dest = unsafe { std::slice::from_raw_parts_mut(addr.cast::<u8>(), size) };
    let opts = PopulateOptions {
        dest_is_zeroed: true,
        mapped_min_pages: Some(1),
        threads: 2,
    };
    m.populate_with(dest, &opts).unwrap();
    assert!(dest == &ram[..]);
    // SAFETY: unmapping the region mapped above; `dest` is not used after this.
    unsafe { libc::munmap(addr, size) };
}

/// What tern's restore does: populate the compressed pages, then read the stored
/// ones group by group as the guest touches them. Reads leave pages that are not
/// stored alone; a file truncated or rewritten after the restore is caught by the
/// read, naming the page and the file.
#[test]
fn lazy_reads_restore_memory_and_catch_changed_files() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(78);
    let mut ram = sparse_ram(&mut rng, 2048, 30);
    let base = dir.path().join("base.tern");
    let child = dir.path().join("child.tern");
    write_full(&base, &ram, false);
    let changed: Vec<u64> = (0..2048).step_by(7).collect();
    for &p in &changed {
        dirty_page(&mut rng, &mut ram, p);
    }
    write_child(&child, &base, &ram, &changed, true);
    let snap = std::sync::Arc::new(Snapshot::open(&child).unwrap());
    let mut dest = vec![0u8; ram.len()];
    let opts = PopulateOptions {
        dest_is_zeroed: true,
        mapped_min_pages: Some(1),
        threads: 2,
    };
    snap.memory("ram")
        .unwrap()
        .populate_with(&mut dest, &opts)
        .unwrap();
    let lazy = LazyMemory::new(snap.clone(), "ram").unwrap();
    let runs = lazy.stored_runs().unwrap();
    let stored: u64 = runs.iter().map(|r| r.1).sum();
    assert!(stored > 100, "{stored}");
    let page = PAGE_SIZE as usize;
    let is_stored = |p: u64| runs.iter().any(|&(f, n)| (f..f + n).contains(&p));
    for group in (0..2048u64).step_by(16) {
        let mut buf = vec![0xeeu8; 16 * page];
        lazy.read_stored(group, &mut buf).unwrap();
        for i in 0..16 {
            let p = group + i;
            let got = &buf[i as usize * page..][..page];
            if is_stored(p) {
                dest[p as usize * page..][..page].copy_from_slice(got);
            } else {
                assert!(got.iter().all(|&b| b == 0xee), "page {p} is not stored");
            }
        }
    }
    assert!(dest == ram);
    // The base file (which holds the stored pages) is rewritten in place, then
    // truncated: reads fail, naming the page and the file.
    let (first, _) = runs[0];
    let Ok(PageLocation::File { layer: 1, offset }) = snap.memory("ram").unwrap().locate(first)
    else {
        panic!("page {first} should be stored in the base");
    };
    let f = std::fs::OpenOptions::new().write(true).open(&base).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&f, &[0x5a], offset + 9).unwrap();
    let mut buf = vec![0u8; page];
    let e = lazy.read_stored(first, &mut buf).unwrap_err().to_string();
    assert!(
        e.contains(&format!("pages {first:#x}..{:#x}", first + 1))
            && e.contains("crc mismatch")
            && e.contains("base.tern"),
        "{e}"
    );
    f.set_len(offset).unwrap();
    let e = lazy.read_stored(first, &mut buf).unwrap_err().to_string();
    assert!(e.contains("base.tern") && e.contains("cannot read"), "{e}");
}

#[test]
fn disk_records_check_real_images() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("disk.img");
    std::fs::write(&img, vec![3u8; 1 << 20]).unwrap();
    let rec = DiskRecord::capture(&img, "raw", false, FingerprintMode::Sampled).unwrap();
    let mut w = SnapshotWriter::new(
        std::io::Cursor::new(Vec::new()),
        SnapshotMeta::new("riscv64", VmKind::System),
        options(false),
    )
    .unwrap();
    w.add_disk("vda", &rec).unwrap();
    let (_, cur) = w.finish().unwrap();
    let snap = Snapshot::from_bytes(cur.into_inner()).unwrap();
    assert_eq!(
        snap.disk("vda").unwrap().check("vda").unwrap(),
        FingerprintMatch::Same
    );
    std::fs::write(&img, vec![4u8; 1 << 20]).unwrap();
    let e = snap
        .disk("vda")
        .unwrap()
        .check("vda")
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("disk `vda` changed since the snapshot:"),
        "{e}"
    );
}

#[test]
fn large_overlays_split_and_compress() {
    let mut rng = Rng(8);
    let mut data = vec![0u8; 3 << 20];
    rng.fill(&mut data[..1 << 20]);
    let g = OverlayGeometry {
        sector_size: 4096,
        disk_sectors: 1 << 20,
    };
    for zstd in [false, true] {
        let mut w = SnapshotWriter::new(
            std::io::Cursor::new(Vec::new()),
            SnapshotMeta::new("riscv64", VmKind::System),
            options(zstd),
        )
        .unwrap();
        w.add_disk_overlay("vdb", g, [(1000u64, &data[..])])
            .unwrap();
        let (_, cur) = w.finish().unwrap();
        let len = cur.get_ref().len();
        assert_eq!(len < 2 << 20, zstd, "{len}");
        let c = open_all(cur.get_ref()).unwrap();
        let ex = &c.overlays[0].2;
        assert_eq!(ex.len(), 3);
        assert_eq!(
            ex[1].0,
            OverlayExtent {
                sector: 1256,
                sectors: 256
            }
        );
        let joined: Vec<u8> = ex.iter().flat_map(|e| e.1.clone()).collect();
        assert!(joined == data);
    }
}

/// Overlays read from a callback as they are written equal those given as slices,
/// and a failing read names the section and the sectors.
#[test]
fn streamed_overlays_match_slices() {
    let mut rng = Rng(9);
    let mut data = vec![0u8; (5 << 20) / 2];
    rng.fill(&mut data);
    let g = OverlayGeometry {
        sector_size: 512,
        disk_sectors: 1 << 16,
    };
    // Two extents: 2 MiB + 4 KiB at sector 8, 512 KiB - 4 KiB further on.
    let (a, b) = data.split_at((2 << 20) + 4096);
    let slices = [(8u64, a), (20_000u64, b)];
    let write = |streamed: bool| -> Vec<u8> {
        let mut w = SnapshotWriter::new(
            std::io::Cursor::new(Vec::new()),
            SnapshotMeta::new("riscv64", VmKind::System),
            options(false),
        )
        .unwrap();
        if streamed {
            let extents = slices.iter().map(|(s, d)| OverlayExtent {
                sector: *s,
                sectors: (d.len() / 512) as u32,
            });
            w.add_disk_overlay_from("vda", g, extents, |sector, buf| {
                let (first, d) = slices.iter().rev().find(|(s, _)| *s <= sector).unwrap();
                let at = ((sector - first) * 512) as usize;
                buf.copy_from_slice(&d[at..at + buf.len()]);
                Ok(())
            })
            .unwrap();
        } else {
            w.add_disk_overlay("vda", g, slices).unwrap();
        }
        let (_, cur) = w.finish().unwrap();
        cur.into_inner()
    };
    let (x, y) = (
        open_all(&write(false)).unwrap(),
        open_all(&write(true)).unwrap(),
    );
    assert_eq!(x.overlays, y.overlays);
    assert_eq!(x.overlays[0].2.len(), 4);

    let mut w = SnapshotWriter::new(
        std::io::Cursor::new(Vec::new()),
        SnapshotMeta::new("riscv64", VmKind::System),
        options(false),
    )
    .unwrap();
    let e = w
        .add_disk_overlay_from(
            "vdb",
            g,
            [OverlayExtent {
                sector: 64,
                sectors: 8,
            }],
            |_, _| Err(std::io::Error::other("device gone")),
        )
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "snapshot section `vdb`: cannot read the disk's sectors 64+8: device gone"
    );
    let e = w
        .add_disk_overlay_from(
            "vdc",
            g,
            [OverlayExtent {
                sector: 1 << 16,
                sectors: 1,
            }],
            |_, _| Ok(()),
        )
        .unwrap_err()
        .to_string();
    assert!(e.contains("past the disk's end"), "{e}");
}

#[test]
fn damaged_or_looping_chains_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(12);
    let ram = sparse_ram(&mut rng, 32, 50);
    let base = dir.path().join("base.tern");
    let child = dir.path().join("child.tern");
    write_full(&base, &ram, false);
    write_child(&child, &base, &ram, &[0], false);

    // A damaged parent is reported as the parent's problem.
    let mut b = std::fs::read(&base).unwrap();
    let last = b.len() - 1;
    b[last] ^= 1;
    std::fs::write(&base, &b).unwrap();
    let e = Snapshot::open(&child).err().unwrap().to_string();
    assert!(
        e.starts_with("snapshot chain: parent `") && e.contains("checksum mismatch"),
        "{e}"
    );

    // A snapshot naming itself as its parent.
    let mut c = std::fs::read(&child).unwrap();
    let own: [u8; 16] = c[56..72].try_into().unwrap();
    c[80..96].copy_from_slice(&own);
    reseal(&mut c);
    std::fs::write(&child, &c).unwrap();
    let e = Snapshot::open(&child).err().unwrap().to_string();
    assert!(e.contains("is its own ancestor"), "{e}");
}
