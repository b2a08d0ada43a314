//! Live migration of a process VM: a running riscv64 Linux program moves from one
//! `tern exec` to a `tern receive` (`tern migrate --api-sock`), in pre-copy and in
//! post-copy, and ends as a run that never moved ends: the same stdout (what the
//! source printed, then what the destination printed), the same file, the same exit
//! status. A program holding what cannot move refuses the switch-over and runs on
//! at the source.
//!
//! The program is `guests/linux-user/snapcount.c` (four threads, a mutex, barriers,
//! a progress line per round to stdout and a file): its output does not depend on
//! scheduling.

#[path = "common/linux_user.rs"]
mod linux_user;
#[path = "common/process_vm.rs"]
mod process_vm;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use linux_user::{build, Link};
use process_vm::{socket, Running};

const TERN: &str = env!("CARGO_BIN_EXE_tern");
const TIMEOUT: Duration = Duration::from_secs(300);
/// Control sockets of this binary's tests are named `tern-mp-...`.
const PREFIX: &str = "mp";
/// Rounds and draws per round: long enough that the move happens mid-run.
const ROUNDS: &str = "14";
const PER_ROUND: &str = "3000";

/// A scratch directory for one test.
fn scratch(test: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("migrate-process")
        .join(test);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("create the scratch directory");
    d
}

/// `tern exec` of snapcount writing `file`, with `extra` arguments for the program.
fn snapcount(file: &Path, sock: Option<&Path>, extra: &[&str]) -> Command {
    let prog = build("snapcount", Link::Static);
    let mut c = Command::new(TERN);
    c.args(["exec", "--memory", "256M"]);
    if let Some(s) = sock {
        c.arg("--api-sock").arg(s);
    }
    c.arg(prog).arg(file).args([ROUNDS, PER_ROUND]).args(extra);
    c
}

/// A run that never moves: (status, stdout, file).
fn reference(dir: &Path, extra: &[&str]) -> (i32, String, String) {
    let file = dir.join("reference.txt");
    let (status, out, err) = Running::start(snapcount(&file, None, extra)).finish();
    assert_eq!(status, 7, "reference run: {err}");
    assert!(out.contains("done counter 168000"), "{out}");
    (
        status,
        out,
        std::fs::read_to_string(&file).expect("reference file"),
    )
}

/// `tern receive --listen 127.0.0.1:0 --insecure`, and the address it listens on.
fn destination() -> (Running, String) {
    let mut c = Command::new(TERN);
    c.args(["receive", "--listen", "tcp:127.0.0.1:0", "--insecure"]);
    let dest = Running::start(c);
    let prefix = "tern: waiting for a VM on ";
    let start = Instant::now();
    loop {
        if let Some(addr) = dest.stderr().lines().find_map(|l| l.strip_prefix(prefix)) {
            return (dest, addr.trim().to_string());
        }
        assert!(
            start.elapsed() < TIMEOUT,
            "the destination does not listen: {}",
            dest.stderr()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// `tern migrate --api-sock SOCK tcp:ADDR --insecure EXTRA...`: (success, output).
fn migrate(sock: &Path, addr: &str, extra: &[&str]) -> (bool, String) {
    let o = Command::new(TERN)
        .arg("migrate")
        .arg("--api-sock")
        .arg(sock)
        .arg(format!("tcp:{addr}"))
        .arg("--insecure")
        .args(extra)
        .output()
        .expect("run tern migrate");
    let mut out = String::from_utf8_lossy(&o.stdout).into_owned();
    out.push_str(&String::from_utf8_lossy(&o.stderr));
    (o.status.success(), out)
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary and the riscv64 cross toolchain"]
fn a_running_program_moves_and_ends_as_if_it_never_moved() {
    for mode in ["precopy", "postcopy"] {
        let dir = scratch(mode);
        let (want_status, want_out, want_file) = reference(&dir, &[]);
        let file = dir.join("out.txt");
        let sock = socket(mode, 0);
        let mut source = Running::start(snapcount(&file, Some(&sock), &[]));
        source.wait_for("round 3 ");
        let (dest, addr) = destination();
        let (ok, said) = migrate(&sock, &addr, &["--mode", mode]);
        assert!(ok, "{mode}: tern migrate failed: {said}");
        assert!(said.contains("completed to"), "{mode}: {said}");
        let (status, before, err) = source.finish();
        assert_eq!(
            status, 0,
            "{mode}: the source ends once the program moved: {err}"
        );
        assert!(
            err.contains(&format!("tern: the program moved to tcp:{addr}")),
            "{mode}: {err}"
        );
        assert!(
            before.contains("round 3 ") && !before.contains("done"),
            "{mode}: the program finished before it moved: {before}"
        );
        let (status, after, err) = dest.finish();
        assert!(
            err.contains("tern: a program arrives from"),
            "{mode}: {err}"
        );
        assert!(
            !after.is_empty(),
            "{mode}: nothing ran at the destination: {err}"
        );
        assert_eq!(
            format!("{before}{after}"),
            want_out,
            "{mode}: destination stderr: {err}"
        );
        assert_eq!(status, want_status, "{mode}: {err}");
        assert_eq!(
            std::fs::read_to_string(&file).expect("the program's file"),
            want_file,
            "{mode}"
        );
    }
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary and the riscv64 cross toolchain"]
fn a_program_holding_a_tcp_socket_refuses_to_move_and_runs_on() {
    let dir = scratch("socket");
    let (want_status, want_out, want_file) = reference(&dir, &["socket"]);
    let file = dir.join("out.txt");
    let sock = socket("socket", 0);
    let mut source = Running::start(snapcount(&file, Some(&sock), &["socket"]));
    source.wait_for("round 2 ");
    let (dest, addr) = destination();
    let (ok, said) = migrate(&sock, &addr, &[]);
    assert!(
        !ok,
        "a migration of a program with a TCP socket succeeded: {said}"
    );
    assert!(
        said.contains("socket"),
        "the refusal names the socket: {said}"
    );
    // The program never stopped for good: it runs on here and ends as the reference.
    let (status, out, err) = source.finish();
    assert_eq!(out, want_out, "{err}");
    assert_eq!(status, want_status, "{err}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), want_file);
    // The destination threw the attempt away and still waits for a VM.
    let mut dest = dest;
    assert!(
        dest.child.try_wait().expect("try_wait").is_none(),
        "the destination ended: {}",
        dest.stderr()
    );
    dest.child.kill().expect("kill the destination");
}
