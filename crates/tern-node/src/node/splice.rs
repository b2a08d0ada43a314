//! The super-server's connections: accepting on a service's port, waiting for its VM
//! ([`Node::warm_up`]), and copying bytes both ways between the client and the VM's
//! forwarded loopback port until both sides are done.

use std::io;
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::services::Runtime;
use super::{now_ms, Node};

/// Most connections of one service served or waiting at once; more are closed at
/// once (each holds two threads and two sockets).
pub const MAX_CONNECTIONS: usize = 256;

/// How long the VM's forwarded port may refuse connections after the VM answered.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Accepts connections until the service is removed.
pub(super) fn accept_loop(node: Arc<Node>, rt: Arc<Runtime>) {
    loop {
        let accepted = rt.listener.accept();
        if rt.stop.load(Ordering::Acquire) {
            return;
        }
        let client = match accepted {
            Ok((c, _)) => c,
            Err(e) => {
                // Out of descriptors, or a connection reset before accept: go on.
                crate::node_event!("service {}: accept: {e}", rt.name);
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        if rt.active.fetch_add(1, Ordering::AcqRel) >= MAX_CONNECTIONS {
            rt.active.fetch_sub(1, Ordering::AcqRel);
            continue;
        }
        let (node, conn_rt) = (node.clone(), rt.clone());
        let spawned = std::thread::Builder::new()
            .name(format!("tern-svc-{}-conn", rt.name))
            .spawn(move || {
                serve(&node, &conn_rt, client);
                conn_rt.last_activity_ms.store(now_ms(), Ordering::Release);
                conn_rt.active.fetch_sub(1, Ordering::AcqRel);
            });
        if spawned.is_err() {
            rt.active.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

/// One connection: the VM's port (restoring it if needed), then the bytes.
fn serve(node: &Node, rt: &Runtime, client: TcpStream) {
    let port = match node.warm_up(rt) {
        Ok(p) => p,
        Err(e) => {
            crate::node_event!("service {}: {e}", rt.name);
            return;
        }
    };
    let deadline = Instant::now() + CONNECT_TIMEOUT;
    let upstream = loop {
        match TcpStream::connect(("127.0.0.1", port)) {
            Ok(s) => break s,
            Err(e) if Instant::now() > deadline => {
                crate::node_event!("service {}: VM port {port}: {e}", rt.name);
                return;
            }
            Err(_) => std::thread::sleep(Duration::from_millis(2)),
        }
    };
    node.count_connection(&rt.name);
    if let Err(e) = splice(client, upstream) {
        tracing::debug!("service {}: connection ended: {e}", rt.name);
    }
}

/// Copies client → VM on a thread and VM → client here; each direction's end is
/// passed on as a half-close.
fn splice(client: TcpStream, upstream: TcpStream) -> io::Result<()> {
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    let (mut c_read, mut u_write) = (client.try_clone()?, upstream.try_clone()?);
    let up = std::thread::Builder::new()
        .name("tern-svc-up".into())
        .spawn(move || {
            let r = io::copy(&mut c_read, &mut u_write);
            let _ = u_write.shutdown(Shutdown::Write);
            r
        })?;
    let (mut u_read, mut c_write) = (upstream, client);
    let down = io::copy(&mut u_read, &mut c_write);
    let _ = c_write.shutdown(Shutdown::Write);
    let up = up
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("copy thread panicked")));
    down.and(up).map(|_| ())
}
