//! Interposition on a process VM's system calls and instruction stream: the one
//! hook mechanism through which a policy ([`crate::policy`]) or a built-in plugin
//! sees what the program does and may deny it.
//!
//! An [`Interposer`] sees every system call before the dispatch ([`crate::kernel`])
//! with its number and arguments and answers [`Verdict::Allow`],
//! [`Verdict::Deny`] (the program sees the errno, the call is not made) or
//! [`Verdict::Watch`] (made, and [`Interposer::after`] sees the result). A
//! [`Sampler`] sees where each thread's pc is every [`Sampler::period`] retired
//! instructions.
//!
//! Both are installed once per host process, before the program runs, and kept in
//! `OnceLock`s: with none installed the run loop pays one load and a branch per
//! system call and per run slice, nothing per instruction. A program's `execve`
//! starts a new `tern exec`; [`reexec_args`] are the options that install the same
//! hooks there.

use std::sync::{Arc, OnceLock};

use crate::errno::{Errno, SysResult};
use crate::process::Process;
use crate::task::Task;

/// What an [`Interposer`] decides about a system call before it is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Make the call.
    Allow,
    /// Do not make it: the program sees this error.
    Deny(Errno),
    /// Make it, and call [`Interposer::after`] with the result and this note (for
    /// example the call formatted before it ran, to log with its result).
    Watch(String),
}

/// A hook on a process VM's system calls.
pub trait Interposer: Send + Sync {
    /// Called once the process exists, before the program runs (to resolve paths
    /// in its file view, open a log...). An error stops `tern exec` with it.
    fn attach(&self, _proc: &Arc<Process>) -> Result<(), String> {
        Ok(())
    }

    /// Called before system call `nr` with arguments `args` of thread `t`.
    fn before(&self, t: &Task, nr: u64, args: &[u64; 6]) -> Verdict;

    /// Called after a call that [`Interposer::before`] watched, with its result
    /// (not for calls that do not return: `exit`, a successful `execve`...).
    fn after(&self, _t: &Task, _nr: u64, _args: &[u64; 6], _note: String, _result: &SysResult) {}
}

/// A hook that samples the program counter of every thread.
pub trait Sampler: Send + Sync {
    /// Retired instructions between two samples (at least 1).
    fn period(&self) -> u64;

    /// Thread `tid` retired `n` instructions and stands at `pc`.
    fn sample(&self, tid: i32, pc: u64, n: u64);

    /// Called once the process exists, before the program runs.
    fn attach(&self, _proc: &Arc<Process>) -> Result<(), String> {
        Ok(())
    }
}

static INTERPOSER: OnceLock<Box<dyn Interposer>> = OnceLock::new();
static SAMPLER: OnceLock<Box<dyn Sampler>> = OnceLock::new();
static REEXEC: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// Installs the system-call hook of this host process (once; a second call
/// returns `false` and changes nothing).
pub fn install(hook: Box<dyn Interposer>) -> bool {
    INTERPOSER.set(hook).is_ok()
}

/// Installs the pc sampler of this host process (once).
pub fn install_sampler(s: Box<dyn Sampler>) -> bool {
    SAMPLER.set(s).is_ok()
}

/// The system-call hook, if one is installed.
#[inline]
pub fn interposer() -> Option<&'static dyn Interposer> {
    INTERPOSER.get().map(|b| b.as_ref())
}

/// The pc sampler, if one is installed.
#[inline]
pub fn sampler() -> Option<&'static dyn Sampler> {
    SAMPLER.get().map(|b| b.as_ref())
}

/// Gives the installed hooks the process before its program runs.
pub fn attach(proc: &Arc<Process>) -> Result<(), String> {
    if let Some(h) = interposer() {
        h.attach(proc)?;
    }
    if let Some(s) = sampler() {
        s.attach(proc)?;
    }
    Ok(())
}

/// Adds `tern exec` options that install the same hooks in the `tern exec` a
/// program's `execve` starts.
pub fn add_reexec_args(args: impl IntoIterator<Item = String>) {
    REEXEC
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .extend(args);
}

/// The options [`add_reexec_args`] recorded (none when no hook is installed).
pub fn reexec_args() -> Vec<String> {
    REEXEC.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Runs the installed hook's decision for a call (`Allow` when none is installed).
#[inline]
pub fn before(t: &Task, nr: u64, args: &[u64; 6]) -> Verdict {
    match interposer() {
        Some(h) => h.before(t, nr, args),
        None => Verdict::Allow,
    }
}
