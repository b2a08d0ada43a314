//! Identity, limits and system information.

use syscalls::riscv64::Sysno;

use crate::errno::{host, Errno, SysResult};
use crate::thread::Thread;

/// `uname`: the host's names with `machine` = `riscv64`, and the release of the Linux
/// ABI emulated here.
pub fn uname(t: &mut Thread, a: [u64; 6]) -> SysResult {
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
            2 => b"6.1.0".to_vec(),
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
pub fn getres(t: &mut Thread, a: [u64; 6], uid: bool) -> SysResult {
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
pub fn getgroups(t: &mut Thread, a: [u64; 6]) -> SysResult {
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

/// The `set*id` calls: the process VM keeps the host's credentials; changing to the
/// current ids succeeds, anything else is refused as for an unprivileged process.
pub fn set_ids(_sys: Sysno) -> SysResult {
    Err(Errno::EPERM)
}

/// Resource limits kept for the guest rather than applied to the host process:
/// `RLIMIT_DATA`, `RLIMIT_STACK`, `RLIMIT_RSS`, `RLIMIT_NOFILE`, `RLIMIT_MEMLOCK`,
/// `RLIMIT_AS`.
const VIRTUAL_LIMITS: [u32; 6] = [2, 3, 5, 7, 8, 9];

/// `prlimit64` (own process only). `RLIMIT_NOFILE` shows the guest's descriptor
/// limit; `RLIMIT_STACK` the main stack's reserved size.
pub fn prlimit64(t: &mut Thread, a: [u64; 6]) -> SysResult {
    let pid = a[0] as i32;
    if pid != 0 && pid != t.proc_pid() {
        return Err(Errno::EPERM);
    }
    let res = a[1] as u32;
    if res >= 16 {
        return Err(Errno::EINVAL);
    }
    if a[3] != 0 {
        let kept = t.proc.rlimits.lock().unwrap_or_else(|e| e.into_inner())[res as usize];
        let (cur, max) = match (res, kept) {
            (_, Some(v)) => v,
            (7, None) => (t.proc.fd_limit as u64, t.proc.fd_limit as u64),
            (3, None) => (crate::mm::STACK_SIZE, u64::MAX),
            _ => {
                // SAFETY: local struct.
                let mut r = libc::rlimit {
                    rlim_cur: 0,
                    rlim_max: 0,
                };
                // SAFETY: getrlimit writes into the local `r`.
                host(unsafe { libc::getrlimit(res, &mut r) as i64 })?;
                (r.rlim_cur, r.rlim_max)
            }
        };
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&cur.to_le_bytes());
        b[8..].copy_from_slice(&max.to_le_bytes());
        t.proc.write_mem(a[3], &b)?;
    }
    if a[2] != 0 {
        let b = t.proc.read_mem(a[2], 16)?;
        let cur = u64::from_le_bytes(b[..8].try_into().map_err(|_| Errno::EFAULT)?);
        let max = u64::from_le_bytes(b[8..].try_into().map_err(|_| Errno::EFAULT)?);
        if cur > max {
            return Err(Errno::EINVAL);
        }
        // Limits on memory, stack and descriptors would constrain the emulator
        // itself: they are kept for the guest (and shown back) but not applied.
        if VIRTUAL_LIMITS.contains(&res) {
            t.proc.rlimits.lock().unwrap_or_else(|e| e.into_inner())[res as usize] =
                Some((cur, max));
        } else {
            let r = libc::rlimit {
                rlim_cur: cur,
                rlim_max: max,
            };
            // SAFETY: local struct.
            host(unsafe { libc::setrlimit(res, &r) as i64 })?;
        }
    }
    Ok(0)
}

/// `getpriority` / `setpriority`: the calling process or thread directly, anything
/// else only among the processes of the VM's tree ([`crate::tree::priority`]:
/// `EPERM` for a stranger, `ESRCH` for nobody). `getpriority` returns `20 - nice`,
/// as the system call does.
pub fn priority(t: &mut Thread, a: [u64; 6], set: bool) -> SysResult {
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
pub fn getrusage(t: &mut Thread, a: [u64; 6]) -> SysResult {
    let mut b = [0u8; 144];
    // SAFETY: 144-byte buffer is sizeof(struct rusage).
    host(unsafe { libc::syscall(libc::SYS_getrusage, a[0] as i32, b.as_mut_ptr()) })?;
    t.proc.write_mem(a[1], &b)?;
    Ok(0)
}

/// `sysinfo` (same 112-byte layout).
pub fn sysinfo(t: &mut Thread, a: [u64; 6]) -> SysResult {
    let mut b = [0u8; 112];
    // SAFETY: 112-byte buffer is sizeof(struct sysinfo).
    host(unsafe { libc::syscall(libc::SYS_sysinfo, b.as_mut_ptr()) })?;
    t.proc.write_mem(a[0], &b)?;
    Ok(0)
}

/// `getrandom`.
pub fn getrandom(t: &mut Thread, a: [u64; 6]) -> SysResult {
    let len = (a[1] as usize).min(1 << 20);
    let mut b = vec![0u8; len];
    // SAFETY: buffer of `len` bytes.
    let n = host(unsafe { libc::getrandom(b.as_mut_ptr().cast(), len, a[2] as u32) as i64 })?;
    t.proc.write_mem(a[0], &b[..n as usize])?;
    Ok(n)
}

/// `sched_getaffinity`: the host CPUs this process may run on.
pub fn sched_getaffinity(t: &mut Thread, a: [u64; 6]) -> SysResult {
    let size = a[1] as usize;
    if size == 0 || !size.is_multiple_of(8) {
        return Err(Errno::EINVAL);
    }
    let mut b = vec![0u8; size.min(1024)];
    // SAFETY: buffer of the given size.
    let n =
        host(unsafe { libc::syscall(libc::SYS_sched_getaffinity, 0, b.len(), b.as_mut_ptr()) })?;
    t.proc.write_mem(a[2], &b[..n as usize])?;
    Ok(n)
}

/// `getcpu`.
pub fn getcpu(t: &mut Thread, a: [u64; 6]) -> SysResult {
    if a[0] != 0 {
        t.proc.write_u32(a[0], 0)?;
    }
    if a[1] != 0 {
        t.proc.write_u32(a[1], 0)?;
    }
    Ok(0)
}

/// `prctl`: names, the parent-death signal, no-new-privs and the dumpable flag.
pub fn prctl(t: &mut Thread, a: [u64; 6]) -> SysResult {
    const PR_SET_PDEATHSIG: u64 = 1;
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
            // SAFETY: integer argument.
            host(unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, a[1]) as i64 })
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
pub fn riscv_hwprobe(t: &mut Thread, a: [u64; 6]) -> SysResult {
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

/// `capget`: no capabilities.
pub fn capget(t: &mut Thread, a: [u64; 6]) -> SysResult {
    if a[1] != 0 {
        t.proc.write_mem(a[1], &[0u8; 24])?;
    }
    Ok(0)
}
