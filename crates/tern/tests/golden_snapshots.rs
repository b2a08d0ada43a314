//! The golden snapshot files (`tests/golden/`, see its README): snapshots written by
//! an earlier tern, restored by this build and run to completion. They are the
//! compatibility contract of the state model; a failure here means this build can no
//! longer restore what an earlier one wrote. Never regenerate them to make this pass.
//!
//! Also the errors a restore gives when a file's component states do not fit the
//! machine: a component without a saved state, a saved state without a component,
//! a state written by a newer version (the files are rewritten with one state
//! changed, so no guest or tool is needed).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tern_snapshot::{Pages, SectionKind, Snapshot, SnapshotMeta, SnapshotWriter, WriteOptions};

const TERN: &str = env!("CARGO_BIN_EXE_tern");

/// A golden file of snapshot format `format`.
fn golden(format: u32, name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/golden/format{format}-{name}.tern"))
}

/// What `tern restore` did.
struct Restored {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs `tern restore FILE` from `/` with `input` on stdin (kept open for a moment so
/// that the console reader takes it), for at most a minute.
fn restore(file: &Path, input: &[u8]) -> Restored {
    let mut child = Command::new(TERN)
        .arg("restore")
        .arg(file)
        .current_dir("/")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start tern");
    let mut stdin = child.stdin.take().unwrap();
    let _ = stdin.write_all(input);
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    Restored {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The names of the state sections of `file`, in order.
fn states(file: &Path) -> Vec<String> {
    Snapshot::open(file)
        .unwrap()
        .sections()
        .into_iter()
        .filter(|s| s.kind == SectionKind::State)
        .map(|s| s.name)
        .collect()
}

fn assert_ran_to_the_end(r: &Restored, expected: &[&str]) {
    assert_eq!(
        r.code,
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        r.stdout,
        r.stderr
    );
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines, expected, "stderr:\n{}", r.stderr);
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn format2_virt_restores_with_its_devices_and_runs_to_the_end() {
    let file = golden(2, "virt");
    assert_eq!(
        states(&file),
        ["config", "board", "clock", "hart0", "test", "rtc", "clint", "plic", "uart", "virtio0"]
    );
    // The byte reaches the program through the UART and the PLIC; the program then
    // checks every device, makes a second request on the virtio-rng queue it set up
    // before the snapshot and waits for the CLINT timer it armed then.
    let r = restore(&file, b"g");
    assert_ran_to_the_end(&r, &["golden-virt: got g", "golden-virt: ok"]);
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn format2_virt_with_terns_firmware_restores_its_harts_and_runs_to_the_end() {
    let file = golden(2, "virt-sbi");
    assert_eq!(
        states(&file),
        [
            "config", "board", "clock", "hart0", "hart1", "hart2", "sbi", "test", "rtc", "clint",
            "plic", "uart"
        ]
    );
    // tern's SBI state says hart 1 runs and hart 2 is stopped; hart 0's Sstc timer
    // fires, hart 1 stops itself through HSM, SRST powers off.
    let r = restore(&file, b"");
    assert_ran_to_the_end(&r, &["golden-sbi: ok"]);
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn format2_spike_restores_mid_computation_and_runs_to_the_end() {
    let file = golden(2, "spike");
    assert_eq!(
        states(&file),
        ["config", "board", "clock", "hart0", "clint", "htif"]
    );
    let r = restore(&file, b"");
    assert_ran_to_the_end(
        &r,
        &["golden-spike: sum 9ce31c9b16df9035", "golden-spike: ok"],
    );
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn format2_process_restores_its_threads_and_runs_to_the_end() {
    let file = golden(2, "process");
    let names = states(&file);
    assert_eq!(&names[..2], ["config", "process"]);
    assert_eq!(
        names[2..]
            .iter()
            .filter(|n| n.starts_with("thread."))
            .count(),
        3,
        "the main thread and two workers: {names:?}"
    );
    let r = restore(&file, b"");
    assert_ran_to_the_end(
        &r,
        &["golden-process: sum 558a6273191ff488", "golden-process: ok"],
    );
}

/// Writes `dst`: `src` with its state sections edited by `edit` (memory copied).
fn rewrite(src: &Path, dst: &Path, edit: impl FnOnce(&mut Vec<(String, Vec<u8>)>)) {
    let snap = Snapshot::open(src).unwrap();
    let mut states: Vec<(String, Vec<u8>)> = snap
        .sections()
        .into_iter()
        .filter(|s| s.kind == SectionKind::State)
        .map(|s| {
            let bytes = snap.state(&s.name).unwrap().to_vec();
            (s.name, bytes)
        })
        .collect();
    edit(&mut states);
    let meta = SnapshotMeta::new("riscv64", snap.header().vm_kind);
    let opts = WriteOptions {
        sync: false,
        ..WriteOptions::default()
    };
    let mut w = SnapshotWriter::create(dst, meta, opts).unwrap();
    for (name, bytes) in &states {
        w.add_state(name, bytes).unwrap();
    }
    let mem = snap.memory("ram").unwrap();
    let region = mem.region();
    let mut ram = vec![0u8; region.size as usize];
    mem.populate(&mut ram).unwrap();
    w.add_memory("ram", region, &ram[..], Pages::All).unwrap();
    w.finish().unwrap();
}

/// The error `tern restore` gives for `src` edited by `edit`.
fn refused(src: &Path, edit: impl FnOnce(&mut Vec<(String, Vec<u8>)>)) -> String {
    let dir = tempfile::tempdir().unwrap();
    let dst = dir.path().join("edited.tern");
    rewrite(src, &dst, edit);
    let r = restore(&dst, b"");
    assert_ne!(r.code, Some(0), "stdout: {}", r.stdout);
    assert!(r.stdout.is_empty(), "the guest must not run: {}", r.stdout);
    let prefix = format!("tern: cannot restore {}: snapshot: ", dst.display());
    let msg = r.stderr.trim_end();
    assert!(msg.starts_with(&prefix), "{msg}");
    msg[prefix.len()..].to_string()
}

fn take(states: &mut Vec<(String, Vec<u8>)>, name: &str) -> Vec<u8> {
    let i = states.iter().position(|(n, _)| n == name).unwrap();
    states.remove(i).1
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn states_that_do_not_fit_the_machine_are_refused_naming_both_sides() {
    let virt = golden(2, "virt");
    // A component of the machine without a saved state.
    assert_eq!(
        refused(&virt, |s| {
            take(s, "uart");
        }),
        "this VM's `uart` (uart-16550a) has no state among the saved ones"
    );
    // A saved state for a slot that is empty in this machine.
    assert_eq!(
        refused(&virt, |s| {
            let rtc = s.iter().find(|(n, _)| n == "rtc").unwrap().1.clone();
            s.push(("virtio5".into(), rtc));
        }),
        "a goldfish-rtc state was saved for `virtio5`, but this VM's `virtio5` is an empty slot, which has no state"
    );
    // A saved state for a component this machine does not have at all.
    assert_eq!(
        refused(&virt, |s| {
            let hart = s.iter().find(|(n, _)| n == "hart0").unwrap().1.clone();
            s.push(("hart3".into(), hart));
        }),
        "a hart state was saved for `hart3`, but this VM has no `hart3`"
    );
    // A state of another kind under a component's name.
    assert_eq!(
        refused(&virt, |s| {
            let plic = take(s, "plic");
            take(s, "clint");
            s.push(("clint".into(), plic));
        }),
        "state `clint`: holds a plic state, not a clint state"
    );
    // tern's firmware state in a machine whose firmware was given with --bios.
    assert_eq!(
        refused(&virt, |s| {
            let board = s.iter().find(|(n, _)| n == "board").unwrap().1.clone();
            s.push(("sbi".into(), board));
        }),
        "a virt state was saved for `sbi`, but this VM's `sbi` is the firmware (tern is not the SBI: the machine runs firmware given with --bios), which has no state"
    );
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn a_state_written_by_a_newer_version_is_refused_with_both_versions() {
    // The version follows the kind: one length byte, the kind, then a u32.
    let bump = |bytes: &mut Vec<u8>, to: u32| {
        let at = 1 + usize::from(bytes[0]);
        bytes[at..at + 4].copy_from_slice(&to.to_le_bytes());
    };
    assert_eq!(
        refused(&golden(2, "virt"), |s| {
            let hart = s.iter_mut().find(|(n, _)| n == "hart0").unwrap();
            bump(&mut hart.1, 2);
        }),
        "state `hart0`: hart state version 2 is newer than this tern understands (1)"
    );
    assert_eq!(
        refused(&golden(2, "spike"), |s| {
            let clock = s.iter_mut().find(|(n, _)| n == "clock").unwrap();
            bump(&mut clock.1, 7);
        }),
        "state `clock`: clock state version 7 is newer than this tern understands (1)"
    );
    let e = refused(&golden(2, "process"), |s| {
        let t = s
            .iter_mut()
            .find(|(n, _)| n.starts_with("thread."))
            .unwrap();
        bump(&mut t.1, 3);
    });
    assert!(
        e.starts_with("state `thread.")
            && e.ends_with(
                "`: linux-thread state version 3 is newer than this tern understands (1)"
            ),
        "{e}"
    );
}
