//! Live migration between hosts of different architectures: a Linux guest running the
//! counter workload (a running checksum in memory, a file appended on an ext4 disk)
//! moves from this x86-64 host's tern to a tern built for aarch64, then to one built
//! for s390x (big-endian), then back here, while it runs, and finishes with the results
//! of an uninterrupted run. The other "hosts" are `scripts/cross-build`'s terns run
//! under qemu-user; each destination listens on loopback, as a remote host would on its
//! own address.

#[path = "common/migrate.rs"]
mod migrate;
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
