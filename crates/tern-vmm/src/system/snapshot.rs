//! Writing a running or paused system VM to one snapshot file, and reading it back
//! into a freshly built machine.
//!
//! The file holds the configuration ("config"), one state section per component of
//! the machine (`board`, `clock`, `hart0`..., `sbi`, `plic`, `uart`, `virtio0`...:
//! see `tern_machine::virt::state`), each the component's versioned state, guest RAM
//! ("ram": zero pages omitted, stored pages mappable on restore), and a record of each
//! disk image (path and fingerprint), so that restoring against a changed image is
//! refused.
//!
//! Disks (drive `i` is "disk`i`" in the file): with `--include-disks`, and always for a
//! disk whose writes live in a throw-away overlay (`snapshot=on`, or a disk restored
//! from a snapshot that held its blocks), the file also holds a disk overlay: the
//! current contents of every 4 KiB block the guest wrote since the disk was opened
//! (virtio-blk tracks them, see [`TrackedDisk`]). An incremental snapshot stores the
//! whole overlay again, not only the blocks written since its parent: each file's
//! overlay is complete on top of the recorded image. A restore puts the overlay's
//! blocks into a private throw-away overlay over the image opened read-only, so the
//! restored guest reads what it wrote and writes on, and neither the image nor the
//! snapshot file ever changes: restoring the file twice gives two independent VMs.
//! The overlay is only valid on top of the image it was taken with, so a changed
//! image is refused as without one.

use std::io::{Seek, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use tern_devices::virtio::blk::SECTOR;
use tern_devices::virtio::disk::{BlockBackend, BlockSet, DiskHandle, DiskOptions, TrackedDisk};
use tern_hart::GuestRam;
use tern_machine::virt::state::VirtHandle;
use tern_machine::virt::VirtMachine;
use tern_snapshot::{
    DiskRecord, FingerprintMatch, FingerprintMode, OverlayExtent, OverlayGeometry, Snapshot,
    SnapshotWriter, VmKind,
};
use tern_snapshot::{Pages, Region};
use tern_state::{Persist, Sections};

use super::config::{drive_file, drive_is_read_only, SystemConfig};
use crate::control::{ControlError, SnapshotInfo, SnapshotRequest};
use crate::ram::{fill_ram, PageReader, RamPages};
use crate::snapshot_file::{self, internal};
pub use crate::snapshot_file::{LastSnapshot, ARCH};

/// How long a snapshot waits for the harts to reach an instruction boundary.
const PAUSE_TIMEOUT: Duration = Duration::from_secs(10);

/// What the system VM remembers between snapshots.
#[derive(Debug, Default)]
pub struct SnapshotHistory {
    /// The last snapshot written (or restored from).
    pub last: Option<LastSnapshot>,
    /// The RAM dirty log still covers everything written since boot (no snapshot
    /// taken, not restored): a first snapshot may then read only those pages.
    pub dirty_log_since_boot: bool,
}

/// The name of drive `index`'s disk record and disk overlay in a snapshot.
pub fn disk_name(index: usize) -> String {
    format!("disk{index}")
}

/// Writes the machine behind `handle` as `req` asks; `disks` are its drives' disks, in
/// the order of `config.drives`. Pauses a running machine for the duration and resumes
/// it afterwards.
pub fn write_snapshot(
    handle: &VirtHandle,
    config: &SystemConfig,
    disks: &[DiskHandle],
    history: &mut SnapshotHistory,
    req: &SnapshotRequest,
) -> Result<SnapshotInfo, ControlError> {
    if disks.len() != config.drives.len() {
        return Err(ControlError::Internal(format!(
            "the VM has {} disks for {} drives",
            disks.len(),
            config.drives.len()
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
    let result = write_paused(handle, config, disks, history, req, started);
    if result.is_err() {
        // The attempt may have consumed the RAM dirty log: pages written since the
        // last snapshot are no longer known, so the next one must be full.
        history.last = None;
        history.dirty_log_since_boot = false;
    }
    if !was_paused {
        let _ = handle.resume();
    }
    result
}

fn write_paused(
    handle: &VirtHandle,
    config: &SystemConfig,
    disks: &[DiskHandle],
    history: &mut SnapshotHistory,
    req: &SnapshotRequest,
    started: Instant,
) -> Result<SnapshotInfo, ControlError> {
    let state = handle
        .save_state()
        .map_err(|e| internal("machine state", e))?;
    let mut begun = begin_system(&handle.ram(), config, &state, history, req)?;
    for (i, (spec, disk)) in config.drives.iter().zip(disks).enumerate() {
        let Some(file) = drive_file(spec) else {
            continue;
        };
        let name = disk_name(i);
        let read_only = drive_is_read_only(spec);
        let mut disk = disk.lock();
        // What the fingerprint reads must be what the guest sees: written through,
        // with consistent image metadata (qcow2).
        disk.flush()
            .map_err(|e| internal(&format!("disk {file}: cannot flush"), e))?;
        let record = DiskRecord::capture(
            Path::new(file),
            "image",
            read_only,
            FingerprintMode::Sampled,
        )
        .map_err(|e| internal(&format!("disk {file}"), e))?;
        begun
            .w
            .add_disk(&name, &record)
            .map_err(|e| internal("snapshot", e))?;
        if !read_only && (req.include_disks || disk.throwaway()) {
            let written = disk.written().clone();
            add_disk_overlay(&mut begun.w, &name, &mut disk, &written)
                .map_err(|e| internal(&format!("disk {file}"), e))?;
        }
    }
    let answer = finish_system(begun, history, req, started)?;
    for d in disks {
        d.lock().mark();
    }
    Ok(answer)
}

/// A system VM's snapshot being written: the file with the configuration, the
/// component states and guest RAM in it, before the board adds what else it has.
pub(super) struct Begun {
    /// The snapshot file.
    pub w: SnapshotWriter<std::fs::File>,
    path: std::path::PathBuf,
    parent: Option<LastSnapshot>,
    memory: tern_snapshot::MemoryStats,
}

/// Starts the snapshot `req` asks for of a paused system VM (the `virt` or the
/// `spike` board): the file (referencing the last snapshot if incremental), `config`,
/// the component states and guest RAM — every page, the pages written since the
/// parent, or those written since boot while the dirty log still covers it. Bumping
/// the store epoch makes the harts drop their writable TLB entries before they run
/// again, so every later write marks its page dirty; the log restarts here.
pub(super) fn begin_system<C: tern_state::Versioned>(
    ram: &GuestRam,
    config: &C,
    state: &Sections,
    history: &SnapshotHistory,
    req: &SnapshotRequest,
) -> Result<Begun, ControlError> {
    ram.bump_store_epoch();
    let dirty = ram.take_dirty();
    let parent = if req.incremental {
        history.last.clone()
    } else {
        None
    };
    let (mut w, path) = snapshot_file::create(VmKind::System, parent.as_ref(), req)?;
    snapshot_file::add_states(&mut w, config, state)?;
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
    let memory = w
        .add_memory("ram", region, &RamPages(ram), pages)
        .map_err(|e| internal("memory", e))?;
    Ok(Begun {
        w,
        path,
        parent,
        memory,
    })
}

/// Finishes a snapshot [`begin_system`] started, records it as the VM's last one
/// and answers the request.
pub(super) fn finish_system(
    begun: Begun,
    history: &mut SnapshotHistory,
    req: &SnapshotRequest,
    started: Instant,
) -> Result<SnapshotInfo, ControlError> {
    let (summary, _) = begun.w.finish().map_err(|e| internal("snapshot", e))?;
    history.last = Some(LastSnapshot {
        id: summary.id,
        path: begun.path,
    });
    history.dirty_log_since_boot = false;
    Ok(snapshot_file::answer(
        req,
        &summary,
        begun.parent.as_ref(),
        &begun.memory,
        started,
    ))
}

/// Longest extent handed to the snapshot writer, in sectors (it splits them further).
const MAX_EXTENT_SECTORS: u64 = 1 << 20;

/// Adds the blocks of `set` of `disk`, with their current contents, as disk overlay
/// `name`; returns the bytes of disk data stored (before compression). The data is
/// read block run by block run while it is written, so memory stays bounded.
pub fn add_disk_overlay<W: Write + Seek>(
    w: &mut SnapshotWriter<W>,
    name: &str,
    disk: &mut TrackedDisk,
    set: &BlockSet,
) -> tern_snapshot::Result<u64> {
    let sectors = disk.size() / SECTOR;
    let geometry = OverlayGeometry {
        sector_size: SECTOR as u32,
        disk_sectors: sectors,
    };
    // Whole sectors inside the disk (a size that is not a multiple of 512 leaves a
    // tail the guest cannot address).
    let mut extents = Vec::new();
    for run in disk.byte_runs(set) {
        let (mut first, end) = (run.start / SECTOR, (run.end / SECTOR).min(sectors));
        while first < end {
            let n = (end - first).min(MAX_EXTENT_SECTORS);
            extents.push(OverlayExtent {
                sector: first,
                sectors: n as u32,
            });
            first += n;
        }
    }
    let bytes = extents.iter().map(|e| u64::from(e.sectors) * SECTOR).sum();
    w.add_disk_overlay_from(name, geometry, extents, |sector, buf| {
        disk.read_at(buf, sector * SECTOR)
    })?;
    Ok(bytes)
}

/// A snapshot opened for restore.
pub struct OpenedSnapshot {
    /// The file (and its parents): shared with the restored RAM, which reads its pages
    /// from it while the VM runs.
    pub snapshot: Arc<Snapshot>,
    /// The machine's configuration.
    pub config: SystemConfig,
    /// Every component's state: everything but RAM.
    pub machine: Sections,
}

/// Opens `path` and checks that it is a riscv64 system VM snapshot whose disks are
/// unchanged.
pub fn open_snapshot(path: &Path) -> anyhow::Result<OpenedSnapshot> {
    let snapshot = Arc::new(Snapshot::open(path)?);
    snapshot.expect_guest(ARCH, VmKind::System)?;
    let config: SystemConfig = snapshot_file::read_config(&snapshot)?;
    let machine = snapshot_file::read_components(&snapshot)?;
    for (name, record) in snapshot.disks() {
        // An overlay holds only the blocks the guest wrote: the others must come from
        // the very image the snapshot was taken with.
        let overlay = if snapshot.disk_overlay(name).is_ok() {
            "; the snapshot holds only the blocks the guest wrote to it, which are valid on top of the image the snapshot was taken with and no other"
        } else {
            ""
        };
        match record.check(name) {
            Ok(FingerprintMatch::Same) => {}
            Ok(FingerprintMatch::MtimeDiffers) => anyhow::bail!(
                "snapshot disk `{name}`: {} was modified after the snapshot was taken{overlay}",
                record.path
            ),
            Err(e) => anyhow::bail!("snapshot {e}{overlay}"),
        }
    }
    Ok(OpenedSnapshot {
        snapshot,
        config,
        machine,
    })
}

impl OpenedSnapshot {
    /// Opens the disk of drive `index` for the restore: see [`reopen_disk`].
    pub fn reopen_disk(&self, index: usize, opts: &DiskOptions) -> anyhow::Result<DiskHandle> {
        reopen_disk(&self.snapshot, index, opts)
    }
}

/// Fills the machine's RAM from the snapshot (stored pages are read when first
/// touched, see [`crate::ram`]) and loads the machine state. Returns the time the RAM
/// took. If a page cannot be read later (the file changed), the machine stops and
/// `ram.lost()` says why.
pub fn load_into(machine: &mut VirtMachine, opened: &OpenedSnapshot) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let ram: Arc<GuestRam> = machine.ram();
    let stop = machine.stop_handle();
    fill_ram(
        &opened.snapshot,
        "ram",
        &ram,
        ram.size(),
        PageReader::Direct,
        Box::new(move |_| stop.stop(1)),
    )?;
    let ram_time = started.elapsed();
    machine
        .restore(&opened.machine)
        .map_err(|e| anyhow::anyhow!("snapshot: {e}"))?;
    Ok(ram_time)
}

/// Opens the disk of drive `index` (described by `opts`, as the configuration saved in
/// `snapshot` gives it) for a restore. If the snapshot holds a disk overlay for it,
/// the image is opened read-only under a fresh throw-away overlay into which the
/// snapshot's blocks are copied (and checked): the guest reads what it wrote, and
/// writes on into the overlay, never into the image or the snapshot file. Otherwise
/// the disk opens as the drive says (an image written in place).
pub fn reopen_disk(
    snapshot: &Snapshot,
    index: usize,
    opts: &DiskOptions,
) -> anyhow::Result<DiskHandle> {
    let name = disk_name(index);
    let path = opts.path.display();
    let overlay = match snapshot.disk_overlay(&name) {
        Ok(o) => o,
        Err(tern_snapshot::Error::NoSuchSection { .. }) => {
            if opts.throwaway() {
                anyhow::bail!(
                    "snapshot disk `{name}`: drive {path} keeps the guest's writes in a throw-away overlay (snapshot=on), but the snapshot holds no disk overlay for it"
                );
            }
            return Ok(DiskHandle::open(opts)?);
        }
        Err(e) => return Err(e.into()),
    };
    if opts.read_only {
        anyhow::bail!(
            "snapshot disk overlay `{name}`: drive {path} is read-only, but the snapshot holds blocks written to it"
        );
    }
    let mut with_overlay = opts.clone();
    with_overlay.snapshot = true;
    let handle = DiskHandle::open(&with_overlay)?;
    {
        let mut disk = handle.lock();
        let g = overlay.geometry();
        let ss = u64::from(g.sector_size);
        let bytes = ss * g.disk_sectors;
        if bytes != disk.size() / SECTOR * SECTOR {
            anyhow::bail!(
                "snapshot disk overlay `{name}` is for a disk of {bytes} bytes, {path} has {}",
                disk.size()
            );
        }
        for (i, extent) in overlay.extents().enumerate() {
            let data = overlay
                .read(i)
                .with_context(|| format!("cannot restore disk `{name}` ({path})"))?;
            disk.write_at(&data, extent.sector * ss).with_context(|| {
                format!("cannot restore disk `{name}` ({path}): writing its private overlay")
            })?;
        }
        // The next incremental snapshot counts writes from here.
        disk.mark();
    }
    Ok(handle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use tern_devices::virtio::disk::DiskFormat;
    use tern_snapshot::{SnapshotMeta, WriteOptions};

    /// A raw image of `len` bytes with a recognisable pattern.
    fn image(dir: &Path, len: u64) -> (PathBuf, Vec<u8>) {
        let path = dir.join("base.img");
        let bytes: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &bytes).unwrap();
        (path, bytes)
    }

    fn read_all(disk: &mut TrackedDisk) -> Vec<u8> {
        let mut all = vec![0; disk.size() as usize];
        disk.read_at(&mut all, 0).unwrap();
        all
    }

    /// Writes a snapshot holding disk0's written blocks.
    fn snapshot_of(path: &Path, disk: &mut TrackedDisk) -> u64 {
        let opts = WriteOptions {
            sync: false,
            ..WriteOptions::default()
        };
        let meta = SnapshotMeta::new(ARCH, VmKind::System);
        let mut w = SnapshotWriter::create(path, meta, opts).unwrap();
        let written = disk.written().clone();
        let bytes = add_disk_overlay(&mut w, "disk0", disk, &written).unwrap();
        w.finish().unwrap();
        bytes
    }

    #[test]
    fn disk_overlays_restore_into_independent_private_overlays() {
        let dir = tempfile::tempdir().unwrap();
        // Not a whole number of 4 KiB blocks: the last block is partial.
        let (img, original) = image(dir.path(), (1 << 20) + 1536);
        let mut opts = DiskOptions::new(&img, DiskFormat::Raw);
        opts.snapshot = true;
        let mut disk = TrackedDisk::open(&opts).unwrap();
        disk.write_at(&[1; 512], 512).unwrap();
        disk.write_at(&[2; 8192], 40_960).unwrap();
        disk.write_at(&[3; 1024], (1 << 20) + 512).unwrap();
        let now = read_all(&mut disk);
        let file = dir.path().join("vm.tern");
        // Three runs of 4 KiB blocks; the partial one holds 1536 bytes.
        assert_eq!(snapshot_of(&file, &mut disk), 4096 + 8192 + 1536);
        let snap = Snapshot::open(&file).unwrap();
        let a = reopen_disk(&snap, 0, &opts).unwrap();
        let b = reopen_disk(&snap, 0, &opts).unwrap();
        assert_eq!(read_all(&mut a.lock()), now);
        assert_eq!(a.lock().written(), disk.written());
        assert!(a.lock().written_since_mark().is_empty());
        assert!(a.lock().throwaway());
        a.lock().write_at(&[9; 4096], 0).unwrap();
        assert_eq!(read_all(&mut b.lock()), now, "the copies are independent");
        assert_eq!(
            std::fs::read(&img).unwrap(),
            original,
            "the image never changes"
        );
        // A drive written in place becomes throw-away when its blocks come back from
        // a snapshot: the image must stay the one the overlay was taken on.
        let in_place = DiskOptions::new(&img, DiskFormat::Raw);
        let c = reopen_disk(&snap, 0, &in_place).unwrap();
        c.lock().write_at(&[7; 512], 0).unwrap();
        assert!(c.lock().throwaway());
        assert_eq!(std::fs::read(&img).unwrap(), original);
        // Without an overlay in the file, an in-place drive opens in place.
        let d = reopen_disk(&snap, 1, &in_place).unwrap();
        assert!(!d.lock().throwaway());
    }

    #[test]
    fn damaged_or_missing_overlays_are_refused_with_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let (img, _) = image(dir.path(), 1 << 20);
        let mut opts = DiskOptions::new(&img, DiskFormat::Raw);
        opts.snapshot = true;
        let mut disk = TrackedDisk::open(&opts).unwrap();
        let marker = b"a block the guest wrote, and only here";
        disk.write_at(&marker.repeat(512 / marker.len() + 1)[..512], 8192)
            .unwrap();
        let file = dir.path().join("vm.tern");
        snapshot_of(&file, &mut disk);
        let mut bytes = std::fs::read(&file).unwrap();
        let at = bytes
            .windows(marker.len())
            .position(|w| w == marker)
            .expect("the overlay data is in the file");
        bytes[at] ^= 0x20;
        std::fs::write(&file, &bytes).unwrap();
        let snap = Snapshot::open(&file).unwrap();
        let e = format!("{:#}", reopen_disk(&snap, 0, &opts).err().unwrap());
        assert!(
            e.starts_with("cannot restore disk `disk0`")
                && e.contains("snapshot section `disk0`: extent 0 (sector 16): crc mismatch"),
            "{e}"
        );
        // A snapshot=on drive whose snapshot holds no overlay for it.
        let e = reopen_disk(&snap, 3, &opts).err().unwrap().to_string();
        assert!(e.contains("holds no disk overlay"), "{e}");
        // A read-only drive that a snapshot says was written.
        let mut ro = DiskOptions::new(&img, DiskFormat::Raw);
        ro.read_only = true;
        let e = reopen_disk(&snap, 0, &ro).err().unwrap().to_string();
        assert!(e.contains("is read-only"), "{e}");
        // An image of another size.
        std::fs::write(&img, vec![0u8; 1 << 19]).unwrap();
        let e = reopen_disk(&snap, 0, &opts).err().unwrap().to_string();
        assert!(e.contains("is for a disk of 1048576 bytes"), "{e}");
    }
}
