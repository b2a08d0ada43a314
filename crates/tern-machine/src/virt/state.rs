//! A `virt` machine's state as plain data, for snapshots and migration (DESIGN.md
//! invariant 1): the board walks its components and saves each one's versioned state
//! under its name ([`Sections`]): `board` (instructions retired), `clock`, `hart0`...,
//! `sbi` (tern's firmware, when tern is the SBI), and every device window that has
//! state by its window name (`test`, `rtc`, `clint`, `plic`, `uart`, `virtio0`...;
//! empty virtio slots have none). Restoring walks the same components of a machine
//! built from the same configuration: a component whose state is missing, or a saved
//! state no component takes, is an error naming both sides. Guest RAM is not in here:
//! it is saved and restored page by page by the caller.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tern_hart::{GuestRam, HartState};
use tern_state::{Decoder, Encoder, Persist, Sections, StateError, Versioned};

use super::hart_thread::Shared;
use super::pause::PauseError;
use super::VirtMachine;

/// tern's firmware state for one hart (tern as the SBI).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HsmState {
    /// SBI HSM state.
    pub state: u64,
    /// A `hart_start` not yet taken: (address, opaque).
    pub start: Option<(u64, u64)>,
    /// SBI timer deadline (`u64::MAX`: none).
    pub sbi_deadline: u64,
}

/// tern's SBI firmware state: one [`HsmState`] per hart.
///
/// Encoded (version 1, kind `tern-sbi`) as a base of `(HSM state, timer deadline)` per
/// hart and a part `start`, written while a `hart_start` has not been taken yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SbiState {
    /// Per hart.
    pub harts: Vec<HsmState>,
}

impl Versioned for SbiState {
    const KIND: &'static str = "tern-sbi";
    const VERSION: u32 = 1;

    fn encode(&self, out: &mut Encoder) {
        let base: Vec<(u64, u64)> = self
            .harts
            .iter()
            .map(|h| (h.state, h.sbi_deadline))
            .collect();
        out.base(&base);
        let starts: Vec<Option<(u64, u64)>> = self.harts.iter().map(|h| h.start).collect();
        out.part("start", starts.iter().any(Option::is_some), &starts);
    }

    fn decode(input: &mut Decoder<'_>) -> Result<Self, StateError> {
        let base: Vec<(u64, u64)> = input.base()?;
        let starts: Vec<Option<(u64, u64)>> = match input.part("start")? {
            Some(s) => s,
            None => vec![None; base.len()],
        };
        if starts.len() != base.len() {
            return Err(StateError::malformed(format!(
                "{} pending starts for {} harts",
                starts.len(),
                base.len()
            )));
        }
        let harts = base
            .into_iter()
            .zip(starts)
            .map(|((state, sbi_deadline), start)| HsmState {
                state,
                start,
                sbi_deadline,
            })
            .collect();
        Ok(SbiState { harts })
    }
}

/// The firmware side of a machine's hart slots, as a component.
struct Firmware<'a>(&'a Shared);

impl Persist for Firmware<'_> {
    type State = SbiState;

    fn save(&self) -> Result<SbiState, StateError> {
        let harts = self
            .0
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
            .collect();
        Ok(SbiState { harts })
    }

    fn restore(&mut self, state: &SbiState) -> Result<(), StateError> {
        let n = self.0.slots.len();
        if state.harts.len() != n {
            return Err(StateError::mismatch(format!(
                "firmware state for {} harts, this machine has {n}",
                state.harts.len()
            )));
        }
        for (slot, saved) in self.0.slots.iter().zip(&state.harts) {
            let mut h = slot.hsm.lock().unwrap_or_else(|e| e.into_inner());
            h.state = saved.state;
            h.start = saved.start;
            slot.sbi_deadline
                .store(saved.sbi_deadline, Ordering::Release);
        }
        Ok(())
    }
}

/// The board's own state.
///
/// Encoded (version 1, kind `virt`) as a base holding the instructions retired.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoardState {
    /// Instructions retired by all harts so far.
    pub retired: u64,
}

impl Versioned for BoardState {
    const KIND: &'static str = "virt";
    const VERSION: u32 = 1;

    fn encode(&self, out: &mut Encoder) {
        out.base(self);
    }

    fn decode(input: &mut Decoder<'_>) -> Result<Self, StateError> {
        input.base()
    }
}

/// The name of hart `i`'s state.
pub fn hart_name(i: usize) -> String {
    format!("hart{i}")
}

/// Saves every component of the machine behind `shared` whose harts have `harts` as
/// their states.
fn save_components(shared: &Shared, harts: &[HartState]) -> Result<Sections, StateError> {
    let mut out = Sections::new();
    out.put(
        "board",
        &BoardState {
            retired: shared.retired.load(Ordering::Relaxed),
        },
    )?;
    out.save("clock", &&*shared.clock)?;
    for (i, h) in harts.iter().enumerate() {
        out.put(&hart_name(i), h)?;
    }
    if shared.builtin_sbi {
        out.save("sbi", &Firmware(shared))?;
    }
    let mut result = Ok(());
    shared.devices.for_each(|name, dev| {
        if result.is_ok() {
            result = out.save(name, &*dev);
        }
    });
    result.map(|()| out)
}

/// A machine saves and restores by walking its components (see the module
/// documentation). Restore before it runs, on a machine built from the saved
/// configuration (`restore_builtin_sbi` set): RAM is the caller's.
impl Persist for VirtMachine {
    type State = Sections;

    /// The state of a machine that is not running (built, or after `run` returned);
    /// a running one saves through [`VirtHandle::save_state`] while paused.
    fn save(&self) -> Result<Sections, StateError> {
        let harts: Vec<HartState> = self.harts.iter().map(|h| h.state().clone()).collect();
        if harts.len() != self.shared.slots.len() {
            return Err(StateError::save("the machine is running: pause it first"));
        }
        save_components(&self.shared, &harts)
    }

    fn restore(&mut self, state: &Sections) -> Result<(), StateError> {
        let shared = self.shared.clone();
        let mut saved = state.clone();
        let board: BoardState = saved.take("board")?;
        saved.restore("clock", &mut &*shared.clock)?;
        for (i, hart) in self.harts.iter_mut().enumerate() {
            saved.restore(&hart_name(i), hart)?;
        }
        if shared.builtin_sbi {
            saved.restore("sbi", &mut Firmware(&shared))?;
        }
        let mut result = Ok(());
        shared.devices.for_each(|name, dev| {
            if result.is_ok() {
                result = saved.restore(name, dev);
            }
        });
        result?;
        shared.retired.store(board.retired, Ordering::Relaxed);
        saved.finish(|name| {
            let window = shared.devices.windows().iter().find(|w| w.name == name);
            match window {
                Some(_) => Some("an empty slot".to_string()),
                None if name == "sbi" => {
                    Some("the firmware (tern is not the SBI: the machine runs firmware given with --bios)".to_string())
                }
                None => None,
            }
        })
    }
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
}

/// Why a running machine's state could not be saved.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    /// The machine is not paused (or stopped meanwhile).
    #[error(transparent)]
    Pause(#[from] PauseError),
    /// A component could not save its state.
    #[error(transparent)]
    State(#[from] StateError),
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
    /// Per hart: instructions retired in this process.
    pub hart_retired: Vec<u64>,
    /// Per device window: (name, guest accesses that reached the device).
    pub device_exits: Vec<(String, u64)>,
    /// Per hart: slow-path counts (TLB walks, block-cache misses) in this process.
    pub hart_counters: Vec<tern_hart::HartCounters>,
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

    /// Asks every hart to park at its next boundary, without waiting (see
    /// [`VirtHandle::wait_paused`]).
    pub fn request_pause(&self) {
        self.0.pause.request(&self.0);
    }

    /// Waits until a pause requested by a hart (one that stopped for the debugger)
    /// is complete: every hart parked, guest time stopped.
    pub fn wait_paused(&self, timeout: Duration) -> Result<(), PauseError> {
        self.0.pause.wait_parked(&self.0, timeout)
    }

    /// The parked harts' states (the machine must be paused).
    pub fn hart_states(&self) -> Result<Vec<tern_hart::HartState>, PauseError> {
        self.0.pause.hart_states()
    }

    /// Replaces the parked harts' states; each hart continues from its new state
    /// when the machine resumes.
    pub fn set_hart_states(&self, states: Vec<tern_hart::HartState>) -> Result<(), PauseError> {
        self.0.pause.set_hart_states(states)
    }

    /// The host debugger's settings and the harts' stop reports.
    pub fn debug(&self) -> &tern_hart::DebugHub {
        &self.0.debug
    }

    /// Whether the machine has stopped for good (powered off, reset, out of
    /// instructions).
    pub fn stopped(&self) -> bool {
        self.0.stopping()
    }

    /// Why the machine stopped, once it has.
    pub fn stop_reason(&self) -> Option<super::StopReason> {
        *self.0.reason.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Powers the machine off.
    pub fn stop(&self) {
        self.0.stop(super::StopReason::PowerOff(0));
    }

    /// Guest RAM.
    pub fn ram(&self) -> Arc<GuestRam> {
        self.0.ram.clone()
    }

    /// The state of a paused machine (all but RAM): every component's, by name.
    pub fn save_state(&self) -> Result<Sections, SaveError> {
        let harts = self.0.pause.hart_states()?;
        Ok(save_components(&self.0, &harts)?)
    }

    /// Takes RAM's dirty log for live migration while the harts run: returns the
    /// guest physical addresses of the pages written since the last call (or since
    /// [`GuestRam::take_dirty`]) and restarts the log.
    ///
    /// A hart writes a page through its TLB without marking it once its slow path has
    /// marked it, so after taking the log every hart must drop its writable entries
    /// before it writes again. This returns only once each hart has (or is not
    /// running, and will before it runs): a page written through an older entry
    /// meanwhile is in the returned list, so reading the listed pages after this
    /// returns sees every write, and any later write is in the next log.
    pub fn sync_dirty_log(&self) -> Vec<u64> {
        let pages = self.0.ram.take_dirty();
        self.0.ram.bump_store_epoch();
        let seqs: Vec<u64> = self
            .0
            .slots
            .iter()
            .map(|slot| slot.lines.request(tern_hart::irq::REQ_POSTED))
            .collect();
        for (slot, seq) in self.0.slots.iter().zip(seqs) {
            slot.lines.wait_done(seq);
        }
        pages
    }

    /// Holds every hart back `percent` % of the time (0 lets them run freely; at most
    /// 99): live migration's auto-converge.
    pub fn set_throttle(&self, percent: u32) {
        let p = percent.min(super::hart_thread::MAX_THROTTLE);
        self.0.throttle.store(p, Ordering::Relaxed);
        if p == 0 {
            for slot in &self.0.slots {
                slot.lines.kick();
            }
        }
    }

    /// The current throttle, in percent.
    pub fn throttle(&self) -> u32 {
        self.0.throttle.load(Ordering::Relaxed)
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
        let mut device_exits = Vec::new();
        for w in self.0.devices.windows() {
            devices.push(w.name.clone());
            device_exits.push((w.name.clone(), w.exits.load(Ordering::Relaxed)));
        }
        let hart_retired = self
            .0
            .slots
            .iter()
            .map(|s| s.retired.load(Ordering::Relaxed))
            .collect();
        let hart_counters = self.0.slots.iter().map(|s| s.counters.load()).collect();
        VirtStatus {
            paused,
            stopped: self.0.stopping(),
            harts: self.0.slots.len(),
            retired: self.0.retired.load(Ordering::Relaxed),
            memory: self.0.ram.size(),
            touched: self.0.ram.dirty_pages() * tern_hart::mem::ram::PAGE_SIZE,
            devices,
            hart_pcs,
            hart_retired,
            device_exits,
            hart_counters,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_firmware_state_without_pending_starts_decodes() {
        let mut s = SbiState {
            harts: vec![
                HsmState {
                    state: 0,
                    start: None,
                    sbi_deadline: 1234,
                },
                HsmState {
                    state: 1,
                    start: None,
                    sbi_deadline: u64::MAX,
                },
            ],
        };
        let plain = tern_state::to_bytes(&s).unwrap();
        assert_eq!(tern_state::from_bytes::<SbiState>(&plain).unwrap(), s);
        s.harts[1].start = Some((0x8020_0000, 7));
        let with = tern_state::to_bytes(&s).unwrap();
        assert!(
            plain.len() < with.len(),
            "`start` is written only when needed"
        );
        assert_eq!(tern_state::from_bytes::<SbiState>(&with).unwrap(), s);
    }
}
