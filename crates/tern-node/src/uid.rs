//! A separate unprivileged uid per sliver (`tern node serve --uid-range FIRST-LAST`).
//!
//! Each slice gets the lowest uid of the range no other slice holds, recorded with
//! the slice in the store (so a restarted daemon keeps it) and free again when the
//! slice is deleted. Its VM processes drop to that uid (and the same gid, with no
//! supplementary groups) after entering the slice's cgroup and before `exec`: two
//! slivers' VMs then cannot signal or ptrace each other, and cannot read each
//! other's files, which the node makes owned by the sliver's uid with mode 0600 in
//! a directory of mode 0700 ([`sliver_dir`](crate::node::Node::sliver_dir)).
//!
//! Without `--uid-range` VMs run as the daemon's user (root), as before.

use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// The uids the node hands to slivers, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UidRange {
    /// The first uid.
    pub first: u32,
    /// The last uid.
    pub last: u32,
}

impl UidRange {
    /// Parses `FIRST-LAST`. Uid 0 and the overflow uid 65534 are refused: a sliver
    /// must be unprivileged and nobody else.
    pub fn parse(text: &str) -> Result<UidRange, String> {
        let (a, b) = text
            .split_once('-')
            .ok_or_else(|| format!("uid range `{text}`: expected FIRST-LAST"))?;
        let num = |s: &str| {
            s.trim()
                .parse::<u32>()
                .map_err(|_| format!("uid range `{text}`: `{s}` is not a uid"))
        };
        let (first, last) = (num(a)?, num(b)?);
        if first == 0 || first > last || last == u32::MAX {
            return Err(format!(
                "uid range `{text}`: needs 0 < FIRST <= LAST < {}",
                u32::MAX
            ));
        }
        if (first..=last).contains(&65534) {
            return Err(format!(
                "uid range `{text}` holds 65534 (nobody): pick another range"
            ));
        }
        Ok(UidRange { first, last })
    }

    /// The lowest uid of the range not in `used`.
    pub fn allocate(&self, used: &[u32]) -> Option<u32> {
        (self.first..=self.last).find(|u| !used.contains(u))
    }

    /// Whether `uid` is in the range.
    pub fn contains(&self, uid: u32) -> bool {
        (self.first..=self.last).contains(&uid)
    }
}

impl std::fmt::Display for UidRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.first, self.last)
    }
}

/// Makes the regular file `path` owned by `uid` (and group `uid`) with `mode`.
///
/// The file may lie in a sliver's directory, where its uid could have put a
/// symbolic link (to /etc/shadow, say) in its place: the last component is opened
/// without following links, and the file must have one link only (a hard link to
/// another's file would be given away too; the kernel's protected_hardlinks keeps
/// a uid from making one to a file it does not own). The directories above must
/// not be the sliver's to change (the sliver's own directory is, its parent not).
pub fn give(path: &Path, uid: u32, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() || std::os::unix::fs::MetadataExt::nlink(&meta) != 1 {
        return Err(io::Error::other(format!(
            "{} is not a regular file with one link",
            path.display()
        )));
    }
    std::os::unix::fs::fchown(&file, Some(uid), Some(uid))?;
    file.set_permissions(std::fs::Permissions::from_mode(mode))
}

/// Creates `path` anew (removing what is there, never following a symbolic link
/// there) for writing, mode 0600: a sliver could have put a link where the node
/// writes in its directory.
pub fn create_new(path: &Path) -> io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
}

/// Creates directory `dir` (and its parents) owned by `uid` with mode 0700, or, with
/// no uid, owned by the daemon's user.
pub fn private_dir(dir: &Path, uid: Option<u32>) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    // Its parent is the node's: nobody else can have put a link here.
    if !std::fs::symlink_metadata(dir)?.is_dir() {
        return Err(io::Error::other(format!(
            "{} is not a directory",
            dir.display()
        )));
    }
    if let Some(uid) = uid {
        std::os::unix::fs::lchown(dir, Some(uid), Some(uid))?;
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

/// Permissions of a state directory whose slivers run as other uids: the
/// directory, `slivers/` and `snapshots/` may be passed through (0711), so each VM
/// reaches its own sliver's directory there (0700, its uid's), and nothing else is
/// open to them: `vms/` (logs) and `services/` are 0700.
pub fn seal_state_dir(state_dir: &Path) -> io::Result<()> {
    let mode = |p: &Path, m: u32| {
        std::fs::create_dir_all(p)?;
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(m))
    };
    mode(state_dir, 0o711)?;
    mode(&state_dir.join("slivers"), 0o711)?;
    mode(&state_dir.join("snapshots"), 0o711)?;
    for d in ["vms", "services"] {
        mode(&state_dir.join(d), 0o700)?;
    }
    Ok(())
}

/// In a child between `fork` and `exec`: becomes `uid` (gid `uid`, no supplementary
/// groups) for real, effective and saved ids, so that it cannot go back.
///
/// # Safety
/// Only async-signal-safe calls (setgroups, setresgid, setresuid); it allocates
/// nothing, so it may run in a `pre_exec` closure.
pub unsafe fn become_uid(uid: u32) -> io::Result<()> {
    // SAFETY: plain system calls on no memory but a null list of groups.
    unsafe {
        if libc::setgroups(0, std::ptr::null()) < 0
            || libc::setresgid(uid, uid, uid) < 0
            || libc::setresuid(uid, uid, uid) < 0
        {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_symbolic_link_or_a_hard_link_is_not_given_away() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        std::fs::write(&target, "x").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(give(&link, 4242, 0o600).is_err());
        let hard = dir.path().join("hard");
        std::fs::hard_link(&target, &hard).unwrap();
        assert!(give(&hard, 4242, 0o600).is_err());
        let mut f = create_new(&link).unwrap();
        std::io::Write::write_all(&mut f, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "x");
        assert_eq!(std::fs::read_to_string(&link).unwrap(), "new");
    }

    #[test]
    fn ranges_are_checked_and_uids_handed_out_lowest_first() {
        let r = UidRange::parse("200000-200002").unwrap();
        assert_eq!(r.allocate(&[]), Some(200000));
        assert_eq!(r.allocate(&[200000, 200002]), Some(200001));
        assert_eq!(r.allocate(&[200000, 200001, 200002]), None);
        assert!(UidRange::parse("0-10").is_err());
        assert!(UidRange::parse("10-5").is_err());
        assert!(UidRange::parse("60000-70000").is_err());
        assert!(UidRange::parse("100").is_err());
        assert!(r.contains(200002) && !r.contains(200003));
    }
}
