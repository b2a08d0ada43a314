//! Threads and processes: `clone` of a thread, robust lists, `wait4`, `execve`
//! (`syscalls/thread.rs`, `syscalls/proc.rs`): what can be decided without starting
//! a host thread or process.

use tern_hart::HartState;

use super::{Guest, UNMAPPED};
use crate::errno::Errno;
use crate::syscalls::thread::flags::{CLONE_SETTLS, CLONE_SIGHAND, CLONE_THREAD, CLONE_VM};
use crate::syscalls::{proc, thread, Flow};

const THREAD: u64 = CLONE_VM | CLONE_SIGHAND | CLONE_THREAD;

#[test]
fn clone_of_a_thread_describes_the_new_thread_without_starting_it() {
    let mut g = Guest::new();
    let mut regs = HartState::new(0, 0x1_0000);
    regs.x[10] = 77;
    regs.x[2] = 0x7fff_0000;
    let no_sighand = CLONE_VM | CLONE_THREAD;
    assert!(matches!(
        thread::clone_thread(&mut g.t, &regs, [no_sighand, 0, 0, 0, 0, 0]),
        Flow::Ret(Err(Errno::EINVAL))
    ));
    let a = [THREAD | CLONE_SETTLS, 0x5000_0000, 0, 0x6000_0000, 0, 0];
    let Flow::Spawn(new) = thread::clone_thread(&mut g.t, &regs, a) else {
        panic!("clone of a thread asks the run loop to start it");
    };
    assert_eq!(new.regs.x[10], 0, "the child's clone returns 0");
    assert_eq!(new.regs.x[2], 0x5000_0000, "its stack");
    assert_eq!(new.regs.x[4], 0x6000_0000, "its TLS");
    assert_eq!(new.regs.pc, 0x1_0004, "after the ecall");
    assert_eq!(new.sigmask, g.t.sigmask);
}

#[test]
fn clone_of_a_thread_counts_against_the_thread_limit_until_started() {
    let mut g = Guest::new();
    let regs = HartState::new(0, 0x1_0000);
    // 16 MiB of memory: the smallest limit.
    let limit = crate::process::thread_limit(16 << 20);
    let mut held = Vec::new();
    for _ in 0..limit {
        match thread::clone_thread(&mut g.t, &regs, [THREAD, 0, 0, 0, 0, 0]) {
            Flow::Spawn(n) => held.push(n),
            other => panic!("below the limit: {other:?}"),
        }
    }
    assert!(matches!(
        thread::clone_thread(&mut g.t, &regs, [THREAD, 0, 0, 0, 0, 0]),
        Flow::Ret(Err(Errno::EAGAIN))
    ));
    held.pop();
    assert!(matches!(
        thread::clone_thread(&mut g.t, &regs, [THREAD, 0, 0, 0, 0, 0]),
        Flow::Spawn(_)
    ));
}

#[test]
fn robust_lists_and_the_tid_address() {
    let mut g = Guest::new();
    assert_eq!(
        thread::set_robust_list(&mut g.t, [g.mem, 23, 0, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        thread::set_robust_list(&mut g.t, [g.mem, 24, 0, 0, 0, 0]),
        Ok(0)
    );
    let (head, len) = (g.mem + 64, g.mem + 72);
    assert_eq!(
        thread::get_robust_list(&mut g.t, [0, head, len, 0, 0, 0]),
        Ok(0)
    );
    assert_eq!((g.u64_at(head), g.u64_at(len)), (g.mem, 24));
    assert_eq!(
        thread::get_robust_list(&mut g.t, [0, UNMAPPED, len, 0, 0, 0]),
        Err(Errno::EFAULT)
    );
    let tid = g.t.tid as u64;
    assert_eq!(
        thread::set_tid_address(&mut g.t, [g.mem, 0, 0, 0, 0, 0]),
        Ok(tid)
    );
    assert_eq!(g.t.clear_child_tid, g.mem);
}

#[test]
fn wait4_for_a_process_that_is_not_a_child_is_echild() {
    let mut g = Guest::new();
    // pid 1 is never this process's child (waiting for any child could reap
    // another test's).
    assert_eq!(
        crate::syscalls::wait::wait4(&mut g.t, [1, g.mem, 0, 0, 0, 0]),
        Err(Errno::ECHILD)
    );
    assert_eq!(
        crate::syscalls::wait::wait4(&mut g.t, [1, g.mem, 0x100, 0, 0, 0]),
        Err(Errno::EINVAL),
        "unknown options"
    );
}

#[test]
fn execve_errors_leave_the_process_as_it_was() {
    let mut g = Guest::new();
    assert_eq!(
        proc::execve(&mut g.t, [UNMAPPED, 0, 0, 0, 0, 0]),
        Err(Errno::EFAULT)
    );
    let missing = g.cstr(0, "/nonexistent-tern-unit");
    assert_eq!(
        proc::execve(&mut g.t, [missing, 0, 0, 0, 0, 0]),
        Err(Errno::ENOENT)
    );
    let dir = g.cstr(64, "/");
    assert_eq!(
        proc::execve(&mut g.t, [dir, 0, 0, 0, 0, 0]),
        Err(Errno::EACCES)
    );
    let cwd = libc::AT_FDCWD as u64;
    assert_eq!(
        proc::execveat(&mut g.t, [cwd, dir, 0, 0, 0x1, 0]),
        Err(Errno::EINVAL),
        "unknown flags"
    );
}
