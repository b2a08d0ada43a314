//! Escape attempts through paths under `tern exec --root` (issue 8, rows 2 to 5), each
//! checked on the host side: a Unix listener outside the root sees no connection, the
//! VM's own control socket writes no snapshot outside, sentinel files outside keep
//! their contents, mode and time, the tern process's working directory is inside the
//! root, and no byte of a host file reaches tern's error messages.
//!
//! The guest side is `guests/linux-user/escape_paths.c`; the races run for a few
//! seconds each.

#[path = "common/linux_user.rs"]
mod linux_user;

use std::io::{BufRead, BufReader};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use linux_user::{build, out_dir, run, Link, Outcome, GCC};

/// How long each race is tried, in seconds (passed to the guest).
const RACE_SECONDS: &str = "3";

/// A fresh directory `escape-paths-NAME` holding `root/` with the program in it.
fn setup(name: &str) -> (PathBuf, PathBuf) {
    let base = out_dir().join(format!("escape-paths-{name}"));
    let _ = std::fs::remove_dir_all(&base);
    let root = base.join("root");
    std::fs::create_dir_all(&root).expect("create the root");
    std::fs::copy(
        build("escape_paths", Link::Static),
        root.join("escape_paths"),
    )
    .expect("copy the program into the root");
    (base, root)
}

/// `tern exec --root ROOT EXTRA... /escape_paths ARGS...`.
fn tern_in_root(root: &Path, extra: &[&str], args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tern"));
    c.arg("exec")
        .arg("--root")
        .arg(root)
        .args(extra)
        .arg("/escape_paths")
        .args(args);
    c
}

fn exec(c: Command) -> Outcome {
    run(c, Duration::from_secs(120))
}

/// Asserts that nobody connected to `listener` (non-blocking accept finds no one).
fn assert_no_connection(listener: &UnixListener, what: &str) {
    listener
        .set_nonblocking(true)
        .expect("non-blocking listener");
    match listener.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        Ok(_) => panic!("{what}: the guest connected to the host listener"),
        Err(e) => panic!("{what}: accept: {e}"),
    }
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 test path")
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn unix_socket_paths_do_not_reach_host_sockets_through_a_swapped_link() {
    // Row 2: the guest swaps /d (a directory) with /l (a link to the host directory
    // of a listener) while connecting to /d/s.
    let (base, root) = setup("sock");
    let host = base.join("host");
    std::fs::create_dir_all(&host).expect("host dir");
    let listener = UnixListener::bind(host.join("s")).expect("host listener");
    let o = exec(tern_in_root(
        &root,
        &[],
        &["sock", path_str(&host), RACE_SECONDS],
    ));
    assert_no_connection(&listener, "sock race");
    assert_eq!(
        o.stdout,
        "own socket: bind 0, name /own.sock, child connected 1, accepted 1\n\
         own datagram: sendmsg 1, received y\n\
         sock race: connected 0 (tries>0 1)\n",
        "stderr: {}",
        o.stderr
    );
    assert_eq!(o.status, 0);
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn the_vms_own_control_socket_cannot_be_reached_to_write_a_snapshot_outside() {
    // Row 2: a forked child races towards the VM's --api-sock and asks for a
    // snapshot written to a host path outside the root.
    let (base, root) = setup("api");
    let host = base.join("host");
    std::fs::create_dir_all(&host).expect("host dir");
    let sock = host.join("api.sock");
    let out = base.join("snapshot-outside.tern");
    let o = exec(tern_in_root(
        &root,
        &["--api-sock", path_str(&sock)],
        &["api", path_str(&host), RACE_SECONDS, path_str(&out)],
    ));
    assert!(
        !out.exists(),
        "the guest made tern write {} (stdout: {})",
        out.display(),
        o.stdout
    );
    assert_eq!(o.stdout, "api race: connected 0\n", "stderr: {}", o.stderr);
    assert_eq!(o.status, 0);
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn abstract_unix_sockets_are_private_to_the_vm() {
    // Row 2: a host listener on an abstract name is out of reach; the program's own
    // abstract sockets still work between its processes.
    use std::os::linux::net::SocketAddrExt;
    let (_base, root) = setup("abstract");
    let name = format!("tern-escape-paths-{}", std::process::id());
    let addr =
        std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).expect("address");
    let listener = UnixListener::bind_addr(&addr).expect("abstract host listener");
    let o = exec(tern_in_root(&root, &[], &["abstract", &name]));
    assert_no_connection(&listener, "abstract");
    assert_eq!(
        o.stdout,
        "abstract host: ECONNREFUSED\n\
         abstract own bind: 0, name same\n\
         abstract own: child connected 1, read x\n",
        "stderr: {}",
        o.stderr
    );
}

/// What a sentinel file looks like from the host.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    contents: Vec<u8>,
    mode: u32,
    mtime: i64,
}

fn seen(p: &Path) -> Seen {
    let m = std::fs::metadata(p).expect("sentinel metadata");
    Seen {
        contents: std::fs::read(p).expect("sentinel contents"),
        mode: m.permissions().mode(),
        mtime: m.mtime(),
    }
}

fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn names_missing_in_the_root_never_reach_the_host() {
    // Row 3: truncate/statfs/chdir/execve of names that exist only in tern's own
    // working directory, calls through links to host paths, fchdir on a directory
    // whose name was taken by a link.
    let (base, root) = setup("missing");
    let cwd = base.join("cwd");
    std::fs::create_dir_all(cwd.join("sentinel-dir")).expect("cwd");
    std::fs::write(cwd.join("sentinel-trunc"), "KEEP\n").expect("sentinel");
    std::fs::write(cwd.join("sentinel-exec"), "#!/bin/sh\n").expect("sentinel");
    let host_file = base.join("host-file");
    std::fs::write(&host_file, "HOST\n").expect("host file");
    std::fs::set_permissions(&host_file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let host_dir = base.join("host-dir");
    std::fs::create_dir_all(&host_dir).expect("host dir");
    let before = (seen(&cwd.join("sentinel-trunc")), seen(&host_file));
    let cwd_entries = entries(&cwd);

    let mut c = tern_in_root(
        &root,
        &[],
        &["missing", path_str(&host_file), path_str(&host_dir)],
    );
    c.current_dir(&cwd);
    let o = exec(c);
    assert_eq!(
        (seen(&cwd.join("sentinel-trunc")), seen(&host_file)),
        before,
        "a sentinel outside the root changed (stdout: {})",
        o.stdout
    );
    assert_eq!(entries(&cwd), cwd_entries, "tern's cwd changed");
    assert!(entries(&host_dir).is_empty(), "a file appeared in host-dir");
    assert_eq!(
        o.stdout,
        "truncate missing: ENOENT\n\
         statfs missing: ENOENT\n\
         execve missing: ENOENT\n\
         chdir missing: ENOENT\n\
         cwd: /\n\
         stat via link: ENOENT\n\
         access via link: ENOENT\n\
         chmod via link: ENOENT\n\
         utimes via link: ENOENT\n\
         truncate via link: ENOENT\n\
         statfs via link: ENOENT\n\
         execve via link: ENOENT\n\
         fchdir replaced dir: 0 /fd-dir-moved\n\
         fchdir replaced dir: 0 /fd-dir-moved\n",
        "stderr: {}",
        o.stderr
    );
    assert_eq!(o.status, 0);
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn the_tern_process_works_inside_the_root() {
    // Row 3: started from a directory outside the root, the host process itself
    // moves into the root, so that no host call can be relative to the outside.
    let (base, root) = setup("cwd");
    let cwd = base.join("cwd");
    std::fs::create_dir_all(&cwd).expect("cwd");
    // A relative --api-sock is the user's, not the root's.
    let mut c = tern_in_root(&root, &["--api-sock", "ctl.sock"], &["cwd"]);
    c.current_dir(&cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = c.spawn().expect("start tern");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read ready");
    let host_cwd = std::fs::read_link(format!("/proc/{}/cwd", child.id()));
    let sock_where = (
        cwd.join("ctl.sock").exists(),
        root.join("ctl.sock").exists(),
    );
    drop(child.stdin.take());
    let status = child.wait().expect("wait");
    assert_eq!(line, "ready\n");
    assert!(status.success());
    assert_eq!(
        sock_where,
        (true, false),
        "the control socket is in the directory tern was started in"
    );
    let host_cwd = host_cwd.expect("the tern process's cwd");
    let canon = std::fs::canonicalize(&root).expect("canonical root");
    assert!(
        host_cwd.starts_with(&canon),
        "tern works in {} outside the root {}",
        host_cwd.display(),
        canon.display()
    );
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn a_bind_swapped_for_a_link_does_not_lead_outside() {
    // Row 4: the guest swaps /b/d (a directory of the bind) with /b/l -> ".."
    // while opening /b/d/sentinel-bind for writing; on the host, "b/l" followed is
    // the bind source's parent, which holds the sentinel.
    let (base, root) = setup("bind");
    let src = base.join("bind-src");
    std::fs::create_dir_all(&src).expect("bind source");
    let sentinel = base.join("sentinel-bind");
    std::fs::write(&sentinel, "KEEP\n").expect("sentinel");
    let before = seen(&sentinel);
    let bind = format!("{}:/b", src.display());
    let o = exec(tern_in_root(
        &root,
        &["--bind", &bind],
        &["bindrace", RACE_SECONDS],
    ));
    assert_eq!(seen(&sentinel), before, "the guest wrote the sentinel");
    assert_eq!(
        o.stdout, "bind race: opened 0 (tries>0 1)\n",
        "stderr: {}",
        o.stderr
    );
    assert_eq!(o.status, 0);
}

/// Builds escape_paths dynamically linked with `interp` as its PT_INTERP.
fn build_with_interp(interp: &str, out: &Path) {
    linux_user::require_tool(GCC);
    let src = linux_user::guests_dir().join("escape_paths.c");
    let o = Command::new(GCC.0)
        .args(["-O2", "-o"])
        .arg(out)
        .arg(&src)
        .arg(format!("-Wl,--dynamic-linker={interp}"))
        .arg("-lpthread")
        .output()
        .expect("run the cross compiler");
    assert!(
        o.status.success(),
        "building {}: {}",
        src.display(),
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn pt_interp_with_dotdot_stays_in_the_sysroot_and_leaks_no_bytes() {
    // Row 5: PT_INTERP "/../../interp-*" under --root and --sysroot names, joined to
    // the sysroot's host path, files two levels above it.
    let (base, root) = setup("interp");
    let sysroot = base.join("s1/s2");
    std::fs::create_dir_all(&sysroot).expect("sysroot");
    let secret = b"SECRET-INTERP-BYTES\n";
    std::fs::write(base.join("interp-text"), secret).expect("sentinel");
    // A riscv64 program outside the root as the would-be interpreter.
    std::fs::copy(build("hello", Link::Static), base.join("interp-elf")).expect("copy");
    for (name, interp) in [("text", "/../../interp-text"), ("elf", "/../../interp-elf")] {
        build_with_interp(interp, &root.join(format!("prog-{name}")));
        let mut c = Command::new(env!("CARGO_BIN_EXE_tern"));
        c.arg("exec")
            .arg("--root")
            .arg(&root)
            .arg("--sysroot")
            .arg(&sysroot)
            .arg(format!("/prog-{name}"));
        let o = exec(c);
        assert_ne!(o.status, 0, "{name}: the program ran: {}", o.stdout);
        assert!(
            !o.stdout.contains("hello from riscv64"),
            "{name}: the host file ran as the interpreter"
        );
        let first8 = u64::from_le_bytes(secret[..8].try_into().expect("8 bytes"));
        for leak in [
            "SECRET".to_string(),
            format!("{first8:x}"),
            format!("{:x}", first8.swap_bytes()),
            format!("{first8}"),
        ] {
            assert!(
                !o.stderr.to_lowercase().contains(&leak.to_lowercase()),
                "{name}: the host file's bytes ({leak}) are in the message: {}",
                o.stderr
            );
        }
        assert!(
            o.stderr.contains(interp),
            "{name}: the message names the interpreter: {}",
            o.stderr
        );
    }
}
