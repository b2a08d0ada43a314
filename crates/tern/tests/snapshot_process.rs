//! Process VM snapshots: `tern exec --api-sock`, `tern pause|resume|snapshot|status`,
//! `tern restore` of a process snapshot.
//!
//! The program under test is `guests/linux-user/snapcount.c`: four threads contend
//! for a mutex, rounds end at barriers (futexes), a progress line per round goes to
//! stdout and is appended to a file; its output does not depend on scheduling. A
//! run that is snapshotted (paused, written, killed) and restored must give the same
//! stdout (what the killed process printed, then what the restored one printed), the
//! same file and the same exit status as a run never interrupted (statically linked,
//! and dynamically through the riscv64 sysroot's glibc). The same for
//! esbuild (a Go program: many threads, futexes, signals, epoll) bundling three.js.

#[path = "common/linux_user.rs"]
mod linux_user;
#[path = "common/npm.rs"]
mod npm;
#[path = "common/process_vm.rs"]
mod process_vm;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use linux_user::{build, require_tool, Link};
use npm::{copy_dir, package};
use process_vm::{control, control_fails, socket, Running};

const TERN: &str = env!("CARGO_BIN_EXE_tern");
/// Rounds and draws per round of snapcount: a few seconds under a debug tern.
const ROUNDS: &str = "12";
const PER_ROUND: &str = "3000";
/// Small guest memory: snapshot files are sparse, but their apparent size is the
/// memory size.
const MEMORY: &str = "256";
const TIMEOUT: Duration = Duration::from_secs(300);
/// Control sockets of this binary's tests are named `tern-sp-...`.
const PREFIX: &str = "sp";

/// A scratch directory for one test.
fn scratch(test: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("snapshot-process")
        .join(test);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("create the scratch directory");
    d
}

/// Pauses the VM behind `sock`, writes it to `file` (with `extra` options), and
/// checks the answer.
fn pause_and_snapshot(sock: &Path, file: &Path, extra: &[&str]) {
    control(&["pause"], sock);
    let st = control(&["status"], sock);
    assert!(st.contains("paused") && st.contains("process"), "{st}");
    let mut args = vec!["snapshot", "--out", file.to_str().expect("utf-8 path")];
    args.extend_from_slice(extra);
    let said = control(&args, sock);
    assert!(said.contains("written to"), "{said}");
    assert!(file.is_file(), "{} was not written", file.display());
}

/// `tern exec` of snapcount writing `file`.
fn snapcount(file: &Path, sock: Option<&Path>, extra: &[&str]) -> Command {
    snapcount_linked(Link::Static, file, sock, extra)
}

/// [`snapcount`], linked as `link` (dynamically: through the sysroot's glibc).
fn snapcount_linked(link: Link, file: &Path, sock: Option<&Path>, extra: &[&str]) -> Command {
    let prog = build("snapcount", link);
    let mut c = Command::new(TERN);
    c.args(["exec", "--memory", MEMORY]);
    if link == Link::Dynamic {
        c.args(["--sysroot", linux_user::SYSROOT]);
    }
    if let Some(s) = sock {
        c.arg("--api-sock").arg(s);
    }
    c.arg(prog).arg(file).args([ROUNDS, PER_ROUND]).args(extra);
    c
}

/// `tern restore FILE`.
fn restore(file: &Path, sock: Option<&Path>) -> Command {
    let mut c = Command::new(TERN);
    c.arg("restore").arg(file);
    if let Some(s) = sock {
        c.arg("--api-sock").arg(s);
    }
    c
}

/// The uninterrupted run: (status, stdout, file contents).
fn reference(dir: &Path) -> (i32, String, String) {
    let file = dir.join("reference.txt");
    let (status, out, err) = Running::start(snapcount(&file, None, &[])).finish();
    assert_eq!(status, 7, "reference run: {err}");
    assert!(
        out.contains("round 11 counter 144000") && out.contains("done counter 144000"),
        "{out}"
    );
    let written = std::fs::read_to_string(&file).expect("reference file");
    (status, out, written)
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn snapshot_kill_restore_gives_the_uninterrupted_output() {
    for (link, tag) in [(Link::Static, "restore"), (Link::Dynamic, "restore-dyn")] {
        let dir = scratch(tag);
        let (want_status, want_out, want_file) = reference(&dir);
        let file = dir.join("out.txt");
        let sock = socket(tag, 0);
        let mut run = Running::start(snapcount_linked(link, &file, Some(&sock), &[]));
        run.wait_for("round 3 ");
        let snap = dir.join("vm.tern");
        pause_and_snapshot(&sock, &snap, &[]);
        let before = run.kill();
        assert!(
            before.contains("round 3 ") && !before.contains("done"),
            "{link:?}: {before}"
        );
        let (status, after, err) = Running::start(restore(&snap, None)).finish();
        assert_eq!(
            format!("{before}{after}"),
            want_out,
            "{link:?}: restore stderr: {err}"
        );
        assert_eq!(status, want_status, "{link:?}: {err}");
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            want_file,
            "{link:?}"
        );
    }
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn pause_resume_and_a_running_snapshot_keep_the_output_identical() {
    let dir = scratch("pause");
    let (want_status, want_out, want_file) = reference(&dir);
    let file = dir.join("out.txt");
    let sock = socket("pause", 0);
    let mut run = Running::start(snapcount(&file, Some(&sock), &[]));
    for round in ["round 2 ", "round 5 ", "round 8 "] {
        run.wait_for(round);
        control(&["pause"], &sock);
        // Pausing twice is fine, and a paused program prints nothing.
        control(&["pause"], &sock);
        let st = control(&["status"], &sock);
        assert!(st.contains("paused"), "{st}");
        assert!(
            st.contains("threads       5"),
            "four workers and main: {st}"
        );
        let printed = run.stdout();
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(run.stdout(), printed, "output while paused");
        control(&["resume"], &sock);
        assert!(control(&["status"], &sock).contains("running"));
        if round == "round 2 " {
            // A snapshot of the running program pauses it for the writing and lets
            // it run on.
            let snap = dir.join("running.tern");
            let said = control(&["snapshot", "--out", snap.to_str().unwrap()], &sock);
            assert!(said.contains("written to"), "{said}");
            assert!(control(&["status"], &sock).contains("running"));
        }
    }
    let (status, out, err) = run.finish();
    assert_eq!(out, want_out, "{err}");
    assert_eq!(status, want_status);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), want_file);
    assert!(!sock.exists(), "the socket file is removed at exit");
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn three_chained_snapshot_restore_cycles() {
    use std::os::unix::fs::MetadataExt;
    let dir = scratch("chain");
    let (want_status, want_out, want_file) = reference(&dir);
    let file = dir.join("out.txt");
    let mut printed = String::new();
    let mut sock = socket("chain", 0);
    let mut run = Running::start(snapcount(&file, Some(&sock), &[]));
    // Full, then incremental on top of the snapshot the VM was restored from (the
    // RAM dirty log), then a compressed full one.
    let cycles: [(&str, &[&str]); 3] = [
        ("round 1 ", &[]),
        ("round 5 ", &["--incremental"]),
        ("round 9 ", &["--zstd"]),
    ];
    for (i, (round, opts)) in cycles.iter().enumerate() {
        run.wait_for(round);
        let snap = dir.join(format!("vm{i}.tern"));
        pause_and_snapshot(&sock, &snap, opts);
        printed.push_str(&run.kill());
        if opts.contains(&"--incremental") {
            let parent = dir.join(format!("vm{}.tern", i - 1));
            let (own, full) = (
                std::fs::metadata(&snap).unwrap().blocks(),
                std::fs::metadata(&parent).unwrap().blocks(),
            );
            assert!(own < full, "incremental {own} blocks, its parent {full}");
        }
        sock = socket("chain", i as u32 + 1);
        run = Running::start(restore(&snap, Some(&sock)));
        // The restored process serves the control API on its socket.
        let start = Instant::now();
        while !sock.exists() {
            assert!(start.elapsed() < TIMEOUT, "no control socket after restore");
            std::thread::sleep(Duration::from_millis(10));
        }
        let st = control(&["status"], &sock);
        assert!(st.contains("kind          process"), "{st}");
    }
    let (status, out, err) = run.finish();
    printed.push_str(&out);
    assert_eq!(printed, want_out, "{err}");
    assert_eq!(status, want_status, "{err}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), want_file);
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn a_copy_of_the_file_restores_a_second_independent_process() {
    let dir = scratch("copy");
    let (want_status, want_out, want_file) = reference(&dir);
    let file = dir.join("out.txt");
    let sock = socket("copy", 0);
    let mut run = Running::start(snapcount(&file, Some(&sock), &[]));
    run.wait_for("round 6 ");
    let snap = dir.join("vm.tern");
    pause_and_snapshot(&sock, &snap, &[]);
    let before = run.kill();
    let at_snapshot = std::fs::read(&file).unwrap();
    require_tool(("cp", "coreutils"));
    let copy = dir.join("copy.tern");
    let st = Command::new("cp")
        .arg(&snap)
        .arg(&copy)
        .status()
        .expect("run cp");
    assert!(st.success(), "cp failed");
    for (name, f) in [
        ("original", &snap),
        ("copy", &copy),
        ("original again", &snap),
    ] {
        // Each restore starts from the file as it was at the snapshot.
        std::fs::write(&file, &at_snapshot).unwrap();
        let (status, after, err) = Running::start(restore(f, None)).finish();
        assert_eq!(format!("{before}{after}"), want_out, "{name}: {err}");
        assert_eq!(status, want_status, "{name}: {err}");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), want_file, "{name}");
    }
    // Two at once, from the same snapshot: same stdout each.
    std::fs::write(&file, &at_snapshot).unwrap();
    let a = Running::start(restore(&snap, None));
    let b = Running::start(restore(&copy, None));
    let (sa, oa, ea) = a.finish();
    let (sb, ob, eb) = b.finish();
    assert_eq!(format!("{before}{oa}"), want_out, "{ea}");
    assert_eq!(format!("{before}{ob}"), want_out, "{eb}");
    assert_eq!((sa, sb), (want_status, want_status));
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn descriptors_that_cannot_be_restored_are_refused_by_number() {
    let dir = scratch("refuse");
    let file = dir.join("out.txt");
    let sock = socket("refuse", 0);
    // With a fourth argument, snapcount holds a TCP socket open and prints its
    // descriptor.
    let mut run = Running::start(snapcount(&file, Some(&sock), &["socket"]));
    run.wait_for("round 1 ");
    let sock_fd: i32 = run
        .stdout()
        .lines()
        .find_map(|l| l.strip_prefix("socket "))
        .and_then(|fd| fd.trim().parse().ok())
        .expect("snapcount prints its socket");
    // `status` lists the descriptors as the process VM's devices.
    let st = control(&["status"], &sock);
    let line = st
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("fd{sock_fd} ")))
        .unwrap_or_else(|| panic!("fd{sock_fd} not listed: {st}"));
    assert!(line.ends_with("socket"), "{line}");
    let snap = dir.join("vm.tern");
    let err = control_fails(&["snapshot", "--out", snap.to_str().unwrap()], &sock);
    assert!(
        err.contains(&format!("descriptor {sock_fd} ")) && err.contains("a socket other than"),
        "the error names the descriptor and what it is: {err}"
    );
    assert!(!snap.exists(), "no file is written for a refused snapshot");
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains("vm.tern"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // The program runs on undisturbed.
    assert!(control(&["status"], &sock).contains("running"));
    let (status, out, e) = run.finish();
    assert_eq!(status, 7, "{e}");
    assert!(out.contains("done counter 144000"), "{out}");
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn damaged_process_snapshots_are_refused_with_the_section_named() {
    let dir = scratch("damaged");
    let file = dir.join("out.txt");
    let sock = socket("damaged", 0);
    let mut run = Running::start(snapcount(&file, Some(&sock), &[]));
    run.wait_for("round 1 ");
    let snap = dir.join("vm.tern");
    pause_and_snapshot(&sock, &snap, &["--zstd"]);
    control(&["stop"], &sock);
    let (status, _, _) = run.finish();
    assert_eq!(status, 0, "a stopped process VM ends with status 0");
    let good = std::fs::read(&snap).unwrap();
    // The guest path of the open file is in the state sections.
    let needle = file.to_str().unwrap().as_bytes();
    let at = good
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("the file's path is recorded");
    let mut bad = good.clone();
    bad[at] ^= 0x01;
    let damaged = dir.join("damaged.tern");
    std::fs::write(&damaged, &bad).unwrap();
    let (status, out, err) = Running::start(restore(&damaged, None)).finish();
    assert!(out.is_empty(), "{out}");
    assert_eq!(status, 1, "{err}");
    assert!(
        err.contains("snapshot section `") && err.contains("crc mismatch"),
        "{err}"
    );
    let truncated = dir.join("truncated.tern");
    std::fs::write(&truncated, &good[..good.len() / 2]).unwrap();
    let (status, _, err) = Running::start(restore(&truncated, None)).finish();
    assert_eq!(status, 1, "{err}");
    assert!(err.contains("cannot restore"), "{err}");
    assert!(!err.contains("internal error"), "{err}");
}

// esbuild: a static Go program from the npm registry, bundling three.js.

const ESBUILD_VERSION: &str = "0.28.2";
const THREE_VERSION: &str = "0.170.0";

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn esbuild_snapshotted_mid_bundle_restores_to_the_same_bundle() {
    let esbuild = package("@esbuild/linux-riscv64", ESBUILD_VERSION).join("bin/esbuild");
    let three = package("three", THREE_VERSION);
    let dir = scratch("esbuild");
    copy_dir(&three, &dir.join("node_modules/three"));
    std::fs::write(
        dir.join("entry.js"),
        "import * as THREE from 'three';
         export const scene = new THREE.Scene();
         export default THREE;
",
    )
    .unwrap();
    let esbuild_cmd = |sock: Option<&Path>| {
        let mut c = Command::new(TERN);
        c.args(["exec", "--memory", "2048"]);
        if let Some(s) = sock {
            c.arg("--api-sock").arg(s);
        }
        c.arg(&esbuild)
            .args(["--bundle", "entry.js", "--minify", "--format=esm"])
            .current_dir(&dir);
        c
    };
    let (status, want, err) = Running::start(esbuild_cmd(None)).finish();
    assert_eq!(status, 0, "uninterrupted esbuild: {err}");
    assert!(want.len() > 100_000, "the bundle is suspiciously small");
    let sock = socket("esbuild", 0);
    let run = Running::start(esbuild_cmd(Some(&sock)));
    // Mid-bundle: well after start-up (the socket answers), before the end.
    let start = Instant::now();
    while !sock.exists() {
        assert!(start.elapsed() < TIMEOUT, "no control socket");
        std::thread::sleep(Duration::from_millis(10));
    }
    let insns = |st: &str| -> u64 {
        st.lines()
            .find_map(|l| l.strip_prefix("instructions"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    };
    while insns(&control(&["status"], &sock)) < 150_000_000 {
        assert!(start.elapsed() < TIMEOUT, "esbuild does not get going");
        std::thread::sleep(Duration::from_millis(100));
    }
    let st = control(&["status"], &sock);
    let threads: usize = st
        .lines()
        .find_map(|l| l.strip_prefix("threads"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    assert!(threads > 1, "a Go program runs several threads: {st}");
    let snap = dir.join("esbuild.tern");
    let t = Instant::now();
    pause_and_snapshot(&sock, &snap, &[]);
    let took = t.elapsed();
    let before = run.kill();
    assert!(
        before.is_empty(),
        "snapshotted before the bundle was written"
    );
    let (status, after, err) = Running::start(restore(&snap, None)).finish();
    assert_eq!(status, 0, "restored esbuild: {err}");
    assert!(
        after == want,
        "the restored esbuild's bundle differs ({} bytes, want {}): {err}",
        after.len(),
        want.len()
    );
    eprintln!(
        "esbuild snapshot: {} KiB on disk, pause+snapshot {:.0} ms",
        std::os::unix::fs::MetadataExt::blocks(&std::fs::metadata(&snap).unwrap()) / 2,
        took.as_secs_f64() * 1e3
    );
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn forked_children_leave_the_control_socket_to_their_parent() {
    // forkexec forks children that execve riscv64 programs: each such child is a
    // new `tern exec`, which must not try to serve its parent's socket.
    let prog = build("forkexec", Link::Static);
    let sock = socket("fork", 0);
    let mut c = Command::new(TERN);
    c.arg("exec").arg("--api-sock").arg(&sock).arg(prog);
    c.env_remove("TERN_TEST");
    let (status, out, err) = Running::start(c).finish();
    assert_eq!(status, 0, "{err}");
    assert!(
        out.contains("exec'd child status: 7") && out.contains("20 children, status sum 190"),
        "{out}\n{err}"
    );
    assert!(!err.contains("control API"), "{err}");
    assert!(!sock.exists(), "the socket file is removed at exit");
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn an_interval_timer_keeps_ticking_after_a_restore() {
    let dir = scratch("itimer");
    let prog = build("snaptimer", Link::Static);
    let want: String = (1..=30).map(|i| format!("tick {i}\n")).collect::<String>() + "done 1\n";
    let sock = socket("itimer", 0);
    let mut c = Command::new(TERN);
    c.args(["exec", "--memory", MEMORY, "--api-sock"])
        .arg(&sock)
        .arg(&prog);
    let mut run = Running::start(c);
    run.wait_for("tick 10\n");
    let snap = dir.join("vm.tern");
    pause_and_snapshot(&sock, &snap, &[]);
    let before = run.kill();
    let (status, after, err) = Running::start(restore(&snap, None)).finish();
    assert_eq!(format!("{before}{after}"), want, "{err}");
    assert_eq!(status, 5, "{err}");
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn shared_file_and_anonymous_mappings_survive_a_restore() {
    // A MAP_SHARED file (recorded by path: its data is the file's) and shared
    // anonymous memory (recorded with its pages) are mapped again where they were:
    // the restored program's sums, read through the mappings and through read(2),
    // are those of an uninterrupted run.
    let dir = scratch("shared");
    let prog = build("snapshared", Link::Static);
    let run_it = |file: &Path, sock: Option<&Path>| {
        let mut c = Command::new(TERN);
        c.args(["exec", "--memory", MEMORY]);
        if let Some(s) = sock {
            c.arg("--api-sock").arg(s);
        }
        c.arg(&prog).arg(file).arg("12");
        c
    };
    let (status, want, err) = Running::start(run_it(&dir.join("reference.bin"), None)).finish();
    assert_eq!(status, 0, "reference run: {err}");
    assert!(want.ends_with("done\n"), "{want}");
    let file = dir.join("shared.bin");
    let sock = socket("shared", 0);
    let mut run = Running::start(run_it(&file, Some(&sock)));
    run.wait_for("round 4 ");
    let snap = dir.join("vm.tern");
    pause_and_snapshot(&sock, &snap, &[]);
    let before = run.kill();
    assert!(!before.contains("done"), "{before}");
    let (status, after, err) = Running::start(restore(&snap, None)).finish();
    assert_eq!(format!("{before}{after}"), want, "restore stderr: {err}");
    assert_eq!(status, 0, "{err}");
    assert_eq!(
        std::fs::read(&file).expect("the shared file"),
        std::fs::read(dir.join("reference.bin")).expect("the reference file"),
        "the file the restored program wrote through its mapping"
    );
}
