//! Shared test helpers: a real `virt` machine (the system VM of `tern run`) served on a
//! socket in a temporary directory.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use tern_hart::ClockMode;
use tern_machine::virt::state::VirtHandle;
use tern_machine::virt::{StopReason, VirtConfig, VirtMachine};
use tern_vmm::system::config::SystemConfig;
use tern_vmm::system::SystemVm;
use tern_vmm::{serve, Client, ServerHandle, VmControl};

/// Harts of the test machine.
pub const HARTS: usize = 2;
/// RAM of the test machine.
pub const MEMORY: u64 = 16 << 20;

/// A served VM; the directory (and so the socket) lives as long as this, and a machine
/// behind it is stopped when it goes.
pub struct Served<V> {
    pub dir: tempfile::TempDir,
    pub vm: Arc<V>,
    pub server: Option<ServerHandle>,
    pub client: Client,
    pub machine: Option<Running>,
}

/// A `virt` machine running on its own thread.
pub struct Running {
    pub handle: VirtHandle,
    thread: Option<JoinHandle<StopReason>>,
}

impl Running {
    /// Waits until the machine's run has ended and returns why it ended.
    pub fn join(mut self) -> StopReason {
        self.thread.take().unwrap().join().unwrap()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(t) = self.thread.take() {
            self.handle.stop();
            let _ = t.join();
        }
    }
}

/// Starts a real `virt` machine: [`HARTS`] harts in M-mode firmware that spins
/// (`j .`), [`MEMORY`] of RAM, the board's devices and no virtio device. Returns the
/// running machine and its configuration as `tern run` records it.
pub fn start_system() -> (Running, SystemConfig) {
    let spin = 0x0000_006fu32.to_le_bytes().to_vec();
    let config = VirtConfig {
        harts: HARTS,
        memory: MEMORY,
        bios: Some(spin),
        kernel: None,
        initrd: None,
        append: String::new(),
        clock: ClockMode::Host,
        max_insns: None,
        console: Box::new(std::io::sink()),
        virtio: Vec::new(),
        restore_builtin_sbi: None,
    };
    let mut machine = VirtMachine::new(config).expect("the test machine builds");
    let handle = machine.handle();
    let thread = std::thread::spawn(move || machine.run());
    let system = SystemConfig {
        harts: HARTS,
        memory: MEMORY,
        builtin_sbi: false,
        clock: ClockMode::Host,
        drives: Vec::new(),
        netdevs: Vec::new(),
        devices: Vec::new(),
        policy: None,
    };
    (
        Running {
            handle,
            thread: Some(thread),
        },
        system,
    )
}

/// Serves a real, running system VM ([`start_system`]).
pub fn serve_system() -> Served<SystemVm> {
    let (running, config) = start_system();
    let vm = SystemVm::new(running.handle.clone(), config, Vec::new(), None);
    let mut s = serve_vm(vm);
    s.machine = Some(running);
    s
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
        machine: None,
    }
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
