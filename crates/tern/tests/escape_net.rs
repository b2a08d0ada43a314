//! Escape suite, user-mode network (issue 8, row 10): a Linux guest on `--netdev user`
//! tries to reach services that listen only on the host's loopback (TCP and UDP to
//! 10.0.2.2, hand-made frames to 127.0.0.1 and 0.0.0.0), and to open NAT flows without
//! end. Checked on the host side: what arrived at the test's listeners, and how many
//! descriptors tern held (`/proc/PID/fd`) while the guest flooded.

#[path = "common/tools_disk.rs"]
mod tools_disk;
#[path = "common/virt.rs"]
mod virt;

use std::io::Read;
use std::net::{Ipv4Addr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tern_devices::virtio::net_slirp::DEFAULT_MAX_FLOWS;
use tools_disk::{build_static, scratch, tools_disk, DiskFile};
use virt::{Boot, Run};

/// A TCP listener and a UDP socket on one port of `addr`, recording what arrives;
/// the TCP connections are kept open (a flood's flows stay alive).
struct Listeners {
    port: u16,
    received: Arc<Mutex<Vec<String>>>,
    connections: Arc<Mutex<usize>>,
    stop: Arc<AtomicBool>,
}

impl Listeners {
    fn start(addr: Ipv4Addr) -> Listeners {
        let (tcp, udp) = (0..50)
            .find_map(|_| {
                let tcp = TcpListener::bind((addr, 0)).ok()?;
                let port = tcp.local_addr().ok()?.port();
                let udp = UdpSocket::bind((addr, port)).ok()?;
                Some((tcp, udp))
            })
            .expect("a free TCP and UDP port");
        let port = tcp.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(Mutex::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        tcp.set_nonblocking(true).unwrap();
        udp.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        {
            let (received, connections, stop) =
                (received.clone(), connections.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut open = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    match tcp.accept() {
                        Ok((mut s, _)) => {
                            *connections.lock().unwrap() += 1;
                            s.set_read_timeout(Some(Duration::from_millis(300)))
                                .unwrap();
                            let mut buf = [0u8; 64];
                            if let Ok(n) = s.read(&mut buf) {
                                if n > 0 {
                                    received.lock().unwrap().push(
                                        String::from_utf8_lossy(&buf[..n]).trim().to_string(),
                                    );
                                }
                            }
                            open.push(s);
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
            });
        }
        {
            let (received, stop) = (received.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut buf = [0u8; 64];
                while !stop.load(Ordering::Relaxed) {
                    if let Ok(n) = udp.recv(&mut buf) {
                        let text = String::from_utf8_lossy(&buf[..n]).to_string();
                        if text != "flood" {
                            received.lock().unwrap().push(text);
                        }
                    }
                }
            });
        }
        Listeners {
            port,
            received,
            connections,
            stop,
        }
    }

    fn received(&self) -> Vec<String> {
        self.received.lock().unwrap().clone()
    }
}

impl Drop for Listeners {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The host's address on its default route: outside the NAT's view of "the host"
/// (10.0.2.2), a flow to it is an ordinary outbound connection.
fn host_address() -> Ipv4Addr {
    let s = UdpSocket::bind("0.0.0.0:0").unwrap();
    s.connect("192.0.2.200:9")
        .or_else(|_| s.connect("10.255.255.254:9"))
        .expect("this test needs an IPv4 default route (a non-loopback host address)");
    match s.local_addr().unwrap().ip() {
        std::net::IpAddr::V4(a) if !a.is_loopback() => a,
        other => panic!("no non-loopback IPv4 address on the host (got {other})"),
    }
}

fn tools(dir: &Path) -> PathBuf {
    let flows = build_static("flows", dir);
    tools_disk(
        dir,
        &[
            DiskFile::escape("net-probe.sh"),
            DiskFile::escape("net-flood.sh"),
            DiskFile::program(&flows),
        ],
    )
}

fn boot(tools: &Path, script: &str, args: &[&str], netdev: &str) -> Boot {
    Boot::linux(1, Some(script), args).with(&[
        "--drive",
        &format!("file={},format=raw", tools.display()),
        "--netdev",
        netdev,
    ])
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn the_guest_reaches_no_host_loopback_service() {
    let dir = scratch("net-loopback");
    let tools = tools(&dir);
    let host = Listeners::start(Ipv4Addr::LOCALHOST);
    let port = host.port.to_string();
    let run = boot(&tools, "vda:net-probe.sh", &[&port], "user").run();
    run.expect("net-probe: done");
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        host.received().is_empty() && *host.connections.lock().unwrap() == 0,
        "the guest reached the host's loopback listeners: {:?}, {} TCP connections; console:\n{}",
        host.received(),
        host.connections.lock().unwrap(),
        run.output
    );

    // Positive control: asked for, the host's loopback is reachable at 10.0.2.2.
    let run = boot(
        &tools,
        "vda:net-probe.sh",
        &[&port],
        "user,host-loopback=on",
    )
    .run();
    run.expect("net-probe: done");
    std::thread::sleep(Duration::from_millis(500));
    let got = host.received();
    for probe in ["tcp-probe", "udp-probe"] {
        assert!(
            got.iter().any(|g| g == probe),
            "with host-loopback=on, {probe} should arrive; got {got:?}; console:\n{}",
            run.output
        );
    }
}

/// Runs `boot` and samples tern's descriptor count until it exits; returns the run
/// and the largest count seen.
fn run_counting_fds(boot: &Boot, limit: Duration) -> (Run, usize) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tern"))
        .args(boot.args())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start tern");
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let o = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out.read_to_end(&mut s);
        s
    });
    let e = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        s
    });
    let fd_dir = format!("/proc/{}/fd", child.id());
    let start = Instant::now();
    let mut max = 0;
    let status = loop {
        if let Ok(d) = std::fs::read_dir(&fd_dir) {
            max = max.max(d.count());
        }
        if let Ok(Some(st)) = child.try_wait() {
            break st.code();
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut output = String::from_utf8_lossy(&o.join().unwrap()).into_owned();
    output.push_str(&String::from_utf8_lossy(&e.join().unwrap()));
    (Run { output, status }, max)
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn nat_flows_stay_under_the_cap_and_the_guest_keeps_running() {
    const FLOWS: usize = 3000;
    let dir = scratch("net-flood");
    let tools = tools(&dir);
    let addr = host_address();
    let host = Listeners::start(addr);
    let boot = boot(
        &tools,
        "vda:net-flood.sh",
        &[
            &addr.to_string(),
            &host.port.to_string(),
            &FLOWS.to_string(),
            "5",
        ],
        "user",
    );
    let (run, max_fds) = run_counting_fds(&boot, Duration::from_secs(300));
    eprintln!(
        "tern held at most {max_fds} descriptors; the host accepted {} connections",
        host.connections.lock().unwrap()
    );
    run.expect("flows: flood done");
    run.expect("net-flood: done");
    assert_eq!(run.status, Some(0), "console:\n{}", run.output);
    // tern's own descriptors (terminal, disks, wake-ups) are a few dozen.
    assert!(
        max_fds <= DEFAULT_MAX_FLOWS + 64,
        "tern held {max_fds} descriptors for a guest opening {FLOWS} TCP and {FLOWS} UDP \
         flows (cap {DEFAULT_MAX_FLOWS})"
    );
    // The guest was told (RST), not left hanging; and the NAT works again after.
    let line = run
        .value("flows: tcp 3000 opened, ")
        .unwrap_or_else(|| panic!("no flood summary; console:\n{}", run.output));
    assert!(
        line.contains(" 0 pending") && !line.contains(" 0 refused"),
        "flood summary: {line}"
    );
    run.expect(&format!(
        "flows: tcp {addr}:{} connected, wrote 10",
        host.port
    ));
}
