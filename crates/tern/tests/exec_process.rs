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
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
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
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
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

/// Starts `waitsig MODE` under tern, waits for "ready", sends `sig` from the host,
/// and returns (stdout, status as a shell shows it).
fn signal_from_outside(mode: &str, sig: i32) -> (String, i32) {
    use std::io::{BufRead, BufReader, Read};
    use std::os::unix::process::CommandExt;
    use std::os::unix::process::ExitStatusExt;
    let prog = build("waitsig", Link::Static);
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_tern"));
    cmd.arg("exec")
        .arg(&prog)
        .arg(mode)
        .stdout(std::process::Stdio::piped());
    // A job started in the background by a non-interactive shell inherits SIGINT
    // ignored, and tern (like Linux across exec) keeps ignored signals ignored:
    // the test wants the default action whatever started it.
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            libc_signal(sig, SIG_DFL);
            Ok(())
        });
    }
    let mut child = cmd.spawn().expect("start tern");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    out.read_line(&mut line).expect("read ready");
    assert_eq!(line, "ready\n");
    // SAFETY: sending a signal to our own child.
    unsafe { libc_kill(child.id() as i32, sig) };
    let mut rest = String::new();
    out.read_to_string(&mut rest).expect("read rest");
    let st = child.wait().expect("wait");
    let status = st.code().unwrap_or_else(|| 128 + st.signal().unwrap_or(0));
    (rest, status)
}

/// `SIG_DFL` for `signal(2)`.
const SIG_DFL: usize = 0;

extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
    #[link_name = "signal"]
    fn libc_signal(sig: i32, handler: usize) -> usize;
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn host_signals_reach_guest_handlers_and_default_actions() {
    let (out, status) = signal_from_outside("handle", 15);
    assert_eq!((out.as_str(), status), ("got SIGTERM\n", 7));
    let (out, status) = signal_from_outside("default", 15);
    assert_eq!((out.as_str(), status), ("", 128 + 15));
    let (out, status) = signal_from_outside("default", 2);
    assert_eq!((out.as_str(), status), ("", 128 + 2));
}
