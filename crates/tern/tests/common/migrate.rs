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

    /// `tern receive` started by `command` (a tern built for another host, run under
    /// qemu-user: see `scripts/cross-build`).
    pub fn start_command(command: Command, extra: &[&str], sock: &Path) -> Destination {
        Destination::spawn_command(
            command,
            &["receive", "--listen", "tcp:127.0.0.1:0"],
            extra,
            sock,
        )
    }

    /// A destination started by `command`, a whole `tern receive ...` or
    /// `tern run --incoming ...` command line (one run in another network namespace).
    pub fn from_command(command: Command, sock: &Path) -> Destination {
        Destination::spawn_command(command, &[], &[], sock)
    }

    fn spawn(build: Build, how: &[&str], extra: &[&str], sock: &Path) -> Destination {
        Destination::spawn_command(build.command(), how, extra, sock)
    }

    fn spawn_command(mut c: Command, how: &[&str], extra: &[&str], sock: &Path) -> Destination {
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

/// Moves the VM at `source` to `dest` (`tern migrate ... EXTRA`); returns the source's
/// console (it has exited), after checking the move was mid-run: the source said where
/// the VM went, the workload had not finished, and its counter did not go back.
pub fn hop(source: Vm, source_sock: &Path, dest: &Destination, extra: &[&str]) -> String {
    let before = last_counter(&source.output()).unwrap_or(0);
    let m = migrate(source_sock, &dest.addr, extra);
    assert!(m.ok, "tern migrate failed: {}", m.output);
    assert!(m.output.contains("completed to"), "{}", m.output);
    let console = source.finish(Duration::from_secs(60));
    assert!(
        console.contains("tern: the VM moved to"),
        "the source did not say where the VM went:\n{console}"
    );
    assert!(
        !console.contains("counter: ok"),
        "the workload finished before it moved (give it more rounds):\n{console}"
    );
    let after = last_counter(&console).unwrap_or(0);
    assert!(after >= before, "{console}");
    console
}

/// The results (see `snapshot_vm::results`) of an uninterrupted run of the counter
/// workload for `rounds` rounds on a fresh copy of the disk named after `name`: what a
/// moved run must end with.
pub fn uninterrupted(name: &str, rounds: &str) -> Vec<String> {
    let disk = crate::virt::disk_copy(&format!("{name}-reference"));
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("migrate-ref");
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let vm = Vm::boot(
        "/tests/counter.sh",
        &[rounds],
        Some(&crate::snapshot_vm::raw(&disk)),
        &dir.join(format!("{name}.sock")),
    );
    crate::snapshot_vm::results(&vm.finish(Duration::from_secs(900)))
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
