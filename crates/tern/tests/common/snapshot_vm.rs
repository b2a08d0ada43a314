//! A Linux guest under `tern run --api-sock` for the system VM snapshot tests: its
//! console collected as it comes, controlled through the CLI, snapshotted, restored.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::virt;

const TERN: &str = env!("CARGO_BIN_EXE_tern");

/// A tern process whose console output is collected as it comes.
pub struct Vm {
    child: Child,
    out: Arc<Mutex<String>>,
    sock: PathBuf,
}

impl Vm {
    /// Starts `tern ARGS --api-sock SOCK`.
    pub fn spawn(args: &[String], sock: &Path) -> Vm {
        let mut tern = Command::new(TERN);
        tern.args(args);
        Vm::spawn_command(tern, sock)
    }

    /// Starts `COMMAND --api-sock SOCK` (a tern, possibly another build of it).
    pub fn spawn_command(mut command: Command, sock: &Path) -> Vm {
        let _ = std::fs::remove_file(sock);
        let mut child = command
            .arg("--api-sock")
            .arg(sock)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start tern");
        let out = Arc::new(Mutex::new(String::new()));
        for mut pipe in [
            Box::new(child.stdout.take().expect("stdout")) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().expect("stderr")),
        ] {
            let out = out.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = pipe.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    out.lock()
                        .unwrap()
                        .push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            });
        }
        Vm {
            child,
            out,
            sock: sock.to_path_buf(),
        }
    }

    /// Boots the guest running `run` (with `args`), with `drive` (a `--drive` value)
    /// if given.
    pub fn boot(run: &str, args: &[&str], drive: Option<&str>, sock: &Path) -> Vm {
        Vm::boot_with(run, args, drive, &[], sock)
    }

    /// As [`Vm::boot`], started `--migratable` (its sandbox keeps the host's network
    /// to reach a migration's destination).
    #[allow(dead_code)]
    pub fn boot_migratable(run: &str, args: &[&str], drive: Option<&str>, sock: &Path) -> Vm {
        Vm::boot_with(run, args, drive, &["--migratable"], sock)
    }

    /// [`Vm::boot`] with more tern options.
    pub fn boot_with(
        run: &str,
        args: &[&str],
        drive: Option<&str>,
        options: &[&str],
        sock: &Path,
    ) -> Vm {
        let mut argv: Vec<String> = virt::Boot::linux(1, Some(run), args).args().to_vec();
        if let Some(drive) = drive {
            argv.push("--drive".into());
            argv.push(drive.into());
        }
        argv.extend(options.iter().map(|o| o.to_string()));
        Vm::spawn(&argv, sock)
    }

    /// `tern restore FILE` with a control socket.
    pub fn restore(file: &Path, sock: &Path) -> Vm {
        Vm::spawn(&["restore".into(), file.display().to_string()], sock)
    }

    /// The console output so far.
    pub fn output(&self) -> String {
        self.out.lock().unwrap().clone()
    }

    /// Waits until the console shows `needle` (a whole line or part of one).
    pub fn wait_for(&self, needle: &str, limit: Duration) {
        let start = Instant::now();
        while start.elapsed() < limit {
            if self.output().contains(needle) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "the guest did not print {needle:?} within {limit:?}; console:\n{}",
            self.output()
        );
    }

    /// Runs `tern ARGS --api-sock SOCK`, which must succeed; returns its stdout.
    pub fn ctl(&self, args: &[&str]) -> String {
        let out = Command::new(TERN)
            .args(args)
            .arg("--api-sock")
            .arg(&self.sock)
            .output()
            .expect("run tern");
        assert!(
            out.status.success(),
            "tern {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Pauses, writes a snapshot to `file` (extra options appended), and kills the VM.
    pub fn snapshot_and_kill(mut self, file: &Path, extra: &[&str]) -> String {
        self.ctl(&["pause"]);
        let mut args = vec!["snapshot", "--out", file.to_str().expect("utf-8 path")];
        args.extend_from_slice(extra);
        let answer = self.ctl(&args);
        assert!(answer.contains("written to"), "{answer}");
        eprintln!("{}: {}", file.display(), answer.trim_end());
        let _ = self.child.kill();
        let _ = self.child.wait();
        answer
    }

    /// The process id (to kill it from another thread while it is still owned here).
    #[allow(dead_code)] // the migration fault tests'
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the process (SIGKILL) and waits for it; returns its console output.
    #[allow(dead_code)] // the migration tests' (the snapshot tests kill after a snapshot)
    pub fn kill(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::thread::sleep(Duration::from_millis(100));
        self.output()
    }

    /// Waits for the process to end; returns its console output.
    pub fn finish(mut self, limit: Duration) -> String {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Ok(Some(_)) = self.child.try_wait() {
                std::thread::sleep(Duration::from_millis(100));
                return self.output();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        panic!(
            "the VM did not finish within {limit:?}; console:\n{}",
            self.output()
        );
    }
}

/// The `--drive` value of raw image `disk`, written in place.
pub fn raw(disk: &Path) -> String {
    format!("file={},format=raw", disk.display())
}

/// The result lines of counter.sh.
pub fn results(console: &str) -> Vec<String> {
    let lines: Vec<String> = console
        .lines()
        .map(|l| l.trim_end_matches('\r').to_string())
        .filter(|l| {
            l.starts_with("counter: sum")
                || l.starts_with("counter: lines")
                || l.starts_with("counter: sha256")
        })
        .collect();
    assert_eq!(lines.len(), 3, "missing counter results in:\n{console}");
    assert!(
        console.contains("counter: ok"),
        "counter did not finish:\n{console}"
    );
    lines
}
