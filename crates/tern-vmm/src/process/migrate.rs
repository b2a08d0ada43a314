//! Live migration of a process VM: the running program moves to another tern
//! process, on this host or another (of any architecture), with its memory, threads
//! and descriptors, the way a system VM moves (pre-copy rounds over the dirty log,
//! or post-copy). What the program holds is bound as a snapshot binds it: files by
//! path (rebound: the destination has its own, or shared storage) unless the request's
//! bindings copy or move them (their contents travel in the state, see
//! [`tern_linux::fs::binding`]); pipes, socket pairs, memfds and the other kernel
//! objects by value, carried in the states.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tern_hart::GuestRam;
use tern_linux::fs::binding::{self, Binding, Bindings};
use tern_linux::fs::saved::FdExtra;
use tern_linux::pause::PauseError;
use tern_linux::Process;
use tern_migrate::Message;
use tern_state::Sections;

use super::config::ProcessConfig;
use super::snapshot::save_components;
use crate::migrate::{Drive, Migrant, Migrations};

/// How long the source's process waits, once the program moved, for `tern migrate`
/// to read the outcome before it ends.
const OUTCOME_GRACE: Duration = Duration::from_secs(2);
/// How long the host process lives on once the outcome was read, so that the
/// answer reaches the client.
const ANSWER_GRACE: Duration = Duration::from_millis(200);

/// A process VM being migrated.
pub struct ProcessMigrant {
    /// The process.
    pub proc: Arc<Process>,
    /// Its configuration.
    pub config: ProcessConfig,
    /// The VM's migrations (the host process ends once their outcome was read).
    pub migrations: Arc<Migrations>,
    /// Where it goes (`[tcp:]HOST:PORT`), for the message at the end.
    pub to: String,
    /// The move was asked through the control API: the host process waits (a
    /// moment) for `tern migrate` to read the outcome before it ends.
    pub wait_for_reader: bool,
    /// How the files the program holds move.
    pub bindings: Bindings,
    /// The host paths of the moved files, removed here once the program runs at
    /// the destination.
    pub moved_files: Mutex<Vec<PathBuf>>,
}

impl Migrant for ProcessMigrant {
    fn config(&self) -> Result<Message, String> {
        tern_state::to_bytes(&self.config)
            .map(Message::ProcessConfig)
            .map_err(|e| format!("configuration: {e}"))
    }

    fn ram(&self) -> Arc<GuestRam> {
        self.proc.mm().ram().clone()
    }

    fn memory(&self) -> u64 {
        self.config.memory
    }

    fn drives(&self) -> Vec<Drive> {
        Vec::new()
    }

    fn sync_dirty_log(&self) -> Vec<u64> {
        let ram = self.ram();
        let pages = ram.take_dirty();
        ram.bump_store_epoch();
        self.proc.shoot.sync_all();
        // The frames only: the shared window above them does not move (a process
        // with shared regions refuses the switch-over, as it refuses snapshots).
        let end = ram.base() + self.config.memory;
        pages.into_iter().filter(|&p| p < end).collect()
    }

    fn set_throttle(&self, _percent: u32) -> bool {
        false
    }

    fn pause(&self, timeout: Duration) -> Result<(), String> {
        self.proc.pause(timeout).map_err(|e| e.to_string())
    }

    fn resume(&self) {
        match self.proc.resume() {
            Ok(()) | Err(PauseError::NotPaused) => {}
            Err(e) => eprintln!("tern: cannot resume the program after a failed migration: {e}"),
        }
    }

    fn save_state(&self) -> Result<Sections, String> {
        let threads = self.proc.pause.parked().map_err(|e| e.to_string())?;
        binding::set_policy(self.bindings.clone());
        let saved = save_components(&self.proc, &threads);
        binding::set_policy(Bindings::default());
        let (state, sections) = saved.map_err(|e| e.to_string())?;
        // The host names of the moved files, read now from the guest's descriptor
        // table (the thread-group leader's): the program is paused, and after the
        // move no guest thread is left to resolve its paths.
        let mut moved: Vec<PathBuf> = state
            .files
            .iter()
            .filter(|f| {
                matches!(
                    f.extra,
                    FdExtra::Copied {
                        binding: Binding::Move,
                        ..
                    }
                )
            })
            .filter_map(|f| {
                std::fs::read_link(format!("/proc/{}/fd/{}", std::process::id(), f.fd)).ok()
            })
            .collect();
        moved.sort();
        moved.dedup();
        *self.moved_files.lock().unwrap_or_else(|e| e.into_inner()) = moved;
        Ok(sections)
    }

    fn moved(&self) {
        self.proc.stop(Duration::from_secs(10));
        eprintln!("tern: the program moved to {}", self.to);
        for path in self
            .moved_files
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            if let Err(e) = std::fs::remove_file(path) {
                eprintln!(
                    "tern: a file moved with the program stays here: {}: {e}",
                    path.display()
                );
            }
        }
        let migrations = self.migrations.clone();
        let wait = self.wait_for_reader;
        std::thread::spawn(move || {
            if wait {
                migrations.wait_outcome_read(OUTCOME_GRACE);
            }
            // The answer that carried the outcome is still being written.
            std::thread::sleep(ANSWER_GRACE);
            tern_linux::exit::exit_process(0);
        });
    }
}
