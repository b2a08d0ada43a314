//! `kcmp(pid1, pid2, type, idx1, idx2)` within the process VM (kernel/kcmp.c).
//!
//! The host's `kcmp` is not available to the emulator (it compares kernel objects
//! of any process; the sandbox forbids it), and none is needed for what a guest
//! process can name: its own threads share everything, forked processes of the VM
//! share nothing `kcmp` compares (tern has no `clone` of a process with shared
//! files or memory), and two of its own descriptors are the same open file
//! description exactly when they share per-description state, which is tested
//! here with the `F_SETSIG` signal (saved and restored at once). Comparing the
//! descriptors of two different processes is `EPERM`; a process outside the VM is
//! `EPERM` (as `kill` answers), one that does not exist `ESRCH`.
//!
//! Results order like Linux's (0 equal, 1 less, 2 greater); the order of
//! different objects is an arbitrary but stable one, as Linux's obfuscated
//! pointers give.

use crate::errno::{Errno, SysResult};
use crate::syscalls::io::fd_arg;
use crate::task::Task;

/// `fcntl` commands of the descriptor's I/O signal (asm-generic).
const F_SETSIG: i32 = 10;
const F_GETSIG: i32 = 11;

const KCMP_FILE: u64 = 0;
const KCMP_EPOLL_TFD: u64 = 7;
const KCMP_TYPES: u64 = 8;

/// Which process a pid argument names: `Ok(true)` this one (or one of its
/// threads), `Ok(false)` another process of the VM.
fn which(t: &Task, pid: u64) -> Result<bool, Errno> {
    let pid = pid as i32;
    if pid <= 0 {
        return Err(Errno::ESRCH);
    }
    if pid == t.proc_pid() || t.proc.shoot.has(pid) {
        return Ok(true);
    }
    crate::tree::check_owner(t.proc.vm_root(), pid)?;
    Ok(false)
}

/// 0, 1 or 2 for `a` against `b`.
fn order<T: Ord>(a: T, b: T) -> u64 {
    match a.cmp(&b) {
        std::cmp::Ordering::Equal => 0,
        std::cmp::Ordering::Less => 1,
        std::cmp::Ordering::Greater => 2,
    }
}

/// Whether two descriptors of this process are the same open file description.
fn same_description(a: i32, b: i32) -> Result<bool, Errno> {
    if a == b {
        return Ok(true);
    }
    // SAFETY: local stat structs.
    let (sa, sb) = unsafe {
        let mut x: libc::stat = std::mem::zeroed();
        let mut y: libc::stat = std::mem::zeroed();
        if libc::fstat(a, &mut x) != 0 || libc::fstat(b, &mut y) != 0 {
            return Err(Errno::EBADF);
        }
        (x, y)
    };
    if (sa.st_dev, sa.st_ino) != (sb.st_dev, sb.st_ino) {
        return Ok(false);
    }
    // SAFETY: F_GETSIG/F_SETSIG on the guest's descriptors; the old signal is put
    // back at once.
    unsafe {
        let old = libc::fcntl(a, F_GETSIG);
        if old < 0 {
            return Err(Errno::last());
        }
        let probe = if old == libc::SIGIO {
            libc::SIGURG
        } else {
            libc::SIGIO
        };
        libc::fcntl(a, F_SETSIG, probe);
        let seen = libc::fcntl(b, F_GETSIG);
        libc::fcntl(a, F_SETSIG, old);
        Ok(seen == probe)
    }
}

/// `kcmp`.
pub fn kcmp(t: &mut Task, a: [u64; 6]) -> SysResult {
    let self1 = which(t, a[0])?;
    let self2 = which(t, a[1])?;
    if a[2] >= KCMP_TYPES {
        return Err(Errno::EINVAL);
    }
    match a[2] {
        KCMP_FILE => {
            if !(self1 && self2) {
                return Err(Errno::EPERM);
            }
            let f1 = fd_arg(t, a[3])?;
            let f2 = fd_arg(t, a[4])?;
            if same_description(f1, f2)? {
                return Ok(0);
            }
            // SAFETY: local stat structs of guest descriptors checked above.
            let (x, y) = unsafe {
                let mut x: libc::stat = std::mem::zeroed();
                let mut y: libc::stat = std::mem::zeroed();
                libc::fstat(f1, &mut x);
                libc::fstat(f2, &mut y);
                (x, y)
            };
            Ok(order((x.st_dev, x.st_ino, f1), (y.st_dev, y.st_ino, f2)))
        }
        KCMP_EPOLL_TFD => {
            if !(self1 && self2) {
                return Err(Errno::EPERM);
            }
            Err(Errno::EINVAL)
        }
        _ => {
            // The VM, descriptor table, fs info, signal handlers, I/O context and
            // SysV undo list: shared by the threads of a process, never between
            // processes of the VM.
            if self1 == self2 && (self1 || a[0] as i32 == a[1] as i32) {
                Ok(0)
            } else {
                Ok(order(a[0] as i32, a[1] as i32))
            }
        }
    }
}
