//! One connection of the control API: who may use it, whether there is room for it,
//! and serving it with HTTP/1.1 within the [`ApiLimits`].
//!
//! - **Peer credentials.** The socket file is owner-only, and on top of that every
//!   connection's `SO_PEERCRED` is checked: only the VMM's own user and root are
//!   served; anyone else gets 403 and is disconnected (a socket made accessible by
//!   mistake, or reached through a descriptor passed on, still stops nobody's VM).
//! - **A connection cap.** At most [`ApiLimits::max_connections`] are open; a new one
//!   beyond it closes the oldest idle one, and is answered 503 if all are busy. So
//!   idle connections, however many, never keep a real request out, and never hold
//!   more than the cap of the VMM's descriptors.
//! - **Timeouts and sizes.** hyper closes a connection that does not send a complete
//!   header within [`ApiLimits::header_timeout`], and answers 431 to a header larger
//!   than [`MAX_HEADER_BYTES`] or with more than [`MAX_HEADER_FIELDS`] fields; bodies
//!   are bounded in size and time by the JSON extractor (`body.rs`).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use axum::response::Response;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::UnixStream;
use tokio::sync::{watch, Notify};
use tower_service::Service;

use super::limits::{ApiLimits, MAX_HEADER_BYTES, MAX_HEADER_FIELDS};

/// How long a refusal (403, 503) may take, writing the answer and draining the
/// request, before the connection is dropped.
const REFUSAL_WRITE_TIMEOUT: Duration = Duration::from_secs(1);

/// The user ids served: the VMM's effective user, and root.
fn peer_allowed(uid: u32) -> bool {
    // SAFETY: geteuid takes no arguments, cannot fail and touches no memory of ours.
    let owner = unsafe { libc::geteuid() };
    uid == owner || uid == 0
}

/// One open connection's entry in the [`Registry`].
#[derive(Default)]
pub(super) struct Slot {
    /// Requests in progress (0 or 1 with HTTP/1.1 without pipelining).
    busy: AtomicUsize,
    /// Told when the registry evicts this connection.
    evicted: Notify,
}

/// Counts a request in progress on its [`Slot`] while alive.
struct Busy(Arc<Slot>);

impl Busy {
    fn new(slot: &Arc<Slot>) -> Busy {
        slot.busy.fetch_add(1, Ordering::AcqRel);
        Busy(slot.clone())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.busy.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The open connections, oldest first, for the cap and for evicting idle ones.
pub(super) struct Registry {
    max: usize,
    inner: Mutex<RegistryInner>,
}

#[derive(Default)]
struct RegistryInner {
    next_id: u64,
    open: BTreeMap<u64, Arc<Slot>>,
}

/// A connection's place in the [`Registry`], given back when dropped.
pub(super) struct Admitted {
    registry: Arc<Registry>,
    id: u64,
    slot: Arc<Slot>,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        self.registry.lock().open.remove(&self.id);
    }
}

impl Registry {
    /// A registry for at most `max` connections (at least one).
    pub(super) fn new(max: usize) -> Arc<Registry> {
        Arc::new(Registry {
            max: max.max(1),
            inner: Mutex::default(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, RegistryInner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Makes room for a new connection: at the cap the oldest idle connection is
    /// evicted (told to close, and its place freed at once). `None` when every open
    /// connection has a request in progress.
    pub(super) fn admit(self: &Arc<Self>) -> Option<Admitted> {
        let mut inner = self.lock();
        if inner.open.len() >= self.max {
            let idle = inner
                .open
                .iter()
                .find(|(_, s)| s.busy.load(Ordering::Acquire) == 0)
                .map(|(&id, _)| id)?;
            if let Some(slot) = inner.open.remove(&idle) {
                slot.evicted.notify_one();
            }
        }
        let id = inner.next_id;
        inner.next_id += 1;
        let slot = Arc::new(Slot::default());
        inner.open.insert(id, slot.clone());
        Some(Admitted {
            registry: self.clone(),
            id,
            slot,
        })
    }

    /// Connections open now.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().open.len()
    }
}

/// Serves one accepted connection to the end: checks the peer, takes a place in
/// `registry`, then serves HTTP until the client leaves, a limit closes it, it is
/// evicted, or the server stops (then requests in progress finish first).
pub(super) async fn handle(
    stream: UnixStream,
    app: Router,
    limits: ApiLimits,
    registry: Arc<Registry>,
    stop: watch::Receiver<bool>,
) {
    let uid = match stream.peer_cred() {
        Ok(cred) => cred.uid(),
        Err(e) => {
            tracing::warn!("control API: cannot read a client's credentials: {e}");
            return;
        }
    };
    if !peer_allowed(uid) {
        tracing::warn!("control API: refused a connection from uid {uid}");
        refuse(
            stream,
            "403 Forbidden",
            &format!("uid {uid} may not control this VM: only its owner and root may"),
        )
        .await;
        return;
    }
    let Some(admitted) = registry.admit() else {
        refuse(
            stream,
            "503 Service Unavailable",
            "every connection of the control API is busy with a request; try again",
        )
        .await;
        return;
    };
    serve_connection(stream, app, limits, Some(admitted.slot.clone()), stop).await;
    drop(admitted);
}

/// Most request bytes read and dropped after a refusal (see [`refuse`]).
const REFUSAL_DRAIN_BYTES: usize = 64 * 1024;

/// Writes a short JSON error answer and closes the connection. Before closing, what
/// the client sends is read and dropped for a moment (bounded in time and bytes), so
/// that a client still writing its request gets the answer instead of EPIPE.
async fn refuse(mut stream: UnixStream, status: &str, message: &str) {
    let body = serde_json::json!({ "error": message }).to_string();
    let answer = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(REFUSAL_WRITE_TIMEOUT, async {
        let _ = stream.write_all(answer.as_bytes()).await;
        let _ = stream.shutdown().await;
        let mut drained = 0;
        let mut buf = [0u8; 4096];
        while drained < REFUSAL_DRAIN_BYTES {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => drained += n,
            }
        }
    })
    .await;
}

/// Serves HTTP/1.1 requests on `io` with `app` within `limits` until the connection
/// ends, `slot` is evicted, or `stop` turns true (then the request in progress, if
/// any, is answered first).
pub(super) async fn serve_connection<IO>(
    io: IO,
    app: Router,
    limits: ApiLimits,
    slot: Option<Arc<Slot>>,
    mut stop: watch::Receiver<bool>,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let busy_slot = slot.clone();
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        let busy = busy_slot.as_ref().map(Busy::new);
        let mut app = app.clone();
        async move {
            // A Router is always ready: no poll_ready needed.
            let response: Result<Response<Body>, Infallible> = app.call(req).await;
            drop(busy);
            response
        }
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(MAX_HEADER_BYTES.max(8192))
        .max_header_size(MAX_HEADER_BYTES)
        .max_headers(MAX_HEADER_FIELDS)
        .half_close(true);
    // half_close: a client that shuts down its sending side after a request still gets
    // the answer.
    let conn = builder.serve_connection(TokioIo::new(io), service);
    tokio::pin!(conn);
    let evicted = async {
        match &slot {
            Some(s) => s.evicted.notified().await,
            None => std::future::pending().await,
        }
    };
    let stopping = async {
        // Dropping the borrow at once: it must not live across the awaits below.
        let _ = stop.wait_for(|s| *s).await;
    };
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = evicted => {}
        () = stopping => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_evicts_the_oldest_idle_connection_and_never_a_busy_one() {
        let r = Registry::new(3);
        let a = r.admit().unwrap();
        let b = r.admit().unwrap();
        let c = r.admit().unwrap();
        assert_eq!(r.len(), 3);
        let _busy_a = Busy::new(&a.slot);
        // d evicts b, the oldest idle one (a is busy).
        let d = r.admit().unwrap();
        assert_eq!(r.len(), 3);
        assert!(futures_ready(&b.slot));
        assert!(!futures_ready(&c.slot));
        drop(b); // its task ends: removing it again changes nothing
        assert_eq!(r.len(), 3);
        let _busy_c = Busy::new(&c.slot);
        let _busy_d = Busy::new(&d.slot);
        // Everyone busy: no room.
        assert!(r.admit().is_none());
        drop(_busy_d);
        let e = r.admit().unwrap();
        assert!(futures_ready(&d.slot));
        drop((a, c, d, e));
        assert_eq!(r.len(), 0);
    }

    /// Whether the slot was told to close (its stored permit is taken).
    fn futures_ready(slot: &Arc<Slot>) -> bool {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        rt.block_on(async {
            tokio::time::timeout(Duration::from_millis(10), slot.evicted.notified())
                .await
                .is_ok()
        })
    }

    #[test]
    fn only_the_owner_and_root_are_served() {
        // SAFETY: as in peer_allowed.
        let me = unsafe { libc::geteuid() };
        assert!(peer_allowed(me));
        assert!(peer_allowed(0));
        assert!(!peer_allowed(me.wrapping_add(4242).max(1)));
    }
}
