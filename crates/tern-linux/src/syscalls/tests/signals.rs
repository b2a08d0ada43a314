//! Signal actions, masks, the alternate stack, sending and waiting
//! (`syscalls/signal.rs`).

use super::{Guest, UNMAPPED};
use crate::errno::Errno;
use crate::signal::{bit, sig};
use crate::syscalls::signal as s;

/// `struct sigaction` of riscv64: handler, flags, mask.
fn action(handler: u64, flags: u64, mask: u64) -> Vec<u8> {
    [handler, flags, mask]
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .collect()
}

#[test]
fn rt_sigaction_reads_the_action_before_it_checks_the_signal() {
    let mut g = Guest::new();
    let usr2 = sig::SIGUSR2 as u64;
    // kernel/signal.c: sigsetsize, then copy_from_user(act), then do_sigaction.
    assert_eq!(
        s::rt_sigaction(&mut g.t, [usr2, UNMAPPED, 0, 4, 0, 0]),
        Err(Errno::EINVAL),
        "sigsetsize first"
    );
    assert_eq!(
        s::rt_sigaction(&mut g.t, [0, UNMAPPED, 0, 8, 0, 0]),
        Err(Errno::EFAULT),
        "a bad action wins over signal 0"
    );
    let kill = sig::SIGKILL as u64;
    assert_eq!(
        s::rt_sigaction(&mut g.t, [kill, UNMAPPED, 0, 8, 0, 0]),
        Err(Errno::EFAULT),
        "and over SIGKILL"
    );
    let ign = g.put(0, &action(1, 0, 0));
    assert_eq!(
        s::rt_sigaction(&mut g.t, [kill, ign, 0, 8, 0, 0]),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        s::rt_sigaction(&mut g.t, [65, 0, 0, 8, 0, 0]),
        Err(Errno::EINVAL)
    );
    // SIGKILL's action may be read.
    assert_eq!(
        s::rt_sigaction(&mut g.t, [kill, 0, g.mem + 64, 8, 0, 0]),
        Ok(0)
    );
}

#[test]
fn rt_sigaction_sets_even_when_the_old_action_cannot_be_written() {
    let mut g = Guest::new();
    let usr2 = sig::SIGUSR2 as u64;
    let ign = g.put(0, &action(1, 0, bit(sig::SIGKILL) | bit(3)));
    assert_eq!(
        s::rt_sigaction(&mut g.t, [usr2, ign, UNMAPPED, 8, 0, 0]),
        Err(Errno::EFAULT)
    );
    let old = g.mem + 64;
    let dfl = g.put(32, &action(0, 0, 0));
    assert_eq!(s::rt_sigaction(&mut g.t, [usr2, dfl, old, 8, 0, 0]), Ok(0));
    assert_eq!(
        g.get(old, 24),
        action(1, 0, bit(3)),
        "SIG_IGN was set, its mask without SIGKILL"
    );
}

#[test]
fn rt_sigprocmask_checks_how_only_with_a_set_and_never_blocks_sigkill() {
    let mut g = Guest::new();
    assert_eq!(
        s::rt_sigprocmask(&mut g.t, [0, 0, 0, 16, 0, 0]),
        Err(Errno::EINVAL),
        "sigsetsize"
    );
    assert_eq!(
        s::rt_sigprocmask(&mut g.t, [7, 0, g.mem, 8, 0, 0]),
        Ok(0),
        "how is not looked at without a set"
    );
    let all = g.put(0, &u64::MAX.to_le_bytes());
    assert_eq!(
        s::rt_sigprocmask(&mut g.t, [7, all, 0, 8, 0, 0]),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        s::rt_sigprocmask(&mut g.t, [2, UNMAPPED, 0, 8, 0, 0]),
        Err(Errno::EFAULT)
    );
    assert_eq!(s::rt_sigprocmask(&mut g.t, [2, all, 0, 8, 0, 0]), Ok(0));
    let old = g.mem + 64;
    let none = g.put(8, &0u64.to_le_bytes());
    assert_eq!(s::rt_sigprocmask(&mut g.t, [2, none, old, 8, 0, 0]), Ok(0));
    assert_eq!(g.u64_at(old), !(bit(sig::SIGKILL) | bit(sig::SIGSTOP)));
}

/// `stack_t`: sp, flags, size.
fn stack(sp: u64, flags: i32, size: u64) -> Vec<u8> {
    let mut b = sp.to_le_bytes().to_vec();
    b.extend_from_slice(&flags.to_le_bytes());
    b.extend_from_slice(&[0; 4]);
    b.extend_from_slice(&size.to_le_bytes());
    b
}

#[test]
fn sigaltstack_writes_the_old_stack_only_when_the_call_succeeds() {
    let mut g = Guest::new();
    let sp = 0x7000_0000;
    let old = g.mem + 256;
    let marker = vec![0xee; 24];
    g.put(256, &marker);
    let bad_flags = g.put(0, &stack(g.mem, 0x10, 8192));
    assert_eq!(
        s::sigaltstack(&mut g.t, sp, [bad_flags, old, 0, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
    assert_eq!(g.get(old, 24), marker, "oss untouched after EINVAL");
    let small = g.put(32, &stack(g.mem, 0, 1024));
    assert_eq!(
        s::sigaltstack(&mut g.t, sp, [small, 0, 0, 0, 0, 0]),
        Err(Errno::ENOMEM)
    );
    assert_eq!(
        s::sigaltstack(&mut g.t, sp, [UNMAPPED, 0, 0, 0, 0, 0]),
        Err(Errno::EFAULT)
    );
    // A good stack with a bad oss: set, then EFAULT (kernel/signal.c).
    let good = g.put(64, &stack(0x1000_0000, 0, 16384));
    assert_eq!(
        s::sigaltstack(&mut g.t, sp, [good, UNMAPPED, 0, 0, 0, 0]),
        Err(Errno::EFAULT)
    );
    assert_eq!(s::sigaltstack(&mut g.t, sp, [0, old, 0, 0, 0, 0]), Ok(0));
    assert_eq!(g.get(old, 24), stack(0x1000_0000, 0, 16384));
    // Running on it: reported, and it cannot be changed.
    let on = 0x1000_0000 + 100;
    assert_eq!(s::sigaltstack(&mut g.t, on, [0, old, 0, 0, 0, 0]), Ok(0));
    assert_eq!(g.i32_at(old + 8), crate::signal::SS_ONSTACK);
    assert_eq!(
        s::sigaltstack(&mut g.t, on, [good, 0, 0, 0, 0, 0]),
        Err(Errno::EPERM)
    );
}

#[test]
fn a_signal_sent_to_the_process_is_pending_while_blocked_and_taken_by_sigtimedwait() {
    let mut g = Guest::new();
    let usr1 = sig::SIGUSR1;
    let set = g.put(0, &bit(usr1).to_le_bytes());
    assert_eq!(s::rt_sigprocmask(&mut g.t, [0, set, 0, 8, 0, 0]), Ok(0));
    let pid = g.t.proc_pid() as u64;
    assert_eq!(s::kill(&mut g.t, [pid, 65, 0, 0, 0, 0]), Err(Errno::EINVAL));
    assert_eq!(s::kill(&mut g.t, [pid, 0, 0, 0, 0, 0]), Ok(0), "a probe");
    assert_eq!(s::kill(&mut g.t, [pid, usr1 as u64, 0, 0, 0, 0]), Ok(0));
    let pending = g.mem + 64;
    assert_eq!(
        s::rt_sigpending(&mut g.t, [pending, 16, 0, 0, 0, 0]),
        Err(Errno::EINVAL),
        "sigsetsize larger than the kernel's"
    );
    assert_eq!(s::rt_sigpending(&mut g.t, [pending, 8, 0, 0, 0, 0]), Ok(0));
    assert_eq!(g.u64_at(pending) & bit(usr1), bit(usr1));
    // An invalid timeout is EINVAL before anything is taken.
    let bad_ts = g.put(
        128,
        &[0u64.to_le_bytes(), 2_000_000_000u64.to_le_bytes()].concat(),
    );
    assert_eq!(
        s::rt_sigtimedwait(&mut g.t, [set, 0, bad_ts, 8, 0, 0]),
        Err(Errno::EINVAL)
    );
    let zero = g.put(160, &[0u8; 16]);
    let info = g.mem + 512;
    assert_eq!(
        s::rt_sigtimedwait(&mut g.t, [set, info, zero, 8, 0, 0]),
        Ok(usr1 as u64)
    );
    assert_eq!(g.i32_at(info), usr1, "si_signo");
    assert_eq!(g.i32_at(info + 8), 0, "si_code SI_USER");
    assert_eq!(
        s::rt_sigtimedwait(&mut g.t, [set, info, zero, 8, 0, 0]),
        Err(Errno::EAGAIN),
        "taken once"
    );
    let none = g.put(8, &0u64.to_le_bytes());
    assert_eq!(s::rt_sigprocmask(&mut g.t, [2, none, 0, 8, 0, 0]), Ok(0));
}

#[test]
fn tgkill_checks_its_ids_and_the_signal() {
    let mut g = Guest::new();
    let pid = g.t.proc_pid() as u64;
    assert_eq!(s::tgkill(&mut g.t, [0, 1, 0, 0, 0, 0]), Err(Errno::EINVAL));
    assert_eq!(
        s::tgkill(&mut g.t, [pid, 0, 0, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        s::tgkill(&mut g.t, [pid, 1, 65, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
    // A thread the process does not have.
    assert_eq!(
        s::tgkill(&mut g.t, [pid, i32::MAX as u64, 0, 0, 0, 0]),
        Err(Errno::ESRCH)
    );
}

#[test]
fn rt_sigpending_writes_only_the_size_asked_for() {
    let mut g = Guest::new();
    let set = g.put(0, &[0xaa; 16]);
    assert_eq!(s::rt_sigpending(&mut g.t, [set, 4, 0, 0, 0, 0]), Ok(0));
    assert_eq!(g.get(set + 4, 12), vec![0xaa; 12], "nothing past 4 bytes");
    assert_eq!(
        s::rt_sigpending(&mut g.t, [UNMAPPED, 0, 0, 0, 0, 0]),
        Ok(0),
        "no bytes, no fault"
    );
    assert_eq!(
        s::rt_sigpending(&mut g.t, [UNMAPPED, 8, 0, 0, 0, 0]),
        Err(Errno::EFAULT)
    );
}

#[test]
fn core_default_signals_are_linuxs() {
    use crate::signal::dumps_core;
    for n in [3, 4, 5, 6, 7, 8, 11, 24, 25, 31] {
        assert!(dumps_core(n), "{n} dumps core");
    }
    for n in [1, 2, 9, 10, 12, 13, 14, 15, 17, 19, 23, 28] {
        assert!(!dumps_core(n), "{n} does not");
    }
}

#[test]
fn a_dying_child_marks_a_core_dump_for_its_parent() {
    // The child of a fork in a threaded test process does only system calls.
    for mark in [true, false] {
        // SAFETY: the child makes two system calls and _exits.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork");
        if pid == 0 {
            if mark {
                crate::signal::mark_core_dumped();
            }
            // SAFETY: ends the child without running anything of the parent's.
            unsafe { libc::_exit(0) };
        }
        // SAFETY: a local siginfo; the child is looked at, not reaped.
        unsafe {
            let mut si: libc::siginfo_t = std::mem::zeroed();
            libc::waitid(
                libc::P_PID,
                pid as u32,
                &mut si,
                libc::WEXITED | libc::WNOWAIT,
            );
        }
        assert_eq!(crate::signal::core_marked(pid), mark, "marked {mark}");
        // SAFETY: reaps our own child.
        unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };
    }
}
