//! The control API server: HTTP/1.1 and JSON on a Unix socket, Firecracker style.
//!
//! | method | path            | body              | answer                      |
//! |--------|-----------------|-------------------|-----------------------------|
//! | GET    | `/status`       |                   | 200 [`VmStatus`](crate::control::VmStatus) |
//! | PUT    | `/pause`        |                   | 204                         |
//! | PUT    | `/resume`       |                   | 204                         |
//! | PUT    | `/snapshot`     | [`SnapshotRequest`](crate::control::SnapshotRequest) | 200 [`SnapshotInfo`](crate::control::SnapshotInfo) |
//! | PUT    | `/stop`         |                   | 204                         |
//! | GET    | `/openapi.json` |                   | 200 the OpenAPI document    |
//!
//! One verb per route rather than Firecracker's `PATCH /vm {"state": "Paused"}`:
//! each action has its own status codes and documentation, and the CLI commands map
//! onto the routes one to one. Errors answer `{ "error": "..." }` with 400 (malformed
//! request), 403 (a client that is not the VM's owner or root), 404 (unknown path),
//! 405 (wrong method, with `Allow`), 408 (body slower than [`BODY_TIMEOUT`]), 409
//! (wrong VM state), 413 (body over [`MAX_BODY_BYTES`]), 415 (body not JSON), 431
//! (header over [`MAX_HEADER_BYTES`] or [`MAX_HEADER_FIELDS`]), 500 (the VMM failed),
//! 501 (not supported by this VM) or 503 (every connection busy). See
//! [`crate::control`] for the state machine.
//!
//! The server runs on a thread of its own with a current-thread tokio runtime, so the
//! VMM's threads never run async code; the [`VmControl`] calls run on a few blocking
//! threads of that runtime.
//!
//! Only the VM's owner may use it: the socket is created owner-only (never visible
//! with another mode, see `socket.rs`), and each connection's peer credentials are
//! checked (the owner's uid and root; others get 403). Connections, header and body
//! sizes and the time to send a request are bounded ([`ApiLimits`], `conn.rs`).

mod body;
mod conn;
mod error;
pub mod fuzzing;
mod limits;
mod openapi;
mod routes;
mod socket;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::watch;

pub use body::{json_response, raw_json_response, JsonBody, MAX_BODY_BYTES};
pub use error::{ApiError, ErrorBody};
pub use limits::{
    ApiLimits, BODY_TIMEOUT, DEFAULT_HEADER_TIMEOUT, DEFAULT_MAX_CONNECTIONS, MAX_HEADER_BYTES,
    MAX_HEADER_FIELDS,
};
pub use openapi::{openapi_json, ApiDoc};
pub use routes::{router, ROUTES};
pub use socket::ServeError;

use crate::control::VmControl;

/// How long shutdown waits for requests in progress before dropping them.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Most threads running [`VmControl`] calls at once; further requests wait.
const MAX_BLOCKING_THREADS: usize = 8;

/// How long the accept loop pauses after a failed accept (out of descriptors, say)
/// before trying again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Starts serving `vm` on the Unix socket `path` with the default [`ApiLimits`] and
/// returns once the socket listens.
///
/// A stale socket file at `path` is replaced; a live server there, or a file that is
/// not a socket, is an error (see [`ServeError`]). The socket is removed again when
/// the returned handle is shut down or dropped.
pub fn serve(path: impl AsRef<Path>, vm: Arc<dyn VmControl>) -> Result<ServerHandle, ServeError> {
    serve_with(path, vm, ApiLimits::default())
}

/// [`serve`] with other limits.
pub fn serve_with(
    path: impl AsRef<Path>,
    vm: Arc<dyn VmControl>,
    limits: ApiLimits,
) -> Result<ServerHandle, ServeError> {
    serve_router(path, router(vm), limits)
}

/// Serves any axum `app` on the Unix socket `path` the way the control API is served:
/// owner-only socket, peer credentials checked, connections and request sizes bounded
/// by `limits`, a server thread of its own. Other tern services on a Unix socket (the
/// node manager's API) use it with their own routes, [`JsonBody`] and [`ApiError`].
pub fn serve_router(
    path: impl AsRef<Path>,
    app: axum::Router,
    limits: ApiLimits,
) -> Result<ServerHandle, ServeError> {
    let path = path.as_ref().to_path_buf();
    let (std_listener, file_id) = socket::bind(&path)?;
    let cleanup_on_err = |action, source| {
        socket::remove(&path, file_id);
        ServeError::Io {
            path: path.clone(),
            action,
            source,
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .max_blocking_threads(MAX_BLOCKING_THREADS)
        .thread_name("tern-api-call")
        .build()
        .map_err(|e| cleanup_on_err("start the server runtime", e))?;
    let listener = {
        let _guard = runtime.enter();
        tokio::net::UnixListener::from_std(std_listener)
            .map_err(|e| cleanup_on_err("register the socket", e))?
    };
    let (stop_tx, stop_rx) = watch::channel(false);
    let thread = std::thread::Builder::new()
        .name("tern-api".to_string())
        .spawn(move || run(runtime, listener, app, limits, stop_rx))
        .map_err(|e| cleanup_on_err("start the server thread", e))?;
    tracing::info!("API listening on {}", path.display());
    Ok(ServerHandle {
        path,
        file_id,
        stop_tx,
        thread: Some(thread),
    })
}

/// Serves HTTP/1.1 requests with `app` on a connection of another transport (the
/// node manager's TLS over TCP), within `limits`, until it ends or `stop` turns true:
/// the Unix socket server's connection handling without its peer-credential check,
/// for a transport that authenticates its clients itself.
pub async fn serve_io<IO>(io: IO, app: axum::Router, limits: ApiLimits, stop: watch::Receiver<bool>)
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    conn::serve_connection(io, app, limits, None, stop).await;
}

/// The server thread: accepts connections until told to stop (each served by
/// [`conn::handle`] on a task of its own), then lets requests in progress finish for
/// at most [`SHUTDOWN_GRACE`].
fn run(
    runtime: tokio::runtime::Runtime,
    listener: tokio::net::UnixListener,
    app: axum::Router,
    limits: ApiLimits,
    stop_rx: watch::Receiver<bool>,
) {
    runtime.block_on(async move {
        let registry = conn::Registry::new(limits.max_connections);
        let mut tasks = tokio::task::JoinSet::new();
        let mut stop = stop_rx.clone();
        loop {
            tokio::select! {
                // An error means the handle is gone: stop as well.
                _ = stop.wait_for(|s| *s) => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        tasks.spawn(conn::handle(
                            stream,
                            app.clone(),
                            limits,
                            registry.clone(),
                            stop_rx.clone(),
                        ));
                    }
                    Err(e) => {
                        tracing::warn!("control API: cannot accept a connection: {e}");
                        tokio::time::sleep(ACCEPT_BACKOFF).await;
                    }
                },
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            }
        }
        drop(listener);
        let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
            while tasks.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                "control API: requests still running after shutdown grace; dropping them"
            );
            tasks.abort_all();
        }
    });
    runtime.shutdown_timeout(SHUTDOWN_GRACE);
}

/// A running server. Shutting it down (or dropping it) stops the server thread and
/// removes the socket file.
#[derive(Debug)]
pub struct ServerHandle {
    path: PathBuf,
    file_id: socket::FileId,
    stop_tx: watch::Sender<bool>,
    thread: Option<JoinHandle<()>>,
}

impl ServerHandle {
    /// The socket path the server listens on.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Stops accepting connections, waits up to [`SHUTDOWN_GRACE`] for requests in
    /// progress (so the answer to `PUT /stop` reaches its client), and removes the
    /// socket file.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        let Some(thread) = self.thread.take() else {
            return;
        };
        let _ = self.stop_tx.send(true);
        if thread.join().is_err() {
            tracing::error!("control API: server thread panicked");
        }
        socket::remove(&self.path, self.file_id);
        tracing::info!("control API on {} shut down", self.path.display());
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.stop();
    }
}
