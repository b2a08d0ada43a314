//! Identity, limits and system information.

use syscalls::riscv64::Sysno;

use crate::errno::{host, Errno, SysResult};
use crate::limits::{DEFAULT_CORE_LIMIT, VIRTUAL_LIMITS};
use crate::task::Task;

/// `uname`: the host's names with `machine` = `riscv64`. The release is the host
/// kernel's, as `qemu-riscv64` reports it: programs that check a kernel version for
/// a feature then see the kernel whose calls their calls become.
pub fn uname(t: &mut Task, a: [u64; 6]) -> SysResult {
    // SAFETY: local struct.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: uname writes into the local `u`.
    host(unsafe { libc::uname(&mut u) as i64 })?;
    let mut b = vec![0u8; 65 * 6];
    let fields: [&[libc::c_char]; 6] = [
        &u.sysname,
        &u.nodename,
        &u.release,
        &u.version,
        &u.machine,
        &u.domainname,
    ];
    for (i, f) in fields.iter().enumerate() {
        let bytes: Vec<u8> = match i {
            4 => b"riscv64".to_vec(),
            _ => f
                .iter()
                .take_while(|&&c| c != 0)
                .map(|&c| c as u8)
                .collect(),
        };
        let n = bytes.len().min(64);
        b[i * 65..i * 65 + n].copy_from_slice(&bytes[..n]);
    }
    t.proc.write_mem(a[0], &b)?;
    Ok(0)
}

/// `getresuid` / `getresgid`.
pub fn getres(t: &mut Task, a: [u64; 6], uid: bool) -> SysResult {
    // SAFETY: id getters cannot fail.
    let (r, e) = unsafe {
        if uid {
            (libc::getuid(), libc::geteuid())
        } else {
            (libc::getgid(), libc::getegid())
        }
    };
    t.proc.write_u32(a[0], r)?;
    t.proc.write_u32(a[1], e)?;
    t.proc.write_u32(a[2], e)?;
    Ok(0)
}

/// `getgroups`.
pub fn getgroups(t: &mut Task, a: [u64; 6]) -> SysResult {
    let mut g = vec![0u32; 256];
    // SAFETY: buffer of 256 gids.
    let n = host(unsafe { libc::getgroups(256, g.as_mut_ptr()) as i64 })? as usize;
    if a[0] == 0 {
        return Ok(n as u64);
    }
    if (a[0] as usize) < n {
        return Err(Errno::EINVAL);
    }
    let b: Vec<u8> = g[..n].iter().flat_map(|x| x.to_le_bytes()).collect();
    t.proc.write_mem(a[1], &b)?;
    Ok(n as u64)
}

/// The `set*id` calls, with the rules of an unprivileged process: each id given
/// (not -1) must be one of the current real, effective and saved ids (for
/// `setuid`/`setgid`, as for an unprivileged caller, the real or saved one, or
/// the effective id itself), else `EPERM`; an allowed change is made on the host.
/// `setgroups` needs `CAP_SETGID`: `EPERM`. `setfsuid`/`setfsgid` never fail: they
/// return the previous filesystem id and change it only to an allowed one.
pub fn set_ids(a: [u64; 6], sys: Sysno) -> SysResult {
    let mut r = [0u32; 3];
    let uid = matches!(
        sys,
        Sysno::setuid | Sysno::setreuid | Sysno::setresuid | Sysno::setfsuid
    );
    let nr = if uid {
        libc::SYS_getresuid
    } else {
        libc::SYS_getresgid
    };
    // SAFETY: three local ids.
    host(unsafe {
        let p = r.as_mut_ptr();
        libc::syscall(nr, p, p.add(1), p.add(2))
    })?;
    let allowed = |v: u64| v as u32 == u32::MAX || r.contains(&(v as u32));
    let (nr, n) = match sys {
        Sysno::setuid => (libc::SYS_setuid, 1),
        Sysno::setgid => (libc::SYS_setgid, 1),
        Sysno::setreuid => (libc::SYS_setreuid, 2),
        Sysno::setregid => (libc::SYS_setregid, 2),
        Sysno::setresuid => (libc::SYS_setresuid, 3),
        Sysno::setresgid => (libc::SYS_setresgid, 3),
        Sysno::setfsuid | Sysno::setfsgid => {
            let nr = if uid {
                libc::SYS_setfsuid
            } else {
                libc::SYS_setfsgid
            };
            // The current filesystem id: asking for -1 changes nothing.
            // SAFETY: integer argument.
            let old = unsafe { libc::syscall(nr, u32::MAX) } as u32;
            if a[0] as u32 != u32::MAX && (allowed(a[0]) || a[0] as u32 == old) {
                // SAFETY: integer argument.
                unsafe { libc::syscall(nr, a[0] as u32) };
            }
            return Ok(u64::from(old));
        }
        _ => return Err(Errno::EPERM),
    };
    if n == 1 && a[0] as u32 == u32::MAX {
        return Err(Errno::EINVAL);
    }
    if !a[..n].iter().all(|&v| allowed(v)) {
        return Err(Errno::EPERM);
    }
    let ids: Vec<u32> = a[..n].iter().map(|&v| v as u32).collect();
    // SAFETY: integer arguments.
    host(unsafe {
        match n {
            1 => libc::syscall(nr, ids[0]),
            2 => libc::syscall(nr, ids[0], ids[1]),
            _ => libc::syscall(nr, ids[0], ids[1], ids[2]),
        }
    })
}

/// `umask`: the guest's mask, kept in the process and on the host alike, so that
/// the host applies the same mask to what `mkdirat` and `mknodat` create (and
/// `openat`, which masks the mode itself, gets the same answer twice).
pub fn umask(t: &mut Task, a: [u64; 6]) -> SysResult {
    let new = a[0] & 0o777;
    // SAFETY: umask cannot fail.
    unsafe { libc::umask(new as libc::mode_t) };
    Ok(t.proc.umask.swap(new, std::sync::atomic::Ordering::SeqCst))
}

/// The kept limits as `--rlimit` values for a program started by `execve`.
pub fn kept_limits(t: &Task) -> Vec<(u32, u64, u64)> {
    let l = t.proc.rlimits.lock().unwrap_or_else(|e| e.into_inner());
    l.iter()
        .enumerate()
        .filter_map(|(res, v)| v.map(|(cur, max)| (res as u32, cur, max)))
        .collect()
}

/// `prlimit64` (own process only). `RLIMIT_NOFILE` shows the guest's descriptor
/// limit; `RLIMIT_STACK` the main stack's reserved size. In kernel/sys.c's order:
/// the new limit is read first, then the resource and the values are checked, the
/// limit set, and the old one (from before the call) written last.
pub fn prlimit64(t: &mut Task, a: [u64; 6]) -> SysResult {
    let new = if a[2] != 0 {
        let b = t.proc.read_mem(a[2], 16)?;
        let cur = u64::from_le_bytes(b[..8].try_into().map_err(|_| Errno::EFAULT)?);
        let max = u64::from_le_bytes(b[8..].try_into().map_err(|_| Errno::EFAULT)?);
        Some((cur, max))
    } else {
        None
    };
    let pid = a[0] as i32;
    if pid != 0 && pid != t.proc_pid() {
        return Err(Errno::EPERM);
    }
    let res = a[1] as u32;
    if res >= 16 || new.is_some_and(|(cur, max)| cur > max) {
        return Err(Errno::EINVAL);
    }
    let old = if a[3] != 0 {
        Some(current_limit(t, res)?)
    } else {
        None
    };
    if let Some((cur, max)) = new {
        // Limits on memory, stack and descriptors would constrain the emulator
        // itself: they are kept for the guest (and shown back) but not applied.
        if VIRTUAL_LIMITS.contains(&res) {
            t.proc.rlimits.lock().unwrap_or_else(|e| e.into_inner())[res as usize] =
                Some((cur, max));
            if res == 4 {
                crate::signal::GUEST_CORE_LIMIT.store(cur, std::sync::atomic::Ordering::Relaxed);
            }
        } else {
            let r = libc::rlimit {
                rlim_cur: cur,
                rlim_max: max,
            };
            // SAFETY: local struct.
            host(unsafe { libc::setrlimit(res, &r) as i64 })?;
        }
    }
    if let Some((cur, max)) = old {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&cur.to_le_bytes());
        b[8..].copy_from_slice(&max.to_le_bytes());
        t.proc.write_mem(a[3], &b)?;
    }
    Ok(0)
}

/// The guest's limit `res` as `(soft, hard)`: one it set that is kept for it, the
/// descriptor limit, the main stack's size, or the host's.
fn current_limit(t: &Task, res: u32) -> Result<(u64, u64), Errno> {
    let kept = t.proc.rlimits.lock().unwrap_or_else(|e| e.into_inner())[res as usize];
    Ok(match (res, kept) {
        (_, Some(v)) => v,
        (7, None) => (t.proc.fd_limit as u64, t.proc.fd_limit as u64),
        (3, None) => (crate::mm::STACK_SIZE, u64::MAX),
        (4, None) => DEFAULT_CORE_LIMIT,
        _ => {
            let mut r = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            // SAFETY: getrlimit writes into the local `r`.
            host(unsafe { libc::getrlimit(res, &mut r) as i64 })?;
            (r.rlim_cur, r.rlim_max)
        }
    })
}

/// `getpriority` / `setpriority`: the calling process or thread directly, anything
/// else only among the processes of the VM's tree ([`crate::tree::priority`]:
/// `EPERM` for a stranger, `ESRCH` for nobody). `getpriority` returns `20 - nice`,
/// as the system call does.
pub fn priority(t: &mut Task, a: [u64; 6], set: bool) -> SysResult {
    use crate::tree::Who;
    let (which, who) = (a[0] as u32, a[1] as i32);
    let prio = set.then_some(a[2] as i32);
    // SAFETY: getpid cannot fail.
    let me = unsafe { libc::getpid() };
    let own = match which {
        libc::PRIO_PROCESS if who == 0 || who == t.proc_pid() || who == me => Some(0),
        libc::PRIO_PROCESS if t.proc.shoot.has(who) => t.proc.shoot.host_tid(who),
        libc::PRIO_PROCESS | libc::PRIO_PGRP | libc::PRIO_USER => None,
        _ => return Err(Errno::EINVAL),
    };
    if let Some(host_tid) = own {
        let nr = if set {
            libc::SYS_setpriority
        } else {
            libc::SYS_getpriority
        };
        // SAFETY: integer arguments.
        return host(unsafe { libc::syscall(nr, libc::PRIO_PROCESS, host_tid, a[2] as i32) });
    }
    if who < 0 {
        return Err(Errno::ESRCH);
    }
    let target = match which {
        libc::PRIO_PROCESS => Who::Process(who),
        // SAFETY: getpgrp takes nothing and cannot fail.
        libc::PRIO_PGRP if who == 0 => Who::Group(unsafe { libc::getpgrp() }),
        libc::PRIO_PGRP => Who::Group(who),
        // SAFETY: getuid takes nothing and cannot fail.
        _ if who == 0 => Who::User(unsafe { libc::getuid() }),
        _ => Who::User(who as u32),
    };
    let nice = crate::tree::priority(t.proc.vm_root(), target, prio.map(|p| p.clamp(-20, 19)))?;
    Ok(if set { 0 } else { (20 - nice) as u64 })
}

/// `getrusage` (`struct rusage` is the same on riscv64 and x86-64).
pub fn getrusage(t: &mut Task, a: [u64; 6]) -> SysResult {
    let mut b = [0u8; 144];
    // SAFETY: 144-byte buffer is sizeof(struct rusage).
    host(unsafe { libc::syscall(libc::SYS_getrusage, a[0] as i32, b.as_mut_ptr()) })?;
    t.proc.write_mem(a[1], &b)?;
    Ok(0)
}

/// `sysinfo` (same 112-byte layout).
pub fn sysinfo(t: &mut Task, a: [u64; 6]) -> SysResult {
    let mut b = [0u8; 112];
    // SAFETY: 112-byte buffer is sizeof(struct sysinfo).
    host(unsafe { libc::syscall(libc::SYS_sysinfo, b.as_mut_ptr()) })?;
    t.proc.write_mem(a[0], &b)?;
    Ok(0)
}

/// `getrandom`.
pub fn getrandom(t: &mut Task, a: [u64; 6]) -> SysResult {
    let len = (a[1] as usize).min(1 << 20);
    let mut b = vec![0u8; len];
    // SAFETY: buffer of `len` bytes.
    let n = host(unsafe { libc::getrandom(b.as_mut_ptr().cast(), len, a[2] as u32) as i64 })?;
    t.proc.write_mem(a[0], &b[..n as usize])?;
    Ok(n)
}

/// `sched_getaffinity`: the host CPUs the process (or the VM's process `pid`) may
/// run on. As in Linux, the size must hold the host's CPUs and be a whole number of
/// longs (`EINVAL`), a negative or unknown pid is `ESRCH`, and the mask is written
/// last (`EFAULT`).
pub fn sched_getaffinity(t: &mut Task, a: [u64; 6]) -> SysResult {
    let size = a[1] as usize;
    if size == 0 || !size.is_multiple_of(8) {
        return Err(Errno::EINVAL);
    }
    let pid = a[0] as i32;
    let host_pid = if pid == 0 || pid == t.tid {
        0
    } else if pid < 0 {
        return Err(Errno::ESRCH);
    } else if pid == t.proc_pid() {
        // SAFETY: getpid cannot fail.
        unsafe { libc::getpid() }
    } else if t.proc.shoot.has(pid) {
        t.proc.shoot.host_tid(pid).ok_or(Errno::ESRCH)?
    } else {
        crate::tree::check_owner(t.proc.vm_root(), pid)?;
        pid
    };
    let mut b = vec![0u8; size.min(1024)];
    // SAFETY: buffer of the given size.
    let n = host(unsafe {
        libc::syscall(
            libc::SYS_sched_getaffinity,
            host_pid,
            b.len(),
            b.as_mut_ptr(),
        )
    })?;
    t.proc.write_mem(a[2], &b[..n as usize])?;
    Ok(n)
}

/// `getcpu`.
pub fn getcpu(t: &mut Task, a: [u64; 6]) -> SysResult {
    if a[0] != 0 {
        t.proc.write_u32(a[0], 0)?;
    }
    if a[1] != 0 {
        t.proc.write_u32(a[1], 0)?;
    }
    Ok(0)
}

/// `prctl`: names, the parent-death signal, the timer slack, no-new-privs and the
/// dumpable flag.
pub fn prctl(t: &mut Task, a: [u64; 6]) -> SysResult {
    const PR_SET_PDEATHSIG: u64 = 1;
    const PR_GET_PDEATHSIG: u64 = 2;
    const PR_SET_TIMERSLACK: u64 = 29;
    const PR_GET_TIMERSLACK: u64 = 30;
    const PR_GET_DUMPABLE: u64 = 3;
    const PR_SET_DUMPABLE: u64 = 4;
    const PR_SET_NAME: u64 = 15;
    const PR_GET_NAME: u64 = 16;
    const PR_SET_NO_NEW_PRIVS: u64 = 38;
    const PR_GET_NO_NEW_PRIVS: u64 = 39;
    const PR_SET_VMA: u64 = 0x53564d41;
    match a[0] {
        PR_SET_NAME => {
            let name = t.proc.mm().read_cstr(a[1], 4096)?;
            let mut n = name;
            n.truncate(15);
            let c = std::ffi::CString::new(n).map_err(|_| Errno::EINVAL)?;
            // SAFETY: valid C string.
            unsafe { libc::prctl(libc::PR_SET_NAME, c.as_ptr()) };
            Ok(0)
        }
        PR_GET_NAME => {
            let mut b = [0u8; 16];
            // SAFETY: 16-byte buffer as PR_GET_NAME requires.
            unsafe { libc::prctl(libc::PR_GET_NAME, b.as_mut_ptr()) };
            t.proc.write_mem(a[1], &b)?;
            Ok(0)
        }
        PR_SET_PDEATHSIG => {
            if a[1] > 64 {
                return Err(Errno::EINVAL);
            }
            // The host signal is the guest's (same numbers below 32: the host
            // keeps it across execve and clears it in a forked child, as Linux
            // does for the program). A realtime one is accepted but not set: a
            // host realtime signal is tern's own.
            if a[1] < 32 {
                // SAFETY: integer argument.
                host(unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, a[1]) as i64 })?;
            }
            Ok(0)
        }
        PR_GET_PDEATHSIG => {
            let mut v: i32 = 0;
            // SAFETY: `v` is a local int, as PR_GET_PDEATHSIG writes.
            host(unsafe { libc::prctl(libc::PR_GET_PDEATHSIG, &mut v) as i64 })?;
            t.proc.write_u32(a[1], v as u32)?;
            Ok(0)
        }
        PR_SET_TIMERSLACK => {
            // Per thread, as on Linux: 0 restores the thread's default.
            // SAFETY: integer argument.
            host(unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, a[1]) as i64 })
        }
        PR_GET_TIMERSLACK => {
            // SAFETY: no pointer argument.
            host(unsafe { libc::prctl(libc::PR_GET_TIMERSLACK) as i64 })
        }
        PR_GET_DUMPABLE => Ok(1),
        PR_SET_DUMPABLE | PR_SET_NO_NEW_PRIVS | PR_SET_VMA => Ok(0),
        PR_GET_NO_NEW_PRIVS => Ok(0),
        _ => Err(Errno::EINVAL),
    }
}

/// `riscv_hwprobe`: keys this hart answers (arch/riscv/include/uapi/asm/hwprobe.h):
/// vendor/arch/impl ids 0, base behaviour IMA, IMA_EXT_0 with FD, C, Zba, Zbb, Zbs,
/// Zicboz and Zicond, misaligned accesses emulated-fast, Zicboz block size 64.
pub fn riscv_hwprobe(t: &mut Task, a: [u64; 6]) -> SysResult {
    let (pairs, count) = (a[0], a[1]);
    if count > 64 {
        return Err(Errno::EINVAL);
    }
    for i in 0..count {
        let at = pairs.wrapping_add(16 * i);
        let key = t.proc.read_u64(at)? as i64;
        let value: Option<u64> = match key {
            0..=2 => Some(0),
            3 => Some(1), // BASE_BEHAVIOR_IMA
            4 => {
                // IMA_EXT_0: FD, C, V(no), ZBA, ZBB, ZBS, ZICBOZ, ..., ZICOND
                let mut v = 1 | 2 | (1 << 3) | (1 << 4) | (1 << 5) | (1 << 6);
                v |= 1 << 35; // ZICOND
                Some(v)
            }
            5 => Some(3),  // CPUPERF_0: MISALIGNED_FAST
            6 => Some(64), // ZICBOZ_BLOCK_SIZE
            _ => None,
        };
        match value {
            Some(v) => t.proc.write_u64(at.wrapping_add(8), v)?,
            None => {
                t.proc.write_u64(at, u64::MAX)?;
                t.proc.write_u64(at.wrapping_add(8), 0)?;
            }
        }
    }
    Ok(0)
}

/// `capget`: no capabilities. In kernel/capability.c's order: the header is read
/// (`EFAULT`); an unknown version is `EINVAL` with the preferred version
/// (`_LINUX_CAPABILITY_VERSION_3`) written back, unless no data pointer was given
/// (a probe: 0); a negative pid is `EINVAL`, a pid that is neither the process nor a
/// process of the VM `ESRCH`; no data pointer is a successful probe; then the sets
/// are written (two 12-byte blocks for versions 2 and 3, one for version 1).
pub fn capget(t: &mut Task, a: [u64; 6]) -> SysResult {
    const V1: u32 = 0x1998_0330;
    const V2: u32 = 0x2007_1026;
    const V3: u32 = 0x2008_0522;
    let version = t.proc.read_u32(a[0])?;
    let pid = t.proc.read_u32(a[0].wrapping_add(4))? as i32;
    let blocks = match version {
        V1 => 1,
        V2 | V3 => 2,
        _ => {
            t.proc.write_u32(a[0], V3)?;
            return if a[1] == 0 { Ok(0) } else { Err(Errno::EINVAL) };
        }
    };
    if pid < 0 {
        return Err(Errno::EINVAL);
    }
    if pid != 0 && pid != t.proc_pid() && !t.proc.shoot.has(pid) {
        crate::tree::check_owner(t.proc.vm_root(), pid).map_err(|_| Errno::ESRCH)?;
    }
    if a[1] != 0 {
        t.proc.write_mem(a[1], &vec![0u8; 12 * blocks])?;
    }
    Ok(0)
}
