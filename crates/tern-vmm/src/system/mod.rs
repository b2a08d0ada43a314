//! The system VMs (`tern run`, `tern restore`) behind the control API: status, pause,
//! resume, snapshot and stop of a running `virt` machine (here) or `spike` machine
//! ([`spike`]).

pub mod config;
pub mod snapshot;
pub mod spike;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tern_devices::virtio::disk::DiskHandle;
use tern_machine::virt::pause::PauseError;
use tern_machine::virt::state::VirtHandle;

use crate::control::{
    ControlError, DeviceStatus, HartState, HartStatus, MemoryStatus, MetricKind, Metrics,
    MigrateRequest, MigrationStatus, Privilege, SnapshotInfo, SnapshotRequest, VmControl, VmKind,
    VmState, VmStatus,
};
use config::SystemConfig;
use snapshot::{write_snapshot, LastSnapshot, SnapshotHistory};

/// How long `pause` waits for every hart to reach an instruction boundary.
const PAUSE_TIMEOUT: Duration = Duration::from_secs(10);

/// A running `virt` machine as the control API sees it.
pub struct SystemVm {
    handle: VirtHandle,
    config: SystemConfig,
    /// The drives' disks, in the order of `config.drives`: a snapshot reads the blocks
    /// the guest wrote through them.
    disks: Vec<DiskHandle>,
    started: Instant,
    /// Also serializes the operations that change whether the harts run (pause,
    /// resume, snapshot): a resume arriving while a pause waits for the harts would
    /// otherwise release them under it, and the pause would time out.
    history: Mutex<SnapshotHistory>,
    /// Snapshots written (metrics).
    snapshots: std::sync::atomic::AtomicU64,
    /// The current or last live migration.
    migrations: crate::migrate::Migrations,
}

impl SystemVm {
    /// Wraps a machine's handle. `disks` are the disks of its drives, in the order of
    /// `config.drives`; `restored_from` names the snapshot it was restored from, if any
    /// (the parent of its next incremental snapshot).
    pub fn new(
        handle: VirtHandle,
        config: SystemConfig,
        disks: Vec<DiskHandle>,
        restored_from: Option<LastSnapshot>,
    ) -> SystemVm {
        let history = SnapshotHistory {
            dirty_log_since_boot: restored_from.is_none(),
            last: restored_from,
        };
        SystemVm {
            handle,
            config,
            disks,
            started: Instant::now(),
            history: Mutex::new(history),
            snapshots: std::sync::atomic::AtomicU64::new(0),
            migrations: Default::default(),
        }
    }

    /// A VM whose RAM was filled by a live migration: its dirty log does not cover
    /// its memory (post-copy pages are not in it), so its first snapshot reads all
    /// of it.
    pub fn received(handle: VirtHandle, config: SystemConfig, disks: Vec<DiskHandle>) -> SystemVm {
        let vm = SystemVm::new(handle, config, disks, None);
        vm.history
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .dirty_log_since_boot = false;
        vm
    }

    /// Waits (at most `limit`) until a client has read the outcome of the migration
    /// (see [`crate::migrate::Migrations::wait_outcome_read`]).
    pub fn wait_outcome_read(&self, limit: Duration) {
        self.migrations.wait_outcome_read(limit);
    }

    /// The status of the last migration, if it completed: the VM runs elsewhere.
    pub fn moved(&self) -> Option<MigrationStatus> {
        self.migrations.moved()
    }
}

fn pause_error(e: PauseError) -> ControlError {
    match e {
        PauseError::Stopped => ControlError::WrongState("the VM has stopped".into()),
        other => ControlError::Internal(other.to_string()),
    }
}

impl VmControl for SystemVm {
    fn status(&self) -> VmStatus {
        let s = self.handle.status();
        let state = if s.stopped {
            VmState::Stopped
        } else if s.paused {
            VmState::Paused
        } else {
            VmState::Running
        };
        let harts = (0..s.harts)
            .map(|id| {
                let (pc, prv) = s.hart_pcs.get(id).copied().unwrap_or((0, 3));
                HartStatus {
                    id: id as u64,
                    pc,
                    privilege: match prv {
                        0 => Privilege::User,
                        1 => Privilege::Supervisor,
                        _ => Privilege::Machine,
                    },
                    state: HartState::Started,
                    instructions_retired: s.hart_retired.get(id).copied().unwrap_or(0),
                }
            })
            .collect();
        VmStatus {
            state,
            kind: VmKind::System,
            harts,
            instructions_retired: s.retired,
            memory: MemoryStatus {
                size_bytes: s.memory,
                touched_bytes: s.touched,
            },
            devices: s
                .devices
                .iter()
                .map(|d| DeviceStatus {
                    name: d.clone(),
                    kind: device_kind(d).into(),
                })
                .collect(),
            uptime_ms: self.started.elapsed().as_millis() as u64,
        }
    }

    fn metrics(&self) -> Metrics {
        let mut m = Metrics::from_status(&self.status());
        let s = self.handle.status();
        m.labelled(
            "tern_device_exits_total",
            "Guest loads and stores that reached a device model, per device window.",
            MetricKind::Counter,
            "device",
            s.device_exits.into_iter().map(|(d, n)| (d, n as f64)),
        );
        let counters: Vec<_> = s
            .hart_counters
            .iter()
            .enumerate()
            .map(|(id, c)| (id.to_string(), *c))
            .collect();
        m.hart_counters(&counters);
        m.one(
            "tern_snapshots_total",
            "Snapshots written by this process.",
            MetricKind::Counter,
            self.snapshots.load(std::sync::atomic::Ordering::Relaxed) as f64,
        );
        m.migration(&self.migrations.status());
        m
    }

    fn pause(&self) -> Result<(), ControlError> {
        let _one_at_a_time = self.history.lock().unwrap_or_else(|e| e.into_inner());
        let s = self.handle.status();
        if s.stopped {
            return Err(ControlError::WrongState("the VM has stopped".into()));
        }
        if s.paused {
            return Ok(());
        }
        self.handle.pause(PAUSE_TIMEOUT).map_err(pause_error)
    }

    fn resume(&self) -> Result<(), ControlError> {
        let _one_at_a_time = self.history.lock().unwrap_or_else(|e| e.into_inner());
        let s = self.handle.status();
        if s.stopped {
            return Err(ControlError::WrongState("the VM has stopped".into()));
        }
        match self.handle.resume() {
            Ok(()) | Err(PauseError::NotPaused) => Ok(()),
            Err(e) => Err(pause_error(e)),
        }
    }

    fn snapshot(&self, req: SnapshotRequest) -> Result<SnapshotInfo, ControlError> {
        if self.handle.status().stopped {
            return Err(ControlError::WrongState("the VM has stopped".into()));
        }
        let mut history = self.history.lock().unwrap_or_else(|e| e.into_inner());
        let info = write_snapshot(&self.handle, &self.config, &self.disks, &mut history, &req)?;
        self.snapshots
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(info)
    }

    fn stop(&self) -> Result<(), ControlError> {
        self.handle.stop();
        Ok(())
    }

    fn migrate(&self, req: MigrateRequest) -> Result<MigrationStatus, ControlError> {
        let s = self.handle.status();
        if s.stopped {
            return Err(ControlError::WrongState("the VM has stopped".into()));
        }
        if s.paused {
            return Err(ControlError::WrongState(
                "migrate: the VM is paused: resume it first (a migration measures the running guest)".into(),
            ));
        }
        if !req.bindings.is_empty() {
            return Err(ControlError::InvalidRequest(
                "migrate: bindings are for process VMs (a system VM's files are its disks: see disks)".into(),
            ));
        }
        // Migration takes the RAM dirty log: the next snapshot is a full one.
        {
            let mut h = self.history.lock().unwrap_or_else(|e| e.into_inner());
            h.last = None;
            h.dirty_log_since_boot = false;
        }
        let vm = Arc::new(crate::migrate::SourceVm {
            handle: self.handle.clone(),
            config: self.config.clone(),
            disks: self.disks.clone(),
        });
        self.migrations.start(vm, req)
    }

    fn migration(&self) -> MigrationStatus {
        self.migrations.status()
    }

    fn cancel_migration(&self) -> Result<MigrationStatus, ControlError> {
        self.migrations.cancel()
    }
}

/// The board a system VM snapshot is of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Board {
    /// `virt`.
    Virt,
    /// `spike`.
    Spike,
}

/// Which board the system VM snapshot `snapshot` holds, from the kind of its
/// configuration.
pub fn board_of(snapshot: &tern_snapshot::Snapshot) -> anyhow::Result<Board> {
    let bytes = snapshot.state(crate::snapshot_file::CONFIG)?;
    let (kind, _) =
        tern_state::peek(bytes).map_err(|e| anyhow::anyhow!("snapshot section `config`: {e}"))?;
    match kind {
        "virt-config" => Ok(Board::Virt),
        "spike-config" => Ok(Board::Spike),
        other => anyhow::bail!(
            "snapshot section `config`: a {other} state, not the configuration of a virt or spike machine"
        ),
    }
}

/// The kind of a device window, from its name.
fn device_kind(name: &str) -> &'static str {
    match name {
        "test" => "syscon",
        "rtc" => "goldfish-rtc",
        "clint" => "clint",
        "plic" => "plic",
        "uart" => "ns16550a",
        n if n.starts_with("virtio") => "virtio-mmio",
        _ => "device",
    }
}
