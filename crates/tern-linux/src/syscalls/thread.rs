//! Threads: `clone` for threads (each guest thread on its own host thread, at most
//! [`crate::process::thread_limit`] at once), `exit`, `set_tid_address`, robust
//! futex lists.

use std::sync::atomic::Ordering;

use tern_hart::HartState;

use crate::errno::{Errno, SysResult};
use crate::syscalls::{Flow, NewThread};
use crate::task::Task;

/// `clone` flags.
#[allow(missing_docs)]
pub mod flags {
    pub const CSIGNAL: u64 = 0xff;
    pub const CLONE_VM: u64 = 0x100;
    pub const CLONE_FS: u64 = 0x200;
    pub const CLONE_FILES: u64 = 0x400;
    pub const CLONE_SIGHAND: u64 = 0x800;
    pub const CLONE_VFORK: u64 = 0x4000;
    pub const CLONE_PARENT: u64 = 0x8000;
    pub const CLONE_THREAD: u64 = 0x1_0000;
    pub const CLONE_SYSVSEM: u64 = 0x4_0000;
    pub const CLONE_SETTLS: u64 = 0x8_0000;
    pub const CLONE_PARENT_SETTID: u64 = 0x10_0000;
    pub const CLONE_CHILD_CLEARTID: u64 = 0x20_0000;
    pub const CLONE_CHILD_SETTID: u64 = 0x100_0000;
}

use flags::*;

/// `clone` with `CLONE_THREAD` (`clone(flags, newsp, parent_tid, tls, child_tid)`,
/// the generic argument order): checks the flags and takes a place under the
/// thread limit ([`Process::reserve_thread`]); the thread that runs the caller
/// starts the new one ([`Flow::Spawn`]). `regs` are the caller's registers.
pub fn clone_thread(t: &mut Task, regs: &HartState, a: [u64; 6]) -> Flow {
    let (fl, newsp, ptid, tls, ctid) = (a[0], a[1], a[2], a[3], a[4]);
    if fl & CLONE_VM == 0 || fl & CLONE_SIGHAND == 0 {
        return Flow::Ret(Err(Errno::EINVAL));
    }
    let reservation = match t.proc.reserve_thread() {
        Ok(r) => r,
        Err(e) => return Flow::Ret(Err(e)),
    };
    let mut st = regs.clone();
    st.x[10] = 0;
    if newsp != 0 {
        st.x[2] = newsp;
    }
    if fl & CLONE_SETTLS != 0 {
        st.x[4] = tls;
    }
    st.pc += 4;
    st.reservation = None;
    Flow::Spawn(Box::new(NewThread {
        regs: st,
        sigmask: t.sigmask,
        flags: fl,
        parent_tid: ptid,
        child_tid: ctid,
        reservation,
    }))
}

/// Linux's `FUTEX_OWNER_DIED` and `FUTEX_WAITERS` bits and the tid mask.
const FUTEX_WAITERS: u32 = 0x8000_0000;
const FUTEX_OWNER_DIED: u32 = 0x4000_0000;
const FUTEX_TID_MASK: u32 = 0x3fff_ffff;

/// Releases the robust futexes a dying thread still holds (kernel/futex/core.c
/// `exit_robust_list`): each is marked `FUTEX_OWNER_DIED` and one waiter is woken.
fn exit_robust_list(t: &Task) {
    let (head, len) = t.robust_list;
    if head == 0 || len != 24 {
        return;
    }
    let Ok(mut entry) = t.proc.read_u64(head) else {
        return;
    };
    let Ok(offset) = t.proc.read_u64(head.wrapping_add(8)) else {
        return;
    };
    let pending = t.proc.read_u64(head.wrapping_add(16)).unwrap_or(0);
    let handle = |e: u64| {
        let word = (e & !1).wrapping_add(offset);
        if let Ok(v) = t.proc.read_u32(word) {
            if v & FUTEX_TID_MASK == t.tid as u32 {
                let new = (v & FUTEX_WAITERS) | FUTEX_OWNER_DIED;
                let _ = t.proc.write_u32(word, new);
                if v & FUTEX_WAITERS != 0 {
                    crate::futex::wake(&t.proc, word, 1);
                }
            }
        }
    };
    let mut n = 0;
    while entry != head && entry != 0 && n < 2048 {
        let next = t.proc.read_u64(entry & !1).unwrap_or(head);
        if entry != pending {
            handle(entry);
        }
        entry = next;
        n += 1;
    }
    if pending != 0 {
        handle(pending);
    }
}

/// `exit`: ends the calling thread. The last thread's exit ends the process.
pub fn exit(t: &mut Task, status: i32) -> Flow {
    exit_robust_list(t);
    if t.clear_child_tid != 0 {
        let _ = t.proc.write_u32(t.clear_child_tid, 0);
        crate::futex::wake(&t.proc, t.clear_child_tid, 1);
    }
    t.detach();
    if t.proc.threads.fetch_sub(1, Ordering::SeqCst) == 1 {
        crate::exit::exit_process(status);
    }
    Flow::Exit(status)
}

/// `set_tid_address`.
pub fn set_tid_address(t: &mut Task, a: [u64; 6]) -> SysResult {
    t.clear_child_tid = a[0];
    Ok(t.tid as u64)
}

/// `set_robust_list`.
pub fn set_robust_list(t: &mut Task, a: [u64; 6]) -> SysResult {
    if a[1] != 24 {
        return Err(Errno::EINVAL);
    }
    t.robust_list = (a[0], a[1]);
    Ok(0)
}

/// `get_robust_list` (own thread only).
pub fn get_robust_list(t: &mut Task, a: [u64; 6]) -> SysResult {
    if a[0] != 0 && a[0] as i32 != t.tid {
        return Err(Errno::EPERM);
    }
    t.proc.write_u64(a[1], t.robust_list.0)?;
    t.proc.write_u64(a[2], t.robust_list.1)?;
    Ok(0)
}
