//! The VMs of a slice: starting them in its cgroup, listing, stopping, and noting
//! when their process ends.

use std::ffi::OsString;
use std::time::{Duration, Instant};

use super::{now_ms, Node};
use crate::admission::admit_vm;
use crate::affinity::CpuSet;
use crate::error::NodeError;
use crate::procs;
use crate::spawn::{spawn, SpawnRequest};
use crate::spec::{StartVm, Vm, VmKind, VmState};

/// Longest Unix socket path (`sun_path` less its NUL).
const MAX_SOCKET_PATH: usize = 107;

/// Exited VMs kept on record per slice (their exit status and log); older ones are
/// forgotten when a new VM starts, so that records cannot pile up without end.
pub const MAX_EXITED_VMS_KEPT: usize = 16;

/// How long a VM has to stop after `PUT /stop` before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(3);

impl Node {
    /// Starts a VM in a slice: admits it against the slice's spec, then starts
    /// `tern exec|run` in the slice's cgroup with a control socket and a log under
    /// the state directory.
    pub fn start_vm(&self, slice: &str, req: StartVm) -> Result<Vm, NodeError> {
        req.check().map_err(NodeError::bad_request)?;
        let _g = self.locked();
        let s = self.stored_slice(slice)?;
        let vms = self.slice_vms(slice)?;
        admit_vm(slice, &s.spec, &vms, &req).map_err(NodeError::conflict)?;
        self.check_vm_files(slice, s.spec.disk_mib, &req)?;
        let mut exited: Vec<&Vm> = vms.iter().filter(|v| v.state == VmState::Exited).collect();
        if exited.len() >= MAX_EXITED_VMS_KEPT {
            exited.sort_by_key(|v| v.started_ms);
            for old in &exited[..=exited.len() - MAX_EXITED_VMS_KEPT] {
                self.forget_vm(old);
            }
        }
        let id = format!("vm-{}", self.store.next_vm_number()?);
        let api_sock = self.sliver_dir(slice).join(format!("{id}.sock"));
        // The log stays the node's: the VM only gets the open file.
        let log = self.cfg.state_dir.join("vms").join(format!("{id}.log"));
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
        ];
        if !matches!(req.kind, VmKind::Restore | VmKind::Receive) {
            args.extend(["--memory".into(), format!("{}M", req.memory_mib).into()]);
        }
        let vm_args = match (req.kind, s.spec.bandwidth_kbps) {
            (VmKind::Run, Some(kbps)) => limit_bandwidth(&req.args, kbps),
            _ => req.args.clone(),
        };
        args.extend(vm_args.iter().map(OsString::from));
        if let (VmKind::Run, Some(uid)) = (req.kind, s.uid) {
            self.give_drives(slice, &vm_args, uid)?;
        }
        let cpus = self.vm_cpus(&s.spec, &self.held()?);
        let spawned = spawn(SpawnRequest {
            exe: &self.cfg.tern_exe,
            args,
            procs_files: self.cfg.cgroups.procs_files(slice),
            log: &log,
            cpus: Some(CpuSet::of(&cpus)),
            uid: s.uid,
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
        crate::node_event!("started VM {} (pid {}) in slice {slice}", vm.id, vm.pid);
        Ok(vm)
    }

    /// Gives the disk images of a system VM that lie in the sliver's directory to
    /// its uid, mode 0600. Images elsewhere are left alone: the VM opens them as its
    /// uid, so the kernel decides whether it may (the node never hands a file it was
    /// merely named to a sliver).
    fn give_drives(&self, slice: &str, args: &[String], uid: u32) -> Result<(), NodeError> {
        let Ok(dir) = std::fs::canonicalize(self.sliver_dir(slice)) else {
            return Ok(());
        };
        for file in drive_files(args) {
            let Ok(path) = std::fs::canonicalize(&file) else {
                continue;
            };
            // Directly in the sliver's directory only: [`crate::uid::give`] needs
            // the directories above the file to be the node's.
            if path.parent() == Some(dir.as_path()) && path.is_file() {
                crate::uid::give(&path, uid, 0o600).map_err(|e| {
                    NodeError::internal(format!("cannot give {} to uid {uid}: {e}", path.display()))
                })?;
            }
        }
        Ok(())
    }

    /// Refuses (507) a VM whose disk images (or, restored, snapshot) outside the
    /// sliver's directories would not fit the slice's disk quota.
    fn check_vm_files(&self, slice: &str, quota_mib: u64, req: &StartVm) -> Result<(), NodeError> {
        let mut files = drive_files(&req.args);
        if req.kind == VmKind::Restore {
            files.extend(req.args.first().cloned());
        }
        let own = [self.sliver_dir(slice), self.snapshot_dir(slice)];
        let adding: u64 = files
            .iter()
            .map(|f| std::fs::canonicalize(f).unwrap_or_else(|_| f.into()))
            .filter(|p| !own.iter().any(|d| p.starts_with(d)))
            .map(|p| super::quota::image_bytes(&p))
            .sum();
        self.check_disk(slice, quota_mib, adding, "the VM's disk images take")
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
                crate::node_event!("VM {id}: stop through its API failed ({e}): killing it");
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
    pub(super) fn running(&self, vm: &Vm) -> bool {
        if let Some(child) = self.children().get_mut(&vm.id) {
            return matches!(child.try_wait(), Ok(None));
        }
        procs::alive(vm.pid, vm.start_time)
    }

    /// Waits for our child of VM `id`, if we have it (after it was killed).
    pub(super) fn reap(&self, id: &str) {
        let child = self.children().remove(id);
        if let Some(mut c) = child {
            let _ = c.wait();
        }
    }

    pub(super) fn forget_vm(&self, vm: &Vm) {
        if let Err(e) = self.store.delete_vm(&vm.id) {
            crate::node_event!("VM {}: {e}", vm.id);
        }
        let _ = std::fs::remove_file(&vm.api_sock);
        let _ = std::fs::remove_file(&vm.log);
    }

    /// Marks VMs whose process ended as exited, with how it ended when it was our
    /// child.
    pub(super) fn note_exits(&self) {
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
            crate::node_event!("VM {} {exit}", vm.id);
            vm.state = VmState::Exited;
            vm.exit = Some(exit);
            if let Err(e) = self.store.put_vm(&vm) {
                crate::node_event!("VM {}: {e}", vm.id);
            }
        }
    }
}

/// `tern run` arguments whose every `--netdev` carries the slice's bandwidth limit
/// (`rate-kbps=`, replacing one the request gave: the slice's is the bound).
pub fn limit_bandwidth(args: &[String], kbps: u64) -> Vec<String> {
    let limited = |value: &str| {
        let mut parts: Vec<&str> = value
            .split(',')
            .filter(|p| !p.starts_with("rate-kbps="))
            .collect();
        let rate = format!("rate-kbps={kbps}");
        parts.push(&rate);
        parts.join(",")
    };
    let mut out = Vec::with_capacity(args.len());
    let mut next_is_netdev = false;
    for a in args {
        if next_is_netdev {
            out.push(limited(a));
            next_is_netdev = false;
        } else if let Some(v) = a.strip_prefix("--netdev=") {
            out.push(format!("--netdev={}", limited(v)));
        } else {
            next_is_netdev = a == "--netdev";
            out.push(a.clone());
        }
    }
    out
}

/// The `file=` paths of a `tern run`'s `--drive` options.
pub fn drive_files(args: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut next_is_drive = false;
    for a in args {
        let value = if next_is_drive {
            Some(a.as_str())
        } else {
            a.strip_prefix("--drive=")
        };
        next_is_drive = value.is_none() && a == "--drive";
        if let Some(v) = value {
            out.extend(
                v.split(',')
                    .filter_map(|p| p.strip_prefix("file="))
                    .map(String::from),
            );
        }
    }
    out
}

fn describe_exit(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(c), _) => format!("exited with status {c}"),
        (None, Some(s)) => format!("killed by signal {s}"),
        _ => "ended".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drive_files_are_found_in_both_spellings() {
        let args: Vec<String> = [
            "--drive",
            "file=/a.img,format=raw",
            "--kernel",
            "K",
            "--drive=readonly=on,file=/b.qcow2",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(drive_files(&args), ["/a.img", "/b.qcow2"]);
    }

    #[test]
    fn every_netdev_gets_the_slices_bandwidth() {
        let args: Vec<String> = [
            "--kernel",
            "Image",
            "--netdev",
            "user,rate-kbps=99999",
            "--netdev=socket,connect=h:1",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            limit_bandwidth(&args, 1500),
            [
                "--kernel",
                "Image",
                "--netdev",
                "user,rate-kbps=1500",
                "--netdev=socket,connect=h:1,rate-kbps=1500"
            ]
        );
    }
}
