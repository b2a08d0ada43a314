//! The super-server's first-response latency (connection accepted → first byte of
//! the answer, the issue's target ≤ 10 ms) with a guest server that does not fork
//! per request: `guests/linux-user/http_count.c`, one static riscv64 process on the
//! guest's disk, in the test Linux guest. Measured cold (the VM restored from its
//! snapshot by the connection), warm (median of 20 requests to the running VM) and
//! after a scale to zero; printed, and checked only for sense (every request
//! answered, in order, the count surviving the scale to zero), not against the
//! target: the figures are the report's.

#[path = "common/linux_user.rs"]
mod linux_user;
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
use tern_node::spec::{CreateSlice, SliceSpec};

/// The guest: DHCP on eth0, then the C server on port 80.
const SERVE_SH: &str = r#"#!/bin/sh
set -eu
ip link set eth0 up
udhcpc -i eth0 -n -q -t 5 -T 2 >/dev/null
/disk/http_count 80 &
sleep 1
echo "serve: listening"
wait
"#;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One HTTP GET: the request number answered and the time from connecting to the
/// answer's first byte.
fn get(port: u16) -> (u32, Duration) {
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
    let answer = String::from_utf8_lossy(&all).into_owned();
    assert!(answer.starts_with("HTTP/1.0 200 OK"), "{answer:?}");
    let count = answer
        .rsplit("request ")
        .next()
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no count in {answer:?}"));
    (count, ttfb)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, root, cgroups, the Linux guest images and the riscv64 cross compiler"]
fn first_byte_latency_of_a_service_whose_guest_does_not_fork() {
    let server = linux_user::build("http_count", linux_user::Link::Static);
    let scratch = tempfile::Builder::new()
        .prefix("tfb")
        .tempdir_in("/tmp")
        .unwrap();
    let root = scratch.path().join("disk-root");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::copy(&server, root.join("http_count")).unwrap();
    let disk = node::script_disk(scratch.path(), "serve.sh", SERVE_SH);
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
            ..SliceSpec::default()
        },
    })
    .unwrap();
    let port = free_port();
    c.add_service(
        "web",
        &CreateService {
            name: "fast".into(),
            port,
            listen: "127.0.0.1".into(),
            snapshot: snapshot.display().to_string(),
            guest_port: 80,
            idle_timeout_s: 2,
            memory_mib: 256,
        },
    )
    .unwrap();

    let (n, cold) = get(port);
    assert_eq!(n, 1);
    let mut warm: Vec<Duration> = (2..22)
        .map(|i| {
            let (n, t) = get(port);
            assert_eq!(n, i);
            t
        })
        .collect();
    warm.sort_unstable();
    let restore_ms = c.lookup("fast").unwrap().last_restore_ms.unwrap_or(0);
    wait_for(Duration::from_secs(120), "the scale to zero", || {
        c.lookup("fast")
            .ok()
            .filter(|s| s.state == ServiceState::Cold)
    });
    let (n, again) = get(port);
    assert_eq!(n, 22, "the guest's count was lost");
    eprintln!(
        "first byte (non-forking guest server): cold {:.1} ms (restore {restore_ms} ms on the \
         node), warm median {:.1} ms (min {:.1}, max {:.1}), after scale to zero {:.1} ms",
        ms(cold),
        ms(warm[warm.len() / 2]),
        ms(warm[0]),
        ms(warm[warm.len() - 1]),
        ms(again)
    );
    c.remove_service("web", "fast").unwrap();
}
