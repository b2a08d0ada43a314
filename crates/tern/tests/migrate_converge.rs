//! A guest that dirties memory faster than the link carries it (it rewrites a 1.7 MB
//! file in tmpfs about 20 times a second; the link is capped at 8 MiB/s): without
//! auto-converge pre-copy goes round after round without converging, and a cancel
//! leaves the guest running on the source; with auto-converge the harts are
//! throttled until what remains fits the downtime budget, and the guest finishes at
//! the destination.

#[path = "common/migrate.rs"]
mod migrate;
#[path = "common/snapshot_vm.rs"]
#[allow(dead_code)]
mod snapshot_vm;
#[path = "common/virt.rs"]
mod virt;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use migrate::{Build, Destination};
use snapshot_vm::{raw, Vm};
use virt::{disk_copy, images};

const TERN: &str = env!("CARGO_BIN_EXE_tern");

/// The dirtying workload: `dirty.sh N` rewrites a copy of busybox in tmpfs N times.
const DIRTY_SH: &str = r#"#!/bin/sh
echo "dirty: start"
i=0
while [ "$i" -lt "$1" ]; do
    dd if=/bin/busybox of=/tmp/x conv=notrunc 2>/dev/null
    i=$((i + 1))
    [ $((i % 50)) -eq 0 ] && echo "dirty: $i"
done
echo "dirty: ok"
"#;

fn tmp(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("migrate-converge");
    std::fs::create_dir_all(&dir).expect("tmp dir");
    dir.join(name)
}

/// A copy of the guest disk with dirty.sh on it (written with e2fsprogs' debugfs).
fn disk_with_script() -> PathBuf {
    let disk = disk_copy("converge");
    let script = tmp("dirty.sh");
    std::fs::write(&script, DIRTY_SH).expect("write dirty.sh");
    for request in [
        format!("write {} dirty.sh", script.display()),
        "set_inode_field dirty.sh mode 0100755".to_string(),
    ] {
        let out = Command::new("debugfs")
            .args(["-w", "-R", &request])
            .arg(&disk)
            .output()
            .unwrap_or_else(|e| panic!("cannot run debugfs ({e}): apt-get install e2fsprogs"));
        assert!(out.status.success(), "debugfs {request}: {out:?}");
    }
    disk
}

/// `tern migrate --api-sock SOCK ARGS`; its stdout, and whether it succeeded.
fn tern_migrate(sock: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(TERN)
        .arg("migrate")
        .arg("--api-sock")
        .arg(sock)
        .args(args)
        .output()
        .expect("run tern migrate");
    let mut s = String::from_utf8_lossy(&out.stdout).into_owned();
    s.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.success(), s)
}

/// A number field of `tern migrate --status --json`'s answer.
fn field(json: &str, name: &str) -> Option<f64> {
    let at = json.find(&format!("\"{name}\": "))? + name.len() + 4;
    let rest = &json[at..];
    let end = rest.find([',', '\n']).unwrap_or(rest.len());
    rest[..end].trim().parse().ok()
}

/// The phase of `tern migrate --status --json`'s answer.
fn phase(json: &str) -> String {
    let at = json.find("\"phase\": \"").map(|i| i + 10).unwrap_or(0);
    json[at..].split('"').next().unwrap_or("").to_string()
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn a_dirtying_guest_converges_only_with_auto_converge_and_cancel_leaves_it_running() {
    let _ = images();
    let disk = disk_with_script();
    let src_sock = tmp("src.sock");
    let args = virt::Boot::linux(1, Some("vda:dirty.sh"), &["1000"])
        .with(&["--drive", &raw(&disk), "--migratable"])
        .args()
        .to_vec();
    let source = Vm::spawn(&args, &src_sock);
    source.wait_for("dirty: start", Duration::from_secs(300));
    let dest = Destination::start(Build::Destination, &["--insecure"], &tmp("dst.sock"));
    let to = format!("tcp:{}", dest.addr);
    let capped = ["--insecure", "--max-bandwidth", "8", "--detach"];

    // Without auto-converge: still pre-copying after several rounds.
    let mut a = vec![to.as_str(), "--no-auto-converge"];
    a.extend_from_slice(&capped);
    let (ok, out) = tern_migrate(&src_sock, &a);
    assert!(ok, "{out}");
    let start = Instant::now();
    let status = loop {
        let (ok, s) = tern_migrate(&src_sock, &["--status", "--json"]);
        assert!(ok, "{s}");
        let p = phase(&s);
        assert!(
            p == "setup" || p == "precopy",
            "it should not converge:\n{s}"
        );
        if field(&s, "iteration").unwrap_or(0.0) >= 4.0 {
            break s;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "pre-copy rounds do not advance:\n{s}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(field(&status, "throttle_percent"), Some(0.0), "{status}");
    let (ok, out) = tern_migrate(&src_sock, &["--cancel"]);
    assert!(ok, "{out}");
    let limit = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, s) = tern_migrate(&src_sock, &["--status", "--json"]);
        if phase(&s) == "cancelled" {
            break;
        }
        assert!(Instant::now() < limit, "the cancel did not end it:\n{s}");
        std::thread::sleep(Duration::from_millis(50));
    }
    // The guest runs on at the source, unthrottled.
    let count = |vm: &Vm| vm.output().matches("dirty: ").count();
    let before = count(&source);
    let limit = Instant::now() + Duration::from_secs(60);
    while count(&source) < before + 2 {
        assert!(Instant::now() < limit, "the guest stopped after the cancel");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(source.ctl(&["status"]).contains("running"));
    // The destination gave the cancelled attempt up and waits.
    let limit = Instant::now() + Duration::from_secs(30);
    while !dest.vm.output().contains("waiting for another") {
        assert!(Instant::now() < limit, "{}", dest.vm.output());
        std::thread::sleep(Duration::from_millis(50));
    }

    // With auto-converge: the harts are throttled and the move completes.
    let mut a = vec![to.as_str()];
    a.extend_from_slice(&capped);
    let (ok, out) = tern_migrate(&src_sock, &a);
    assert!(ok, "{out}");
    let mut throttled = 0.0f64;
    let last = loop {
        let (ok, s) = tern_migrate(&src_sock, &["--status", "--json"]);
        assert!(ok, "{s}\nthe source's console:\n{}", source.output());
        throttled = throttled.max(field(&s, "throttle_percent").unwrap_or(0.0));
        match phase(&s).as_str() {
            "completed" => break s,
            "failed" | "cancelled" => panic!("the migration ended:\n{s}"),
            _ => {}
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    eprintln!("throttled up to {throttled}%; {last}");
    assert!(throttled > 0.0, "completed without throttling:\n{last}");
    let downtime = field(&last, "downtime_ms").expect("a downtime");
    assert!(downtime < 1000.0, "downtime {downtime} ms:\n{last}");
    let src_console = source.finish(Duration::from_secs(60));
    assert!(
        src_console.contains("tern: the VM moved to"),
        "{src_console}"
    );
    assert!(!src_console.contains("dirty: ok"), "{src_console}");
    let console = dest.vm.finish(Duration::from_secs(600));
    assert!(console.contains("dirty: ok"), "{console}");
    assert!(console.contains("tern: run exit status 0"), "{console}");
}
