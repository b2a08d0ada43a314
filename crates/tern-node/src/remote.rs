//! The node API for remote callers: the same router as on the Unix socket, served on
//! TCP with mutual TLS (`tern node serve --listen HOST:PORT --tls-cert --tls-key
//! --client-ca`). A client must present a certificate signed by the client CA; one
//! without, or with another CA's, is refused in the handshake, before any request is
//! read. The TLS configuration is tern-migrate's (ring, TLS 1.2/1.3, client
//! certificates required); requests are served by tern-vmm's HTTP connection handling
//! with the same limits as on the socket.

use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::Context;
use tern_migrate::transport::{server_config, TlsFiles};
use tokio::sync::{watch, Semaphore};
use tokio_rustls::TlsAcceptor;

/// Most remote connections at once; more are closed at once.
pub const MAX_REMOTE_CONNECTIONS: usize = 64;
/// How long a client may take to complete the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The running remote API; dropping it stops it.
pub struct RemoteServer {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    thread: Option<JoinHandle<()>>,
}

impl RemoteServer {
    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for RemoteServer {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Serves `app` on `listen` (`HOST:PORT`) with mutual TLS from `files`.
pub fn serve_tls(
    listen: &str,
    files: &TlsFiles,
    app: axum::Router,
) -> anyhow::Result<RemoteServer> {
    let config = server_config(files).context("remote API: TLS configuration")?;
    let std_listener = std::net::TcpListener::bind(listen)
        .with_context(|| format!("remote API: cannot listen on {listen}"))?;
    std_listener.set_nonblocking(true)?;
    let addr = std_listener.local_addr()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .thread_name("tern-node-remote")
        .build()?;
    let listener = {
        let _guard = runtime.enter();
        tokio::net::TcpListener::from_std(std_listener)?
    };
    let (stop_tx, stop_rx) = watch::channel(false);
    let thread = std::thread::Builder::new()
        .name("tern-node-remote".into())
        .spawn(move || {
            runtime.block_on(accept_loop(
                listener,
                TlsAcceptor::from(config),
                app,
                stop_rx,
            ));
        })?;
    Ok(RemoteServer {
        addr,
        stop: stop_tx,
        thread: Some(thread),
    })
}

async fn accept_loop(
    listener: tokio::net::TcpListener,
    acceptor: TlsAcceptor,
    app: axum::Router,
    stop_rx: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(MAX_REMOTE_CONNECTIONS));
    let mut stop = stop_rx.clone();
    loop {
        tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            accepted = listener.accept() => {
                let (tcp, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        crate::node_event!("remote API: accept: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let Ok(slot) = slots.clone().try_acquire_owned() else {
                    crate::node_event!("remote API: {peer} refused: {MAX_REMOTE_CONNECTIONS} connections already");
                    continue;
                };
                let (acceptor, app, stop) = (acceptor.clone(), app.clone(), stop_rx.clone());
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                        Ok(Ok(tls)) => {
                            tern_vmm::api::serve_io(tls, app, tern_vmm::ApiLimits::default(), stop).await;
                        }
                        Ok(Err(e)) => crate::node_event!("remote API: {peer} refused: {e}"),
                        Err(_) => crate::node_event!("remote API: {peer} refused: no TLS handshake within {HANDSHAKE_TIMEOUT:?}"),
                    }
                    drop(slot);
                });
            }
        }
    }
}
