//! Debian's sqlite (3.40.1, cross-compiled by `scripts/build-sqlite`) on WAL-mode
//! databases under `tern exec`, compared with qemu-riscv64:
//!
//! - the `sqlite3` shell runs `guests/sqlite/workload.sql` (tables, thousands of rows
//!   in transactions, indexes, joins, aggregates, window functions, triggers,
//!   checkpoints, VACUUM, integrity_check) on a fresh database: same output;
//! - `guests/sqlite/wal_two.c` has two processes on one WAL database at once, in lock
//!   step: a reader keeps its snapshot while the writer commits, a checkpoint stops
//!   at the reader's mark, each is refused the write lock the other holds. That is the
//!   WAL index (the `-shm` file both map MAP_SHARED) and its fcntl locks at work;
//! - the same two sides with one under tern and the other under qemu-riscv64 at once:
//!   both emulators meet in the same host files;
//! - `guests/sqlite/wal_bank.c`: writers, readers and a checkpointer at once, not in
//!   step: no transfer lost, no read transaction sees a wrong total; and the same
//!   with some of the processes under tern and the others under qemu-riscv64.

#[path = "common/linux_user.rs"]
mod linux_user;
#[path = "common/sqlite.rs"]
mod sqlite;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use linux_user::{qemu, run, tern, Link, Outcome};

/// Generous: a debug build of tern under a loaded machine.
const TIMEOUT: Duration = Duration::from_secs(900);

fn timed(what: &str, cmd: Command) -> Outcome {
    let start = Instant::now();
    let o = run(cmd, TIMEOUT);
    eprintln!("{what}: {:.2?}", start.elapsed());
    o
}

/// The shell runs the workload on a fresh database in `dir`.
fn workload(cmd: fn(&Path, Link) -> Command, link: Link, dir: &Path, what: &str) -> Outcome {
    let script = sqlite::guests_dir().join("workload.sql");
    let mut c = cmd(&sqlite::shell(link), link);
    c.args(["-init", "/dev/null", "-batch"])
        .arg(dir.join("test.db"))
        .arg(format!(".read {}", script.display()));
    timed(what, c)
}

fn workload_same_as_qemu(link: Link) {
    let tag = format!("{link:?}").to_lowercase();
    let qd = sqlite::scratch(&format!("workload-qemu-{tag}"));
    let td = sqlite::scratch(&format!("workload-tern-{tag}"));
    let q = workload(
        qemu,
        link,
        &qd,
        &format!("workload ({link:?}) under qemu-riscv64"),
    );
    let t = workload(
        tern,
        link,
        &td,
        &format!("workload ({link:?}) under tern exec"),
    );
    assert_eq!(q.status, 0, "qemu-riscv64: {}", q.stderr);
    assert!(q.stdout.ends_with("done\n"), "qemu-riscv64: {}", q.stdout);
    assert_eq!(t.stdout, q.stdout, "tern stderr: {}", t.stderr);
    assert_eq!(t.status, 0, "tern stderr: {}", t.stderr);
    for line in ["wal\n", "\nok\n", "counts|2000|300|20000\n"] {
        assert!(t.stdout.contains(line), "no {line:?} in {}", t.stdout);
    }
    // The last connection closed: WAL checkpointed into the database and removed.
    assert!(!td.join("test.db-wal").exists());
    assert_eq!(
        std::fs::metadata(td.join("test.db"))
            .expect("database")
            .len(),
        std::fs::metadata(qd.join("test.db"))
            .expect("database")
            .len()
    );
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn workload_static_same_as_qemu() {
    workload_same_as_qemu(Link::Static);
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn workload_dynamic_same_as_qemu() {
    workload_same_as_qemu(Link::Dynamic);
}

/// What the two sides must see: the lines that prove the WAL index is shared.
fn check_two(out: &str) {
    for line in [
        "A: snapshot 1000|1501500\n",
        "B: own view before commit 1500|3377250\n",
        // A's read transaction keeps its snapshot while B writes and commits.
        "A: during B's write 1000|1501500\n",
        "A: after B's commit, same snapshot 1000|1501500|1000\n",
        // A's read mark (in the -shm file) holds B's checkpoint back.
        "B: checkpoint while A reads (busy|log|checkpointed) 0|5|0\n",
        "A: new snapshot 1500|3377250|1500\n",
        // The WAL write lock is a lock on the -shm file, seen across processes.
        "B: write while A holds the lock -> error 5: database is locked\n",
        "A: write while B holds the lock -> error 5: database is locked\n",
        "B: sees A's row 5000|from A\n",
        "B: integrity ok\n",
        "A: final 1502|3377253|6001\n",
        "A: integrity ok\n",
    ] {
        assert!(out.contains(line), "no {line:?} in:\n{out}");
    }
}

fn two_processes_same_as_qemu(link: Link) {
    let prog = sqlite::program("wal_two", link);
    let tag = format!("{link:?}").to_lowercase();
    let qd = sqlite::scratch(&format!("two-qemu-{tag}"));
    let td = sqlite::scratch(&format!("two-tern-{tag}"));
    let mut q = qemu(&prog, link);
    q.arg(qd.join("two.db")).arg("fork");
    let mut t = tern(&prog, link);
    t.arg(td.join("two.db")).arg("fork");
    let q = timed(&format!("wal_two ({link:?}) under qemu-riscv64"), q);
    let t = timed(&format!("wal_two ({link:?}) under tern exec"), t);
    assert_eq!(q.status, 0, "qemu-riscv64: {}{}", q.stdout, q.stderr);
    check_two(&q.stdout);
    assert_eq!(t.stdout, q.stdout, "tern stderr: {}", t.stderr);
    assert_eq!(t.status, 0, "tern stderr: {}", t.stderr);
    assert!(t.stdout.ends_with("B exited: 0\n"), "{}", t.stdout);
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn two_processes_static_same_as_qemu() {
    two_processes_same_as_qemu(Link::Static);
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn two_processes_dynamic_same_as_qemu() {
    two_processes_same_as_qemu(Link::Dynamic);
}

/// Side A under `a_on`, side B under `b_on`, at once on one database, in step through
/// two named pipes; their outputs are the lines of the forked run of each side.
fn across(a_on: fn(&Path, Link) -> Command, b_on: fn(&Path, Link) -> Command, tag: &str) {
    let link = Link::Static;
    let prog = sqlite::program("wal_two", link);
    let d = sqlite::scratch(&format!("across-{tag}"));
    let db = d.join("two.db");
    let (to_b, to_a) = (d.join("to-b"), d.join("to-a"));
    for f in [&to_b, &to_a] {
        let st = Command::new("mkfifo").arg(f).status().expect("run mkfifo");
        assert!(st.success(), "mkfifo {}", f.display());
    }
    let mut setup = qemu(&prog, link);
    setup.arg(&db).arg("setup");
    let s = run(setup, TIMEOUT);
    assert_eq!(s.status, 0, "setup: {}{}", s.stdout, s.stderr);

    let mut a = a_on(&prog, link);
    a.arg(&db).arg("a").arg(&to_b).arg(&to_a);
    let mut b = b_on(&prog, link);
    b.arg(&db).arg("b").arg(&to_b).arg(&to_a);
    let a = std::thread::spawn(move || run(a, TIMEOUT));
    let b = run(b, TIMEOUT);
    let a = a.join().expect("side A");
    assert_eq!(a.status, 0, "A: {}{}", a.stdout, a.stderr);
    assert_eq!(b.status, 0, "B: {}{}", b.stdout, b.stderr);

    // The forked run, under qemu-riscv64, says what each side must print.
    let fd = sqlite::scratch(&format!("across-{tag}-fork"));
    let mut f = qemu(&prog, link);
    f.arg(fd.join("two.db")).arg("fork");
    let f = run(f, TIMEOUT);
    assert_eq!(f.status, 0, "fork: {}{}", f.stdout, f.stderr);
    let side = |p: &str| -> String {
        f.stdout
            .lines()
            .filter(|l| l.starts_with(p))
            .map(|l| format!("{l}\n"))
            .collect()
    };
    assert_eq!(a.stdout, side("A:"), "side A (stderr: {})", a.stderr);
    assert_eq!(b.stdout, side("B:"), "side B (stderr: {})", b.stderr);
    check_two(&format!("{}{}", a.stdout, b.stdout));
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn reader_under_tern_writer_under_qemu() {
    across(tern, qemu, "tern-qemu");
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn reader_under_qemu_writer_under_tern() {
    across(qemu, tern, "qemu-tern");
}

/// Three writers, two readers and an idle connection, all at once and not in step:
/// every transfer commits, every read transaction sees the constant total, and the
/// database is intact afterwards.
fn bank_same_as_qemu(link: Link) {
    let prog = sqlite::program("wal_bank", link);
    let tag = format!("{link:?}").to_lowercase();
    let qd = sqlite::scratch(&format!("bank-qemu-{tag}"));
    let td = sqlite::scratch(&format!("bank-tern-{tag}"));
    let mut q = qemu(&prog, link);
    q.arg(qd.join("bank.db")).args(["3", "2", "100"]);
    let mut t = tern(&prog, link);
    t.arg(td.join("bank.db")).args(["3", "2", "100"]);
    let q = timed(&format!("wal_bank ({link:?}) under qemu-riscv64"), q);
    let t = timed(&format!("wal_bank ({link:?}) under tern exec"), t);
    assert_eq!(q.status, 0, "qemu-riscv64: {}{}", q.stdout, q.stderr);
    let want = "accounts 50, total 50000\n\
                writer 0: ok\nwriter 1: ok\nwriter 2: ok\nreader 0: ok\nreader 1: ok\n\
                total 50000\ntransfers 300\neach writer complete yes\nintegrity ok\nclose ok\n";
    assert_eq!(q.stdout, want, "qemu-riscv64 stderr: {}", q.stderr);
    assert_eq!(t.stdout, q.stdout, "tern stderr: {}", t.stderr);
    assert_eq!(t.status, 0, "tern stderr: {}", t.stderr);
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn many_processes_static_same_as_qemu() {
    bank_same_as_qemu(Link::Static);
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn many_processes_dynamic_same_as_qemu() {
    bank_same_as_qemu(Link::Dynamic);
}

/// Writers and readers under tern and under qemu-riscv64 at once on one database,
/// not in step: the two emulators' views of the `-shm` index stay coherent.
#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn many_processes_across_emulators() {
    let link = Link::Static;
    let prog = sqlite::program("wal_bank", link);
    let d = sqlite::scratch("bank-across");
    let db = d.join("bank.db");
    let side = |on: fn(&Path, Link) -> Command, args: &[&str]| {
        let mut c = on(&prog, link);
        c.arg(&db).args(args);
        c
    };
    let init = run(side(qemu, &["init"]), TIMEOUT);
    assert_eq!(init.status, 0, "init: {}{}", init.stdout, init.stderr);
    let procs = [
        ("writer 0 (tern)", side(tern, &["writer", "0", "100"])),
        ("writer 1 (tern)", side(tern, &["writer", "1", "100"])),
        ("writer 2 (qemu)", side(qemu, &["writer", "2", "100"])),
        ("writer 3 (qemu)", side(qemu, &["writer", "3", "100"])),
        ("reader (tern)", side(tern, &["reader", "100"])),
        ("reader (qemu)", side(qemu, &["reader", "100"])),
    ];
    let running: Vec<_> = procs
        .into_iter()
        .map(|(what, c)| (what, std::thread::spawn(move || run(c, TIMEOUT))))
        .collect();
    for (what, h) in running {
        let o = h.join().expect("join");
        assert_eq!(o.status, 0, "{what}: {}{}", o.stdout, o.stderr);
    }
    let check = run(side(qemu, &["check", "4", "100"]), TIMEOUT);
    assert_eq!(
        check.stdout,
        "total 50000\ntransfers 400\neach writer complete yes\nintegrity ok\nclose ok\n",
        "check: {}",
        check.stderr
    );
}

/// The two processes confined with `--root`: the database, its WAL and its `-shm`
/// index are found through the confined resolver, inside the root.
#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn two_processes_under_root() {
    let link = Link::Static;
    let prog = sqlite::program("wal_two", link);
    let root = sqlite::scratch("two-root");
    std::fs::create_dir(root.join("data")).expect("mkdir data");
    std::fs::copy(&prog, root.join("wal_two")).expect("copy wal_two");
    let qd = sqlite::scratch("two-root-qemu");
    let mut q = qemu(&prog, link);
    q.arg(qd.join("two.db")).arg("fork");
    let q = run(q, TIMEOUT);
    let mut t = Command::new(env!("CARGO_BIN_EXE_tern"));
    t.arg("exec")
        .arg("--root")
        .arg(&root)
        .args(["/wal_two", "/data/two.db", "fork"]);
    let t = run(t, TIMEOUT);
    check_two(&t.stdout);
    assert_eq!(t.stdout, q.stdout, "tern stderr: {}", t.stderr);
    assert_eq!(t.status, 0, "tern stderr: {}", t.stderr);
    assert!(
        root.join("data/two.db").is_file(),
        "the database is not in the root"
    );
}
