//! Snapshot benchmark: write time, file size, and restore time for synthetic guest RAM.
//!
//! `cargo run --release -p tern-snapshot --example bench [-- --quick]`
//!
//! For 256 MiB and 1 GiB of RAM, mostly zero ("idle": 2% of pages hold data, the rest
//! never touched, as in a guest that booted and sits idle) and 25% random pages, with
//! and without zstd, it measures:
//!
//! - write: creating the snapshot file (page cache; the fsync is reported apart, it
//!   depends on the disk, not on the format);
//! - open+plan: `Snapshot::open` (header, table, page map checks) and
//!   `MemoryView::plan`: what a restore needs before it can map memory;
//! - map: open+plan plus mapping every file run with mmap(MAP_PRIVATE|MAP_FIXED) over
//!   fresh anonymous memory and decompressing what cannot be mapped: guest memory is
//!   then available;
//! - copy: `MemoryView::populate` into a buffer (every page read and checked).

use std::path::Path;
use std::time::{Duration, Instant};

use tern_snapshot::*;

const BASE: u64 = 0x8000_0000;

/// Anonymous memory, unmapped on drop.
struct Anon {
    ptr: *mut u8,
    len: usize,
}

impl Anon {
    fn new(len: usize) -> Anon {
        // SAFETY: a fresh private anonymous mapping; checked for failure below.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        assert_ne!(p, libc::MAP_FAILED, "mmap failed");
        Anon { ptr: p.cast(), len }
    }

    fn slice(&mut self) -> &mut [u8] {
        // SAFETY: the mapping is `len` bytes, readable and writable, alive while `self` is.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }

    /// Maps `pages` pages of `file` at `offset` over our pages from `first_page` on.
    fn map_file(&mut self, first_page: u64, pages: u64, file: &std::fs::File, offset: u64) {
        let at = (first_page * PAGE_SIZE) as usize;
        let len = (pages * PAGE_SIZE) as usize;
        assert!(at + len <= self.len);
        // SAFETY: the range lies inside our own mapping; MAP_FIXED replaces it with a
        // private (copy-on-write) mapping of the file.
        let got = unsafe {
            libc::mmap(
                self.ptr.add(at).cast(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_FIXED,
                std::os::fd::AsRawFd::as_raw_fd(file),
                offset as libc::off_t,
            )
        };
        assert_eq!(
            got.cast(),
            self.ptr.wrapping_add(at),
            "mmap MAP_FIXED failed"
        );
    }
}

impl Drop for Anon {
    fn drop(&mut self) {
        // SAFETY: unmapping exactly what `new` mapped.
        unsafe { libc::munmap(self.ptr.cast(), self.len) };
    }
}

/// xorshift64* for reproducible content.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// Guest RAM with `percent`% of its pages filled with random bytes, the others never
/// touched.
fn make_ram(size: u64, percent: u64) -> Anon {
    let mut ram = Anon::new(size as usize);
    let mut rng = Rng(0x1234_5678 + percent);
    let s = ram.slice();
    for page in s.chunks_mut(PAGE_SIZE as usize) {
        if rng.next() % 100 < percent {
            for w in page.chunks_mut(8) {
                w.copy_from_slice(&rng.next().to_le_bytes());
            }
        }
    }
    ram
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

fn best<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut out = None;
    for _ in 0..runs {
        let t = Instant::now();
        let r = f();
        best = best.min(t.elapsed());
        out = Some(r);
    }
    (best, out.expect("at least one run"))
}

fn write(path: &Path, ram: &[u8], zstd: bool) -> Summary {
    let opts = WriteOptions {
        zstd_level: zstd.then_some(1),
        sync: false,
        ..WriteOptions::default()
    };
    let mut w = SnapshotWriter::create(path, SnapshotMeta::new("riscv64", VmKind::System), opts)
        .expect("create");
    w.add_state("hart0", &[0u8; 600]).expect("state");
    let region = Region {
        base: BASE,
        size: ram.len() as u64,
    };
    w.add_memory("ram", region, ram, Pages::All)
        .expect("memory");
    w.finish().expect("finish").0
}

/// Open, plan, map the file runs over fresh memory, decompress the rest.
fn restore_mapped(path: &Path, size: u64) -> (Duration, Duration, Anon) {
    let t = Instant::now();
    let snap = Snapshot::open(path).expect("open");
    let mem = snap.memory("ram").expect("memory");
    let plan = mem.plan();
    let plan_time = t.elapsed();
    let mut ram = Anon::new(size as usize);
    let mut compressed = false;
    for r in &plan {
        match r.location {
            PageLocation::File { layer, offset } => ram.map_file(
                r.first_page,
                r.pages,
                snap.layer_file(layer).expect("file"),
                offset,
            ),
            PageLocation::Compressed { .. } => compressed = true,
            _ => {}
        }
    }
    if compressed {
        let opts = PopulateOptions {
            dest_is_zeroed: true,
            mapped_min_pages: Some(1),
            threads: 0,
        };
        mem.populate_with(ram.slice(), &opts).expect("populate");
    }
    (plan_time, t.elapsed(), ram)
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let dir = tempfile::tempdir_in(std::env::var("BENCH_DIR").unwrap_or_else(|_| "/tmp".into()))
        .expect("tempdir");
    let sizes: &[u64] = if quick {
        &[256 << 20]
    } else {
        &[256 << 20, 1 << 30]
    };
    println!(
        "{:>6} {:>10} {:>5} | {:>8} {:>8} {:>10} {:>9} | {:>9} {:>8} {:>8} | {:>5}",
        "RAM",
        "content",
        "zstd",
        "write ms",
        "fsync ms",
        "file MiB",
        "runs",
        "open+plan",
        "map ms",
        "copy ms",
        "ok"
    );
    for &size in sizes {
        for (label, percent) in [("idle 2%", 2u64), ("25% rand", 25)] {
            let mut ram = make_ram(size, percent);
            for zstd in [false, true] {
                let path = dir.path().join("bench.tern");
                let (wt, summary) = best(3, || write(&path, ram.slice(), zstd));
                let t = Instant::now();
                std::fs::File::open(&path)
                    .and_then(|f| f.sync_all())
                    .expect("fsync");
                let sync = t.elapsed();
                let runs = Snapshot::open(&path)
                    .expect("open")
                    .memory("ram")
                    .expect("ram")
                    .plan()
                    .len();
                let (mut plan, mut map_time, mut restored) = (Duration::MAX, Duration::MAX, None);
                for _ in 0..5 {
                    drop(restored.take());
                    let (p, m, r) = restore_mapped(&path, size);
                    plan = plan.min(p);
                    map_time = map_time.min(m);
                    restored = Some(r);
                }
                let mut restored = restored.expect("restored");
                let ok = restored.slice() == ram.slice();
                drop(restored);
                let mut buf = Anon::new(size as usize);
                let (copy, _) = best(1, || {
                    let snap = Snapshot::open(&path).expect("open");
                    let opts = PopulateOptions {
                        dest_is_zeroed: true,
                        ..PopulateOptions::default()
                    };
                    snap.memory("ram")
                        .expect("ram")
                        .populate_with(buf.slice(), &opts)
                        .expect("copy");
                });
                println!(
                    "{:>6} {:>10} {:>5} | {:>8} {:>8} {:>10.1} {:>9} | {:>9} {:>8} {:>8} | {:>5}",
                    format!("{}M", size >> 20),
                    label,
                    if zstd { "1" } else { "-" },
                    ms(wt),
                    ms(sync),
                    summary.file_len as f64 / (1 << 20) as f64,
                    runs,
                    ms(plan),
                    ms(map_time),
                    ms(copy),
                    ok
                );
                std::fs::remove_file(&path).expect("remove");
            }
        }
    }
}
