//! Futexes over guest memory.
//!
//! A guest futex word is a word of guest physical memory, and guest physical memory
//! is one host mapping whose addresses never change, so the emulator waits and wakes
//! with the *host's* futex on the host address of that word. The host kernel then
//! provides exactly the semantics the guest expects (the atomic compare in
//! `FUTEX_WAIT`, bitsets, requeue, wake-op, even priority inheritance, whose words hold
//! thread ids, and guest thread ids are host thread ids), and a waiting thread is woken
//! by a signal like any blocking call.
//!
//! The waiters are threads blocked in a system call; as plain data each is its hart
//! state with `pc` at the `ecall` (a snapshot rewinds blocked calls, which Linux
//! restarts after a signal in the same way), so no waiter list is hidden here.

use tern_hart::GuestWord32;

use crate::errno::{host, Errno, SysResult};
use crate::mm::Access;
use crate::process::Process;

/// `FUTEX_*` commands (the low 7 bits of the operation).
#[allow(missing_docs)]
pub mod op {
    pub const WAIT: u32 = 0;
    pub const WAKE: u32 = 1;
    pub const FD: u32 = 2;
    pub const REQUEUE: u32 = 3;
    pub const CMP_REQUEUE: u32 = 4;
    pub const WAKE_OP: u32 = 5;
    pub const LOCK_PI: u32 = 6;
    pub const UNLOCK_PI: u32 = 7;
    pub const TRYLOCK_PI: u32 = 8;
    pub const WAIT_BITSET: u32 = 9;
    pub const WAKE_BITSET: u32 = 10;
    pub const WAIT_REQUEUE_PI: u32 = 11;
    pub const CMP_REQUEUE_PI: u32 = 12;
    pub const LOCK_PI2: u32 = 13;
    pub const PRIVATE: u32 = 128;
    pub const CLOCK_REALTIME: u32 = 256;
}

/// The host address of the guest futex word at `va` (for a wake: read access).
pub fn host_word(proc: &Process, va: u64) -> Result<*mut u32, Errno> {
    Ok(word_at(proc, va, Access::Read)?.0)
}

/// The host address and the guest physical address of the futex word at `va`,
/// which the program must be allowed to `access`: the host kernel works on the
/// host mapping of guest RAM, which is always writable, so an operation that stores
/// to the word (wake-op, the PI operations) must be refused here for a page the
/// program may only read, with `EFAULT` as Linux's atomic user access gives.
fn word_at(proc: &Process, va: u64, access: Access) -> Result<(*mut u32, u64), Errno> {
    if !va.is_multiple_of(4) {
        return Err(Errno::EINVAL);
    }
    let mut mm = proc.mm();
    let pa = mm.translate(va, access)?;
    let ram = mm.ram().clone();
    let word = ram.atomic32(pa).ok_or(Errno::EFAULT)?;
    // The mapping lives as long as the process (the Arc is held by the process's Mm
    // for its whole life; exec replaces the host process).
    Ok((word.as_ptr(), pa))
}

/// Marks the page of the word at guest physical `pa` written: the host kernel
/// stores to futex words (wake-op, PI owners) behind the RAM's dirty log, which an
/// incremental snapshot must not miss.
fn host_wrote(proc: &Process, pa: u64) {
    proc.mm().ram().record_write(pa, 4);
}

/// Reads a `struct timespec` (same layout on riscv64 and x86-64).
pub fn read_timespec(proc: &Process, va: u64) -> Result<libc::timespec, Errno> {
    let b = proc.read_mem(va, 16)?;
    let sec = i64::from_le_bytes(b[0..8].try_into().map_err(|_| Errno::EFAULT)?);
    let nsec = i64::from_le_bytes(b[8..16].try_into().map_err(|_| Errno::EFAULT)?);
    Ok(libc::timespec {
        tv_sec: sec,
        tv_nsec: nsec,
    })
}

/// The `futex` system call. `pending` tells whether a signal is waiting for the
/// calling thread (a wait then returns `EINTR` at once, to be restarted after the
/// handler).
pub fn futex(proc: &Process, a: [u64; 6], pending: impl Fn() -> bool) -> SysResult {
    let (uaddr, opword, val, arg4, uaddr2, val3) = (a[0], a[1] as u32, a[2], a[3], a[4], a[5]);
    let cmd = opword & 127;
    let (w1, pa1) = word_at(proc, uaddr, first_word_access(cmd))?;
    // A word in a shared region may be waited on by another process of the VM (a
    // forked child): then the host futex must be the shared kind, as the guest asked.
    let private = if opword & op::PRIVATE == 0 && crate::mm::in_shared_window(proc.mm().ram(), pa1)
    {
        0
    } else {
        op::PRIVATE
    };
    let host_op = (cmd | private | (opword & op::CLOCK_REALTIME)) as i64;
    let timeout = |va: u64| -> Result<Option<libc::timespec>, Errno> {
        if va == 0 {
            Ok(None)
        } else {
            read_timespec(proc, va).map(Some)
        }
    };
    match cmd {
        // The host kernel reads and writes these words in its own byte order: on a
        // big-endian host their arithmetic (wake-op) and owner ids (PI) would be the
        // guest's bytes swapped.
        op::WAKE_OP
        | op::LOCK_PI
        | op::LOCK_PI2
        | op::WAIT_REQUEUE_PI
        | op::UNLOCK_PI
        | op::TRYLOCK_PI
        | op::CMP_REQUEUE_PI
            if cfg!(target_endian = "big") =>
        {
            Err(Errno::ENOSYS)
        }
        op::WAIT | op::WAIT_BITSET | op::LOCK_PI | op::LOCK_PI2 | op::WAIT_REQUEUE_PI => {
            let ts = timeout(arg4)?;
            if pending() {
                return Err(Errno::EINTR);
            }
            let tsp = ts
                .as_ref()
                .map_or(std::ptr::null(), |t| t as *const libc::timespec);
            let (w2, pa2) = if cmd == op::WAIT_REQUEUE_PI {
                // The kernel takes the PI lock at `uaddr2` for the requeued waiter.
                let (w, pa) = word_at(proc, uaddr2, Access::Write)?;
                (w, Some(pa))
            } else {
                (std::ptr::null_mut(), None)
            };
            // SAFETY: w1/w2 point into the guest RAM mapping, which outlives the call;
            // the timespec is a local.
            let r = host(unsafe {
                libc::syscall(
                    libc::SYS_futex,
                    w1,
                    host_op,
                    GuestWord32::host_value(val as u32),
                    tsp,
                    w2,
                    val3 as u32,
                )
            });
            if matches!(cmd, op::LOCK_PI | op::LOCK_PI2 | op::WAIT_REQUEUE_PI) {
                host_wrote(proc, pa1);
                if let Some(pa) = pa2 {
                    host_wrote(proc, pa);
                }
            }
            r
        }
        op::WAKE | op::WAKE_BITSET | op::UNLOCK_PI | op::TRYLOCK_PI => {
            // SAFETY: as above; no pointers besides the word.
            let r = host(unsafe {
                libc::syscall(
                    libc::SYS_futex,
                    w1,
                    host_op,
                    val as u32,
                    0usize,
                    0usize,
                    val3 as u32,
                )
            });
            if matches!(cmd, op::UNLOCK_PI | op::TRYLOCK_PI) {
                host_wrote(proc, pa1);
            }
            r
        }
        op::REQUEUE | op::CMP_REQUEUE | op::WAKE_OP | op::CMP_REQUEUE_PI => {
            // Wake-op stores to `uaddr2`; CMP_REQUEUE_PI takes the lock there for a
            // waiter (Linux faults only when there is one; refusing always is the
            // safe side).
            let access = if matches!(cmd, op::WAKE_OP | op::CMP_REQUEUE_PI) {
                Access::Write
            } else {
                Access::Read
            };
            let (w2, pa2) = word_at(proc, uaddr2, access)?;
            // SAFETY: as above; `arg4` is a count (val2), not a pointer, for these.
            let r = host(unsafe {
                libc::syscall(
                    libc::SYS_futex,
                    w1,
                    host_op,
                    val as u32,
                    arg4 as usize,
                    w2,
                    // CMP_REQUEUE compares `val3` with the first word.
                    GuestWord32::host_value(val3 as u32),
                )
            });
            if matches!(cmd, op::WAKE_OP | op::CMP_REQUEUE_PI) {
                host_wrote(proc, pa2);
            }
            r
        }
        _ => Err(Errno::ENOSYS),
    }
}

/// The access an operation needs to its first word: the PI operations store the
/// owner's tid there (or clear it); the waits and wakes only read it.
fn first_word_access(cmd: u32) -> Access {
    match cmd {
        op::LOCK_PI | op::LOCK_PI2 | op::TRYLOCK_PI | op::UNLOCK_PI => Access::Write,
        _ => Access::Read,
    }
}

/// Wakes one waiter on the word at `va` (thread exit with `clear_child_tid`).
pub fn wake(proc: &Process, va: u64, n: i32) {
    if let Ok(w) = host_word(proc, va) {
        // SAFETY: `w` points into guest RAM.
        unsafe {
            libc::syscall(
                libc::SYS_futex,
                w,
                (op::WAKE | op::PRIVATE) as i64,
                n,
                0usize,
                0usize,
                0,
            );
        }
    }
}
