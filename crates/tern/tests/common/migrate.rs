//! Live migration between tern processes for the migration tests: a destination
//! (`tern receive`) whose binary is a parameter, `tern migrate` driven through the
//! source's control socket, and reading the counter workload's progress.
//!
//! `TERN_MIGRATE_DEST` names the destination's command (words split on whitespace,
//! e.g. `qemu-aarch64 -L /usr/aarch64-linux-gnu target/aarch64-.../tern`); by default
//! it is the tern under test. Round trips alternate between it and the tern under
//! test, so the same tests cover a heterogeneous pair once such builds run.

#![allow(dead_code)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::snapshot_vm::Vm;

const TERN: &str = env!("CARGO_BIN_EXE_tern");

/// Which tern a destination runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Build {
    /// The tern under test.
    Native,
    /// `TERN_MIGRATE_DEST` (the tern under test when unset).
    Destination,
}

impl Build {
    /// The command that starts this build of tern.
    pub fn command(self) -> Command {
        match (self, std::env::var("TERN_MIGRATE_DEST")) {
            (Build::Destination, Ok(dest)) if !dest.trim().is_empty() => {
                let mut words = dest.split_whitespace();
                let mut c = Command::new(words.next().expect("a command"));
                c.args(words);
                c
            }
            _ => Command::new(TERN),
        }
    }
}

/// A destination waiting for a VM (`tern receive --listen 127.0.0.1:0 ...`), and the
/// address it listens on.
pub struct Destination {
    /// The process; its console becomes the guest's once the VM arrives.
    pub vm: Vm,
    /// `127.0.0.1:PORT`.
    pub addr: String,
}

impl Destination {
    /// Starts `tern receive` of `build` with `extra` options (`--insecure` or TLS files)
    /// and waits until it listens.
    pub fn start(build: Build, extra: &[&str], sock: &Path) -> Destination {
        Destination::spawn(
            build,
            &["receive", "--listen", "tcp:127.0.0.1:0"],
            extra,
            sock,
        )
    }

    /// The same with `tern run --incoming` (QEMU's way) instead of `tern receive`.
    pub fn start_run(build: Build, extra: &[&str], sock: &Path) -> Destination {
        Destination::spawn(
            build,
            &["run", "--incoming", "tcp:127.0.0.1:0"],
            extra,
            sock,
        )
    }

    fn spawn(build: Build, how: &[&str], extra: &[&str], sock: &Path) -> Destination {
        let mut c = build.command();
        c.args(how).args(extra);
        let vm = Vm::spawn_command(c, sock);
        let prefix = "tern: waiting for a VM on ";
        vm.wait_for(prefix, Duration::from_secs(60));
        let out = vm.output();
        let addr = out
            .lines()
            .find_map(|l| l.strip_prefix(prefix))
            .expect("the address line")
            .trim()
            .to_string();
        Destination { vm, addr }
    }
}

/// What `tern migrate` said and whether it succeeded.
pub struct Outcome {
    /// Exit status 0.
    pub ok: bool,
    /// stdout and stderr.
    pub output: String,
}

/// `tern migrate --api-sock SOCK tcp:ADDR EXTRA...`, followed to its end.
pub fn migrate(sock: &Path, addr: &str, extra: &[&str]) -> Outcome {
    let out = Command::new(TERN)
        .arg("migrate")
        .arg("--api-sock")
        .arg(sock)
        .arg(format!("tcp:{addr}"))
        .args(extra)
        .output()
        .expect("run tern migrate");
    let mut output = String::from_utf8_lossy(&out.stdout).into_owned();
    output.push_str(&String::from_utf8_lossy(&out.stderr));
    Outcome {
        ok: out.status.success(),
        output,
    }
}

/// The highest `counter: N` progress line in `console`.
pub fn last_counter(console: &str) -> Option<u64> {
    console
        .lines()
        .filter_map(|l| l.trim_end_matches('\r').strip_prefix("counter: "))
        .filter_map(|n| n.parse::<u64>().ok())
        .max()
}

/// Waits until `vm` printed a counter line of at least `min`.
pub fn wait_for_counter(vm: &Vm, min: u64, limit: Duration) -> u64 {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Some(n) = last_counter(&vm.output()).filter(|&n| n >= min) {
            return n;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!(
        "the guest did not count to {min} within {limit:?}; console:\n{}",
        vm.output()
    );
}
