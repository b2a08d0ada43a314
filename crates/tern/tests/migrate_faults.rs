//! A hostile or broken migration stream: the connection cut at random points of
//! pre-copy, and bytes of the stream flipped on the way, through a fault-injecting
//! proxy between `tern migrate` and `tern receive`. Each time the source's VM runs on
//! as if nothing happened and the destination throws what it received away and waits
//! for another; a direct retry then moves the VM, and the workload finishes with the
//! same results as an uninterrupted run. A destination killed during pre-copy leaves
//! the source running too, and a retry to a new one moves the VM.

#[path = "common/migrate.rs"]
mod migrate;
#[path = "common/snapshot_vm.rs"]
#[allow(dead_code)]
mod snapshot_vm;
#[path = "common/virt.rs"]
mod virt;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use migrate::{last_counter, wait_for_counter, Build, Destination};
use snapshot_vm::{raw, results, Vm};
use virt::{disk_copy, images};

const ROUNDS: &str = "20000";
const FINISH: Duration = Duration::from_secs(900);
/// Cut and corruption points lie within the first round (the guest has touched more
/// than this by then): before the switch-over, where the source is still in charge.
const FAULT_WITHIN: u64 = 8 << 20;

fn tmp(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("migrate-faults");
    std::fs::create_dir_all(&dir).expect("tmp dir");
    dir.join(name)
}

/// What the proxy does to the source's bytes.
#[derive(Clone, Copy, Debug)]
enum Fault {
    /// Closes both connections after this many bytes from the source.
    Cut(u64),
    /// Flips bits of the byte at this offset of the source's stream.
    Flip(u64),
}

/// Listens on a free loopback port for one connection, which it joins to `target`
/// from a thread: `tamper` gets (the source's side, the destination's side) after
/// the other direction, `raw_from_dest` or the reverse, is set to be copied as is.
/// Returns the address to migrate to.
fn proxy_with(
    target: &str,
    raw_from_dest: bool,
    tamper: impl FnOnce(TcpStream, TcpStream) + Send + 'static,
) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
    let addr = listener.local_addr().expect("proxy address").to_string();
    let target = target.to_string();
    std::thread::spawn(move || {
        let (from_source, _) = listener.accept().expect("accept the source");
        let to_dest = TcpStream::connect(&target).expect("connect the destination");
        let (a, b) = (
            from_source.try_clone().expect("clone"),
            to_dest.try_clone().expect("clone"),
        );
        let (mut from, mut to) = if raw_from_dest { (b, a) } else { (a, b) };
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut from, &mut to);
            let _ = to.shutdown(Shutdown::Both);
        });
        tamper(from_source, to_dest);
    });
    addr
}

/// A proxy for one connection to `target`, with `fault` on the source's direction;
/// returns the address to migrate to.
fn proxy(target: &str, fault: Fault) -> String {
    // The destination's answers go back untouched.
    proxy_with(target, true, move |mut from_source, mut to_dest| {
        let mut at = 0u64;
        let mut buf = vec![0u8; 64 << 10];
        loop {
            let n = match from_source.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let chunk = &mut buf[..n];
            let end = at + n as u64;
            match fault {
                Fault::Cut(c) if end >= c => {
                    let _ = to_dest.write_all(&chunk[..(c - at) as usize]);
                    break;
                }
                Fault::Flip(f) if (at..end).contains(&f) => chunk[(f - at) as usize] ^= 0x40,
                _ => {}
            }
            if to_dest.write_all(chunk).is_err() {
                break;
            }
            at = end;
        }
        let _ = to_dest.shutdown(Shutdown::Both);
        let _ = from_source.shutdown(Shutdown::Both);
    })
}

/// Cut points spread over the first round, varied per run (the seed is printed).
fn fault_points(count: u64) -> Vec<u64> {
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1)
        | 1;
    eprintln!("fault seed {seed}");
    let mut x = seed;
    (0..count)
        .map(|i| {
            // xorshift64
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // One point in each slice of the first round, so small offsets (the hello,
            // the configuration) are cut too.
            let slice = FAULT_WITHIN / count;
            i * slice + x % slice
        })
        .collect()
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn a_cut_or_corrupted_stream_leaves_the_source_running_and_a_retry_moves_it() {
    let _ = images();
    let reference = migrate::uninterrupted("faults", ROUNDS);
    let disk = disk_copy("faults");
    let src_sock = tmp("src.sock");
    let source = Vm::boot_migratable("/tests/counter.sh", &[ROUNDS], Some(&raw(&disk)), &src_sock);
    wait_for_counter(&source, 300, Duration::from_secs(300));
    let dest = Destination::start(Build::Destination, &["--insecure"], &tmp("dst.sock"));

    let mut faults: Vec<Fault> = vec![Fault::Cut(0), Fault::Cut(20)];
    faults.extend(fault_points(6).into_iter().map(Fault::Cut));
    faults.extend(fault_points(4).into_iter().map(Fault::Flip));
    for (attempt, &fault) in faults.iter().enumerate() {
        let via = proxy(&dest.addr, fault);
        let m = migrate::migrate(&src_sock, &via, &["--insecure"]);
        assert!(
            !m.ok,
            "{fault:?}: the migration completed through a broken stream: {}",
            m.output
        );
        eprintln!("{fault:?}: {}", m.output.trim_end());
        // The source runs on: its guest keeps counting, its state is running.
        let counted = last_counter(&source.output()).unwrap_or(0);
        wait_for_counter(&source, counted + 100, Duration::from_secs(300));
        let status = source.ctl(&["status"]);
        assert!(status.contains("running"), "{fault:?}: {status}");
        // The destination threw the attempt away and waits for the next.
        let limit = std::time::Instant::now() + Duration::from_secs(60);
        while dest.vm.output().matches("waiting for another").count() < attempt + 1 {
            assert!(
                std::time::Instant::now() < limit,
                "{fault:?}: the destination did not give up the broken stream:\n{}",
                dest.vm.output()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let out = dest.vm.output();
        let why = out.lines().rfind(|l| l.contains("waiting for another"));
        eprintln!("  destination: {}", why.unwrap_or_default());
    }

    let m = migrate::migrate(&src_sock, &dest.addr, &["--insecure"]);
    assert!(m.ok, "the retry failed: {}", m.output);
    let src_console = source.finish(Duration::from_secs(60));
    assert!(
        src_console.contains("tern: the VM moved to"),
        "{src_console}"
    );
    let console = dest.vm.finish(FINISH);
    assert_eq!(results(&console), reference);
}

/// `tern migrate --api-sock SOCK --status --json`.
fn status_json(sock: &std::path::Path) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tern"))
        .args(["migrate", "--status", "--json", "--api-sock"])
        .arg(sock)
        .output()
        .expect("tern migrate --status");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn a_destination_killed_before_the_switch_over_leaves_the_source_running() {
    let _ = images();
    let disk = disk_copy("faults-killed");
    let src_sock = tmp("killed-src.sock");
    let source = Vm::boot_migratable("/tests/counter.sh", &[ROUNDS], Some(&raw(&disk)), &src_sock);
    wait_for_counter(&source, 300, Duration::from_secs(300));
    let dest = Destination::start(Build::Destination, &["--insecure"], &tmp("killed-dst.sock"));
    // At 4 MiB/s the first round takes seconds: the destination dies during it.
    let to = format!("tcp:{}", dest.addr);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tern"))
        .args(["migrate", "--insecure", "--max-bandwidth", "4", "--detach"])
        .arg("--api-sock")
        .arg(&src_sock)
        .arg(&to)
        .output()
        .expect("tern migrate");
    assert!(out.status.success(), "{out:?}");
    let limit = std::time::Instant::now() + Duration::from_secs(60);
    while !status_json(&src_sock).contains("\"phase\": \"precopy\"") {
        assert!(
            std::time::Instant::now() < limit,
            "{}",
            status_json(&src_sock)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(500));
    dest.vm.kill();
    let limit = std::time::Instant::now() + Duration::from_secs(60);
    let failed = loop {
        let s = status_json(&src_sock);
        if s.contains("\"phase\": \"failed\"") {
            break s;
        }
        assert!(std::time::Instant::now() < limit, "{s}");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(failed.contains("\"downtime_ms\": null"), "{failed}");
    let counted = last_counter(&source.output()).unwrap_or(0);
    wait_for_counter(&source, counted + 100, Duration::from_secs(300));
    assert!(source.ctl(&["status"]).contains("running"));
    // A new destination: the retry moves the VM, which finishes there.
    let dest = Destination::start(
        Build::Destination,
        &["--insecure"],
        &tmp("killed-dst2.sock"),
    );
    let m = migrate::migrate(&src_sock, &dest.addr, &["--insecure"]);
    assert!(m.ok, "the retry failed: {}", m.output);
    let src_console = source.finish(Duration::from_secs(60));
    assert!(
        src_console.contains("tern: the VM moved to"),
        "{src_console}"
    );
    let console = dest.vm.finish(FINISH);
    assert!(console.contains("counter: ok"), "{console}");
    assert!(console.contains("tern: run exit status 0"), "{console}");
}

/// The `ready` message's type byte, the first byte of its frame header (see
/// `tern_migrate::wire`: type, 3 reserved bytes, u32 payload length, u64 sequence, then
/// the payload and a u32 checksum).
const READY: u8 = 8;

/// A proxy for one connection to `target` that passes the source's bytes as they come
/// and the destination's frame by frame; when the destination's `ready` comes, it calls
/// `on_ready` (which kills the destination) before passing the frame on. Returns the
/// address to migrate to.
fn ready_proxy(target: &str, on_ready: impl FnOnce() + Send + 'static) -> String {
    proxy_with(target, false, move |mut from_source, mut to_dest| {
        let mut on_ready = Some(on_ready);
        let mut header = [0u8; 16];
        while to_dest.read_exact(&mut header).is_ok() {
            let len = u32::from_le_bytes(header[4..8].try_into().expect("4 bytes")) as usize;
            let mut rest = vec![0u8; len + 4];
            if to_dest.read_exact(&mut rest).is_err() {
                break;
            }
            if header[0] == READY {
                if let Some(kill) = on_ready.take() {
                    kill();
                }
            }
            if from_source.write_all(&header).is_err() || from_source.write_all(&rest).is_err() {
                break;
            }
        }
        let _ = from_source.shutdown(Shutdown::Both);
        let _ = to_dest.shutdown(Shutdown::Both);
    })
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn a_destination_killed_between_ready_and_go_leaves_the_vm_paused_on_the_source() {
    let _ = images();
    let reference = migrate::uninterrupted("faults-ready", ROUNDS);
    let disk = disk_copy("faults-ready");
    let src_sock = tmp("ready-src.sock");
    let source = Vm::boot_migratable("/tests/counter.sh", &[ROUNDS], Some(&raw(&disk)), &src_sock);
    wait_for_counter(&source, 300, Duration::from_secs(300));
    let dest = Destination::start(Build::Destination, &["--insecure"], &tmp("ready-dst.sock"));
    let dest_pid = dest.vm.pid() as i32;
    let killed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = killed.clone();
    let via = ready_proxy(&dest.addr, move || {
        // SAFETY: kill(2) on the destination's pid, a child of this process that has
        // not been waited for (so the pid is still its own).
        unsafe { libc::kill(dest_pid, libc::SIGKILL) };
        flag.store(true, std::sync::atomic::Ordering::SeqCst);
    });
    let m = migrate::migrate(&src_sock, &via, &["--insecure"]);
    assert!(
        killed.load(std::sync::atomic::Ordering::SeqCst),
        "the destination never said `ready`: {}",
        m.output
    );
    assert!(
        !m.ok,
        "the move claimed success to a dead destination: {}",
        m.output
    );
    let dest_console = dest.vm.kill();
    assert!(
        !dest_console.contains("counter: "),
        "the guest ran on the destination:\n{dest_console}"
    );
    // The source cannot tell a destination that died before `go` from one that got it
    // and runs the guest: it keeps the VM paused (README, "During post-copy"), the
    // operator resumes it, and nothing is lost.
    let status = source.ctl(&["status"]);
    assert!(status.contains("paused"), "{status}\n{}", m.output);
    let counted = last_counter(&source.output()).unwrap_or(0);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        last_counter(&source.output()).unwrap_or(0),
        counted,
        "the paused source ran on"
    );
    source.ctl(&["resume"]);
    let console = source.finish(FINISH);
    assert!(console.contains("tern: run exit status 0"), "{console}");
    assert_eq!(results(&console), reference);
}
