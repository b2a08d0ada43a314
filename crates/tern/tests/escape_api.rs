//! Escape suite, control API (issue 8, row 11), against a running Linux guest under
//! `tern run --api-sock`: the socket is never open to other users, not even for a
//! moment under umask 000; a client of another uid is refused even when the socket's
//! mode would let it in; `PUT /snapshot` never replaces a file that is not a snapshot
//! (nor follows a link to one); idle connections, however many, neither exhaust tern's
//! descriptors nor keep a snapshot out; a header or body sent too slowly is cut off.
//! Checked on the host side: file modes and contents, the VM still running, tern's
//! descriptor count. The tests run as root (to act as `nobody` with `setpriv`).

#[path = "common/tools_disk.rs"]
mod tools_disk;
#[path = "common/virt.rs"]
mod virt;

use std::io::{Read, Write};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tools_disk::scratch;

const TERN: &str = env!("CARGO_BIN_EXE_tern");
/// The unprivileged user the tests act as.
const NOBODY: &str = "65534";

/// A Linux guest sleeping under `tern run --api-sock`, killed when dropped.
struct ApiVm {
    child: Child,
    sock: PathBuf,
}

impl ApiVm {
    /// Starts the VM through `sh -c` with `umask` and `ulimit -n` set as given, and
    /// waits until its API answers.
    fn start(dir: &Path, umask: &str, nofile: u32) -> ApiVm {
        let sock = dir.join("vm.sock");
        let boot = virt::Boot::linux(1, Some("/tests/sleep.sh"), &["600"]);
        let child = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "umask {umask} && ulimit -n {nofile} && exec \"$0\" \"$@\""
            ))
            .arg(TERN)
            .args(boot.args())
            .arg("--api-sock")
            .arg(&sock)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start tern");
        let vm = ApiVm { child, sock };
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(60) {
            if vm.sock.exists() && vm.ctl(&["status"]).status.success() {
                return vm;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("the control API did not come up on {:?}", vm.sock);
    }

    /// `tern ARGS --api-sock SOCK` as root.
    fn ctl(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(TERN);
        cmd.args(args).arg("--api-sock").arg(&self.sock);
        output_within(cmd, CTL_TIMEOUT)
    }

    /// `tern ARGS --api-sock SOCK` as `nobody`.
    fn ctl_as_nobody(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid", NOBODY, "--regid", NOBODY, "--clear-groups", TERN])
            .args(args)
            .arg("--api-sock")
            .arg(&self.sock);
        output_within(cmd, CTL_TIMEOUT)
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The process is alive and its VM running.
    fn assert_running(&mut self, what: &str) {
        assert!(
            self.child.try_wait().unwrap().is_none(),
            "{what}: tern has exited"
        );
        let out = self.ctl(&["status", "--json"]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("\"state\":\"running\"") || text.contains("\"state\": \"running\""),
            "{what}: the VM is not running: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn snapshot(&self, out: &Path) -> Output {
        self.ctl(&["snapshot", "--out", out.to_str().expect("utf-8 path")])
    }
}

impl Drop for ApiVm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How long one `tern status|stop|snapshot` may take.
const CTL_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs `cmd` to its end, or kills it after `limit` (then its status is a failure and
/// its stderr says so).
fn output_within(mut cmd: Command, limit: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot run {cmd:?} (setpriv: apt-get install util-linux): {e}")
        });
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Ok(Some(_)) = child.try_wait() {
            return child.wait_with_output().expect("collect output");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let mut out = child.wait_with_output().expect("collect output");
    out.stderr
        .extend_from_slice(format!("\n(killed after {limit:?}: no answer)").as_bytes());
    out
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
}

/// A scratch directory anyone may enter (so that `nobody` reaches the socket and
/// only its mode and tern decide).
fn open_scratch(name: &str) -> PathBuf {
    let dir = scratch(name);
    let mut p = dir.as_path();
    while let Some(parent) = p.parent() {
        let mode = std::fs::metadata(p).unwrap().permissions().mode();
        assert!(mode & 0o001 != 0, "{p:?} is not searchable by others");
        p = parent;
    }
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

/// inotify events on a directory, as (mask, name).
struct Watch(i32);

impl Watch {
    fn new(dir: &Path) -> Watch {
        // SAFETY: plain system calls on a fresh descriptor and a NUL-terminated path.
        unsafe {
            let fd = libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC);
            assert!(fd >= 0, "inotify_init1");
            let c = std::ffi::CString::new(dir.to_str().unwrap()).unwrap();
            let mask = libc::IN_CREATE | libc::IN_ATTRIB | libc::IN_MOVED_TO;
            assert!(libc::inotify_add_watch(fd, c.as_ptr(), mask) >= 0);
            Watch(fd)
        }
    }

    fn events(&self) -> Vec<(u32, String)> {
        let mut out = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            // SAFETY: reads into a buffer of the given length.
            let n = unsafe { libc::read(self.0, buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                return out;
            }
            let mut at = 0usize;
            while at + 16 <= n as usize {
                let mask = u32::from_ne_bytes(buf[at + 4..at + 8].try_into().unwrap());
                let len = u32::from_ne_bytes(buf[at + 12..at + 16].try_into().unwrap()) as usize;
                let name = &buf[at + 16..at + 16 + len];
                let name = String::from_utf8_lossy(name)
                    .trim_end_matches('\0')
                    .to_string();
                out.push((mask, name));
                at += 16 + len;
            }
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        // SAFETY: our own descriptor.
        unsafe { libc::close(self.0) };
    }
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn the_socket_is_never_open_to_others_even_under_umask_000() {
    let dir = open_scratch("api-umask");
    let sock = dir.join("vm.sock");
    let watch = Watch::new(&dir);
    // Watches the path as fast as it can while the VM starts.
    let stop = Arc::new(AtomicBool::new(false));
    let poller = {
        let (stop, sock) = (stop.clone(), sock.clone());
        std::thread::spawn(move || {
            let mut seen = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                if let Ok(m) = std::fs::symlink_metadata(&sock) {
                    let mode = m.permissions().mode() & 0o777;
                    if mode & 0o077 != 0 && !seen.contains(&mode) {
                        seen.push(mode);
                    }
                }
            }
            seen
        })
    };
    let mut vm = ApiVm::start(&dir, "000", 20000);
    stop.store(true, Ordering::Relaxed);
    let seen = poller.join().unwrap();
    assert!(
        seen.is_empty(),
        "the socket was seen with modes {:?} (group/other access)",
        seen.iter().map(|m| format!("{m:o}")).collect::<Vec<_>>()
    );
    let m = std::fs::symlink_metadata(&sock).unwrap();
    assert!(m.file_type().is_socket());
    assert_eq!(m.permissions().mode() & 0o777, 0o600);
    // Its mode never changed at the path: it appeared there with the final one.
    let events = watch.events();
    assert!(
        events.iter().any(|(_, n)| n == "vm.sock"),
        "no event for vm.sock: {events:?}"
    );
    assert!(
        !events
            .iter()
            .any(|(mask, n)| n == "vm.sock" && mask & libc::IN_ATTRIB != 0),
        "the socket's mode was changed after it appeared at its path \
         (it was reachable with the umask's mode first): {events:?}"
    );
    // Nothing else of the server's is left in the directory.
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from("vm.sock")]);
    vm.assert_running("after start");
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn another_user_can_neither_connect_nor_stop_the_vm() {
    let dir = open_scratch("api-peer");
    let mut vm = ApiVm::start(&dir, "022", 20000);
    let refused = vm.ctl_as_nobody(&["stop"]);
    assert!(!refused.status.success(), "nobody stopped the VM");
    vm.assert_running("after nobody's stop through the owner-only socket");
    // Even where the socket's mode lets anyone connect, tern serves only its owner.
    std::fs::set_permissions(&vm.sock, std::fs::Permissions::from_mode(0o666)).unwrap();
    let refused = vm.ctl_as_nobody(&["stop"]);
    assert!(
        !refused.status.success(),
        "nobody stopped the VM through a world-writable socket: {}",
        text(&refused)
    );
    assert!(
        text(&refused).contains("may not control"),
        "the refusal should say why: {}",
        text(&refused)
    );
    let status = vm.ctl_as_nobody(&["status"]);
    assert!(!status.status.success(), "nobody read the status");
    vm.assert_running("after nobody's stop through a world-writable socket");
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn a_snapshot_never_replaces_what_is_not_a_snapshot() {
    let dir = open_scratch("api-snapshot-target");
    let vm = ApiVm::start(&dir, "022", 20000);
    let notes = dir.join("notes.txt");
    std::fs::write(&notes, b"the user's notes").unwrap();
    let link = dir.join("link.tern");
    std::os::unix::fs::symlink(&notes, &link).unwrap();
    std::fs::create_dir(dir.join("sub")).unwrap();
    for target in [notes.clone(), link.clone(), dir.join("sub/../notes.txt")] {
        let out = vm.snapshot(&target);
        assert!(
            !out.status.success(),
            "a snapshot replaced {target:?}: {}",
            text(&out)
        );
        assert!(
            text(&out).contains("not a tern snapshot") || text(&out).contains("symbolic link"),
            "{target:?}: the refusal should say why: {}",
            text(&out)
        );
        assert_eq!(std::fs::read(&notes).unwrap(), b"the user's notes");
    }
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    // A link where a predictable temporary file would go is never followed.
    let victim = dir.join("victim");
    std::fs::write(&victim, b"precious").unwrap();
    let fresh = dir.join("fresh.tern");
    std::os::unix::fs::symlink(&victim, dir.join("fresh.tern.partial")).unwrap();
    let out = vm.snapshot(&fresh);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    // A snapshot replaces a snapshot.
    let out = vm.snapshot(&fresh);
    assert!(out.status.success(), "{}", text(&out));
    let mode = std::fs::metadata(&fresh).unwrap().permissions().mode();
    assert_eq!(mode & 0o077, 0, "a snapshot holds guest memory: owner-only");
}

/// A child process holding idle connections to a socket until dropped (one process
/// cannot: the machine's descriptor limit is 20000, which tests may not raise).
struct Holder {
    pid: libc::pid_t,
    release: i32,
    held: u32,
}

impl Holder {
    /// Forks a child that makes `n` non-blocking connections to `sock` (a blocking
    /// connect waits forever on a full backlog) and keeps those that succeed.
    fn start(sock: &Path, n: u32) -> Holder {
        use std::os::unix::ffi::OsStrExt;
        // SAFETY: the address is filled within its bounds before the fork; the child
        // only makes async-signal-safe calls (socket, connect, close, read, write,
        // _exit) and allocates nothing.
        unsafe {
            let mut addr: libc::sockaddr_un = std::mem::zeroed();
            addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
            let bytes = sock.as_os_str().as_bytes();
            assert!(bytes.len() < addr.sun_path.len());
            for (d, s) in addr.sun_path.iter_mut().zip(bytes) {
                *d = *s as libc::c_char;
            }
            let len = std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t;
            let (mut release, mut report) = ([0i32; 2], [0i32; 2]);
            assert_eq!(libc::pipe2(release.as_mut_ptr(), libc::O_CLOEXEC), 0);
            assert_eq!(libc::pipe2(report.as_mut_ptr(), libc::O_CLOEXEC), 0);
            let pid = libc::fork();
            assert!(pid >= 0, "fork");
            if pid == 0 {
                libc::close(release[1]);
                libc::close(report[0]);
                let mut held: u32 = 0;
                // A full backlog (EAGAIN) gets the server up to 200 ms to accept.
                let pause = libc::timespec {
                    tv_sec: 0,
                    tv_nsec: 1_000_000,
                };
                let mut waits = 0;
                let mut made = 0;
                while made < n && waits < 200 {
                    let fd =
                        libc::socket(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_NONBLOCK, 0);
                    if fd < 0 {
                        break;
                    }
                    if libc::connect(fd, (&addr as *const libc::sockaddr_un).cast(), len) == 0 {
                        held += 1;
                        made += 1;
                        waits = 0;
                    } else {
                        let again = *libc::__errno_location() == libc::EAGAIN;
                        libc::close(fd);
                        if again {
                            waits += 1;
                            libc::nanosleep(&pause, std::ptr::null_mut());
                        } else {
                            made += 1;
                        }
                    }
                }
                libc::write(report[1], (&held as *const u32).cast(), 4);
                let mut b = 0u8;
                libc::read(release[0], (&mut b as *mut u8).cast(), 1);
                libc::_exit(0);
            }
            libc::close(release[0]);
            libc::close(report[1]);
            let mut held: u32 = 0;
            let got = libc::read(report[0], (&mut held as *mut u32).cast(), 4);
            libc::close(report[0]);
            assert_eq!(got, 4, "the holder process did not report");
            Holder {
                pid,
                release: release[1],
                held,
            }
        }
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        // SAFETY: our pipe end and our child. Killed rather than released through the
        // pipe: a holder forked later holds a copy of this one's pipe end.
        unsafe {
            libc::close(self.release);
            libc::kill(self.pid, libc::SIGKILL);
            libc::waitpid(self.pid, std::ptr::null_mut(), 0);
        }
    }
}

fn fd_count(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn twenty_thousand_idle_connections_do_not_stop_a_snapshot() {
    let dir = open_scratch("api-idle");
    // tern keeps the machine's usual limit: fewer descriptors than idle connections.
    let mut vm = ApiVm::start(&dir, "022", 20000);
    let baseline = fd_count(vm.pid());
    let holders: Vec<Holder> = (0..2).map(|_| Holder::start(&vm.sock, 10_000)).collect();
    let held: u32 = holders.iter().map(|h| h.held).sum();
    eprintln!(
        "idle connections: {held} of 20000 made; tern holds {} descriptors",
        fd_count(vm.pid())
    );
    let started = Instant::now();
    let out = vm.snapshot(&dir.join("during-flood.tern"));
    assert!(
        out.status.success(),
        "the snapshot failed with {held} idle connections open: {}",
        text(&out)
    );
    eprintln!("snapshot took {:?}", started.elapsed());
    let fds = fd_count(vm.pid());
    assert!(
        fds <= baseline + tern_vmm::api::DEFAULT_MAX_CONNECTIONS + 16,
        "tern holds {fds} descriptors (baseline {baseline}) with idle connections open"
    );
    vm.assert_running("after the flood");
    drop(holders);
}

/// Sends `head` on a fresh connection, keeps it open sending nothing more, and
/// returns what the server answered and after how long it closed (None: still open
/// after `limit`).
fn stall(sock: &Path, head: &[u8], limit: Duration) -> (String, Option<Duration>) {
    let mut s = UnixStream::connect(sock).unwrap();
    s.write_all(head).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let start = Instant::now();
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    while start.elapsed() < limit {
        match s.read(&mut buf) {
            Ok(0) => {
                return (
                    String::from_utf8_lossy(&answer).into_owned(),
                    Some(start.elapsed()),
                )
            }
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => {
                return (
                    String::from_utf8_lossy(&answer).into_owned(),
                    Some(start.elapsed()),
                )
            }
        }
    }
    (String::from_utf8_lossy(&answer).into_owned(), None)
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn slow_headers_and_bodies_are_cut_off() {
    let dir = open_scratch("api-slow");
    let mut vm = ApiVm::start(&dir, "022", 20000);
    let limit = tern_vmm::api::DEFAULT_HEADER_TIMEOUT + Duration::from_secs(10);
    let sock = vm.sock.clone();
    let cases: Vec<(&str, &[u8])> = vec![
        ("a connection that sends nothing", b""),
        (
            "a header that never ends",
            b"GET /status HTTP/1.1\r\nHost: tern\r\nX-Slow: ",
        ),
        (
            "a body that never arrives",
            b"PUT /snapshot HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"pa",
        ),
    ];
    let handles: Vec<_> = cases
        .into_iter()
        .map(|(what, head)| {
            let sock = sock.clone();
            std::thread::spawn(move || (what, head, stall(&sock, head, limit)))
        })
        .collect();
    for h in handles {
        let (what, head, (answer, closed)) = h.join().unwrap();
        assert!(
            closed.is_some(),
            "{what}: the connection was still open after {limit:?}"
        );
        if head.starts_with(b"PUT") {
            assert!(answer.starts_with("HTTP/1.1 408"), "{what}: {answer}");
        }
    }
    vm.assert_running("after the slow clients");
}
