//! The control API's side of live migration, the same for every kind of VM: one
//! migration at a time, its progress, its cancellation, and whether a client has
//! learnt how it ended (the source's process waits for that before it ends).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::migrant::Migrant;
use super::source::Outgoing;
use crate::control::{ControlError, MigrateRequest, MigrationPhase, MigrationStatus};

/// The current or last live migration of one VM.
#[derive(Default)]
pub struct Migrations {
    current: Mutex<Option<Arc<Outgoing>>>,
    /// A client has read the migration's outcome (`GET /migrate` once it was over).
    outcome_read: AtomicBool,
}

impl Migrations {
    /// Starts migrating `vm` as `req` asks, unless a migration runs, or one failed
    /// after its switch-over (the destination may run the VM: starting another could
    /// run it twice).
    pub fn start(
        &self,
        vm: Arc<dyn Migrant>,
        req: MigrateRequest,
    ) -> Result<MigrationStatus, ControlError> {
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(m) = current.as_ref() {
            let s = m.status();
            if !s.phase.is_over() {
                return Err(ControlError::WrongState(
                    "migrate: a migration is already running".into(),
                ));
            }
            if s.phase == MigrationPhase::Failed
                && s.error
                    .as_deref()
                    .is_some_and(|e| e.contains("after the switch-over"))
            {
                return Err(ControlError::WrongState(
                    "migrate: a migration failed after its switch-over: the destination may run this VM".into(),
                ));
            }
        }
        // Only this migration's outcome counts: a client that read how an earlier
        // (cancelled, failed) attempt ended has not learnt how this one ends.
        self.outcome_read.store(false, Ordering::SeqCst);
        let out = super::source::start(vm, req);
        let status = out.status();
        *current = Some(out);
        Ok(status)
    }

    /// The progress of the current (or last) migration; phase `none` if there was none.
    pub fn status(&self) -> MigrationStatus {
        let m = self.current.lock().unwrap_or_else(|e| e.into_inner());
        let s = m
            .as_ref()
            .map_or_else(MigrationStatus::none, |m| m.status());
        if s.phase.is_over() {
            self.outcome_read.store(true, Ordering::SeqCst);
        }
        s
    }

    /// Cancels the current migration (before its switch-over).
    pub fn cancel(&self) -> Result<MigrationStatus, ControlError> {
        let m = self.current.lock().unwrap_or_else(|e| e.into_inner());
        match m.as_ref() {
            Some(m) => m.cancel().map_err(ControlError::WrongState),
            None => Err(ControlError::WrongState(
                "migrate: no migration is running".into(),
            )),
        }
    }

    /// The status of the last migration, if it completed: the VM runs elsewhere.
    pub fn moved(&self) -> Option<MigrationStatus> {
        let m = self.current.lock().unwrap_or_else(|e| e.into_inner());
        let s = m.as_ref()?.status();
        (s.phase == MigrationPhase::Completed).then_some(s)
    }

    /// Waits (at most `limit`) until a client has read the outcome of the migration
    /// (`tern migrate` polls `GET /migrate`), so that the source's process does not
    /// end, taking its control socket along, before anyone learnt the VM moved.
    pub fn wait_outcome_read(&self, limit: Duration) {
        let start = Instant::now();
        while !self.outcome_read.load(Ordering::SeqCst) && start.elapsed() < limit {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}
