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
//! - lazy: what tern's restore does before the guest runs: open, resolve the region
//!   for lazy reads (`LazyMemory`, `stored_runs`) and decompress what is compressed
//!   (stored pages are read on first touch);
//! - touch: reading every stored page the way first touches do (64 KiB groups with
//!   `read_stored`, each page checked), the cost a guest pays if it touches all;
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

/// Guest RAM with `percent`% of its pages filled, the others never touched: random
/// bytes (incompressible), or text-like bytes from a 16-letter alphabet (about 2:1
/// under zstd, like code and page cache).
fn make_ram(size: u64, percent: u64, random: bool) -> Anon {
    let mut ram = Anon::new(size as usize);
    let mut rng = Rng(0x1234_5678 + percent);
    let s = ram.slice();
    for page in s.chunks_mut(PAGE_SIZE as usize) {
        if rng.next() % 100 < percent {
            for w in page.chunks_mut(8) {
                let v = rng.next();
                let v = if random {
                    v
                } else {
                    (v & 0x0f0f_0f0f_0f0f_0f0f) | 0x6060_6060_6060_6060
                };
                w.copy_from_slice(&v.to_le_bytes());
            }
        }
    }
    ram
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

/// The storage variants compared.
#[derive(Clone, Copy)]
enum Variant {
    Identity,
    Dense,
    Zstd,
}

impl Variant {
    fn name(self) -> &'static str {
        match self {
            Variant::Identity => "identity",
            Variant::Dense => "dense",
            Variant::Zstd => "zstd-1",
        }
    }
}

fn write(path: &Path, ram: &[u8], v: Variant) -> Summary {
    let opts = WriteOptions {
        zstd_level: matches!(v, Variant::Zstd).then_some(1),
        memory_layout: match v {
            Variant::Identity => MemoryLayout::Identity,
            _ => MemoryLayout::Dense,
        },
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

/// Most mappings a restore makes; shorter file runs are copied instead.
const MAX_MAPS: usize = 1024;

/// What a restore does: open, plan, map the long file runs over fresh memory, copy or
/// decompress the rest. Returns (open+plan time, total time, mappings, the memory).
fn restore_mapped(path: &Path, size: u64) -> (Duration, Duration, usize, Anon) {
    let t = Instant::now();
    let snap = Snapshot::open(path).expect("open");
    let mem = snap.memory("ram").expect("memory");
    let plan = mem.plan();
    let plan_time = t.elapsed();
    let threshold = mem.map_threshold(MAX_MAPS);
    let mut ram = Anon::new(size as usize);
    let mut maps = 0;
    let mut rest = false;
    for r in &plan {
        match r.location {
            PageLocation::File { layer, offset } if r.pages >= threshold => {
                ram.map_file(
                    r.first_page,
                    r.pages,
                    snap.layer_file(layer).expect("file"),
                    offset,
                );
                maps += 1;
            }
            PageLocation::Zero => {}
            _ => rest = true,
        }
    }
    if rest {
        let opts = PopulateOptions {
            dest_is_zeroed: true,
            mapped_min_pages: Some(threshold),
            threads: 0,
        };
        mem.populate_with(ram.slice(), &opts).expect("populate");
    }
    (plan_time, t.elapsed(), maps, ram)
}

/// Pages read together on a first touch, as tern-hart's lazy RAM does.
const GROUP: u64 = 16;

/// What tern's restore does: open, resolve for lazy reads, decompress the compressed
/// pages; then (timed apart) every stored page read as first touches read them.
/// Returns (restore time, touch-everything time, the memory).
fn restore_lazy(path: &Path, size: u64) -> (Duration, Duration, Anon) {
    let t = Instant::now();
    let snap = std::sync::Arc::new(Snapshot::open(path).expect("open"));
    let lazy = LazyMemory::new(snap, "ram").expect("lazy");
    let mem = lazy.view().expect("view");
    let mut ram = Anon::new(size as usize);
    if mem.page_counts().compressed > 0 {
        let opts = PopulateOptions {
            dest_is_zeroed: true,
            mapped_min_pages: Some(1),
            threads: 0,
        };
        mem.populate_with(ram.slice(), &opts).expect("populate");
    }
    let runs = mem.stored_runs();
    drop(mem);
    let restore = t.elapsed();
    let t = Instant::now();
    let mut stored = vec![false; (size / PAGE_SIZE) as usize];
    for &(first, n) in &runs {
        stored[first as usize..(first + n) as usize].fill(true);
    }
    let mut buf = vec![0u8; (GROUP * PAGE_SIZE) as usize];
    let page = PAGE_SIZE as usize;
    for g in (0..size / PAGE_SIZE).step_by(GROUP as usize) {
        let pages = &stored[g as usize..(g + GROUP) as usize];
        if !pages.contains(&true) {
            continue;
        }
        lazy.read_stored(g, &mut buf).expect("read");
        let dest = &mut ram.slice()[g as usize * page..][..GROUP as usize * page];
        for (i, _) in pages.iter().enumerate().filter(|p| *p.1) {
            dest[i * page..][..page].copy_from_slice(&buf[i * page..][..page]);
        }
    }
    (restore, t.elapsed(), ram)
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
        "{:>5} {:>9} {:>8} | {:>8} {:>8} {:>8} {:>8} | {:>9} {:>8} {:>5} {:>8} {:>8} {:>8} | {:>3}",
        "RAM",
        "content",
        "layout",
        "write ms",
        "fsync ms",
        "file MiB",
        "disk MiB",
        "open+plan",
        "map ms",
        "maps",
        "lazy ms",
        "touch ms",
        "copy ms",
        "ok"
    );
    for &size in sizes {
        for (label, percent, random) in [("idle 2%", 2u64, false), ("25% rand", 25, true)] {
            let mut ram = make_ram(size, percent, random);
            for v in [Variant::Identity, Variant::Dense, Variant::Zstd] {
                let path = dir.path().join("bench.tern");
                let mut wt = Duration::MAX;
                let mut summary = None;
                for _ in 0..3 {
                    // Replacing a file frees its blocks within the rename: not part of
                    // writing a snapshot.
                    let _ = std::fs::remove_file(&path);
                    let t = Instant::now();
                    summary = Some(write(&path, ram.slice(), v));
                    wt = wt.min(t.elapsed());
                }
                let summary = summary.expect("written");
                let t = Instant::now();
                std::fs::File::open(&path)
                    .and_then(|f| f.sync_all())
                    .expect("fsync");
                let sync = t.elapsed();
                let disk = {
                    use std::os::unix::fs::MetadataExt;
                    std::fs::metadata(&path).expect("stat").blocks() * 512
                };
                let (mut plan, mut map_time, mut maps, mut restored) =
                    (Duration::MAX, Duration::MAX, 0, None);
                for _ in 0..5 {
                    drop(restored.take());
                    let (p, m, n, r) = restore_mapped(&path, size);
                    plan = plan.min(p);
                    map_time = map_time.min(m);
                    maps = n;
                    restored = Some(r);
                }
                let mut restored = restored.expect("restored");
                let mut ok = restored.slice() == ram.slice();
                drop(restored);
                let (mut lazy, mut touch) = (Duration::MAX, Duration::MAX);
                for _ in 0..5 {
                    let (l, t, mut r) = restore_lazy(&path, size);
                    lazy = lazy.min(l);
                    touch = touch.min(t);
                    ok &= r.slice() == ram.slice();
                }
                let mut buf = Anon::new(size as usize);
                let t = Instant::now();
                let snap = Snapshot::open(&path).expect("open");
                let opts = PopulateOptions {
                    dest_is_zeroed: true,
                    ..PopulateOptions::default()
                };
                snap.memory("ram")
                    .expect("ram")
                    .populate_with(buf.slice(), &opts)
                    .expect("copy");
                let copy = t.elapsed();
                println!(
                    "{:>5} {:>9} {:>8} | {:>8} {:>8} {:>8.1} {:>8.1} | {:>9} {:>8} {:>5} {:>8} {:>8} {:>8} | {:>3}",
                    format!("{}M", size >> 20),
                    label,
                    v.name(),
                    ms(wt),
                    ms(sync),
                    summary.file_len as f64 / (1 << 20) as f64,
                    disk as f64 / (1 << 20) as f64,
                    ms(plan),
                    ms(map_time),
                    maps,
                    ms(lazy),
                    ms(touch),
                    ms(copy),
                    if ok { "yes" } else { "NO" }
                );
                std::fs::remove_file(&path).expect("remove");
            }
        }
    }
}
