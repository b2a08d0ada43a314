//! The block device whose I/O a slice's disk limits (`disk_iops`, `disk_bps`)
//! bound: the one holding the node's state directory, where slivers' images and
//! snapshots live. cgroups limit I/O per whole disk (`MAJOR:MINOR` of the disk, not
//! of a partition), so a partition is mapped to its disk through sysfs.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// The whole disk (major, minor) holding `path`, or why there is none (a tmpfs or
/// overlay has no block device of its own).
pub fn block_device_of(path: &Path) -> Result<(u32, u32), String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let dev = meta.dev();
    let (major, minor) = (libc::major(dev), libc::minor(dev));
    let sys = std::path::PathBuf::from(format!("/sys/dev/block/{major}:{minor}"));
    if !sys.exists() {
        return Err(format!(
            "{} is on device {major}:{minor}, which is not a block device",
            path.display()
        ));
    }
    if !sys.join("partition").exists() {
        return Ok((major, minor));
    }
    // A partition: its disk is the parent directory in sysfs.
    let parent = std::fs::read_to_string(sys.join("../dev"))
        .map_err(|e| format!("the disk of partition {major}:{minor}: {e}"))?;
    parse_dev(parent.trim()).ok_or_else(|| format!("the disk of {major}:{minor}: `{parent}`"))
}

/// `MAJOR:MINOR`.
fn parse_dev(text: &str) -> Option<(u32, u32)> {
    let (a, b) = text.split_once(':')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_numbers_parse() {
        assert_eq!(parse_dev("254:0"), Some((254, 0)));
        assert_eq!(parse_dev("8"), None);
    }
}
