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
    let reference = migrate::uninterrupted("postcopy", ROUNDS);
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

/// The spreading workload: fills about 100 MiB of tmpfs with data (copies of busybox),
/// then reads it all over and over. Moved by post-copy while it fills, most of its
/// memory is still on the source when the guest runs at the destination.
const SPREAD_SH: &str = r#"#!/bin/sh
echo "spread: start"
i=0
while [ "$i" -lt 60 ]; do
    dd if=/bin/busybox of=/tmp/big bs=64k seek=$((i * 28)) conv=notrunc 2>/dev/null
    i=$((i + 1))
done
echo "spread: filled"
n=0
while :; do
    n=$((n + 1))
    echo "spread: pass $n $(sha256sum < /tmp/big | cut -c1-16)"
done
"#;

/// A copy of the guest disk with spread.sh on it (written with e2fsprogs' debugfs).
fn disk_with_spread(tag: &str) -> PathBuf {
    let disk = disk_copy(tag);
    let script = tmp(&format!("{tag}-spread.sh"));
    std::fs::write(&script, SPREAD_SH).expect("write spread.sh");
    for request in [
        format!("write {} spread.sh", script.display()),
        "set_inode_field spread.sh mode 0100755".to_string(),
    ] {
        let out = std::process::Command::new("debugfs")
            .args(["-w", "-R", &request])
            .arg(&disk)
            .output()
            .unwrap_or_else(|e| panic!("cannot run debugfs ({e}): apt-get install e2fsprogs"));
        assert!(out.status.success(), "debugfs {request}: {out:?}");
    }
    disk
}

/// Starts a post-copy move of the spreading guest over a slow link (`--max-bandwidth
/// 2` MiB/s) while it fills its memory, and returns once the destination runs it:
/// (source, destination, the `tern migrate` process). About 100 MiB are then still
/// to come from the source: the move stays in post-copy for many seconds.
fn moving_slowly(tag: &str) -> (Vm, Destination, std::process::Child) {
    let _ = images();
    let disk = disk_with_spread(tag);
    let src_sock = tmp(&format!("{tag}-src.sock"));
    let source = Vm::boot_migratable("vda:spread.sh", &[], Some(&raw(&disk)), &src_sock);
    source.wait_for("spread: start", Duration::from_secs(300));
    let dest = Destination::start(
        Build::Destination,
        &["--insecure"],
        &tmp(&format!("{tag}-dst.sock")),
    );
    let migrate = std::process::Command::new(env!("CARGO_BIN_EXE_tern"))
        .arg("migrate")
        .arg("--api-sock")
        .arg(&src_sock)
        .arg(format!("tcp:{}", dest.addr))
        .args([
            "--insecure",
            "--mode",
            "postcopy",
            "--max-bandwidth",
            "2",
            "--json",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start tern migrate");
    dest.vm
        .wait_for("runs here in post-copy", Duration::from_secs(300));
    (source, dest, migrate)
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn a_source_lost_during_postcopy_stops_the_destination_with_an_error() {
    // The pages the guest has not touched yet are only on the source: when it dies,
    // the destination cannot go on. It must stop, promptly and saying why — not hang
    // waiting for a page, and not run on with pages of zeros.
    let (source, dest, migrate) = moving_slowly("postcopy-source-lost");
    let src_console = source.kill();
    let started = std::time::Instant::now();
    let console = dest.vm.finish(Duration::from_secs(120));
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "the destination took {:?} to stop",
        started.elapsed()
    );
    assert!(
        !console.contains("tern: run exit status"),
        "the destination ran on without its pages:\n{console}"
    );
    assert!(
        console.contains("lost its memory still on the migration source")
            && console.contains("guest RAM page 0x"),
        "the destination did not say which page it lost:\n{console}\n(source: {src_console})"
    );
    let out = migrate.wait_with_output().expect("tern migrate");
    assert!(
        !out.status.success(),
        "tern migrate succeeded without a source"
    );
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn a_destination_lost_during_postcopy_leaves_the_source_paused_with_its_copy() {
    // From `go` on the destination owns the VM; when it dies during post-copy the
    // source must not resume its own copy (the two would share the disk): it reports
    // the failure after the switch-over and keeps the VM paused as it was then.
    let (source, dest, migrate) = moving_slowly("postcopy-dest-lost");
    let _ = dest.vm.kill();
    let out = migrate.wait_with_output().expect("tern migrate");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "tern migrate succeeded: {said}");
    assert!(said.contains("after the switch-over"), "{said}");
    let status = source.ctl(&["status"]);
    assert!(
        status.contains("paused"),
        "the source's VM is not paused: {status}"
    );
    let before = source.output();
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        source.output(),
        before,
        "the source's copy went on by itself"
    );
    // The operator may choose to run the source's copy again.
    source.ctl(&["resume"]);
    source.wait_for("spread: filled", Duration::from_secs(300));
    let _ = source.kill();
}
