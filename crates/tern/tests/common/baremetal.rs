//! Building and running bare-metal guests of `guests/baremetal/` (the `spike` board) from
//! integration tests: compile with the cross compiler, run on tern and on QEMU with a
//! timeout, collect exit status and console output.
//!
//! Include it from a test file with
//! `#[path = "common/baremetal.rs"] mod baremetal;`.
//!
//! Missing host tools are failures that name the Debian package to install, never
//! silent skips: a test that does not run must not look like a test that passed.

#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// The cross compiler for bare-metal guests, and the Debian package that provides it.
pub const GCC: (&str, &str) = ("riscv64-unknown-elf-gcc", "gcc-riscv64-unknown-elf");
/// The reference emulator, and the Debian package that provides it.
pub const QEMU: (&str, &str) = ("qemu-system-riscv64", "qemu-system-misc");

/// `guests/baremetal` in the source tree.
pub fn guests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../guests/baremetal")
}

/// Panics with an install hint when `tool` (a `(program, apt package)` pair) is not on
/// PATH.
pub fn require_tool(tool: (&str, &str)) {
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

/// The compiler flags every bare-metal guest is built with (guests/baremetal/README.md).
fn base_flags() -> Vec<String> {
    let common = guests_dir().join("common");
    vec![
        "-march=rv64gc".into(),
        "-mabi=lp64d".into(),
        "-mcmodel=medany".into(),
        "-O2".into(),
        "-nostdlib".into(),
        "-nostartfiles".into(),
        "-ffreestanding".into(),
        format!("-I{}", common.display()),
        "-T".into(),
        common.join("link.ld").display().to_string(),
    ]
}

/// Builds an assembly program that brings its own `_start` (linked with
/// `common/htif.S` only) into `out`. `include_dirs` are added to the preprocessor path.
pub fn build_asm(src: &Path, include_dirs: &[PathBuf], out: &Path) -> Result<(), String> {
    let common = guests_dir().join("common");
    let sources = [common.join("htif.S"), src.to_path_buf()];
    compile(&sources, include_dirs, out)
}

/// Builds a C program on the common runtime (`crt0.S`, `crt.c`, `htif.S`) into `out`.
pub fn build_c(sources: &[PathBuf], include_dirs: &[PathBuf], out: &Path) -> Result<(), String> {
    let common = guests_dir().join("common");
    let mut all = vec![
        common.join("crt0.S"),
        common.join("crt.c"),
        common.join("htif.S"),
    ];
    all.extend_from_slice(sources);
    compile(&all, include_dirs, out)
}

fn compile(sources: &[PathBuf], include_dirs: &[PathBuf], out: &Path) -> Result<(), String> {
    require_tool(GCC);
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    }
    let mut cmd = Command::new(GCC.0);
    cmd.args(base_flags());
    for dir in include_dirs {
        cmd.arg(format!("-I{}", dir.display()));
    }
    cmd.args(sources).arg("-o").arg(out);
    let output = cmd
        .output()
        .map_err(|e| format!("running {}: {e}", GCC.0))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "building {} failed ({}):\n{}",
            out.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// What a guest run produced.
#[derive(Debug)]
pub struct RunOutput {
    /// Exit code of the emulator (`None` when killed by a signal or by the timeout).
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub timed_out: bool,
}

impl RunOutput {
    /// A one-line-per-stream summary for assertion messages.
    pub fn describe(&self) -> String {
        let status = match (self.timed_out, self.code) {
            (true, _) => "timed out".to_string(),
            (false, Some(c)) => format!("exit status {c}"),
            (false, None) => "killed by a signal".to_string(),
        };
        format!(
            "{status}\n--- stdout ---\n{}--- stderr ---\n{}",
            self.stdout, self.stderr
        )
    }
}

/// Runs `cmd` with stdin closed, collecting stdout/stderr; kills it after `timeout`.
pub fn run_with_timeout(mut cmd: Command, timeout: Duration) -> Result<RunOutput, String> {
    let program = format!("{:?}", cmd.get_program());
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("starting {program}: {e}"))?;
    let mut out_pipe = child.stdout.take().expect("stdout is piped");
    let mut err_pipe = child.stderr.take().expect("stderr is piped");
    let out_reader = thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = out_pipe.read_to_end(&mut buf);
        buf
    });
    let err_reader = thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = err_pipe.read_to_end(&mut buf);
        buf
    });
    let start = Instant::now();
    let mut timed_out = false;
    let status: Option<ExitStatus> = loop {
        match child
            .try_wait()
            .map_err(|e| format!("waiting for {program}: {e}"))?
        {
            Some(status) => break Some(status),
            None if start.elapsed() >= timeout => {
                timed_out = true;
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            None => thread::sleep(Duration::from_millis(10)),
        }
    };
    let stdout = String::from_utf8_lossy(&out_reader.join().unwrap_or_default()).into_owned();
    let stderr = String::from_utf8_lossy(&err_reader.join().unwrap_or_default()).into_owned();
    Ok(RunOutput {
        code: status.and_then(|s| s.code()),
        stdout,
        stderr,
        timed_out,
    })
}

/// Runs `elf` on `qemu-system-riscv64 -machine spike` (no firmware, HTIF console),
/// with `extra` options appended.
pub fn run_qemu_spike(
    elf: &Path,
    extra: &[String],
    timeout: Duration,
) -> Result<RunOutput, String> {
    require_tool(QEMU);
    let mut cmd = Command::new(QEMU.0);
    cmd.args([
        "-machine",
        "spike",
        "-bios",
        "none",
        "-nographic",
        "-monitor",
        "none",
    ])
    .arg("-kernel")
    .arg(elf)
    .args(extra);
    run_with_timeout(cmd, timeout)
}

/// Runs `elf` on tern's `spike` board (`tern run --machine spike --kernel ELF`).
pub fn run_tern_spike(elf: &Path, timeout: Duration) -> Result<RunOutput, String> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tern"));
    cmd.args(["run", "--machine", "spike", "--kernel"]).arg(elf);
    run_with_timeout(cmd, timeout)
}
