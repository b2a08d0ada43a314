//! The node's operations: slices and their VMs, checked, enforced and recorded. The
//! API's handlers call these; so does the expiry task.
//!
//! Record changes happen under one lock (check-then-write must not interleave);
//! slow work (stopping a VM, emptying a cgroup) happens outside it, so the node keeps
//! answering while a slice is being reclaimed.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::admission::{admit_slice, admit_vm, Capacity, Held};
use crate::affinity::{self, CpuSet};
use crate::cgroup::Cgroups;
use crate::error::NodeError;
use crate::procs;
use crate::spawn::{spawn, SpawnRequest};
use crate::spec::{
    check_lifetime, check_name, CreateSlice, NodeInfo, OnExpiry, RenewSlice, Slice, StartVm, Vm,
    VmState,
};
use crate::store::Store;

/// Longest Unix socket path (`sun_path` less its NUL).
const MAX_SOCKET_PATH: usize = 107;

/// Exited VMs kept on record per slice (their exit status and log); older ones are
/// forgotten when a new VM starts, so that records cannot pile up without end.
pub const MAX_EXITED_VMS_KEPT: usize = 16;

/// How long a VM may take to write its snapshot when its slice expires.
const SNAPSHOT_TIMEOUT: Duration = Duration::from_secs(120);

/// How long a VM has to stop after `PUT /stop` before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(3);

/// What a node is made of.
pub struct NodeConfig {
    /// The state directory: the store, and each VM's socket and log under `vms/`.
    pub state_dir: PathBuf,
    /// What the node offers to slices.
    pub capacity: Capacity,
    /// Where slivers' cgroups go.
    pub cgroups: Cgroups,
    /// The `tern` binary VMs run.
    pub tern_exe: PathBuf,
}

/// The node manager's state and operations.
pub struct Node {
    cfg: NodeConfig,
    store: Store,
    lock: Mutex<()>,
    /// The VM processes this daemon started (by VM id), to reap them when they end.
    /// VMs re-adopted after a restart are not our children and are watched by pid.
    children: Mutex<HashMap<String, Child>>,
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl Node {
    /// Opens the node's state in `cfg.state_dir`: makes sure every recorded slice's
    /// cgroup exists with its limits, and re-adopts the VMs still running (same pid
    /// and start time), marking the others exited.
    pub fn open(cfg: NodeConfig) -> Result<Node, NodeError> {
        std::fs::create_dir_all(cfg.state_dir.join("vms")).map_err(|e| {
            NodeError::internal(format!(
                "cannot create the state directory {}: {e}",
                cfg.state_dir.display()
            ))
        })?;
        let store = Store::open(&cfg.state_dir)?;
        let node = Node {
            cfg,
            store,
            lock: Mutex::new(()),
            children: Mutex::new(HashMap::new()),
        };
        for s in node.store.slices()? {
            node.cfg
                .cgroups
                .create(&s.name, &s.spec)
                .map_err(|e| NodeError::internal(e.to_string()))?;
        }
        for mut vm in node.store.vms()? {
            if vm.state != VmState::Running {
                continue;
            }
            if procs::alive(vm.pid, vm.start_time) {
                tracing::info!(
                    "re-adopted VM {} (pid {}) of slice {}",
                    vm.id,
                    vm.pid,
                    vm.slice
                );
            } else {
                tracing::info!(
                    "VM {} (pid {}) ended while the node manager was down",
                    vm.id,
                    vm.pid
                );
                vm.state = VmState::Exited;
                vm.exit = Some("ended while the node manager was not running".into());
                node.store.put_vm(&vm)?;
            }
        }
        Ok(node)
    }

    fn locked(&self) -> MutexGuard<'_, ()> {
        self.lock.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn children(&self) -> MutexGuard<'_, HashMap<String, Child>> {
        self.children.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The state directory.
    pub fn state_dir(&self) -> &Path {
        &self.cfg.state_dir
    }

    /// Capacity and what slices hold of it.
    pub fn info(&self) -> Result<NodeInfo, NodeError> {
        let held = self.held()?;
        let cap = &self.cfg.capacity;
        Ok(NodeInfo {
            cpus: cap.cpus,
            memory_mib: cap.memory_mib,
            disk_mib: cap.disk_mib,
            memory_held_mib: held.memory_mib,
            disk_held_mib: held.disk_mib,
            slices: held.slices,
            cgroups: self.cfg.cgroups.describe(),
            dedicated_cpus: held.dedicated_cpus(),
        })
    }

    /// What the slices hold.
    fn held(&self) -> Result<Held, NodeError> {
        let slices = self.store.slices()?;
        Ok(Held::of(slices.iter().map(|s| (s.name.as_str(), &s.spec))))
    }

    /// The CPUs a VM of a slice with `spec` runs on: its dedicated ones, or the
    /// node's shared ones.
    fn vm_cpus(&self, spec: &crate::spec::SliceSpec, held: &Held) -> Vec<u32> {
        if spec.cpus.is_empty() {
            let dedicated = held.dedicated_cpus();
            self.cfg
                .capacity
                .cpu_ids
                .iter()
                .copied()
                .filter(|c| !dedicated.contains(c))
                .collect()
        } else {
            spec.cpus.clone()
        }
    }

    /// Moves the running VMs of time-shared slices onto the shared CPUs, after CPUs
    /// were dedicated or given back.
    fn repin_shared(&self) {
        let Ok(held) = self.held() else { return };
        let Ok(slices) = self.store.slices() else {
            return;
        };
        let shared = self.vm_cpus(&crate::spec::SliceSpec::default(), &held);
        for s in slices.iter().filter(|s| s.spec.cpus.is_empty()) {
            affinity::repin(&self.cfg.cgroups.pids(&s.name), &shared);
        }
        tracing::info!(
            "time-shared slices run on CPUs {}",
            affinity::list_text(&shared)
        );
    }

    /// Creates a slice: checks the request, admits it against the node's capacity,
    /// creates its cgroup with the limits, records it.
    pub fn create_slice(&self, req: CreateSlice) -> Result<Slice, NodeError> {
        check_name(&req.name).map_err(NodeError::bad_request)?;
        req.spec.check().map_err(NodeError::bad_request)?;
        let _g = self.locked();
        if self.store.slice(&req.name)?.is_some() {
            return Err(NodeError::conflict(format!(
                "slice `{}` exists already",
                req.name
            )));
        }
        let held = self.held()?;
        admit_slice(self.cfg.capacity.clone(), &held, &req.name, &req.spec)
            .map_err(NodeError::conflict)?;
        let dirs = self
            .cfg
            .cgroups
            .create(&req.name, &req.spec)
            .map_err(|e| NodeError::internal(e.to_string()))?;
        let now = now_ms();
        let slice = Slice {
            expires_ms: now.saturating_add(req.spec.lifetime_s.saturating_mul(1000)),
            name: req.name,
            spec: req.spec,
            created_ms: now,
            cgroup: dirs.iter().map(|d| d.display().to_string()).collect(),
            running_vms: 0,
            usage: None,
        };
        self.store.put_slice(&slice)?;
        if !slice.spec.cpus.is_empty() {
            self.repin_shared();
        }
        tracing::info!("created slice {} ({:?})", slice.name, slice.spec);
        Ok(self.decorate(slice))
    }

    /// Adds what is live (running VMs, cgroup usage) to a stored slice.
    fn decorate(&self, mut s: Slice) -> Slice {
        s.running_vms = self
            .store
            .vms()
            .unwrap_or_default()
            .iter()
            .filter(|v| v.slice == s.name && v.state == VmState::Running)
            .count() as u32;
        s.usage = self.cfg.cgroups.usage(&s.name);
        s
    }

    fn stored_slice(&self, name: &str) -> Result<Slice, NodeError> {
        self.store.slice(name)?.ok_or_else(|| {
            NodeError::not_found(format!("no slice `{}` on this node", name.escape_debug()))
        })
    }

    /// Every slice.
    pub fn slices(&self) -> Result<Vec<Slice>, NodeError> {
        Ok(self
            .store
            .slices()?
            .into_iter()
            .map(|s| self.decorate(s))
            .collect())
    }

    /// One slice.
    pub fn slice(&self, name: &str) -> Result<Slice, NodeError> {
        Ok(self.decorate(self.stored_slice(name)?))
    }

    /// Extends a slice's life: it now expires `lifetime_s` (or its own lifetime)
    /// from now.
    pub fn renew(&self, name: &str, req: RenewSlice) -> Result<Slice, NodeError> {
        let _g = self.locked();
        let mut s = self.stored_slice(name)?;
        let lifetime = req.lifetime_s.unwrap_or(s.spec.lifetime_s);
        check_lifetime(lifetime).map_err(NodeError::bad_request)?;
        s.expires_ms = now_ms().saturating_add(lifetime.saturating_mul(1000));
        self.store.put_slice(&s)?;
        Ok(self.decorate(s))
    }

    /// Deletes a slice: ends its VMs and every process in its cgroup, removes the
    /// cgroup, forgets it.
    pub fn delete_slice(&self, name: &str) -> Result<(), NodeError> {
        let (vms, had_cpus) = {
            let _g = self.locked();
            let s = self.stored_slice(name)?;
            // Forgotten first: no VM can start in it meanwhile.
            self.store.delete_slice(name)?;
            (self.slice_vms(name)?, !s.spec.cpus.is_empty())
        };
        for vm in &vms {
            if vm.state == VmState::Running {
                procs::kill(vm.pid, vm.start_time);
            }
            // Our own child would stay a zombie in the cgroup until waited for.
            self.reap(&vm.id);
        }
        let removed = self.cfg.cgroups.remove(name);
        let _g = self.locked();
        for vm in &vms {
            self.forget_vm(vm);
        }
        if had_cpus {
            self.repin_shared();
        }
        removed.map_err(|e| NodeError::internal(e.to_string()))?;
        tracing::info!("deleted slice {name} and its {} VMs", vms.len());
        Ok(())
    }

    fn slice_vms(&self, slice: &str) -> Result<Vec<Vm>, NodeError> {
        Ok(self
            .store
            .vms()?
            .into_iter()
            .filter(|v| v.slice == slice)
            .collect())
    }

    /// Starts a VM in a slice: admits it against the slice's spec, then starts
    /// `tern exec|run` in the slice's cgroup with a control socket and a log under
    /// the state directory.
    pub fn start_vm(&self, slice: &str, req: StartVm) -> Result<Vm, NodeError> {
        req.check().map_err(NodeError::bad_request)?;
        let _g = self.locked();
        let s = self.stored_slice(slice)?;
        let vms = self.slice_vms(slice)?;
        admit_vm(slice, &s.spec, &vms, &req).map_err(NodeError::conflict)?;
        let mut exited: Vec<&Vm> = vms.iter().filter(|v| v.state == VmState::Exited).collect();
        if exited.len() >= MAX_EXITED_VMS_KEPT {
            exited.sort_by_key(|v| v.started_ms);
            for old in &exited[..=exited.len() - MAX_EXITED_VMS_KEPT] {
                self.forget_vm(old);
            }
        }
        let id = format!("vm-{}", self.store.next_vm_number()?);
        let vms_dir = self.cfg.state_dir.join("vms");
        let api_sock = vms_dir.join(format!("{id}.sock"));
        let log = vms_dir.join(format!("{id}.log"));
        if api_sock.as_os_str().len() > MAX_SOCKET_PATH {
            return Err(NodeError::internal(format!(
                "the VM socket path {} is longer than {MAX_SOCKET_PATH} bytes: use a shorter \
                 --state-dir",
                api_sock.display()
            )));
        }
        let mut args: Vec<OsString> = vec![
            req.kind.command().into(),
            "--api-sock".into(),
            api_sock.clone().into(),
            "--memory".into(),
            format!("{}M", req.memory_mib).into(),
        ];
        args.extend(req.args.iter().map(OsString::from));
        let cpus = self.vm_cpus(&s.spec, &self.held()?);
        let spawned = spawn(SpawnRequest {
            exe: &self.cfg.tern_exe,
            args,
            procs_files: self.cfg.cgroups.procs_files(slice),
            log: &log,
            cpus: Some(CpuSet::of(&cpus)),
        })
        .map_err(|e| {
            NodeError::internal(format!(
                "cannot start `tern {}` in slice `{slice}`: {e}",
                req.kind.command()
            ))
        })?;
        let vm = Vm {
            id: id.clone(),
            slice: slice.to_string(),
            kind: req.kind,
            args: req.args,
            memory_mib: req.memory_mib,
            pid: spawned.child.id(),
            start_time: spawned.start_time,
            api_sock: api_sock.display().to_string(),
            log: log.display().to_string(),
            started_ms: now_ms(),
            state: VmState::Running,
            exit: None,
        };
        self.children().insert(id, spawned.child);
        if let Err(e) = self.store.put_vm(&vm) {
            procs::kill(vm.pid, vm.start_time);
            self.reap(&vm.id);
            return Err(e.into());
        }
        tracing::info!("started VM {} (pid {}) in slice {slice}", vm.id, vm.pid);
        Ok(vm)
    }

    /// The VMs of a slice, running and exited.
    pub fn vms(&self, slice: &str) -> Result<Vec<Vm>, NodeError> {
        self.stored_slice(slice)?;
        self.slice_vms(slice)
    }

    /// One VM of a slice.
    pub fn vm(&self, slice: &str, id: &str) -> Result<Vm, NodeError> {
        self.stored_slice(slice)?;
        self.store
            .vm(id)?
            .filter(|v| v.slice == slice)
            .ok_or_else(|| {
                NodeError::not_found(format!("no VM `{}` in slice `{slice}`", id.escape_debug()))
            })
    }

    /// Stops a VM (its control API's stop, then SIGKILL after [`STOP_GRACE`]) and
    /// forgets it.
    pub fn stop_vm(&self, slice: &str, id: &str) -> Result<(), NodeError> {
        let vm = self.vm(slice, id)?;
        if vm.state == VmState::Running {
            let client = tern_vmm::Client::new(&vm.api_sock).with_timeout(Duration::from_secs(2));
            if let Err(e) = client.stop() {
                tracing::info!("VM {id}: stop through its API failed ({e}): killing it");
            }
            let deadline = Instant::now() + STOP_GRACE;
            while self.running(&vm) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            procs::kill(vm.pid, vm.start_time);
        }
        self.reap(&vm.id);
        let _g = self.locked();
        self.forget_vm(&vm);
        Ok(())
    }

    /// Whether the VM's process still runs (reaping it if it is our child).
    fn running(&self, vm: &Vm) -> bool {
        if let Some(child) = self.children().get_mut(&vm.id) {
            return matches!(child.try_wait(), Ok(None));
        }
        procs::alive(vm.pid, vm.start_time)
    }

    /// Waits for our child of VM `id`, if we have it (after it was killed).
    fn reap(&self, id: &str) {
        let child = self.children().remove(id);
        if let Some(mut c) = child {
            let _ = c.wait();
        }
    }

    fn forget_vm(&self, vm: &Vm) {
        if let Err(e) = self.store.delete_vm(&vm.id) {
            tracing::warn!("VM {}: {e}", vm.id);
        }
        let _ = std::fs::remove_file(&vm.api_sock);
        let _ = std::fs::remove_file(&vm.log);
    }

    /// Periodic work ([`crate::expiry`]): notes VMs whose process ended, and
    /// reclaims slices expired at `now_ms`.
    pub fn tick(&self, now_ms: u64) {
        self.note_exits();
        let expired: Vec<String> = match self.store.slices() {
            Ok(s) => s
                .into_iter()
                .filter(|s| s.expires_ms <= now_ms)
                .map(|s| s.name)
                .collect(),
            Err(e) => {
                tracing::warn!("expiry: {e}");
                return;
            }
        };
        for name in expired {
            tracing::info!("slice {name} expired: reclaiming it");
            self.snapshot_before_expiry(&name);
            match self.delete_slice(&name) {
                Ok(()) | Err(NodeError { status: 404, .. }) => {}
                Err(e) => tracing::warn!("reclaiming expired slice {name}: {e}"),
            }
        }
    }

    /// Writes each running VM of an expiring slice whose spec says so to
    /// `snapshots/SLICE/VM.tern` under the state directory. A VM that cannot be
    /// saved (a process VM with children, say) is logged and stopped all the same.
    fn snapshot_before_expiry(&self, name: &str) {
        let Ok(Some(slice)) = self.store.slice(name) else {
            return;
        };
        if slice.spec.on_expiry != OnExpiry::Snapshot {
            return;
        }
        let dir = self.snapshot_dir(name);
        if let Err(e) = std::fs::create_dir_all(&dir) {
            tracing::warn!("slice {name}: cannot create {}: {e}", dir.display());
            return;
        }
        for vm in self.slice_vms(name).unwrap_or_default() {
            if vm.state != VmState::Running {
                continue;
            }
            let path = dir.join(format!("{}.tern", vm.id));
            let req = tern_vmm::control::SnapshotRequest::new(path.display().to_string());
            let client = tern_vmm::Client::new(&vm.api_sock).with_timeout(SNAPSHOT_TIMEOUT);
            match client.snapshot(&req) {
                Ok(_) => tracing::info!("slice {name}: VM {} saved to {}", vm.id, path.display()),
                Err(e) => tracing::warn!("slice {name}: VM {} not saved: {e}", vm.id),
            }
        }
    }

    /// Where the snapshots of an expired slice's VMs go.
    pub fn snapshot_dir(&self, slice: &str) -> PathBuf {
        self.cfg.state_dir.join("snapshots").join(slice)
    }

    /// Marks VMs whose process ended as exited, with how it ended when it was our
    /// child.
    fn note_exits(&self) {
        // Under the lock throughout: a VM being started is in `children` and in the
        // store together, or in neither.
        let _g = self.locked();
        let mut ended: Vec<(String, String)> = Vec::new();
        {
            let mut children = self.children();
            children.retain(|id, child| match child.try_wait() {
                Ok(Some(status)) => {
                    ended.push((id.clone(), describe_exit(status)));
                    false
                }
                _ => true,
            });
        }
        let Ok(vms) = self.store.vms() else { return };
        let watched: Vec<String> = self.children().keys().cloned().collect();
        for mut vm in vms {
            if vm.state != VmState::Running {
                continue;
            }
            let exit = match ended.iter().find(|(id, _)| *id == vm.id) {
                Some((_, how)) => how.clone(),
                None if !watched.contains(&vm.id) && !procs::alive(vm.pid, vm.start_time) => {
                    "ended (not a child of this node manager: no exit status)".into()
                }
                None => continue,
            };
            // Still recorded? (A stop or slice deletion may have forgotten it.)
            if self.store.vm(&vm.id).ok().flatten().is_none() {
                continue;
            }
            tracing::info!("VM {} {exit}", vm.id);
            vm.state = VmState::Exited;
            vm.exit = Some(exit);
            if let Err(e) = self.store.put_vm(&vm) {
                tracing::warn!("VM {}: {e}", vm.id);
            }
        }
    }
}

fn describe_exit(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(c), _) => format!("exited with status {c}"),
        (None, Some(s)) => format!("killed by signal {s}"),
        _ => "ended".into(),
    }
}
