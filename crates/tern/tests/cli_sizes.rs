//! `--memory` takes sizes as QEMU users write them (`256M`, `1G`), and a bare number
//! stays MiB: the `virt` board's generated device tree shows the RAM it got.

use std::path::Path;
use std::process::Command;

const TERN: &str = env!("CARGO_BIN_EXE_tern");

/// The RAM size in the `memory@80000000` node of the device tree tern generates for
/// `--memory SIZE` (decompiled with `dtc`).
fn dtb_memory(dir: &Path, size: &str) -> u64 {
    let kernel = dir.join("kernel.bin");
    std::fs::write(&kernel, [0x73, 0x00, 0x50, 0x10]).unwrap(); // wfi
    let dtb = dir.join(format!("{size}.dtb"));
    let out = Command::new(TERN)
        .args(["run", "--machine", "virt", "--no-sandbox", "--memory", size])
        .arg("--kernel")
        .arg(&kernel)
        .arg("--dump-dtb")
        .arg(&dtb)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dts = Command::new("dtc")
        .args(["-I", "dtb", "-O", "dts"])
        .arg(&dtb)
        .output()
        .expect("dtc is missing: apt-get install device-tree-compiler");
    let text = String::from_utf8_lossy(&dts.stdout).into_owned();
    let node = text
        .split("memory@80000000 {")
        .nth(1)
        .unwrap_or_else(|| panic!("no memory node in\n{text}"));
    let reg = node
        .lines()
        .find_map(|l| l.trim().strip_prefix("reg = <"))
        .unwrap();
    let cells: Vec<u64> = reg
        .trim_end_matches(">;")
        .split_whitespace()
        .map(|c| u64::from_str_radix(c.trim_start_matches("0x"), 16).unwrap())
        .collect();
    assert_eq!(cells.len(), 4, "{reg}");
    cells[2] << 32 | cells[3]
}

#[test]
fn memory_sizes_take_binary_suffixes_and_bare_numbers_stay_mib() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(dtb_memory(dir.path(), "1G"), 1 << 30);
    assert_eq!(dtb_memory(dir.path(), "1536M"), 1536 << 20);
    assert_eq!(dtb_memory(dir.path(), "300"), 300 << 20);
    assert_eq!(dtb_memory(dir.path(), "4096K"), 4 << 20);
}

#[test]
fn bad_memory_sizes_are_refused_with_the_reason() {
    let cases = [
        ("run", "12Q", "unknown size suffix `Q`"),
        (
            "run",
            "512K",
            "--memory must be between 1M and 64G, not 512K",
        ),
        ("run", "65G", "--memory must be between 1M and 64G, not 65G"),
        ("run", "1000001K", "--memory must be a multiple of 4K"),
        (
            "exec",
            "8M",
            "--memory must be between 16M and 512G, not 8M",
        ),
        ("exec", "20000K", "--memory must be a multiple of 1M"),
    ];
    for (command, size, expected) in cases {
        let mut cmd = Command::new(TERN);
        cmd.args([command, "--no-sandbox", "--memory", size]);
        if command == "run" {
            cmd.args(["--machine", "spike", "--kernel", "/nonexistent"]);
        } else {
            cmd.arg("/nonexistent");
        }
        let out = cmd.output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success(),
            "{command} --memory {size} was accepted"
        );
        assert!(err.contains(expected), "{command} --memory {size}: {err}");
    }
}
