//! tern confines its own process (crates/tern-sandbox): the seccomp allowlist is in
//! force in `tern run`, `tern exec` and `tern restore` (tern makes a forbidden host
//! call itself, `TERN_SANDBOX_SELFTEST`, and is stopped by `SIGSYS` with a message
//! naming the call); no_new_privs, capabilities, limits and namespaces are checked
//! from the host side in `/proc/PID` of a running tern; `--no-sandbox` turns it
//! all off; under `--root` the tern process itself sees nothing of the host but
//! what it needs.

#[path = "common/linux_user.rs"]
mod linux_user;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;

use linux_user::{build, out_dir, run, Link, Outcome};

const TERN: &str = env!("CARGO_BIN_EXE_tern");
/// 128 + SIGSYS: how a shell reports a process ended by a seccomp trap.
const KILLED_BY_SIGSYS: i32 = 128 + 31;
const TIMEOUT: Duration = Duration::from_secs(120);

/// A scratch directory for one test.
fn scratch(test: &str) -> PathBuf {
    let d = out_dir().join("sandbox").join(test);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("create the scratch directory");
    d
}

/// `tern exec` of the sandbox test program (static).
fn exec(args: &[&str]) -> Command {
    let prog = build("sandbox", Link::Static);
    let mut c = Command::new(TERN);
    c.arg("exec").arg(prog).args(args);
    c
}

/// A raw binary that loops forever at the kernel's entry (`j .`): a system VM that
/// runs until it is stopped or reaches `--max-insns`.
fn loop_kernel(dir: &Path) -> PathBuf {
    let p = dir.join("loop.bin");
    std::fs::write(&p, 0x0000_006fu32.to_le_bytes()).expect("write loop.bin");
    p
}

fn assert_stopped_by(o: &Outcome, call: &str, table: &str) {
    assert_eq!(
        o.status, KILLED_BY_SIGSYS,
        "tern was not stopped by the seccomp trap for {call}: {o:?}"
    );
    let line = format!("host system call {call} (");
    assert!(
        o.stderr.contains(&line) && o.stderr.contains(&format!("`{table}` allowlist")),
        "no message naming {call} and the {table} allowlist: {o:?}"
    );
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn a_forbidden_call_stops_tern_exec() {
    let mut c = exec(&["spin", "10"]);
    c.env("TERN_SANDBOX_SELFTEST", "bpf");
    let o = run(c, TIMEOUT);
    assert_stopped_by(&o, "bpf", "exec");
    assert!(!o.stdout.contains("ready"), "the program ran: {o:?}");
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn a_forbidden_call_stops_tern_run() {
    let dir = scratch("run-forbidden");
    let mut c = Command::new(TERN);
    c.args(["run", "--max-insns", "100000", "--kernel"])
        .arg(loop_kernel(&dir))
        .env("TERN_SANDBOX_SELFTEST", "mount");
    let o = run(c, TIMEOUT);
    assert_stopped_by(&o, "mount", "run");
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn a_netlink_socket_is_refused_not_fatal() {
    let mut c = exec(&["spin", "10"]);
    c.env("TERN_SANDBOX_SELFTEST", "netlink");
    let o = run(c, TIMEOUT);
    assert_eq!(o.status, 0, "{o:?}");
    assert!(
        o.stderr
            .contains("netlink returned -1 (Address family not supported"),
        "{o:?}"
    );
    assert_eq!(o.stdout, "ready\ndone\n");
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn no_sandbox_turns_it_off() {
    let mut c = Command::new(TERN);
    c.args(["exec", "--no-sandbox"])
        .arg(build("sandbox", Link::Static))
        .args(["spin", "10"])
        .env("TERN_SANDBOX_SELFTEST", "bpf");
    let o = run(c, TIMEOUT);
    assert_eq!(o.status, 0, "{o:?}");
    assert!(o.stderr.contains("bpf returned -1"), "{o:?}");
    assert_eq!(o.stdout, "ready\ndone\n");
    let mut c = Command::new(TERN);
    c.args(["exec", "--no-sandbox"])
        .arg(build("sandbox", Link::Static))
        .arg("wait");
    let vm = Alive::start(c);
    // As the test itself runs (normally 0, unless the test runs confined already).
    let own = |field: &str| {
        std::fs::read_to_string("/proc/self/status")
            .unwrap()
            .lines()
            .find_map(|l| {
                l.strip_prefix(&format!("{field}:"))
                    .map(|v| v.trim().to_string())
            })
            .unwrap()
    };
    assert_eq!(vm.status("Seccomp"), own("Seccomp"));
    assert_eq!(vm.status("NoNewPrivs"), own("NoNewPrivs"));
    assert_eq!(vm.status("CapEff"), own("CapEff"));
    vm.finish();
}

/// A tern process kept alive until its standard input closes.
struct Alive {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<std::process::ChildStdout>,
}

impl Alive {
    /// Starts `cmd` (a `sandbox wait` program) and waits for its "ready".
    fn start(mut cmd: Command) -> Alive {
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("start tern");
        let stdin = child.stdin.take();
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        stdout
            .read_line(&mut line)
            .expect("read the program's output");
        if line != "ready\n" {
            let _ = child.kill();
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            panic!("{cmd:?} did not get ready: {line:?}, stderr {err}");
        }
        Alive {
            child,
            stdin,
            stdout,
        }
    }

    fn proc(&self, file: &str) -> PathBuf {
        PathBuf::from(format!("/proc/{}/{file}", self.child.id()))
    }

    fn read(&self, file: &str) -> String {
        std::fs::read_to_string(self.proc(file))
            .unwrap_or_else(|e| panic!("{}: {e}", self.proc(file).display()))
    }

    /// The value of `field:` in /proc/PID/status.
    fn status(&self, field: &str) -> String {
        let s = self.read("status");
        s.lines()
            .find_map(|l| l.strip_prefix(&format!("{field}:")))
            .map(|v| v.trim().to_string())
            .unwrap_or_else(|| panic!("no {field} in {s}"))
    }

    /// Closes standard input and checks the program ended well.
    fn finish(mut self) {
        drop(self.stdin.take());
        let mut rest = String::new();
        let _ = self.stdout.read_to_string(&mut rest);
        let st = self.child.wait().expect("wait");
        assert!(st.success(), "tern ended with {st:?}, output {rest:?}");
        assert_eq!(rest, "bye\n");
    }
}

impl Drop for Alive {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn own_ns(kind: &str) -> PathBuf {
    std::fs::read_link(format!("/proc/self/ns/{kind}")).expect("read own namespace")
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn a_running_tern_exec_is_confined() {
    let vm = Alive::start(exec(&["wait"]));
    assert_eq!(vm.status("NoNewPrivs"), "1");
    assert_eq!(vm.status("Seccomp"), "2");
    for set in ["CapEff", "CapPrm", "CapInh", "CapAmb"] {
        assert_eq!(vm.status(set), "0000000000000000", "{set}");
    }
    let limits = vm.read("limits");
    let line = |name: &str| {
        limits
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no {name} in {limits}"))
            .split_whitespace()
            .skip(name.split_whitespace().count())
            .take(2)
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(line("Max core file size"), ["0", "0"]);
    let nproc = line("Max processes");
    assert_eq!(nproc[0], nproc[1], "hard limit, soft the same");
    assert!(
        nproc[1].parse::<u64>().is_ok_and(|n| n <= 8192),
        "{nproc:?}"
    );
    let as_hard: u64 = line("Max address space")[1].parse().expect("a number");
    // Room for the 8 GiB guest RAM reservation, and bounded.
    assert!(
        (8 << 30..=32 << 30).contains(&as_hard),
        "address space {as_hard}"
    );
    let files: u64 = line("Max open files")[1].parse().expect("a number");
    assert!(files <= 1 << 20, "open files {files}");
    // No network namespace: the process VM uses the host's network.
    assert_eq!(
        std::fs::read_link(vm.proc("ns/net")).unwrap(),
        own_ns("net")
    );
    vm.finish();
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn a_running_tern_run_without_network_has_its_own_network_namespace() {
    let dir = scratch("run-ns");
    let mut c = Command::new(TERN);
    c.arg("run")
        .arg("--kernel")
        .arg(loop_kernel(&dir))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = c.spawn().expect("start tern run");
    let pid = child.id();
    let status = |field: &str| -> Option<String> {
        let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        s.lines()
            .find_map(|l| l.strip_prefix(&format!("{field}:")))
            .map(|v| v.trim().to_string())
    };
    // The sandbox is in place once the filter is (it comes last).
    let start = std::time::Instant::now();
    while status("Seccomp").as_deref() != Some("2") {
        if start.elapsed() > TIMEOUT || child.try_wait().ok().flatten().is_some() {
            let _ = child.kill();
            let mut err = String::new();
            let _ = child.stderr.take().unwrap().read_to_string(&mut err);
            panic!("tern run never got its filter: {err}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let net = std::fs::read_link(format!("/proc/{pid}/ns/net"));
    let caps = status("CapEff");
    let nnp = status("NoNewPrivs");
    let _ = child.kill();
    let _ = child.wait();
    assert_ne!(net.expect("ns/net"), own_ns("net"));
    assert_eq!(caps.as_deref(), Some("0000000000000000"));
    assert_eq!(nnp.as_deref(), Some("1"));
}

/// A root directory inside a directory that holds a file the VM must not see.
fn make_root(test: &str) -> (PathBuf, PathBuf) {
    let base = scratch(test);
    let root = base.join("root");
    std::fs::create_dir_all(&root).expect("create root");
    std::fs::write(base.join("outside"), "host\n").expect("write outside");
    std::fs::write(root.join("inside"), "guest\n").expect("write inside");
    std::fs::copy(build("sandbox", Link::Static), root.join("sandbox")).expect("copy program");
    (base, root)
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn under_root_the_tern_process_sees_only_what_it_needs() {
    let (base, root) = make_root("root-view");
    let mut c = Command::new(TERN);
    c.arg("exec")
        .arg("--root")
        .arg(&root)
        .args(["/sandbox", "wait"]);
    let vm = Alive::start(c);
    assert_ne!(
        std::fs::read_link(vm.proc("ns/mnt")).unwrap(),
        own_ns("mnt")
    );
    let seen = |p: &Path| vm.proc("root").join(p.strip_prefix("/").unwrap());
    assert!(seen(&root.join("inside")).is_file(), "the root is kept");
    assert!(
        !seen(&base.join("outside")).exists(),
        "a file beside the root is visible to the tern process"
    );
    // The new root itself and the kernel's settings are read-only.
    let info = vm.read("mountinfo");
    let options = |at: &str| {
        info.lines()
            .rfind(|l| l.split_whitespace().nth(4) == Some(at))
            .unwrap_or_else(|| panic!("no mount at {at} in {info}"))
            .split_whitespace()
            .nth(5)
            .unwrap()
            .to_string()
    };
    for at in ["/", "/proc/sys", "/usr/lib"] {
        assert!(
            options(at).split(',').any(|o| o == "ro"),
            "{at} is writable: {info}"
        );
    }
    assert!(options(&root.display().to_string())
        .split(',')
        .any(|o| o == "rw"));
    // Only tern's own needs at the top: no /home, /root, /var, /etc/passwd.
    for p in ["home", "root", "var", "etc/passwd", "usr/bin", "boot"] {
        assert!(
            !seen(Path::new("/").join(p).as_path()).exists(),
            "/{p} is visible to the tern process"
        );
    }
    vm.finish();
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn a_guest_execve_under_root_starts_tern_again_inside_the_sandbox() {
    let (_base, root) = make_root("root-execve");
    let mut c = Command::new(TERN);
    c.arg("exec")
        .arg("--root")
        .arg(&root)
        .args(["/sandbox", "exec", "/sandbox"]);
    let vm = Alive::start(c);
    // Same process (execve keeps the pid), the sandbox inherited.
    assert_eq!(vm.status("Seccomp"), "2");
    assert_eq!(vm.status("NoNewPrivs"), "1");
    assert_ne!(
        std::fs::read_link(vm.proc("ns/mnt")).unwrap(),
        own_ns("mnt")
    );
    vm.finish();
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn a_forbidden_call_stops_tern_restore() {
    let dir = scratch("restore");
    let sock = std::env::temp_dir().join(format!("tern-sb-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&sock);
    let snap = dir.join("vm.tern");
    let prog = build("sandbox", Link::Static);
    let mut c2 = Command::new(TERN);
    c2.args(["exec", "--memory", "64", "--api-sock"])
        .arg(&sock)
        .arg(&prog)
        .args(["spin", "400000000"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c2.spawn().expect("start tern exec");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line, "ready\n");
    let o = Command::new(TERN)
        .arg("snapshot")
        .arg("--api-sock")
        .arg(&sock)
        .arg("--out")
        .arg(&snap)
        .output()
        .expect("tern snapshot");
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_file(&sock);
    assert!(o.status.success(), "snapshot: {o:?}");
    let mut r = Command::new(TERN);
    r.arg("restore")
        .arg(&snap)
        .env("TERN_SANDBOX_SELFTEST", "keyctl");
    let o = run(r, TIMEOUT);
    assert_stopped_by(&o, "keyctl", "exec");
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn an_unprivileged_user_gets_a_user_namespace() {
    let setpriv = "/usr/bin/setpriv";
    assert!(
        Path::new(setpriv).is_file(),
        "{setpriv} not found: install the Debian package `util-linux`"
    );
    // SAFETY: getuid cannot fail.
    if unsafe { libc_getuid() } != 0 {
        // Already unprivileged: the other tests ran this way.
        return;
    }
    // Copies that user 65534 can reach (the build tree may not be).
    let dir = std::env::temp_dir().join(format!("tern-sandbox-nobody-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let root = dir.join("root");
    std::fs::create_dir_all(&root).expect("create root");
    let tern = dir.join("tern");
    std::fs::copy(TERN, &tern).expect("copy tern");
    std::fs::copy(build("sandbox", Link::Static), root.join("sandbox")).expect("copy program");
    use std::os::unix::fs::PermissionsExt;
    for p in [&dir, &root] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let mut c = Command::new(setpriv);
    c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(&tern)
        .arg("exec")
        .arg("--root")
        .arg(&root)
        .args(["/sandbox", "wait"])
        .current_dir(&dir);
    let vm = Alive::start(c);
    assert_ne!(
        std::fs::read_link(vm.proc("ns/user")).unwrap(),
        own_ns("user")
    );
    assert_ne!(
        std::fs::read_link(vm.proc("ns/mnt")).unwrap(),
        own_ns("mnt")
    );
    let map: Vec<String> = vm
        .read("uid_map")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    assert_eq!(
        map,
        ["65534", "65534", "1"],
        "only the user's own uid is mapped"
    );
    assert_eq!(vm.status("Seccomp"), "2");
    assert_eq!(vm.status("CapEff"), "0000000000000000");
    vm.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

extern "C" {
    #[link_name = "getuid"]
    fn libc_getuid() -> u32;
}
