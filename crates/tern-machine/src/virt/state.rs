//! A `virt` machine's state as plain data, for snapshots and migration (DESIGN.md
//! invariant 1): every hart, every device, the clock, and tern's own firmware state.
//! Guest RAM is not in here: it is saved and restored page by page by the caller.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tern_devices::DeviceState;
use tern_hart::clock::ClockState;
use tern_hart::{GuestRam, HartState};

use super::hart_thread::Shared;
use super::pause::PauseError;
use super::{VirtError, VirtMachine};

/// HSM state of one hart (tern-as-firmware).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HsmState {
    /// SBI HSM state.
    pub state: u64,
    /// A `hart_start` not yet taken.
    pub start: Option<(u64, u64)>,
    /// SBI timer deadline.
    pub sbi_deadline: u64,
}

/// Everything of a machine but its RAM.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MachineState {
    /// Each hart's architectural state.
    pub harts: Vec<HartState>,
    /// Each hart's firmware-side state.
    pub hsm: Vec<HsmState>,
    /// Each device window's state, by window name.
    pub devices: Vec<(String, DeviceState)>,
    /// Guest time.
    pub clock: ClockState,
    /// Instructions retired so far.
    pub retired: u64,
}

fn firmware_states(shared: &Shared) -> Vec<HsmState> {
    shared
        .slots
        .iter()
        .map(|slot| {
            let h = slot.hsm.lock().unwrap_or_else(|e| e.into_inner());
            HsmState {
                state: h.state,
                start: h.start,
                sbi_deadline: slot.sbi_deadline.load(Ordering::Acquire),
            }
        })
        .collect()
}

fn apply_firmware_states(shared: &Shared, hsm: &[HsmState]) {
    for (slot, saved) in shared.slots.iter().zip(hsm) {
        let mut h = slot.hsm.lock().unwrap_or_else(|e| e.into_inner());
        h.state = saved.state;
        h.start = saved.start;
        slot.sbi_deadline
            .store(saved.sbi_deadline, Ordering::Release);
    }
}

fn device_states(shared: &Shared) -> Vec<(String, DeviceState)> {
    let mut out = Vec::new();
    shared
        .devices
        .for_each(|name, dev| out.push((name.to_string(), dev.save_state())));
    out
}

fn apply_device_states(shared: &Shared, states: &[(String, DeviceState)]) -> Result<(), VirtError> {
    let mut result = Ok(());
    shared.devices.for_each(|name, dev| {
        if result.is_err() {
            return;
        }
        match states.iter().find(|(n, _)| n == name) {
            Some((_, state)) => {
                if let Err(e) = dev.restore_state(state) {
                    result = Err(VirtError::Config(format!("device {name}: {e}")));
                }
            }
            None => {
                result = Err(VirtError::Config(format!(
                    "the saved state has no device {name}"
                )))
            }
        }
    });
    result
}

fn check_shape(shared: &Shared, state: &MachineState) -> Result<(), VirtError> {
    let n = shared.slots.len();
    if state.harts.len() != n || state.hsm.len() != n {
        return Err(VirtError::Config(format!(
            "the saved state has {} harts, the machine {n}",
            state.harts.len()
        )));
    }
    Ok(())
}

impl VirtMachine {
    /// A handle to control the machine while it runs (from another thread).
    pub fn handle(&self) -> VirtHandle {
        VirtHandle(self.shared.clone())
    }

    /// Guest RAM (to fill it from a snapshot before running).
    pub fn ram(&self) -> Arc<GuestRam> {
        self.shared.ram.clone()
    }

    /// Puts the machine, before it runs, into a saved state (RAM is the caller's).
    pub fn load_state(&mut self, state: &MachineState) -> Result<(), VirtError> {
        check_shape(&self.shared, state)?;
        for (hart, saved) in self.harts.iter_mut().zip(&state.harts) {
            hart.set_state(saved.clone());
        }
        apply_firmware_states(&self.shared, &state.hsm);
        apply_device_states(&self.shared, &state.devices)?;
        self.shared.clock.set(state.clock.ticks);
        self.shared.retired.store(state.retired, Ordering::Relaxed);
        Ok(())
    }
}

/// Controls a running machine from another thread: pause, resume, save state.
#[derive(Clone)]
pub struct VirtHandle(Arc<Shared>);

/// A summary of the machine for status reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VirtStatus {
    /// Paused at an instruction boundary.
    pub paused: bool,
    /// Stopped (powered off, reset or out of instructions).
    pub stopped: bool,
    /// Number of harts.
    pub harts: usize,
    /// Instructions retired by all harts.
    pub retired: u64,
    /// RAM size in bytes.
    pub memory: u64,
    /// Guest RAM written so far (since the last snapshot), in bytes.
    pub touched: u64,
    /// Device windows.
    pub devices: Vec<String>,
    /// Per hart (when paused): (pc, privilege level).
    pub hart_pcs: Vec<(u64, u8)>,
}

impl VirtHandle {
    /// Stops every hart at an instruction boundary and stops guest time.
    pub fn pause(&self, timeout: Duration) -> Result<(), PauseError> {
        self.0.pause.pause(&self.0, timeout)
    }

    /// Lets a paused machine run again.
    pub fn resume(&self) -> Result<(), PauseError> {
        self.0.pause.resume(&self.0)
    }

    /// Powers the machine off.
    pub fn stop(&self) {
        self.0.stop(super::StopReason::PowerOff(0));
    }

    /// Guest RAM.
    pub fn ram(&self) -> Arc<GuestRam> {
        self.0.ram.clone()
    }

    /// The state of a paused machine (all but RAM).
    pub fn save_state(&self) -> Result<MachineState, PauseError> {
        let harts = self.0.pause.hart_states()?;
        Ok(MachineState {
            harts,
            hsm: firmware_states(&self.0),
            devices: device_states(&self.0),
            clock: self.0.clock.save(),
            retired: self.0.retired.load(Ordering::Relaxed),
        })
    }

    /// A status summary.
    pub fn status(&self) -> VirtStatus {
        let paused = self.0.pause.requested();
        let hart_pcs = self
            .0
            .pause
            .hart_states()
            .map(|hs| hs.iter().map(|h| (h.pc, h.prv as u8)).collect())
            .unwrap_or_default();
        let mut devices = Vec::new();
        for w in self.0.devices.windows() {
            devices.push(w.name.clone());
        }
        VirtStatus {
            paused,
            stopped: self.0.stopping(),
            harts: self.0.slots.len(),
            retired: self.0.retired.load(Ordering::Relaxed),
            memory: self.0.ram.size(),
            touched: self.0.ram.dirty_pages() * tern_hart::mem::ram::PAGE_SIZE,
            devices,
            hart_pcs,
        }
    }
}
