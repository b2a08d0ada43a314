//! `fork`, `wait`, `execve` and `vfork` in `tern exec`.
//!
//! The fork and wait part is compared with `qemu-riscv64`; the `execve` part with
//! expected text, because qemu-riscv64 can run a riscv64 program that its guest
//! execs only through binfmt_misc, which test machines do not have set up.

#[path = "common/linux_user.rs"]
mod linux_user;

use std::time::Duration;

use linux_user::{build, compare, run, tern, Link};

#[test]
fn fork_and_wait_match_qemu() {
    compare("forkexec", Link::Static, &["noexec"]);
    compare("forkexec", Link::Dynamic, &["noexec"]);
}

const EXPECTED: &str = "\
child exit: 1 3
child killed: 1 sig=9
child segfault: 1 sig=11
copy-on-fork: child saw 2, parent sees 1
exec'd child: argv[2]=arg-two env TERN_TEST=yes usr1 blocked=1 usr2 ignored=1
exec'd child status: 7
exec'd child: argv[2]=via-vfork env TERN_TEST=(null) usr1 blocked=0 usr2 ignored=0
vfork child status: 7
exec missing: 42
20 children, status sum 190
";

#[test]
fn execve_runs_riscv64_programs() {
    for link in [Link::Static, Link::Dynamic] {
        let prog = build("forkexec", link);
        let mut cmd = tern(&prog, link);
        cmd.env_remove("TERN_TEST");
        let o = run(cmd, Duration::from_secs(120));
        assert_eq!(o.stdout, EXPECTED, "{link:?}: stderr {}", o.stderr);
        assert_eq!(o.status, 0);
    }
}
