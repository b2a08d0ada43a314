//! A stand-in VM: a counter that counts while "running".
//!
//! [`CounterVm`] implements [`VmControl`] with the documented state machine and
//! error cases but no guest: its "instructions retired" grow with the time it has
//! been running (one per microsecond), and its snapshot is a small JSON file. It
//! serves the API's tests, the `fake_vm` example, and anyone who wants to drive the
//! API (or the `tern` commands) without booting a guest.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::control::{
    Compression, ControlError, DeviceStatus, HartState, HartStatus, MemoryStatus, Privilege,
    SnapshotInfo, SnapshotRequest, VmControl, VmKind, VmState, VmStatus,
};

/// Guest RAM the fake claims to have.
const MEMORY_BYTES: u64 = 64 << 20;

/// A fake VM whose only state is a counter; see the module documentation.
#[derive(Debug)]
pub struct CounterVm {
    kind: VmKind,
    /// If set, snapshots may only be written inside this directory.
    snapshot_dir: Option<PathBuf>,
    started: Instant,
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    state: VmState,
    /// Count accumulated during earlier running periods.
    banked: u64,
    /// When the current running period began (`None` unless running).
    running_since: Option<Instant>,
    /// Id of the last snapshot taken, the parent of an incremental one.
    last_snapshot: Option<String>,
    snapshots_taken: u64,
}

impl Inner {
    fn count(&self, now: Instant) -> u64 {
        let running = self
            .running_since
            .map_or(Duration::ZERO, |since| now.duration_since(since));
        self.banked + running.as_micros() as u64
    }

    /// Banks the running period: the counter stops at a "retired instruction".
    fn halt(&mut self, now: Instant) {
        self.banked = self.count(now);
        self.running_since = None;
    }
}

/// What the fake writes as its snapshot file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CounterSnapshot {
    /// The snapshot's id.
    pub id: String,
    /// Id of the parent for an incremental snapshot.
    pub parent: Option<String>,
    /// The counter at the instant of the snapshot.
    pub count: u64,
    /// The compression that was asked for (the fake does not compress).
    pub compress: Compression,
}

impl CounterVm {
    /// A running fake VM of the given kind.
    pub fn new(kind: VmKind) -> Self {
        let now = Instant::now();
        CounterVm {
            kind,
            snapshot_dir: None,
            started: now,
            inner: Mutex::new(Inner {
                state: VmState::Running,
                banked: 0,
                running_since: Some(now),
                last_snapshot: None,
                snapshots_taken: 0,
            }),
        }
    }

    /// The same VM, refusing (400) snapshot paths outside `dir`: for letting a
    /// fuzzer such as schemathesis loose on the API without it writing files all
    /// over the host.
    pub fn with_snapshot_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.snapshot_dir = Some(dir.into());
        self
    }

    /// The counter now.
    pub fn count(&self) -> u64 {
        self.lock().count(Instant::now())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A poisoned lock means a panic in another call; the counter is still sound.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn write_snapshot(path: &Path, snap: &CounterSnapshot) -> std::io::Result<u64> {
        let bytes = serde_json::to_vec_pretty(snap)?;
        let tmp = path.with_extension("tmp-snapshot");
        let mut f = fs::File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        Ok(bytes.len() as u64)
    }
}

impl VmControl for CounterVm {
    fn status(&self) -> VmStatus {
        let now = Instant::now();
        let inner = self.lock();
        let count = inner.count(now);
        let (privilege, harts_state) = match self.kind {
            VmKind::System => (Privilege::Supervisor, HartState::Started),
            VmKind::Process => (Privilege::User, HartState::Started),
        };
        let harts = (0..2u64)
            .map(|id| HartStatus {
                id,
                pc: 0x8000_0000 + (count.wrapping_mul(4) + id * 0x100) % 0x1000,
                privilege,
                state: if id == 0 {
                    harts_state
                } else {
                    HartState::Idle
                },
                instructions_retired: if id == 0 { count } else { 0 },
            })
            .collect();
        let devices = match self.kind {
            VmKind::System => vec![
                DeviceStatus {
                    name: "uart0".to_string(),
                    kind: "ns16550a".to_string(),
                },
                DeviceStatus {
                    name: "clint".to_string(),
                    kind: "clint".to_string(),
                },
            ],
            VmKind::Process => Vec::new(),
        };
        VmStatus {
            state: inner.state,
            kind: self.kind,
            harts,
            instructions_retired: count,
            memory: MemoryStatus {
                size_bytes: MEMORY_BYTES,
                touched_bytes: (count / 1000 * 4096).min(MEMORY_BYTES),
            },
            devices,
            uptime_ms: now.duration_since(self.started).as_millis() as u64,
        }
    }

    fn pause(&self) -> Result<(), ControlError> {
        let mut inner = self.lock();
        match inner.state {
            VmState::Running => {
                inner.halt(Instant::now());
                inner.state = VmState::Paused;
                Ok(())
            }
            VmState::Paused => Ok(()),
            VmState::Stopped => Err(ControlError::WrongState(
                "vm is stopped: cannot pause".to_string(),
            )),
        }
    }

    fn resume(&self) -> Result<(), ControlError> {
        let mut inner = self.lock();
        match inner.state {
            VmState::Paused => {
                inner.running_since = Some(Instant::now());
                inner.state = VmState::Running;
                Ok(())
            }
            VmState::Running => Ok(()),
            VmState::Stopped => Err(ControlError::WrongState(
                "vm is stopped: cannot resume".to_string(),
            )),
        }
    }

    fn snapshot(&self, req: SnapshotRequest) -> Result<SnapshotInfo, ControlError> {
        let mut inner = self.lock();
        let held = Instant::now();
        if inner.state == VmState::Stopped {
            return Err(ControlError::WrongState(
                "vm is stopped: cannot snapshot".to_string(),
            ));
        }
        // Halting the counter is the fake's "all harts stopped at an instruction
        // boundary"; a running VM runs on once the file is written (or failed).
        let was_running = inner.state == VmState::Running;
        inner.halt(held);
        let result = self.snapshot_halted(&mut inner, req, held);
        if was_running {
            inner.running_since = Some(Instant::now());
        }
        result
    }

    fn stop(&self) -> Result<(), ControlError> {
        let mut inner = self.lock();
        if inner.state != VmState::Stopped {
            inner.halt(Instant::now());
            inner.state = VmState::Stopped;
        }
        Ok(())
    }
}

impl CounterVm {
    /// The snapshot proper, with the counter halted.
    fn snapshot_halted(
        &self,
        inner: &mut Inner,
        req: SnapshotRequest,
        held: Instant,
    ) -> Result<SnapshotInfo, ControlError> {
        if let Some(dir) = &self.snapshot_dir {
            let path = Path::new(&req.path);
            let inside = path.parent() == Some(dir.as_path())
                && path.file_name().is_some_and(|n| n != ".." && n != ".");
            if !inside {
                return Err(ControlError::InvalidRequest(format!(
                    "snapshot: path `{}` is outside {}, the only directory this VM writes to",
                    req.path.escape_debug(),
                    dir.display()
                )));
            }
        }
        if req.include_disks {
            return Err(ControlError::Unsupported(
                "snapshot: include_disks: this VM has no disks".to_string(),
            ));
        }
        let parent = if req.incremental {
            Some(inner.last_snapshot.clone().ok_or_else(|| {
                ControlError::WrongState(
                    "snapshot: incremental needs a previous snapshot of this VM, and there is none"
                        .to_string(),
                )
            })?)
        } else {
            None
        };
        let id = (inner.snapshots_taken + 1).to_string();
        let snap = CounterSnapshot {
            id: id.clone(),
            parent: parent.clone(),
            count: inner.banked,
            compress: req.compress,
        };
        let bytes = Self::write_snapshot(Path::new(&req.path), &snap).map_err(|e| {
            ControlError::Internal(format!("snapshot: cannot write {}: {e}", req.path))
        })?;
        inner.snapshots_taken += 1;
        inner.last_snapshot = Some(id.clone());
        Ok(SnapshotInfo {
            id,
            path: req.path,
            parent,
            compress: req.compress,
            bytes,
            pages_written: 1,
            duration_us: held.elapsed().as_micros() as u64,
        })
    }
}
