//! The node's super-server and port mapper: a slice registers a service (a port and
//! a snapshot of a Linux guest serving HTTP); the first requests restore the VM in
//! the slice and are answered by the guest (none lost while it restores); an idle VM
//! is snapshotted and stopped (scale to zero); the next request restores it again
//! with the guest's state (a counter in guest RAM) intact. Bad requests get clear
//! errors.

#[path = "common/node.rs"]
mod node;
#[allow(dead_code)] // the snapshot tests' helpers this test does not use
#[path = "common/snapshot_vm.rs"]
mod snapshot_vm;
#[path = "common/virt.rs"]
mod virt;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use node::{wait_for, NodeDaemon};
use snapshot_vm::Vm;
use tern_node::service::{CreateService, ServiceState};
use tern_node::spec::{CreateSlice, SliceSpec, VmState};

/// The guest's server: DHCP on eth0, then `tcpsvd` on port 80 answering each HTTP
/// request with a count kept in /tmp (tmpfs: guest RAM). One connection at a time
/// (`-c 1`; the others wait in the backlog): the count is a shell read-modify-write.
const SERVE_SH: &str = r#"#!/bin/sh
set -eu
ip link set eth0 up
udhcpc -i eth0 -n -q -t 5 -T 2 >/dev/null
cat > /tmp/answer.sh <<'EOF2'
cr=$(printf '\r')
while read -r line; do
    if [ -z "$line" ] || [ "$line" = "$cr" ]; then break; fi
done
n=$(( $(cat /tmp/count) + 1 ))
echo "$n" > /tmp/count
printf 'HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nhello from tern, request %s\n' "$n"
EOF2
echo 0 > /tmp/count
tcpsvd -c 1 0 80 sh /tmp/answer.sh &
sleep 1
echo "serve: listening"
wait
"#;

/// A TCP port free right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One HTTP GET: the whole answer and the time from connecting to its first byte.
fn get(port: u16) -> (String, Duration) {
    let start = Instant::now();
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to the service");
    s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    s.write_all(b"GET / HTTP/1.0\r\nHost: svc\r\n\r\n").unwrap();
    let mut first = [0u8; 1];
    let n = s.read(&mut first).expect("read the answer");
    let ttfb = start.elapsed();
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
    let mut all = first[..n].to_vec();
    all.extend(rest);
    (String::from_utf8_lossy(&all).into_owned(), ttfb)
}

/// The request number the guest answered with.
fn count_of(answer: &str) -> u32 {
    assert!(
        answer.starts_with("HTTP/1.0 200 OK"),
        "not an answer: {answer:?}"
    );
    answer
        .rsplit("request ")
        .next()
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no count in {answer:?}"))
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, root, cgroups and the Linux guest images"]
fn a_service_is_restored_on_demand_scaled_to_zero_and_restored_with_its_state() {
    let scratch = tempfile::Builder::new()
        .prefix("tsvc")
        .tempdir_in("/tmp")
        .unwrap();
    let disk = node::script_disk(scratch.path(), "serve.sh", SERVE_SH);
    // The service's VM: booted once by hand, snapshotted while its server listens.
    let snapshot = scratch.path().join("web.tern");
    let mut argv: Vec<String> = virt::Boot::linux(1, Some("vda:serve.sh"), &[])
        .args()
        .to_vec();
    argv.extend(
        [
            "--memory",
            "128M",
            "--drive",
            &snapshot_vm::raw(&disk),
            "--netdev",
            "user",
        ]
        .map(String::from),
    );
    let vm = Vm::spawn(&argv, &scratch.path().join("boot.sock"));
    vm.wait_for("serve: listening", Duration::from_secs(300));
    vm.snapshot_and_kill(&snapshot, &[]);

    let d = NodeDaemon::start("2G", &[]);
    let c = d.client();
    c.create_slice(&CreateSlice {
        name: "web".into(),
        spec: SliceSpec {
            memory_mib: 768,
            max_vms: 2,
            // Restored VMs get the slice's bandwidth too (tern restore --net-rate):
            // far above what one request needs.
            bandwidth_kbps: Some(100_000),
            ..SliceSpec::default()
        },
    })
    .unwrap();
    let port = free_port();
    let req = CreateService {
        name: "hello".into(),
        port,
        listen: "127.0.0.1".into(),
        snapshot: snapshot.display().to_string(),
        guest_port: 80,
        idle_timeout_s: 3,
        memory_mib: 256,
    };
    let svc = c.add_service("web", &req).unwrap();
    assert_eq!(svc.state, ServiceState::Cold);
    // The port mapper knows it; bad requests are refused clearly.
    let found = c.lookup("hello").unwrap();
    assert_eq!((found.address.as_str(), found.port), ("127.0.0.1", port));
    assert_eq!(c.lookup("nope").unwrap_err().status(), Some(404));
    assert_eq!(c.add_service("web", &req).unwrap_err().status(), Some(409));
    assert_eq!(
        c.add_service("nosuch", &req).unwrap_err().status(),
        Some(404)
    );
    let taken = CreateService {
        name: "other".into(),
        ..req.clone()
    };
    let e = c.add_service("web", &taken).unwrap_err();
    assert_eq!(e.status(), Some(409), "{e}");
    let missing = CreateService {
        name: "other".into(),
        port: free_port(),
        snapshot: "/nonexistent.tern".into(),
        ..req.clone()
    };
    assert_eq!(
        c.add_service("web", &missing).unwrap_err().status(),
        Some(400)
    );
    assert!(
        c.vms("web").unwrap().is_empty(),
        "a cold service runs no VM"
    );

    // Cold: three connections at once; the first restores the VM, the others wait
    // for it, and every one is answered.
    let first: Vec<_> = (0..3)
        .map(|_| std::thread::spawn(move || get(port)))
        .collect();
    let answers: Vec<(String, Duration)> = first.into_iter().map(|t| t.join().unwrap()).collect();
    let mut counts: Vec<u32> = answers.iter().map(|(a, _)| count_of(a)).collect();
    counts.sort_unstable();
    assert_eq!(counts, [1, 2, 3]);
    let cold_ms = answers
        .iter()
        .map(|(_, t)| t.as_secs_f64() * 1e3)
        .fold(f64::MAX, f64::min);
    let warm = c.lookup("hello").unwrap();
    assert_eq!(warm.state, ServiceState::Warm);
    assert_eq!(warm.restores, 1);
    let vms = c.vms("web").unwrap();
    assert_eq!(vms.len(), 1);
    assert_eq!(vms[0].state, VmState::Running);
    assert!(
        vms[0]
            .args
            .windows(2)
            .any(|w| w == ["--net-rate", "100000"]),
        "{:?}",
        vms[0].args
    );
    let (answer, warm_t) = get(port);
    assert_eq!(count_of(&answer), 4);

    // Idle for 3 s: snapshotted and stopped.
    let cold = wait_for(
        Duration::from_secs(120),
        "the idle service to scale to zero",
        || {
            c.lookup("hello")
                .ok()
                .filter(|s| s.state == ServiceState::Cold)
        },
    );
    assert!(
        c.vms("web").unwrap().is_empty(),
        "the VM still runs: {:?}",
        c.vms("web")
    );
    assert!(
        cold.snapshot.starts_with(&d.state.display().to_string()),
        "{}",
        cold.snapshot
    );
    let saved = std::fs::metadata(&cold.snapshot).unwrap().len();

    // The next request restores it, with the guest's counter where it was.
    let (answer, again_t) = get(port);
    assert_eq!(count_of(&answer), 5, "the guest's state was lost: {answer}");
    let s = c.lookup("hello").unwrap();
    assert_eq!((s.state, s.restores), (ServiceState::Warm, 2));
    eprintln!(
        "super-server: first byte {cold_ms:.1} ms cold (restore {} ms on the node), \
         {:.1} ms warm, {:.1} ms after scale to zero (restore {} ms); \
         scaled-to-zero snapshot {} KiB, no process",
        warm.last_restore_ms.unwrap_or(0),
        warm_t.as_secs_f64() * 1e3,
        again_t.as_secs_f64() * 1e3,
        s.last_restore_ms.unwrap_or(0),
        saved >> 10
    );

    // Removed: its VM stops and the port closes.
    c.remove_service("web", "hello").unwrap();
    assert!(c.vms("web").unwrap().is_empty());
    assert!(c.services().unwrap().is_empty());
    wait_for(Duration::from_secs(5), "the port to close", || {
        TcpStream::connect(("127.0.0.1", port)).err().map(|_| ())
    });
}
