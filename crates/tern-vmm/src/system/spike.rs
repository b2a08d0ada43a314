//! The `spike` board behind the control API (`tern run --machine spike --api-sock`),
//! and its snapshots: the file (VM kind "system") holds the configuration ("config",
//! kind `spike-config`), one state section per component (`board`, `clock`,
//! `hart0`, `clint`, `htif`: see `tern_machine::spike::state`) and guest RAM ("ram").
//! `tern restore` rebuilds the board from them without the program's ELF file.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use tern_machine::spike::{SpikeControlError, SpikeHandle};
use tern_machine::{SpikeConfig, SpikeMachine};
use tern_snapshot::{Snapshot, VmKind};
use tern_state::Sections;

use super::config::SpikeVmConfig;
use super::snapshot::{begin_system, finish_system, LastSnapshot, SnapshotHistory};
use crate::control::{
    ControlError, DeviceStatus, HartState, HartStatus, MemoryStatus, Privilege, SnapshotInfo,
    SnapshotRequest, VmControl, VmKind as ApiVmKind, VmState, VmStatus,
};
use crate::ram::{fill_ram, PageReader};
use crate::snapshot_file::{self, internal, ARCH};

/// How long a pause waits for the run loop to reach a slice boundary.
const PAUSE_TIMEOUT: Duration = Duration::from_secs(10);

/// A running spike machine as the control API sees it.
pub struct SpikeVm {
    handle: SpikeHandle,
    config: SpikeVmConfig,
    started: Instant,
    /// Also serializes pause, resume and snapshot (see `SystemVm`).
    history: Mutex<SnapshotHistory>,
}

impl SpikeVm {
    /// Wraps a machine's handle; `restored_from` names the snapshot it was restored
    /// from, if any (the parent of its next incremental snapshot).
    pub fn new(
        handle: SpikeHandle,
        config: SpikeVmConfig,
        restored_from: Option<LastSnapshot>,
    ) -> SpikeVm {
        SpikeVm {
            handle,
            config,
            started: Instant::now(),
            history: Mutex::new(SnapshotHistory {
                dirty_log_since_boot: restored_from.is_none(),
                last: restored_from,
            }),
        }
    }
}

fn control_error(e: SpikeControlError) -> ControlError {
    match e {
        SpikeControlError::Stopped => ControlError::WrongState("the VM has stopped".into()),
        SpikeControlError::NotPaused => ControlError::WrongState("the VM is not paused".into()),
        other => ControlError::Internal(other.to_string()),
    }
}

impl VmControl for SpikeVm {
    fn status(&self) -> VmStatus {
        let s = self.handle.status();
        let ram = self.handle.ram();
        let state = if s.stopped {
            VmState::Stopped
        } else if s.paused {
            VmState::Paused
        } else {
            VmState::Running
        };
        VmStatus {
            state,
            kind: ApiVmKind::System,
            harts: vec![HartStatus {
                id: 0,
                pc: s.pc.unwrap_or(0),
                privilege: Privilege::Machine,
                state: HartState::Started,
                instructions_retired: s.retired,
            }],
            instructions_retired: s.retired,
            memory: MemoryStatus {
                size_bytes: ram.size(),
                touched_bytes: ram.dirty_pages() * tern_hart::mem::ram::PAGE_SIZE,
            },
            devices: ["clint", "htif"]
                .iter()
                .map(|d| DeviceStatus {
                    name: (*d).into(),
                    kind: (*d).into(),
                })
                .collect(),
            uptime_ms: self.started.elapsed().as_millis() as u64,
        }
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
        self.handle.pause(PAUSE_TIMEOUT).map_err(control_error)
    }

    fn resume(&self) -> Result<(), ControlError> {
        let _one_at_a_time = self.history.lock().unwrap_or_else(|e| e.into_inner());
        if self.handle.status().stopped {
            return Err(ControlError::WrongState("the VM has stopped".into()));
        }
        match self.handle.resume() {
            Ok(()) | Err(SpikeControlError::NotPaused) => Ok(()),
            Err(e) => Err(control_error(e)),
        }
    }

    fn snapshot(&self, req: SnapshotRequest) -> Result<SnapshotInfo, ControlError> {
        if self.handle.status().stopped {
            return Err(ControlError::WrongState("the VM has stopped".into()));
        }
        if req.include_disks {
            return Err(ControlError::Unsupported(
                "snapshot: include_disks: the spike board has no disks".into(),
            ));
        }
        let mut history = self.history.lock().unwrap_or_else(|e| e.into_inner());
        write_snapshot(&self.handle, &self.config, &mut history, &req)
    }

    fn stop(&self) -> Result<(), ControlError> {
        self.handle.stop();
        Ok(())
    }
}

/// Writes the machine behind `handle` as `req` asks, pausing a running machine for
/// the duration.
pub fn write_snapshot(
    handle: &SpikeHandle,
    config: &SpikeVmConfig,
    history: &mut SnapshotHistory,
    req: &SnapshotRequest,
) -> Result<SnapshotInfo, ControlError> {
    if req.incremental && history.last.is_none() {
        return Err(ControlError::WrongState(
            "an incremental snapshot needs a previous snapshot of this VM".into(),
        ));
    }
    let started = Instant::now();
    let was_paused = handle.status().paused;
    if !was_paused {
        handle
            .pause(PAUSE_TIMEOUT)
            .map_err(|e| ControlError::WrongState(format!("cannot pause the VM: {e}")))?;
    }
    let result = write_paused(handle, config, history, req, started);
    if result.is_err() {
        // The RAM dirty log may be consumed: the next snapshot must be full.
        history.last = None;
        history.dirty_log_since_boot = false;
    }
    if !was_paused {
        let _ = handle.resume();
    }
    result
}

fn write_paused(
    handle: &SpikeHandle,
    config: &SpikeVmConfig,
    history: &mut SnapshotHistory,
    req: &SnapshotRequest,
    started: Instant,
) -> Result<SnapshotInfo, ControlError> {
    let state = handle
        .save_state()
        .map_err(|e| internal("machine state", e))?;
    let begun = begin_system(&handle.ram(), config, &state, history, req)?;
    finish_system(begun, history, req, started)
}

/// A spike snapshot opened for restore.
pub struct OpenedSpike {
    /// The file (and its parents).
    pub snapshot: std::sync::Arc<Snapshot>,
    /// The machine's configuration.
    pub config: SpikeVmConfig,
    /// Every component's state.
    pub machine: Sections,
}

impl OpenedSpike {
    /// Opens a spike snapshot.
    pub fn open(snapshot: Snapshot) -> anyhow::Result<OpenedSpike> {
        snapshot.expect_guest(ARCH, VmKind::System)?;
        let config: SpikeVmConfig = snapshot_file::read_config(&snapshot)?;
        let machine = snapshot_file::read_components(&snapshot)?;
        Ok(OpenedSpike {
            snapshot: std::sync::Arc::new(snapshot),
            config,
            machine,
        })
    }

    /// Rebuilds the machine, its RAM filled from the file; `config` gives the outputs
    /// and limits (its memory size and clock mode are replaced by the saved ones).
    pub fn rebuild(&self, config: SpikeConfig) -> anyhow::Result<SpikeMachine> {
        let config = SpikeConfig {
            memory: self.config.memory,
            clock: self.config.clock,
            ..config
        };
        SpikeMachine::rebuild(config, &self.machine, |ram| {
            // A page that cannot be read later stops the hart by itself (the RAM is
            // lost); the caller reports it when the machine has stopped.
            fill_ram(
                &self.snapshot,
                "ram",
                ram,
                ram.size(),
                PageReader::Direct,
                Box::new(|_| {}),
            )
            .map_err(|e| format!("{e:#}"))
        })
        .map_err(|e| anyhow::anyhow!("snapshot: {e}"))
    }
}
