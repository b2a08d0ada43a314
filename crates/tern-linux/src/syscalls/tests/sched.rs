//! Scheduling (`syscalls/sched.rs`): Linux's priority ranges and the order of its
//! checks (kernel/sched/syscalls.c).

use super::{Guest, UNMAPPED};
use crate::errno::Errno;
use crate::syscalls::sched;

/// A pid no process has (above the largest `pid_max`).
const NOBODY: u64 = 0x3fff_fff0;

#[test]
fn priority_ranges_are_linuxs() {
    for (policy, lo, hi) in [
        (0, 0, 0),
        (1, 1, 99),
        (2, 1, 99),
        (3, 0, 0),
        (5, 0, 0),
        (6, 0, 0),
    ] {
        let a = [policy, 0, 0, 0, 0, 0];
        assert_eq!(sched::priority_limit(a, true), Ok(hi), "max of {policy}");
        assert_eq!(sched::priority_limit(a, false), Ok(lo), "min of {policy}");
    }
    for policy in [4, 7, 42, u32::MAX as u64, u64::MAX] {
        let a = [policy, 0, 0, 0, 0, 0];
        assert_eq!(sched::priority_limit(a, true), Err(Errno::EINVAL));
        assert_eq!(sched::priority_limit(a, false), Err(Errno::EINVAL));
    }
}

#[test]
fn getters_check_the_pid_and_the_parameter_block() {
    let mut g = Guest::new();
    let minus1 = u32::MAX as u64;
    assert_eq!(sched::getscheduler(&mut g.t, [0; 6]), Ok(0));
    assert_eq!(
        sched::getscheduler(&mut g.t, [minus1, 0, 0, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        sched::getscheduler(&mut g.t, [NOBODY, 0, 0, 0, 0, 0]),
        Err(Errno::ESRCH)
    );
    let p = g.put(0, &[0x77; 4]);
    assert_eq!(sched::getparam(&mut g.t, [0, p, 0, 0, 0, 0]), Ok(0));
    assert_eq!(g.i32_at(p), 0, "SCHED_OTHER's priority");
    assert_eq!(
        sched::getparam(&mut g.t, [0, 0, 0, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        sched::getparam(&mut g.t, [0, UNMAPPED, 0, 0, 0, 0]),
        Err(Errno::EFAULT)
    );
    assert_eq!(
        sched::getparam(&mut g.t, [NOBODY, p, 0, 0, 0, 0]),
        Err(Errno::ESRCH)
    );
}

#[test]
fn setscheduler_checks_in_linuxs_order_and_refuses_realtime() {
    let mut g = Guest::new();
    let prio = |g: &Guest, v: i32| g.put(16 * (v as u64 + 1), &v.to_le_bytes());
    let p0 = prio(&g, 0);
    assert_eq!(sched::setscheduler(&mut g.t, 0, Some(0), p0), Ok(0));
    assert_eq!(
        sched::setscheduler(&mut g.t, 0, Some(0), 0),
        Err(Errno::EINVAL),
        "no parameter block"
    );
    assert_eq!(
        sched::setscheduler(&mut g.t, 0, Some(42), UNMAPPED),
        Err(Errno::EFAULT),
        "the block is read before the policy is checked"
    );
    assert_eq!(
        sched::setscheduler(&mut g.t, NOBODY, Some(42), p0),
        Err(Errno::ESRCH),
        "the pid before the policy"
    );
    assert_eq!(
        sched::setscheduler(&mut g.t, 0, Some(42), p0),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        sched::setscheduler(&mut g.t, 0, Some(6), p0),
        Err(Errno::EINVAL),
        "SCHED_DEADLINE only through sched_setattr"
    );
    let p5 = prio(&g, 5);
    assert_eq!(
        sched::setscheduler(&mut g.t, 0, Some(0), p5),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        sched::setscheduler(&mut g.t, 0, None, p5),
        Err(Errno::EINVAL)
    );
    let p100 = prio(&g, 100);
    assert_eq!(
        sched::setscheduler(&mut g.t, 0, Some(1), p100),
        Err(Errno::EINVAL)
    );
    let p50 = prio(&g, 50);
    assert_eq!(
        sched::setscheduler(&mut g.t, 0, Some(1), p50),
        Err(Errno::EPERM),
        "never a realtime host thread"
    );
    assert_eq!(
        sched::setscheduler(&mut g.t, u32::MAX as u64, Some(0), p0),
        Err(Errno::EINVAL)
    );
    assert_eq!(sched::setscheduler(&mut g.t, 0, None, p0), Ok(0));
}
