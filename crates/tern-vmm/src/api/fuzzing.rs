//! The control API's request handling as a function of bytes: what a client sends on
//! one connection in, what the server answers out, through the same HTTP parser,
//! limits and routes as a served VM, but over an in-memory connection and with a VM
//! that does nothing ([`InertVm`]). For the fuzz target `fuzz/fuzz_targets/api_http.rs`
//! and the property tests, which check that no input panics the server or makes it
//! allocate beyond its limits, and that well-formed requests are understood.

use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;

use super::limits::ApiLimits;
use super::routes::router;
use crate::control::{
    ControlError, MemoryStatus, SnapshotInfo, SnapshotRequest, VmControl, VmKind, VmState, VmStatus,
};

/// Most bytes of answer [`exchange`] collects (answers to any input are far smaller:
/// errors and the OpenAPI document).
pub const MAX_ANSWER_BYTES: usize = 1 << 20;

/// A VM that answers every call at once and touches nothing: no file is written by a
/// snapshot request.
#[derive(Debug, Default)]
pub struct InertVm;

impl VmControl for InertVm {
    fn status(&self) -> VmStatus {
        VmStatus {
            state: VmState::Running,
            kind: VmKind::System,
            harts: Vec::new(),
            instructions_retired: 0,
            memory: MemoryStatus {
                size_bytes: 0,
                touched_bytes: 0,
            },
            devices: Vec::new(),
            uptime_ms: 0,
        }
    }

    fn pause(&self) -> Result<(), ControlError> {
        Ok(())
    }

    fn resume(&self) -> Result<(), ControlError> {
        Ok(())
    }

    fn snapshot(&self, req: SnapshotRequest) -> Result<SnapshotInfo, ControlError> {
        Ok(SnapshotInfo {
            id: "0".repeat(32),
            path: req.path,
            parent: None,
            compress: req.compress,
            bytes: 0,
            pages_written: 0,
            duration_us: 0,
        })
    }

    fn stop(&self) -> Result<(), ControlError> {
        Ok(())
    }
}

/// Sends `request` to an [`InertVm`]'s API on one in-memory connection with the
/// default [`ApiLimits`], closes the sending side, and returns what the server
/// answered before it closed the connection (at most [`MAX_ANSWER_BYTES`]).
pub fn exchange(request: &[u8]) -> Vec<u8> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a current-thread runtime without I/O drivers always builds");
    runtime.block_on(async {
        let (client, server) = tokio::io::duplex(64 * 1024);
        let (_stop_tx, stop_rx) = watch::channel(false);
        let app = router(Arc::new(InertVm));
        let served = tokio::spawn(super::conn::serve_connection(
            server,
            app,
            ApiLimits::default(),
            None,
            stop_rx,
        ));
        let (mut rd, mut wr) = tokio::io::split(client);
        let send = async {
            // The server may close before it has read everything.
            let _ = wr.write_all(request).await;
            let _ = wr.shutdown().await;
        };
        let receive = async {
            let mut answer = Vec::new();
            let _ = (&mut rd)
                .take(MAX_ANSWER_BYTES as u64)
                .read_to_end(&mut answer)
                .await;
            answer
        };
        let ((), answer) = tokio::join!(send, receive);
        let _ = served.await;
        answer
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::routes::ROUTES;
    use proptest::prelude::*;

    /// An answer in HTTP/1.1, or 1.0 to a 1.0 request (hyper answers in the client's
    /// version), or none (the server closed).
    fn is_http_or_nothing(a: &[u8]) -> bool {
        a.is_empty() || a.starts_with(b"HTTP/1.1 ") || a.starts_with(b"HTTP/1.0 ")
    }

    fn status_of(answer: &[u8]) -> Option<u16> {
        let text = std::str::from_utf8(answer.get(..12)?).ok()?;
        text.strip_prefix("HTTP/1.1 ")?.parse().ok()
    }

    #[test]
    fn well_formed_requests_are_answered() {
        let get = exchange(b"GET /status HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(
            status_of(&get),
            Some(200),
            "{}",
            String::from_utf8_lossy(&get)
        );
        let body = br#"{"path":"/tmp/x.tern","compress":"zstd"}"#;
        let put = [
            format!(
                "PUT /snapshot HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                body.len()
            )
            .as_bytes(),
            body,
        ]
        .concat();
        let a = exchange(&put);
        assert_eq!(status_of(&a), Some(200), "{}", String::from_utf8_lossy(&a));
        assert!(String::from_utf8_lossy(&a).contains("/tmp/x.tern"));
        assert_eq!(
            status_of(&exchange(b"GET /nope HTTP/1.1\r\n\r\n")),
            Some(404)
        );
        // Found by the fuzz target: a 1.0 request is answered in 1.0.
        let a = exchange(b"`PRI * HTTP/1.0\r\n\r\nSM\r\n\r\n");
        assert!(
            a.starts_with(b"HTTP/1.0 404"),
            "{}",
            String::from_utf8_lossy(&a)
        );
        let many: String = (0..MAX_HEADER_FIELDS_FOR_TEST)
            .map(|i| format!("X-{i}: v\r\n"))
            .collect();
        let a = exchange(format!("GET /status HTTP/1.1\r\n{many}\r\n").as_bytes());
        assert_eq!(status_of(&a), Some(431));
    }

    const MAX_HEADER_FIELDS_FOR_TEST: usize = crate::api::MAX_HEADER_FIELDS + 1;

    fn request() -> impl Strategy<Value = (Vec<u8>, u16)> {
        (
            0..ROUTES.len(),
            prop::collection::vec(("[A-Za-z][A-Za-z0-9-]{0,20}", "[ -~]{0,40}"), 0..8),
            any::<bool>(),
        )
            .prop_map(|(r, headers, keep_alive)| {
                let (method, path) = ROUTES[r];
                let mut req = format!("{method} {path} HTTP/1.1\r\nHost: tern\r\n");
                for (k, v) in headers {
                    // Fields the server interprets are left to the cases above.
                    let lower = k.to_ascii_lowercase();
                    if [
                        "content-length",
                        "transfer-encoding",
                        "content-type",
                        "connection",
                        "host",
                        "expect",
                    ]
                    .contains(&lower.as_str())
                    {
                        continue;
                    }
                    req.push_str(&format!("{k}: {}\r\n", v.trim()));
                }
                if !keep_alive {
                    req.push_str("Connection: close\r\n");
                }
                let (body, status) = match (method, path) {
                    (_, "/snapshot") => (r#"{"path":"/tmp/p.tern"}"#, 200),
                    (_, "/status" | "/openapi.json" | "/metrics") => ("", 200),
                    // The inert VM cannot migrate (501), has never migrated (200 with
                    // phase none) and has no migration to cancel (409).
                    ("PUT", "/migrate") => (r#"{"to":"127.0.0.1:1","insecure":true}"#, 501),
                    ("GET", "/migrate") => ("", 200),
                    ("DELETE", "/migrate") => ("", 409),
                    // The inert VM has no gdb server to start (501).
                    ("PUT", "/gdb") => (r#"{"listen":"127.0.0.1:0"}"#, 501),
                    _ => ("", 204),
                };
                if !body.is_empty() {
                    req.push_str(&format!("Content-Length: {}\r\n", body.len()));
                }
                req.push_str("\r\n");
                req.push_str(body);
                (req.into_bytes(), status)
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        /// Any bytes: no panic, and the answer, if any, is HTTP.
        #[test]
        fn any_bytes_get_an_http_answer_or_none(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
            let a = exchange(&bytes);
            prop_assert!(is_http_or_nothing(&a), "{}", String::from_utf8_lossy(&a));
        }

        /// Generated well-formed requests get the route's success status.
        #[test]
        fn generated_requests_parse((req, status) in request()) {
            let a = exchange(&req);
            prop_assert_eq!(status_of(&a), Some(status), "{}", String::from_utf8_lossy(&a));
        }

        /// A well-formed request with bytes flipped, cut or inserted: no panic; an
        /// answer is HTTP.
        #[test]
        fn damaged_requests_get_an_http_answer_or_none(
            (req, _) in request(),
            edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..6),
        ) {
            let mut bytes = req;
            for (at, b, kind) in edits {
                let i = at.index(bytes.len() + 1);
                match kind {
                    0 if i < bytes.len() => bytes[i] = b,
                    1 => bytes.insert(i, b),
                    _ => bytes.truncate(i),
                }
            }
            let a = exchange(&bytes);
            prop_assert!(is_http_or_nothing(&a), "{}", String::from_utf8_lossy(&a));
        }
    }
}
