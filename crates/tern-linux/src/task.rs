//! The calling thread as the emulated kernel sees it (Linux's `current`): its ids,
//! signal mask and alternate stack, tid and robust-list registrations, the fault
//! waiting to be delivered, and its scratch buffer, with the process it belongs to.
//!
//! The system calls ([`crate::syscalls`]) take a [`Task`], not the
//! [`crate::thread::Thread`] that runs it: no hart, no run loop, so a call can be
//! made (and tested) on a process without running guest code. The few calls that
//! read or set registers (`clone`, `rt_sigreturn`, `sigaltstack`...) get the hart
//! beside it from the dispatch ([`crate::kernel`]).

use std::sync::Arc;

use crate::process::Process;
use crate::signal::{self, AltStack, SigInfo};

/// The host thread id of the caller.
pub fn gettid() -> i32 {
    // SAFETY: gettid has no arguments and cannot fail.
    unsafe { libc::syscall(libc::SYS_gettid) as i32 }
}

/// One guest thread's kernel-side state.
pub struct Task {
    /// The process.
    pub proc: Arc<Process>,
    /// Guest thread id: the host thread id, except for threads restored from a
    /// snapshot, which keep the id they had.
    pub tid: i32,
    /// Host thread id of the thread that runs this one.
    pub host_tid: i32,
    /// Blocked signals.
    pub sigmask: u64,
    /// `sigaltstack`.
    pub altstack: AltStack,
    /// `set_tid_address` / `CLONE_CHILD_CLEARTID`: zeroed and woken at exit.
    pub clear_child_tid: u64,
    /// `set_robust_list` head and length.
    pub robust_list: (u64, u64),
    /// A synchronous signal (fault) to deliver before running on.
    pub forced: Option<SigInfo>,
    /// The mask to restore after a handler (`rt_sigsuspend` waits with another).
    pub saved_mask: Option<u64>,
    /// Scratch buffer for I/O (see [`crate::syscalls::transfer`]).
    pub buf: Vec<u8>,
}

impl Task {
    /// Thread `tid` of `proc`, run by host thread `host_tid`, with no signal blocked
    /// and nothing registered. (It is not entered in the process's thread list: the
    /// thread that runs it does that with its hart.)
    pub fn new(proc: Arc<Process>, tid: i32, host_tid: i32) -> Task {
        Task {
            proc,
            tid,
            host_tid,
            sigmask: 0,
            altstack: AltStack {
                sp: 0,
                flags: signal::SS_DISABLE,
                size: 0,
            },
            clear_child_tid: 0,
            robust_list: (0, 0),
            forced: None,
            saved_mask: None,
            buf: Vec::new(),
        }
    }

    /// The guest's process id (the host process id, except after a restore).
    pub fn proc_pid(&self) -> i32 {
        self.proc.guest_pid()
    }

    /// Sets the signal mask (SIGKILL and SIGSTOP cannot be blocked) and mirrors it to
    /// the host thread.
    pub fn set_mask(&mut self, mask: u64) {
        let mask = mask & !signal::UNBLOCKABLE;
        if mask != self.sigmask {
            self.sigmask = mask;
            signal::mirror_mask(mask);
        }
    }

    /// Whether a signal is waiting that this thread would take now, or the process
    /// is being paused: blocking system calls then return `EINTR`, and the call is
    /// rewound to its `ecall` (restarted on resume, or after a restore).
    pub fn signal_pending(&self) -> bool {
        if self.forced.is_some() || signal::host_pending() || self.proc.pause.requested() {
            return true;
        }
        let tp = self
            .proc
            .thread_pending
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if tp
            .iter()
            .any(|(t, i)| *t == self.tid && signal::bit(i.signo) & self.sigmask == 0)
        {
            return true;
        }
        drop(tp);
        let p = self.proc.pending.lock().unwrap_or_else(|e| e.into_inner());
        p.iter().any(|i| signal::bit(i.signo) & self.sigmask == 0)
    }

    /// Takes the next signal this thread should handle, if any: a fault first, then
    /// signals for this thread, then signals for the process, each unless blocked.
    pub fn next_signal(&mut self) -> Option<SigInfo> {
        if let Some(f) = self.forced.take() {
            return Some(f);
        }
        for info in signal::take_host_pending() {
            self.proc.post(info);
        }
        {
            let mut tp = self
                .proc
                .thread_pending
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if let Some(i) = tp
                .iter()
                .position(|(t, i)| *t == self.tid && signal::bit(i.signo) & self.sigmask == 0)
            {
                return Some(tp.remove(i).1);
            }
        }
        let mut p = self.proc.pending.lock().unwrap_or_else(|e| e.into_inner());
        let i = p
            .iter()
            .position(|i| signal::bit(i.signo) & self.sigmask == 0)?;
        Some(p.remove(i))
    }

    /// Unregisters the thread from the process.
    pub fn detach(&mut self) {
        self.proc.shoot.unregister(self.tid);
    }
}
