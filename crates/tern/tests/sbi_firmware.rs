//! tern's own SBI firmware as an S-mode kernel sees it, side by side with Debian's
//! OpenSBI under tern (`--bios`) and QEMU's bundled OpenSBI (`-bios default`): the same
//! S-mode program (`guests/baremetal/sbi/`) must print the same and power off cleanly
//! under all three.

#[path = "common/baremetal.rs"]
mod baremetal;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use baremetal::{guests_dir, require_tool, run_with_timeout, RunOutput, GCC, QEMU};

/// Debian's OpenSBI (package `opensbi`).
const FW_JUMP: &str = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin";

/// Builds `guests/baremetal/sbi/NAME.S`, linked at 0x8020_0000.
fn build(name: &str) -> PathBuf {
    require_tool(GCC);
    let dir = guests_dir().join("sbi");
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("sbi-{name}.elf"));
    let o = Command::new(GCC.0)
        .args(["-march=rv64gc", "-mabi=lp64d", "-nostdlib", "-nostartfiles"])
        .arg("-T")
        .arg(dir.join("link.ld"))
        .arg(dir.join(format!("{name}.S")))
        .arg("-o")
        .arg(&out)
        .output()
        .expect("run the cross compiler");
    assert!(
        o.status.success(),
        "building {name}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    out
}

fn tern(elf: &Path, bios: Option<&str>) -> RunOutput {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tern"));
    c.args(["run", "--machine", "virt", "--memory", "64", "--kernel"])
        .arg(elf);
    if let Some(b) = bios {
        assert!(
            Path::new(b).is_file(),
            "{b} not found: install the Debian package `opensbi`"
        );
        c.args(["--bios", b]);
    }
    run_with_timeout(c, Duration::from_secs(30)).expect("run tern")
}

fn qemu(elf: &Path) -> RunOutput {
    require_tool(QEMU);
    let mut c = Command::new(QEMU.0);
    c.args([
        "-machine",
        "virt",
        "-m",
        "64",
        "-nographic",
        "-bios",
        "default",
    ])
    .arg("-kernel")
    .arg(elf);
    run_with_timeout(c, Duration::from_secs(30)).expect("run qemu")
}

/// The program's own lines (OpenSBI prints its banner before them).
fn program_lines(out: &str, prefix: &str) -> String {
    out.lines()
        .filter(|l| l.starts_with(prefix))
        .map(|l| format!("{l}\n"))
        .collect()
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn the_sbi_timer_fires_and_is_cleared_like_opensbi() {
    // tern's firmware enables Sstc for S-mode; an SBI set_timer that only cleared
    // mip.STIP (ignored under Sstc) and kept its own deadline never raised the
    // interrupt: the program waited forever (found by the golden S-mode program).
    let elf = build("timer");
    let expected = "sbi-timer: TIME extension\nsbi-timer: legacy set_timer\nsbi-timer: ok\n";
    let q = qemu(&elf);
    assert_eq!(
        program_lines(&q.stdout, "sbi-timer"),
        expected,
        "QEMU: {}",
        q.describe()
    );
    for bios in [None, Some(FW_JUMP)] {
        let t = tern(&elf, bios);
        assert_eq!(
            program_lines(&t.stdout, "sbi-timer"),
            expected,
            "tern --bios {bios:?}: {}",
            t.describe()
        );
        assert_eq!(t.code, Some(0), "tern --bios {bios:?}: {}", t.describe());
    }
}
