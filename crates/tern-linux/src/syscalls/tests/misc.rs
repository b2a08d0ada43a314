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

#[test]
fn uname_reports_the_host_release() {
    let mut g = Guest::new();
    assert_eq!(misc::uname(&mut g.t, [g.mem, 0, 0, 0, 0, 0]), Ok(0));
    let b = g.get(g.mem + 65 * 2, 65);
    let release =
        String::from_utf8(b.into_iter().take_while(|&c| c != 0).collect()).expect("utf-8");
    let host = std::fs::read_to_string("/proc/sys/kernel/osrelease").expect("osrelease");
    assert_eq!(release, host.trim_end());
}

#[test]
fn set_ids_to_ones_own_ids_succeed() {
    use syscalls::riscv64::Sysno;
    // SAFETY: id getters cannot fail.
    let (u, gid) = unsafe { (u64::from(libc::getuid()), u64::from(libc::getgid())) };
    let keep = u32::MAX as u64;
    let a = |x: u64, y: u64, z: u64| [x, y, z, 0, 0, 0];
    assert_eq!(misc::set_ids(a(u, 0, 0), Sysno::setuid), Ok(0));
    assert_eq!(misc::set_ids(a(gid, 0, 0), Sysno::setgid), Ok(0));
    assert_eq!(misc::set_ids(a(u, keep, 0), Sysno::setreuid), Ok(0));
    assert_eq!(misc::set_ids(a(keep, gid, 0), Sysno::setregid), Ok(0));
    assert_eq!(misc::set_ids(a(u, u, u), Sysno::setresuid), Ok(0));
    assert_eq!(misc::set_ids(a(keep, keep, keep), Sysno::setresgid), Ok(0));
    assert_eq!(
        misc::set_ids(a(keep, 0, 0), Sysno::setuid),
        Err(Errno::EINVAL),
        "setuid(-1)"
    );
    assert_eq!(
        misc::set_ids(a(0, 0, 0), Sysno::setgroups),
        Err(Errno::EPERM)
    );
    assert_eq!(misc::set_ids(a(u, 0, 0), Sysno::setfsuid), Ok(u));
    assert_eq!(
        misc::set_ids(a(keep, 0, 0), Sysno::setfsuid),
        Ok(u),
        "setfsuid(-1) asks"
    );
    assert_eq!(misc::set_ids(a(gid, 0, 0), Sysno::setfsgid), Ok(gid));
}

#[test]
fn prctl_keeps_the_parent_death_signal_and_the_timer_slack() {
    let mut g = Guest::new();
    let p = g.put(0, &[0xff; 4]);
    assert_eq!(misc::prctl(&mut g.t, [1, 10, 0, 0, 0, 0]), Ok(0));
    assert_eq!(misc::prctl(&mut g.t, [2, p, 0, 0, 0, 0]), Ok(0));
    assert_eq!(g.i32_at(p), 10);
    assert_eq!(
        misc::prctl(&mut g.t, [2, UNMAPPED, 0, 0, 0, 0]),
        Err(Errno::EFAULT)
    );
    assert_eq!(
        misc::prctl(&mut g.t, [1, 99, 0, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
    assert_eq!(misc::prctl(&mut g.t, [1, 0, 0, 0, 0, 0]), Ok(0));
    // The timer slack is the calling thread's (this test's host thread).
    assert_eq!(misc::prctl(&mut g.t, [29, 123_000, 0, 0, 0, 0]), Ok(0));
    assert_eq!(misc::prctl(&mut g.t, [30, 0, 0, 0, 0, 0]), Ok(123_000));
    assert_eq!(misc::prctl(&mut g.t, [29, 0, 0, 0, 0, 0]), Ok(0));
}

#[test]
fn capget_checks_the_header_the_version_and_the_pid() {
    let mut g = Guest::new();
    let v3: u32 = 0x2008_0522;
    let hdr = |g: &Guest, version: u32, pid: i32| {
        g.put(0, &[version.to_le_bytes(), pid.to_le_bytes()].concat())
    };
    let data = g.mem + 64;
    assert_eq!(
        misc::capget(&mut g.t, [UNMAPPED, data, 0, 0, 0, 0]),
        Err(Errno::EFAULT)
    );
    let h = hdr(&g, 0x1234, 0);
    assert_eq!(
        misc::capget(&mut g.t, [h, data, 0, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
    assert_eq!(g.i32_at(h) as u32, v3, "the preferred version written back");
    let h = hdr(&g, 0x1234, 0);
    assert_eq!(
        misc::capget(&mut g.t, [h, 0, 0, 0, 0, 0]),
        Ok(0),
        "a probe without data"
    );
    let h = hdr(&g, v3, -5);
    assert_eq!(
        misc::capget(&mut g.t, [h, data, 0, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
    let h = hdr(&g, v3, 0x3fff_fff0);
    assert_eq!(
        misc::capget(&mut g.t, [h, data, 0, 0, 0, 0]),
        Err(Errno::ESRCH)
    );
    let h = hdr(&g, v3, 0);
    assert_eq!(
        misc::capget(&mut g.t, [h, UNMAPPED, 0, 0, 0, 0]),
        Err(Errno::EFAULT)
    );
    g.put(64, &[0xff; 24]);
    assert_eq!(misc::capget(&mut g.t, [h, data, 0, 0, 0, 0]), Ok(0));
    assert_eq!(g.get(data, 24), vec![0; 24], "no capabilities");
}

#[test]
fn sched_getaffinity_checks_the_pid_and_the_mask_pointer() {
    let mut g = Guest::new();
    assert_eq!(
        misc::sched_getaffinity(&mut g.t, [0x3fff_fff0, 128, g.mem, 0, 0, 0]),
        Err(Errno::ESRCH)
    );
    assert_eq!(
        misc::sched_getaffinity(&mut g.t, [u32::MAX as u64, 128, g.mem, 0, 0, 0]),
        Err(Errno::ESRCH)
    );
    assert_eq!(
        misc::sched_getaffinity(&mut g.t, [0, 128, 0, 0, 0, 0]),
        Err(Errno::EFAULT)
    );
}

#[test]
fn rlimit_core_is_kept_for_the_guest() {
    let mut g = Guest::new();
    const CORE: u64 = libc::RLIMIT_CORE as u64;
    let old = g.mem + 256;
    assert_eq!(misc::prlimit64(&mut g.t, [0, CORE, 0, old, 0, 0]), Ok(0));
    assert_eq!(g.get(old, 16), rlimit(0, u64::MAX), "the default");
    let new = g.put(0, &rlimit(u64::MAX, u64::MAX));
    assert_eq!(misc::prlimit64(&mut g.t, [0, CORE, new, old, 0, 0]), Ok(0));
    assert_eq!(misc::prlimit64(&mut g.t, [0, CORE, 0, old, 0, 0]), Ok(0));
    assert_eq!(g.get(old, 16), rlimit(u64::MAX, u64::MAX));
}

#[test]
fn kept_limits_pass_through_execve() {
    // What `--rlimit` gives a new process: only the kept resources, valid pairs.
    let l = crate::limits::initial_limits(&[
        (4, 8192, 16384),
        (3, 1 << 20, u64::MAX),
        (0, 1, 2),
        (7, 9, 8),
    ]);
    assert_eq!(l[4], Some((8192, 16384)));
    assert_eq!(l[3], Some((1 << 20, u64::MAX)));
    assert_eq!(l[0], None, "RLIMIT_CPU is the host's");
    assert_eq!(l[7], None, "soft above hard");
    let l = crate::limits::initial_limits(&[]);
    assert!(l[4].is_some(), "RLIMIT_CORE from the host as tern started");
    let mut g = Guest::new();
    const CORE: u64 = libc::RLIMIT_CORE as u64;
    let new = g.put(0, &rlimit(4096, 8192));
    assert_eq!(misc::prlimit64(&mut g.t, [0, CORE, new, 0, 0, 0]), Ok(0));
    assert!(misc::kept_limits(&g.t).contains(&(4, 4096, 8192)));
}
