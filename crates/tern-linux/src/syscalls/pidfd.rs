//! `pidfd_open` and `pidfd_send_signal`, for the processes of the VM's tree only
//! ([`crate::tree`]): a process outside it is `EPERM` (as for `kill`), whoever
//! handed the guest its pidfd. The guest's pidfd is a host pidfd, so `poll` and
//! `epoll` see the process's exit as on Linux.

use crate::errno::{host, Errno, SysResult};
use crate::fs::{FdInfo, FdKind};
use crate::syscalls::io::{fd_arg, new_fd};
use crate::task::Task;

/// `PIDFD_NONBLOCK` (`O_NONBLOCK`).
const PIDFD_NONBLOCK: u64 = libc::O_NONBLOCK as u64;

/// The host pid a guest pid names (the guest's own pid may differ from the host's
/// after a restore).
fn host_pid(t: &Task, pid: i32) -> i32 {
    if pid == t.proc_pid() {
        // SAFETY: getpid cannot fail.
        unsafe { libc::getpid() }
    } else {
        pid
    }
}

/// `pidfd_open(pid, flags)`.
pub fn pidfd_open(t: &mut Task, a: [u64; 6]) -> SysResult {
    let pid = a[0] as i32;
    if a[1] & !PIDFD_NONBLOCK != 0 || pid <= 0 {
        return Err(Errno::EINVAL);
    }
    let hp = host_pid(t, pid);
    // SAFETY: integer arguments; the result is a new guest descriptor.
    let fd = host(unsafe { libc::syscall(libc::SYS_pidfd_open, hp, a[1] as u32) })? as i32;
    // SAFETY: getpid cannot fail.
    if hp != unsafe { libc::getpid() } {
        if let Err(e) = crate::tree::check_owner(t.proc.vm_root(), hp) {
            // SAFETY: closing the descriptor we just opened.
            unsafe { libc::close(fd) };
            return Err(e);
        }
    }
    new_fd(
        t,
        i64::from(fd),
        FdInfo {
            kind: FdKind::File,
            path: None,
            flags: libc::O_RDWR | libc::O_CLOEXEC | a[1] as i32,
        },
    )
}

/// The pid a pidfd refers to (`Pid:` of its fdinfo; -1 once the process is gone,
/// and no pidfd at all is `EBADF`, as Linux answers).
fn pid_of(fd: i32) -> Result<i32, Errno> {
    let text = std::fs::read_to_string(format!("/proc/thread-self/fdinfo/{fd}"))
        .map_err(|_| Errno::EBADF)?;
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("Pid:"))
        .ok_or(Errno::EBADF)?;
    line.trim().parse().map_err(|_| Errno::EBADF)
}

/// `pidfd_send_signal(pidfd, sig, info, flags)`: to the caller's own process
/// through the guest's signal queue, to other processes of the VM as a host
/// signal (standard signals only, as `kill` sends them).
pub fn pidfd_send_signal(t: &mut Task, a: [u64; 6]) -> SysResult {
    // PIDFD_SIGNAL_THREAD, _THREAD_GROUP, _PROCESS_GROUP (Linux 6.9): at most one.
    if a[3] & !7 != 0 || (a[3] as u32).count_ones() > 1 {
        return Err(Errno::EINVAL);
    }
    // A whole process group would need every member checked against the VM's
    // tree; refused as for a group of strangers.
    if a[3] == 4 {
        return Err(Errno::EPERM);
    }
    let fd = fd_arg(t, a[0])?;
    let n = a[1] as i32;
    let pid = pid_of(fd)?;
    if pid <= 0 {
        return Err(Errno::ESRCH);
    }
    if !(0..=crate::signal::NSIG as i32).contains(&n) {
        return Err(Errno::EINVAL);
    }
    let info = if a[2] != 0 {
        Some(t.proc.read_mem(a[2], 128)?)
    } else {
        None
    };
    // SAFETY: getpid cannot fail.
    let me = unsafe { libc::getpid() };
    if pid == me {
        match info {
            None => {
                crate::syscalls::signal::kill(t, [t.proc_pid() as u64, n as u64, 0, 0, 0, 0])?;
            }
            Some(b) => {
                let signo = i32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                if signo != n {
                    return Err(Errno::EINVAL);
                }
                let va = a[2];
                crate::syscalls::signal::rt_sigqueueinfo(
                    t,
                    [t.proc_pid() as u64, n as u64, va, 0, 0, 0],
                )?;
            }
        }
        return Ok(0);
    }
    if let Some(b) = &info {
        let signo = i32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        let code = i32::from_le_bytes([b[8], b[9], b[10], b[11]]);
        if signo != n {
            return Err(Errno::EINVAL);
        }
        // Only the kernel may send these codes to another process.
        if code >= 0 || code == -6 {
            return Err(Errno::EPERM);
        }
    }
    if n >= 32 {
        return Err(Errno::EINVAL);
    }
    crate::tree::check_owner(t.proc.vm_root(), pid)?;
    let ip = info.as_ref().map_or(std::ptr::null(), |b| b.as_ptr());
    // SAFETY: the guest's pidfd, a 128-byte siginfo copy or null.
    host(unsafe { libc::syscall(libc::SYS_pidfd_send_signal, fd, n, ip, a[3] as u32) })
}
