//! Live migration between two "hosts" that are network namespaces of this machine,
//! joined by a veth pair and nothing else: the source's tern runs in one, the
//! destination's `tern receive` in the other, listening on its own veth address, which
//! the root namespace (where the test and `tern migrate` run) cannot reach. The
//! counter workload moves mid-run and finishes with the results of an uninterrupted
//! run; the stream can only have gone over the veth link.

#[path = "common/migrate.rs"]
mod migrate;
#[path = "common/snapshot_vm.rs"]
#[allow(dead_code)]
mod snapshot_vm;
#[path = "common/virt.rs"]
mod virt;

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use migrate::{hop, wait_for_counter, Destination};
use snapshot_vm::{raw, results, Vm};
use virt::{disk_copy, images};

const ROUNDS: &str = "20000";
const FINISH: Duration = Duration::from_secs(900);

fn tmp(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("migrate-netns");
    std::fs::create_dir_all(&dir).expect("tmp dir");
    dir.join(name)
}

/// Runs `ip ARGS`, which must succeed.
fn ip(args: &[&str]) {
    let out = Command::new("ip")
        .args(args)
        .output()
        .expect("run ip (apt-get install iproute2)");
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Two namespaces joined by a veth pair (`10.209.N.1/24` and `10.209.N.2/24`), deleted
/// on drop.
struct Hosts {
    names: [String; 2],
    addrs: [String; 2],
}

impl Hosts {
    fn new() -> Hosts {
        // Unique per test process, so runs side by side do not collide.
        let n = std::process::id() % 250 + 1;
        let names = [format!("tern-a{n}"), format!("tern-b{n}")];
        let addrs = [format!("10.209.{n}.1"), format!("10.209.{n}.2")];
        for name in &names {
            let _ = Command::new("ip").args(["netns", "del", name]).output();
            ip(&["netns", "add", name]);
            ip(&["-n", name, "link", "set", "lo", "up"]);
        }
        let (va, vb) = (format!("tva{n}"), format!("tvb{n}"));
        ip(&[
            "link", "add", &va, "netns", &names[0], "type", "veth", "peer", "name", &vb, "netns",
            &names[1],
        ]);
        for (i, v) in [&va, &vb].into_iter().enumerate() {
            ip(&[
                "-n",
                &names[i],
                "addr",
                "add",
                &format!("{}/24", addrs[i]),
                "dev",
                v,
            ]);
            ip(&["-n", &names[i], "link", "set", v, "up"]);
        }
        Hosts { names, addrs }
    }

    /// `ip netns exec NAME tern`: a tern on host `i`.
    fn tern(&self, i: usize) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.names[i], env!("CARGO_BIN_EXE_tern")]);
        c
    }
}

impl Drop for Hosts {
    fn drop(&mut self) {
        for name in &self.names {
            let _ = Command::new("ip").args(["netns", "del", name]).output();
        }
    }
}

#[test]
#[ignore = "full tier (scripts/test): needs root (network namespaces), the tern binary and riscv64 guests"]
fn a_vm_moves_between_two_namespace_hosts_over_their_veth_link() {
    let _ = images();
    let reference = migrate::uninterrupted("netns", ROUNDS);
    let hosts = Hosts::new();

    let disk = disk_copy("netns-moved");
    let src_sock = tmp("src.sock");
    let mut source = hosts.tern(0);
    source.args(
        virt::Boot::linux(1, Some("/tests/counter.sh"), &[ROUNDS])
            .with(&["--drive", &raw(&disk), "--migratable"])
            .args(),
    );
    let source = Vm::spawn_command(source, &src_sock);
    wait_for_counter(&source, 300, Duration::from_secs(300));

    let mut receive = hosts.tern(1);
    receive.args(["receive", "--insecure", "--listen"]);
    receive.arg(format!("tcp:{}:0", hosts.addrs[1]));
    let dest = Destination::from_command(receive, &tmp("dst.sock"));
    assert!(
        dest.addr.starts_with(&hosts.addrs[1]),
        "the destination listens on {}",
        dest.addr
    );
    // From the root namespace the destination's host is out of reach: only the other
    // namespace, over the veth pair, can carry the stream.
    assert!(
        TcpStream::connect_timeout(&dest.addr.parse().expect("address"), Duration::from_secs(1))
            .is_err(),
        "the root namespace reached {}",
        dest.addr
    );

    hop(source, &src_sock, &dest, &["--insecure"]);
    let console = dest.vm.finish(FINISH);
    assert!(console.contains("tern: run exit status 0"), "{console}");
    assert_eq!(results(&console), reference);
}
