//! Where a snapshot file goes. [`SnapshotWriter::create`](crate::SnapshotWriter::create)
//! writes a fresh temporary file beside the target (created exclusively, owner-only,
//! under an unpredictable name, so no existing file or symbolic link is ever opened
//! for writing) and renames it into place when finished. The rename replaces only a
//! tern snapshot: whoever asks for a snapshot (an API client) names the path, and a
//! request must not be able to destroy a file that is not a snapshot.

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::header::MAGIC;
use crate::SnapshotId;

fn refuse(path: &Path, why: &str) -> Error {
    Error::io(
        path,
        "will not write there",
        io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{why}; a snapshot replaces only a tern snapshot file (remove it first, or choose another path)"),
        ),
    )
}

/// Checks that a snapshot may be written to `path`: nothing is there, or a tern
/// snapshot file (it starts with [`MAGIC`]) that the new one will replace. A symbolic
/// link, a directory, a device, a socket or any other file is refused, naming it.
pub fn check_target(path: &Path) -> Result<()> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(path, "cannot inspect the target", e)),
    };
    if meta.file_type().is_symlink() {
        return Err(refuse(path, "it is a symbolic link"));
    }
    if !meta.is_file() {
        return Err(refuse(path, "it is not a regular file"));
    }
    // O_NOFOLLOW: the name may have become a link since; O_NONBLOCK: nor a FIFO.
    let mut file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| Error::io(path, "cannot inspect the target", e))?;
    let mut head = [0u8; MAGIC.len()];
    let mut got = 0;
    while got < head.len() {
        match file.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io(path, "cannot inspect the target", e)),
        }
    }
    if got < head.len() || head != MAGIC {
        return Err(refuse(path, "it is not a tern snapshot file"));
    }
    Ok(())
}

/// Creates the temporary file for a snapshot to `path`: in the same directory (so the
/// final rename is atomic), named `.NAME.RANDOM.partial`, created exclusively with
/// mode 0600. Returns the file and its path.
pub(crate) fn create_temp(path: &Path) -> Result<(File, PathBuf)> {
    let name = path
        .file_name()
        .ok_or_else(|| refuse(path, "it names no file"))?
        .to_string_lossy()
        .into_owned();
    let mut last = None;
    for _ in 0..8 {
        let unique = SnapshotId::random().to_string();
        let tmp = path.with_file_name(format!(".{name}.{}.partial", &unique[..16]));
        match OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
        {
            Ok(file) => return Ok((file, tmp)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
            // Named by the path the caller asked for: the temporary name is tern's.
            Err(e) => return Err(Error::io(path, "cannot create", e)),
        }
    }
    Err(Error::io(
        path,
        "cannot create a temporary file beside it",
        last.unwrap_or_else(|| io::Error::other("no free name")),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_nothing_or_a_snapshot_may_be_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let p = |n: &str| dir.path().join(n);
        assert!(check_target(&p("absent")).is_ok());
        std::fs::write(p("snap"), [&MAGIC[..], b"rest"].concat()).unwrap();
        assert!(check_target(&p("snap")).is_ok());
        std::fs::write(p("notes"), b"important").unwrap();
        std::fs::write(p("short"), b"TERN").unwrap();
        std::fs::write(p("empty"), b"").unwrap();
        std::os::unix::fs::symlink(p("snap"), p("link")).unwrap();
        std::fs::create_dir(p("dir")).unwrap();
        for (name, why) in [
            ("notes", "not a tern snapshot"),
            ("short", "not a tern snapshot"),
            ("empty", "not a tern snapshot"),
            ("link", "symbolic link"),
            ("dir", "not a regular file"),
        ] {
            let e = check_target(&p(name)).unwrap_err().to_string();
            assert!(e.contains(why) && e.contains(name), "{name}: {e}");
        }
        assert_eq!(std::fs::read(p("notes")).unwrap(), b"important");
    }

    #[test]
    fn temporary_files_are_fresh_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("vm.tern");
        let (_f1, t1) = create_temp(&target).unwrap();
        let (_f2, t2) = create_temp(&target).unwrap();
        assert_ne!(t1, t2);
        assert_eq!(t1.parent(), Some(dir.path()));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&t1).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
