//! What the gdb server needs from a VM: stop it, read and change its threads' states
//! and memory, run it with breakpoints, and hear why it stopped.

use std::sync::Arc;
use std::time::Duration;

use tern_hart::{DebugStop, GuestRam, HartState, HostDebug};

/// What a running VM reports to the debugger.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// Thread `0` stopped for the reason given; every thread is stopped now.
    Stopped(u64, DebugStop),
    /// The VM ended with this exit status.
    Exited(i32),
}

/// A VM the gdb server debugs: a system VM (threads are harts) or a process VM
/// (threads are the program's threads). Thread ids are the VM's own (hart number,
/// Linux thread id).
pub trait Debuggee: Send {
    /// Whether this is a whole machine (its description has the privileged CSRs).
    fn is_system(&self) -> bool;

    /// The threads that exist now, in a stable order.
    fn threads(&self) -> Vec<u64>;

    /// Stops every thread at an instruction boundary (returns once stopped).
    fn stop(&mut self) -> Result<(), String>;

    /// Asks every thread to stop at its next boundary without waiting: called before
    /// the VM starts, so that with `--gdb-wait` it runs no instruction before gdb
    /// continues it.
    fn request_stop(&self);

    /// Runs again; `settings` says what each thread (by id) is asked for, `None`
    /// keeps it stopped while the others run (gdb's scheduler locking); a thread not
    /// listed (one that starts while the VM runs) gets `others`.
    fn resume(
        &mut self,
        settings: &[(u64, Option<HostDebug>)],
        others: Option<HostDebug>,
    ) -> Result<(), String>;

    /// Waits up to `timeout` for the VM to stop for the debugger or end.
    fn wait(&mut self, timeout: Duration) -> Option<Event>;

    /// The architectural state of a stopped thread.
    fn state(&self, thread: u64) -> Option<HartState>;

    /// Replaces the state of a stopped thread (it continues from it).
    fn set_state(&mut self, thread: u64, state: HartState) -> Result<(), String>;

    /// The VM's guest RAM (physical).
    fn ram(&self) -> Arc<GuestRam>;

    /// Ends the VM (gdb's `kill`).
    fn kill(&mut self);

    /// Makes virtual page `vaddr` of `thread` present if the VM maps pages lazily
    /// (a process VM's untouched `bss` or heap): what the thread would read there is
    /// then readable. Returns whether a page was made present.
    fn populate(&self, thread: u64, vaddr: u64) -> bool {
        let _ = (thread, vaddr);
        false
    }
}
