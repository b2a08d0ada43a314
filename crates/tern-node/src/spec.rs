//! The node API's types: what a slice asks for, what the node records about slices
//! and VMs, and the requests that create them.
//!
//! Stored in the embedded store as JSON, so new fields need `#[serde(default)]`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Longest slice name: it becomes a cgroup directory and part of socket paths.
pub const MAX_NAME_LEN: usize = 40;
/// Longest lifetime a slice may ask for (one year).
pub const MAX_LIFETIME_S: u64 = 365 * 24 * 3600;
/// Most arguments of a VM request, and the longest one.
pub const MAX_VM_ARGS: usize = 256;
/// Longest single VM argument in bytes.
pub const MAX_VM_ARG_BYTES: usize = 4096;

/// The resources a slice holds on this node (its sliver's share).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SliceSpec {
    /// Relative CPU share against other slices (`cpu.weight`, 1 to 10000).
    #[serde(default = "default_cpu_weight")]
    #[schema(default = 100, minimum = 1, maximum = 10000)]
    pub cpu_weight: u32,
    /// Hard CPU cap in percent of one host CPU (`cpu.max`); none for no cap.
    #[serde(default)]
    pub cpu_max_percent: Option<u32>,
    /// Harts a VM of the slice may have.
    #[serde(default = "default_harts")]
    #[schema(default = 1, minimum = 1)]
    pub harts: u32,
    /// Memory of all the slice's processes together (`memory.max`), in MiB.
    #[serde(default = "default_memory_mib")]
    #[schema(default = 256, minimum = 1)]
    pub memory_mib: u64,
    /// Disk the slice may use, in MiB (PlanetLab's 5 GB by default): reserved at
    /// admission, and the quota of its files (disk images, snapshots), checked
    /// before each addition (507 when over). 0: no quota.
    #[serde(default = "default_disk_mib")]
    #[schema(default = 5120)]
    pub disk_mib: u64,
    /// Most processes and threads of the slice together (`pids.max`).
    #[serde(default = "default_pids_max")]
    #[schema(default = 512, minimum = 1)]
    pub pids_max: u32,
    /// Most VMs running in the slice at once.
    #[serde(default = "default_max_vms")]
    #[schema(default = 4, minimum = 1)]
    pub max_vms: u32,
    /// Seconds until the slice expires unless renewed.
    #[serde(default = "default_lifetime_s")]
    #[schema(default = 3600, minimum = 1)]
    pub lifetime_s: u64,
    /// Host CPUs dedicated to the slice (physical partitioning): its VMs run only
    /// there, and no other slice's do. Empty: its VMs time-share the CPUs no slice
    /// has dedicated (logical partitioning).
    #[serde(default)]
    pub cpus: Vec<u32>,
    /// What happens to the slice's running VMs when it expires.
    #[serde(default)]
    pub on_expiry: OnExpiry,
    /// Network bandwidth of each network card of the slice's system VMs, in
    /// kilobits per second each way (a token bucket in the card: `--netdev
    /// ...,rate-kbps=N`); none for no limit.
    #[serde(default)]
    pub bandwidth_kbps: Option<u64>,
    /// Disk operations per second the slice may do, reads and writes each, on the
    /// device of the node's state directory (`io.max` riops/wiops); none for no
    /// limit.
    #[serde(default)]
    pub disk_iops: Option<u64>,
    /// Disk bytes per second, reads and writes each, on that device (`io.max`
    /// rbps/wbps); none for no limit.
    #[serde(default)]
    pub disk_bps: Option<u64>,
}

/// What happens to a slice's running VMs when it expires (its cgroup goes either
/// way).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum OnExpiry {
    /// They are stopped.
    #[default]
    Stop,
    /// Each is first written to a snapshot file,
    /// `STATE_DIR/snapshots/SLICE/VM.tern` (for `tern restore`), then stopped.
    Snapshot,
}

fn default_cpu_weight() -> u32 {
    100
}
fn default_harts() -> u32 {
    1
}
fn default_memory_mib() -> u64 {
    256
}
fn default_disk_mib() -> u64 {
    5 * 1024
}
fn default_pids_max() -> u32 {
    512
}
fn default_max_vms() -> u32 {
    4
}
fn default_lifetime_s() -> u64 {
    3600
}

impl Default for SliceSpec {
    fn default() -> Self {
        SliceSpec {
            cpu_weight: default_cpu_weight(),
            cpu_max_percent: None,
            harts: default_harts(),
            memory_mib: default_memory_mib(),
            disk_mib: default_disk_mib(),
            pids_max: default_pids_max(),
            max_vms: default_max_vms(),
            lifetime_s: default_lifetime_s(),
            cpus: Vec::new(),
            on_expiry: OnExpiry::Stop,
            bandwidth_kbps: None,
            disk_iops: None,
            disk_bps: None,
        }
    }
}

/// `POST /slices`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSlice {
    /// The slice's name: 1 to 40 of `a-z 0-9 - _`, starting with a letter or digit.
    #[schema(example = "alice_web")]
    pub name: String,
    /// What it holds; every field has a default.
    #[serde(default)]
    pub spec: SliceSpec,
}

/// `POST /slices/{name}/renew`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenewSlice {
    /// New lifetime from now, in seconds; the slice's own `lifetime_s` if absent.
    #[serde(default)]
    pub lifetime_s: Option<u64>,
}

/// A slice as the node records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Slice {
    /// Its name.
    pub name: String,
    /// What it holds.
    pub spec: SliceSpec,
    /// Creation time, milliseconds since the Unix epoch.
    pub created_ms: u64,
    /// When it expires unless renewed, milliseconds since the Unix epoch.
    pub expires_ms: u64,
    /// Where its cgroup is (one directory per controller hierarchy on cgroup v1).
    #[serde(default)]
    pub cgroup: Vec<String>,
    /// VMs running in it now (filled in on the way out).
    #[serde(default)]
    pub running_vms: u32,
    /// What it uses now, read from its cgroup (filled in on the way out).
    #[serde(default)]
    pub usage: Option<SliceUsage>,
    /// The unprivileged uid its VMs run as (`tern node serve --uid-range`); none:
    /// the daemon's.
    #[serde(default)]
    pub uid: Option<u32>,
}

/// A slice's use of the host, read from its cgroup.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SliceUsage {
    /// Processes and threads now (`pids.current`).
    pub pids_current: u64,
    /// Times a fork or clone was refused at `pids.max` (`pids.events` max).
    pub pids_max_hits: u64,
    /// Memory charged now, in bytes.
    pub memory_bytes: u64,
    /// Processes the kernel's OOM killer ended in the slice.
    pub oom_kills: u64,
}

/// A snapshot the node wrote of a VM (`POST /slices/{name}/vms/{id}/snapshot`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct VmSnapshot {
    /// The file, in the sliver's directory (for `tern restore` or a service).
    pub path: String,
    /// Its size in bytes.
    pub bytes: u64,
    /// What the slice's files take now, this snapshot included, in bytes.
    pub disk_used_bytes: u64,
}

/// Which tern command a VM runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum VmKind {
    /// A process VM: `tern exec ARGS`.
    Exec,
    /// A system VM: `tern run ARGS`.
    Run,
    /// A VM restored from its snapshot: `tern restore FILE ARGS` (the super-server's;
    /// no `--memory`: the snapshot has it).
    Restore,
    /// A VM arriving by live migration: `tern receive ARGS` (`--listen HOST:PORT` and
    /// the TLS options or `--insecure`; no `--memory`: the source's VM has it). Its
    /// `memory_mib` is counted against the slice before it listens.
    Receive,
}

impl VmKind {
    /// The `tern` subcommand.
    pub fn command(self) -> &'static str {
        match self {
            VmKind::Exec => "exec",
            VmKind::Run => "run",
            VmKind::Restore => "restore",
            VmKind::Receive => "receive",
        }
    }
}

/// `POST /slices/{name}/vms`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartVm {
    /// `exec` (a riscv64 Linux program), `run` (a whole machine), `receive` (a VM
    /// migrated here) or `restore` (from a snapshot).
    pub kind: VmKind,
    /// The arguments after `tern exec` / `tern run` (the program and its arguments,
    /// or the machine's options). The node adds `--api-sock` and `--memory` itself.
    #[schema(example = json!(["/srv/loop", "1000"]))]
    pub args: Vec<String>,
    /// The VM's memory in MiB (its `--memory`), counted against the slice's memory.
    #[serde(default = "default_vm_memory_mib")]
    #[schema(default = 64, minimum = 1)]
    pub memory_mib: u64,
}

fn default_vm_memory_mib() -> u64 {
    64
}

/// Whether a VM's process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum VmState {
    /// Its process is alive.
    Running,
    /// Its process has ended (see `exit`).
    Exited,
}

/// A VM as the node records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Vm {
    /// The node's id for it (`vm-N`).
    pub id: String,
    /// The slice it runs in.
    pub slice: String,
    /// What it runs.
    pub kind: VmKind,
    /// Its arguments as requested.
    pub args: Vec<String>,
    /// Its memory in MiB.
    pub memory_mib: u64,
    /// Its host process.
    pub pid: u32,
    /// The process's start time (clock ticks after boot, `/proc/PID/stat` field 22):
    /// with the pid, it tells this process from a later one with the same pid.
    pub start_time: u64,
    /// Its control API socket (`tern status --api-sock ...`).
    pub api_sock: String,
    /// Its standard output and error.
    pub log: String,
    /// Start time, milliseconds since the Unix epoch.
    pub started_ms: u64,
    /// Running or exited.
    pub state: VmState,
    /// How it ended, once exited.
    #[serde(default)]
    pub exit: Option<String>,
}

/// `GET /node`: the node's capacity and what slices hold of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NodeInfo {
    /// Host CPUs offered to slices.
    pub cpus: u32,
    /// Memory offered to slices, in MiB.
    pub memory_mib: u64,
    /// Disk offered to slices, in MiB.
    pub disk_mib: u64,
    /// Memory held by slices, in MiB.
    pub memory_held_mib: u64,
    /// Disk held by slices, in MiB.
    pub disk_held_mib: u64,
    /// Slices on the node.
    pub slices: u32,
    /// How slivers are enforced (`cgroup2 at ...` or `cgroup v1 at ...`).
    pub cgroups: String,
    /// Host CPUs dedicated to slices.
    #[serde(default)]
    pub dedicated_cpus: Vec<u32>,
}

/// Checks a slice name: 1 to [`MAX_NAME_LEN`] of `a-z 0-9 - _`, starting with a
/// letter or digit (it names a directory: no `.`, `/` or upper case).
pub fn check_name(name: &str) -> Result<(), String> {
    let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_';
    let first_ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if name.is_empty() || name.len() > MAX_NAME_LEN || !first_ok || !name.chars().all(ok_char) {
        return Err(format!(
            "slice name `{}` is not valid: use 1 to {MAX_NAME_LEN} of a-z, 0-9, `-` and `_`, \
             starting with a letter or digit",
            name.escape_debug()
        ));
    }
    Ok(())
}

impl SliceSpec {
    /// Checks each field's range on its own (what the node can hold is
    /// [`crate::admission`]'s business).
    pub fn check(&self) -> Result<(), String> {
        if !(1..=10_000).contains(&self.cpu_weight) {
            return Err(format!(
                "cpu_weight {} is out of range: 1 to 10000",
                self.cpu_weight
            ));
        }
        if self.cpu_max_percent == Some(0) {
            return Err(
                "cpu_max_percent 0 would stop the slice: give 1 or more, or none for no cap".into(),
            );
        }
        if self.harts == 0 || self.harts > 1024 {
            return Err(format!("harts {} is out of range: 1 to 1024", self.harts));
        }
        if self.memory_mib == 0 || self.memory_mib > 1 << 30 {
            return Err(format!(
                "memory_mib {} is out of range: 1 or more",
                self.memory_mib
            ));
        }
        if self.disk_mib > 1 << 40 {
            return Err(format!("disk_mib {} is out of range", self.disk_mib));
        }
        if self.disk_iops == Some(0) || self.disk_bps == Some(0) {
            return Err(
                "disk_iops or disk_bps 0 would stop the slice's disk: give 1 or more, \
                        or none for no limit"
                    .into(),
            );
        }
        if self.pids_max == 0 {
            return Err("pids_max 0 would refuse every process: give 1 or more".into());
        }
        if self.max_vms == 0 || self.max_vms > 4096 {
            return Err(format!(
                "max_vms {} is out of range: 1 to 4096",
                self.max_vms
            ));
        }
        let mut cpus = self.cpus.clone();
        cpus.sort_unstable();
        cpus.dedup();
        if cpus.len() != self.cpus.len() {
            return Err("cpus lists a CPU twice".into());
        }
        if let Some(c) = self.cpus.iter().find(|&&c| c >= crate::affinity::MAX_CPUS) {
            return Err(format!(
                "cpus: CPU {c} is out of range: 0 to {}",
                crate::affinity::MAX_CPUS - 1
            ));
        }
        if self
            .bandwidth_kbps
            .is_some_and(|k| !(1..=100_000_000).contains(&k))
        {
            return Err("bandwidth_kbps is out of range: 1 to 100000000, or none".into());
        }
        check_lifetime(self.lifetime_s)
    }
}

/// Checks a lifetime in seconds: 1 to [`MAX_LIFETIME_S`].
pub fn check_lifetime(lifetime_s: u64) -> Result<(), String> {
    if lifetime_s == 0 || lifetime_s > MAX_LIFETIME_S {
        return Err(format!(
            "lifetime_s {lifetime_s} is out of range: 1 to {MAX_LIFETIME_S} (one year)"
        ));
    }
    Ok(())
}

impl StartVm {
    /// Checks the request's sizes and characters.
    pub fn check(&self) -> Result<(), String> {
        if self.args.is_empty() {
            return Err(format!(
                "args is empty: `tern {}` needs at least {}",
                self.kind.command(),
                match self.kind {
                    VmKind::Exec => "a program",
                    VmKind::Run => "a kernel or firmware option",
                    VmKind::Restore => "a snapshot file",
                    VmKind::Receive => "--listen HOST:PORT",
                }
            ));
        }
        if self.args.len() > MAX_VM_ARGS {
            return Err(format!("more than {MAX_VM_ARGS} args"));
        }
        for (i, a) in self.args.iter().enumerate() {
            if a.len() > MAX_VM_ARG_BYTES {
                return Err(format!("args[{i}] is longer than {MAX_VM_ARG_BYTES} bytes"));
            }
            if a.contains('\0') {
                return Err(format!("args[{i}] contains a NUL character"));
            }
        }
        if self.memory_mib == 0 || self.memory_mib > 64 * 1024 {
            return Err(format!(
                "memory_mib {} is out of range: 1 to 65536",
                self.memory_mib
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_directory_safe() {
        for good in ["a", "alice_web", "0-x", &"a".repeat(MAX_NAME_LEN)] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            ".",
            "..",
            "a/b",
            "A",
            "-a",
            "_a",
            "a.b",
            "a b",
            &"a".repeat(41),
        ] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_spec_from_json_takes_defaults_and_refuses_unknown_fields() {
        let s: SliceSpec = serde_json::from_str(r#"{"memory_mib": 128}"#).unwrap();
        assert_eq!(s.memory_mib, 128);
        assert_eq!(s.cpu_weight, 100);
        assert!(serde_json::from_str::<SliceSpec>(r#"{"memory": 1}"#).is_err());
        assert!(SliceSpec {
            cpu_weight: 0,
            ..s.clone()
        }
        .check()
        .is_err());
        assert!(SliceSpec { lifetime_s: 0, ..s }.check().is_err());
    }
}
