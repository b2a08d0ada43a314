//! Live migration between hosts of different architectures: a Linux guest running the
//! counter workload (a running checksum in memory, a file appended on an ext4 disk)
//! moves from this x86-64 host's tern to a tern built for aarch64, then to one built
//! for s390x (big-endian), then back here, while it runs, and finishes with the results
//! of an uninterrupted run. The other "hosts" are `scripts/cross-build`'s terns run
//! under qemu-user; each destination listens on loopback, as a remote host would on its
//! own address.

#[path = "common/linux_user.rs"]
mod linux_user;
#[path = "common/migrate.rs"]
mod migrate;
#[path = "common/process_vm.rs"]
mod process_vm;
#[path = "common/snapshot_vm.rs"]
#[allow(dead_code)]
mod snapshot_vm;
#[path = "common/virt.rs"]
mod virt;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use migrate::{hop, last_counter, wait_for_counter, Destination};
use snapshot_vm::{raw, results, Vm};
use virt::{disk_copy, images};

/// Rounds of counter.sh: the guest must still be counting after three moves, the two
/// middle ones to hosts emulated by qemu-user (about ten times slower than this one).
const ROUNDS: &str = "3000";
/// How long the workload may take to finish.
const FINISH: Duration = Duration::from_secs(900);
/// How far the guest must count on each foreign host before it moves on: proof that it
/// ran there, not only passed through.
const RUN_THERE: u64 = 30;
/// The tern under test (the process VM's source and last destination).
const TERN: &str = env!("CARGO_BIN_EXE_tern");
/// How long a step of the process VM's trip may take.
const TIMEOUT: Duration = Duration::from_secs(600);
/// Control sockets of the process VM's trip are named `tern-mh-...`.
const PREFIX: &str = "mh";

fn tmp(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("migrate-hetero");
    std::fs::create_dir_all(&dir).expect("tmp dir");
    dir.join(name)
}

/// The commands that run the cross-built terns, by architecture, built (and the
/// toolchains installed) by `scripts/cross-build` on first use.
fn cross_terns() -> &'static HashMap<String, Vec<String>> {
    static TERNS: OnceLock<HashMap<String, Vec<String>>> = OnceLock::new();
    TERNS.get_or_init(|| {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/cross-build");
        let out = Command::new(&script)
            .args(["aarch64", "s390x"])
            .output()
            .expect("run scripts/cross-build");
        assert!(
            out.status.success(),
            "scripts/cross-build failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| {
                let mut words = l.split_whitespace().map(str::to_string);
                Some((words.next()?, words.collect()))
            })
            .collect()
    })
}

/// A `Command` for the tern built for `arch`.
fn cross_tern(arch: &str) -> Command {
    let words = cross_terns()
        .get(arch)
        .unwrap_or_else(|| panic!("scripts/cross-build gave no {arch} tern"));
    let mut c = Command::new(&words[0]);
    c.args(&words[1..]);
    c
}

/// The ELF machine (`e_machine`) of the binary a tern command runs (its last word).
fn elf_machine(words: &[String]) -> u16 {
    let bytes = std::fs::read(words.last().expect("a binary")).expect("read the binary");
    let big = bytes[5] == 2;
    let m = [bytes[18], bytes[19]];
    if big {
        u16::from_be_bytes(m)
    } else {
        u16::from_le_bytes(m)
    }
}

#[test]
#[ignore = "full tier (scripts/test): cross-builds tern for aarch64 and s390x and moves a running Linux guest through them under qemu-user"]
fn a_running_guest_moves_x86_64_to_aarch64_to_s390x_and_back() {
    let _ = images();
    // The cross builds take minutes: the uninterrupted run goes on meanwhile.
    let builds = std::thread::spawn(|| {
        cross_terns();
    });
    let reference = migrate::uninterrupted("hetero", ROUNDS);
    assert!(
        reference.contains(&format!("counter: lines {ROUNDS}")),
        "{reference:?}"
    );
    builds.join().expect("scripts/cross-build");
    // The builds are what they claim: AArch64 (183) little-endian, S/390 (22) big-endian.
    assert_eq!(elf_machine(&cross_terns()["aarch64"]), 183);
    assert_eq!(elf_machine(&cross_terns()["s390x"]), 22);

    let disk = disk_copy("hetero-moved");
    let mut sock = tmp("x86_64-0.sock");
    let args = virt::Boot::linux(2, Some("/tests/counter.sh"), &[ROUNDS])
        .with(&["--drive", &raw(&disk), "--migratable"])
        .args()
        .to_vec();
    let mut vm = Vm::spawn(&args, &sock);
    let mut counted = wait_for_counter(&vm, 100, Duration::from_secs(300));
    for arch in ["aarch64", "s390x"] {
        let dest_sock = tmp(&format!("{arch}.sock"));
        let dest = Destination::start_command(cross_tern(arch), &["--insecure"], &dest_sock);
        let console = hop(vm, &sock, &dest, &["--insecure"]);
        counted = counted.max(last_counter(&console).unwrap_or(0));
        counted = wait_for_counter(&dest.vm, counted + RUN_THERE, Duration::from_secs(600));
        eprintln!("on {arch}: counting at {counted}");
        vm = dest.vm;
        sock = dest_sock;
    }
    let home_sock = tmp("x86_64-1.sock");
    let home = Destination::start(migrate::Build::Native, &["--insecure"], &home_sock);
    hop(vm, &sock, &home, &["--insecure"]);
    let console = home.vm.finish(FINISH);
    assert!(console.contains("tern: run exit status 0"), "{console}");
    assert_eq!(results(&console), reference);
}

/// The highest `round N ` line snapcount printed.
fn last_round(out: &str) -> Option<u64> {
    out.lines()
        .filter_map(|l| l.strip_prefix("round "))
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .max()
}

/// Waits until `vm` printed round `n` or later.
fn wait_for_round(vm: &process_vm::Running, n: u64) {
    let start = std::time::Instant::now();
    while last_round(&vm.stdout()).is_none_or(|r| r < n) {
        assert!(
            start.elapsed() < TIMEOUT,
            "no round {n} within {TIMEOUT:?}: {}\n{}",
            vm.stdout(),
            vm.stderr()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
#[ignore = "full tier (scripts/test): cross-builds tern for aarch64 and s390x and moves a running program through them under qemu-user"]
fn a_running_program_moves_x86_64_to_aarch64_to_s390x_and_back() {
    use linux_user::{build, Link};
    use process_vm::Running;
    let prog = build("snapcount", Link::Static);
    let snapcount = |file: &Path, sock: Option<&Path>| {
        let mut c = Command::new(TERN);
        c.args(["exec", "--memory", "256M"]);
        if let Some(s) = sock {
            c.arg("--api-sock").arg(s);
        }
        c.arg(&prog).arg(file).args(["40", "3000"]);
        c
    };
    let builds = std::thread::spawn(|| {
        cross_terns();
    });
    let (want_status, want_out, _) =
        Running::start(snapcount(&tmp("prog-reference.txt"), None)).finish();
    assert_eq!(want_status, 7, "{want_out}");
    builds.join().expect("scripts/cross-build");

    let file = tmp("prog-moved.txt");
    let _ = std::fs::remove_file(&file);
    let mut sock = process_vm::socket("x86_64", 0);
    let mut vm = Running::start(snapcount(&file, Some(&sock)));
    wait_for_round(&vm, 2);
    let mut printed = String::new();
    let legs: [(&str, Option<Command>); 3] = [
        ("aarch64", Some(cross_tern("aarch64"))),
        ("s390x", Some(cross_tern("s390x"))),
        ("x86_64", None),
    ];
    for (n, (arch, command)) in legs.into_iter().enumerate() {
        let dest_sock = process_vm::socket(arch, n as u32 + 1);
        let mut c = command.unwrap_or_else(|| Command::new(TERN));
        c.args([
            "receive",
            "--listen",
            "tcp:127.0.0.1:0",
            "--insecure",
            "--api-sock",
        ])
        .arg(&*dest_sock);
        let dest = Running::start(c);
        let addr = process_vm::receive_address(&|| dest.stderr());
        let before = last_round(&vm.stdout()).unwrap_or(0);
        let m = migrate::migrate(&sock, &addr, &["--insecure"]);
        assert!(m.ok, "to {arch}: {}", m.output);
        let (status, out, err) = vm.finish();
        assert_eq!(status, 0, "the host before {arch}: {err}");
        assert!(
            !out.contains("done"),
            "it finished before it moved to {arch}: {out}"
        );
        printed.push_str(&out);
        vm = dest;
        sock = dest_sock;
        if arch != "x86_64" {
            // It ran there: two more rounds on that host.
            wait_for_round(&vm, before + 2);
        }
    }
    let (status, out, err) = vm.finish();
    printed.push_str(&out);
    assert_eq!(printed, want_out, "{err}");
    assert_eq!(status, want_status, "{err}");
}
