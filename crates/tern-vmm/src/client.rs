//! A blocking client for the control API, for the `tern` commands and for tests.
//!
//! One request per connection over [`std::os::unix::net::UnixStream`]: no runtime, no
//! connection pool, nothing to set up. Every method returns the typed answer, or a
//! [`ClientError`] that carries the server's own message.

pub mod http;

use std::io;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::DeserializeOwned;

use crate::api::ErrorBody;
use crate::control::{
    GdbInfo, GdbRequest, MigrateRequest, MigrationStatus, SnapshotInfo, SnapshotRequest, VmStatus,
};

/// How long a request may take by default. Generous because a snapshot of a large
/// guest to a slow disk is one request.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Nothing listens on the socket (no VM, or a VM started without `--api-sock`).
    ///
    /// The operating system's error is part of the message rather than a separate
    /// source, so that it is printed once however the error is shown.
    #[error("cannot connect to the VM control socket {}: {error} (is a VM running with --api-sock {}?)", path.display(), path.display())]
    Connect {
        /// The socket path.
        path: PathBuf,
        /// The operating system's error.
        error: io::Error,
    },
    /// The connection broke or timed out.
    #[error("VM control socket {}: {error}", path.display())]
    Io {
        /// The socket path.
        path: PathBuf,
        /// The operating system's error.
        error: io::Error,
    },
    /// The answer is not what the API sends.
    #[error("VM control socket {}: unexpected answer: {message}", path.display())]
    Protocol {
        /// The socket path.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// The VM refused the request; `message` is the server's explanation.
    #[error("{message} (HTTP {status})")]
    Api {
        /// HTTP status code (400, 409, 500, ...).
        status: u16,
        /// The `error` field of the answer.
        message: String,
    },
}

impl ClientError {
    /// The HTTP status when the VM answered with an error.
    pub fn api_status(&self) -> Option<u16> {
        match self {
            ClientError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// A client for one VM's control socket.
#[derive(Debug, Clone)]
pub struct Client {
    path: PathBuf,
    timeout: Duration,
}

impl Client {
    /// A client for the socket at `path`; nothing is connected until a request.
    pub fn new(path: impl AsRef<Path>) -> Self {
        Client {
            path: path.as_ref().to_path_buf(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// The same client with another per-request read/write timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The socket path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `GET /status`.
    pub fn status(&self) -> Result<VmStatus, ClientError> {
        self.json("GET", "/status", None)
    }

    /// `PUT /pause`: returns once every hart has stopped.
    pub fn pause(&self) -> Result<(), ClientError> {
        self.no_content("PUT", "/pause")
    }

    /// `PUT /resume`.
    pub fn resume(&self) -> Result<(), ClientError> {
        self.no_content("PUT", "/resume")
    }

    /// `PUT /stop`.
    pub fn stop(&self) -> Result<(), ClientError> {
        self.no_content("PUT", "/stop")
    }

    /// `PUT /snapshot`. `req.path` must be absolute (see [`SnapshotRequest`]).
    pub fn snapshot(&self, req: &SnapshotRequest) -> Result<SnapshotInfo, ClientError> {
        let body = serde_json::to_vec(req).map_err(|e| self.protocol(e.to_string()))?;
        self.json("PUT", "/snapshot", Some(&body))
    }

    /// `PUT /migrate`: starts a live migration.
    pub fn migrate(&self, req: &MigrateRequest) -> Result<MigrationStatus, ClientError> {
        let body = serde_json::to_vec(req).map_err(|e| self.protocol(e.to_string()))?;
        self.json("PUT", "/migrate", Some(&body))
    }

    /// `GET /migrate`: the migration's progress.
    pub fn migration(&self) -> Result<MigrationStatus, ClientError> {
        self.json("GET", "/migrate", None)
    }

    /// `DELETE /migrate`: cancels the migration.
    pub fn cancel_migration(&self) -> Result<MigrationStatus, ClientError> {
        self.json("DELETE", "/migrate", None)
    }

    /// `PUT /gdb`: starts the VM's gdb server on `listen`; returns where it listens.
    pub fn gdb(&self, listen: &str) -> Result<GdbInfo, ClientError> {
        let req = GdbRequest {
            listen: listen.to_string(),
        };
        let body = serde_json::to_vec(&req).map_err(|e| self.protocol(e.to_string()))?;
        self.json("PUT", "/gdb", Some(&body))
    }

    /// `GET /openapi.json`, as JSON.
    pub fn openapi(&self) -> Result<serde_json::Value, ClientError> {
        self.json("GET", "/openapi.json", None)
    }

    /// Sends any request and returns the status and raw body, without interpreting
    /// either: for tests and for probing.
    pub fn raw(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
    ) -> Result<(u16, Vec<u8>), ClientError> {
        let r = self.send(method, path, body)?;
        Ok((r.status, r.body))
    }

    fn json<T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
    ) -> Result<T, ClientError> {
        let r = self.checked(method, path, body)?;
        serde_json::from_slice(&r.body)
            .map_err(|e| self.protocol(format!("{method} {path}: bad JSON: {e}")))
    }

    fn no_content(&self, method: &str, path: &str) -> Result<(), ClientError> {
        self.checked(method, path, None).map(|_| ())
    }

    /// Sends and turns any non-2xx answer into [`ClientError::Api`].
    fn checked(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
    ) -> Result<http::Response, ClientError> {
        let r = self.send(method, path, body)?;
        if (200..300).contains(&r.status) {
            return Ok(r);
        }
        let message = match serde_json::from_slice::<ErrorBody>(&r.body) {
            Ok(e) => e.error,
            Err(_) if r.body.is_empty() => format!("{method} {path} failed"),
            Err(_) => String::from_utf8_lossy(&r.body).into_owned(),
        };
        Err(ClientError::Api {
            status: r.status,
            message,
        })
    }

    fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
    ) -> Result<http::Response, ClientError> {
        let mut stream = UnixStream::connect(&self.path).map_err(|error| ClientError::Connect {
            path: self.path.clone(),
            error,
        })?;
        let io_err = |error| ClientError::Io {
            path: self.path.clone(),
            error,
        };
        stream
            .set_read_timeout(Some(self.timeout))
            .map_err(io_err)?;
        stream
            .set_write_timeout(Some(self.timeout))
            .map_err(io_err)?;
        http::write_request(&mut stream, method, path, body).map_err(io_err)?;
        let raw = http::read_all(&mut stream)
            .map_err(io_err)?
            .ok_or_else(|| {
                self.protocol(format!(
                    "{method} {path}: answer larger than {} bytes",
                    http::MAX_RESPONSE_BYTES
                ))
            })?;
        http::parse_response(&raw).map_err(|m| self.protocol(format!("{method} {path}: {m}")))
    }

    fn protocol(&self, message: String) -> ClientError {
        ClientError::Protocol {
            path: self.path.clone(),
            message,
        }
    }
}
