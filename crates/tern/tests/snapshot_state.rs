//! Process state that must survive a process VM snapshot, zdtm-style: the riscv64
//! program `guests/linux-user/snapstate.c` sets up one kind of state (pipes with
//! buffered bytes, Unix socketpairs with queued data, a memfd, timerfds, a
//! signalfd, POSIX timers, a POSIX message queue, SysV IPC objects and an attached segment, a file
//! unlinked while open, a thread blocked in `pause` or a futex wait), prints `ready`; the test
//! pauses it, snapshots it through the control API and kills it, then restores it
//! with `tern restore`; the restored program checks its state and prints `PASS`. The
//! same programs are also moved by live migration (`tern migrate` to a `tern
//! receive`) and check themselves at the destination.

#[path = "common/linux_user.rs"]
mod linux_user;
#[path = "common/process_vm.rs"]
mod process_vm;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use linux_user::{build, Link};

const TERN: &str = env!("CARGO_BIN_EXE_tern");
const TIMEOUT: Duration = Duration::from_secs(120);
/// The kinds of state snapstate's modes set up that every cycle test goes through
/// (`mqueue` has tests of its own: its queue has a host-wide name).
const KINDS: [&str; 9] = [
    "pipe",
    "socketpair",
    "memfd",
    "timerfd",
    "signalfd",
    "posixtimer",
    "sysv",
    "ghost",
    "fifo",
];
/// Control sockets of `process_vm` helpers in this binary are named `tern-ss-...`.
const PREFIX: &str = "ss";

/// A scratch directory for one test.
fn scratch(test: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("snapshot-state")
        .join(test);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("create the scratch directory");
    d
}

/// The scratch directory of a test, as [`scratch`] made it.
fn scratch_dir(test: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("snapshot-state")
        .join(test)
}

/// A control socket path short enough for `sun_path`.
fn socket_path(test: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("tern-ss-{}-{test}.sock", std::process::id()));
    let _ = std::fs::remove_file(&p);
    p
}

/// Runs a control command, asserting success; returns its stdout.
fn control(args: &[&str], sock: &Path) -> String {
    let o = Command::new(TERN)
        .args(args)
        .arg("--api-sock")
        .arg(sock)
        .output()
        .expect("run a tern control command");
    assert!(
        o.status.success(),
        "tern {args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A `tern` whose stdout and stderr go to files of the scratch directory.
struct Started {
    child: Child,
    out: PathBuf,
    err: PathBuf,
}

impl Started {
    fn start(mut cmd: Command, dir: &Path, tag: &str) -> Started {
        let out = dir.join(format!("{tag}.out"));
        let err = dir.join(format!("{tag}.err"));
        cmd.stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).expect("stdout file"))
            .stderr(std::fs::File::create(&err).expect("stderr file"));
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
        Started { child, out, err }
    }

    fn stdout(&self) -> String {
        std::fs::read_to_string(&self.out).unwrap_or_default()
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.err).unwrap_or_default()
    }

    /// Waits until stdout contains `text`.
    fn wait_for(&mut self, text: &str) {
        let start = Instant::now();
        while !self.stdout().contains(text) {
            if let Ok(Some(s)) = self.child.try_wait() {
                panic!(
                    "tern ended ({s}) before printing {text:?}; stdout {:?}, stderr {}",
                    self.stdout(),
                    self.stderr()
                );
            }
            assert!(
                start.elapsed() < TIMEOUT,
                "no {text:?} within {TIMEOUT:?}; stdout {:?}, stderr {}",
                self.stdout(),
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for the end: (exit code, or 128 + signal; stdout; stderr).
    fn finish(mut self) -> (i32, String, String) {
        use std::os::unix::process::ExitStatusExt;
        let start = Instant::now();
        let status = loop {
            if let Some(s) = self.child.try_wait().expect("wait") {
                break s;
            }
            if start.elapsed() > TIMEOUT {
                let _ = self.child.kill();
                panic!(
                    "tern did not finish within {TIMEOUT:?}; stdout {:?}, stderr {}",
                    self.stdout(),
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let code = status
            .code()
            .unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
        (code, self.stdout(), self.stderr())
    }
}

/// What [`snapshot_in`] gives.
struct Snapped {
    dir: PathBuf,
    snap: PathBuf,
    go: PathBuf,
    /// The snapshotted host process: pid and start time (`/proc/PID/stat`).
    process: (u32, u64),
}

/// Start time of host process `pid` (field 22 of `/proc/PID/stat`).
fn start_time(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("a stat file");
    s[s.rfind(')').expect("stat format") + 1..]
        .split_whitespace()
        .nth(19)
        .and_then(|v| v.parse().ok())
        .expect("the start time")
}

/// `tern exec snapstate MODE GO` under a control socket, snapshotted once it is
/// ready, killed.
fn snapshot_in(mode: &str) -> Snapped {
    snapshot_tagged(mode, mode)
}

/// [`snapshot_in`] with the scratch directory and socket named `tag`: tests run in
/// parallel, and two of them on the same mode must not share (and remove) files.
fn snapshot_tagged(mode: &str, tag: &str) -> Snapped {
    let dir = scratch(tag);
    let prog = build("snapstate", Link::Static);
    let go = dir.join("go");
    let sock = socket_path(tag);
    let mut c = Command::new(TERN);
    c.args(["exec", "--memory", "256", "--api-sock"])
        .arg(&sock)
        .arg(prog)
        .arg(mode)
        .arg(&go);
    let mut run = Started::start(c, &dir, "exec");
    run.wait_for("ready\n");
    let snap = dir.join("vm.tern");
    control(&["pause"], &sock);
    let said = control(&["snapshot", "--out", snap.to_str().expect("utf-8")], &sock);
    assert!(said.contains("written to"), "{said}");
    let process = (run.child.id(), start_time(run.child.id()));
    run.child.kill().expect("kill");
    let (_, out, _) = run.finish();
    assert_eq!(out, "ready\n", "nothing after ready before the snapshot");
    let _ = std::fs::remove_file(&sock);
    Snapped {
        dir,
        snap,
        go,
        process,
    }
}

/// Snapshots `mode` once ready, restores it with GO present, and asserts `PASS`.
fn survives(mode: &str) -> Snapped {
    let snapped = snapshot_in(mode);
    let Snapped { dir, snap, go, .. } = &snapped;
    std::fs::write(go, b"").expect("create GO");
    let mut c = Command::new(TERN);
    c.arg("restore").arg(snap);
    let (status, out, err) = Started::start(c, dir, "restore").finish();
    assert_eq!(
        (status, out.as_str()),
        (0, "restored\nPASS\n"),
        "{mode}: restore stderr: {err}"
    );
    snapped
}

/// Snapshots `mode` once ready, restores it (GO absent: it waits on), snapshots
/// the restored process and kills it, restores that second snapshot with GO
/// present, and asserts `PASS`: what a restore made is recorded again.
fn survives_twice(mode: &str) {
    let Snapped { dir, snap, go, .. } = snapshot_tagged(mode, &format!("{mode}-twice"));
    let sock = socket_path(&format!("{mode}-2"));
    let mut c = Command::new(TERN);
    c.arg("restore").arg(&snap).arg("--api-sock").arg(&sock);
    let mut first = Started::start(c, &dir, "restore-1");
    let start = Instant::now();
    while !sock.exists() {
        assert!(
            start.elapsed() < TIMEOUT,
            "no control socket: {}",
            first.stderr()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let snap2 = dir.join("vm2.tern");
    control(&["pause"], &sock);
    let said = control(
        &["snapshot", "--out", snap2.to_str().expect("utf-8")],
        &sock,
    );
    assert!(said.contains("written to"), "{said}");
    first.child.kill().expect("kill");
    let (_, out, err) = first.finish();
    assert_eq!(out, "", "the first restore waits for GO: {err}");
    let _ = std::fs::remove_file(&sock);
    std::fs::write(&go, b"").expect("create GO");
    let mut c = Command::new(TERN);
    c.arg("restore").arg(&snap2);
    let (status, out, err) = Started::start(c, &dir, "restore-2").finish();
    assert_eq!(
        (status, out.as_str()),
        (0, "restored\nPASS\n"),
        "{mode}: second restore stderr: {err}"
    );
}

/// Snapshots `mode` (blocked in a wait), restores it, sends the restored tern
/// `SIGTERM` once it runs, and asserts the guest's handler ran.
fn interrupted_after_restore(mode: &str) {
    let Snapped { dir, snap, .. } = snapshot_in(mode);
    let mut c = Command::new(TERN);
    c.arg("restore").arg(&snap);
    let run = Started::start(c, &dir, "restore");
    // Give the restored threads time to block again in their waits.
    std::thread::sleep(Duration::from_millis(700));
    let Output { status, .. } = Command::new("kill")
        .args(["-TERM", &run.child.id().to_string()])
        .output()
        .expect("kill -TERM");
    assert!(status.success());
    let (status, out, err) = run.finish();
    assert_eq!(
        (status, out.as_str()),
        (0, "handler ran\nPASS\n"),
        "{mode}: restore stderr: {err}"
    );
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary and a riscv64 cross compiler"]
fn pipes_keep_their_bytes_capacity_and_flags() {
    survives("pipe");
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary and a riscv64 cross compiler"]
fn socketpairs_keep_their_queued_data() {
    survives("socketpair");
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary and a riscv64 cross compiler"]
fn memfd_keeps_name_contents_size_and_seals() {
    survives("memfd");
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary and a riscv64 cross compiler"]
fn timerfds_stay_armed() {
    survives("timerfd");
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary and a riscv64 cross compiler"]
fn signalfd_keeps_its_mask() {
    survives("signalfd");
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary and a riscv64 cross compiler"]
fn posix_timers_stay_armed() {
    survives("posixtimer");
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary and a riscv64 cross compiler"]
fn sysv_ipc_objects_and_attached_segments_survive() {
    survives("sysv");
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary and a riscv64 cross compiler"]
fn a_file_unlinked_while_open_keeps_its_contents() {
    survives("ghost");
    let left: Vec<_> = std::fs::read_dir(scratch_dir("ghost"))
        .expect("the scratch directory")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains("ghost"))
        .collect();
    assert!(left.is_empty(), "the remade file has no name: {left:?}");
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary and a riscv64 cross compiler"]
fn a_fifo_held_for_reading_restores_without_a_writer() {
    survives("fifo");
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary and a riscv64 cross compiler"]
fn a_message_queue_keeps_its_messages_in_order() {
    let snapped = survives("mqueue");
    // The killed process's queue (its host name carries that process's identity)
    // is the host's until removed.
    let (pid, start) = snapped.process;
    let old = std::ffi::CString::new(format!("/tern.{pid}.{start}.snapstate-q")).expect("no NUL");
    // SAFETY: a valid C string.
    let r = unsafe { libc::mq_unlink(old.as_ptr()) };
    assert_eq!(r, 0, "the snapshotted process's queue was there");
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary and a riscv64 cross compiler"]
fn restored_state_is_recorded_again_by_a_second_snapshot() {
    for mode in KINDS {
        survives_twice(mode);
    }
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary and a riscv64 cross compiler"]
fn a_failed_restore_reports_on_terns_stderr_not_the_programs() {
    // The program's fd 2 is its log file; the file it holds as fd 3 is gone at the
    // restore, which fails after fd 2 was put back: the error is tern's.
    let Snapped { dir, snap, go, .. } = snapshot_in("stderrlog");
    let mut data = go.clone().into_os_string();
    data.push(".data");
    std::fs::remove_file(&data).expect("remove the data file");
    let mut c = Command::new(TERN);
    c.arg("restore").arg(&snap);
    let (status, out, err) = Started::start(c, &dir, "restore").finish();
    assert_ne!(status, 0, "the restore fails: {out}");
    assert!(
        err.contains("cannot restore") && err.contains("go.data"),
        "the error on tern's stderr: {err:?}"
    );
    let mut log = go.into_os_string();
    log.push(".log");
    let log = std::fs::read_to_string(&log).expect("the program's log");
    assert!(
        !log.contains("cannot restore"),
        "the program's log: {log:?}"
    );
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary and a riscv64 cross compiler"]
fn a_restored_pause_is_interrupted_by_a_caught_signal() {
    interrupted_after_restore("pause");
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary and a riscv64 cross compiler"]
fn a_restored_futex_wait_is_interrupted_by_a_caught_signal() {
    interrupted_after_restore("futex");
}

/// `tern exec snapstate MODE GO` under a control socket, moved once it is ready to a
/// `tern receive` by live migration; with GO present the moved program checks its
/// state there and prints `PASS`.
fn migrates(mode: &str) {
    let tag = format!("{mode}-migrate");
    let dir = scratch(&tag);
    let prog = build("snapstate", Link::Static);
    let go = dir.join("go");
    let sock = socket_path(&tag);
    let mut c = Command::new(TERN);
    c.args(["exec", "--memory", "256", "--api-sock"])
        .arg(&sock)
        .arg(prog)
        .arg(mode)
        .arg(&go);
    let mut source = Started::start(c, &dir, "exec");
    source.wait_for("ready\n");
    let mut c = Command::new(TERN);
    c.args(["receive", "--listen", "tcp:127.0.0.1:0", "--insecure"]);
    let dest = Started::start(c, &dir, "receive");
    let addr = process_vm::receive_address(&|| dest.stderr());
    let o = Command::new(TERN)
        .args(["migrate", "--api-sock"])
        .arg(&sock)
        .arg(format!("tcp:{addr}"))
        .arg("--insecure")
        .output()
        .expect("run tern migrate");
    assert!(
        o.status.success(),
        "{mode}: tern migrate: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let (status, out, err) = source.finish();
    assert_eq!(
        (status, out.as_str()),
        (0, "ready\n"),
        "{mode}: source: {err}"
    );
    std::fs::write(&go, b"").expect("create GO");
    let (status, out, err) = dest.finish();
    assert_eq!(
        (status, out.as_str()),
        (0, "restored\nPASS\n"),
        "{mode}: destination stderr: {err}"
    );
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary and the riscv64 cross toolchain"]
fn every_kind_of_state_survives_a_live_migration() {
    for mode in KINDS.into_iter().chain(["mqueue"]) {
        migrates(mode);
    }
}
