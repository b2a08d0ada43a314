//! SysV IPC in the process VM: semaphores, message queues and shared memory shared by the VM's
//! processes across `fork` and `execve` with the same output as `qemu-riscv64`
//! (which passes the calls to the host kernel), and keys that one VM never sees
//! of another.

#[path = "common/linux_user.rs"]
mod linux_user;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use linux_user::{build, compare, run, tern, Link};

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn semaphores_across_fork_like_qemu() {
    let o = compare("sysv_sem", Link::Static, &[]);
    assert!(o.stdout.contains("mutex 1 counter 800"), "{}", o.stdout);
    assert!(o.stdout.contains("take after the kill: ok"), "{}", o.stdout);
    compare("sysv_sem", Link::Dynamic, &[]);
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn message_queues_across_fork_like_qemu() {
    let o = compare("sysv_msg", Link::Static, &[]);
    assert!(
        o.stdout
            .contains("producer 0; type 2: 100 messages sum 14950; others: 200 sum 29900"),
        "{}",
        o.stdout
    );
    compare("sysv_msg", Link::Dynamic, &[]);
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn shared_memory_across_fork_like_qemu() {
    let o = compare("sysv_shm", Link::Static, &[]);
    assert!(
        o.stdout.contains("children's writes seen: 1"),
        "{}",
        o.stdout
    );
    assert!(o.stdout.contains("nattch with a child: 2"), "{}", o.stdout);
    compare("sysv_shm", Link::Dynamic, &[]);
}

/// The program a guest starts with `execve` (a new tern process) is in the same
/// IPC namespace (qemu-riscv64 cannot run it without binfmt_misc: expected text).
#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn a_program_started_by_execve_finds_the_vms_keys() {
    for link in [Link::Static, Link::Dynamic] {
        let prog = build("sysv_msg", link);
        let mut c = tern(&prog, link);
        c.arg("withexec");
        let o = run(c, Duration::from_secs(120));
        assert_eq!(o.status, 0, "{}", o.stderr);
        assert!(
            o.stdout
                .contains("exec'd program: 0\nits message: type 9 \"from the exec'd program\"\n"),
            "{link:?}: {}",
            o.stdout
        );
    }
}

/// Two VMs running at the same time with the same key: the second finds nothing
/// of the first, while a process of the first does.
#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn two_vms_do_not_share_keys() {
    let prog = build("sysv_key", Link::Static);
    let key = format!("{:#x}", 0x5300_0000 | (std::process::id() & 0xff_ffff));
    let mut holder = tern(&prog, Link::Static)
        .args(["hold", &key])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .stdin(Stdio::null())
        .spawn()
        .expect("start the first VM");
    let mut lines = BufReader::new(holder.stdout.take().expect("stdout")).lines();
    let mut seen = Vec::new();
    for l in lines.by_ref() {
        let l = l.expect("a line");
        let done = l == "holding";
        seen.push(l);
        if done {
            break;
        }
    }
    let mut c = tern(&prog, Link::Static);
    c.args(["probe", &key]);
    let probe = run(c, Duration::from_secs(60));
    let _ = holder.kill();
    let _ = holder.wait();
    assert_eq!(
        seen,
        ["same VM: sem found, msg found", "holding"],
        "the first VM holds the key"
    );
    assert_eq!(probe.status, 0, "{}", probe.stderr);
    assert_eq!(probe.stdout, "probe: sem ENOENT, msg ENOENT\n");
}

/// `--strace` shows the SysV calls decoded.
#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn strace_decodes_sysv_calls() {
    let prog = build("sysv_shm", Link::Static);
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_tern"));
    c.args(["exec", "--strace"]).arg(&prog);
    let o = run(c, Duration::from_secs(60));
    assert_eq!(o.status, 0, "{}", o.stderr);
    for want in [
        "shmget(0x0, 65536, IPC_CREAT|0o600) = ",
        ", 0x0, 0) = 0x",
        ", IPC_STAT, ",
        ", IPC_RMID, 0x0) = 0",
    ] {
        assert!(o.stderr.contains(want), "{want} in:\n{}", o.stderr);
    }
    assert!(
        !o.stderr.contains("unimplemented"),
        "no SysV call is unknown:\n{}",
        o.stderr
    );
}

/// A guest that makes ever more semaphore sets, queues, messages and segments is
/// refused at the arena's fixed limits (tern only: the host kernel's limits are
/// others): the arena never grows, so host memory stays bounded (shared memory by
/// `--memory`).
#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn the_ipc_namespace_stops_at_the_arenas_limits() {
    let prog = build("sysv_limits", Link::Static);
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_tern"));
    c.args(["exec", "--memory", "64M"]).arg(&prog);
    let o = run(c, Duration::from_secs(120));
    assert_eq!(o.status, 0, "{}", o.stderr);
    assert_eq!(
        o.stdout,
        "semaphore sets: 128, then ENOSPC\n\
         queues: 64, then ENOSPC\n\
         empty messages queued: 65536, then EAGAIN\n\
         shared memory: 64 MiB, then ENOSPC\n"
    );
}
