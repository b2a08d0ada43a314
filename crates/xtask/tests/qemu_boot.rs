//! Boots the guest images of `cargo xtask guest` on QEMU, the reference `virt` board,
//! and checks what the guest's test scripts (`guests/linux/tests/*.sh`) print against
//! what the host knows: the disk's content, a file served over HTTP, the hart count.
//! This proves the images before tern boots them.
//!
//! The images are built (or found up to date) once per test run, by the `xtask`
//! binary itself. Missing host tools are failures that name the Debian package, never
//! silent skips. Each boot reports on stderr how long the guest took to its first
//! userspace line and to power-off.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use xtask::{disk, GuestImages};

/// The reference emulator, and the Debian package that provides it.
const QEMU: (&str, &str) = ("qemu-system-riscv64", "qemu-system-misc");
/// The file system checker run on the disk after the guest wrote to it.
const E2FSCK: (&str, &str) = ("e2fsck", "e2fsprogs");
/// Checksums of what the host expects.
const SHA256SUM: (&str, &str) = ("sha256sum", "coreutils");

/// A whole boot, from QEMU's start to its exit. Generous: the machine is shared, and
/// QEMU emulates 4 harts on fewer host cores.
const BOOT_TIMEOUT: Duration = Duration::from_secs(180);

/// Panics with an install hint when `tool` (a `(program, Debian package)` pair) is not
/// on PATH.
fn require_tool(tool: (&str, &str)) {
    let (program, package) = tool;
    let found = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "`{program}` not found on PATH: install the Debian package `{package}` \
         (apt-get install {package})"
    );
}

/// The guest images, built once for all tests of this file by `xtask guest`.
fn images() -> &'static GuestImages {
    static IMAGES: OnceLock<Result<GuestImages, String>> = OnceLock::new();
    let built = IMAGES.get_or_init(|| {
        let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
            .arg("guest")
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .map_err(|e| format!("running xtask guest: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "`cargo xtask guest` failed ({}); its output above says why",
                out.status
            ));
        }
        let dir = String::from_utf8_lossy(&out.stdout).trim().to_string();
        Ok(GuestImages::in_dir(dir))
    });
    built.as_ref().unwrap_or_else(|e| panic!("{e}"))
}

/// Progress and timings straight to the stderr handle, not eprintln!: the test
/// harness captures the macros.
fn report(msg: &str) {
    let _ = writeln!(std::io::stderr(), "qemu_boot: {msg}");
}

/// SHA-256 of `data` as lowercase hex, by coreutils' sha256sum.
fn sha256_hex(data: &[u8]) -> String {
    require_tool(SHA256SUM);
    let mut child = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("starting sha256sum");
    let mut stdin = child.stdin.take().unwrap();
    let data = data.to_vec();
    let writer = thread::spawn(move || stdin.write_all(&data));
    let out = child.wait_with_output().expect("sha256sum");
    writer.join().unwrap().expect("feeding sha256sum");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// A copy of the pristine disk image for one boot (the guest writes to its disk).
fn disk_copy(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("qemu_boot");
    std::fs::create_dir_all(&dir).unwrap();
    let copy = dir.join(format!("{name}.ext4"));
    std::fs::copy(images().disk(), &copy).expect("copying disk.ext4");
    copy
}

/// One QEMU boot of the guest.
struct Boot {
    /// For messages and file names.
    name: String,
    smp: u32,
    /// `tern.run=` (a script of the initramfs); `None` boots to the interactive shell.
    run: Option<&'static str>,
    /// `tern.arg=` words.
    args: Vec<String>,
    /// The raw disk image to attach as virtio-blk (`/dev/vda`).
    disk: Option<PathBuf>,
    /// More QEMU options (devices).
    qemu_args: Vec<String>,
    /// Typed on the console once the guest's `/init` has started.
    input: Option<&'static str>,
}

/// What a boot printed, and when.
struct Console {
    /// Console lines with the time since QEMU started.
    lines: Vec<(Duration, String)>,
}

impl Console {
    fn text(&self) -> String {
        self.lines
            .iter()
            .map(|(_, l)| l.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn has(&self, line: &str) -> bool {
        self.lines.iter().any(|(_, l)| l == line)
    }

    /// The rest of the first line that starts with `prefix`.
    fn value(&self, prefix: &str) -> Option<&str> {
        self.lines.iter().find_map(|(_, l)| l.strip_prefix(prefix))
    }

    /// Asserts that the console has `line`, showing the whole output otherwise.
    fn expect(&self, line: &str) {
        assert!(
            self.has(line),
            "no line `{line}` in the console output:\n{}",
            self.text()
        );
    }
}

impl Boot {
    fn new(name: &str, smp: u32, run: Option<&'static str>) -> Boot {
        Boot {
            name: name.to_string(),
            smp,
            run,
            args: Vec::new(),
            disk: None,
            qemu_args: Vec::new(),
            input: None,
        }
    }

    /// Boots (see [`Boot::attempt`]). A QEMU that hangs gets one more try, and says
    /// so: once in a CI run a 4-hart QEMU 7.2 stayed silent for 180 s right after
    /// OpenSBI's banner while the same test passed in 14 s before and after. This is
    /// the reference emulator booting the guest images, not tern; a second hang fails.
    fn run(&self) -> Console {
        match self.attempt() {
            Ok(console) => console,
            Err(hung) => {
                eprintln!("{hung}\n{}: booting QEMU once more", self.name);
                self.attempt().unwrap_or_else(|again| panic!("{again}"))
            }
        }
    }

    /// Boots, waits for QEMU to exit (the guest powers off), and reports the timings;
    /// `Err` with the console if QEMU has not exited within [`BOOT_TIMEOUT`].
    fn attempt(&self) -> Result<Console, String> {
        require_tool(QEMU);
        let _slot = qemu_slot();
        let images = images();
        // panic=-1 and -no-reboot: a kernel panic ends the run at once instead of
        // waiting for the timeout.
        let mut append = String::from("console=ttyS0 panic=-1");
        if let Some(script) = self.run {
            append.push_str(&format!(" tern.run={script}"));
        }
        for arg in &self.args {
            append.push_str(&format!(" tern.arg={arg}"));
        }
        let mut cmd = Command::new(QEMU.0);
        cmd.args(["-machine", "virt", "-nographic", "-no-reboot", "-m", "256M"])
            .args(["-smp", &self.smp.to_string()])
            .arg("-kernel")
            .arg(images.kernel())
            .arg("-initrd")
            .arg(images.initramfs())
            .args(["-append", &append])
            .args([
                "-netdev",
                "user,id=n0",
                "-device",
                "virtio-net-device,netdev=n0",
            ]);
        if let Some(disk) = &self.disk {
            cmd.arg("-drive")
                .arg(format!("file={},if=none,format=raw,id=hd0", disk.display()))
                .args(["-device", "virtio-blk-device,drive=hd0"]);
        }
        cmd.args(&self.qemu_args);

        let start = Instant::now();
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", QEMU.0));
        let mut stdin = child.stdin.take();
        let stdout = child.stdout.take().unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // The serial console ends lines with \r\n.
                let line = line.trim_end_matches('\r').to_string();
                if tx.send((start.elapsed(), line)).is_err() {
                    break;
                }
            }
        });
        let err_reader = thread::spawn(move || {
            let mut s = String::new();
            let _ = stderr.read_to_string(&mut s);
            s
        });

        let mut lines = Vec::new();
        let deadline = start + BOOT_TIMEOUT;
        loop {
            let now = Instant::now();
            match rx.recv_timeout(deadline.saturating_duration_since(now)) {
                Ok((t, line)) => {
                    // The console is open once /init speaks: typed input is kept.
                    if line.starts_with("tern: init on") {
                        if let (Some(input), Some(mut pipe)) = (self.input, stdin.take()) {
                            pipe.write_all(input.as_bytes())
                                .expect("typing on the console");
                        }
                    }
                    lines.push((t, line));
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    let text: Vec<_> = lines
                        .iter()
                        .map(|(_, l): &(_, String)| l.as_str())
                        .collect();
                    return Err(format!(
                        "{}: QEMU did not power off within {BOOT_TIMEOUT:?}; console:\n{}",
                        self.name,
                        text.join("\n")
                    ));
                }
            }
        }
        drop(stdin);
        let status = child.wait().expect("waiting for QEMU");
        let total = start.elapsed();
        let qemu_err = err_reader.join().unwrap_or_default();
        let console = Console { lines };
        assert!(
            status.success(),
            "{}: QEMU exited with {status}; stderr: {qemu_err}\nconsole:\n{}",
            self.name,
            console.text()
        );
        let first_user = console
            .lines
            .iter()
            .find(|(_, l)| l.starts_with("tern: init on"))
            .map(|(t, _)| t.as_secs_f64());
        report(&format!(
            "{} (-smp {}): first userspace line at {}, powered off at {:.2} s",
            self.name,
            self.smp,
            first_user.map_or("never".to_string(), |t| format!("{t:.2} s")),
            total.as_secs_f64()
        ));
        Ok(console)
    }
}

/// Runs `tests/disk.sh` and checks the disk's known content, the write-back, and that
/// the guest left a clean file system.
fn disk_test(smp: u32) {
    require_tool(E2FSCK);
    let name = format!("disk-smp{smp}");
    let mut boot = Boot::new(&name, smp, Some("/tests/disk.sh"));
    let copy = disk_copy(&name);
    boot.disk = Some(copy.clone());
    let out = boot.run();
    out.expect(&format!("disk: hello {}", disk::HELLO));
    out.expect(&format!(
        "disk: sha256 {} {}",
        disk::PATTERN_PATH,
        sha256_hex(&disk::pattern())
    ));
    out.expect(&format!("disk: small files {}", disk::SMALL_FILES));
    out.expect("disk: write-read ok");
    out.expect("disk: ok");
    out.expect("tern: run exit status 0");

    let fsck = Command::new(E2FSCK.0)
        .args(["-f", "-n"])
        .arg(&copy)
        .output()
        .expect("running e2fsck");
    assert!(
        fsck.status.success(),
        "e2fsck -fn found problems after the guest wrote to the disk:\n{}{}",
        String::from_utf8_lossy(&fsck.stdout),
        String::from_utf8_lossy(&fsck.stderr)
    );
}

#[test]
#[ignore = "full tier (scripts/test): needs QEMU and the guest images"]
fn disk_smp1() {
    disk_test(1);
}

#[test]
#[ignore = "full tier (scripts/test): needs QEMU and the guest images"]
fn disk_smp4() {
    disk_test(4);
}

/// The file the host serves to `tests/net.sh`: 300000 bytes (not a multiple of any
/// page or segment size) from a fixed xorshift generator.
fn net_payload() -> Vec<u8> {
    let mut x: u64 = 0x7465_726e_6e65_7421;
    (0..300_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// A tiny HTTP server on the host's loopback (QEMU's user-mode NAT shows it to the
/// guest as 10.0.2.2) that answers `GET /net-test.bin` with `payload`. It serves at
/// most a few connections, then stops by itself. Returns the port and a receiver of
/// the request lines it saw.
fn serve_http(payload: Vec<u8>) -> (u16, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding the HTTP test server");
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for stream in listener.incoming().take(4) {
            let Ok(mut stream) = stream else { continue };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request = String::new();
            if reader.read_line(&mut request).is_err() {
                continue;
            }
            // Skip the headers up to the blank line.
            let mut header = String::new();
            while reader
                .read_line(&mut header)
                .map(|n| n > 2)
                .unwrap_or(false)
            {
                header.clear();
            }
            let request = request.trim_end().to_string();
            let response = if request.starts_with("GET /net-test.bin ") {
                let mut r = format!(
                    "HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n",
                    payload.len()
                )
                .into_bytes();
                r.extend_from_slice(&payload);
                r
            } else {
                b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec()
            };
            let _ = stream.write_all(&response);
            let _ = tx.send(request);
        }
    });
    (port, rx)
}

/// Runs `tests/net.sh`: DHCP on eth0, then a download from the host.
fn net_test(smp: u32) {
    let payload = net_payload();
    let want = format!(
        "net: fetched {} bytes sha256 {}",
        payload.len(),
        sha256_hex(&payload)
    );
    let (port, requests) = serve_http(payload);
    let mut boot = Boot::new(&format!("net-smp{smp}"), smp, Some("/tests/net.sh"));
    boot.args.push(port.to_string());
    let out = boot.run();
    out.expect("net: ip 10.0.2.15");
    out.expect(&want);
    out.expect("net: ok");
    out.expect("tern: run exit status 0");
    let seen: Vec<String> = requests.try_iter().collect();
    assert_eq!(
        seen,
        ["GET /net-test.bin HTTP/1.1"],
        "requests the host server saw"
    );
}

#[test]
#[ignore = "full tier (scripts/test): needs QEMU and the guest images"]
fn net_smp1() {
    net_test(1);
}

#[test]
#[ignore = "full tier (scripts/test): needs QEMU and the guest images"]
fn net_smp4() {
    net_test(4);
}

/// Runs `tests/smp.sh`: every hart runs a pinned worker; hart 1 goes offline and back.
fn smp_test(smp: u32) {
    let out = Boot::new(&format!("smp{smp}"), smp, Some("/tests/smp.sh")).run();
    out.expect(&format!("smp: nproc {smp}"));
    for i in 0..smp {
        out.expect(&format!("smp: worker {i} ran on cpu {i}"));
    }
    if smp > 1 {
        out.expect("smp: hotplug cpu1 ok");
    }
    out.expect("smp: ok");
    out.expect("tern: run exit status 0");
}

#[test]
#[ignore = "full tier (scripts/test): needs QEMU and the guest images"]
fn smp1() {
    smp_test(1);
}

#[test]
#[ignore = "full tier (scripts/test): needs QEMU and the guest images"]
fn smp4() {
    smp_test(4);
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Seconds since the epoch of "YYYY-MM-DD HH:MM:SS" (UTC).
fn parse_utc(s: &str) -> Option<i64> {
    let n: Vec<i64> = s
        .split(['-', ' ', ':'])
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let [y, mo, d, h, mi, se] = n.as_slice() else {
        return None;
    };
    Some(days_from_civil(*y, *mo, *d) * 86_400 + h * 3600 + mi * 60 + se)
}

/// Runs `tests/devices.sh` with a virtio-rng and a virtio console: the goldfish RTC
/// has the host's time, the rng gives bytes, the console carries a line to the host.
#[test]
#[ignore = "full tier (scripts/test): needs QEMU and the guest images"]
fn devices() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("qemu_boot");
    std::fs::create_dir_all(&dir).unwrap();
    let hvc_out = dir.join("hvc.out");
    let _ = std::fs::remove_file(&hvc_out);
    let mut boot = Boot::new("devices", 1, Some("/tests/devices.sh"));
    boot.qemu_args = [
        "-device",
        "virtio-rng-device",
        "-device",
        "virtio-serial-device",
        "-chardev",
        &format!("file,id=hvc,path={}", hvc_out.display()),
        "-device",
        "virtconsole,chardev=hvc",
    ]
    .map(String::from)
    .to_vec();
    let out = boot.run();
    out.expect("devices: hwrng virtio_rng.0 32 bytes");
    out.expect("devices: ok");
    out.expect("tern: run exit status 0");

    let rtc = out.value("devices: rtc ").and_then(parse_utc);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let rtc = rtc.unwrap_or_else(|| panic!("no RTC time on the console:\n{}", out.text()));
    assert!((rtc - now).abs() < 600, "guest RTC {rtc} vs host {now}");

    let hvc = std::fs::read_to_string(&hvc_out).unwrap_or_default();
    assert!(
        hvc.lines()
            .any(|l| l.trim_end().starts_with("tern: hello over hvc")),
        "the virtio console carried no hello line; it got {hvc:?}"
    );
}

/// `tern.run=vda:PATH` runs a script from the disk, with `tern.arg` words as its
/// arguments, and the status line carries the script's own exit status.
#[test]
#[ignore = "full tier (scripts/test): needs QEMU and the guest images"]
fn run_from_disk() {
    require_tool(E2FSCK);
    let copy = disk_copy("run-from-disk");
    let script = copy.with_extension("sh");
    std::fs::write(&script, "echo \"from-disk: $# $1 $2\"\nexit 3\n").unwrap();
    // debugfs (e2fsprogs) writes a host file into the image without mounting it.
    let put = Command::new("debugfs")
        .arg("-w")
        .arg("-R")
        .arg(format!("write {} run.sh", script.display()))
        .arg(&copy)
        .output()
        .expect("running debugfs");
    assert!(
        put.status.success(),
        "debugfs: {}",
        String::from_utf8_lossy(&put.stderr)
    );
    let mut boot = Boot::new("run-from-disk", 1, Some("vda:/run.sh"));
    boot.args = vec!["alpha".into(), "beta".into()];
    boot.disk = Some(copy);
    let out = boot.run();
    out.expect("tern: run /disk/run.sh alpha beta");
    out.expect("from-disk: 2 alpha beta");
    out.expect("tern: run exit status 3");
}

/// Without `tern.run`, /init starts a shell on the console; typed commands run, and
/// `exit` powers the machine off.
#[test]
#[ignore = "full tier (scripts/test): needs QEMU and the guest images"]
fn interactive_shell() {
    let mut boot = Boot::new("shell", 1, None);
    boot.input = Some("echo hello-$((6 * 7))\nexit\n");
    let out = boot.run();
    assert!(
        out.lines
            .iter()
            .any(|(_, l)| l.ends_with("hello-42") && !l.contains('$')),
        "the shell did not run the typed command:\n{}",
        out.text()
    );
}

#[test]
#[ignore = "full tier (scripts/test): needs QEMU and the guest images"]
fn days_from_civil_known_dates() {
    assert_eq!(days_from_civil(1970, 1, 1), 0);
    assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    assert_eq!(parse_utc("2024-02-29 12:00:00"), Some(1_709_208_000));
}

/// How many QEMUs of this file run at once. The tests run in parallel threads; ten
/// multi-hart QEMUs on a 2-core machine left one (4 harts, OpenSBI 1.1) making no
/// progress past the firmware banner for 180 s in a CI run, while the same test
/// alone boots in seconds.
const QEMU_SLOTS: usize = 2;

/// A place among the [`QEMU_SLOTS`] running QEMUs, given back when dropped.
struct QemuSlot;

static RUNNING: std::sync::Mutex<usize> = std::sync::Mutex::new(0);
static FREED: std::sync::Condvar = std::sync::Condvar::new();

/// Waits for a free place to run a QEMU.
fn qemu_slot() -> QemuSlot {
    let mut running = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
    while *running >= QEMU_SLOTS {
        running = FREED.wait(running).unwrap_or_else(|e| e.into_inner());
    }
    *running += 1;
    QemuSlot
}

impl Drop for QemuSlot {
    fn drop(&mut self) {
        *RUNNING.lock().unwrap_or_else(|e| e.into_inner()) -= 1;
        FREED.notify_one();
    }
}
