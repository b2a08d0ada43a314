//! A sliver's disk quota (`disk_mib`, PlanetLab's 5 GB by default): what its files
//! take is checked before anything adds to them, and refused with 507 (Insufficient
//! Storage) and the figures when it would not fit.
//!
//! What counts: every file of the sliver's directory and of its expiry snapshots'
//! directory, the disk images its running VMs were started with (wherever they are),
//! and its services' snapshots. A disk image counts at its largest: a raw image's
//! length (it cannot grow: a guest writes inside its fixed size), a qcow2 image's
//! virtual size (what it may grow to) if larger than its length. A snapshot's size
//! is bounded beforehand by its VM's memory (the bulk of a snapshot) and checked
//! again once written. A quota of 0 is none (records of older nodes).

use std::io::Read;
use std::path::{Path, PathBuf};

use super::Node;
use crate::error::NodeError;
use crate::spec::VmState;

/// Room a snapshot may need besides its VM's memory (devices, harts, headers).
pub const SNAPSHOT_OVERHEAD: u64 = 16 << 20;

/// The most space `path` may take as a disk image or any file (see the module doc).
/// Opened without blocking and without following a last symbolic link (a sliver's
/// guest could put a FIFO or a link where a file was); what is not a regular file
/// counts 0.
pub fn image_bytes(path: &Path) -> u64 {
    use std::os::unix::fs::OpenOptionsExt;
    let Ok(mut file) = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
    else {
        return 0;
    };
    let Ok(meta) = file.metadata() else {
        return 0;
    };
    if !meta.is_file() {
        return 0;
    }
    let len = meta.len();
    let mut head = [0u8; 32];
    let qcow2_virtual = file
        .read_exact(&mut head)
        .ok()
        .filter(|_| head[..4] == *b"QFI\xfb")
        .map(|_| u64::from_be_bytes(head[24..32].try_into().unwrap_or([0; 8])));
    len.max(qcow2_virtual.unwrap_or(0))
}

/// Most directory entries [`dir_bytes`] looks at: a sliver's files are made by a
/// hostile guest, which could otherwise make the node walk without end.
pub const MAX_ENTRIES: usize = 100_000;
/// Deepest directory nesting [`dir_bytes`] follows.
pub const MAX_DEPTH: usize = 32;

/// What the files under `dir` take (recursively, symbolic links not followed).
/// A tree with more than [`MAX_ENTRIES`] entries or deeper than [`MAX_DEPTH`]
/// counts as `u64::MAX`: over any quota, rather than partly counted.
pub fn dir_bytes(dir: &Path) -> u64 {
    let mut total = 0u64;
    let mut seen = 0usize;
    let mut pending: Vec<(PathBuf, usize)> = vec![(dir.to_path_buf(), 0)];
    while let Some((d, depth)) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            seen += 1;
            if seen > MAX_ENTRIES {
                return u64::MAX;
            }
            let Ok(t) = e.file_type() else { continue };
            if t.is_dir() {
                if depth + 1 > MAX_DEPTH {
                    return u64::MAX;
                }
                pending.push((e.path(), depth + 1));
            } else if t.is_file() {
                total = total.saturating_add(image_bytes(&e.path()));
            }
        }
    }
    total
}

fn mib(bytes: u64) -> u64 {
    bytes.div_ceil(1 << 20)
}

impl Node {
    /// What slice `slice`'s files take now (see the module doc).
    pub fn disk_used(&self, slice: &str) -> u64 {
        let own = [self.sliver_dir(slice), self.snapshot_dir(slice)];
        let mut total = own.iter().map(|d| dir_bytes(d)).sum::<u64>();
        let outside = |p: &Path| !own.iter().any(|d| p.starts_with(d));
        let mut counted: Vec<PathBuf> = Vec::new();
        let vms = self.store.vms().unwrap_or_default();
        let running = vms
            .iter()
            .filter(|v| v.slice == slice && v.state == VmState::Running);
        let drives = running.flat_map(|v| super::vms::drive_files(&v.args));
        let services = self.store.services().unwrap_or_default();
        let snapshots = services
            .iter()
            .filter(|s| s.slice == slice)
            .map(|s| s.snapshot.clone());
        for f in drives.chain(snapshots) {
            let p = std::fs::canonicalize(&f).unwrap_or_else(|_| PathBuf::from(&f));
            if outside(&p) && !counted.contains(&p) {
                total = total.saturating_add(image_bytes(&p));
                counted.push(p);
            }
        }
        total
    }

    /// Refuses (507) adding `adding` bytes to slice `slice` if its quota
    /// `quota_mib` would not hold them; `what` names the addition.
    pub(super) fn check_disk(
        &self,
        slice: &str,
        quota_mib: u64,
        adding: u64,
        what: &str,
    ) -> Result<(), NodeError> {
        if quota_mib == 0 {
            return Ok(());
        }
        let used = self.disk_used(slice);
        if used == u64::MAX {
            return Err(NodeError::insufficient_storage(format!(
                "disk quota of slice `{slice}`: its files cannot be counted (more than \
                 {MAX_ENTRIES} entries or directories deeper than {MAX_DEPTH}): nothing more \
                 is admitted until they are fewer"
            )));
        }
        if used.saturating_add(adding) > quota_mib << 20 {
            return Err(NodeError::insufficient_storage(format!(
                "disk quota of slice `{slice}`: {what}: {} MiB, but only {} MiB of its \
                 {quota_mib} MiB are free ({} MiB used)",
                mib(adding),
                quota_mib.saturating_sub(mib(used)),
                mib(used)
            )));
        }
        Ok(())
    }

    /// Before a VM of slice `slice` writes a snapshot: room for its memory.
    pub(super) fn check_snapshot_room(
        &self,
        slice: &str,
        vm_id: &str,
        memory_mib: u64,
    ) -> Result<(), NodeError> {
        let quota = self.stored_slice(slice)?.spec.disk_mib;
        let need = (memory_mib << 20).saturating_add(SNAPSHOT_OVERHEAD);
        self.check_disk(
            slice,
            quota,
            need,
            &format!("a snapshot of VM {vm_id} may take up to"),
        )
    }

    /// After a snapshot was written to `path`: if the slice is now over its quota,
    /// the snapshot is deleted and refused.
    pub(super) fn check_snapshot_written(&self, slice: &str, path: &Path) -> Result<(), NodeError> {
        let quota = self.stored_slice(slice)?.spec.disk_mib;
        let used = self.disk_used(slice);
        if quota != 0 && used > quota << 20 {
            let _ = std::fs::remove_file(path);
            return Err(NodeError::insufficient_storage(format!(
                "disk quota of slice `{slice}`: the snapshot written brought its files to {} \
                 MiB, over its {quota} MiB: it was deleted",
                mib(used)
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_qcow2_image_counts_at_its_virtual_size_and_a_raw_one_at_its_length() {
        let dir = tempfile::tempdir().unwrap();
        let raw = dir.path().join("a.img");
        std::fs::write(&raw, vec![0u8; 3000]).unwrap();
        let q = dir.path().join("b.qcow2");
        let mut head = vec![0u8; 512];
        head[..4].copy_from_slice(b"QFI\xfb");
        head[24..32].copy_from_slice(&(1u64 << 30).to_be_bytes());
        std::fs::write(&q, &head).unwrap();
        assert_eq!(image_bytes(&raw), 3000);
        assert_eq!(image_bytes(&q), 1 << 30);
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/c"), [1u8; 100]).unwrap();
        assert_eq!(dir_bytes(dir.path()), 3000 + (1 << 30) + 100);
        let mut deep = dir.path().join("deep");
        for _ in 0..=MAX_DEPTH {
            deep = deep.join("d");
        }
        std::fs::create_dir_all(&deep).unwrap();
        assert_eq!(dir_bytes(dir.path()), u64::MAX);
    }
}
