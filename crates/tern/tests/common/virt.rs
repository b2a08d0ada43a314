//! Booting the Linux guest images (built by `cargo xtask guest` into the cache) on
//! tern's `virt` board, with a timeout, and reading what the guest printed.

#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Debian's OpenSBI, the firmware for the `--bios` boot path.
pub const OPENSBI_JUMP: &str = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin";
/// Debian's OpenSBI with the dynamic-info protocol.
pub const OPENSBI_DYNAMIC: &str = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin";
/// Debian's U-Boot for S-mode on QEMU's virt board.
pub const UBOOT: &str = "/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin";

/// The guest images, built once per test process.
pub fn images() -> &'static xtask::GuestImages {
    static IMAGES: OnceLock<xtask::GuestImages> = OnceLock::new();
    IMAGES.get_or_init(|| match xtask::build_guest(false) {
        Ok(images) => images,
        Err(e) => panic!("cannot build the guest images (cargo xtask guest): {e}"),
    })
}

/// Fails with the package to install when a file from a Debian package is missing.
pub fn require_file(path: &str, package: &str) {
    assert!(
        Path::new(path).exists(),
        "{path} is missing: apt-get install {package}"
    );
}

/// What a guest printed, and how tern ended.
pub struct Run {
    /// Everything on stdout and stderr.
    pub output: String,
    /// tern's exit status (None if killed by the timeout).
    pub status: Option<i32>,
}

impl Run {
    /// Whether some line equals `line` (ignoring trailing `\r`).
    pub fn has_line(&self, line: &str) -> bool {
        self.output
            .lines()
            .any(|l| l.trim_end_matches('\r') == line)
    }

    /// The rest of the first line starting with `prefix`.
    pub fn value(&self, prefix: &str) -> Option<String> {
        self.output.lines().find_map(|l| {
            l.trim_end_matches('\r')
                .strip_prefix(prefix)
                .map(str::to_string)
        })
    }

    /// Panics with the console output unless `line` was printed.
    pub fn expect(&self, line: &str) {
        assert!(
            self.has_line(line),
            "the guest did not print {line:?}; console:\n{}",
            self.output
        );
    }
}

/// A `tern run --machine virt` command line with the guest kernel and initramfs.
pub struct Boot {
    args: Vec<String>,
    timeout: Duration,
}

impl Boot {
    /// Boots the guest's kernel and initramfs with `harts` harts, running `run` (a
    /// `tern.run=` script) if given.
    pub fn linux(harts: u32, run: Option<&str>, args: &[&str]) -> Boot {
        let im = images();
        let mut append = "console=ttyS0".to_string();
        if let Some(r) = run {
            append.push_str(&format!(" tern.run={r}"));
        }
        for a in args {
            append.push_str(&format!(" tern.arg={a}"));
        }
        let args = vec![
            "run".into(),
            "--machine".into(),
            "virt".into(),
            "--cpus".into(),
            harts.to_string(),
            "--kernel".into(),
            im.kernel().display().to_string(),
            "--initrd".into(),
            im.initramfs().display().to_string(),
            "--append".into(),
            append,
        ];
        Boot {
            args,
            timeout: Duration::from_secs(300),
        }
    }

    /// Adds tern options.
    pub fn with(mut self, extra: &[&str]) -> Boot {
        self.args.extend(extra.iter().map(|s| s.to_string()));
        self
    }

    /// Boots through OpenSBI instead of tern's own SBI.
    pub fn opensbi(self) -> Boot {
        require_file(OPENSBI_JUMP, "opensbi");
        self.with(&["--bios", OPENSBI_JUMP])
    }

    /// The full argument list.
    pub fn args(&self) -> &[String] {
        &self.args
    }

    /// Runs tern to the end (or the timeout) with stdin closed.
    pub fn run(&self) -> Run {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tern"))
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cannot start tern");
        let mut out = child.stdout.take().expect("stdout");
        let mut err = child.stderr.take().expect("stderr");
        let reader = std::thread::spawn(move || {
            let mut s = Vec::new();
            let _ = out.read_to_end(&mut s);
            s
        });
        let err_reader = std::thread::spawn(move || {
            let mut s = Vec::new();
            let _ = err.read_to_end(&mut s);
            s
        });
        let start = Instant::now();
        let status = loop {
            if let Ok(Some(st)) = child.try_wait() {
                break st.code();
            }
            if start.elapsed() > self.timeout {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let mut output = String::from_utf8_lossy(&reader.join().unwrap_or_default()).into_owned();
        output.push_str(&String::from_utf8_lossy(
            &err_reader.join().unwrap_or_default(),
        ));
        Run { output, status }
    }
}

/// A fresh copy of the guest disk image for one test (the guest writes to it).
pub fn disk_copy(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("virt-disks");
    std::fs::create_dir_all(&dir).expect("create disk dir");
    let path = dir.join(format!("{name}.ext4"));
    std::fs::copy(images().disk(), &path).expect("copy the disk image");
    path
}

/// The sha256 of a file, as `sha256sum` prints it.
pub fn sha256_file(path: &Path) -> String {
    let out = Command::new("sha256sum")
        .arg(path)
        .output()
        .expect("sha256sum");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_string()
}

/// Serves `payload` over HTTP on a free port of the host, to any number of clients;
/// returns the port.
pub fn serve_http(payload: Vec<u8>) -> u16 {
    use std::io::Write;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut req = [0u8; 2048];
            let _ = s.read(&mut req);
            let head = format!(
                "HTTP/1.0 200 OK\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\n\r\n",
                payload.len()
            );
            let _ = s.write_all(head.as_bytes());
            let _ = s.write_all(&payload);
        }
    });
    port
}
