//! Live migration of a process VM: a running riscv64 Linux program moves from one
//! `tern exec` to a `tern receive` (`tern migrate --api-sock`), in pre-copy and in
//! post-copy, and ends as a run that never moved ends: the same stdout (what the
//! source printed, then what the destination printed), the same file, the same exit
//! status. A program holding what cannot move refuses the switch-over and runs on
//! at the source.
//!
//! The program is `guests/linux-user/snapcount.c` (four threads, a mutex, barriers,
//! a progress line per round to stdout and a file): its output does not depend on
//! scheduling.

#[path = "common/linux_user.rs"]
mod linux_user;
#[path = "common/process_vm.rs"]
mod process_vm;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use linux_user::{build, Link};
use process_vm::{socket, Running};

const TERN: &str = env!("CARGO_BIN_EXE_tern");
const TIMEOUT: Duration = Duration::from_secs(300);
/// Control sockets of this binary's tests are named `tern-mp-...`.
const PREFIX: &str = "mp";
/// Rounds and draws per round: long enough that the move happens mid-run.
const ROUNDS: &str = "14";
const PER_ROUND: &str = "3000";

/// A scratch directory for one test.
fn scratch(test: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("migrate-process")
        .join(test);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("create the scratch directory");
    d
}

/// `tern exec` of snapcount writing `file`, with `extra` arguments for the program.
fn snapcount(file: &Path, sock: Option<&Path>, extra: &[&str]) -> Command {
    let prog = build("snapcount", Link::Static);
    let mut c = Command::new(TERN);
    c.args(["exec", "--memory", "256M"]);
    if let Some(s) = sock {
        c.arg("--api-sock").arg(s);
    }
    c.arg(prog).arg(file).args([ROUNDS, PER_ROUND]).args(extra);
    c
}

/// A run that never moves: (status, stdout, file).
fn reference(dir: &Path, extra: &[&str]) -> (i32, String, String) {
    let file = dir.join("reference.txt");
    let (status, out, err) = Running::start(snapcount(&file, None, extra)).finish();
    assert_eq!(status, 7, "reference run: {err}");
    assert!(out.contains("done counter 168000"), "{out}");
    (
        status,
        out,
        std::fs::read_to_string(&file).expect("reference file"),
    )
}

/// `tern receive --listen 127.0.0.1:0 --insecure`, and the address it listens on.
fn destination() -> (Running, String) {
    process_vm::receiver(&[])
}

/// `tern migrate --api-sock SOCK tcp:ADDR --insecure EXTRA...`: (success, output).
fn migrate(sock: &Path, addr: &str, extra: &[&str]) -> (bool, String) {
    let o = Command::new(TERN)
        .arg("migrate")
        .arg("--api-sock")
        .arg(sock)
        .arg(format!("tcp:{addr}"))
        .arg("--insecure")
        .args(extra)
        .output()
        .expect("run tern migrate");
    let mut out = String::from_utf8_lossy(&o.stdout).into_owned();
    out.push_str(&String::from_utf8_lossy(&o.stderr));
    (o.status.success(), out)
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary and the riscv64 cross toolchain"]
fn a_running_program_moves_and_ends_as_if_it_never_moved() {
    for mode in ["precopy", "postcopy"] {
        let dir = scratch(mode);
        let (want_status, want_out, want_file) = reference(&dir, &[]);
        let file = dir.join("out.txt");
        let sock = socket(mode, 0);
        let mut source = Running::start(snapcount(&file, Some(&sock), &[]));
        source.wait_for("round 3 ");
        let (dest, addr) = destination();
        let (ok, said) = migrate(&sock, &addr, &["--mode", mode]);
        assert!(ok, "{mode}: tern migrate failed: {said}");
        assert!(said.contains("completed to"), "{mode}: {said}");
        let (status, before, err) = source.finish();
        assert_eq!(
            status, 0,
            "{mode}: the source ends once the program moved: {err}"
        );
        assert!(
            err.contains(&format!("tern: the program moved to tcp:{addr}")),
            "{mode}: {err}"
        );
        assert!(
            before.contains("round 3 ") && !before.contains("done"),
            "{mode}: the program finished before it moved: {before}"
        );
        let (status, after, err) = dest.finish();
        assert!(
            err.contains("tern: a program arrives from"),
            "{mode}: {err}"
        );
        assert!(
            !after.is_empty(),
            "{mode}: nothing ran at the destination: {err}"
        );
        assert_eq!(
            format!("{before}{after}"),
            want_out,
            "{mode}: destination stderr: {err}"
        );
        assert_eq!(status, want_status, "{mode}: {err}");
        assert_eq!(
            std::fs::read_to_string(&file).expect("the program's file"),
            want_file,
            "{mode}"
        );
    }
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary and the riscv64 cross toolchain"]
fn a_program_holding_a_tcp_socket_refuses_to_move_and_runs_on() {
    let dir = scratch("socket");
    let (want_status, want_out, want_file) = reference(&dir, &["socket"]);
    let file = dir.join("out.txt");
    let sock = socket("socket", 0);
    let mut source = Running::start(snapcount(&file, Some(&sock), &["socket"]));
    source.wait_for("round 2 ");
    let (dest, addr) = destination();
    let (ok, said) = migrate(&sock, &addr, &[]);
    assert!(
        !ok,
        "a migration of a program with a TCP socket succeeded: {said}"
    );
    assert!(
        said.contains("socket"),
        "the refusal names the socket: {said}"
    );
    // The program never stopped for good: it runs on here and ends as the reference.
    let (status, out, err) = source.finish();
    assert_eq!(out, want_out, "{err}");
    assert_eq!(status, want_status, "{err}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), want_file);
    // The destination threw the attempt away and still waits for a VM.
    let mut dest = dest;
    assert!(
        dest.child.try_wait().expect("try_wait").is_none(),
        "the destination ended: {}",
        dest.stderr()
    );
    dest.child.kill().expect("kill the destination");
}

/// `tern exec --agent --insecure` (or without `--agent`) of the agent writing
/// `file` and visiting `hops`.
fn agent(file: &Path, agent: bool, hops: &[&str]) -> Command {
    let prog = build("agent", Link::Static);
    let mut c = Command::new(TERN);
    c.args(["exec", "--memory", "256M"]);
    if agent {
        c.args(["--agent", "--insecure"]);
    }
    c.arg(prog).arg(file).args(hops);
    c
}

/// `tern receive --agent`: a destination that lets the program move on.
fn agent_destination() -> (Running, String) {
    process_vm::receiver(&["--agent".as_ref()])
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary and the riscv64 cross toolchain"]
fn a_mobile_agent_moves_itself_from_host_to_host() {
    let dir = scratch("agent");
    // Where it runs and prints, leg by leg, if it never moved.
    let still = dir.join("still.txt");
    let (status, want, err) = Running::start(agent(&still, false, &["a", "b", "c"])).finish();
    assert_eq!(status, 0, "{err}");
    // Without --agent the call is unknown: each jump fails and the agent stays.
    assert!(
        want.contains("jump to a failed: Function not implemented (carried 0)"),
        "{want}"
    );
    let legs = |out: &str| -> Vec<String> {
        out.lines()
            .filter(|l| l.starts_with("leg "))
            .map(str::to_string)
            .collect()
    };
    let want_legs = legs(&want);
    assert_eq!(want_legs.len(), 4, "{want}");

    let (b, b_addr) = agent_destination();
    let (c, c_addr) = agent_destination();
    let b_hop = format!("tcp:{b_addr}");
    let c_hop = format!("tcp:{c_addr}");
    let file = dir.join("moved.txt");
    // First a jump to where nobody listens: it fails, and the agent goes on here.
    let a = Running::start(agent(&file, true, &["tcp:127.0.0.1:1", &b_hop, &c_hop]));
    let (a_status, a_out, a_err) = a.finish();
    assert_eq!(
        a_status, 0,
        "the first host ends once the agent left: {a_err}"
    );
    assert!(
        a_out.contains("jump to tcp:127.0.0.1:1 failed: No route to host (carried 0)"),
        "{a_out}\n{a_err}"
    );
    assert!(
        a_err.contains(&format!("the program moved to {b_hop}")),
        "{a_err}"
    );
    let (b_status, b_out, b_err) = b.finish();
    assert_eq!(b_status, 0, "{b_err}");
    assert!(
        b_out.starts_with(&format!("arrived at {b_hop} (carried 1)\n")),
        "the agent continued on the second host after its call: {b_out}\n{b_err}"
    );
    assert!(
        b_err.contains(&format!("the program moved to {c_hop}")),
        "{b_err}"
    );
    let (c_status, c_out, c_err) = c.finish();
    assert_eq!(c_status, 0, "{c_err}");
    assert!(
        c_out.starts_with(&format!("arrived at {c_hop} (carried 2)\n"))
            && c_out.ends_with("done\n"),
        "{c_out}\n{c_err}"
    );
    // Each leg ran once, on its host, and computed what a run that never moved
    // computes; the file collected every leg through the moves.
    let moved = [legs(&a_out), legs(&b_out), legs(&c_out)].concat();
    assert_eq!(moved, want_legs);
    assert_eq!(
        legs(&a_out).len(),
        2,
        "legs 0 and 1 on the first host: {a_out}"
    );
    let written = std::fs::read_to_string(&file).expect("the agent's file");
    assert_eq!(
        written.lines().map(str::to_string).collect::<Vec<_>>(),
        want_legs
    );
}

/// A host's file tree for the binding test: `/data` (with `files`) and
/// `/etc/node.txt` saying `node`.
fn host_tree(dir: &Path, node: &str, files: &[&str]) {
    std::fs::create_dir_all(dir.join("data")).expect("data");
    std::fs::create_dir_all(dir.join("etc")).expect("etc");
    std::fs::write(dir.join("etc/node.txt"), format!("{node}\n")).expect("node.txt");
    for f in files {
        std::fs::write(dir.join("data").join(f), "").expect("data file");
    }
}

/// Sends SIGUSR1 to the program `vm` runs (to tern, which hands it to the program).
fn usr1(vm: &Running) {
    let st = Command::new("kill")
        .args(["-USR1", &vm.child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(st.success());
}

/// `tern receive --root ROOT --insecure` on loopback, and its address.
fn rooted_destination(root: &Path) -> (Running, String) {
    process_vm::receiver(&["--root".as_ref(), root.as_os_str()])
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary and the riscv64 cross toolchain"]
fn files_are_copied_moved_or_rebound_as_the_migration_says() {
    let dir = scratch("binding");
    let (here, there) = (dir.join("source-host"), dir.join("destination-host"));
    host_tree(&here, "node A", &["cp.txt", "mv.txt"]);
    host_tree(&there, "node B", &[]);
    std::fs::copy(build("binding", Link::Static), here.join("binding")).expect("program");
    let start = |sock: &Path| {
        let mut c = Command::new(TERN);
        c.args(["exec", "--memory", "64M", "--root"])
            .arg(&here)
            .arg("--api-sock")
            .arg(sock)
            .arg("/binding");
        let mut source = Running::start(c);
        source.wait_for("ready");
        source
    };

    // Everything rebound (the default): the data files are not at the destination,
    // so the move fails cleanly and the program runs on at the source.
    let sock = socket("binding-rb", 0);
    let source = start(&sock);
    let (dest, addr) = rooted_destination(&there);
    let (ok, said) = migrate(&sock, &addr, &[]);
    assert!(!ok, "moved without its data files: {said}");
    assert!(
        said.contains("/data/cp.txt"),
        "the failure names the file: {said}"
    );
    usr1(&source);
    let (status, out, err) = source.finish();
    assert_eq!(status, 0, "{err}");
    assert!(
        out.contains("ready\nnode: node A\ncp: cp-before\ncp-after\n"),
        "{out}"
    );
    // The destination gave up (a receive takes one program) and made nothing.
    let (status, _, err) = dest.finish();
    assert_eq!(status, 1, "{err}");
    assert!(err.contains("/data/cp.txt"), "{err}");
    assert_eq!(
        std::fs::read_dir(there.join("data")).expect("data").count(),
        0
    );

    // cp, mv and rb.
    host_tree(&here, "node A", &["cp.txt", "mv.txt"]);
    let sock = socket("binding", 1);
    let source = start(&sock);
    let (dest, addr) = rooted_destination(&there);
    let (ok, said) = migrate(
        &sock,
        &addr,
        &["--bind", "/data/cp.txt=cp", "--bind", "/data/mv.txt=mv"],
    );
    assert!(ok, "{said}");
    let (status, before, src_err) = source.finish();
    assert_eq!(status, 0, "{src_err}");
    assert_eq!(before, "node: node A\nready\n");
    usr1(&dest);
    let (status, after, err) = dest.finish();
    assert_eq!(status, 0, "{err}");
    assert_eq!(
        after, "node: node B\ncp: cp-before\ncp-after\nmv: mv-before\nmv-after\n",
        "{err}"
    );
    // Copied: both hosts have it, the source's as the program left it there.
    let read = |p: PathBuf| std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p:?}: {e}"));
    assert_eq!(read(here.join("data/cp.txt")), "cp-before\n");
    assert_eq!(read(there.join("data/cp.txt")), "cp-before\ncp-after\n");
    // Moved: only the destination has it.
    assert!(
        !here.join("data/mv.txt").exists(),
        "the source kept the moved file: {src_err}"
    );
    assert_eq!(read(there.join("data/mv.txt")), "mv-before\nmv-after\n");
    // Rebound: each host's own file, untouched.
    assert_eq!(read(here.join("etc/node.txt")), "node A\n");
    assert_eq!(read(there.join("etc/node.txt")), "node B\n");
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary and the riscv64 cross toolchain"]
fn an_agent_tours_three_hosts_and_comes_home_with_what_each_said() {
    let dir = scratch("tour");
    let hosts = ["home", "n1", "n2", "n3"];
    for h in hosts {
        host_tree(&dir.join(h), h, &[]);
    }
    let home = dir.join("home");
    std::fs::copy(build("tour", Link::Static), home.join("tour")).expect("program");
    // A tern receive --agent per host, each with its own files; home's receives the
    // agent when it comes back (the tern exec that started it ends when it leaves).
    let receivers: Vec<(Running, String)> = ["n1", "n2", "n3", "home"]
        .iter()
        .map(|h| {
            let root = dir.join(h);
            process_vm::receiver(&["--agent".as_ref(), "--root".as_ref(), root.as_os_str()])
        })
        .collect();
    let hops: Vec<String> = receivers.iter().map(|(_, a)| format!("tcp:{a}")).collect();
    let mut c = Command::new(TERN);
    c.args(["exec", "--memory", "64M", "--agent", "--insecure", "--root"])
        .arg(&home)
        .arg("/tour")
        .args(&hops);
    let (status, out, err) = Running::start(c).finish();
    assert_eq!(status, 0, "{err}");
    assert_eq!(out, "at home\n", "{err}");
    let mut printed = Vec::new();
    for (r, _) in receivers {
        let (status, out, err) = r.finish();
        assert_eq!(status, 0, "{err}");
        printed.push(out);
    }
    assert_eq!(printed[..3], ["at n1\n", "at n2\n", "at n3\n"]);
    assert_eq!(printed[3], "at home\nvisited: home n1 n2 n3 home\n");
    for h in hosts {
        assert_eq!(
            std::fs::read_to_string(dir.join(h).join("etc/node.txt")).expect("node.txt"),
            format!("{h}\n"),
            "each host's file stays its own"
        );
    }
}

/// A program's `tern exec --policy` moves with it (issue 15): its `getppid`, denied
/// before the move, is still denied at the destination to the last round.
#[test]
#[ignore = "full tier (scripts/test): needs the tern binary and the riscv64 cross toolchain"]
fn the_policy_moves_with_the_program() {
    let dir = scratch("policy");
    let pol = dir.join("policy.txt");
    std::fs::write(&pol, "deny getppid errno=EACCES\n").expect("write the policy");
    let sock = socket("policy", 0);
    let mut c = Command::new(TERN);
    c.args(["exec", "--memory", "256", "--policy"])
        .arg(&pol)
        .arg("--api-sock")
        .arg(&*sock)
        .arg(build("policy", Link::Static))
        .args(["rounds", "30"]);
    let mut source = Running::start(c);
    source.wait_for("round 3 getppid");
    let (dest, addr) = destination();
    let (ok, said) = migrate(&sock, &addr, &[]);
    assert!(ok, "tern migrate failed: {said}");
    let (_, before, err) = source.finish();
    assert!(before.contains("round 3 getppid denied"), "{before}{err}");
    let (status, after, err) = dest.finish();
    assert_eq!(status, 0, "{err}");
    assert!(after.contains("round 30 getppid denied"), "{after}\n{err}");
    assert!(!format!("{before}{after}").contains("allowed"), "{after}");
}
