//! What every kind of VM does alike with snapshot files: the header's identity, the
//! parent reference of an incremental snapshot, the writer's options, and the state
//! sections: `config` (the VM's configuration) and one section per component, each
//! holding the component's versioned state (tern-state's encoding).

use std::fs::File;
use std::path::PathBuf;
use std::time::Instant;

use tern_snapshot::{MemoryStats, ParentRef, SnapshotId, SnapshotMeta, SnapshotWriter, Summary};
use tern_snapshot::{SectionKind, Snapshot, VmKind, WriteOptions};
use tern_state::{Sections, Versioned};

use crate::control::{Compression, ControlError, SnapshotInfo, SnapshotRequest};

/// The name of the state section holding the VM's configuration.
pub const CONFIG: &str = "config";

/// Guest architecture recorded in (and required of) every snapshot file.
pub const ARCH: &str = "riscv64";

/// The previous snapshot of a VM (the parent of an incremental one).
#[derive(Clone, Debug)]
pub struct LastSnapshot {
    /// Its id.
    pub id: SnapshotId,
    /// Its file.
    pub path: PathBuf,
}

/// A failure of ours (not the request's) while snapshotting, naming what failed.
pub fn internal(what: &str, e: impl std::fmt::Display) -> ControlError {
    ControlError::Internal(format!("{what}: {e}"))
}

/// Creates the file `req` names for a VM of `kind`. `parent` is the previous
/// snapshot when the request is incremental (then referenced by the header).
/// Returns the writer and the file's path. A path that holds anything but a tern
/// snapshot is refused as an invalid request (400), and left as it is.
pub fn create(
    kind: VmKind,
    parent: Option<&LastSnapshot>,
    req: &SnapshotRequest,
) -> Result<(SnapshotWriter<File>, PathBuf), ControlError> {
    let mut meta = SnapshotMeta::new(ARCH, kind);
    if let Some(p) = parent {
        meta = meta.with_parent(ParentRef {
            id: p.id,
            path_hint: p.path.display().to_string(),
        });
    }
    let opts = WriteOptions {
        zstd_level: (req.compress == Compression::Zstd).then_some(1),
        ..WriteOptions::default()
    };
    let path = PathBuf::from(&req.path);
    // The writer checks again when it renames its file into place; this answers the
    // common case (the path holds some other file) as the request's fault.
    tern_snapshot::check_target(&path).map_err(|e| ControlError::InvalidRequest(e.to_string()))?;
    let w = SnapshotWriter::create(&path, meta, opts).map_err(|e| internal("snapshot", e))?;
    Ok((w, path))
}

/// Adds the state sections of a VM: its configuration as `config`, then every
/// component's state under the component's name.
pub fn add_states<C: Versioned>(
    w: &mut SnapshotWriter<File>,
    config: &C,
    components: &Sections,
) -> Result<(), ControlError> {
    let bytes = tern_state::to_bytes(config).map_err(|e| internal(CONFIG, e))?;
    w.add_state(CONFIG, &bytes)
        .map_err(|e| internal("snapshot", e))?;
    for (name, bytes) in components.iter() {
        if name == CONFIG {
            return Err(internal("snapshot", "a component is named `config`"));
        }
        w.add_state(name, bytes)
            .map_err(|e| internal("snapshot", e))?;
    }
    Ok(())
}

/// The configuration a snapshot holds in its `config` section.
pub fn read_config<C: Versioned>(snapshot: &Snapshot) -> anyhow::Result<C> {
    tern_state::from_bytes(snapshot.state(CONFIG)?)
        .map_err(|e| anyhow::anyhow!("snapshot section `{CONFIG}`: {e}"))
}

/// Every component state of a snapshot (its state sections but `config`), by name.
pub fn read_components(snapshot: &Snapshot) -> anyhow::Result<Sections> {
    let mut out = Sections::new();
    for s in snapshot.sections() {
        if s.kind != SectionKind::State || s.name == CONFIG {
            continue;
        }
        let bytes = snapshot.state(&s.name)?.to_vec();
        out.insert(s.name.clone(), bytes)
            .map_err(|e| anyhow::anyhow!("snapshot section `{}`: {e}", s.name))?;
    }
    Ok(out)
}

/// The answer to `req` once its file is finished (`summary`), with `memory` the
/// statistics of its RAM section and `started` when the request arrived.
pub fn answer(
    req: &SnapshotRequest,
    summary: &Summary,
    parent: Option<&LastSnapshot>,
    memory: &MemoryStats,
    started: Instant,
) -> SnapshotInfo {
    SnapshotInfo {
        id: summary.id.to_string(),
        path: req.path.clone(),
        parent: parent.map(|p| p.id.to_string()),
        compress: req.compress,
        bytes: summary.file_len,
        pages_written: memory.mapped_pages + memory.compressed_pages,
        duration_us: started.elapsed().as_micros() as u64,
    }
}
