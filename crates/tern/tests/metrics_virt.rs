//! `GET /metrics` of a Linux guest on the `virt` board (issue 15), scraped over the
//! control socket while it boots and works on its disk: the hart counters (TLB
//! walks, block-cache lookups and decodes), device exits, dirty pages, snapshot and
//! migration counters are there, and the ones the guest's work drives grow.

#[path = "common/virt.rs"]
mod virt;

// Shared with the snapshot tests, which use all of it.
#[allow(dead_code)]
#[path = "common/snapshot_vm.rs"]
mod snapshot_vm;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use snapshot_vm::Vm;

/// `GET /metrics` on the control socket `sock`: (series, value) per sample line.
fn scrape(sock: &Path) -> Vec<(String, f64)> {
    let mut s = UnixStream::connect(sock).expect("connect to the control socket");
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: tern\r\nConnection: close\r\n\r\n")
        .expect("send the request");
    let mut answer = String::new();
    s.read_to_string(&mut answer).expect("read the answer");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let body = answer.split_once("\r\n\r\n").map_or("", |b| b.1);
    body.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            Some((series.to_string(), value.parse().ok()?))
        })
        .collect()
}

/// The value of `series` in `samples`.
fn get(samples: &[(String, f64)], series: &str) -> f64 {
    samples
        .iter()
        .find(|(s, _)| s == series)
        .unwrap_or_else(|| panic!("no {series} in {samples:?}"))
        .1
}

#[test]
#[ignore = "full tier (scripts/test): boots the Linux guest"]
fn metrics_of_a_booting_linux_guest_are_present_and_grow() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("metrics-virt");
    std::fs::create_dir_all(&dir).expect("the test directory");
    let sock = dir.join("vm.sock");
    let disk = virt::disk_copy("metrics");
    let vm = Vm::boot(
        "/tests/counter.sh",
        &["100000"],
        Some(&snapshot_vm::raw(&disk)),
        &sock,
    );
    let start = Instant::now();
    while !sock.exists() && start.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let first = scrape(&sock);
    vm.wait_for("counter: 200", Duration::from_secs(300));
    let later = scrape(&sock);
    let grew = |series: &str| {
        let (a, b) = (get(&first, series), get(&later, series));
        assert!(b > a, "{series} did not grow: {a} then {b}");
    };
    grew("tern_instructions_retired_total");
    grew("tern_hart_instructions_retired_total{hart=\"0\"}");
    grew("tern_hart_tlb_walks_total{hart=\"0\"}");
    grew("tern_hart_jump_cache_misses_total{hart=\"0\"}");
    grew("tern_hart_blocks_decoded_total{hart=\"0\"}");
    grew("tern_device_exits_total{device=\"uart\"}");
    grew("tern_device_exits_total{device=\"virtio0\"}");
    grew("tern_memory_dirty_bytes");
    // Every device window has its exit counter, empty virtio slots included; the
    // snapshot and migration counters are there, at their start.
    for d in ["test", "rtc", "clint", "plic", "virtio7"] {
        get(
            &later,
            &format!("tern_device_exits_total{{device=\"{d}\"}}"),
        );
    }
    assert_eq!(get(&later, "tern_snapshots_total"), 0.0);
    assert_eq!(get(&later, "tern_migration_phase{phase=\"none\"}"), 1.0);
    assert_eq!(get(&later, "tern_migration_pages_sent_total"), 0.0);
    vm.kill();
}
