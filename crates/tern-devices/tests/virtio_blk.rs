//! virtio-blk through hand-built virtqueues: raw, qcow2 (made and checked with
//! `qemu-img`), read-only and snapshot disks, and error statuses.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Driver, READ, WRITE};
use tern_devices::irq::LevelRecorder;
use tern_devices::virtio::blk::{req, status, Blk};
use tern_devices::virtio::disk::{DiskFormat, DiskOptions, MemDisk};
use tern_devices::MmioDevice;

fn header(kind: u32, sector: u64) -> Vec<u8> {
    let mut h = Vec::new();
    h.extend_from_slice(&kind.to_le_bytes());
    h.extend_from_slice(&0u32.to_le_bytes());
    h.extend_from_slice(&sector.to_le_bytes());
    h
}

/// Runs one request; returns (status, used length, data read).
fn request(
    d: &mut Driver<Blk>,
    kind: u32,
    sector: u64,
    out: &[u8],
    in_len: u32,
) -> (u8, u32, Vec<u8>) {
    let h = d.data(&header(kind, sector));
    let mut bufs = vec![(h, 16, READ)];
    if !out.is_empty() {
        let a = d.data(out);
        bufs.push((a, out.len() as u32, READ));
    }
    let inb = d.alloc(u64::from(in_len));
    if in_len > 0 {
        bufs.push((inb, in_len, WRITE));
    }
    let st = d.alloc(1);
    d.ram.write(st, &[0xff]).unwrap();
    bufs.push((st, 1, WRITE));
    let head = d.add_chain(0, &bufs);
    d.kick(0);
    let used = d.used(0);
    assert_eq!(used.len(), 1);
    assert_eq!(used[0].0, u32::from(head));
    (d.read(st, 1)[0], used[0].1, d.read(inb, in_len as usize))
}

fn driver(blk: Blk) -> (Driver<Blk>, std::sync::Arc<LevelRecorder>) {
    let rec = LevelRecorder::new();
    let d = Driver::new(blk, common::new_ram(), rec.line(1), 0, 64);
    (d, rec)
}

#[test]
fn read_write_flush_get_id_on_a_memory_disk() {
    let data: Vec<u8> = (0..64 * 512).map(|i| (i * 7) as u8).collect();
    let blk = Blk::new(
        Box::new(MemDisk { data: data.clone() }),
        false,
        "tern-disk-0",
    );
    let (mut d, rec) = driver(blk);
    // Config: capacity, seg_max, blk_size.
    assert_eq!(d.dev.read(0x100, 8).unwrap(), 64);
    assert_eq!(d.dev.read(0x114, 4).unwrap(), 512);
    let (s, len, got) = request(&mut d, req::IN, 2, &[], 1024);
    assert_eq!((s, len), (status::OK, 1025));
    assert_eq!(got, &data[1024..2048]);
    assert!(rec.level(1));
    assert_eq!(d.ack() & 1, 1);
    assert!(!rec.level(1));
    let (s, len, _) = request(&mut d, req::OUT, 3, &[0xab; 512], 0);
    assert_eq!((s, len), (status::OK, 1));
    let (_, _, got) = request(&mut d, req::IN, 3, &[], 512);
    assert_eq!(got, vec![0xab; 512]);
    assert_eq!(request(&mut d, req::FLUSH, 0, &[], 0).0, status::OK);
    let (s, len, id) = request(&mut d, req::GET_ID, 0, &[], 20);
    assert_eq!((s, len), (status::OK, 21));
    assert_eq!(&id[..11], b"tern-disk-0");
    // Errors: beyond the end, partial sectors, unknown requests.
    assert_eq!(request(&mut d, req::IN, 63, &[], 1024).0, status::IOERR);
    assert_eq!(
        request(&mut d, req::IN, u64::MAX / 256, &[], 512).0,
        status::IOERR
    );
    assert_eq!(request(&mut d, req::OUT, 64, &[0; 512], 0).0, status::IOERR);
    assert_eq!(request(&mut d, req::IN, 0, &[], 100).0, status::IOERR);
    assert_eq!(request(&mut d, 99, 0, &[], 0).0, status::UNSUPP);
    // A header that is too short.
    let h = d.data(&[0; 8]);
    let st = d.alloc(1);
    d.add_chain(0, &[(h, 8, READ), (st, 1, WRITE)]);
    d.kick(0);
    assert_eq!(d.used(0)[0].1, 1);
    assert_eq!(d.read(st, 1)[0], status::IOERR);
}

#[test]
fn read_only_disks_refuse_writes() {
    let blk = Blk::new(
        Box::new(MemDisk {
            data: vec![1; 4096],
        }),
        true,
        "",
    );
    let (mut d, _) = driver(blk);
    assert_ne!(
        d.dev.read(0x10, 4).unwrap() & (1 << 5),
        0,
        "VIRTIO_BLK_F_RO offered"
    );
    assert_eq!(request(&mut d, req::OUT, 0, &[0; 512], 0).0, status::IOERR);
    assert_eq!(request(&mut d, req::IN, 0, &[], 512).2, vec![1; 512]);
}

/// Runs a tool of Debian's qemu-utils, or fails naming the package.
fn tool(name: &str, args: &[&str]) -> String {
    let out = Command::new(name).args(args).output().unwrap_or_else(|e| {
        panic!("cannot run {name} ({e}): install the Debian package qemu-utils")
    });
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{name} {args:?} failed:\n{text}");
    text
}

fn qemu_img(args: &[&str]) -> String {
    tool("qemu-img", args)
}

/// A path for a test image in a directory of its own (tests run in parallel, and each
/// removes its directory when done).
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tern-devices-test-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn raw_of(image: &Path) -> Vec<u8> {
    let raw = image.with_extension("raw");
    qemu_img(&[
        "convert",
        "-O",
        "raw",
        image.to_str().unwrap(),
        raw.to_str().unwrap(),
    ]);
    std::fs::read(raw).unwrap()
}

#[test]
#[ignore = "full tier (scripts/test): needs qemu-img (qemu-utils)"]
fn qcow2_images_made_by_qemu_img_are_read_and_written() {
    let path = scratch("disk.qcow2");
    let _ = std::fs::remove_file(&path);
    qemu_img(&["create", "-q", "-f", "qcow2", path.to_str().unwrap(), "8M"]);
    // Data written by QEMU first, read back by tern.
    tool(
        "qemu-io",
        &[
            "-f",
            "qcow2",
            "-c",
            "write -P 0x42 1M 64k",
            path.to_str().unwrap(),
        ],
    );
    let blk = Blk::open(&DiskOptions::new(&path, DiskFormat::Qcow2), "q").unwrap();
    assert_eq!(blk.capacity(), 16384);
    let (mut d, _) = driver(blk);
    let (s, _, zero) = request(&mut d, req::IN, 100, &[], 4096);
    assert_eq!(s, status::OK);
    assert_eq!(zero, vec![0; 4096]);
    let (s, _, qemu) = request(&mut d, req::IN, 2048, &[], 65536);
    assert_eq!(s, status::OK);
    assert_eq!(qemu, vec![0x42; 65536]);
    let pattern: Vec<u8> = (0..70_000u32).map(|i| (i % 251) as u8).collect();
    let pattern = &pattern[..(70_000 / 512) * 512];
    assert_eq!(request(&mut d, req::OUT, 1000, pattern, 0).0, status::OK);
    assert_eq!(
        request(&mut d, req::OUT, 16383, &[0x5a; 512], 0).0,
        status::OK
    );
    assert_eq!(request(&mut d, req::FLUSH, 0, &[], 0).0, status::OK);
    let (_, _, back) = request(&mut d, req::IN, 1000, &[], pattern.len() as u32);
    assert_eq!(back, pattern);
    drop(d);
    let check = qemu_img(&["check", path.to_str().unwrap()]);
    assert!(check.contains("No errors were found"), "{check}");
    let raw = raw_of(&path);
    assert_eq!(&raw[1000 * 512..1000 * 512 + pattern.len()], pattern);
    assert_eq!(&raw[16383 * 512..], &[0x5a; 512][..]);
    assert!(raw[..1000 * 512].iter().all(|&b| b == 0));
    assert_eq!(&raw[1 << 20..(1 << 20) + 65536], &[0x42; 65536][..]);
    // DiskFormat::detect sees the magic.
    assert_eq!(DiskFormat::detect(&path).unwrap(), DiskFormat::Qcow2);
    cleanup(&[&path]);
}

#[test]
#[ignore = "full tier (scripts/test): needs qemu-img (qemu-utils)"]
fn snapshot_mode_leaves_the_image_untouched() {
    let path = scratch("snap.raw");
    std::fs::write(&path, vec![0x11u8; 1 << 20]).unwrap();
    let mut opts = DiskOptions::new(&path, DiskFormat::Raw);
    opts.snapshot = true;
    let (mut d, _) = driver(Blk::open(&opts, "s").unwrap());
    assert_eq!(request(&mut d, req::OUT, 5, &[0x22; 1024], 0).0, status::OK);
    let (_, _, got) = request(&mut d, req::IN, 4, &[], 2048);
    assert_eq!(&got[..512], &[0x11; 512][..]);
    assert_eq!(&got[512..1536], &[0x22; 1024][..]);
    assert_eq!(&got[1536..], &[0x11; 512][..]);
    drop(d);
    assert!(std::fs::read(&path).unwrap().iter().all(|&b| b == 0x11));
    assert_eq!(DiskFormat::detect(&path).unwrap(), DiskFormat::Raw);

    // The same with a qcow2 image.
    let q = scratch("snap.qcow2");
    let _ = std::fs::remove_file(&q);
    qemu_img(&["create", "-q", "-f", "qcow2", q.to_str().unwrap(), "1M"]);
    let mut opts = DiskOptions::new(&q, DiskFormat::Qcow2);
    opts.snapshot = true;
    let (mut d, _) = driver(Blk::open(&opts, "s").unwrap());
    assert_eq!(request(&mut d, req::OUT, 0, &[0x33; 512], 0).0, status::OK);
    assert_eq!(request(&mut d, req::IN, 0, &[], 512).2, vec![0x33; 512]);
    drop(d);
    assert!(raw_of(&q).iter().all(|&b| b == 0));
    cleanup(&[&path, &q]);
}

#[test]
fn raw_files_are_written_in_place() {
    let path = scratch("plain.raw");
    std::fs::write(&path, vec![0u8; 64 * 1024]).unwrap();
    let (mut d, _) = driver(Blk::open(&DiskOptions::new(&path, DiskFormat::Raw), "r").unwrap());
    assert_eq!(request(&mut d, req::OUT, 1, &[7; 512], 0).0, status::OK);
    assert_eq!(request(&mut d, req::FLUSH, 0, &[], 0).0, status::OK);
    drop(d);
    let file = std::fs::read(&path).unwrap();
    assert_eq!(&file[512..1024], &[7; 512][..]);
    let missing = DiskOptions::new(scratch("nope.raw"), DiskFormat::Raw);
    let err = Blk::open(&missing, "").err().unwrap().to_string();
    assert!(err.contains("nope.raw"), "{err}");
    cleanup(&[&path]);
}

/// Removes test images and the raw copies made of them.
fn cleanup(paths: &[&Path]) {
    for p in paths {
        let _ = std::fs::remove_file(p);
        let _ = std::fs::remove_file(p.with_extension("raw"));
        // Each image has its own directory.
        if let Some(dir) = p.parent() {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

#[test]
fn malformed_chains_get_errors() {
    let blk = Blk::new(
        Box::new(MemDisk {
            data: vec![0; 8192],
        }),
        false,
        "",
    );
    let (mut d, _) = driver(blk);
    let h = d.data(&header(req::IN, 0));
    let st = d.alloc(1);
    // Wrong direction: the status byte is device-readable, so there is nowhere to
    // report: the chain comes back with nothing written.
    d.ram.write(st, &[0xff]).unwrap();
    d.add_chain(0, &[(h, 16, READ), (st, 1, READ)]);
    d.kick(0);
    assert_eq!(d.used(0)[0].1, 0);
    assert_eq!(d.read(st, 1)[0], 0xff);
    // Data outside guest RAM: the status says IOERR.
    let h2 = d.data(&header(req::OUT, 0));
    d.add_chain(0, &[(h2, 16, READ), (0x10, 512, READ), (st, 1, WRITE)]);
    d.kick(0);
    assert_eq!(d.used(0)[0].1, 1);
    assert_eq!(d.read(st, 1)[0], status::IOERR);
    // A writable buffer outside RAM: the chain is returned untouched.
    d.add_chain(
        0,
        &[(h, 16, READ), (u64::MAX - 100, 512, WRITE), (st, 1, WRITE)],
    );
    d.kick(0);
    assert_eq!(d.used(0)[0].1, 0);
    // A descriptor loop (0 -> 1 -> 0 ...) ends after a queue's worth of links.
    d.put_desc(0, 10, h, 16, 1, 11);
    d.put_desc(0, 11, st, 1, 1 | 2, 10);
    d.publish(0, 10);
    d.kick(0);
    assert_eq!(d.used(0).len(), 1);
    // The device still works.
    assert_eq!(request(&mut d, req::IN, 1, &[], 512).0, status::OK);
}

#[test]
fn guest_writes_are_tracked_and_reads_are_not() {
    let blk = Blk::new(
        Box::new(MemDisk {
            data: vec![0; 1 << 20],
        }),
        false,
        "",
    );
    let disk = blk.disk();
    let (mut d, _) = driver(blk);
    assert_eq!(request(&mut d, req::IN, 0, &[], 8192).0, status::OK);
    assert!(disk.lock().written().is_empty());
    // One sector in block 1, 12 KiB from the middle of block 4 to that of block 7.
    assert_eq!(request(&mut d, req::OUT, 9, &[1; 512], 0).0, status::OK);
    assert_eq!(
        request(&mut d, req::OUT, 36, &[2; 12 * 1024], 0).0,
        status::OK
    );
    // Refused requests write nothing.
    assert_eq!(
        request(&mut d, req::OUT, 2047, &[3; 1024], 0).0,
        status::IOERR
    );
    let runs: Vec<_> = disk.lock().written().runs().collect();
    assert_eq!(runs, vec![1..2, 4..8]);
    disk.lock().mark();
    assert_eq!(request(&mut d, req::OUT, 0, &[4; 512], 0).0, status::OK);
    let g = disk.lock();
    assert_eq!(
        g.written_since_mark().runs().collect::<Vec<_>>(),
        vec![0..1]
    );
    assert_eq!(g.written().len(), 6);
}

#[test]
fn a_snapshot_mode_disk_says_it_is_throwaway() {
    let path = scratch("throwaway.raw");
    std::fs::write(&path, vec![0u8; 64 * 1024]).unwrap();
    let mut opts = DiskOptions::new(&path, DiskFormat::Raw);
    assert!(!Blk::open(&opts, "").unwrap().disk().lock().throwaway());
    opts.snapshot = true;
    let blk = Blk::open(&opts, "").unwrap();
    assert!(blk.disk().lock().throwaway());
    opts.read_only = true;
    assert!(!Blk::open(&opts, "").unwrap().disk().lock().throwaway());
    cleanup(&[&path]);
}
