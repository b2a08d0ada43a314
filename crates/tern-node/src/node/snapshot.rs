//! Snapshots of a slice's VMs on request (`POST /slices/{name}/vms/{id}/snapshot`):
//! written into the sliver's directory, within its disk quota ([`super::quota`]),
//! owned by its uid with mode 0600. The node's way to `tern snapshot` a sliver's VM
//! with the quota checked.

use std::time::Duration;

use super::{now_ms, Node};
use crate::error::NodeError;
use crate::spec::{VmSnapshot, VmState};

/// How long a VM may take to write its snapshot.
const SNAPSHOT_TIMEOUT: Duration = Duration::from_secs(120);

impl Node {
    /// Writes a snapshot of running VM `id` of `slice` to
    /// `STATE/slivers/SLICE/ID-MS.tern`: refused (507) if its memory would not fit
    /// the slice's disk quota, deleted and refused if the written file does not.
    pub fn snapshot_vm(&self, slice: &str, id: &str) -> Result<VmSnapshot, NodeError> {
        let vm = self.vm(slice, id)?;
        if vm.state != VmState::Running {
            return Err(NodeError::conflict(format!("VM {id} is not running")));
        }
        self.check_snapshot_room(slice, id, vm.memory_mib)?;
        let path = self
            .sliver_dir(slice)
            .join(format!("{id}-{}.tern", now_ms()));
        let req = tern_vmm::control::SnapshotRequest::new(path.display().to_string());
        tern_vmm::Client::new(&vm.api_sock)
            .with_timeout(SNAPSHOT_TIMEOUT)
            .snapshot(&req)
            .map_err(|e| {
                let _ = std::fs::remove_file(&path);
                NodeError::internal(format!("snapshot of VM {id} failed: {e}"))
            })?;
        self.check_snapshot_written(slice, &path)?;
        if let Some(uid) = self.stored_slice(slice)?.uid {
            crate::uid::give(&path, uid, 0o600).map_err(|e| {
                NodeError::internal(format!("cannot give {} to uid {uid}: {e}", path.display()))
            })?;
        }
        let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        crate::node_event!(
            "VM {id} of slice {slice} saved to {} ({bytes} bytes)",
            path.display()
        );
        Ok(VmSnapshot {
            path: path.display().to_string(),
            bytes,
            disk_used_bytes: self.disk_used(slice),
        })
    }
}
