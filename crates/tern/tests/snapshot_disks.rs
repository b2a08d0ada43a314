//! Disks in system VM snapshots: `tern snapshot --include-disks` stores the blocks the
//! guest wrote, `snapshot=on` drives always have theirs stored, and a restore reopens
//! each such disk as its image (never written again) under a private overlay holding
//! those blocks. A Linux guest writing to its disk is snapshotted mid-run, killed and
//! restored — twice from the same file, as two independent VMs — and ends with the
//! results of an uninterrupted run; a guest that drops its page cache after a restore
//! reads back from the device what it wrote before the snapshot, across an incremental
//! snapshot too; changed images and damaged overlays are refused with clear errors.

#[path = "common/snapshot_vm.rs"]
mod snapshot_vm;
#[path = "common/virt.rs"]
mod virt;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use snapshot_vm::{raw, results, Vm};
use virt::{disk_copy, images, sha256_file};

const TERN: &str = env!("CARGO_BIN_EXE_tern");

fn tmp(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("snapshot-disks");
    std::fs::create_dir_all(&dir).expect("tmp dir");
    dir.join(name)
}

fn throwaway(disk: &Path) -> String {
    format!("file={},format=raw,snapshot=on", disk.display())
}

/// `tern restore FILE` to the end; returns (exit status, stderr).
fn restore_status(file: &Path) -> (i32, String) {
    let out = Command::new(TERN)
        .arg("restore")
        .arg(file)
        .stdin(Stdio::null())
        .output()
        .expect("run tern");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// counter.sh's results from an uninterrupted run on a disk written in place.
fn reference_results() -> &'static Vec<String> {
    static REF: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    REF.get_or_init(|| {
        let disk = disk_copy("disks-reference");
        let vm = Vm::boot(
            "/tests/counter.sh",
            &[],
            Some(&raw(&disk)),
            &tmp("ref.sock"),
        );
        results(&vm.finish(Duration::from_secs(600)))
    })
}

/// Checks that a restored counter.sh continued (rather than started over) and ended
/// as the uninterrupted run did.
fn check_counter(console: &str) {
    assert!(
        !console
            .lines()
            .any(|l| l.trim_end_matches('\r') == "counter: 100"),
        "the restored VM started over:\n{console}"
    );
    assert_eq!(&results(console), reference_results());
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn a_snapshot_on_drive_is_stored_and_restores_twice_leaving_the_image_untouched() {
    let _ = images();
    let disk = disk_copy("disks-throwaway");
    let before = sha256_file(&disk);
    let file = tmp("throwaway.tern");
    let vm = Vm::boot(
        "/tests/counter.sh",
        &[],
        Some(&throwaway(&disk)),
        &tmp("t1.sock"),
    );
    vm.wait_for("counter: 200", Duration::from_secs(300));
    // No --include-disks: a throw-away overlay is always stored.
    vm.snapshot_and_kill(&file, &[]);
    assert_eq!(sha256_file(&disk), before);
    let a = Vm::restore(&file, &tmp("t2.sock"));
    let b = Vm::restore(&file, &tmp("t3.sock"));
    let (out_a, out_b) = (
        a.finish(Duration::from_secs(600)),
        b.finish(Duration::from_secs(600)),
    );
    check_counter(&out_a);
    check_counter(&out_b);
    assert_eq!(
        sha256_file(&disk),
        before,
        "the image of a snapshot=on drive was written"
    );
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn include_disks_on_a_drive_written_in_place() {
    let _ = images();
    let disk = disk_copy("disks-in-place");
    let file = tmp("in-place.tern");
    let vm = Vm::boot("/tests/counter.sh", &[], Some(&raw(&disk)), &tmp("p1.sock"));
    vm.wait_for("counter: 200", Duration::from_secs(300));
    vm.snapshot_and_kill(&file, &["--include-disks"]);
    let at_snapshot = sha256_file(&disk);
    // Two restores of the one file run side by side; neither writes the image.
    let a = Vm::restore(&file, &tmp("p2.sock"));
    let b = Vm::restore(&file, &tmp("p3.sock"));
    let (out_a, out_b) = (
        a.finish(Duration::from_secs(600)),
        b.finish(Duration::from_secs(600)),
    );
    check_counter(&out_a);
    check_counter(&out_b);
    assert_eq!(
        sha256_file(&disk),
        at_snapshot,
        "a restore wrote the image under its overlay"
    );
    // The overlay is only valid on the image it was taken on: change the image (the
    // superblock's neighbourhood, where a sampled block lies) and restore refuses.
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&disk)
        .expect("open the image");
    std::os::unix::fs::FileExt::write_all_at(&f, b"changed under the snapshot", 4096)
        .expect("write the image");
    drop(f);
    let (code, err) = restore_status(&file);
    assert!(code != 0 && code != 101, "exit {code}: {err}");
    assert!(
        err.contains("disk `disk0` changed since the snapshot")
            && err.contains("only the blocks the guest wrote"),
        "{err}"
    );
}

/// A workload that travels on the disk (`tern.run=vda:/diskwork.sh`, the disk mounted
/// on /disk): it writes `$1` files of 256 KiB of generated text, syncing after each,
/// then drops the page cache and checks every file as read back from the device.
const DISKWORK: &str = r#"set -eu
n=${1:-24}
gen() {
    awk -v f="$1" 'BEGIN { for (j = 0; j < 4096; j++) printf "file %04d line %06d %041d\n", f, j, f * 7919 + j }'
}
mkdir -p /disk/work
i=0
while [ "$i" -lt "$n" ]; do
    i=$((i + 1))
    gen "$i" > /disk/work/f$i
    sync
    echo "diskwork: wrote $i"
done
sync
echo 3 > /proc/sys/vm/drop_caches
bad=0
i=0
while [ "$i" -lt "$n" ]; do
    i=$((i + 1))
    want=$(gen "$i" | sha256sum | cut -d' ' -f1)
    got=$(sha256sum < /disk/work/f$i | cut -d' ' -f1)
    if [ "$want" != "$got" ]; then
        echo "diskwork: f$i differs"
        bad=1
    fi
done
[ "$bad" = 0 ]
echo "diskwork: ok"
"#;

/// A copy of the guest disk with DISKWORK on it (put there by e2fsprogs' debugfs).
fn diskwork_disk(name: &str) -> PathBuf {
    let disk = disk_copy(name);
    let script = tmp(&format!("{name}-diskwork.sh"));
    std::fs::write(&script, DISKWORK).expect("write the script");
    let out = Command::new("debugfs")
        .arg("-w")
        .arg("-R")
        .arg(format!("write {} diskwork.sh", script.display()))
        .arg(&disk)
        .output()
        .expect("cannot run debugfs: apt-get install e2fsprogs");
    assert!(out.status.success(), "debugfs: {out:?}");
    disk
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn a_restored_guest_reads_from_its_disk_what_it_wrote_before_the_snapshot() {
    let _ = images();
    let disk = diskwork_disk("disks-diskwork");
    let first = tmp("diskwork-1.tern");
    let second = tmp("diskwork-2.tern");
    let image = sha256_file(&disk);
    // On a snapshot=on drive, what the guest writes exists only in the overlay (and
    // then in the snapshot): the image cannot stand in for it.
    let vm = Vm::boot(
        "vda:/diskwork.sh",
        &["24"],
        Some(&throwaway(&disk)),
        &tmp("w1.sock"),
    );
    vm.wait_for("diskwork: wrote 8", Duration::from_secs(300));
    vm.snapshot_and_kill(&first, &["--include-disks"]);

    // A damaged copy: flip a byte of the written data wherever it is in the file (in
    // the guest's page cache in RAM, and in the disk overlay, which is checked).
    let mut bytes = std::fs::read(&first).expect("read the snapshot");
    let needle = b"file 0003 line 000100";
    let mut flipped = 0;
    let mut at = 0;
    while let Some(p) = bytes[at..].windows(needle.len()).position(|w| w == needle) {
        bytes[at + p + 5] ^= 0x01;
        flipped += 1;
        at += p + needle.len();
    }
    assert!(flipped > 0, "the written data is not in the snapshot");
    let damaged = tmp("diskwork-damaged.tern");
    std::fs::write(&damaged, &bytes).expect("write the damaged copy");
    let (code, err) = restore_status(&damaged);
    assert!(code != 0 && code != 101, "exit {code}: {err}");
    assert!(
        err.contains("cannot restore disk `disk0`")
            && err.contains("snapshot section `disk0`: extent")
            && err.contains("crc mismatch"),
        "{err}"
    );

    // Restore, write on, and take an incremental snapshot of the restored VM (its
    // disk's overlay is stored without being asked).
    let vm = Vm::restore(&first, &tmp("w2.sock"));
    vm.wait_for("diskwork: wrote 16", Duration::from_secs(300));
    vm.snapshot_and_kill(&second, &["--incremental"]);
    let out = Vm::restore(&second, &tmp("w3.sock")).finish(Duration::from_secs(600));
    assert!(
        !out.lines()
            .any(|l| l.trim_end_matches('\r') == "diskwork: wrote 16"),
        "the restored VM went back before the second snapshot:\n{out}"
    );
    assert!(
        out.contains("diskwork: wrote 24") && out.contains("diskwork: ok"),
        "the guest did not read back what it wrote:\n{out}"
    );
    assert!(out.contains("tern: run exit status 0"), "{out}");
    assert_eq!(sha256_file(&disk), image, "the image was written");
}
