//! Encapsulation of system VMs: a Linux guest is snapshotted mid-run through its
//! control socket, killed, and restored in a new process, where it finishes with the
//! same results as an uninterrupted run; also across three chained cycles, with a
//! sleeping guest, with a copied file, incrementally, and with damaged files.

#[path = "common/snapshot_vm.rs"]
mod snapshot_vm;
#[path = "common/virt.rs"]
mod virt;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use snapshot_vm::{raw, results, Vm};
use virt::{disk_copy, images, serve_http};

const TERN: &str = env!("CARGO_BIN_EXE_tern");

fn tmp(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("snapshots");
    std::fs::create_dir_all(&dir).expect("tmp dir");
    dir.join(name)
}

fn reference_results() -> &'static Vec<String> {
    static REF: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    REF.get_or_init(|| {
        let disk = disk_copy("counter-reference");
        let vm = Vm::boot(
            "/tests/counter.sh",
            &[],
            Some(&raw(&disk)),
            &tmp("ref.sock"),
        );
        results(&vm.finish(Duration::from_secs(600)))
    })
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn counter_snapshot_kill_restore_matches_an_uninterrupted_run() {
    let _ = images();
    let disk = disk_copy("counter-snap");
    let file = tmp("counter.tern");
    let vm = Vm::boot("/tests/counter.sh", &[], Some(&raw(&disk)), &tmp("c1.sock"));
    vm.wait_for("counter: 200", Duration::from_secs(300));
    let answer = vm.snapshot_and_kill(&file, &[]);
    assert!(answer.contains("written to"), "{answer}");
    let restored = Vm::restore(&file, &tmp("c2.sock"));
    let console = restored.finish(Duration::from_secs(600));
    assert!(
        !console
            .lines()
            .any(|l| l.trim_end_matches('\r') == "counter: 100"),
        "the restored VM started over:\n{console}"
    );
    assert_eq!(&results(&console), reference_results());
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn three_chained_cycles_and_an_incremental_snapshot() {
    let _ = images();
    let disk = disk_copy("counter-chain");
    let vm = Vm::boot(
        "/tests/counter.sh",
        &[],
        Some(&raw(&disk)),
        &tmp("ch0.sock"),
    );
    vm.wait_for("counter: 100", Duration::from_secs(300));
    let mut file = tmp("chain-0.tern");
    vm.snapshot_and_kill(&file, &[]);
    for cycle in 1..=3 {
        let vm = Vm::restore(&file, &tmp(&format!("ch{cycle}.sock")));
        vm.wait_for(
            &format!("counter: {}", 100 + 200 * cycle),
            Duration::from_secs(300),
        );
        let next = tmp(&format!("chain-{cycle}.tern"));
        // The last cycle writes an incremental snapshot on top of the file it came from.
        let extra: &[&str] = if cycle == 3 { &["--incremental"] } else { &[] };
        let answer = vm.snapshot_and_kill(&next, extra);
        if cycle == 3 {
            let full = std::fs::metadata(&file).expect("parent").len();
            let inc_blocks = disk_blocks(&next);
            assert!(answer.contains("written to"), "{answer}");
            assert!(
                inc_blocks * 512 < full,
                "the incremental snapshot should be smaller than its parent"
            );
        }
        file = next;
    }
    let console = Vm::restore(&file, &tmp("ch4.sock")).finish(Duration::from_secs(600));
    assert_eq!(&results(&console), reference_results());
}

/// Blocks a file occupies on disk (snapshot files are sparse).
fn disk_blocks(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).expect("stat").blocks()
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn a_sleeping_guest_wakes_up_after_restore_and_copies_are_independent() {
    let _ = images();
    let file = tmp("sleep.tern");
    let vm = Vm::boot("/tests/sleep.sh", &["3"], None, &tmp("s1.sock"));
    vm.wait_for("sleep: start", Duration::from_secs(300));
    vm.snapshot_and_kill(&file, &[]);
    let copy = tmp("sleep-copy.tern");
    std::fs::copy(&file, &copy).expect("cp the snapshot");
    let a = Vm::restore(&file, &tmp("s2.sock"));
    let b = Vm::restore(&copy, &tmp("s3.sock"));
    let started = Instant::now();
    let out_a = a.finish(Duration::from_secs(120));
    let out_b = b.finish(Duration::from_secs(120));
    for out in [&out_a, &out_b] {
        assert!(
            out.contains("sleep: woke"),
            "the armed timer did not fire after restore:\n{out}"
        );
        assert!(out.contains("tern: run exit status 0"), "{out}");
    }
    assert!(started.elapsed() < Duration::from_secs(60));
    // The guest clock continued rather than restarting: no line reports time going back.
    assert!(
        !out_a.contains("sleep: start"),
        "the restored VM ran the script again:\n{out_a}"
    );
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn damaged_snapshots_are_refused_with_clear_errors() {
    let _ = images();
    let file = tmp("damage.tern");
    let vm = Vm::boot("/tests/sleep.sh", &["30"], None, &tmp("d1.sock"));
    vm.wait_for("sleep: start", Duration::from_secs(300));
    vm.snapshot_and_kill(&file, &[]);
    let good = std::fs::read(&file).expect("read snapshot");
    let restore = |bytes: &[u8], name: &str| -> (i32, String) {
        let path = tmp(name);
        std::fs::write(&path, bytes).expect("write damaged copy");
        let out = Command::new(TERN)
            .arg("restore")
            .arg(&path)
            .stdin(Stdio::null())
            .output()
            .expect("run tern");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // Truncated in the header, in the sections, and in the memory.
    for (i, len) in [10usize, 5000, good.len() / 2].into_iter().enumerate() {
        let (code, err) = restore(&good[..len.min(good.len())], &format!("trunc-{i}.tern"));
        assert!(
            code != 0 && code != 101,
            "truncated to {len}: exit {code}, {err}"
        );
        assert!(err.contains("tern:"), "no message: {err}");
    }
    // A flipped bit in the magic, the version, and somewhere in the middle.
    for (i, at) in [0usize, 9, 4200].into_iter().enumerate() {
        let mut bad = good.clone();
        bad[at] ^= 0x10;
        let (code, err) = restore(&bad, &format!("flip-{i}.tern"));
        assert!(code != 0 && code != 101, "flip at {at}: exit {code}, {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    let (code, err) = restore(b"not a snapshot at all", "garbage.tern");
    assert!(
        code != 0 && code != 101 && !err.contains("panicked"),
        "{err}"
    );
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn user_network_keeps_working_after_restore() {
    let _ = images();
    let payload: Vec<u8> = (0..100_000u32)
        .map(|i| (i.wrapping_mul(40503) >> 7) as u8)
        .collect();
    let port = serve_http(payload.clone());
    let port_arg = port.to_string();
    let file = tmp("net.tern");
    let mut argv: Vec<String> =
        virt::Boot::linux(1, Some("/tests/net-later.sh"), &[&port_arg, "4"])
            .args()
            .to_vec();
    // The test's HTTP server listens on the host's loopback: allowed explicitly.
    argv.extend(["--netdev".to_string(), "user,host-loopback=on".to_string()]);
    let vm = Vm::spawn(&argv, &tmp("n1.sock"));
    vm.wait_for("netlater: leased", Duration::from_secs(300));
    vm.snapshot_and_kill(&file, &[]);
    let out = Vm::restore(&file, &tmp("n2.sock")).finish(Duration::from_secs(120));
    let want = {
        let path = tmp("net-payload.bin");
        std::fs::write(&path, &payload).expect("write payload");
        virt::sha256_file(&path)
    };
    assert!(
        out.contains(&format!(
            "netlater: fetched {} bytes sha256 {want}",
            payload.len()
        )),
        "the restored guest could not fetch over user-mode NAT:\n{out}"
    );
}
