//! The server's life: socket files, a second server, shutdown, concurrency (in front
//! of a real system VM), and a misbehaving VMM (a test double that is slow or
//! panics, which no real VM does on purpose).

mod common;

use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixListener;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{assert_api_error, serve_system, serve_vm, start_system, Running};
use tern_vmm::control::{
    ControlError, MemoryStatus, SnapshotInfo, SnapshotRequest, VmKind, VmState, VmStatus,
};
use tern_vmm::system::SystemVm;
use tern_vmm::{serve, Client, ClientError, ServeError, VmControl};

/// A real system VM to serve, and the machine behind it (stopped when dropped).
fn system() -> (Arc<dyn VmControl>, Running) {
    let (running, config) = start_system();
    let vm = SystemVm::new(running.handle.clone(), config, Vec::new(), None);
    (Arc::new(vm), running)
}

#[test]
fn a_stale_socket_file_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("vm.sock");
    drop(UnixListener::bind(&sock).unwrap()); // leaves the file, nobody listening
    assert!(sock.exists());
    let (vm, _machine) = system();
    let server = serve(&sock, vm).unwrap();
    assert_eq!(Client::new(&sock).status().unwrap().kind, VmKind::System);
    server.shutdown();
    assert!(!sock.exists());
}

#[test]
fn a_second_server_on_a_live_socket_is_refused() {
    let s = serve_system();
    let (vm, _machine) = system();
    let err = serve(s.sock(), vm).unwrap_err();
    assert!(matches!(err, ServeError::InUse { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("another server is already listening"), "{msg}");
    assert!(msg.contains(s.sock().to_str().unwrap()), "{msg}");
    // The first server is untouched.
    assert_eq!(s.client.status().unwrap().kind, VmKind::System);
}

#[test]
fn a_file_that_is_not_a_socket_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("important.txt");
    std::fs::write(&path, "data").unwrap();
    let (vm, _machine) = system();
    let err = serve(&path, vm).unwrap_err();
    assert!(matches!(err, ServeError::NotASocket { .. }), "{err:?}");
    assert!(err.to_string().contains("is not a socket"), "{err}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "data");
}

#[test]
fn a_missing_directory_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no/such/dir/vm.sock");
    let (vm, _machine) = system();
    let err = serve(&path, vm).unwrap_err();
    assert!(err.to_string().contains("cannot bind"), "{err}");
    assert!(err.to_string().contains("no/such/dir/vm.sock"), "{err}");
}

#[test]
fn the_socket_is_owner_only() {
    let s = serve_system();
    let mode = std::fs::metadata(s.sock()).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn shutdown_and_drop_remove_the_socket() {
    let mut s = serve_system();
    s.server.take().unwrap().shutdown();
    assert!(!s.sock().exists());
    let err = s.client.status().unwrap_err();
    assert!(matches!(err, ClientError::Connect { .. }), "{err:?}");
    assert!(
        err.to_string().contains("is a VM running with --api-sock"),
        "{err}"
    );

    let mut s = serve_system();
    drop(s.server.take());
    assert!(!s.sock().exists());
}

#[test]
fn shutdown_keeps_a_socket_someone_else_put_there() {
    let mut s = serve_system();
    std::fs::remove_file(s.sock()).unwrap();
    let other = UnixListener::bind(s.sock()).unwrap();
    s.server.take().unwrap().shutdown();
    assert!(s.sock().exists());
    drop(other);
}

#[test]
fn concurrent_clients_all_get_answers() {
    let s = serve_system();
    let failures = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for t in 0..8 {
            let client = s.client.clone();
            let failures = &failures;
            scope.spawn(move || {
                for i in 0..40 {
                    let r = match (t + i) % 3 {
                        0 => client.status().map(|_| ()),
                        1 => client.pause(),
                        _ => client.resume(),
                    };
                    if let Err(e) = r {
                        eprintln!("client {t} request {i}: {e}");
                        failures.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    assert_eq!(failures.load(Ordering::Relaxed), 0);
}

/// A VM whose snapshot and stop take a while, and whose status panics on request.
#[derive(Default)]
struct SlowVm {
    in_call: AtomicBool,
    panic_on_status: AtomicBool,
    stopped: AtomicBool,
}

impl VmControl for SlowVm {
    fn status(&self) -> VmStatus {
        if self.panic_on_status.load(Ordering::SeqCst) {
            panic!("status exploded");
        }
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
        self.in_call.store(true, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(800));
        Ok(SnapshotInfo {
            id: "1".into(),
            path: req.path,
            parent: None,
            compress: req.compress,
            bytes: 0,
            pages_written: 0,
            duration_us: 800_000,
        })
    }
    fn stop(&self) -> Result<(), ControlError> {
        self.in_call.store(true, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(300));
        self.stopped.store(true, Ordering::SeqCst);
        Ok(())
    }
}

fn wait_for(flag: &AtomicBool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !flag.load(Ordering::SeqCst) {
        assert!(Instant::now() < deadline, "timed out");
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn a_slow_snapshot_does_not_block_status() {
    let s = serve_vm(SlowVm::default());
    std::thread::scope(|scope| {
        let client = s.client.clone();
        let path = s.file("slow.snap");
        let snap = scope.spawn(move || client.snapshot(&SnapshotRequest::new(path)));
        wait_for(&s.vm.in_call);
        let t = Instant::now();
        assert_eq!(s.client.status().unwrap().state, VmState::Running);
        assert!(
            t.elapsed() < Duration::from_millis(400),
            "{:?}",
            t.elapsed()
        );
        assert_eq!(snap.join().unwrap().unwrap().duration_us, 800_000);
    });
}

#[test]
fn a_panicking_vmm_is_a_500_and_the_server_survives() {
    let s = serve_vm(SlowVm::default());
    s.vm.panic_on_status.store(true, Ordering::SeqCst);
    assert_api_error(s.client.status(), 500, "status: the VMM failed");
    assert_api_error(s.client.status(), 500, "status: the VMM failed");
    s.vm.panic_on_status.store(false, Ordering::SeqCst);
    assert_eq!(s.client.status().unwrap().state, VmState::Running);
}

#[test]
fn the_answer_to_stop_arrives_even_when_the_vmm_shuts_down_at_once() {
    let mut s = serve_vm(SlowVm::default());
    std::thread::scope(|scope| {
        let client = s.client.clone();
        let stop = scope.spawn(move || client.stop());
        // The VMM sees the stop request and shuts the server down while the call is
        // still running: the answer must still reach the client.
        wait_for(&s.vm.in_call);
        s.server.take().unwrap().shutdown();
        stop.join().unwrap().unwrap();
    });
    assert!(s.vm.stopped.load(Ordering::SeqCst));
    assert!(!s.sock().exists());
}
