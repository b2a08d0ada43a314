//! Disks in a migration: fingerprints of shared images, and the destination's side of
//! each drive (the shared image, an overlay on it, or a copy of the whole disk).

use std::path::Path;

use tern_devices::virtio::blk::SECTOR;
use tern_devices::virtio::disk::{BlockBackend, DiskHandle};
use tern_migrate::{DiskFingerprint, DiskInfo, DiskMode};
use tern_snapshot::{ContentHash, Fingerprint, FingerprintMode};

/// The fingerprint of the image at `path` (size and BLAKE3 of sampled blocks: a few
/// milliseconds whatever its size).
pub fn fingerprint(path: &str) -> Result<DiskFingerprint, String> {
    let f = Fingerprint::compute(Path::new(path), FingerprintMode::Sampled)
        .map_err(|e| format!("disk image {path}: {e}"))?;
    let digest = match f.content {
        ContentHash::Sampled { digest, .. } | ContentHash::Full(digest) => digest,
        ContentHash::None => [0; 32],
    };
    Ok(DiskFingerprint {
        size: f.size,
        digest,
    })
}

/// Opens drives for the destination: tern's command line knows how to read a
/// `--drive` value and where copies of disks go.
pub trait DiskOpener {
    /// Opens drive `index` (`spec` is its `--drive` value on the source) as `mode`
    /// says, for a disk of `size` bytes:
    /// - [`DiskMode::Shared`]: the image as the drive says (called at the switch-over,
    ///   once the source has flushed it);
    /// - [`DiskMode::Overlay`]: the image read-only under a throw-away overlay that
    ///   the stream's blocks go into;
    /// - [`DiskMode::Copy`]: a new local image of `size` bytes, returning also the
    ///   `--drive` value that names it (the VM's configuration from then on).
    fn open(
        &mut self,
        index: usize,
        spec: &str,
        mode: DiskMode,
        size: u64,
    ) -> anyhow::Result<(DiskHandle, Option<String>)>;
}

/// One drive on the destination.
pub struct IncomingDisk {
    /// How it moves.
    pub info: DiskInfo,
    /// The disk, once opened.
    pub handle: Option<DiskHandle>,
}

impl IncomingDisk {
    /// Writes `data` at byte `offset`, for a disk whose blocks travel.
    pub fn write(&mut self, offset: u64, data: &[u8]) -> Result<(), String> {
        let index = self.info.index;
        if self.info.mode == DiskMode::Shared {
            return Err(format!("disk {index}: blocks for a shared disk"));
        }
        let Some(h) = &self.handle else {
            return Err(format!("disk {index}: blocks before the disk was opened"));
        };
        let end = offset.checked_add(data.len() as u64);
        if !offset.is_multiple_of(SECTOR) || end.is_none_or(|e| e > self.info.size) {
            return Err(format!(
                "disk {index}: {} bytes at {offset} do not fit a disk of {} bytes in whole sectors",
                data.len(),
                self.info.size
            ));
        }
        h.lock()
            .write_at(data, offset)
            .map_err(|e| format!("disk {index}: cannot write at {offset}: {e}"))
    }
}

/// Checks a shared image against the source's fingerprint.
pub fn check_shared(path: &str, want: &DiskFingerprint) -> Result<(), String> {
    let got = fingerprint(path)?;
    if got.size != want.size {
        return Err(format!(
            "disk image {path} has {} bytes here, {} on the source: not the same image (shared storage is needed, or --disks copy)",
            got.size, want.size
        ));
    }
    if got.digest != want.digest {
        return Err(format!(
            "disk image {path} differs from the source's (sampled content): not the same image (shared storage is needed, or --disks copy)"
        ));
    }
    Ok(())
}

/// The mode's name for messages.
pub fn mode_name(mode: DiskMode) -> &'static str {
    match mode {
        DiskMode::Shared => "shared",
        DiskMode::Overlay => "overlay",
        DiskMode::Copy => "copy",
    }
}
