//! Post-copy live migration of a Linux guest: after one round of pre-copy the guest
//! runs at the destination at once; the pages it wrote since that round are fetched
//! from the source on first touch while the rest streams in. The counter workload
//! moved this way finishes with the same results as an uninterrupted run.

#[path = "common/migrate.rs"]
mod migrate;
#[path = "common/snapshot_vm.rs"]
#[allow(dead_code)]
mod snapshot_vm;
#[path = "common/virt.rs"]
mod virt;

use std::path::PathBuf;
use std::time::Duration;

use migrate::{last_counter, wait_for_counter, Build, Destination};
use snapshot_vm::{raw, results, Vm};
use virt::{disk_copy, images};

const ROUNDS: &str = "8000";
const FINISH: Duration = Duration::from_secs(900);

fn tmp(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("migrate-postcopy");
    std::fs::create_dir_all(&dir).expect("tmp dir");
    dir.join(name)
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn moved_by_postcopy_the_workload_finishes_as_if_uninterrupted() {
    let _ = images();
    let reference = {
        let disk = disk_copy("postcopy-reference");
        let vm = Vm::boot(
            "/tests/counter.sh",
            &[ROUNDS],
            Some(&raw(&disk)),
            &tmp("ref.sock"),
        );
        results(&vm.finish(FINISH))
    };
    let disk = disk_copy("postcopy");
    let src_sock = tmp("src.sock");
    let source = Vm::boot_migratable("/tests/counter.sh", &[ROUNDS], Some(&raw(&disk)), &src_sock);
    wait_for_counter(&source, 300, Duration::from_secs(300));
    let dest = Destination::start(Build::Destination, &["--insecure"], &tmp("dst.sock"));
    let m = migrate::migrate(
        &src_sock,
        &dest.addr,
        &["--insecure", "--mode", "postcopy", "--json"],
    );
    assert!(m.ok, "tern migrate failed: {}", m.output);
    assert!(
        m.output.contains("\"phase\": \"completed\""),
        "{}",
        m.output
    );
    assert!(m.output.contains("\"mode\": \"postcopy\""), "{}", m.output);
    let src_console = source.finish(Duration::from_secs(60));
    assert!(
        src_console.contains("tern: the VM moved to"),
        "{src_console}"
    );
    assert!(!src_console.contains("counter: ok"), "{src_console}");
    let moved_at = last_counter(&src_console).expect("counted on the source");
    let console = dest.vm.finish(FINISH);
    assert!(
        console.contains("runs here in post-copy"),
        "the destination did not run in post-copy:\n{console}"
    );
    assert!(
        console
            .lines()
            .filter_map(|l| l.trim_end_matches('\r').strip_prefix("counter: "))
            .filter_map(|n| n.parse::<u64>().ok())
            .all(|n| n > moved_at),
        "the destination started over:\n{console}"
    );
    assert!(console.contains("tern: run exit status 0"), "{console}");
    assert_eq!(results(&console), reference);
}
