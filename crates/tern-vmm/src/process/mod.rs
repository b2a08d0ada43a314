//! The process VM (`tern exec`, `tern restore` of a process snapshot) behind the
//! control API: status, pause, resume, snapshot and stop of one running riscv64 Linux
//! program.
//!
//! The server runs in a private descriptor table ([`tern_linux::hostfd`]): its
//! socket, connections and the snapshot files it writes never take descriptor
//! numbers from the program.

pub mod agent;
pub mod config;
pub mod migrate;
pub mod snapshot;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tern_linux::fs::FdKind;
use tern_linux::pause::PauseError;
use tern_linux::Process;

use crate::control::{
    ControlError, DeviceStatus, HartState, HartStatus, MemoryStatus, MigrateRequest,
    MigrationStatus, Privilege, SnapshotInfo, SnapshotRequest, VmControl, VmKind, VmState,
    VmStatus,
};
use crate::system::snapshot::LastSnapshot;
use config::ProcessConfig;

/// How long `pause` waits for every thread to reach an instruction boundary.
const PAUSE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the host process lives on after `stop`, so that the answer reaches the
/// client.
const STOP_GRACE: Duration = Duration::from_millis(200);

/// A running process VM as the control API sees it.
pub struct ProcessVm {
    proc: Arc<Process>,
    config: ProcessConfig,
    started: Instant,
    /// The last snapshot written or restored from (the parent of an incremental one);
    /// held while a snapshot is written, so that `resume` and `stop` wait for it, and
    /// by `pause` and `resume`, so that a resume cannot release the threads under a
    /// pause that waits for them.
    last: Mutex<Option<LastSnapshot>>,
    /// The current or last live migration.
    migrations: Arc<crate::migrate::Migrations>,
    /// Snapshots written (metrics).
    snapshots: std::sync::atomic::AtomicU64,
}

impl ProcessVm {
    /// Wraps process `proc` run with `config`; `restored_from` names the snapshot it
    /// was restored from, if any.
    pub fn new(
        proc: Arc<Process>,
        config: ProcessConfig,
        restored_from: Option<LastSnapshot>,
    ) -> ProcessVm {
        ProcessVm {
            proc,
            config,
            started: Instant::now(),
            last: Mutex::new(restored_from),
            migrations: agent::migrations(),
            snapshots: std::sync::atomic::AtomicU64::new(0),
        }
    }
}

/// The name `status` shows for a descriptor's kind.
fn fd_kind(k: FdKind) -> &'static str {
    match k {
        FdKind::File => "file",
        FdKind::Dir => "directory",
        FdKind::Pipe => "pipe",
        FdKind::Socket => "socket",
        FdKind::Epoll => "epoll",
        FdKind::EventFd => "eventfd",
        FdKind::SignalFd(_) => "signalfd",
        FdKind::Inherited => "inherited",
    }
}

fn pause_error(e: PauseError) -> ControlError {
    match e {
        PauseError::Stopped => ControlError::WrongState("the VM has stopped".into()),
        other => ControlError::Internal(other.to_string()),
    }
}

impl VmControl for ProcessVm {
    fn metrics(&self) -> crate::control::Metrics {
        let mut m = crate::control::Metrics::from_status(&self.status());
        let mut counters: Vec<(i32, tern_hart::HartCounters)> = self
            .proc
            .shoot
            .entries()
            .iter()
            .map(|h| (h.tid, h.stats.counters.load()))
            .collect();
        counters.sort_by_key(|c| c.0);
        let labelled: Vec<_> = counters
            .into_iter()
            .map(|(tid, c)| (tid.to_string(), c))
            .collect();
        m.hart_counters(&labelled);
        m.one(
            "tern_snapshots_total",
            "Snapshots written by this process.",
            crate::control::MetricKind::Counter,
            self.snapshots.load(std::sync::atomic::Ordering::Relaxed) as f64,
        );
        m.migration(&self.migrations.status());
        m
    }

    fn status(&self) -> VmStatus {
        let p = &self.proc;
        let state = if p.pause.is_stopped() {
            VmState::Stopped
        } else if p.pause.is_paused() {
            VmState::Paused
        } else {
            VmState::Running
        };
        let mut harts: Vec<HartStatus> = p
            .shoot
            .entries()
            .iter()
            .map(|h| HartStatus {
                id: h.tid as u64,
                pc: h.stats.pc.load(std::sync::atomic::Ordering::Relaxed),
                privilege: Privilege::User,
                state: HartState::Started,
                instructions_retired: h.stats.retired.load(std::sync::atomic::Ordering::Relaxed),
            })
            .collect();
        harts.sort_by_key(|h| h.id);
        VmStatus {
            state,
            kind: VmKind::Process,
            harts,
            instructions_retired: p.insns.load(std::sync::atomic::Ordering::Relaxed),
            memory: MemoryStatus {
                size_bytes: p.opts.memory,
                touched_bytes: p.mm().frames_used().saturating_mul(4096),
            },
            // A process VM's "devices" are its descriptors: what a snapshot records
            // (or refuses).
            devices: p
                .files()
                .iter()
                .map(|(fd, info)| DeviceStatus {
                    name: format!("fd{fd}"),
                    kind: fd_kind(info.kind).into(),
                })
                .collect(),
            uptime_ms: self.started.elapsed().as_millis() as u64,
        }
    }

    fn pause(&self) -> Result<(), ControlError> {
        let _one_at_a_time = self.last.lock().unwrap_or_else(|e| e.into_inner());
        self.proc.pause(PAUSE_TIMEOUT).map_err(pause_error)
    }

    fn resume(&self) -> Result<(), ControlError> {
        // Not in the middle of a snapshot (which holds `last` while it writes).
        let _snapshot = self.last.lock().unwrap_or_else(|e| e.into_inner());
        match self.proc.resume() {
            Ok(()) | Err(PauseError::NotPaused) => Ok(()),
            Err(e) => Err(pause_error(e)),
        }
    }

    fn snapshot(&self, req: SnapshotRequest) -> Result<SnapshotInfo, ControlError> {
        if req.include_disks {
            return Err(ControlError::Unsupported(
                "include_disks: a process VM has no disks (its files are recorded by path)".into(),
            ));
        }
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if req.incremental && last.is_none() {
            return Err(ControlError::WrongState(
                "an incremental snapshot needs a previous snapshot of this VM".into(),
            ));
        }
        let started = Instant::now();
        let was_paused = self.proc.pause.is_paused();
        if !was_paused {
            self.proc.pause(PAUSE_TIMEOUT).map_err(|e| match e {
                PauseError::Stopped => ControlError::WrongState("the VM has stopped".into()),
                e => ControlError::WrongState(format!("cannot pause the VM: {e}")),
            })?;
        }
        let result = self
            .proc
            .pause
            .parked()
            .map_err(pause_error)
            .and_then(|threads| {
                snapshot::write_paused(&self.proc, &self.config, threads, &mut last, &req, started)
            });
        if result.is_err() {
            // The attempt may have consumed the RAM dirty log: the next snapshot must
            // be full.
            *last = None;
        } else {
            self.snapshots
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        if !was_paused {
            let _ = self.proc.resume();
        }
        result
    }

    fn migrate(&self, req: MigrateRequest) -> Result<MigrationStatus, ControlError> {
        if self.proc.pause.is_stopped() {
            return Err(ControlError::WrongState("the VM has stopped".into()));
        }
        if self.proc.pause.is_paused() {
            return Err(ControlError::WrongState(
                "migrate: the VM is paused: resume it first (a migration measures the running program)".into(),
            ));
        }
        if req.disks == crate::control::DiskMigration::Copy {
            return Err(ControlError::Unsupported(
                "migrate: a process VM has no disks to copy (its files are bound by path; see bindings for copying or moving them)".into(),
            ));
        }
        // Migration takes the RAM dirty log: the next snapshot is a full one.
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = None;
        let vm = Arc::new(migrate::ProcessMigrant {
            proc: self.proc.clone(),
            config: self.config.clone(),
            migrations: self.migrations.clone(),
            to: req.to.clone(),
            wait_for_reader: true,
            bindings: tern_linux::fs::binding::Bindings::parse(&req.bindings)
                .map_err(|e| ControlError::InvalidRequest(format!("migrate: bindings: {e}")))?,
            moved_files: Default::default(),
        });
        self.migrations.start(vm, req)
    }

    fn migration(&self) -> MigrationStatus {
        self.migrations.status()
    }

    fn cancel_migration(&self) -> Result<MigrationStatus, ControlError> {
        self.migrations.cancel()
    }

    fn stop(&self) -> Result<(), ControlError> {
        // A snapshot being written is finished first.
        let _snapshot = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if self.proc.pause.is_stopped() {
            return Ok(());
        }
        self.proc.stop(PAUSE_TIMEOUT);
        // The program never runs again; the host process ends once the answer is out
        // (status 0, as a system VM stopped through the API).
        std::thread::spawn(|| {
            std::thread::sleep(STOP_GRACE);
            tern_linux::exit::exit_process(0);
        });
        Ok(())
    }
}

/// Serves the control API of `proc` on `path` from a private descriptor table, for
/// as long as the host process lives; the socket file is removed when the program
/// ends the process.
pub fn serve_process(
    path: &Path,
    proc: Arc<Process>,
    config: ProcessConfig,
    restored_from: Option<LastSnapshot>,
) -> Result<(), String> {
    let vm = Arc::new(ProcessVm::new(proc, config, restored_from));
    let p: PathBuf = path.to_path_buf();
    let handle = tern_linux::hostfd::in_private_fd_table("tern-api-host", move || {
        crate::serve(&p, vm).map_err(|e| e.to_string())
    })??;
    let socket = handle.path().to_path_buf();
    // The server lives until the process ends (by exit_group or a signal, never by
    // returning), so its handle is never dropped; the hook removes the socket file.
    std::mem::forget(handle);
    tern_linux::process::serving_api();
    tern_linux::exit::at_exit(move || {
        let _ = std::fs::remove_file(&socket);
    });
    Ok(())
}
