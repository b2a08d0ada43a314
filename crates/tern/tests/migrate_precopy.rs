//! Pre-copy live migration of a Linux guest between tern processes on this host: the
//! counter workload (a running checksum in memory, a file appended on an ext4 disk)
//! moved mid-run finishes with the same results as an uninterrupted run; then with 4
//! harts moved ten times back and forth (to `tern receive` and `tern run --incoming`);
//! then over mutual TLS with certificates made
//! by `openssl` here, where a peer with a certificate from another CA is refused
//! before the destination reads a byte of the VM; a guest in `sleep 3` moved
//! mid-sleep wakes on time; and with `--disks copy` the destination works on its own
//! copy of the disk, sent in the stream.
//!
//! The destination's tern is `TERN_MIGRATE_DEST` when set (see `common/migrate.rs`).

#[path = "common/migrate.rs"]
mod migrate;
#[path = "common/snapshot_vm.rs"]
#[allow(dead_code)]
mod snapshot_vm;
#[path = "common/virt.rs"]
mod virt;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use migrate::{hop, last_counter, wait_for_counter, Build, Destination};
use snapshot_vm::{raw, results, Vm};
use virt::{disk_copy, images};

/// Rounds of counter.sh: long enough for ten moves while it runs.
const ROUNDS: &str = "20000";
/// How long a workload may take to finish.
const FINISH: Duration = Duration::from_secs(900);

fn tmp(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("migrate");
    std::fs::create_dir_all(&dir).expect("tmp dir");
    dir.join(name)
}

/// The results of an uninterrupted run of the workload.
fn reference_results() -> &'static Vec<String> {
    static REF: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    REF.get_or_init(|| migrate::uninterrupted("migrate", ROUNDS))
}

/// Boots the workload with `harts` harts on `disk` under a control socket.
fn boot(harts: u32, disk: &Path, sock: &Path) -> Vm {
    let args = virt::Boot::linux(harts, Some("/tests/counter.sh"), &[ROUNDS])
        .with(&["--drive", &raw(disk), "--migratable"])
        .args()
        .to_vec();
    Vm::spawn(&args, sock)
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn moved_mid_run_the_workload_finishes_as_if_uninterrupted() {
    let _ = images();
    let reference = reference_results();
    let disk = disk_copy("migrate-once");
    let src_sock = tmp("once-src.sock");
    let source = boot(1, &disk, &src_sock);
    wait_for_counter(&source, 300, Duration::from_secs(300));
    let dest = Destination::start(Build::Destination, &["--insecure"], &tmp("once-dst.sock"));
    let src_console = hop(source, &src_sock, &dest, &["--insecure"]);
    let moved_at = last_counter(&src_console).expect("counted on the source");
    let console = dest.vm.finish(FINISH);
    // The guest went on where it was, not from the start.
    let first_here = console
        .lines()
        .filter_map(|l| l.trim_end_matches('\r').strip_prefix("counter: "))
        .find_map(|n| n.parse::<u64>().ok())
        .expect("the destination counted");
    // (moved_at + 100 unless the move split that line between the two consoles.)
    assert!(
        first_here > moved_at && first_here <= moved_at + 200,
        "the destination did not go on from {moved_at}:\n{console}"
    );
    assert!(console.contains("tern: run exit status 0"), "{console}");
    assert_eq!(&results(&console), reference);
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn four_harts_moved_ten_times_back_and_forth() {
    let _ = images();
    let reference = reference_results();
    let disk = disk_copy("migrate-trips");
    let mut sock = tmp("trip-0.sock");
    let mut vm = boot(4, &disk, &sock);
    let mut counted = wait_for_counter(&vm, 300, Duration::from_secs(300));
    for trip in 1..=10 {
        let build = if trip % 2 == 1 {
            Build::Destination
        } else {
            Build::Native
        };
        let dest_sock = tmp(&format!("trip-{trip}.sock"));
        // Every third destination is `tern run --incoming`, the others `tern receive`.
        let dest = if trip % 3 == 0 {
            Destination::start_run(build, &["--insecure"], &dest_sock)
        } else {
            Destination::start(build, &["--insecure"], &dest_sock)
        };
        let console = hop(vm, &sock, &dest, &["--insecure"]);
        counted = counted.max(last_counter(&console).unwrap_or(0));
        // The guest runs on at the destination before it moves again.
        counted = wait_for_counter(&dest.vm, counted + 200, Duration::from_secs(300));
        eprintln!("trip {trip}: counting at {counted}");
        vm = dest.vm;
        sock = dest_sock;
    }
    let console = vm.finish(FINISH);
    assert_eq!(&results(&console), reference);
}

/// Runs openssl with `args` in `dir`; fails naming the package when it is missing.
fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run openssl ({e}): apt-get install openssl"));
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA `ca` (ca.pem, ca.key) in `dir`.
fn make_ca(dir: &Path, ca: &str) {
    let (key, pem) = (format!("{ca}.key"), format!("{ca}.pem"));
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &pem,
            "-days",
            "2",
            "-subj",
            &format!("/CN={ca}"),
        ],
    );
}

/// A certificate `name` (name.pem, name.key) signed by CA `ca`, for `usage`
/// (serverAuth or clientAuth), valid for 127.0.0.1.
fn make_cert(dir: &Path, ca: &str, name: &str, usage: &str) {
    let (key, csr, pem, ext) = (
        format!("{name}.key"),
        format!("{name}.csr"),
        format!("{name}.pem"),
        format!("{name}.ext"),
    );
    std::fs::write(
        dir.join(&ext),
        format!("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage={usage}\n"),
    )
    .expect("write the extensions");
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &csr,
            "-subj",
            &format!("/CN={name}"),
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &format!("{ca}.pem"),
            "-CAkey",
            &format!("{ca}.key"),
            "-CAcreateserial",
            "-out",
            &pem,
            "-days",
            "2",
            "-extfile",
            &ext,
        ],
    );
}

/// `--tls-cert D/name.pem --tls-key D/name.key --tls-ca D/ca.pem`.
fn tls_args(dir: &Path, name: &str, ca: &str) -> Vec<String> {
    let p = |f: String| dir.join(f).display().to_string();
    vec![
        "--tls-cert".into(),
        p(format!("{name}.pem")),
        "--tls-key".into(),
        p(format!("{name}.key")),
        "--tls-ca".into(),
        p(format!("{ca}.pem")),
    ]
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn mutual_tls_refuses_an_unknown_peer_and_then_migrates() {
    let _ = images();
    let reference = reference_results();
    let dir = tmp("pki");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("pki dir");
    make_ca(&dir, "ca");
    make_ca(&dir, "rogue-ca");
    make_cert(&dir, "ca", "destination", "serverAuth");
    make_cert(&dir, "ca", "source", "clientAuth");
    make_cert(&dir, "rogue-ca", "intruder", "clientAuth");

    let disk = disk_copy("migrate-tls");
    let src_sock = tmp("tls-src.sock");
    let source = boot(1, &disk, &src_sock);
    wait_for_counter(&source, 300, Duration::from_secs(300));
    let dest_tls = tls_args(&dir, "destination", "ca");
    let dest_tls: Vec<&str> = dest_tls.iter().map(String::as_str).collect();
    let dest = Destination::start(Build::Destination, &dest_tls, &tmp("tls-dst.sock"));

    // A source whose certificate the destination's CA did not sign: refused in the
    // handshake. The destination reads nothing of the VM and waits on.
    let intruder = tls_args(&dir, "intruder", "ca");
    let intruder: Vec<&str> = intruder.iter().map(String::as_str).collect();
    let refused = migrate::migrate(&src_sock, &dest.addr, &intruder);
    assert!(!refused.ok, "an unknown peer migrated: {}", refused.output);
    let dest_out = dest.vm.output();
    assert!(
        dest_out.contains("tern: refused a connection"),
        "the destination did not refuse the unknown peer:\n{dest_out}"
    );
    assert!(
        !dest_out.contains("migration from"),
        "the destination read the unknown peer's stream:\n{dest_out}"
    );
    // The source runs on as if nothing happened.
    let counted = last_counter(&source.output()).unwrap_or(0);
    wait_for_counter(&source, counted + 200, Duration::from_secs(300));
    assert!(source.ctl(&["status"]).contains("running"));

    // Plain TCP to a TLS destination is refused too.
    let plain = migrate::migrate(&src_sock, &dest.addr, &["--insecure"]);
    assert!(
        !plain.ok,
        "plain TCP reached a TLS destination: {}",
        plain.output
    );

    // The right certificates: the move completes and the workload finishes.
    let good = tls_args(&dir, "source", "ca");
    let good: Vec<&str> = good.iter().map(String::as_str).collect();
    hop(source, &src_sock, &dest, &good);
    let console = dest.vm.finish(FINISH);
    assert_eq!(&results(&console), reference);
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn a_sleeping_guest_moved_mid_sleep_wakes_on_time() {
    let _ = images();
    let src_sock = tmp("sleep-src.sock");
    let source = Vm::boot_migratable("/tests/sleep.sh", &["3"], None, &src_sock);
    source.wait_for("sleep: start", Duration::from_secs(300));
    let asleep = std::time::Instant::now();
    let dest = Destination::start(Build::Destination, &["--insecure"], &tmp("sleep-dst.sock"));
    std::thread::sleep(Duration::from_millis(500));
    let console = hop(source, &src_sock, &dest, &["--insecure"]);
    assert!(
        !console.contains("sleep: woke"),
        "woke before the move:\n{console}"
    );
    dest.vm.wait_for("sleep: woke", Duration::from_secs(30));
    let slept = asleep.elapsed();
    // The armed timer fired at the destination, neither early (a clock that jumped
    // forward) nor late (a timer lost and found again by some other interrupt).
    assert!(
        slept >= Duration::from_millis(2900) && slept < Duration::from_secs(6),
        "slept {slept:?} instead of 3 s:\n{}",
        dest.vm.output()
    );
    let console = dest.vm.finish(Duration::from_secs(60));
    assert!(console.contains("tern: run exit status 0"), "{console}");
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn with_disks_copied_the_destination_needs_only_the_stream() {
    let _ = images();
    let reference = reference_results();
    let disk = disk_copy("migrate-copy");
    let src_sock = tmp("copy-src.sock");
    let source = boot(1, &disk, &src_sock);
    wait_for_counter(&source, 300, Duration::from_secs(300));
    let dir = tmp("copied-disks");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("disk dir");
    let dir_arg = dir.display().to_string();
    let dest = Destination::start(
        Build::Destination,
        &["--insecure", "--disk-dir", &dir_arg],
        &tmp("copy-dst.sock"),
    );
    hop(source, &src_sock, &dest, &["--insecure", "--disks", "copy"]);
    // The source's image as the source left it: the destination writes its copy.
    let left = virt::sha256_file(&disk);
    let console = dest.vm.finish(FINISH);
    assert_eq!(&results(&console), reference);
    assert_eq!(
        virt::sha256_file(&disk),
        left,
        "the destination wrote the source's image"
    );
    let copies: Vec<_> = std::fs::read_dir(&dir)
        .expect("disk dir")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(copies.len(), 1, "{copies:?}");
    assert_eq!(
        std::fs::metadata(&copies[0]).expect("copy").len(),
        std::fs::metadata(&disk).expect("image").len()
    );
    assert!(
        console.contains(&format!("is copied to {}", copies[0].display())),
        "{console}"
    );
}

/// The frames a peer received, per connection.
type Recorded = std::sync::Arc<std::sync::Mutex<Vec<Vec<Vec<u8>>>>>;

/// Frames a socket-netdev peer received, per connection (QEMU's framing: a 4-byte
/// big-endian length, then the frame), from a listener on 127.0.0.1.
fn frame_recorder() -> (u16, Recorded) {
    use std::io::Read;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the peer");
    let port = listener.local_addr().expect("address").port();
    let frames = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let all = frames.clone();
    std::thread::spawn(move || {
        for (index, conn) in listener.incoming().enumerate() {
            let Ok(mut conn) = conn else { return };
            all.lock().unwrap().push(Vec::new());
            let mine = all.clone();
            std::thread::spawn(move || loop {
                let mut len = [0u8; 4];
                if conn.read_exact(&mut len).is_err() {
                    return;
                }
                let mut f = vec![0u8; u32::from_be_bytes(len) as usize];
                if conn.read_exact(&mut f).is_err() {
                    return;
                }
                mine.lock().unwrap()[index].push(f);
            });
        }
    });
    (port, frames)
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn the_moved_card_announces_itself_from_the_destination() {
    // A VM on a socket link moves; the destination's card connects to the same peer
    // and says where it now is with a RARP request from its own address (what a
    // switch needs to learn the new port, as QEMU's self-announce).
    let _ = images();
    let (port, frames) = frame_recorder();
    let mac = [0x52, 0x54, 0x00, 0x12, 0x34, 0x77];
    let netdev = format!("socket,connect=127.0.0.1:{port},mac=52:54:00:12:34:77");
    let src_sock = tmp("announce-src.sock");
    let source = Vm::boot_with(
        "/tests/sleep.sh",
        &["60"],
        None,
        &["--migratable", "--netdev", &netdev],
        &src_sock,
    );
    source.wait_for("sleep: start", Duration::from_secs(300));
    let dest = Destination::start(
        Build::Destination,
        &["--insecure"],
        &tmp("announce-dst.sock"),
    );
    let m = migrate::migrate(&src_sock, &dest.addr, &["--insecure"]);
    assert!(m.ok, "tern migrate failed: {}", m.output);
    let rarp_from_dest = || {
        let f = frames.lock().unwrap();
        f.len() >= 2
            && f[1..].iter().flatten().any(|fr| {
                fr.len() >= 60
                    && fr[12..14] == [0x80, 0x35]
                    && fr[6..12] == mac
                    && fr[22..28] == mac
            })
    };
    let start = std::time::Instant::now();
    while !rarp_from_dest() && start.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let seen: Vec<usize> = frames.lock().unwrap().iter().map(Vec::len).collect();
    assert!(
        rarp_from_dest(),
        "no RARP announcement on the destination's connection (frames per connection: {seen:?})"
    );
    let _ = source.kill();
    let _ = dest.vm.kill();
}

/// `sha256sum` of `text` (the guest's busybox prints the same digest).
fn sha256(text: &str) -> String {
    use std::io::Write;
    let mut child = Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run sha256sum (coreutils)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write to sha256sum");
    let out = child.wait_with_output().expect("sha256sum");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn a_tcp_connection_between_two_vms_survives_a_move_of_one() {
    // Two guests on a socket link: one receives over TCP what the other sends, a
    // numbered line every 20 ms; the sender moves mid-stream. The receiver must get
    // every line once, in order, over the same connection.
    let _ = images();
    const LINES: usize = 600;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let server_sock = tmp("tcp-server.sock");
    let server = Vm::boot_with(
        "/tests/tcp.sh",
        &["server", "192.168.78.1"],
        None,
        &[
            "--netdev",
            &format!("socket,listen=127.0.0.1:{port},mac=52:54:00:12:78:01"),
        ],
        &server_sock,
    );
    server.wait_for("tcp: listening", Duration::from_secs(300));
    let src_sock = tmp("tcp-client.sock");
    let lines = LINES.to_string();
    let client = Vm::boot_with(
        "/tests/tcp.sh",
        &["client", "192.168.78.2", "192.168.78.1", &lines],
        None,
        &[
            "--migratable",
            "--netdev",
            &format!("socket,connect=127.0.0.1:{port},mac=52:54:00:12:78:02"),
        ],
        &src_sock,
    );
    client.wait_for("tcp: sent 100", Duration::from_secs(300));
    let dest = Destination::start(Build::Destination, &["--insecure"], &tmp("tcp-dst.sock"));
    let m = migrate::migrate(&src_sock, &dest.addr, &["--insecure"]);
    assert!(m.ok, "tern migrate failed: {}", m.output);
    let src_console = client.finish(Duration::from_secs(60));
    assert!(
        !src_console.contains(&format!("tcp: sent {LINES}")),
        "the client finished before it moved:\n{src_console}"
    );
    let client_console = dest.vm.finish(Duration::from_secs(300));
    assert!(
        client_console.contains("tcp: ok"),
        "the moved client did not finish:\n{client_console}"
    );
    server.wait_for("tcp: ok", Duration::from_secs(60));
    let sent: String = (1..=LINES).map(|i| format!("line {i}\n")).collect();
    let console = server.finish(Duration::from_secs(60));
    let received = console
        .lines()
        .find_map(|l| l.trim_end_matches('\r').strip_prefix("tcp: received "))
        .unwrap_or_else(|| panic!("the server reported nothing:\n{console}"))
        .to_string();
    assert_eq!(received, format!("{LINES} {}", sha256(&sent)), "{console}");
}
