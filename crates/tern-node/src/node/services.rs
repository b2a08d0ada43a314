//! The super-server: services registered by slices, each a port the node listens on
//! and a VM snapshot. The first connection restores the VM (a `tern restore` in the
//! slice, like any VM of it) with its user-mode network forwarding a loopback port the
//! node picked to the guest's port, and the node splices the connection to it
//! ([`super::splice`]). Connections arriving meanwhile wait for the same restore.
//! After `idle_timeout_s` without connections the VM is snapshotted to the state
//! directory and stopped: the service is cold again, and the next connection
//! restores it from that newer snapshot, with whatever state the guest had.
//!
//! The records (and so the port mapper's answers) are in the store; the listeners
//! and their counters are here, started again when the daemon restarts (a warm VM
//! that survived the restart is kept).

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::{now_ms, Node};
use crate::error::NodeError;
use crate::service::{CreateService, Service, ServiceState};
use crate::spec::{StartVm, VmKind, VmState};

/// How long a restored VM has to answer on its control API.
const RESTORE_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a VM may take to write its snapshot when scaled to zero.
const SNAPSHOT_TIMEOUT: Duration = Duration::from_secs(120);

/// The node's running services, by name.
pub(super) type Registry = Mutex<HashMap<String, Arc<Runtime>>>;

/// A service's listener and what its connections share.
pub(super) struct Runtime {
    pub(super) name: String,
    pub(super) listener: TcpListener,
    pub(super) stop: AtomicBool,
    /// Connections being served or waiting for the VM.
    pub(super) active: AtomicUsize,
    /// When the last connection ended (or the listener started), ms since the epoch.
    pub(super) last_activity_ms: AtomicU64,
    /// Held while the VM is restored or scaled to zero: one at a time, and
    /// connections wait here for a restore in progress.
    warm: Mutex<()>,
}

impl Runtime {
    fn warm(&self) -> MutexGuard<'_, ()> {
        self.warm.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Stops accepting: wakes the accept loop, which then ends.
    fn close(&self) {
        use std::os::fd::AsRawFd;
        self.stop.store(true, Ordering::Release);
        // SAFETY: the descriptor is the listener's, owned by `self` and open as long
        // as `self` is; shutdown only changes the socket's state (a blocked accept
        // returns EINVAL).
        unsafe {
            libc::shutdown(self.listener.as_raw_fd(), libc::SHUT_RDWR);
        }
    }
}

/// Binds a service's port.
fn bind(listen: &str, port: u16) -> Result<TcpListener, NodeError> {
    let ip = listen
        .parse()
        .map_err(|_| NodeError::bad_request(format!("listen `{listen}` is not an IP address")))?;
    TcpListener::bind(SocketAddr::new(ip, port))
        .map_err(|e| NodeError::conflict(format!("cannot listen on {listen} port {port}: {e}")))
}

/// A loopback port free right now, for a restored VM's `hostfwd`.
fn free_loopback_port() -> Result<u16, NodeError> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| NodeError::internal(format!("cannot find a free loopback port: {e}")))
}

impl Node {
    fn runtimes(&self) -> MutexGuard<'_, HashMap<String, Arc<Runtime>>> {
        self.services.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Where the node writes the snapshots of scaled-to-zero services.
    fn services_dir(&self) -> PathBuf {
        self.cfg.state_dir.join("services")
    }

    fn stored_service(&self, name: &str) -> Result<Service, NodeError> {
        self.store.service(name)?.ok_or_else(|| {
            NodeError::not_found(format!("no service `{}` on this node", name.escape_debug()))
        })
    }

    /// Registers a service of a slice and starts listening on its port.
    pub fn add_service(
        self: &Arc<Self>,
        slice: &str,
        req: CreateService,
    ) -> Result<Service, NodeError> {
        req.check().map_err(NodeError::bad_request)?;
        let _g = self.locked();
        self.stored_slice(slice)?;
        if self.store.service(&req.name)?.is_some() {
            return Err(NodeError::conflict(format!(
                "service `{}` exists already",
                req.name
            )));
        }
        std::fs::File::open(&req.snapshot).map_err(|e| {
            NodeError::bad_request(format!("cannot read the snapshot {}: {e}", req.snapshot))
        })?;
        let quota = self.stored_slice(slice)?.spec.disk_mib;
        let size = super::quota::image_bytes(std::path::Path::new(&req.snapshot));
        self.check_disk(
            slice,
            quota,
            size,
            &format!("service `{}`'s snapshot takes", req.name),
        )?;
        let listener = bind(&req.listen, req.port)?;
        let uid = self.stored_slice(slice)?.uid;
        let snapshot = match uid {
            Some(uid) => self.adopt_snapshot(slice, &req.name, &req.snapshot, uid)?,
            None => req.snapshot,
        };
        let svc = Service {
            name: req.name,
            slice: slice.to_string(),
            address: req.listen,
            port: req.port,
            guest_port: req.guest_port,
            snapshot,
            idle_timeout_s: req.idle_timeout_s,
            memory_mib: req.memory_mib,
            state: ServiceState::Cold,
            vm: None,
            forward_port: None,
            restores: 0,
            last_restore_ms: None,
            connections: 0,
        };
        self.store.put_service(&svc)?;
        self.run_listener(&svc.name, listener)?;
        crate::node_event!(
            "service {} of slice {slice} listens on {}:{} (cold: {})",
            svc.name,
            svc.address,
            svc.port,
            svc.snapshot
        );
        Ok(svc)
    }

    /// Starts the accept loop of a service.
    fn run_listener(self: &Arc<Self>, name: &str, listener: TcpListener) -> Result<(), NodeError> {
        let rt = Arc::new(Runtime {
            name: name.to_string(),
            listener,
            stop: AtomicBool::new(false),
            active: AtomicUsize::new(0),
            last_activity_ms: AtomicU64::new(now_ms()),
            warm: Mutex::new(()),
        });
        let (node, loop_rt) = (self.clone(), rt.clone());
        std::thread::Builder::new()
            .name(format!("tern-svc-{name}"))
            .spawn(move || super::splice::accept_loop(node, loop_rt))
            .map_err(|e| NodeError::internal(format!("cannot start the listener: {e}")))?;
        self.runtimes().insert(name.to_string(), rt);
        Ok(())
    }

    /// Listens again for the recorded services (at daemon start). A warm service
    /// whose VM is still running stays warm; the others are cold.
    pub fn start_services(self: &Arc<Self>) {
        for mut svc in self.store.services().unwrap_or_default() {
            if svc.state == ServiceState::Warm {
                let alive = svc
                    .vm
                    .as_deref()
                    .and_then(|id| self.store.vm(id).ok().flatten())
                    .is_some_and(|vm| vm.state == VmState::Running);
                if !alive {
                    svc.state = ServiceState::Cold;
                    svc.vm = None;
                    svc.forward_port = None;
                    let _ = self.store.put_service(&svc);
                }
            }
            let started =
                bind(&svc.address, svc.port).and_then(|l| self.run_listener(&svc.name, l));
            match started {
                Ok(()) => crate::node_event!(
                    "service {} listens on {}:{} ({:?})",
                    svc.name,
                    svc.address,
                    svc.port,
                    svc.state
                ),
                Err(e) => crate::node_event!("service {}: {e}", svc.name),
            }
        }
    }

    /// Every service (the port mapper's directory).
    pub fn services(&self) -> Result<Vec<Service>, NodeError> {
        Ok(self.store.services()?)
    }

    /// One service: where it is and whether its VM runs.
    pub fn service(&self, name: &str) -> Result<Service, NodeError> {
        self.stored_service(name)
    }

    /// The services of a slice.
    pub fn slice_services(&self, slice: &str) -> Result<Vec<Service>, NodeError> {
        self.stored_slice(slice)?;
        Ok(self
            .store
            .services()?
            .into_iter()
            .filter(|s| s.slice == slice)
            .collect())
    }

    /// Removes a service: stops listening, stops its VM if warm, forgets it.
    pub fn remove_service(&self, slice: &str, name: &str) -> Result<(), NodeError> {
        let svc = self.stored_service(name)?;
        if svc.slice != slice {
            return Err(NodeError::not_found(format!(
                "no service `{}` in slice `{slice}`",
                name.escape_debug()
            )));
        }
        self.drop_service(&svc);
        Ok(())
    }

    /// Removes every service of a slice (when it is deleted or expires).
    pub(super) fn drop_services_of(&self, slice: &str) {
        for svc in self.store.services().unwrap_or_default() {
            if svc.slice == slice {
                self.drop_service(&svc);
            }
        }
    }

    fn drop_service(&self, svc: &Service) {
        let rt = self.runtimes().remove(&svc.name);
        let _w = rt.as_ref().map(|rt| {
            rt.close();
            rt.warm()
        });
        // Read again under the runtime's lock: a restore may have just finished.
        let svc = self
            .store
            .service(&svc.name)
            .ok()
            .flatten()
            .unwrap_or_else(|| svc.clone());
        if let Some(id) = &svc.vm {
            if let Err(e) = self.stop_vm(&svc.slice, id) {
                crate::node_event!("service {}: stopping VM {id}: {e}", svc.name);
            }
        }
        self.forget_snapshot(&svc.snapshot);
        if let Err(e) = self.store.delete_service(&svc.name) {
            crate::node_event!("service {}: {e}", svc.name);
        }
        crate::node_event!("removed service {} of slice {}", svc.name, svc.slice);
    }

    /// A copy of a service's registered snapshot in the sliver's directory, owned
    /// by its uid with mode 0600: its VMs run as that uid and read it from there
    /// (the file registered stays the caller's).
    fn adopt_snapshot(
        &self,
        slice: &str,
        service: &str,
        from: &str,
        uid: u32,
    ) -> Result<String, NodeError> {
        let to = self
            .sliver_dir(slice)
            .join(format!("{service}-registered.tern"));
        let fail = |e: std::io::Error| {
            let _ = std::fs::remove_file(&to);
            NodeError::internal(format!("cannot copy the snapshot to {}: {e}", to.display()))
        };
        // Never through a link the sliver put there.
        let mut out = crate::uid::create_new(&to).map_err(fail)?;
        std::fs::File::open(from)
            .and_then(|mut f| std::io::copy(&mut f, &mut out))
            .map_err(fail)?;
        drop(out);
        crate::uid::give(&to, uid, 0o600).map_err(fail)?;
        Ok(to.display().to_string())
    }

    /// Deletes a snapshot if the node wrote it (never the one registered).
    fn forget_snapshot(&self, path: &str) {
        let p = std::path::Path::new(path);
        if p.starts_with(self.services_dir()) || p.starts_with(self.cfg.state_dir.join("slivers")) {
            let _ = std::fs::remove_file(path);
        }
    }

    /// The loopback port of the service's running VM, restoring it first if the
    /// service is cold. Connections call this; they wait here for a restore in
    /// progress.
    pub(super) fn warm_up(&self, rt: &Runtime) -> Result<u16, NodeError> {
        let _w = rt.warm();
        let started = Instant::now();
        let mut svc = self.stored_service(&rt.name)?;
        if rt.stop.load(Ordering::Acquire) {
            return Err(NodeError::not_found("the service was removed"));
        }
        if let (ServiceState::Warm, Some(id), Some(port)) = (svc.state, &svc.vm, svc.forward_port) {
            let running = self
                .store
                .vm(id)?
                .is_some_and(|vm| vm.state == VmState::Running);
            if running {
                return Ok(port);
            }
            crate::node_event!("service {}: its VM {id} ended: restoring again", svc.name);
        }
        let port = free_loopback_port()?;
        let mut args = vec![
            svc.snapshot.clone(),
            "--hostfwd".into(),
            format!("tcp:127.0.0.1:{port}-:{}", svc.guest_port),
        ];
        if let Some(kbps) = self.stored_slice(&svc.slice)?.spec.bandwidth_kbps {
            args.extend(["--net-rate".into(), kbps.to_string()]);
        }
        let vm = self.start_vm(
            &svc.slice,
            StartVm {
                kind: VmKind::Restore,
                args,
                memory_mib: svc.memory_mib,
            },
        )?;
        // Ready when its control API answers: the machine is rebuilt and runs.
        let client = tern_vmm::Client::new(&vm.api_sock).with_timeout(Duration::from_secs(2));
        loop {
            if client.status().is_ok() {
                break;
            }
            if !self.running(&vm) || started.elapsed() > RESTORE_TIMEOUT {
                let log = std::fs::read_to_string(&vm.log).unwrap_or_default();
                let _ = self.stop_vm(&svc.slice, &vm.id);
                return Err(NodeError::internal(format!(
                    "service {}: restoring {} failed: {}",
                    svc.name,
                    svc.snapshot,
                    log.lines()
                        .last()
                        .unwrap_or("no answer from its control API")
                )));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        svc.state = ServiceState::Warm;
        svc.vm = Some(vm.id.clone());
        svc.forward_port = Some(port);
        svc.restores += 1;
        svc.last_restore_ms = Some(started.elapsed().as_millis() as u64);
        self.store.put_service(&svc)?;
        crate::node_event!(
            "service {}: restored {} as VM {} in {} ms",
            svc.name,
            svc.snapshot,
            vm.id,
            started.elapsed().as_millis()
        );
        Ok(port)
    }

    /// Counts a connection handed to the guest.
    pub(super) fn count_connection(&self, name: &str) {
        let _g = self.locked();
        if let Ok(Some(mut svc)) = self.store.service(name) {
            svc.connections += 1;
            let _ = self.store.put_service(&svc);
        }
    }

    /// Scales idle services to zero ([`super::reclaim`]'s tick): a warm service
    /// without connections for its idle timeout is snapshotted and stopped.
    pub(super) fn idle_services(&self, now: u64) {
        let rts: Vec<Arc<Runtime>> = self.runtimes().values().cloned().collect();
        for rt in rts {
            if rt.active.load(Ordering::Acquire) > 0 {
                continue;
            }
            let Ok(_w) = rt.warm.try_lock() else { continue };
            let Ok(Some(svc)) = self.store.service(&rt.name) else {
                continue;
            };
            let idle_since = rt.last_activity_ms.load(Ordering::Acquire);
            if svc.state != ServiceState::Warm
                || now < idle_since.saturating_add(svc.idle_timeout_s.saturating_mul(1000))
                || rt.active.load(Ordering::Acquire) > 0
            {
                continue;
            }
            if let Err(e) = self.scale_to_zero(svc) {
                crate::node_event!("service {}: {e}", rt.name);
                // Try again after another idle period rather than every tick.
                rt.last_activity_ms.store(now, Ordering::Release);
            }
        }
    }

    /// Snapshots a warm service's VM into the state directory, stops it, and records
    /// the service cold with that snapshot.
    fn scale_to_zero(&self, mut svc: Service) -> Result<(), NodeError> {
        let Some(id) = svc.vm.clone() else {
            return Ok(());
        };
        let vm = self.vm(&svc.slice, &id)?;
        // The sliver's own directory: its VM, as the sliver's uid, writes there.
        let path = self
            .sliver_dir(&svc.slice)
            .join(format!("{}-{}.tern", svc.name, svc.restores));
        self.check_snapshot_room(&svc.slice, &id, vm.memory_mib)?;
        let started = Instant::now();
        let req = tern_vmm::control::SnapshotRequest::new(path.display().to_string());
        tern_vmm::Client::new(&vm.api_sock)
            .with_timeout(SNAPSHOT_TIMEOUT)
            .snapshot(&req)
            .map_err(|e| NodeError::internal(format!("snapshot of VM {id} failed: {e}")))?;
        self.check_snapshot_written(&svc.slice, &path)?;
        if let Some(uid) = self.stored_slice(&svc.slice)?.uid {
            crate::uid::give(&path, uid, 0o600).map_err(|e| {
                NodeError::internal(format!("cannot give {} to uid {uid}: {e}", path.display()))
            })?;
        }
        self.stop_vm(&svc.slice, &id)?;
        let old = std::mem::replace(&mut svc.snapshot, path.display().to_string());
        if old != svc.snapshot {
            self.forget_snapshot(&old);
        }
        svc.state = ServiceState::Cold;
        svc.vm = None;
        svc.forward_port = None;
        self.store.put_service(&svc)?;
        crate::node_event!(
            "service {}: idle, VM {id} saved to {} in {} ms and stopped",
            svc.name,
            svc.snapshot,
            started.elapsed().as_millis()
        );
        Ok(())
    }
}
