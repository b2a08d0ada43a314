//! A node manager (`tern node serve`) for the node tests: started on a scratch state
//! directory with its own cgroup group (so tests run in parallel), killed and
//! restarted at will, and cleaned up on drop: the daemon, every process left in its
//! cgroups (VMs are detached and outlive the daemon on purpose), and the cgroups.
//!
//! Include it with `#[path = "common/node.rs"] mod node;`. The tests need root and
//! cgroups (v2, or the v1 hierarchies of a hybrid host): without them they fail with
//! the daemon's message, never skip.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use tern_node::cgroup::Cgroups;
use tern_node::NodeClient;

/// A running (or killed) node manager and its scratch directory.
pub struct NodeDaemon {
    /// Scratch directory: `state/`, `node.sock`, `daemon.log`.
    pub dir: tempfile::TempDir,
    /// The API socket.
    pub sock: PathBuf,
    /// The state directory.
    pub state: PathBuf,
    /// The daemon's cgroup group name.
    pub group: String,
    extra: Vec<String>,
    /// The network namespace it runs in (a name of `ip netns`), if not the test's.
    netns: Option<String>,
    child: Option<Child>,
}

static NEXT: AtomicU32 = AtomicU32::new(0);

impl NodeDaemon {
    /// Starts a node offering 2 CPUs, `memory` and 64 GiB of disk (room for a dozen
    /// slices of the default 5 GiB quota; only admission counts it) (whatever the host
    /// has, so admission figures are the test's), plus `extra` flags.
    pub fn start(memory: &str, extra: &[&str]) -> NodeDaemon {
        NodeDaemon::start_in(None, memory, extra)
    }

    /// [`NodeDaemon::start`] in network namespace `netns` (`ip netns add`; entered with
    /// util-linux's nsenter); its API
    /// socket stays reachable from the test (a file).
    pub fn start_in(netns: Option<&str>, memory: &str, extra: &[&str]) -> NodeDaemon {
        let dir = tempfile::Builder::new()
            .prefix("tn")
            .tempdir_in("/tmp")
            .expect("scratch directory");
        let group = format!(
            "tern-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let mut extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        extra.extend(["--cpus", "2", "--memory", memory, "--disk", "64G"].map(String::from));
        let mut d = NodeDaemon {
            sock: dir.path().join("node.sock"),
            state: dir.path().join("state"),
            dir,
            group,
            extra,
            netns: netns.map(str::to_string),
            child: None,
        };
        d.spawn();
        d
    }

    /// Starts the daemon process and waits until its API answers.
    pub fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("daemon.log"))
            .expect("daemon log");
        let mut cmd = match &self.netns {
            // nsenter enters only the network namespace (`ip netns exec` would also
            // remount /sys, hiding the cgroup mounts) and execs tern: the child is
            // tern.
            Some(ns) => {
                let mut c = Command::new("nsenter");
                c.arg(format!("--net=/run/netns/{ns}"))
                    .arg(env!("CARGO_BIN_EXE_tern"));
                c
            }
            None => Command::new(env!("CARGO_BIN_EXE_tern")),
        };
        let child = cmd
            .args(["node", "serve", "--state-dir"])
            .arg(&self.state)
            .arg("--api-sock")
            .arg(&self.sock)
            .args(["--cgroup-name", &self.group])
            .args(&self.extra)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start tern node serve");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if self.client().info().is_ok() {
                return;
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!(
                    "tern node serve ended ({status}) before answering:\n{}",
                    self.log()
                );
            }
            assert!(
                Instant::now() < deadline,
                "tern node serve did not answer within 20 s:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILLs the daemon (its VMs live on) and waits for it.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// The daemon's pid, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// A client of the API.
    pub fn client(&self) -> NodeClient {
        NodeClient::new(&self.sock).with_timeout(Duration::from_secs(30))
    }

    /// What the daemon wrote.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("daemon.log")).unwrap_or_default()
    }

    /// The node's cgroups, as the daemon found them.
    pub fn cgroups(&self) -> Cgroups {
        Cgroups::detect(&self.group).expect("cgroups")
    }
}

impl Drop for NodeDaemon {
    fn drop(&mut self) {
        self.kill9();
        let Ok(cg) = Cgroups::detect(&self.group) else {
            return;
        };
        for g in cg.group_dirs() {
            let Ok(entries) = std::fs::read_dir(&g) else {
                continue;
            };
            for e in entries.flatten() {
                if e.path().is_dir() {
                    if let Some(name) = e.file_name().to_str() {
                        let _ = cg.remove(name);
                    }
                }
            }
        }
        cg.remove_group();
    }
}

/// Polls `f` every 50 ms until it returns `Some`, for at most `limit`.
pub fn wait_for<T>(limit: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Whether a process with this pid exists and is not a zombie.
pub fn pid_alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| tern_node::procs::parse_stat(&s))
        .is_some_and(|s| s.state != 'Z')
}

/// Whether all of `dirs` are gone.
pub fn all_gone(dirs: &[String]) -> bool {
    dirs.iter().all(|d| !Path::new(d).exists())
}

/// An 8 MiB ext4 image in `dir` holding `script` as `/NAME` (for the guest's
/// `tern.run=vda:NAME`), made without mounting (`mkfs.ext4 -d`).
pub fn script_disk(dir: &Path, name: &str, script: &str) -> PathBuf {
    let root = dir.join("disk-root");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join(name), script).unwrap();
    let disk = dir.join(format!("{name}.ext4"));
    let out = Command::new("mkfs.ext4")
        .args(["-q", "-F", "-d"])
        .arg(&root)
        .arg(&disk)
        .arg("8M")
        .output()
        .expect("mkfs.ext4 (apt-get install e2fsprogs)");
    assert!(
        out.status.success(),
        "mkfs.ext4: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    disk
}
