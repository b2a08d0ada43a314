//! busybox (built from Debian's source package by `guests/linux/busybox.sh`, static
//! riscv64) runs a shell script with pipes, redirections, `sha256sum`, `sort`,
//! `find`, `tar` and more under `tern exec`, with the same output as under
//! `qemu-riscv64`.

#[path = "common/linux_user.rs"]
mod linux_user;

use std::process::Command;
use std::time::Duration;

use linux_user::{busybox, guests_dir, out_dir, require_tool, run, QEMU};

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn busybox_shell_script_matches_qemu() {
    busybox_script(&[], "");
}

/// The same script with the translator (every block translated on its second run).
#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn busybox_shell_script_matches_qemu_jit() {
    busybox_script(&["--engine", "jit"], "-jit");
}

/// Runs `busybox-test.sh` under `tern exec EXTRA...` and `qemu-riscv64`; compares.
fn busybox_script(extra: &[&str], suffix: &str) {
    require_tool(QEMU);
    let bb = busybox();
    let script = guests_dir().join("busybox-test.sh");
    let work_t = out_dir().join(format!("busybox-tern{suffix}"));
    let work_q = out_dir().join(format!("busybox-qemu{suffix}"));
    for d in [&work_t, &work_q] {
        std::fs::create_dir_all(d).expect("work dir");
    }
    let mut t = Command::new(env!("CARGO_BIN_EXE_tern"));
    t.arg("exec").args(extra);
    if !extra.is_empty() {
        t.env("TERN_JIT_HOT", "1");
    }
    t.arg(&bb).arg("sh").arg(&script).arg(&work_t);
    let mut q = Command::new(QEMU.0);
    q.arg(&bb).arg("sh").arg(&script).arg(&work_q);
    let to = run(t, Duration::from_secs(300));
    let qo = run(q, Duration::from_secs(300));
    assert_eq!(to.stdout, qo.stdout, "tern stderr: {}", to.stderr);
    assert_eq!(to.status, qo.status);
    assert_eq!(to.status, 3);
    assert!(
        to.stdout.contains("tar round trip identical"),
        "{}",
        to.stdout
    );
    assert!(to.stdout.ends_with("done\n"), "{}", to.stdout);
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn busybox_applets_under_root() {
    // busybox as the only program in a root directory: the shell, its applets and
    // the files it makes all live inside the root.
    let bb = busybox();
    let root = out_dir().join("busybox-root");
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(root.join("bin")).expect("root");
    std::fs::create_dir_all(root.join("tmp")).expect("root");
    std::fs::copy(&bb, root.join("bin/busybox")).expect("copy busybox");
    for applet in ["sh", "ls", "sort", "tr", "cat", "find", "readlink"] {
        std::os::unix::fs::symlink("busybox", root.join("bin").join(applet)).expect("link");
    }
    let mut t = Command::new(env!("CARGO_BIN_EXE_tern"));
    t.env("PATH", "/bin");
    t.arg("exec").arg("--root").arg(&root).args([
        "/bin/sh",
        "-c",
        "cd /tmp && echo hi > a && ls / | sort | tr '\\n' ' ' && cat a && \
         /bin/busybox find / -name a && readlink /bin/sh",
    ]);
    let o = run(t, Duration::from_secs(120));
    assert_eq!(
        o.stdout, "bin tmp hi\n/tmp/a\nbusybox\n",
        "stderr: {}",
        o.stderr
    );
    assert_eq!(o.status, 0);
    assert_eq!(
        std::fs::read_to_string(root.join("tmp/a")).expect("a"),
        "hi\n"
    );
}
