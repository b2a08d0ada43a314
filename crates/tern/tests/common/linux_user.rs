//! Building and running the riscv64 Linux test programs of `guests/linux-user/` from
//! integration tests: compile with Debian's cross compiler (static and dynamic), run
//! on `tern exec` and on `qemu-riscv64` with a timeout, and compare.
//!
//! Include it from a test file with
//! `#[path = "common/linux_user.rs"] mod linux_user;`.
//!
//! Missing host tools are failures that name the Debian package to install, never
//! silent skips.

#![allow(dead_code)]

use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The cross compiler and its Debian package.
pub const GCC: (&str, &str) = ("riscv64-linux-gnu-gcc", "gcc-riscv64-linux-gnu");
/// The reference emulator and its Debian package.
pub const QEMU: (&str, &str) = ("qemu-riscv64", "qemu-user");
/// The riscv64 glibc sysroot (Debian's `libc6-riscv64-cross`).
pub const SYSROOT: &str = "/usr/riscv64-linux-gnu";

/// `guests/linux-user` in the source tree.
pub fn guests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../guests/linux-user")
}

/// Where test binaries go.
pub fn out_dir() -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("linux-user");
    std::fs::create_dir_all(&d).expect("create the test output directory");
    d
}

/// Panics with an install hint when `tool` is not on PATH.
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

/// Panics with an install hint when the riscv64 sysroot is missing.
pub fn require_sysroot() {
    let ld = Path::new(SYSROOT).join("lib/ld-linux-riscv64-lp64d.so.1");
    assert!(
        ld.is_file(),
        "{} not found: install the Debian packages `libc6-riscv64-cross` and \
         `libc6-dev-riscv64-cross`",
        ld.display()
    );
}

/// How a program is linked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    /// `-static`.
    Static,
    /// Dynamically linked against the sysroot's glibc.
    Dynamic,
}

/// Serializes builds between the tests of one test binary (they run in parallel and
/// share programs).
static BUILD: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Whether `out` exists and is newer than every one of `inputs`.
pub fn up_to_date(out: &Path, inputs: &[&Path]) -> bool {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    match modified(out) {
        Some(o) => inputs.iter().all(|i| modified(i).is_some_and(|s| o >= s)),
        None => false,
    }
}

/// Runs compiler command `cmd`, which writes `tmp`, asserts it succeeded (the
/// message names `src`), and renames `tmp` to `out`: a test running the previous
/// binary is not disturbed.
pub fn compile_into(mut cmd: Command, tmp: &Path, out: &Path, src: &Path) {
    let o = cmd.output().expect("run the compiler");
    assert!(
        o.status.success(),
        "building {}: {}",
        src.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    std::fs::rename(tmp, out).expect("move the binary into place");
}

/// Builds `guests/linux-user/<name>.c` (unless the binary is newer than the source)
/// and returns the binary's path. The binary is written beside and renamed into
/// place, so that a test running the previous one is not disturbed.
pub fn build(name: &str, link: Link) -> PathBuf {
    let _guard = BUILD.lock().unwrap_or_else(|e| e.into_inner());
    require_tool(GCC);
    if link == Link::Dynamic {
        require_sysroot();
    }
    let src = guests_dir().join(format!("{name}.c"));
    let suffix = match link {
        Link::Static => "static",
        Link::Dynamic => "dynamic",
    };
    let out = out_dir().join(format!("{name}-{suffix}"));
    if up_to_date(&out, &[&src]) {
        return out;
    }
    let tmp = out_dir().join(format!(".{name}-{suffix}.{}", std::process::id()));
    let mut cmd = Command::new(GCC.0);
    cmd.args(["-O2", "-Wall", "-o"])
        .arg(&tmp)
        .arg(&src)
        .arg("-lpthread");
    if link == Link::Static {
        cmd.arg("-static");
    }
    compile_into(cmd, &tmp, &out, &src);
    out
}

/// The result of running a program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Exit status, or 128 + signal number when killed by a signal (as a shell shows).
    pub status: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Runs `cmd` with a timeout (and empty standard input).
pub fn run(cmd: Command, timeout: Duration) -> Outcome {
    run_with_stdin(cmd, Stdio::null(), timeout)
}

/// Runs `cmd` with a timeout, `stdin` as its standard input.
pub fn run_with_stdin(mut cmd: Command, stdin: Stdio, timeout: Duration) -> Outcome {
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(stdin);
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let to = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out.read_to_end(&mut s);
        s
    });
    let te = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} did not finish within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let stdout = String::from_utf8_lossy(&to.join().unwrap_or_default()).into_owned();
    let stderr = String::from_utf8_lossy(&te.join().unwrap_or_default()).into_owned();
    let status = status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
    Outcome {
        status,
        stdout,
        stderr,
    }
}

/// A `tern exec` command for `prog`.
pub fn tern(prog: &Path, link: Link) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tern"));
    c.arg("exec");
    if link == Link::Dynamic {
        c.args(["--sysroot", SYSROOT]);
    }
    c.arg(prog);
    c
}

/// A `qemu-riscv64` command for `prog`.
pub fn qemu(prog: &Path, link: Link) -> Command {
    require_tool(QEMU);
    let mut c = Command::new(QEMU.0);
    if link == Link::Dynamic {
        c.args(["-L", SYSROOT]);
    }
    c.arg(prog);
    c
}

/// Builds `name`, runs it with `args` on tern and on qemu-riscv64, and asserts the
/// same stdout and exit status. Returns tern's outcome.
pub fn compare(name: &str, link: Link, args: &[&str]) -> Outcome {
    let prog = build(name, link);
    compare_with(name, link, args, qemu(&prog, link), "qemu-riscv64")
}

/// Runs program `name` (built as `link`) with `args` on tern and `reference` with
/// the same arguments, and asserts the same stdout and exit status (the messages
/// name the reference `against`). Returns tern's outcome.
fn compare_with(
    name: &str,
    link: Link,
    args: &[&str],
    mut reference: Command,
    against: &str,
) -> Outcome {
    let mut t = tern(&build(name, link), link);
    t.args(args);
    reference.args(args);
    let timeout = Duration::from_secs(120);
    let ro = run(reference, timeout);
    let to = run(t, timeout);
    assert_eq!(
        to.stdout, ro.stdout,
        "{name} ({link:?}): stdout differs from {against} (tern stderr: {})",
        to.stderr
    );
    assert_eq!(
        to.status, ro.status,
        "{name} ({link:?}): exit status differs from {against} (tern stderr: {})",
        to.stderr
    );
    to
}

/// The host C compiler and its Debian package (for [`compare_native`]).
pub const HOST_CC: (&str, &str) = ("gcc", "gcc");

/// Builds `guests/linux-user/<name>.c` for the host (unless the binary is newer
/// than the source) and returns the binary's path.
pub fn build_native(name: &str) -> PathBuf {
    let _guard = BUILD.lock().unwrap_or_else(|e| e.into_inner());
    require_tool(HOST_CC);
    let src = guests_dir().join(format!("{name}.c"));
    let out = out_dir().join(format!("{name}-native"));
    if up_to_date(&out, &[&src]) {
        return out;
    }
    let tmp = out_dir().join(format!(".{name}-native.{}", std::process::id()));
    let mut cmd = Command::new(HOST_CC.0);
    cmd.args(["-O2", "-Wall", "-o"])
        .arg(&tmp)
        .arg(&src)
        .arg("-lpthread");
    compile_into(cmd, &tmp, &out, &src);
    out
}

/// Like [`compare`], against the native build of the same program run on the host
/// kernel: for the parts where `qemu-riscv64` itself is wrong (each caller says
/// where). The program must print nothing that differs between architectures.
pub fn compare_native(name: &str, link: Link, args: &[&str]) -> Outcome {
    let native = build_native(name);
    compare_with(name, link, args, Command::new(native), "the native build")
}

/// The busybox binary of the guest-image build, built first (with
/// `guests/linux/build.sh`, what `cargo xtask guest` runs) when it is missing.
pub fn busybox() -> PathBuf {
    let cache = std::env::var_os("TERN_CACHE")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/tern")))
        .expect("HOME or TERN_CACHE");
    let bb = cache.join("guest/busybox");
    if !bb.is_file() {
        let script = guests_dir().join("../linux/build.sh");
        let st = Command::new("bash")
            .arg(&script)
            .stdout(std::process::Stdio::null())
            .status()
            .expect("run guests/linux/build.sh");
        assert!(
            st.success(),
            "{} failed: it needs the Debian packages of guests/linux/packages.sh \
             (busybox source via deb-src, gcc-riscv64-linux-gnu, libc6-dev-riscv64-cross)",
            script.display()
        );
    }
    assert!(
        bb.is_file(),
        "{} missing after the guest build",
        bb.display()
    );
    bb
}
