//! A restored VM reads its memory from the snapshot file when it first touches a page,
//! checking each page's checksum. The file may change under a running restored VM:
//! truncated or rewritten in place, the VM stops with an error naming the page and the
//! file — never a death by SIGBUS, never memory that silently changed; replaced by
//! rename (as tern's own writer does), it does not disturb the VM at all. For a
//! process VM (`guests/linux-user/lazymem.c`, which checks its memory after the
//! change) and a system VM (the Linux guest asleep in `sleep.sh`). Outcomes are
//! checked on the host: how the tern process ended and what it said.

#[path = "common/linux_user.rs"]
mod linux_user;
#[path = "common/snapshot_vm.rs"]
#[allow(dead_code)]
mod snapshot_vm;
#[path = "common/virt.rs"]
mod virt;

use std::io::Read;
use std::os::unix::fs::FileExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use linux_user::{build, Link};
use snapshot_vm::Vm;
use tern_snapshot::{PageLocation, Snapshot};
use virt::images;

const TERN: &str = env!("CARGO_BIN_EXE_tern");
const TIMEOUT: Duration = Duration::from_secs(120);

/// A scratch directory for one test.
fn scratch(test: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("snapshot-lazy")
        .join(test);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("create the scratch directory");
    d
}

/// A control socket path short enough for `sun_path`.
fn socket(test: &str, n: u32) -> PathBuf {
    let p = std::env::temp_dir().join(format!("tern-sl-{}-{test}-{n}.sock", std::process::id()));
    let _ = std::fs::remove_file(&p);
    p
}

/// How the snapshot file changes under the restored VM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Change {
    /// Cut to 64 KiB (header and state sections are long read; the pages are not).
    Truncate,
    /// One byte of every stored page inverted, in place.
    Rewrite,
    /// A copy with every stored page damaged, renamed over the file.
    Replace,
}

/// File offsets of a byte inside each page `file` stores uncompressed.
fn stored_page_bytes(file: &Path) -> Vec<u64> {
    let snap = Snapshot::open(file).expect("open the snapshot");
    let m = snap.memory("ram").expect("memory section");
    let mut at = Vec::new();
    for (first, n) in m.stored_runs() {
        for p in first..first + n {
            if let Ok(PageLocation::File { layer: 0, offset }) = m.locate(p) {
                at.push(offset + 123);
            }
        }
    }
    assert!(at.len() > 16, "only {} stored pages", at.len());
    at
}

/// Inverts the bytes at `offsets` of `path` in place.
fn invert(path: &Path, offsets: &[u64]) {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .expect("open the snapshot for writing");
    for &o in offsets {
        let mut b = [0u8];
        f.read_exact_at(&mut b, o).expect("read a byte");
        f.write_all_at(&[!b[0]], o).expect("write a byte");
    }
}

fn change(file: &Path, how: Change) {
    match how {
        Change::Truncate => std::fs::OpenOptions::new()
            .write(true)
            .open(file)
            .and_then(|f| f.set_len(64 * 1024))
            .expect("truncate the snapshot"),
        Change::Rewrite => invert(file, &stored_page_bytes(file)),
        Change::Replace => {
            let other = file.with_extension("new");
            std::fs::copy(file, &other).expect("copy the snapshot");
            invert(&other, &stored_page_bytes(&other));
            std::fs::rename(&other, file).expect("rename over the snapshot");
        }
    }
}

/// A tern process whose stdout and stderr are collected as they come.
struct Running {
    child: Child,
    out: Arc<Mutex<Vec<u8>>>,
    err: Arc<Mutex<Vec<u8>>>,
}

/// How a tern process ended.
#[derive(Debug)]
struct Ended {
    code: Option<i32>,
    signal: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Running {
    fn start(mut cmd: Command) -> Running {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start tern");
        let collect = |mut pipe: Box<dyn Read + Send>| {
            let buf = Arc::new(Mutex::new(Vec::new()));
            let b = buf.clone();
            std::thread::spawn(move || {
                let mut chunk = [0u8; 4096];
                while let Ok(n) = pipe.read(&mut chunk) {
                    if n == 0 {
                        break;
                    }
                    b.lock().unwrap().extend_from_slice(&chunk[..n]);
                }
            });
            buf
        };
        let out = collect(Box::new(child.stdout.take().expect("stdout")));
        let err = collect(Box::new(child.stderr.take().expect("stderr")));
        Running { child, out, err }
    }

    fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.lock().unwrap()).into_owned()
    }

    fn wait_for_stdout(&self, needle: &str) {
        let start = Instant::now();
        while !self.stdout().contains(needle) {
            assert!(
                start.elapsed() < TIMEOUT,
                "no {needle:?} in:\n{}",
                self.stdout()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn finish(mut self) -> Ended {
        let start = Instant::now();
        let status = loop {
            if let Some(s) = self.child.try_wait().expect("wait for tern") {
                break s;
            }
            if start.elapsed() > TIMEOUT {
                let _ = self.child.kill();
                panic!("tern did not finish; stdout:\n{}", self.stdout());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        std::thread::sleep(Duration::from_millis(100));
        Ended {
            code: status.code(),
            signal: status.signal(),
            stdout: self.stdout(),
            stderr: String::from_utf8_lossy(&self.err.lock().unwrap()).into_owned(),
        }
    }

    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `tern ARGS --api-sock SOCK`, which must succeed.
fn control(args: &[&str], sock: &Path) {
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
}

/// `tern restore FILE --api-sock SOCK`, returned once the restore is done: the
/// control socket appears after the memory was set up, before the VM runs on.
fn restore(file: &Path, sock: &Path) -> Running {
    let mut c = Command::new(TERN);
    c.arg("restore").arg(file).arg("--api-sock").arg(sock);
    let r = Running::start(c);
    let start = Instant::now();
    while !sock.exists() {
        assert!(
            start.elapsed() < TIMEOUT,
            "the restore never served its socket"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    r
}

/// Checks how a restored VM ended after its file changed as `how` says.
fn check(how: Change, file: &Path, e: &Ended, finished: &str) {
    let name = file.file_name().unwrap().to_str().unwrap();
    match how {
        Change::Replace => {
            assert_eq!(e.code, Some(0), "{e:#?}");
            assert!(e.stdout.contains(finished), "{e:#?}");
        }
        Change::Truncate | Change::Rewrite => {
            assert_eq!(
                (e.code, e.signal),
                (Some(1), None),
                "tern must exit 1, not die by a signal: {e:#?}"
            );
            let cause = if how == Change::Truncate {
                "cannot read"
            } else {
                "crc mismatch"
            };
            assert!(
                e.stderr.contains("cannot go on: guest RAM page 0x")
                    && e.stderr.contains("cannot be restored: snapshot")
                    && e.stderr.contains(cause)
                    && e.stderr.contains(name),
                "the error must name the page, the problem and the file: {e:#?}"
            );
            assert!(!e.stdout.contains(finished), "{e:#?}");
        }
    }
}

/// lazymem snapshotted while it waits, restored, its file changed, then let go on.
fn process_vm(how: Change) {
    let test = format!("process-{how:?}");
    let dir = scratch(&test);
    let prog = build("lazymem", Link::Static);
    let go = dir.join("go");
    let file = dir.join("lazymem.tern");
    let (s1, s2) = (socket(&test, 1), socket(&test, 2));
    let mut c = Command::new(TERN);
    c.args(["exec", "--memory", "256", "--api-sock"])
        .arg(&s1)
        .arg(&prog)
        .arg(&go);
    let vm = Running::start(c);
    vm.wait_for_stdout("lazymem: ready");
    control(&["pause"], &s1);
    control(&["snapshot", "--out", file.to_str().unwrap()], &s1);
    vm.kill();
    let restored = restore(&file, &s2);
    change(&file, how);
    std::fs::write(&go, b"").expect("create the go file");
    let e = restored.finish();
    check(how, &file, &e, "lazymem: 0 words differ");
    let _ = std::fs::remove_file(&s1);
    let _ = std::fs::remove_file(&s2);
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn a_process_snapshot_truncated_under_its_restored_program_stops_it_cleanly() {
    process_vm(Change::Truncate);
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn a_process_snapshot_rewritten_under_its_restored_program_stops_it_cleanly() {
    process_vm(Change::Rewrite);
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn a_process_snapshot_replaced_by_rename_does_not_disturb_its_restored_program() {
    process_vm(Change::Replace);
}

/// A restored program forks before touching its memory: the child (a host process of
/// its own, without the parent's threads) sees the memory as the parent does.
#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn a_child_forked_by_a_restored_program_sees_its_memory() {
    let test = "fork";
    let dir = scratch(test);
    let prog = build("lazymem", Link::Static);
    let go = dir.join("go");
    let file = dir.join("lazymem.tern");
    let (s1, s2) = (socket(test, 1), socket(test, 2));
    let mut c = Command::new(TERN);
    c.args(["exec", "--memory", "256", "--api-sock"])
        .arg(&s1)
        .arg(&prog)
        .arg(&go)
        .arg("fork");
    let vm = Running::start(c);
    vm.wait_for_stdout("lazymem: ready");
    control(&["pause"], &s1);
    control(&["snapshot", "--out", file.to_str().unwrap()], &s1);
    vm.kill();
    let restored = restore(&file, &s2);
    std::fs::write(&go, b"").expect("create the go file");
    let e = restored.finish();
    assert_eq!(e.code, Some(0), "{e:#?}");
    assert!(
        e.stdout.contains("lazymem: child: 0 words differ")
            && e.stdout.contains("lazymem: 0 words differ"),
        "{e:#?}"
    );
    let _ = std::fs::remove_file(&s1);
    let _ = std::fs::remove_file(&s2);
}

/// The Linux guest snapshotted asleep, restored, its file changed at once (before
/// the restored guest ran: the socket is served first).
fn system_vm(how: Change) {
    let _ = images();
    let test = format!("system-{how:?}");
    let dir = scratch(&test);
    let file = dir.join("sleep.tern");
    let vm = Vm::boot("/tests/sleep.sh", &["3"], None, &socket(&test, 1));
    vm.wait_for("sleep: start", TIMEOUT);
    vm.snapshot_and_kill(&file, &[]);
    let s2 = socket(&test, 2);
    let restored = restore(&file, &s2);
    change(&file, how);
    let e = restored.finish();
    check(how, &file, &e, "sleep: ok");
    let _ = std::fs::remove_file(&s2);
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn a_system_snapshot_truncated_under_its_restored_vm_stops_it_cleanly() {
    system_vm(Change::Truncate);
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn a_system_snapshot_rewritten_under_its_restored_vm_stops_it_cleanly() {
    system_vm(Change::Rewrite);
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn a_system_snapshot_replaced_by_rename_does_not_disturb_its_restored_vm() {
    system_vm(Change::Replace);
}
