//! The `spike` board as a [`Debuggee`]: one hart, gdb thread 1.
//!
//! Stopping is the board's pause (the run loop parks between slices with guest time
//! frozen); registers are the parked hart's state; breakpoints go to the hart
//! through the board's debug hub, as on `virt`.

use std::sync::Arc;
use std::time::Duration;

use tern_hart::{GuestRam, HartState, HostDebug};
use tern_machine::spike::control::SpikeControlError;
use tern_machine::{SpikeExit, SpikeHandle};

use crate::debuggee::{Debuggee, Event};

/// How long stopping may take before the debugger gives up.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// A running `spike` machine under the debugger.
pub struct SpikeDebuggee {
    handle: SpikeHandle,
}

impl SpikeDebuggee {
    /// The machine behind `handle`.
    pub fn new(handle: SpikeHandle) -> SpikeDebuggee {
        SpikeDebuggee { handle }
    }

    fn exited(&self) -> Option<Event> {
        let status = match self.handle.exit()? {
            SpikeExit::Exited(code) => code as i32,
            SpikeExit::InstructionLimit => 124,
            SpikeExit::Deadlock | SpikeExit::Stopped => 0,
        };
        Some(Event::Exited(status))
    }
}

impl Debuggee for SpikeDebuggee {
    fn is_system(&self) -> bool {
        true
    }

    fn threads(&self) -> Vec<u64> {
        vec![0]
    }

    fn stop(&mut self) -> Result<(), String> {
        self.handle.pause(STOP_TIMEOUT).map_err(|e| e.to_string())
    }

    fn request_stop(&self) {
        self.handle.request_pause();
    }

    fn resume(
        &mut self,
        settings: &[(u64, Option<HostDebug>)],
        others: Option<HostDebug>,
    ) -> Result<(), String> {
        self.handle
            .debug()
            .set(settings.iter().cloned().collect(), others);
        match self.handle.resume() {
            Ok(()) | Err(SpikeControlError::NotPaused) => Ok(()),
            Err(e) => Err(e.to_string()),
        }
    }

    fn wait(&mut self, timeout: Duration) -> Option<Event> {
        if let Some(e) = self.exited() {
            return Some(e);
        }
        let (hart, why) = self.handle.debug().wait_stop(timeout)?;
        match self.handle.wait_paused(STOP_TIMEOUT) {
            Ok(()) => Some(Event::Stopped(hart, why)),
            Err(e) => self.exited().or_else(|| {
                eprintln!("tern: gdb: the hart stopped but the machine did not pause: {e}");
                None
            }),
        }
    }

    fn state(&self, thread: u64) -> Option<HartState> {
        (thread == 0).then(|| self.handle.hart_state().ok())?
    }

    fn set_state(&mut self, thread: u64, state: HartState) -> Result<(), String> {
        if thread != 0 {
            return Err(format!("no hart {thread}"));
        }
        self.handle.set_hart_state(state).map_err(|e| e.to_string())
    }

    fn ram(&self) -> Arc<GuestRam> {
        self.handle.ram()
    }

    fn kill(&mut self) {
        self.handle.stop();
    }
}
