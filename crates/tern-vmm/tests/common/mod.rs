//! Shared test helpers: a fake VM served on a socket in a temporary directory.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tern_vmm::control::VmKind;
use tern_vmm::fake::CounterVm;
use tern_vmm::{serve, Client, ServerHandle, VmControl};

/// A served VM; the directory (and so the socket) lives as long as this.
pub struct Served<V> {
    pub dir: tempfile::TempDir,
    pub vm: Arc<V>,
    pub server: Option<ServerHandle>,
    pub client: Client,
}

impl<V> Served<V> {
    pub fn sock(&self) -> PathBuf {
        self.dir.path().join("vm.sock")
    }

    pub fn file(&self, name: &str) -> String {
        self.dir.path().join(name).to_str().unwrap().to_string()
    }
}

/// Serves `vm` on `vm.sock` in a fresh temporary directory.
pub fn serve_vm<V: VmControl>(vm: V) -> Served<V> {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("vm.sock");
    let vm = Arc::new(vm);
    let server = serve(&sock, vm.clone()).expect("server starts");
    let client = Client::new(&sock).with_timeout(Duration::from_secs(30));
    Served {
        dir,
        vm,
        server: Some(server),
        client,
    }
}

/// Serves a running system-VM counter.
pub fn serve_counter() -> Served<CounterVm> {
    serve_vm(CounterVm::new(VmKind::System))
}

/// Sends raw bytes on a fresh connection and returns everything the server answers
/// until it closes the connection (the request should say `Connection: close`).
pub fn raw_exchange(sock: &Path, request: &[u8]) -> String {
    exchange(sock, request, false)
}

/// Like [`raw_exchange`], then closes the sending side, for requests the server
/// would otherwise wait on forever (incomplete ones). hyper drops a connection whose
/// client has closed its side, so a complete request may get no answer.
pub fn raw_exchange_eof(sock: &Path, request: &[u8]) -> String {
    exchange(sock, request, true)
}

fn exchange(sock: &Path, request: &[u8], eof: bool) -> String {
    let mut s = UnixStream::connect(sock).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    // The server may answer (and close) before it has read everything.
    let _ = s.write_all(request);
    if eof {
        let _ = s.shutdown(std::net::Shutdown::Write);
    }
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

/// Asserts that a failed request answered `status` with a JSON error containing `needle`.
pub fn assert_api_error(
    result: Result<impl std::fmt::Debug, tern_vmm::ClientError>,
    status: u16,
    needle: &str,
) {
    match result {
        Err(tern_vmm::ClientError::Api { status: s, message }) => {
            assert_eq!(s, status, "message: {message}");
            assert!(
                message.contains(needle),
                "error message `{message}` should contain `{needle}`"
            );
        }
        other => panic!("expected HTTP {status} error containing `{needle}`, got {other:?}"),
    }
}

/// Asserts a raw (status, body) answer is an error with a `{"error": ...}` body.
pub fn assert_raw_error(answer: (u16, Vec<u8>), status: u16, needle: &str) {
    let (s, body) = answer;
    let text = String::from_utf8_lossy(&body).into_owned();
    assert_eq!(s, status, "body: {text}");
    let v: serde_json::Value = serde_json::from_slice(&body)
        .unwrap_or_else(|e| panic!("error body is not JSON ({e}): {text}"));
    let msg = v["error"]
        .as_str()
        .unwrap_or_else(|| panic!("error body has no `error` string: {text}"));
    assert_eq!(
        v.as_object().unwrap().len(),
        1,
        "only `error` expected: {text}"
    );
    assert!(msg.contains(needle), "`{msg}` should contain `{needle}`");
}
