//! The server's limits over a real socket (with short timeouts and a small cap):
//! connections that send nothing or dribble their header are closed, idle connections
//! beyond the cap never keep a request out, and a server whose connections are all
//! busy says so. The VM behind the server is a real `virt` machine spinning in its
//! firmware (`common::start_system`).

mod common;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use tern_vmm::control::{
    ControlError, SnapshotInfo, SnapshotRequest, VmControl, VmState, VmStatus,
};
use tern_vmm::system::SystemVm;
use tern_vmm::{serve_with, ApiLimits, Client};

/// A real system VM (running until the returned machine is dropped).
fn system_vm() -> (common::Running, SystemVm) {
    let (running, config) = common::start_system();
    let vm = SystemVm::new(running.handle.clone(), config, Vec::new(), None);
    (running, vm)
}

fn limits(max_connections: usize, header_ms: u64) -> ApiLimits {
    ApiLimits {
        max_connections,
        header_timeout: Duration::from_millis(header_ms),
    }
}

/// Waits until the server closes `s` (read returns 0 or an error); returns how long
/// that took, or panics after `limit`.
fn closed_within(s: &mut UnixStream, limit: Duration) -> Duration {
    let start = Instant::now();
    s.set_read_timeout(Some(limit)).unwrap();
    let mut buf = [0u8; 256];
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) if start.elapsed() < limit => return start.elapsed(),
            Ok(_) => continue,
            Err(_) => panic!("the server kept the connection open for {limit:?}"),
        }
    }
}

#[test]
fn silent_and_slow_headers_are_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("vm.sock");
    let (_machine, vm) = system_vm();
    let _server = serve_with(&sock, Arc::new(vm), limits(64, 300)).unwrap();
    // Connects and sends nothing.
    let mut idle = UnixStream::connect(&sock).unwrap();
    let t = closed_within(&mut idle, Duration::from_secs(5));
    assert!(t >= Duration::from_millis(250), "closed too early: {t:?}");
    // Sends a header one byte per 50 ms: it would take 2 s, the limit is 300 ms.
    let mut slow = UnixStream::connect(&sock).unwrap();
    let started = Instant::now();
    let header = b"GET /status HTTP/1.1\r\nHost: tern\r\nX-Slow: aaaaaaaaaa\r\n\r\n";
    for &b in header.iter() {
        if slow.write_all(&[b]).is_err() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut answer = Vec::new();
    slow.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let _ = slow.read_to_end(&mut answer);
    assert!(
        !String::from_utf8_lossy(&answer).contains("200 OK"),
        "a dribbled header was served after {:?}",
        started.elapsed()
    );
    // A kept-alive connection is cut off the same way after its answer.
    let mut kept = UnixStream::connect(&sock).unwrap();
    kept.write_all(b"GET /status HTTP/1.1\r\nHost: tern\r\n\r\n")
        .unwrap();
    closed_within(&mut kept, Duration::from_secs(5));
    // The server still serves.
    assert_eq!(Client::new(&sock).status().unwrap().state, VmState::Running);
}

#[test]
fn idle_connections_beyond_the_cap_never_keep_a_request_out() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("vm.sock");
    let (_machine, vm) = system_vm();
    let _server = serve_with(&sock, Arc::new(vm), limits(4, 60_000)).unwrap();
    let mut idle: Vec<UnixStream> = (0..200)
        .map(|_| UnixStream::connect(&sock).unwrap())
        .collect();
    // Each of the 200 evicted an older one: a request gets in at once.
    let client = Client::new(&sock).with_timeout(Duration::from_secs(5));
    for _ in 0..3 {
        assert_eq!(client.status().unwrap().state, VmState::Running);
    }
    // The oldest idle connections were closed by the server.
    closed_within(&mut idle[0], Duration::from_secs(5));
    closed_within(&mut idle[100], Duration::from_secs(5));
}

/// A real VM whose snapshots wait until released.
struct StuckVm {
    real: SystemVm,
    released: Mutex<bool>,
    wake: Condvar,
    entered: AtomicBool,
}

impl VmControl for StuckVm {
    fn status(&self) -> VmStatus {
        self.real.status()
    }
    fn pause(&self) -> Result<(), ControlError> {
        self.real.pause()
    }
    fn resume(&self) -> Result<(), ControlError> {
        self.real.resume()
    }
    fn snapshot(&self, req: SnapshotRequest) -> Result<SnapshotInfo, ControlError> {
        self.entered.store(true, Ordering::SeqCst);
        let mut r = self.released.lock().unwrap();
        while !*r {
            r = self.wake.wait(r).unwrap();
        }
        Err(ControlError::Unsupported(format!("stuck: {}", req.path)))
    }
    fn stop(&self) -> Result<(), ControlError> {
        self.real.stop()
    }
}

#[test]
fn a_server_whose_connections_are_all_busy_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("vm.sock");
    let (_machine, real) = system_vm();
    let vm = Arc::new(StuckVm {
        real,
        released: Mutex::new(false),
        wake: Condvar::new(),
        entered: AtomicBool::new(false),
    });
    let _server = serve_with(&sock, vm.clone(), limits(1, 60_000)).unwrap();
    let busy = {
        let sock = sock.clone();
        std::thread::spawn(move || {
            Client::new(&sock)
                .with_timeout(Duration::from_secs(30))
                .snapshot(&SnapshotRequest::new("/x"))
        })
    };
    while !vm.entered.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let answer = common::raw_exchange(&sock, b"GET /status HTTP/1.1\r\nConnection: close\r\n\r\n");
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("busy"), "{answer}");
    *vm.released.lock().unwrap() = true;
    vm.wake.notify_all();
    let r = busy.join().unwrap();
    assert!(format!("{r:?}").contains("stuck"), "{r:?}");
    assert_eq!(Client::new(&sock).status().unwrap().state, VmState::Running);
}
