//! Clocks, sleeps and interval timers (`syscalls/time.rs`).

use super::{Guest, UNMAPPED};
use crate::errno::Errno;
use crate::syscalls::time;

const MONOTONIC: u64 = libc::CLOCK_MONOTONIC as u64;

/// A `struct timespec`.
fn timespec(sec: i64, nsec: i64) -> Vec<u8> {
    [sec.to_le_bytes(), nsec.to_le_bytes()].concat()
}

#[test]
fn clock_gettime_checks_the_clock_before_the_pointer() {
    let mut g = Guest::new();
    assert_eq!(
        time::clock_gettime(&mut g.t, [99, UNMAPPED, 0, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        time::clock_gettime(&mut g.t, [MONOTONIC, UNMAPPED, 0, 0, 0, 0]),
        Err(Errno::EFAULT)
    );
    let ro = g.read_only_page();
    assert_eq!(
        time::clock_gettime(&mut g.t, [MONOTONIC, ro, 0, 0, 0, 0]),
        Err(Errno::EFAULT)
    );
    let at = g.mem;
    assert_eq!(
        time::clock_gettime(&mut g.t, [MONOTONIC, at, 0, 0, 0, 0]),
        Ok(0)
    );
    let nsec = g.u64_at(at + 8);
    assert!(g.u64_at(at) > 0 || nsec > 0, "a time was written");
    assert!(nsec < 1_000_000_000);
    // clock_getres takes a null pointer.
    assert_eq!(
        time::clock_getres(&mut g.t, [MONOTONIC, 0, 0, 0, 0, 0]),
        Ok(0)
    );
    assert_eq!(
        time::clock_getres(&mut g.t, [99, 0, 0, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
}

#[test]
fn clock_nanosleep_checks_the_clock_then_the_time() {
    let mut g = Guest::new();
    // kernel/time/posix-timers.c: the clock, then copying the time, then its range.
    assert_eq!(
        time::clock_nanosleep(&mut g.t, [99, 0, UNMAPPED, 0, 0, 0]),
        Err(Errno::EINVAL),
        "a bad clock wins over a bad pointer"
    );
    assert_eq!(
        time::clock_nanosleep(&mut g.t, [MONOTONIC, 0, UNMAPPED, 0, 0, 0]),
        Err(Errno::EFAULT)
    );
    let bad = g.put(0, &timespec(0, 1_000_000_000));
    assert_eq!(
        time::clock_nanosleep(&mut g.t, [MONOTONIC, 0, bad, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
    let neg = g.put(16, &timespec(-1, 0));
    assert_eq!(
        time::nanosleep(&mut g.t, [neg, 0, 0, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
    let short = g.put(32, &timespec(0, 1000));
    assert_eq!(time::nanosleep(&mut g.t, [short, 0, 0, 0, 0, 0]), Ok(0));
    assert_eq!(
        time::nanosleep(&mut g.t, [UNMAPPED, 0, 0, 0, 0, 0]),
        Err(Errno::EFAULT)
    );
}

#[test]
fn gettimeofday_and_times_take_null_pointers() {
    let mut g = Guest::new();
    assert_eq!(time::gettimeofday(&mut g.t, [0, 0, 0, 0, 0, 0]), Ok(0));
    assert_eq!(
        time::gettimeofday(&mut g.t, [UNMAPPED, 0, 0, 0, 0, 0]),
        Err(Errno::EFAULT)
    );
    let tv = g.mem;
    assert_eq!(time::gettimeofday(&mut g.t, [tv, 0, 0, 0, 0, 0]), Ok(0));
    assert!(g.u64_at(tv) > 1_600_000_000, "seconds since the epoch");
    assert!(g.u64_at(tv + 8) < 1_000_000, "microseconds");
    assert!(time::times(&mut g.t, [0, 0, 0, 0, 0, 0]).is_ok());
    assert_eq!(
        time::times(&mut g.t, [UNMAPPED, 0, 0, 0, 0, 0]),
        Err(Errno::EFAULT)
    );
}

#[test]
fn setitimer_with_no_new_value_disarms_and_reports_the_old_one() {
    let mut g = Guest::new();
    // ITIMER_VIRTUAL: not armed by anything in the test process.
    let old = g.mem + 64;
    g.put(64, &[0xee; 32]);
    assert_eq!(time::setitimer(&mut g.t, [1, 0, old, 0, 0, 0]), Ok(0));
    assert_eq!(g.get(old, 32), vec![0; 32]);
    let zero = g.put(0, &[0; 32]);
    assert_eq!(
        time::setitimer(&mut g.t, [99, zero, 0, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        time::setitimer(&mut g.t, [1, UNMAPPED, 0, 0, 0, 0]),
        Err(Errno::EFAULT)
    );
    assert_eq!(
        time::getitimer(&mut g.t, [1, UNMAPPED, 0, 0, 0, 0]),
        Err(Errno::EFAULT)
    );
    assert_eq!(
        time::getitimer(&mut g.t, [99, old, 0, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
}
