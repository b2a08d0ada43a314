//! What `GET /status` reports about a VM.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Lifecycle state of the whole VM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum VmState {
    /// Harts execute guest instructions.
    Running,
    /// All harts are stopped at an instruction boundary; the VM can be resumed.
    Paused,
    /// The VM has ended (stopped through the API, or the guest powered off) and
    /// cannot run again; only `status` and `stop` still succeed.
    Stopped,
}

impl VmState {
    /// The name used in JSON and in human-readable output.
    pub fn as_str(self) -> &'static str {
        match self {
            VmState::Running => "running",
            VmState::Paused => "paused",
            VmState::Stopped => "stopped",
        }
    }
}

/// Which kind of VM answers: a whole machine or one Linux program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum VmKind {
    /// A system VM (`tern run`): a whole RISC-V board.
    System,
    /// A process VM (`tern exec`): one riscv64 Linux program.
    Process,
}

impl VmKind {
    /// The name used in JSON and in human-readable output.
    pub fn as_str(self) -> &'static str {
        match self {
            VmKind::System => "system",
            VmKind::Process => "process",
        }
    }
}

/// RISC-V privilege mode a hart is executing in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Privilege {
    /// M-mode.
    Machine,
    /// S-mode (HS when the hypervisor extension is present).
    Supervisor,
    /// U-mode; every thread of a process VM runs here.
    User,
}

impl Privilege {
    /// One-letter name as in traces and in the privileged spec (M, S, U).
    pub fn letter(self) -> char {
        match self {
            Privilege::Machine => 'M',
            Privilege::Supervisor => 'S',
            Privilege::User => 'U',
        }
    }
}

/// What one hart is doing, independent of the VM being paused.
///
/// The names follow the SBI HSM extension where they overlap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum HartState {
    /// Executing instructions (or would be, were the VM not paused).
    Started,
    /// Waiting for an interrupt in `wfi`.
    Idle,
    /// Not started yet, or stopped through SBI HSM `hart_stop` / thread exit.
    Stopped,
    /// Suspended through SBI HSM `hart_suspend`.
    Suspended,
}

impl HartState {
    /// The name used in JSON and in human-readable output.
    pub fn as_str(self) -> &'static str {
        match self {
            HartState::Started => "started",
            HartState::Idle => "idle",
            HartState::Stopped => "stopped",
            HartState::Suspended => "suspended",
        }
    }
}

/// One hart of a system VM, or one guest thread of a process VM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HartStatus {
    /// `mhartid` for a system VM; the Linux thread id for a process VM.
    pub id: u64,
    /// Address of the next instruction, as a `0x`-prefixed 16-digit hex string
    /// (RV64 kernel addresses do not fit in a JSON number without loss).
    #[serde(with = "crate::hex")]
    #[schema(value_type = String, pattern = "^0x[0-9a-f]{16}$", example = "0x0000000080000000")]
    pub pc: u64,
    /// Privilege mode the hart executes in.
    pub privilege: Privilege,
    /// What the hart is doing.
    pub state: HartState,
    /// Instructions this hart has retired since the VM started (`minstret`).
    pub instructions_retired: u64,
}

/// Guest RAM of the VM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemoryStatus {
    /// Guest RAM size in bytes (what the guest sees).
    pub size_bytes: u64,
    /// Bytes of guest RAM the guest has written at least once (what it costs the
    /// host, in 4 KiB pages).
    pub touched_bytes: u64,
}

/// One device of the VM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceStatus {
    /// Instance name, unique within the VM (e.g. `uart0`, `virtio-blk0`).
    pub name: String,
    /// Device model (e.g. `ns16550a`, `virtio-blk`, `clint`).
    pub kind: String,
}

/// Everything `GET /status` reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VmStatus {
    /// Lifecycle state.
    pub state: VmState,
    /// System or process VM.
    pub kind: VmKind,
    /// One entry per hart (system VM) or guest thread (process VM), by id.
    pub harts: Vec<HartStatus>,
    /// Instructions retired by all harts together since the VM started.
    pub instructions_retired: u64,
    /// Guest RAM.
    pub memory: MemoryStatus,
    /// Devices of the board; for a process VM, its descriptors (`fd3`: `file`,
    /// `pipe`, `socket`, `epoll`, `eventfd`, `directory`, `inherited`).
    pub devices: Vec<DeviceStatus>,
    /// Milliseconds since the VM started (host time, including paused time).
    pub uptime_ms: u64,
}
