//! Two nodes on one machine, each in its own network namespace joined by a veth
//! pair (10.213.0.1 and 10.213.0.2, nothing else routed): both serve their API with
//! mutual TLS on their veth address; the test, from node A's namespace, creates a
//! slice on each through the TCP API, boots a Linux guest in a slice of node A,
//! starts a `receive` VM in a slice of node B, and migrates the running guest over
//! the veth; it finishes its work on node B. The namespaces go even when the test
//! fails (a Drop guard).

#[path = "common/certs.rs"]
mod certs;
#[path = "common/migrate.rs"]
mod migrate;
#[path = "common/node.rs"]
mod node;
#[allow(dead_code)] // the snapshot tests' helpers this test does not use
#[path = "common/snapshot_vm.rs"]
mod snapshot_vm;
#[path = "common/virt.rs"]
mod virt;

use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use node::{wait_for, NodeDaemon};
use tern_migrate::transport::TlsFiles;
use tern_node::spec::{CreateSlice, SliceSpec, StartVm, VmKind, VmState};
use tern_node::NodeClient;

const ADDR_A: &str = "10.213.0.1";
const ADDR_B: &str = "10.213.0.2";
const API_PORT: u16 = 7443;
const MIGRATION_PORT: u16 = 4444;

/// Runs `ip ARGS`, panicking with its message if it fails.
fn ip(args: &[&str]) {
    let out = Command::new("ip")
        .args(args)
        .output()
        .expect("ip (apt-get install iproute2)");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Two network namespaces joined by a veth pair; deleted on drop (which deletes
/// the veths too).
struct Namespaces {
    a: String,
    b: String,
}

impl Namespaces {
    fn new() -> Namespaces {
        let id = std::process::id();
        let ns = Namespaces {
            a: format!("tern-a-{id}"),
            b: format!("tern-b-{id}"),
        };
        // Made before anything can fail, so that Drop removes whatever was made.
        ip(&["netns", "add", &ns.a]);
        ip(&["netns", "add", &ns.b]);
        let (va, vb) = (format!("tva{id}"), format!("tvb{id}"));
        ip(&["link", "add", &va, "type", "veth", "peer", "name", &vb]);
        ip(&["link", "set", &va, "netns", &ns.a]);
        ip(&["link", "set", &vb, "netns", &ns.b]);
        for (n, v, addr) in [(&ns.a, &va, ADDR_A), (&ns.b, &vb, ADDR_B)] {
            ip(&["-n", n, "addr", "add", &format!("{addr}/24"), "dev", v]);
            ip(&["-n", n, "link", "set", v, "up"]);
            ip(&["-n", n, "link", "set", "lo", "up"]);
        }
        ns
    }
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        for n in [&self.a, &self.b] {
            let _ = Command::new("ip").args(["netns", "del", n]).status();
        }
    }
}

/// Runs `f` on a thread that entered network namespace `ns`: its sockets are there.
fn in_netns<T: Send>(ns: &str, f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        s.spawn(|| {
            let file = std::fs::File::open(format!("/run/netns/{ns}")).unwrap();
            // SAFETY: setns on an open namespace file; it changes only this thread's
            // network namespace.
            let r = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(r, 0, "setns: {}", std::io::Error::last_os_error());
            f()
        })
        .join()
        .unwrap()
    })
}

/// The network namespace (inode) a process is in.
fn netns_of(pid: u32) -> String {
    std::fs::read_link(format!("/proc/{pid}/ns/net"))
        .unwrap()
        .display()
        .to_string()
}

#[test]
#[ignore = "full tier (scripts/test): needs root (ip netns), cgroups, the tern binary and the Linux guest images"]
fn a_vm_moves_between_nodes_in_two_network_namespaces() {
    let ns = Namespaces::new();
    let certs = tempfile::tempdir().unwrap();
    let dir = certs.path();
    let (ca, issuer) = certs::new_ca(dir, "nodes");
    let s = |p: &Path| p.display().to_string();
    let start = |netns: &str, addr: &str| {
        let (cert, key) = certs::leaf(dir, netns, &[addr], &issuer);
        let listen = format!("{addr}:{API_PORT}");
        NodeDaemon::start_in(
            Some(netns),
            "2G",
            &[
                "--listen",
                &listen,
                "--tls-cert",
                &s(&cert),
                "--tls-key",
                &s(&key),
                "--client-ca",
                &s(&ca),
            ],
        )
    };
    let node_a = start(&ns.a, ADDR_A);
    let node_b = start(&ns.b, ADDR_B);
    let pid_a = node_a.pid().unwrap();
    assert_ne!(netns_of(pid_a), netns_of(std::process::id()));
    assert_ne!(netns_of(pid_a), netns_of(node_b.pid().unwrap()));
    let (me_cert, me_key) = certs::leaf(dir, "operator", &["operator"], &issuer);
    let files = TlsFiles {
        cert: me_cert,
        key: me_key,
        ca: ca.clone(),
        server_name: None,
    };

    // The source VM: a Linux guest counting to 3000, in a slice of node A.
    let disk = virt::disk_copy("node-netns");
    let mut args: Vec<String> =
        virt::Boot::linux(1, Some("/tests/counter.sh"), &["3000"]).args()[1..].to_vec();
    args.extend([
        "--drive".into(),
        snapshot_vm::raw(&disk),
        "--migratable".into(),
    ]);
    let (src, dst) = in_netns(&ns.a, || {
        // From A's namespace: A on its own address, B across the veth.
        let api = |addr: &str| {
            wait_for(Duration::from_secs(10), "the remote API to listen", || {
                TcpStream::connect((addr, API_PORT)).ok()
            });
            NodeClient::remote(&format!("https://{addr}:{API_PORT}"), &files).unwrap()
        };
        let (a, b) = (api(ADDR_A), api(ADDR_B));
        let slice = |c: &NodeClient, name: &str| {
            c.create_slice(&CreateSlice {
                name: name.into(),
                spec: SliceSpec {
                    memory_mib: 512,
                    ..SliceSpec::default()
                },
            })
            .unwrap()
        };
        slice(&a, "src");
        slice(&b, "dst");
        assert_eq!(a.info().unwrap().slices, 1);
        assert!(b.slice("src").is_err(), "node B has node A's slice");
        let src = a
            .start_vm(
                "src",
                &StartVm {
                    kind: VmKind::Run,
                    args: args.clone(),
                    memory_mib: 256,
                },
            )
            .unwrap();
        let dst = b
            .start_vm(
                "dst",
                &StartVm {
                    kind: VmKind::Receive,
                    args: vec![
                        "--listen".into(),
                        format!("tcp:{ADDR_B}:{MIGRATION_PORT}"),
                        "--insecure".into(),
                    ],
                    memory_mib: 256,
                },
            )
            .unwrap();
        (src, dst)
    });
    wait_for(Duration::from_secs(30), "tern receive to listen", || {
        std::fs::read_to_string(&dst.log)
            .ok()
            .filter(|l| l.contains("waiting for a VM on"))
    });
    wait_for(
        Duration::from_secs(300),
        "the guest to count to 200",
        || {
            let log = std::fs::read_to_string(&src.log).ok()?;
            migrate::last_counter(&log).filter(|&n| n >= 200)
        },
    );
    // The source VM (in A's namespace) sends over the veth to B's address.
    let m = migrate::migrate(
        Path::new(&src.api_sock),
        &format!("{ADDR_B}:{MIGRATION_PORT}"),
        &["--insecure"],
    );
    assert!(m.ok && m.output.contains("completed to"), "{}", m.output);
    let console = wait_for(
        Duration::from_secs(600),
        "the workload to finish on node B",
        || {
            std::fs::read_to_string(&dst.log)
                .ok()
                .filter(|l| l.contains("counter: ok") || l.contains("run exit status"))
        },
    );
    assert!(console.contains("counter: ok"), "{console}");
    assert!(console.contains("counter: lines 3000"), "{console}");
    let src_log = std::fs::read_to_string(&src.log).unwrap();
    assert!(src_log.contains("tern: the VM moved to"), "{src_log}");
    assert!(!src_log.contains("counter: ok"), "{src_log}");
    let gone = wait_for(Duration::from_secs(30), "the VM to end on node B", || {
        node_b
            .client()
            .vm("dst", &dst.id)
            .ok()
            .filter(|v| v.state == VmState::Exited)
    });
    assert!(gone.exit.unwrap_or_default().contains("status 0"));
    drop(node_a);
    drop(node_b);
    drop(ns);
}
