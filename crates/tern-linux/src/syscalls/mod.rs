//! The system calls, by area (the dispatch on the riscv64 numbers is
//! [`crate::kernel`]).
//!
//! Each handler takes the calling thread's kernel state ([`crate::task::Task`]) and
//! the call's arguments; the few that read or set registers get them beside it.
//! Every handler checks its arguments and copies user memory through the address
//! space, so a bad pointer is `EFAULT` and a bad argument `EINVAL`, never a host
//! fault. Calls the emulator does not implement return `ENOSYS` and are reported once
//! with `--strace`.

pub mod cmsg;
pub mod fs;
pub mod handles;
pub mod inotify;
pub mod io;
pub mod kcmp;
pub mod mincore;
pub mod misc;
pub mod mm;
pub mod mmsg;
pub mod mqueue;
pub mod net;
pub mod path_args;
pub mod pathobj;
pub mod pidfd;
pub mod poll;
pub mod proc;
pub mod proc_self;
pub mod sched;
pub mod sched_attr;
pub mod signal;
pub mod signalfd;
pub mod splice;
pub mod sysv_msg;
pub mod sysv_sem;
pub mod sysv_shm;
pub mod thread;
pub mod time;
pub mod timer;
pub mod transfer;
pub mod wait;
pub mod xattr;

#[cfg(test)]
mod tests;

use tern_hart::HartState;

use crate::errno::SysResult;
use crate::process::ThreadSlot;

/// What the thread does after a system call.
#[derive(Debug)]
pub enum Flow {
    /// Write the result to `a0` and continue after the `ecall`.
    Ret(SysResult),
    /// The handler set the registers itself (`rt_sigreturn`, `clone` in the child...).
    Keep,
    /// The thread ends with this status.
    Exit(i32),
    /// Start a new thread of the process (`clone` with `CLONE_THREAD`): the thread
    /// that runs the caller starts it, and the result (the new tid or an error) is
    /// the call's.
    Spawn(Box<NewThread>),
}

/// A thread `clone` asked for, counted against the thread limit until it runs.
#[derive(Debug)]
pub struct NewThread {
    /// Its registers: the caller's, with `a0` = 0, the new stack and TLS, `pc` after
    /// the `ecall`.
    pub regs: HartState,
    /// Its signal mask (the caller's).
    pub sigmask: u64,
    /// The `clone` flags (`CLONE_PARENT_SETTID`, `CLONE_CHILD_SETTID`,
    /// `CLONE_CHILD_CLEARTID` are done when it starts).
    pub flags: u64,
    /// Where `CLONE_PARENT_SETTID` stores the new tid.
    pub parent_tid: u64,
    /// Where `CLONE_CHILD_SETTID` stores it, and `CLONE_CHILD_CLEARTID` clears it.
    pub child_tid: u64,
    /// Its place under the thread limit, given back when it runs (or failed).
    pub reservation: ThreadSlot,
}
