//! Identity, limits and system information (`syscalls/misc.rs`).

use super::{Guest, UNMAPPED};
use crate::errno::Errno;
use crate::syscalls::misc;

const NOFILE: u64 = libc::RLIMIT_NOFILE as u64;

/// A `struct rlimit64`.
fn rlimit(cur: u64, max: u64) -> Vec<u8> {
    [cur.to_le_bytes(), max.to_le_bytes()].concat()
}

#[test]
fn uname_shows_a_riscv64_linux() {
    let mut g = Guest::new();
    assert_eq!(misc::uname(&mut g.t, [g.mem, 0, 0, 0, 0, 0]), Ok(0));
    let field = |i: u64| {
        let b = g.get(g.mem + 65 * i, 65);
        String::from_utf8(b.into_iter().take_while(|&c| c != 0).collect()).expect("utf-8")
    };
    assert_eq!(field(0), "Linux");
    assert_eq!(field(4), "riscv64");
    assert_eq!(
        misc::uname(&mut g.t, [UNMAPPED, 0, 0, 0, 0, 0]),
        Err(Errno::EFAULT)
    );
}

#[test]
fn getrandom_checks_flags_and_fills_the_buffer() {
    let mut g = Guest::new();
    assert_eq!(
        misc::getrandom(&mut g.t, [g.mem, 16, 0x100, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        misc::getrandom(&mut g.t, [UNMAPPED, 16, 0, 0, 0, 0]),
        Err(Errno::EFAULT)
    );
    assert_eq!(misc::getrandom(&mut g.t, [UNMAPPED, 0, 0, 0, 0, 0]), Ok(0));
    assert_eq!(misc::getrandom(&mut g.t, [g.mem, 64, 0, 0, 0, 0]), Ok(64));
    assert_ne!(
        g.get(g.mem, 64),
        vec![0; 64],
        "64 random bytes are not all zero"
    );
}

#[test]
fn prlimit64_reads_the_new_limit_first_and_writes_the_old_one_last() {
    let mut g = Guest::new();
    // kernel/sys.c: copy the new limit (EFAULT), then the resource and the values
    // (EINVAL), set it, and only then write the old one.
    assert_eq!(
        misc::prlimit64(&mut g.t, [0, 99, UNMAPPED, 0, 0, 0]),
        Err(Errno::EFAULT),
        "a bad new limit wins over a bad resource"
    );
    assert_eq!(
        misc::prlimit64(&mut g.t, [0, 99, 0, g.mem, 0, 0]),
        Err(Errno::EINVAL)
    );
    let old = g.mem + 64;
    g.put(64, &[0xee; 16]);
    let inverted = g.put(0, &rlimit(200, 100));
    assert_eq!(
        misc::prlimit64(&mut g.t, [0, NOFILE, inverted, old, 0, 0]),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        g.get(old, 16),
        vec![0xee; 16],
        "the old limit is not written on EINVAL"
    );
    // RLIMIT_NOFILE shows the guest's descriptor limit.
    let limit = g.bad_fd();
    assert_eq!(misc::prlimit64(&mut g.t, [0, NOFILE, 0, old, 0, 0]), Ok(0));
    assert_eq!(g.get(old, 16), rlimit(limit, limit));
    // Set with an old limit that cannot be written: set, then EFAULT.
    let new = g.put(32, &rlimit(100, 200));
    assert_eq!(
        misc::prlimit64(&mut g.t, [0, NOFILE, new, UNMAPPED, 0, 0]),
        Err(Errno::EFAULT)
    );
    let other = g.put(96, &rlimit(50, 60));
    assert_eq!(
        misc::prlimit64(&mut g.t, [0, NOFILE, other, old, 0, 0]),
        Ok(0)
    );
    assert_eq!(
        g.get(old, 16),
        rlimit(100, 200),
        "the value before this call"
    );
    // Another process's limits are not the guest's to see.
    assert_eq!(
        misc::prlimit64(&mut g.t, [1, NOFILE, 0, old, 0, 0]),
        Err(Errno::EPERM)
    );
}

#[test]
fn sched_getaffinity_needs_a_whole_number_of_longs() {
    let mut g = Guest::new();
    assert_eq!(
        misc::sched_getaffinity(&mut g.t, [0, 3, g.mem, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
    let n = misc::sched_getaffinity(&mut g.t, [0, 1024, g.mem, 0, 0, 0]).expect("affinity");
    assert!(n >= 8 && n.is_multiple_of(8), "{n}");
    assert_ne!(g.get(g.mem, n as usize), vec![0; n as usize], "some CPU");
    assert_eq!(
        misc::sched_getaffinity(&mut g.t, [0, 1024, UNMAPPED, 0, 0, 0]),
        Err(Errno::EFAULT)
    );
}
