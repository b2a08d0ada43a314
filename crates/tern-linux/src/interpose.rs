//! Interposition on a process VM's system calls and instruction stream: the one
//! hook mechanism through which a policy ([`crate::policy`]) or a built-in plugin
//! sees what the program does and may deny it.
//!
//! An [`Interposer`] sees every system call before the dispatch ([`crate::kernel`])
//! with its number and arguments and answers [`Verdict::Allow`],
//! [`Verdict::Deny`] (the program sees the errno, the call is not made) or
//! [`Verdict::Watch`] (made, and [`Interposer::after`] sees the result). A
//! [`Plugin`] gives each thread's hart an [`ExecObserver`]: callbacks per block of
//! retired instructions and per memory access.
//!
//! Both are installed once per host process, before the program runs: with none
//! installed the run loop pays one load and a branch per system call and per run
//! slice, and the harts run their uninstrumented code. A program's `execve`
//! starts a new `tern exec`; [`reexec_args`] are the options that install the same
//! hooks there.

use std::sync::{Arc, Mutex, OnceLock};

use tern_hart::ExecObserver;

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

/// A built-in plugin on the instruction stream: gives each thread's hart an
/// [`ExecObserver`] (block and memory callbacks, see [`tern_hart::observer`]).
/// With no plugin installed the harts run their uninstrumented code.
pub trait Plugin: Send + Sync {
    /// Called once the process exists, before the program runs.
    fn attach(&self, _proc: &Arc<Process>) -> Result<(), String> {
        Ok(())
    }

    /// The callbacks for the hart of a new thread `tid` (the observer hands what it
    /// gathers back to the plugin in [`ExecObserver::flush`], called after each
    /// run slice).
    fn observer(&'static self, tid: i32) -> Box<dyn ExecObserver>;
}

static INTERPOSER: OnceLock<Box<dyn Interposer>> = OnceLock::new();
static PLUGINS: Mutex<Vec<&'static dyn Plugin>> = Mutex::new(Vec::new());
static REEXEC: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// Installs the system-call hook of this host process (once; a second call
/// returns `false` and changes nothing).
pub fn install(hook: Box<dyn Interposer>) -> bool {
    INTERPOSER.set(hook).is_ok()
}

/// Adds a plugin to this host process (before the program runs).
pub fn install_plugin(p: &'static dyn Plugin) {
    PLUGINS.lock().unwrap_or_else(|e| e.into_inner()).push(p);
}

fn plugins() -> Vec<&'static dyn Plugin> {
    PLUGINS.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Whether a plugin is installed (the run loop then flushes observers after each
/// slice).
pub fn has_plugins() -> bool {
    !PLUGINS.lock().unwrap_or_else(|e| e.into_inner()).is_empty()
}

/// The observer for the hart of new thread `tid`: the installed plugins' ones
/// together, or `None` when none is installed.
pub fn observer(tid: i32) -> Option<Box<dyn ExecObserver>> {
    let mut all: Vec<Box<dyn ExecObserver>> =
        plugins().into_iter().map(|p| p.observer(tid)).collect();
    match all.len() {
        0 => None,
        1 => all.pop(),
        _ => Some(Box::new(tern_hart::observer::Fanout(all))),
    }
}

/// The system-call hook, if one is installed.
#[inline]
pub fn interposer() -> Option<&'static dyn Interposer> {
    INTERPOSER.get().map(|b| b.as_ref())
}

/// Gives the installed hooks the process before its program runs.
pub fn attach(proc: &Arc<Process>) -> Result<(), String> {
    if let Some(h) = interposer() {
        h.attach(proc)?;
    }
    for p in plugins() {
        p.attach(proc)?;
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
