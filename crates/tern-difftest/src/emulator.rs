//! Running an ELF on QEMU or on tern with a time limit, capturing the console.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::toolchain::QEMU;

/// An emulator that runs spike-board ELFs and prints the HTIF console on stdout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Emulator {
    /// `qemu-system-riscv64 -machine spike -bios none`.
    Qemu,
    /// `tern run --machine spike` with this binary.
    Tern(PathBuf),
}

impl Emulator {
    /// Short name for reports.
    pub fn name(&self) -> &'static str {
        match self {
            Emulator::Qemu => "qemu",
            Emulator::Tern(_) => "tern",
        }
    }

    fn command(&self, elf: &Path) -> Command {
        match self {
            Emulator::Qemu => {
                let mut c = Command::new(QEMU);
                c.args(["-machine", "spike", "-bios", "none", "-kernel"])
                    .arg(elf)
                    .args(["-nographic", "-monitor", "none"]);
                c
            }
            Emulator::Tern(bin) => {
                let mut c = Command::new(bin);
                c.args(["run", "--machine", "spike", "--kernel"]).arg(elf);
                c
            }
        }
    }

    /// Runs `elf`, killing the emulator after `timeout`.
    pub fn run(&self, elf: &Path, timeout: Duration) -> Result<RunOutput> {
        let mut child = self
            .command(elf)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {}", self.name()))?;
        let mut stdout = child.stdout.take().expect("piped stdout");
        let mut stderr = child.stderr.take().expect("piped stderr");
        let out_reader = std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = stdout.read_to_end(&mut v);
            v
        });
        let err_reader = std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = stderr.read_to_end(&mut v);
            v
        });
        let start = Instant::now();
        let mut timed_out = false;
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break status;
            }
            if start.elapsed() > timeout {
                timed_out = true;
                let _ = child.kill();
                break child.wait()?;
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        let stdout = out_reader.join().unwrap_or_default();
        let stderr = err_reader.join().unwrap_or_default();
        Ok(RunOutput {
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
            status: status.code(),
            timed_out,
            elapsed: start.elapsed(),
        })
    }
}

/// What one emulator run produced.
#[derive(Clone, Debug)]
pub struct RunOutput {
    /// The HTIF console.
    pub stdout: String,
    /// Diagnostics of the emulator itself.
    pub stderr: String,
    /// Exit status (None if killed by a signal).
    pub status: Option<i32>,
    /// Whether the run was killed at the time limit.
    pub timed_out: bool,
    /// Wall time.
    pub elapsed: Duration,
}

impl RunOutput {
    /// One line describing how the run ended.
    pub fn ending(&self) -> String {
        if self.timed_out {
            format!("timed out after {:.1} s", self.elapsed.as_secs_f64())
        } else {
            match self.status {
                Some(c) => format!("exit status {c}"),
                None => "killed by a signal".to_string(),
            }
        }
    }
}
