//! The socket file: claiming its path, binding it, removing it again.

use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// A server answers on the socket already (another VM, or this one twice).
    #[error("control socket {path}: another server is already listening on it")]
    InUse {
        /// The socket path.
        path: PathBuf,
    },
    /// Something other than a socket is at the path; it is not removed.
    #[error("control socket {path}: the path exists and is not a socket (not removed)")]
    NotASocket {
        /// The socket path.
        path: PathBuf,
    },
    /// Probing, removing or binding the path failed.
    #[error("control socket {path}: cannot {action}: {source}")]
    Io {
        /// The socket path.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
}

/// Identity of the socket file we bound, so that shutdown removes only our own file
/// and not one another server has put at the same path since.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileId {
    dev: u64,
    ino: u64,
}

impl FileId {
    fn of(path: &Path) -> io::Result<FileId> {
        let m = fs::symlink_metadata(path)?;
        Ok(FileId {
            dev: m.dev(),
            ino: m.ino(),
        })
    }
}

/// Binds a listening socket at `path`, owner-only (0600): whoever can connect can
/// stop the VM.
///
/// The socket never exists at `path` with another mode, whatever the process umask
/// (which tern does not change: other threads create files): it is bound in a fresh
/// private directory (mode 0700) beside `path`, restricted to 0600 there, and renamed
/// into place (`RENAME_NOREPLACE`), and the directory is removed.
///
/// A socket file nobody listens on (left by a VM that was killed) is removed first. A
/// socket a live server answers on is refused with [`ServeError::InUse`], anything
/// that is not a socket with [`ServeError::NotASocket`].
pub fn bind(path: &Path) -> Result<(UnixListener, FileId), ServeError> {
    let io_err = |action, source| ServeError::Io {
        path: path.to_path_buf(),
        action,
        source,
    };
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_err("inspect the path", e)),
        Ok(m) if !m.file_type().is_socket() => {
            return Err(ServeError::NotASocket {
                path: path.to_path_buf(),
            })
        }
        Ok(_) => match UnixStream::connect(path) {
            Ok(_) => {
                return Err(ServeError::InUse {
                    path: path.to_path_buf(),
                })
            }
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                tracing::info!(
                    "control socket {}: removing stale socket file",
                    path.display()
                );
                match fs::remove_file(path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(io_err("remove the stale socket file", e)),
                }
            }
            Err(e) => return Err(io_err("probe the existing socket", e)),
        },
    }
    let private = PrivateDir::create(path).map_err(|e| io_err("bind", e))?;
    let inner = private.0.join("s");
    let listener = UnixListener::bind(&inner).map_err(|e| io_err("bind", e))?;
    fs::set_permissions(&inner, fs::Permissions::from_mode(0o600))
        .map_err(|e| io_err("restrict the socket to its owner", e))?;
    let id = FileId::of(&inner).map_err(|e| io_err("inspect the new socket", e))?;
    rename_noreplace(&inner, path).map_err(|e| match e.kind() {
        io::ErrorKind::AlreadyExists => ServeError::InUse {
            path: path.to_path_buf(),
        },
        _ => io_err("move the socket into place", e),
    })?;
    drop(private);
    listener
        .set_nonblocking(true)
        .map_err(|e| io_err("make the socket non-blocking", e))?;
    Ok((listener, id))
}

/// A directory only its owner can enter, beside a socket path, removed (with what is
/// left in it) when dropped.
struct PrivateDir(PathBuf);

impl PrivateDir {
    /// `.tern-XXXXXXXX` (a short name: a socket path has at most 107 bytes) in the
    /// directory of `path`, created with mode 0700 (the umask can only remove bits).
    fn create(path: &Path) -> io::Result<PrivateDir> {
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let seed = std::collections::hash_map::RandomState::new();
        let mut last = io::Error::from(io::ErrorKind::AlreadyExists);
        for attempt in 0u32..16 {
            let n = std::hash::BuildHasher::hash_one(&seed, (std::process::id(), attempt));
            let dir = parent.join(format!(".tern-{:08x}", n as u32));
            match fs::DirBuilder::new().mode(0o700).create(&dir) {
                Ok(()) => return Ok(PrivateDir(dir)),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = e,
                Err(e) => return Err(e),
            }
        }
        Err(last)
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        let _ = fs::remove_file(self.0.join("s"));
        let _ = fs::remove_dir(&self.0);
    }
}

/// Renames `from` to `to`, failing with `AlreadyExists` if `to` exists.
fn rename_noreplace(from: &Path, to: &Path) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| {
        std::ffi::CString::new(p.as_os_str().as_bytes())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))
    };
    let (from, to) = (c(from)?, c(to)?);
    // SAFETY: both are valid NUL-terminated strings that live across the call.
    let r = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            from.as_ptr(),
            libc::AT_FDCWD,
            to.as_ptr(),
            libc::RENAME_NOREPLACE,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Removes the socket file at `path` if it is still the one identified by `id`.
pub fn remove(path: &Path, id: FileId) {
    if FileId::of(path).ok() != Some(id) {
        return;
    }
    if let Err(e) = fs::remove_file(path) {
        tracing::warn!("control socket {}: cannot remove: {e}", path.display());
    }
}
