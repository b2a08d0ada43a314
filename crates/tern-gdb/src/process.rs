//! A process VM (`tern exec`, or one restored) as a [`Debuggee`]: gdb threads are the
//! program's threads, by their Linux thread ids.
//!
//! Stopping is the process's pause (threads park at an instruction boundary; one in
//! a blocking system call is rewound to its `ecall`); registers are the parked
//! threads' hart states, memory is the process's address space through its page
//! tables. The program's end ends the host process, and with it the connection.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tern_hart::{GuestRam, HartState, HostDebug};
use tern_linux::mm::Access;
use tern_linux::pause::PauseError;
use tern_linux::Process;

use crate::debuggee::{Debuggee, Event};

/// How long stopping may take before the debugger gives up.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// A running process VM under the debugger.
pub struct ProcessDebuggee {
    proc: Arc<Process>,
}

impl ProcessDebuggee {
    /// The process `proc`.
    pub fn new(proc: Arc<Process>) -> ProcessDebuggee {
        ProcessDebuggee { proc }
    }

    /// Pauses the process and waits until every thread has parked: a thread that
    /// registered after the pause began (the main thread of a program that has not
    /// started yet) parks at its first boundary.
    fn pause_all(&self) -> Result<(), String> {
        self.proc.pause(STOP_TIMEOUT).map_err(|e| e.to_string())?;
        let start = Instant::now();
        loop {
            let threads = self.threads();
            let parked = threads
                .iter()
                .all(|&t| self.proc.pause.parked_thread(t as i32).is_some());
            if !threads.is_empty() && parked {
                return Ok(());
            }
            if start.elapsed() > STOP_TIMEOUT {
                return Err(format!("the threads did not stop within {STOP_TIMEOUT:?}"));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

impl Debuggee for ProcessDebuggee {
    fn is_system(&self) -> bool {
        false
    }

    fn threads(&self) -> Vec<u64> {
        let mut t: Vec<u64> = self
            .proc
            .shoot
            .entries()
            .iter()
            .map(|h| h.tid as u64)
            .collect();
        t.sort_unstable();
        t
    }

    fn stop(&mut self) -> Result<(), String> {
        self.pause_all()
    }

    fn request_stop(&self) {
        self.proc.pause.request();
    }

    fn resume(
        &mut self,
        settings: &[(u64, Option<HostDebug>)],
        others: Option<HostDebug>,
    ) -> Result<(), String> {
        self.proc
            .debug
            .set(settings.iter().cloned().collect(), others);
        match self.proc.resume() {
            Ok(()) | Err(PauseError::NotPaused) => Ok(()),
            Err(e) => Err(e.to_string()),
        }
    }

    fn wait(&mut self, timeout: Duration) -> Option<Event> {
        if self.proc.pause.is_stopped() {
            return Some(Event::Exited(0));
        }
        let (thread, why) = self.proc.debug.wait_stop(timeout)?;
        match self.pause_all() {
            Ok(()) => Some(Event::Stopped(thread, why)),
            Err(e) => {
                eprintln!("tern: gdb: thread {thread} stopped but the process did not: {e}");
                None
            }
        }
    }

    fn state(&self, thread: u64) -> Option<HartState> {
        self.proc.pause.parked_thread(thread as i32).map(|t| t.hart)
    }

    fn set_state(&mut self, thread: u64, state: HartState) -> Result<(), String> {
        self.proc
            .pause
            .set_parked_hart(thread as i32, state)
            .map_err(|e| e.to_string())
    }

    fn ram(&self) -> Arc<GuestRam> {
        self.proc.mm().ram().clone()
    }

    fn populate(&self, _thread: u64, vaddr: u64) -> bool {
        matches!(
            self.proc.mm().fault(vaddr, Access::Read),
            tern_linux::mm::Fault::Resolved
        )
    }

    fn kill(&mut self) {
        tern_linux::exit::exit_process(128 + 9);
    }
}
