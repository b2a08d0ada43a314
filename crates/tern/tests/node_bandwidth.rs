//! A slice's network bandwidth (`bandwidth_kbps`): the node gives each network card
//! of the slice's system VMs that limit (`--netdev ...,rate-kbps=N`, a token bucket
//! per direction in tern's virtio-net card). A Linux guest in the slice uploads to and
//! downloads from the host; both transfers, timed on the host, run within 20 % of
//! the limit.

#[path = "common/node.rs"]
mod node;
#[path = "common/virt.rs"]
mod virt;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use node::{wait_for, NodeDaemon};
use tern_node::spec::{CreateSlice, SliceSpec, StartVm, VmKind};

/// The limit, kilobits per second.
const KBPS: u64 = 1000;
/// Bytes each way (about 3.3 s at the limit).
const KIB: usize = 400;

/// The guest: DHCP, then `KIB` KiB to the host's port $1 with nc, then the same
/// from the host's HTTP server on port $2 with wget.
const RATE_SH: &str = r#"#!/bin/sh
set -eu
ip link set eth0 up
udhcpc -i eth0 -n -q -t 5 -T 2 >/dev/null
echo "rate: up"
dd if=/dev/zero bs=1024 count="$3" 2>/dev/null | nc 10.0.2.2 "$1"
echo "rate: sent"
wget -q -O /dev/null "http://10.0.2.2:$2/blob"
echo "rate: fetched"
"#;

/// Receives one upload; its bytes and the time from its first byte to its end.
fn receive_upload(l: TcpListener) -> (usize, Duration) {
    let (mut s, _) = l.accept().unwrap();
    let mut buf = vec![0u8; 65536];
    let mut n = s.read(&mut buf).unwrap();
    let start = Instant::now();
    let mut total = n;
    while n > 0 {
        n = s.read(&mut buf).unwrap();
        total += n;
    }
    (total, start.elapsed())
}

/// Serves one HTTP download of `len` bytes; the time from the first body byte until
/// the guest closed the connection (having read it all).
fn serve_download(l: TcpListener, len: usize) -> Duration {
    let (mut s, _) = l.accept().unwrap();
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && s.read(&mut b).unwrap() == 1 {
        head.push(b[0]);
    }
    s.write_all(format!("HTTP/1.0 200 OK\r\nContent-Length: {len}\r\n\r\n").as_bytes())
        .unwrap();
    let start = Instant::now();
    s.write_all(&vec![0x5a; len]).unwrap();
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
    start.elapsed()
}

/// Upload and download rates (bytes per second) of a guest in a slice with
/// `bandwidth_kbps`.
fn measure(bandwidth_kbps: Option<u64>) -> (f64, f64) {
    let scratch = tempfile::Builder::new()
        .prefix("tbw")
        .tempdir_in("/tmp")
        .unwrap();
    let disk = node::script_disk(scratch.path(), "rate.sh", RATE_SH);
    let up = TcpListener::bind("127.0.0.1:0").unwrap();
    let down = TcpListener::bind("127.0.0.1:0").unwrap();
    let (up_port, down_port) = (
        up.local_addr().unwrap().port(),
        down.local_addr().unwrap().port(),
    );
    let kib = KIB.to_string();
    let boot = virt::Boot::linux(
        1,
        Some("vda:rate.sh"),
        &[&up_port.to_string(), &down_port.to_string(), &kib],
    );
    let mut args: Vec<String> = boot.args()[1..].to_vec();
    args.extend([
        "--drive".to_string(),
        format!("file={},format=raw", disk.display()),
        "--netdev".into(),
        // The host's servers are on its loopback: allowed explicitly.
        "user,host-loopback=on".into(),
    ]);
    let d = NodeDaemon::start("2G", &[]);
    let c = d.client();
    c.create_slice(&CreateSlice {
        name: "net".into(),
        spec: SliceSpec {
            memory_mib: 512,
            bandwidth_kbps,
            ..SliceSpec::default()
        },
    })
    .unwrap();
    let uploads = std::thread::spawn(move || receive_upload(up));
    let downloads = std::thread::spawn(move || serve_download(down, KIB * 1024));
    let vm = c
        .start_vm(
            "net",
            &StartVm {
                kind: VmKind::Run,
                args,
                memory_mib: 256,
            },
        )
        .unwrap();
    let (bytes, up_t) = uploads.join().unwrap();
    let down_t = downloads.join().unwrap();
    let console = wait_for(Duration::from_secs(60), "the guest's fetch", || {
        let log = std::fs::read_to_string(&vm.log).unwrap_or_default();
        log.contains("rate: fetched").then_some(log)
    });
    assert_eq!(bytes, KIB * 1024, "upload incomplete; console:\n{console}");
    (
        bytes as f64 / up_t.as_secs_f64(),
        (KIB * 1024) as f64 / down_t.as_secs_f64(),
    )
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, root, cgroups and the Linux guest images"]
fn a_slices_vms_transfer_at_its_bandwidth() {
    let limit = KBPS as f64 * 1000.0 / 8.0;
    let (up_rate, down_rate) = measure(Some(KBPS));
    let (free_up, free_down) = measure(None);
    eprintln!(
        "bandwidth limit {KBPS} kbps ({limit:.0} B/s): upload {up_rate:.0} B/s ({:.0} %), \
         download {down_rate:.0} B/s ({:.0} %); without the limit {free_up:.0} and \
         {free_down:.0} B/s",
        100.0 * up_rate / limit,
        100.0 * down_rate / limit
    );
    // The guest alone goes faster, so the limit is what holds it.
    assert!(
        free_up > 1.5 * limit && free_down > 1.5 * limit,
        "the guest cannot exceed the limit anyway: {free_up:.0} and {free_down:.0} B/s"
    );
    // Ethernet, IP and TCP headers count against the limit, the payload a little
    // below it.
    for (what, rate) in [("upload", up_rate), ("download", down_rate)] {
        assert!(
            (0.8 * limit..=1.2 * limit).contains(&rate),
            "{what} ran at {rate:.0} B/s against a limit of {limit:.0} B/s"
        );
    }
}
