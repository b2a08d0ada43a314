//! The node's operations: slices and their VMs, checked, enforced and recorded. The
//! API's handlers call these; so does the expiry task.
//!
//! Record changes happen under one lock (check-then-write must not interleave);
//! slow work (stopping a VM, emptying a cgroup) happens outside it, so the node keeps
//! answering while a slice is being reclaimed.
//!
//! Slices are here; VMs in [`vms`], the periodic reclaiming in `reclaim.rs`, the
//! super-server in `services.rs` and `splice.rs`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::admission::{admit_slice, Capacity, Held};
use crate::affinity;
use crate::cgroup::Cgroups;
use crate::error::NodeError;
use crate::procs;
use crate::uid::UidRange;

mod quota;
mod reclaim;
mod services;
mod snapshot;
mod splice;
pub mod vms;

use crate::spec::{
    check_lifetime, check_name, CreateSlice, NodeInfo, RenewSlice, Slice, Vm, VmState,
};
use crate::store::Store;
pub use reclaim::MAX_LOG_BYTES;
pub use splice::MAX_CONNECTIONS;
pub use vms::MAX_EXITED_VMS_KEPT;

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
    /// The uids handed to slivers, one each ([`crate::uid`]); `None`: VMs run as the
    /// daemon's user.
    pub uid_range: Option<UidRange>,
}

/// The node manager's state and operations.
pub struct Node {
    cfg: NodeConfig,
    store: Store,
    lock: Mutex<()>,
    /// The VM processes this daemon started (by VM id), to reap them when they end.
    /// VMs re-adopted after a restart are not our children and are watched by pid.
    children: Mutex<HashMap<String, Child>>,
    /// The super-server's listeners, by service name.
    services: services::Registry,
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
        if cfg.uid_range.is_some() {
            crate::uid::seal_state_dir(&cfg.state_dir).map_err(|e| {
                NodeError::internal(format!(
                    "cannot set the permissions of {}: {e}",
                    cfg.state_dir.display()
                ))
            })?;
        }
        let store = Store::open(&cfg.state_dir)?;
        if cfg.uid_range.is_some() {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(
                cfg.state_dir.join(crate::store::STORE_FILE),
                std::fs::Permissions::from_mode(0o600),
            );
        }
        let node = Node {
            cfg,
            store,
            lock: Mutex::new(()),
            children: Mutex::new(HashMap::new()),
            services: Mutex::new(HashMap::new()),
        };
        for s in node.store.slices()? {
            node.cfg
                .cgroups
                .create(&s.name, &s.spec)
                .map_err(|e| NodeError::internal(e.to_string()))?;
            let dir = node.sliver_dir(&s.name);
            crate::uid::private_dir(&dir, s.uid).map_err(|e| {
                NodeError::internal(format!("cannot create {}: {e}", dir.display()))
            })?;
        }
        for mut vm in node.store.vms()? {
            if vm.state != VmState::Running {
                continue;
            }
            if procs::alive(vm.pid, vm.start_time) {
                crate::node_event!(
                    "re-adopted VM {} (pid {}) of slice {}",
                    vm.id,
                    vm.pid,
                    vm.slice
                );
            } else {
                crate::node_event!(
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
        crate::node_event!(
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
        if req.spec.disk_iops.is_some() || req.spec.disk_bps.is_some() {
            self.cfg.cgroups.disk_enforcement().map_err(|e| {
                NodeError::conflict(format!(
                    "this node cannot enforce disk_iops or disk_bps: {e}"
                ))
            })?;
        }
        let uid = self.allocate_uid()?;
        let sliver_dir = self.sliver_dir(&req.name);
        crate::uid::private_dir(&sliver_dir, uid).map_err(|e| {
            NodeError::internal(format!("cannot create {}: {e}", sliver_dir.display()))
        })?;
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
            uid,
        };
        self.store.put_slice(&slice)?;
        if !slice.spec.cpus.is_empty() {
            self.repin_shared();
        }
        crate::node_event!("created slice {} ({:?})", slice.name, slice.spec);
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
        self.stored_slice(name)?;
        self.drop_services_of(name);
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
        // Its files (VM sockets, snapshots) go with it; its uid is free again.
        let _ = std::fs::remove_dir_all(self.sliver_dir(name));
        let _g = self.locked();
        for vm in &vms {
            self.forget_vm(vm);
        }
        if had_cpus {
            self.repin_shared();
        }
        removed.map_err(|e| NodeError::internal(e.to_string()))?;
        crate::node_event!("deleted slice {name} and its {} VMs", vms.len());
        Ok(())
    }

    /// The sliver's own directory, `STATE/slivers/SLICE`: its VMs' control sockets
    /// and the snapshots the node writes for it, owned by its uid with mode 0700.
    pub fn sliver_dir(&self, slice: &str) -> PathBuf {
        self.cfg.state_dir.join("slivers").join(slice)
    }

    /// A uid of the configured range no slice holds (none without a range).
    fn allocate_uid(&self) -> Result<Option<u32>, NodeError> {
        let Some(range) = self.cfg.uid_range else {
            return Ok(None);
        };
        let used: Vec<u32> = self.store.slices()?.iter().filter_map(|s| s.uid).collect();
        range.allocate(&used).map(Some).ok_or_else(|| {
            NodeError::conflict(format!(
                "not enough uids: all {} of the range {range} are held by slices",
                u64::from(range.last - range.first) + 1
            ))
        })
    }

    fn slice_vms(&self, slice: &str) -> Result<Vec<Vm>, NodeError> {
        Ok(self
            .store
            .vms()?
            .into_iter()
            .filter(|v| v.slice == slice)
            .collect())
    }
}
