//! Periodic work of the node: noting ended VMs, keeping VM logs bounded, and
//! reclaiming expired slices (after saving their VMs when the slice's spec asks for
//! it).

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use super::Node;
use crate::error::NodeError;
use crate::spec::{OnExpiry, VmState};

/// Largest VM log kept: a guest printing without end would otherwise fill the state
/// directory's disk. A longer log is emptied (the VM appends, so it goes on writing
/// at the new end). The node looks every [`crate::expiry::TICK`], so a log may
/// exceed this by what its guest writes in that time: a loose bound, not a quota.
pub const MAX_LOG_BYTES: u64 = 16 << 20;

/// How long a VM may take to write its snapshot when its slice expires.
const SNAPSHOT_TIMEOUT: Duration = Duration::from_secs(120);

impl Node {
    /// Periodic work ([`crate::expiry`]): notes VMs whose process ended, and
    /// reclaims slices expired at `now_ms`.
    pub fn tick(&self, now_ms: u64) {
        self.note_exits();
        self.bound_logs();
        self.idle_services(now_ms);
        let expired: Vec<String> = match self.store.slices() {
            Ok(s) => s
                .into_iter()
                .filter(|s| s.expires_ms <= now_ms)
                .map(|s| s.name)
                .collect(),
            Err(e) => {
                crate::node_event!("expiry: {e}");
                return;
            }
        };
        for name in expired {
            crate::node_event!("slice {name} expired: reclaiming it");
            self.snapshot_before_expiry(&name);
            match self.delete_slice(&name) {
                Ok(()) | Err(NodeError { status: 404, .. }) => {}
                Err(e) => crate::node_event!("reclaiming expired slice {name}: {e}"),
            }
        }
    }

    /// Empties the logs of running VMs that grew beyond [`MAX_LOG_BYTES`], leaving
    /// a line that says so.
    fn bound_logs(&self) {
        for vm in self.store.vms().unwrap_or_default() {
            if vm.state != VmState::Running {
                continue;
            }
            let Ok(file) = std::fs::OpenOptions::new().append(true).open(&vm.log) else {
                continue;
            };
            let Ok(len) = file.metadata().map(|m| m.len()) else {
                continue;
            };
            if len > MAX_LOG_BYTES && file.set_len(0).is_ok() {
                let _ = writeln!(&file, "[tern node: log emptied at {len} bytes]");
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
        // The VMs write there as the sliver's uid; the files are the node's again
        // afterwards (the uid goes to the next slice).
        if let Err(e) = crate::uid::private_dir(&dir, slice.uid) {
            crate::node_event!("slice {name}: cannot create {}: {e}", dir.display());
            return;
        }
        for vm in self.slice_vms(name).unwrap_or_default() {
            if vm.state != VmState::Running {
                continue;
            }
            if let Err(e) = self.check_snapshot_room(name, &vm.id, vm.memory_mib) {
                crate::node_event!("slice {name}: VM {} not saved: {e}", vm.id);
                continue;
            }
            let path = dir.join(format!("{}.tern", vm.id));
            let req = tern_vmm::control::SnapshotRequest::new(path.display().to_string());
            let client = tern_vmm::Client::new(&vm.api_sock).with_timeout(SNAPSHOT_TIMEOUT);
            let saved = client
                .snapshot(&req)
                .map_err(|e| e.to_string())
                .and_then(|_| {
                    self.check_snapshot_written(name, &path)
                        .map_err(|e| e.to_string())
                });
            let _ = crate::uid::give(&path, 0, 0o600);
            match saved {
                Ok(_) => {
                    crate::node_event!("slice {name}: VM {} saved to {}", vm.id, path.display())
                }
                Err(e) => crate::node_event!("slice {name}: VM {} not saved: {e}", vm.id),
            }
        }
        let _ = crate::uid::private_dir(&dir, Some(0));
    }

    /// Where the snapshots of an expired slice's VMs go.
    pub fn snapshot_dir(&self, slice: &str) -> PathBuf {
        self.cfg.state_dir.join("snapshots").join(slice)
    }
}
