//! The `virt` board as a [`Debuggee`]: gdb threads are harts (thread 1 is hart 0).
//!
//! Stopping is the board's pause (every hart parks at an instruction boundary and
//! guest time stands still); registers are the parked harts' states; breakpoints go
//! to each hart through the board's debug hub.

use std::sync::Arc;
use std::time::Duration;

use tern_hart::{GuestRam, HartState, HostDebug};
use tern_machine::virt::pause::PauseError;
use tern_machine::virt::state::VirtHandle;
use tern_machine::virt::StopReason;

use crate::debuggee::{Debuggee, Event};

/// How long stopping may take before the debugger gives up.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// A running `virt` machine under the debugger.
pub struct VirtDebuggee {
    handle: VirtHandle,
}

impl VirtDebuggee {
    /// The machine behind `handle`.
    pub fn new(handle: VirtHandle) -> VirtDebuggee {
        VirtDebuggee { handle }
    }
}

fn exit_status(reason: Option<StopReason>) -> i32 {
    match reason {
        Some(StopReason::PowerOff(code)) => code,
        Some(StopReason::InstructionLimit) => 124,
        Some(StopReason::Reboot) | None => 0,
    }
}

impl Debuggee for VirtDebuggee {
    fn is_system(&self) -> bool {
        true
    }

    fn threads(&self) -> Vec<u64> {
        (0..self.handle.status().harts as u64).collect()
    }

    fn stop(&mut self) -> Result<(), String> {
        if self.handle.stopped() {
            return Err("the machine has stopped".into());
        }
        match self.handle.pause(STOP_TIMEOUT) {
            Ok(()) => Ok(()),
            Err(e) => Err(e.to_string()),
        }
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
            Ok(()) | Err(PauseError::NotPaused) => Ok(()),
            Err(e) => Err(e.to_string()),
        }
    }

    fn wait(&mut self, timeout: Duration) -> Option<Event> {
        if self.handle.stopped() {
            return Some(Event::Exited(exit_status(self.handle.stop_reason())));
        }
        let (hart, why) = self.handle.debug().wait_stop(timeout)?;
        match self.handle.wait_paused(STOP_TIMEOUT) {
            Ok(()) => Some(Event::Stopped(hart, why)),
            Err(_) if self.handle.stopped() => {
                Some(Event::Exited(exit_status(self.handle.stop_reason())))
            }
            Err(e) => {
                eprintln!("tern: gdb: hart {hart} stopped but the machine did not: {e}");
                None
            }
        }
    }

    fn state(&self, thread: u64) -> Option<HartState> {
        self.handle
            .hart_states()
            .ok()?
            .get(thread as usize)
            .cloned()
    }

    fn set_state(&mut self, thread: u64, state: HartState) -> Result<(), String> {
        let mut states = self.handle.hart_states().map_err(|e| e.to_string())?;
        let slot = states
            .get_mut(thread as usize)
            .ok_or_else(|| format!("no hart {thread}"))?;
        *slot = state;
        self.handle
            .set_hart_states(states)
            .map_err(|e| e.to_string())
    }

    fn ram(&self) -> Arc<GuestRam> {
        self.handle.ram()
    }

    fn kill(&mut self) {
        self.handle.stop();
    }
}
