//! The boundary between a running VM and its control API.
//!
//! A VMM (the system VM of `tern run`, the process VM of `tern exec`) implements
//! [`VmControl`]; the HTTP server in [`crate::api`] calls it from its own thread. The
//! server never touches guest state directly, so everything it may observe or change
//! is spelled out here.
//!
//! # State machine
//!
//! ```text
//!            pause                 stop
//!  running ─────────▶ paused ─────────────▶ stopped
//!     ▲  ◀─────────────  │                     ▲
//!     │      resume      │                     │
//!     └──────────────────┴──── stop ───────────┘
//! ```
//!
//! - `pause` on a paused VM and `resume` on a running VM succeed and change nothing
//!   (idempotent), so a caller that lost a response can simply retry.
//! - `stop` on a stopped VM succeeds and changes nothing.
//! - every other call on a stopped VM (`pause`, `resume`, `snapshot`) is
//!   [`ControlError::WrongState`] (HTTP 409).
//! - `snapshot` works on a running or a paused VM. On a running VM the implementation
//!   stops all harts at an instruction boundary, writes the file and lets the VM run
//!   again, so the caller does not have to pause first (unlike Firecracker, which
//!   refuses to snapshot a running VM). The VM is left in the state it was in.

pub mod gdb;
mod metrics;
mod migrate;
mod snapshot;
mod status;

pub use gdb::{GdbInfo, GdbRequest};
pub use metrics::{Family, MetricKind, Metrics};
pub use migrate::{
    DiskMigration, MigrateRequest, MigrationMode, MigrationPhase, MigrationStatus, TlsPaths,
};
pub use snapshot::{Compression, SnapshotInfo, SnapshotRequest, MAX_PATH_LEN};
pub use status::{
    DeviceStatus, HartState, HartStatus, MemoryStatus, Privilege, VmKind, VmState, VmStatus,
};

/// What a running VM offers to its control API.
///
/// The server calls these methods from worker threads of its own (never from a vCPU
/// thread), possibly several at once, so an implementation synchronizes with its harts
/// itself. Methods may block: a snapshot of a large guest takes a while, and `status`
/// stays answerable meanwhile only if the implementation does not hold a lock that the
/// snapshot holds for its whole duration.
pub trait VmControl: Send + Sync + 'static {
    /// Current state of the VM. Cheap enough to poll; counters are read without
    /// pausing the VM, so with running harts they are a recent sample, not a
    /// consistent cut.
    fn status(&self) -> VmStatus;

    /// The VM's counters for `GET /metrics` (Prometheus text format). The default
    /// reports what [`VmControl::status`] has; a VM adds its own (device exits,
    /// snapshots written).
    fn metrics(&self) -> Metrics {
        Metrics::from_status(&self.status())
    }

    /// Stops every hart at an instruction boundary and keeps it stopped until
    /// [`resume`](Self::resume). Returns once all harts have stopped. Succeeds
    /// without effect on a paused VM; [`ControlError::WrongState`] on a stopped one.
    fn pause(&self) -> Result<(), ControlError>;

    /// Lets a paused VM run again. Succeeds without effect on a running VM;
    /// [`ControlError::WrongState`] on a stopped one.
    fn resume(&self) -> Result<(), ControlError>;

    /// Writes the VM to one file as `req` asks and returns what was written. A
    /// running VM is paused for the duration and resumed afterwards; a paused VM
    /// stays paused. The request has already been checked with
    /// [`SnapshotRequest::validate`] when the API calls this.
    fn snapshot(&self, req: SnapshotRequest) -> Result<SnapshotInfo, ControlError>;

    /// Ends the VM: harts stop for good and the VMM is expected to exit soon after
    /// the response has been sent (the API server is shut down by the VMM, not by
    /// this call). Succeeds without effect on a stopped VM.
    fn stop(&self) -> Result<(), ControlError>;

    /// Starts a live migration of the VM as `req` asks (already checked with
    /// [`MigrateRequest::validate`]) and returns at once with its first status; the
    /// migration goes on in the VMM. [`ControlError::WrongState`] while another one
    /// runs or on a stopped VM; [`ControlError::Unsupported`] for VMs that cannot
    /// migrate (the default).
    fn migrate(&self, req: MigrateRequest) -> Result<MigrationStatus, ControlError> {
        let _ = req;
        Err(ControlError::Unsupported(
            "migrate: only system VMs on the virt board migrate".into(),
        ))
    }

    /// The progress of the current (or last) migration; phase `none` if there was none.
    fn migration(&self) -> MigrationStatus {
        MigrationStatus::none()
    }

    /// Cancels the current migration: before the switch-over the VM runs on here.
    /// [`ControlError::WrongState`] when no migration runs, or once the destination
    /// owns the VM.
    fn cancel_migration(&self) -> Result<MigrationStatus, ControlError> {
        Err(ControlError::WrongState(
            "migrate: no migration is running".into(),
        ))
    }

    /// Starts the VM's gdb server on `req.listen` (`PUT /gdb`): by default through
    /// what the front end registered ([`gdb::set_attach`]).
    fn gdb(&self, req: GdbRequest) -> Result<GdbInfo, ControlError> {
        gdb::attach(&req)
    }
}

/// Why a control request failed; each variant is one HTTP status of the API.
///
/// The message is shown to the user as is, so it names the thing and the problem:
/// "snapshot: parent snapshot missing for incremental", not "invalid".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    /// The request itself is wrong (a bad path, a contradictory option): 400.
    #[error("{0}")]
    InvalidRequest(String),
    /// The request is fine but not in the VM's current state (e.g. resuming a
    /// stopped VM, an incremental snapshot without a previous one): 409.
    #[error("{0}")]
    WrongState(String),
    /// This VM cannot do that (yet), e.g. `include_disks` on a VM without disks: 501.
    #[error("{0}")]
    Unsupported(String),
    /// The VMM failed while doing it (an I/O error writing the snapshot): 500.
    #[error("{0}")]
    Internal(String),
}

impl ControlError {
    /// The HTTP status code the API answers with for this error.
    pub fn http_status(&self) -> u16 {
        match self {
            ControlError::InvalidRequest(_) => 400,
            ControlError::WrongState(_) => 409,
            ControlError::Unsupported(_) => 501,
            ControlError::Internal(_) => 500,
        }
    }
}
