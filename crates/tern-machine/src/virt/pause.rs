//! Pausing a running `virt` machine at an instruction boundary (DESIGN.md invariant 2).
//!
//! The controller asks every hart to stop (a request the hart sees between blocks);
//! each hart thread then "parks": it publishes its architectural state and waits. When
//! all harts are parked, no guest instruction runs, devices are not polled, and guest
//! time stands still, so the machine's state can be read (snapshot) or replaced
//! (restore into a paused machine) consistently. Resuming hands each hart back its
//! (possibly replaced) state.

use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use tern_hart::irq::REQ_STOP;
use tern_hart::{Hart, HartState};

use super::hart_thread::Shared;

/// Pause bookkeeping shared by the controller and the hart threads.
#[derive(Default)]
pub struct Pause {
    inner: Mutex<Inner>,
    changed: Condvar,
}

#[derive(Default)]
struct Inner {
    requested: bool,
    /// Per hart: its state while parked.
    parked: Vec<Option<HartState>>,
}

/// Why a pause did not complete.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PauseError {
    /// The machine stopped (powered off) before every hart parked.
    #[error("the machine has stopped")]
    Stopped,
    /// Some hart did not reach an instruction boundary in time.
    #[error("hart {0} did not pause within {1:?}")]
    Timeout(usize, Duration),
    /// The machine is not paused.
    #[error("the machine is not paused")]
    NotPaused,
    /// A state list does not match the machine.
    #[error("{0}")]
    Mismatch(String),
}

impl Pause {
    /// Bookkeeping for `harts` harts.
    pub fn new(harts: usize) -> Pause {
        Pause {
            inner: Mutex::new(Inner {
                requested: false,
                parked: vec![None; harts],
            }),
            changed: Condvar::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether a pause is requested or in effect.
    pub fn requested(&self) -> bool {
        self.lock().requested
    }

    /// Hart side: parks `hart` (number `me`) while a pause is requested. On resume the
    /// hart continues with the state the controller left (normally its own).
    pub fn park_if_requested(&self, shared: &Shared, hart: &mut Hart, me: usize) {
        let mut inner = self.lock();
        if !inner.requested {
            return;
        }
        inner.parked[me] = Some(hart.state().clone());
        self.changed.notify_all();
        while inner.requested && !shared.stopping() {
            inner = self
                .changed
                .wait_timeout(inner, Duration::from_millis(100))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        if let Some(state) = inner.parked[me].take() {
            if state != *hart.state() {
                hart.set_state(state);
            }
        }
    }

    /// Controller side: asks every hart to park and waits until they all have.
    pub fn pause(&self, shared: &Shared, timeout: Duration) -> Result<(), PauseError> {
        self.request(shared);
        self.wait_parked(shared, timeout)
    }

    /// Asks every hart to park, without waiting (a hart that stopped for the
    /// debugger pauses the machine this way; the debugger then waits).
    pub fn request(&self, shared: &Shared) {
        let mut inner = self.lock();
        inner.requested = true;
        drop(inner);
        for slot in &shared.slots {
            slot.lines.request(REQ_STOP);
            let _g = slot.hsm.lock().unwrap_or_else(|e| e.into_inner());
            slot.wake.notify_all();
        }
    }

    /// Controller side: waits until every hart has parked after [`Pause::request`],
    /// then stops guest time.
    pub fn wait_parked(&self, shared: &Shared, timeout: Duration) -> Result<(), PauseError> {
        let start = Instant::now();
        let mut inner = self.lock();
        loop {
            if shared.stopping() {
                inner.requested = false;
                return Err(PauseError::Stopped);
            }
            match inner.parked.iter().position(Option::is_none) {
                None => break,
                Some(h) if start.elapsed() > timeout => {
                    inner.requested = false;
                    self.changed.notify_all();
                    return Err(PauseError::Timeout(h, timeout));
                }
                Some(_) => {
                    inner = self
                        .changed
                        .wait_timeout(inner, Duration::from_millis(10))
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
            }
        }
        drop(inner);
        shared.clock.freeze();
        Ok(())
    }

    /// Controller side: lets every hart run again.
    pub fn resume(&self, shared: &Shared) -> Result<(), PauseError> {
        let mut inner = self.lock();
        if !inner.requested {
            return Err(PauseError::NotPaused);
        }
        shared.clock.thaw();
        inner.requested = false;
        self.changed.notify_all();
        Ok(())
    }

    /// The parked harts' states (the machine must be paused).
    pub fn hart_states(&self) -> Result<Vec<HartState>, PauseError> {
        let inner = self.lock();
        if !inner.requested {
            return Err(PauseError::NotPaused);
        }
        inner
            .parked
            .iter()
            .map(|s| s.clone().ok_or(PauseError::NotPaused))
            .collect()
    }

    /// Replaces the parked harts' states (the machine must be paused).
    pub fn set_hart_states(&self, states: Vec<HartState>) -> Result<(), PauseError> {
        let mut inner = self.lock();
        if !inner.requested || inner.parked.iter().any(Option::is_none) {
            return Err(PauseError::NotPaused);
        }
        if states.len() != inner.parked.len() {
            return Err(PauseError::Mismatch(format!(
                "{} hart states for a machine with {} harts",
                states.len(),
                inner.parked.len()
            )));
        }
        inner.parked = states.into_iter().map(Some).collect();
        Ok(())
    }
}
