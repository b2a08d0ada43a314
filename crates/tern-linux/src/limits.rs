//! What a new process VM starts with that the host decides: the umask, and the
//! resource limits kept for the guest instead of being applied to the host process
//! (read by [`crate::process::Process`] at start, set by `syscalls::misc`).

/// The host process's umask (read by setting it back).
pub fn host_umask() -> u64 {
    // SAFETY: umask cannot fail; the old mask is put back at once.
    unsafe {
        let old = libc::umask(0o022);
        libc::umask(old);
        u64::from(old)
    }
}

/// Resource limits kept for the guest rather than applied to the host process:
/// `RLIMIT_DATA`, `RLIMIT_STACK`, `RLIMIT_CORE` (the sandbox holds the host's at 0:
/// a VMM's core would hold guest memory; the guest's decides the wait status's
/// core-dump bit), `RLIMIT_RSS`, `RLIMIT_NOFILE`, `RLIMIT_MEMLOCK`, `RLIMIT_AS`.
pub const VIRTUAL_LIMITS: [u32; 7] = [2, 3, 4, 5, 7, 8, 9];

/// The guest's `RLIMIT_CORE` until it sets one, where the host's cannot be read:
/// no core files, and a hard limit that lets the program ask for them (the usual
/// Linux default).
pub const DEFAULT_CORE_LIMIT: (u64, u64) = (0, u64::MAX);

/// The kept limits a new process starts with: those `execve` passed on
/// (`--rlimit`), and `RLIMIT_CORE` as the host had it when tern started (before the
/// sandbox held the host's at 0), as the program would have inherited it.
pub fn initial_limits(given: &[(u32, u64, u64)]) -> [Option<(u64, u64)>; 16] {
    let mut l = [None; 16];
    for &(res, cur, max) in given {
        if VIRTUAL_LIMITS.contains(&res) && cur <= max {
            l[res as usize] = Some((cur, max));
        }
    }
    if l[4].is_none() {
        let mut r = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes into the local `r`.
        l[4] = Some(
            if unsafe { libc::getrlimit(libc::RLIMIT_CORE, &mut r) } == 0 {
                (r.rlim_cur, r.rlim_max)
            } else {
                DEFAULT_CORE_LIMIT
            },
        );
    }
    if let Some((cur, _)) = l[4] {
        crate::signal::GUEST_CORE_LIMIT.store(cur, std::sync::atomic::Ordering::Relaxed);
    }
    l
}
