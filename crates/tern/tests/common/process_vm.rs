//! Running `tern exec`/`tern restore`/`tern receive` of a process VM in tests: its
//! stdout and stderr collected as they come, its control socket, control commands.

#![allow(dead_code)]

use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::{PREFIX, TERN, TIMEOUT};

/// A control socket path short enough for `sun_path`, removed when dropped (a killed
/// VM leaves its socket file behind).
pub struct Sock(PathBuf);

impl std::ops::Deref for Sock {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<std::ffi::OsStr> for Sock {
    fn as_ref(&self) -> &std::ffi::OsStr {
        self.0.as_os_str()
    }
}

impl Drop for Sock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A control socket for test `test` (`n`-th of it), under the prefix of the test
/// binary's [`PREFIX`].
pub fn socket(test: &str, n: u32) -> Sock {
    let p = std::env::temp_dir().join(format!(
        "tern-{PREFIX}-{}-{test}-{n}.sock",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&p);
    Sock(p)
}

/// A running `tern` whose stdout is collected as it comes.
pub struct Running {
    /// The host process.
    pub child: Child,
    out: Arc<Mutex<Vec<u8>>>,
    err: Arc<Mutex<Vec<u8>>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

pub fn collect(
    mut r: impl Read + Send + 'static,
    into: Arc<Mutex<Vec<u8>>>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        loop {
            match r.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => into.lock().unwrap().extend_from_slice(&buf[..n]),
            }
        }
    })
}

impl Running {
    pub fn start(mut cmd: Command) -> Running {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
        let out = Arc::new(Mutex::new(Vec::new()));
        let err = Arc::new(Mutex::new(Vec::new()));
        let readers = vec![
            collect(child.stdout.take().expect("stdout"), out.clone()),
            collect(child.stderr.take().expect("stderr"), err.clone()),
        ];
        Running {
            child,
            out,
            err,
            readers,
        }
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.lock().unwrap()).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.err.lock().unwrap()).into_owned()
    }

    /// Waits until stdout contains `text`.
    pub fn wait_for(&mut self, text: &str) {
        let start = Instant::now();
        while !self.stdout().contains(text) {
            if let Ok(Some(s)) = self.child.try_wait() {
                panic!(
                    "tern ended ({s}) before printing {text:?}; stdout {:?}, stderr {}",
                    self.stdout(),
                    self.stderr()
                );
            }
            assert!(
                start.elapsed() < TIMEOUT,
                "no {text:?} within {TIMEOUT:?}; stderr {}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for the end; returns (status as a shell shows it, stdout, stderr).
    pub fn finish(mut self) -> (i32, String, String) {
        let start = Instant::now();
        let status = loop {
            if let Some(s) = self.child.try_wait().expect("wait") {
                break s;
            }
            if start.elapsed() > TIMEOUT {
                let _ = self.child.kill();
                panic!(
                    "tern did not finish within {TIMEOUT:?}; stdout {:?}, stderr {}",
                    self.stdout(),
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
        let code = status
            .code()
            .unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
        (code, self.stdout(), self.stderr())
    }

    /// Kills the host process (SIGKILL) and returns what it printed.
    pub fn kill(mut self) -> String {
        self.child.kill().expect("kill");
        let (code, out, _) = self.finish();
        assert_eq!(code, 128 + 9, "killed by SIGKILL");
        out
    }
}

/// Runs a control command (`tern status|pause|resume|snapshot|stop`); returns its
/// stdout, asserting success.
pub fn control(args: &[&str], sock: &Path) -> String {
    let o = Command::new(TERN)
        .args(args)
        .arg("--api-sock")
        .arg(sock)
        .output()
        .expect("run a tern control command");
    assert!(
        o.status.success(),
        "tern {args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Like [`control`], for a command expected to fail; returns its stderr.
pub fn control_fails(args: &[&str], sock: &Path) -> String {
    let o = Command::new(TERN)
        .args(args)
        .arg("--api-sock")
        .arg(sock)
        .output()
        .expect("run a tern control command");
    assert!(!o.status.success(), "tern {args:?} succeeded");
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The address a `tern receive` listens on, once its stderr (as `stderr` reads it)
/// says so.
pub fn receive_address(stderr: &dyn Fn() -> String) -> String {
    let prefix = "tern: waiting for a VM on ";
    let start = Instant::now();
    loop {
        // Whole lines only: the line may come in more than one write.
        let text = stderr();
        let whole = text.split_inclusive('\n').filter(|l| l.ends_with('\n'));
        if let Some(a) = whole.into_iter().find_map(|l| l.strip_prefix(prefix)) {
            return a.trim().to_string();
        }
        assert!(
            start.elapsed() < TIMEOUT,
            "the destination does not listen: {}",
            stderr()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Starts `tern receive --listen tcp:127.0.0.1:0 --insecure EXTRA...`; returns it
/// with the address it listens on.
pub fn receiver(extra: &[&std::ffi::OsStr]) -> (Running, String) {
    let mut c = Command::new(TERN);
    c.args(["receive", "--listen", "tcp:127.0.0.1:0", "--insecure"])
        .args(extra);
    let r = Running::start(c);
    let addr = receive_address(&|| r.stderr());
    (r, addr)
}
