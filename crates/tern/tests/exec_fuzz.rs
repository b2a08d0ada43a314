//! The guest cannot hurt the emulator (DESIGN.md invariant 3): thousands of random
//! system calls with hostile arguments (bad pointers, kernel addresses, huge sizes,
//! random flags and paths) end in error codes or in signals for the guest, never in
//! a panic of `tern exec` (which would show as exit status 101 and an "internal
//! error" message). Runs under `--root` in a scratch directory.

#[path = "common/linux_user.rs"]
mod linux_user;

use std::process::Command;
use std::time::Duration;

use linux_user::{build, out_dir, run, Link};

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn random_system_calls_never_crash_the_emulator() {
    let prog = build("syscall_fuzz", Link::Static);
    for seed in [1u32, 2, 3, 4] {
        let root = out_dir().join(format!("fuzz-root-{seed}"));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("x/y")).expect("root");
        std::os::unix::fs::symlink("x", root.join("l")).expect("link");
        std::fs::copy(&prog, root.join("fuzz")).expect("copy");
        let mut c = Command::new(env!("CARGO_BIN_EXE_tern"));
        c.arg("exec")
            .arg("--root")
            .arg(&root)
            .args(["/fuzz", &seed.to_string(), "16", "3000"]);
        let o = run(c, Duration::from_secs(600));
        assert!(
            !o.stderr.contains("internal error"),
            "seed {seed}: tern panicked: {}",
            o.stderr
        );
        assert_eq!(o.status, 0, "seed {seed}: {}\n{}", o.stdout, o.stderr);
        assert!(
            o.stdout.starts_with("rounds 16:"),
            "seed {seed}: {}",
            o.stdout
        );
        assert!(
            !o.stdout.contains("exit status 101"),
            "seed {seed}: a child tern panicked: {}",
            o.stdout
        );
        let _ = std::fs::remove_dir_all(&root);
    }
}
