//! The socket file: claiming its path, binding it, removing it again.

use std::fs;
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
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
/// A socket file nobody listens on (left by a VM that was killed) is removed first. A
/// socket a live server answers on is refused with [`ServeError::InUse`], anything
/// that is not a socket with [`ServeError::NotASocket`]. Two servers started at the
/// same instant on the same stale path can still race; tern never does that.
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
    let listener = UnixListener::bind(path).map_err(|e| {
        if e.kind() == io::ErrorKind::AddrInUse {
            ServeError::InUse {
                path: path.to_path_buf(),
            }
        } else {
            io_err("bind", e)
        }
    })?;
    let id = FileId::of(path).map_err(|e| io_err("inspect the new socket", e))?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o600))
        .map_err(|e| io_err("restrict the socket to its owner", e))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| io_err("make the socket non-blocking", e))?;
    Ok((listener, id))
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
