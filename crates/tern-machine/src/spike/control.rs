//! Controlling a running spike machine from another thread (the control API's): pause
//! at an instruction boundary, the state of the paused machine, resume, stop.
//!
//! The machine runs on the thread that called [`super::SpikeMachine::run`], in slices.
//! Between two slices the run loop looks at one atomic flag; when a pause is asked, it
//! freezes guest time, saves every component's state ([`Sections`]) while it holds the
//! machine, publishes it and waits. Nothing of the guest changes while it waits, so
//! the published state and guest RAM are one consistent snapshot.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tern_hart::{DebugHub, GuestRam, HartState};
use tern_state::{Sections, StateError};

/// Pause bookkeeping shared by the run loop and the controller.
#[derive(Default)]
pub(super) struct Control {
    /// A pause is asked for (checked by the run loop between slices).
    pub(super) requested: AtomicBool,
    /// A stop is asked for.
    pub(super) stop: AtomicBool,
    /// Instructions retired, for status reports while running.
    pub(super) retired: AtomicU64,
    /// A host debugger's settings for the hart and its stop reports.
    pub(super) debug: DebugHub,
    inner: Mutex<Inner>,
    changed: Condvar,
}

#[derive(Default)]
struct Inner {
    /// The paused machine's state (`None` while it runs).
    parked: Option<Result<Sections, StateError>>,
    /// The pc of the paused hart.
    pc: u64,
    /// The paused hart's state, which a debugger may replace before it resumes.
    hart: Option<HartState>,
    /// How the run loop ended (when `finished`).
    exit: Option<super::SpikeExit>,
    /// The run loop has returned.
    finished: bool,
}

/// Why a pause or a state request failed.
#[derive(Debug, thiserror::Error)]
pub enum SpikeControlError {
    /// The machine is not running any more.
    #[error("the machine has stopped")]
    Stopped,
    /// The run loop did not reach a slice boundary in time.
    #[error("the hart did not pause within {0:?}")]
    Timeout(Duration),
    /// The machine is not paused.
    #[error("the machine is not paused")]
    NotPaused,
    /// A component could not save its state.
    #[error(transparent)]
    State(#[from] StateError),
}

impl Control {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Run-loop side: publishes `state` (taken at an instruction boundary, hart at
    /// `pc`) and waits until the pause is lifted or a stop is asked.
    /// Returns the hart's state if a debugger replaced it meanwhile.
    pub(super) fn park(
        &self,
        state: Result<Sections, StateError>,
        hart: &HartState,
    ) -> Option<HartState> {
        let mut inner = self.lock();
        inner.parked = Some(state);
        inner.pc = hart.pc;
        inner.hart = Some(hart.clone());
        self.changed.notify_all();
        while self.requested.load(Ordering::Acquire) && !self.stop.load(Ordering::Acquire) {
            inner = self
                .changed
                .wait_timeout(inner, Duration::from_millis(100))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        inner.parked = None;
        inner.hart.take().filter(|s| s != hart)
    }

    /// Run-loop side: the loop returned (`exit`); nobody waits for a pause any more.
    pub(super) fn finished(&self, exit: super::SpikeExit) {
        let mut inner = self.lock();
        inner.finished = true;
        inner.exit = Some(exit);
        drop(inner);
        self.changed.notify_all();
    }
}

/// A handle on a spike machine, usable from other threads while it runs.
#[derive(Clone)]
pub struct SpikeHandle {
    pub(super) control: Arc<Control>,
    pub(super) ram: Arc<GuestRam>,
}

/// A summary of the machine for status reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpikeStatus {
    /// Paused at an instruction boundary.
    pub paused: bool,
    /// The run loop has returned (exit, instruction limit, stop).
    pub stopped: bool,
    /// Instructions retired.
    pub retired: u64,
    /// The hart's pc, when paused.
    pub pc: Option<u64>,
}

impl SpikeHandle {
    /// Asks the run loop to pause and waits until it has (at most `timeout`).
    pub fn pause(&self, timeout: Duration) -> Result<(), SpikeControlError> {
        let start = Instant::now();
        self.control.requested.store(true, Ordering::Release);
        let mut inner = self.control.lock();
        loop {
            if inner.finished {
                self.control.requested.store(false, Ordering::Release);
                return Err(SpikeControlError::Stopped);
            }
            if inner.parked.is_some() {
                return Ok(());
            }
            if start.elapsed() > timeout {
                self.control.requested.store(false, Ordering::Release);
                return Err(SpikeControlError::Timeout(timeout));
            }
            inner = self
                .control
                .changed
                .wait_timeout(inner, Duration::from_millis(10))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Lets a paused machine run again.
    pub fn resume(&self) -> Result<(), SpikeControlError> {
        if !self.control.requested.swap(false, Ordering::AcqRel) {
            return Err(SpikeControlError::NotPaused);
        }
        let _inner = self.control.lock();
        self.control.changed.notify_all();
        Ok(())
    }

    /// Stops the machine: its run returns [`super::SpikeExit::Stopped`].
    pub fn stop(&self) {
        self.control.stop.store(true, Ordering::Release);
        let _inner = self.control.lock();
        self.control.changed.notify_all();
    }

    /// The state of the paused machine (all but RAM): every component's, by name.
    pub fn save_state(&self) -> Result<Sections, SpikeControlError> {
        let inner = self.control.lock();
        match &inner.parked {
            Some(Ok(state)) => Ok(state.clone()),
            Some(Err(e)) => Err(e.clone().into()),
            None if inner.finished => Err(SpikeControlError::Stopped),
            None => Err(SpikeControlError::NotPaused),
        }
    }

    /// Guest RAM.
    pub fn ram(&self) -> Arc<GuestRam> {
        self.ram.clone()
    }

    /// Asks the run loop to pause at its next boundary, without waiting (see
    /// [`SpikeHandle::wait_paused`]).
    pub fn request_pause(&self) {
        self.control.requested.store(true, Ordering::Release);
    }

    /// Waits until a requested pause is complete (at most `timeout`).
    pub fn wait_paused(&self, timeout: Duration) -> Result<(), SpikeControlError> {
        self.pause(timeout)
    }

    /// The host debugger's settings and the hart's stop reports.
    pub fn debug(&self) -> &DebugHub {
        &self.control.debug
    }

    /// The paused hart's state.
    pub fn hart_state(&self) -> Result<HartState, SpikeControlError> {
        let inner = self.control.lock();
        match &inner.hart {
            Some(s) if inner.parked.is_some() => Ok(s.clone()),
            _ if inner.finished => Err(SpikeControlError::Stopped),
            _ => Err(SpikeControlError::NotPaused),
        }
    }

    /// Replaces the paused hart's state: it continues from it when resumed.
    pub fn set_hart_state(&self, state: HartState) -> Result<(), SpikeControlError> {
        let mut inner = self.control.lock();
        if inner.parked.is_none() {
            return Err(SpikeControlError::NotPaused);
        }
        inner.hart = Some(state);
        Ok(())
    }

    /// How the run loop ended, once it has.
    pub fn exit(&self) -> Option<super::SpikeExit> {
        self.control.lock().exit
    }

    /// A status summary.
    pub fn status(&self) -> SpikeStatus {
        let inner = self.control.lock();
        SpikeStatus {
            paused: inner.parked.is_some(),
            stopped: inner.finished,
            retired: self.control.retired.load(Ordering::Relaxed),
            pc: inner.parked.is_some().then_some(inner.pc),
        }
    }
}
