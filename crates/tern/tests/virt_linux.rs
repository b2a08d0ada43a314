//! The `virt` board boots real guests: Linux 6.1 with tern's own SBI and with
//! Debian's OpenSBI, on 1 and 4 harts, using the disk, the user-mode network and a
//! two-VM switch; U-Boot under OpenSBI; an interactive shell through a pseudo-terminal.
//! The guest images come from `cargo xtask guest` (Debian's linux-source-6.1 and
//! busybox), built into the cache on first use.

#[path = "common/virt.rs"]
mod virt;

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use virt::{disk_copy, require_file, serve_http, sha256_file, Boot, Run, OPENSBI_JUMP, UBOOT};
use xtask::disk;

/// The SHA-256 of `data` by `sha256sum` reading its standard input. (It was a file
/// named after the process id, which the tests running in parallel in this process
/// overwrote and removed under each other: a flaky hash of nothing.)
fn sha256_hex(data: &[u8]) -> String {
    let mut child = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("sha256sum (Debian package coreutils)");
    let mut stdin = child.stdin.take().unwrap();
    let data = data.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&data));
    let out = child.wait_with_output().expect("sha256sum");
    writer.join().unwrap().expect("write to sha256sum");
    let hex = String::from_utf8_lossy(&out.stdout);
    let hex = hex.split_whitespace().next().unwrap_or("");
    assert_eq!(hex.len(), 64, "sha256sum printed {hex:?}");
    hex.to_string()
}

/// Runs `tests/disk.sh` and checks what the guest read from and wrote to the disk.
fn disk_test(name: &str, harts: u32, opensbi: bool) -> Run {
    disk_test_with(name, harts, opensbi, &[])
}

/// [`disk_test`] with more `tern run` arguments.
fn disk_test_with(name: &str, harts: u32, opensbi: bool, extra: &[&str]) -> Run {
    let copy = disk_copy(name);
    let drive = format!("file={},format=raw", copy.display());
    let mut boot = Boot::linux(harts, Some("/tests/disk.sh"), &[])
        .with(&["--drive", &drive])
        .with(extra);
    if opensbi {
        boot = boot.opensbi();
    }
    let run = boot.run();
    run.expect(&format!("disk: hello {}", disk::HELLO));
    run.expect(&format!(
        "disk: sha256 {} {}",
        disk::PATTERN_PATH,
        sha256_hex(&disk::pattern())
    ));
    run.expect(&format!("disk: small files {}", disk::SMALL_FILES));
    run.expect("disk: write-read ok");
    run.expect("disk: ok");
    run.expect("tern: run exit status 0");
    assert_eq!(
        run.status,
        Some(0),
        "tern should exit 0 when the guest powers off:\n{}",
        run.output
    );
    let fsck = Command::new("e2fsck")
        .args(["-f", "-n"])
        .arg(&copy)
        .output()
        .expect("e2fsck (apt-get install e2fsprogs)");
    assert!(
        fsck.status.success(),
        "e2fsck found problems after the guest wrote:\n{}",
        String::from_utf8_lossy(&fsck.stdout)
    );
    run
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn builtin_sbi_one_hart_disk() {
    disk_test("sbi-1", 1, false);
}

/// The translator boots Linux and runs the disk test (reads, writes, sha256 of a
/// file) with the same results.
#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn builtin_sbi_one_hart_disk_jit() {
    let run = disk_test_with("sbi-1-jit", 1, false, &["--engine", "jit", "--stats"]);
    assert!(
        run.output.contains("tern: jit: "),
        "no translator figures in --stats:\n{}",
        run.output
    );
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn builtin_sbi_four_harts_disk_and_smp() {
    let run = disk_test("sbi-4", 4, false);
    assert!(
        run.output.contains("smp: Brought up 1 node, 4 CPUs"),
        "{}",
        run.output
    );
    let smp = Boot::linux(4, Some("/tests/smp.sh"), &[]).run();
    smp.expect("smp: nproc 4");
    smp.expect("smp: hotplug cpu1 ok");
    smp.expect("smp: ok");
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn opensbi_one_hart_disk() {
    let run = disk_test("opensbi-1", 1, true);
    assert!(
        run.output.contains("OpenSBI v"),
        "OpenSBI did not run:\n{}",
        run.output
    );
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn opensbi_four_harts_disk_and_smp() {
    let run = disk_test("opensbi-4", 4, true);
    assert!(
        run.output.contains("Platform HART Count       : 4"),
        "{}",
        run.output
    );
    let smp = Boot::linux(4, Some("/tests/smp.sh"), &[]).opensbi().run();
    smp.expect("smp: nproc 4");
    smp.expect("smp: ok");
}

fn net_test(harts: u32, opensbi: bool) {
    let payload: Vec<u8> = (0..300_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let want = sha256_hex(&payload);
    let port = serve_http(payload.clone());
    // The test's HTTP server listens on the host's loopback: allowed explicitly.
    let mut boot = Boot::linux(harts, Some("/tests/net.sh"), &[&port.to_string()])
        .with(&["--netdev", "user,host-loopback=on"]);
    if opensbi {
        boot = boot.opensbi();
    }
    let run = boot.run();
    run.expect("net: ip 10.0.2.15");
    run.expect(&format!(
        "net: fetched {} bytes sha256 {want}",
        payload.len()
    ));
    run.expect("net: ok");
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn builtin_sbi_user_network() {
    net_test(1, false);
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn opensbi_four_harts_user_network() {
    net_test(4, true);
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn two_vms_ping_each_other_over_the_socket_switch() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let listen = format!("socket,listen=127.0.0.1:{port}");
    let connect = format!("socket,connect=127.0.0.1:{port},mac=52:54:00:12:34:99");
    let a = Boot::linux(1, Some("/tests/pair.sh"), &["192.168.77.1", "192.168.77.2"])
        .with(&["--netdev", &listen]);
    let a = std::thread::spawn(move || a.run());
    // Give the listener time to bind before the second VM connects.
    std::thread::sleep(Duration::from_millis(500));
    let b = Boot::linux(1, Some("/tests/pair.sh"), &["192.168.77.2", "192.168.77.1"])
        .with(&["--netdev", &connect]);
    let b = b.run();
    let a = a.join().expect("first VM");
    a.expect("pair: ping 192.168.77.2 ok");
    b.expect("pair: ping 192.168.77.1 ok");
    a.expect("pair: ok");
    b.expect("pair: ok");
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn uboot_prompt_answers_under_opensbi() {
    require_file(UBOOT, "u-boot-qemu");
    require_file(OPENSBI_JUMP, "opensbi");
    let mut child = Command::new(env!("CARGO_BIN_EXE_tern"))
        .args([
            "run",
            "--machine",
            "virt",
            "--bios",
            OPENSBI_JUMP,
            "--kernel",
            UBOOT,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start tern");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stdout = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        out
    });
    // Stop autoboot, ask for the version, then power off through the syscon device.
    std::thread::sleep(Duration::from_secs(4));
    let _ = stdin.write_all(b"\r");
    std::thread::sleep(Duration::from_secs(2));
    let _ = stdin.write_all(b"version\r");
    std::thread::sleep(Duration::from_secs(2));
    let _ = stdin.write_all(b"poweroff\r");
    let start = Instant::now();
    let status = loop {
        if let Ok(Some(s)) = child.try_wait() {
            break s.code();
        }
        if start.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let out = String::from_utf8_lossy(&reader.join().unwrap_or_default()).into_owned();
    assert!(out.contains("U-Boot 20"), "U-Boot did not start:\n{out}");
    assert!(out.contains("=> version"), "no U-Boot prompt:\n{out}");
    assert!(
        out.contains("riscv64-linux-gnu-gcc"),
        "`version` was not answered:\n{out}"
    );
    assert_eq!(
        status,
        Some(0),
        "poweroff should end tern with status 0:\n{out}"
    );
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn interactive_shell_through_a_pseudo_terminal() {
    use rustix::pty::{grantpt, openpt, ptsname, unlockpt, OpenptFlags};
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).expect("openpt");
    grantpt(&master).expect("grantpt");
    unlockpt(&master).expect("unlockpt");
    let name = ptsname(&master, Vec::new()).expect("ptsname");
    let slave_path = std::path::PathBuf::from(name.to_string_lossy().into_owned());
    let slave = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&slave_path)
        .expect("open pty slave");
    let boot = Boot::linux(1, None, &[]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_tern"))
        .args(boot.args())
        .stdin(slave.try_clone().expect("dup"))
        .stdout(slave.try_clone().expect("dup"))
        .stderr(slave)
        .spawn()
        .expect("start tern");
    let mut master = std::fs::File::from(master);
    let mut reader = master.try_clone().expect("dup master");
    let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut seen = String::new();
    let mut wait_for = |needle: &str, limit: Duration| -> bool {
        let start = Instant::now();
        while start.elapsed() < limit {
            if seen.contains(needle) {
                return true;
            }
            if let Ok(chunk) = rx.recv_timeout(Duration::from_millis(200)) {
                seen.push_str(&String::from_utf8_lossy(&chunk));
            }
        }
        seen.contains(needle)
    };
    assert!(
        wait_for("tern: init on Linux", Duration::from_secs(180)),
        "no boot"
    );
    std::thread::sleep(Duration::from_secs(1));
    master
        .write_all(b"echo pty-$((6*7))\r")
        .expect("type a command");
    let answered = wait_for("pty-42", Duration::from_secs(60));
    // Ctrl-A X leaves tern, as in QEMU.
    master.write_all(&[0x01, b'x']).expect("type Ctrl-A X");
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(30) {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let exited = child.try_wait().ok().flatten().is_some();
    if !exited {
        let _ = child.kill();
    }
    assert!(
        answered,
        "the shell did not answer through the pty; console:\n{seen}"
    );
    assert!(exited, "Ctrl-A X did not end tern");
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn qcow2_disk_and_throwaway_snapshot_overlay() {
    let raw = disk_copy("qcow2-src");
    let qcow = raw.with_extension("qcow2");
    let conv = Command::new("qemu-img")
        .args(["convert", "-f", "raw", "-O", "qcow2"])
        .arg(&raw)
        .arg(&qcow)
        .status()
        .expect("qemu-img (apt-get install qemu-utils)");
    assert!(conv.success());
    // snapshot=on: the guest writes, the image stays as it was.
    let before = sha256_file(&qcow);
    let drive = format!("file={},format=qcow2,snapshot=on", qcow.display());
    let run = Boot::linux(1, Some("/tests/disk.sh"), &[])
        .with(&["--drive", &drive])
        .run();
    run.expect("disk: write-read ok");
    run.expect("disk: ok");
    assert_eq!(
        sha256_file(&qcow),
        before,
        "snapshot=on must leave the image untouched"
    );
    // Without it, the writes land in the qcow2 file, which qemu-img still accepts.
    let drive = format!("file={},format=qcow2", qcow.display());
    let run = Boot::linux(1, Some("/tests/disk.sh"), &[])
        .with(&["--drive", &drive])
        .run();
    run.expect("disk: ok");
    assert_ne!(
        sha256_file(&qcow),
        before,
        "the guest's writes should reach the image"
    );
    let check = Command::new("qemu-img")
        .args(["check"])
        .arg(&qcow)
        .output()
        .expect("qemu-img check");
    assert!(
        check.status.success(),
        "qemu-img check failed:\n{}",
        String::from_utf8_lossy(&check.stdout)
    );
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn dumped_device_tree_is_clean_under_dtc() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    for harts in [1u32, 4, 8] {
        let dtb = dir.join(format!("virt-{harts}.dtb"));
        let status = Command::new(env!("CARGO_BIN_EXE_tern"))
            .args(Boot::linux(harts, None, &[]).args())
            .arg("--dump-dtb")
            .arg(&dtb)
            .status()
            .expect("run tern");
        assert!(status.success());
        let out = Command::new("dtc")
            .args(["-I", "dtb", "-O", "dts"])
            .arg(&dtb)
            .output()
            .expect("dtc (apt-get install device-tree-compiler)");
        assert!(out.status.success());
        let warnings = String::from_utf8_lossy(&out.stderr);
        assert!(
            warnings.trim().is_empty(),
            "dtc warns about the {harts}-hart tree:\n{warnings}"
        );
        let dts = String::from_utf8_lossy(&out.stdout);
        assert_eq!(dts.matches("device_type = \"cpu\"").count(), harts as usize);
        assert!(dts.contains("bootargs = \"console=ttyS0\""));
    }
}

/// The interactive guest is set up as QEMU users expect: with `--netdev user` its
/// `/init` configures eth0 by DHCP and with a disk it mounts `/dev/vda` on `/mnt`
/// before the shell starts, so `wget` from the shell reaches the host at 10.0.2.2.
#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn the_interactive_guest_has_dhcp_network_and_its_disk_mounted() {
    let payload: Vec<u8> = (0..20_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let port = serve_http(payload.clone());
    let disk = disk_copy("demo");
    let drive = format!("file={},snapshot=on", disk.display());
    // The test's HTTP server listens on the host's loopback: allowed explicitly.
    let boot =
        Boot::linux(1, None, &[]).with(&["--netdev", "user,host-loopback=on", "--drive", &drive]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_tern"))
        .args(boot.args())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start tern");
    let mut stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut seen = String::new();
    let mut wait_for = |needle: &str, limit: Duration| -> bool {
        let start = Instant::now();
        while start.elapsed() < limit {
            if seen.contains(needle) {
                return true;
            }
            if let Ok(chunk) = rx.recv_timeout(Duration::from_millis(200)) {
                seen.push_str(&String::from_utf8_lossy(&chunk));
            }
        }
        seen.contains(needle)
    };
    let booted = wait_for("tern: /dev/vda mounted on /mnt", Duration::from_secs(240));
    let mut stdin = child.stdin.take().expect("stdin");
    if booted {
        std::thread::sleep(Duration::from_millis(500));
        let cmd = format!(
            "wget -q -O - http://10.0.2.2:{port}/x | sha256sum; cat /mnt/hello.txt; echo demo-$((6*7))\n"
        );
        stdin.write_all(cmd.as_bytes()).expect("type the commands");
    }
    let answered = booted && wait_for("demo-42", Duration::from_secs(120));
    let _ = stdin.write_all(b"poweroff -f\n");
    drop(stdin);
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(30) {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    if child.try_wait().ok().flatten().is_none() {
        let _ = child.kill();
    }
    assert!(booted, "init did not set the guest up; console:\n{seen}");
    assert!(answered, "the shell did not answer; console:\n{seen}");
    assert!(seen.contains("tern: eth0 10.0.2.15/24 by DHCP"), "{seen}");
    assert!(
        seen.contains(&sha256_hex(&payload)),
        "wget did not fetch the file:\n{seen}"
    );
    assert!(seen.contains("hello from the tern disk"), "{seen}");
}
