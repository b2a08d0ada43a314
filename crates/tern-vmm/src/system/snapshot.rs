//! Writing a running or paused system VM to one snapshot file, and reading it back
//! into a freshly built machine.
//!
//! The file holds the configuration ("config"), the machine state ("machine": harts,
//! devices, clock, firmware state; postcard), guest RAM ("ram": zero pages omitted,
//! stored pages mappable on restore), and a record of each disk image (path and
//! fingerprint), so that restoring against a changed image is refused.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tern_hart::GuestRam;
use tern_machine::virt::state::{MachineState, VirtHandle};
use tern_machine::virt::VirtMachine;
use tern_snapshot::{
    DiskRecord, FingerprintMatch, FingerprintMode, ParentRef, Snapshot, SnapshotId, SnapshotMeta,
    SnapshotWriter, VmKind, WriteOptions,
};
use tern_snapshot::{PageLocation, PageSource, Pages, PopulateOptions, Region, PAGE_SIZE};

use super::config::{drive_file, drive_is_throwaway, SystemConfig};
use crate::control::{Compression, ControlError, SnapshotInfo, SnapshotRequest};

/// Architecture recorded in tern's snapshots.
pub const ARCH: &str = "riscv64";
/// How long a snapshot waits for the harts to reach an instruction boundary.
const PAUSE_TIMEOUT: Duration = Duration::from_secs(10);

/// Guest RAM as a page source for the snapshot writer.
struct RamPages<'a>(&'a GuestRam);

impl PageSource for RamPages<'_> {
    fn read_page(&self, index: u64, buf: &mut [u8]) -> io::Result<()> {
        let addr = self.0.base() + index * PAGE_SIZE;
        self.0
            .read(addr, buf)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))
    }
}

/// The previous snapshot of this VM (the parent of an incremental one).
#[derive(Clone, Debug)]
pub struct LastSnapshot {
    /// Its id.
    pub id: SnapshotId,
    /// Its file.
    pub path: PathBuf,
}

/// What the system VM remembers between snapshots.
#[derive(Debug, Default)]
pub struct SnapshotHistory {
    /// The last snapshot written (or restored from).
    pub last: Option<LastSnapshot>,
    /// The RAM dirty log still covers everything written since boot (no snapshot
    /// taken, not restored): a first snapshot may then read only those pages.
    pub dirty_log_since_boot: bool,
}

fn internal(what: &str, e: impl std::fmt::Display) -> ControlError {
    ControlError::Internal(format!("{what}: {e}"))
}

/// Writes the machine behind `handle` as `req` asks. Pauses a running machine for the
/// duration and resumes it afterwards.
pub fn write_snapshot(
    handle: &VirtHandle,
    config: &SystemConfig,
    history: &mut SnapshotHistory,
    req: &SnapshotRequest,
) -> Result<SnapshotInfo, ControlError> {
    if req.include_disks {
        return Err(ControlError::Unsupported(
            "--include-disks is not available yet for system VMs: the file records each disk image's path and fingerprint".into(),
        ));
    }
    if let Some(d) = config.drives.iter().find(|d| drive_is_throwaway(d)) {
        return Err(ControlError::Unsupported(format!(
            "drive `{d}` keeps the guest's writes in a throw-away overlay that a snapshot cannot hold yet; use a drive without snapshot=on"
        )));
    }
    if req.incremental && history.last.is_none() {
        return Err(ControlError::WrongState(
            "an incremental snapshot needs a previous snapshot of this VM".into(),
        ));
    }
    let started = Instant::now();
    let was_paused = handle.status().paused;
    if !was_paused {
        handle
            .pause(PAUSE_TIMEOUT)
            .map_err(|e| ControlError::WrongState(format!("cannot pause the VM: {e}")))?;
    }
    let result = write_paused(handle, config, history, req, started);
    if !was_paused {
        let _ = handle.resume();
    }
    result
}

fn write_paused(
    handle: &VirtHandle,
    config: &SystemConfig,
    history: &mut SnapshotHistory,
    req: &SnapshotRequest,
    started: Instant,
) -> Result<SnapshotInfo, ControlError> {
    let state = handle
        .save_state()
        .map_err(|e| internal("machine state", e))?;
    let ram = handle.ram();
    // Harts drop their writable TLB entries before they run again, so every later
    // write marks its page dirty; the log then restarts from this snapshot.
    ram.bump_store_epoch();
    let dirty = ram.take_dirty();
    let mut meta = SnapshotMeta::new(ARCH, VmKind::System);
    let parent = if req.incremental {
        history.last.clone()
    } else {
        None
    };
    if let Some(p) = &parent {
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
    let mut w = SnapshotWriter::create(&path, meta, opts).map_err(|e| internal("snapshot", e))?;
    let config_bytes = postcard::to_stdvec(config).map_err(|e| internal("config", e))?;
    w.add_state("config", &config_bytes)
        .map_err(|e| internal("snapshot", e))?;
    let machine_bytes = postcard::to_stdvec(&state).map_err(|e| internal("machine state", e))?;
    w.add_state("machine", &machine_bytes)
        .map_err(|e| internal("snapshot", e))?;
    let pages = if parent.is_some() {
        Pages::ChangedSinceParent(&dirty)
    } else if history.dirty_log_since_boot {
        Pages::Only(&dirty)
    } else {
        Pages::All
    };
    let region = Region {
        base: ram.base(),
        size: ram.size(),
    };
    let stats = w
        .add_memory("ram", region, &RamPages(&ram), pages)
        .map_err(|e| internal("memory", e))?;
    for (i, spec) in config.drives.iter().enumerate() {
        let Some(file) = drive_file(spec) else {
            continue;
        };
        let record = DiskRecord::capture(Path::new(file), "image", false, FingerprintMode::Sampled)
            .map_err(|e| internal(&format!("disk {file}"), e))?;
        w.add_disk(&format!("disk{i}"), &record)
            .map_err(|e| internal("snapshot", e))?;
    }
    let (summary, _) = w.finish().map_err(|e| internal("snapshot", e))?;
    history.last = Some(LastSnapshot {
        id: summary.id,
        path: path.clone(),
    });
    history.dirty_log_since_boot = false;
    Ok(SnapshotInfo {
        id: summary.id.to_string(),
        path: req.path.clone(),
        parent: parent.map(|p| p.id.to_string()),
        compress: req.compress,
        bytes: summary.file_len,
        pages_written: stats.mapped_pages + stats.compressed_pages,
        duration_us: started.elapsed().as_micros() as u64,
    })
}

/// A snapshot opened for restore.
pub struct OpenedSnapshot {
    /// The file (and its parents).
    pub snapshot: Snapshot,
    /// The machine's configuration.
    pub config: SystemConfig,
    /// Everything but RAM.
    pub machine: MachineState,
}

/// Opens `path` and checks that it is a riscv64 system VM snapshot whose disks are
/// unchanged.
pub fn open_snapshot(path: &Path) -> anyhow::Result<OpenedSnapshot> {
    let snapshot = Snapshot::open(path)?;
    snapshot.expect_guest(ARCH, VmKind::System)?;
    let config: SystemConfig = postcard::from_bytes(snapshot.state("config")?)
        .map_err(|e| anyhow::anyhow!("snapshot section `config`: {e}"))?;
    let machine: MachineState = postcard::from_bytes(snapshot.state("machine")?)
        .map_err(|e| anyhow::anyhow!("snapshot section `machine`: {e}"))?;
    for (name, record) in snapshot.disks() {
        match record.check(name)? {
            FingerprintMatch::Same => {}
            FingerprintMatch::MtimeDiffers => anyhow::bail!(
                "snapshot disk `{name}`: {} was modified after the snapshot was taken",
                record.path
            ),
        }
    }
    Ok(OpenedSnapshot {
        snapshot,
        config,
        machine,
    })
}

/// Fills the machine's RAM from the snapshot (mapping stored pages lazily where the
/// file allows it) and loads the machine state. Returns the time the RAM took.
pub fn load_into(machine: &mut VirtMachine, opened: &OpenedSnapshot) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let ram: Arc<GuestRam> = machine.ram();
    let view = opened.snapshot.memory("ram")?;
    let region = view.region();
    if region.base != ram.base() || region.size != ram.size() {
        anyhow::bail!(
            "snapshot memory `ram` is {:#x}+{:#x}, the machine's {:#x}+{:#x}",
            region.base,
            region.size,
            ram.base(),
            ram.size()
        );
    }
    let mut compressed = false;
    for run in view.plan() {
        let addr = ram.base() + run.first_page * PAGE_SIZE;
        match run.location {
            PageLocation::Zero => {}
            PageLocation::File { layer, offset } => {
                let file = opened
                    .snapshot
                    .layer_file(layer)
                    .ok_or_else(|| anyhow::anyhow!("snapshot memory: layer {layer} is missing"))?;
                ram.map_file(addr, run.pages * PAGE_SIZE, file, offset)?;
            }
            _ => compressed = true,
        }
    }
    if compressed {
        let opts = PopulateOptions {
            dest_is_zeroed: true,
            mapped_min_pages: Some(1),
            threads: 0,
        };
        // SAFETY: the machine has not started: no hart runs and no device touches guest
        // RAM while the snapshot's compressed pages are decompressed into it.
        let dest = unsafe { ram.restore_slice() };
        view.populate_with(dest, &opts)?;
    }
    let ram_time = started.elapsed();
    // Restored pages are clean: the next incremental snapshot stores only new writes.
    ram.take_dirty();
    machine.load_state(&opened.machine)?;
    Ok(ram_time)
}
