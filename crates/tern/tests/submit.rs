//! Weak mobility (issue 11): `tern submit` ships busybox (built from Debian's source,
//! static riscv64) and its files to a `tern receive`, which runs it there; the output,
//! exit status and fetched files are the same as a run under `qemu-riscv64` on this
//! host. The receiver keeps the job in its directory: a link the job plants is not
//! followed when files are fetched, a job over `--job-max` is refused, and a job
//! whose submitter goes away is killed and its directory removed.

#[path = "common/linux_user.rs"]
mod linux_user;
#[path = "common/process_vm.rs"]
mod process_vm;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use linux_user::{busybox, out_dir, require_tool, run, run_with_stdin, QEMU};
use process_vm::Running;

const TERN: &str = env!("CARGO_BIN_EXE_tern");
const TIMEOUT: Duration = Duration::from_secs(120);
const PREFIX: &str = "sub";

/// A fresh scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let d = out_dir().join("submit").join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("scratch dir");
    d
}

/// A `tern receive` whose jobs get their directories in `jobs`; its address.
fn receiver(jobs: &Path, extra: &[&str]) -> (Running, String) {
    let mut args = vec!["--job-dir".as_ref(), jobs.as_os_str()];
    args.extend(extra.iter().map(std::ffi::OsStr::new));
    process_vm::receiver(&args)
}

/// `tern submit` to `addr` from `dir` (where the shipped files are).
fn submit(dir: &Path, addr: &str, opts: &[&str], command: &[&str]) -> Command {
    let mut c = Command::new(TERN);
    c.current_dir(dir)
        .args(["submit", "--insecure", "--to"])
        .arg(format!("tcp:{addr}"))
        .args(opts)
        .arg("--")
        .args(command);
    c
}

/// The entries of a directory.
fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// The pipeline both runs execute: three processes over a shipped file, standard
/// input, the environment, stderr, a file left behind, an exit status.
const SCRIPT: &str = "./busybox cat words.txt | ./busybox sort | ./busybox uniq -c > counts.txt; \
     ./busybox wc -l; echo \"x=$X\"; ./busybox ls; echo oops >&2; exit 7";

/// The files of a job, in `dir`.
fn job_files(dir: &Path, bb: &Path) {
    std::fs::copy(bb, dir.join("busybox")).expect("copy busybox");
    std::fs::write(
        dir.join("words.txt"),
        "pear\napple\npear\nfig\napple\npear\n",
    )
    .expect("words");
    std::fs::write(dir.join("in.txt"), "one\ntwo\nthree\n").expect("input");
}

/// Ships `command` with the job's files from `here` to a fresh receiver; returns
/// what the submitter printed, after checking that the job ran there and left no
/// directory behind.
fn ship(here: &Path, name: &str, command: &[&str]) -> linux_user::Outcome {
    let jobs = scratch(&format!("{name}-jobs"));
    let (recv, addr) = receiver(&jobs, &[]);
    let opts = [
        "--with",
        "words.txt",
        "--input",
        "in.txt",
        "--env",
        "X=42",
        "--fetch",
        "counts.txt",
        "--fetch-dir",
        "back",
    ];
    let got = run(submit(here, &addr, &opts, command), TIMEOUT);
    let (status, _, recv_err) = recv.finish();
    assert_eq!(status, 0, "receiver: {recv_err}");
    assert!(
        recv_err.contains("a job arrives from"),
        "it ran there: {recv_err}"
    );
    assert_eq!(
        entries(&jobs),
        Vec::<String>::new(),
        "the job's directory is removed"
    );
    got
}

#[test]
#[ignore = "full tier (scripts/test): builds busybox for riscv64, runs it under tern receive, tern exec and qemu-riscv64"]
fn a_shipped_busybox_gives_what_it_gives_here() {
    require_tool(QEMU);
    let bb = busybox();
    let here = scratch("submitter");
    job_files(&here, &bb);
    std::fs::create_dir(here.join("back")).expect("fetch dir");

    // One applet, against qemu-riscv64 here.
    let one = ["./busybox", "sort", "-r", "words.txt"];
    let qdir = scratch("qemu");
    job_files(&qdir, &bb);
    let mut q = Command::new(QEMU.0);
    q.current_dir(&qdir).env_clear().args(one);
    let want = run_with_stdin(q, input(&qdir), TIMEOUT);
    assert_eq!(want.status, 0, "qemu: {}", want.stderr);
    assert!(want.stdout.starts_with("pear\n"), "{}", want.stdout);
    let got = ship(&here, "one", &one);
    assert_eq!(got.stdout, want.stdout, "submitter stderr: {}", got.stderr);
    assert_eq!(got.status, 0);

    // A pipeline of three processes, against `tern exec --root` here: qemu-riscv64
    // cannot run `./busybox` again from the shell without binfmt_misc, which this
    // machine does not have (it runs the host's programs for applet names).
    let pipeline = ["./busybox", "sh", "-c", SCRIPT];
    let edir = scratch("exec");
    job_files(&edir, &bb);
    let mut e = Command::new(TERN);
    e.current_dir(&edir)
        .env_clear()
        .env("X", "42")
        .arg("exec")
        .arg("--root")
        .arg(&edir)
        .args(["--argv0", "busybox", "--", "/busybox"])
        .args(&pipeline[1..]);
    let want = run_with_stdin(e, input(&edir), TIMEOUT);
    assert_eq!(want.status, 7, "tern exec: {}", want.stderr);
    assert!(want.stdout.starts_with("3\nx=42\n"), "{}", want.stdout);
    let got = ship(&here, "pipeline", &pipeline);
    assert_eq!(got.stdout, want.stdout, "submitter stderr: {}", got.stderr);
    assert_eq!(got.stderr, want.stderr);
    assert_eq!(got.status, 7);
    let counts = std::fs::read_to_string(here.join("back/counts.txt")).expect("fetched counts.txt");
    assert_eq!(
        counts,
        std::fs::read_to_string(edir.join("counts.txt")).expect("counts.txt")
    );
    assert!(counts.contains("3 pear"), "{counts}");
}

/// The job's standard input, for a run here.
fn input(dir: &Path) -> Stdio {
    Stdio::from(std::fs::File::open(dir.join("in.txt")).expect("input"))
}

#[test]
#[ignore = "full tier (scripts/test): builds busybox for riscv64 and runs it under tern receive"]
fn a_link_the_job_plants_is_not_followed_when_its_files_come_back() {
    let bb = busybox();
    let secret_dir = scratch("secret");
    let secret = secret_dir.join("host-secret.txt");
    std::fs::write(&secret, "the receiving host's secret\n").expect("secret");
    let here = scratch("link-submitter");
    std::fs::copy(&bb, here.join("busybox")).expect("copy busybox");
    let jobs = scratch("link-jobs");
    let (recv, addr) = receiver(&jobs, &[]);
    // The job tries both ways to the host file: reading it (its root is its own
    // directory, so the path does not exist there) and a link to it, fetched back.
    let script = format!(
        "./busybox cat {0} || echo cannot-read; ./busybox ln -s {0} loot.txt; ./busybox ls",
        secret.display()
    );
    let s = submit(
        &here,
        &addr,
        &["--fetch", "loot.txt"],
        &["./busybox", "sh", "-c", &script],
    );
    let got = run(s, TIMEOUT);
    let (status, _, recv_err) = recv.finish();
    assert_eq!(status, 0, "receiver: {recv_err}");
    assert_eq!(got.status, 0, "{}", got.stderr);
    assert!(got.stdout.contains("cannot-read"), "{}", got.stdout);
    assert!(
        got.stdout.contains("loot.txt"),
        "the link was made: {}",
        got.stdout
    );
    assert!(!got.stdout.contains("secret"), "{}", got.stdout);
    assert!(
        got.stderr.contains("cannot send back `loot.txt`"),
        "{}",
        got.stderr
    );
    let loot = here.join("loot.txt");
    assert!(
        !loot.exists(),
        "the host file came back: {:?}",
        std::fs::read_to_string(&loot)
    );
}

#[test]
#[ignore = "full tier (scripts/test): builds busybox for riscv64 and ships it"]
fn a_job_over_the_receivers_limit_is_refused_before_it_runs() {
    let bb = busybox();
    let size = std::fs::metadata(&bb).expect("busybox").len();
    assert!(size > 1 << 20, "busybox is {size} bytes");
    let here = scratch("limit-submitter");
    std::fs::copy(&bb, here.join("busybox")).expect("copy busybox");
    let jobs = scratch("limit-jobs");
    let (recv, addr) = receiver(&jobs, &["--job-max", "1M"]);
    let got = run(
        submit(&here, &addr, &[], &["./busybox", "echo", "ran"]),
        TIMEOUT,
    );
    let (status, _, recv_err) = recv.finish();
    assert_eq!(status, 1, "{recv_err}");
    assert_ne!(got.status, 0);
    assert!(!got.stdout.contains("ran"), "{}", got.stdout);
    assert!(got.stderr.contains("--job-max"), "{}", got.stderr);
    assert_eq!(entries(&jobs), Vec::<String>::new());
}

#[test]
#[ignore = "full tier (scripts/test): builds busybox for riscv64 and ships it"]
fn a_job_whose_submitter_goes_away_is_killed_and_cleaned_up() {
    let bb = busybox();
    let here = scratch("gone-submitter");
    std::fs::copy(&bb, here.join("busybox")).expect("copy busybox");
    let jobs = scratch("gone-jobs");
    let (recv, addr) = receiver(&jobs, &[]);
    let s = submit(
        &here,
        &addr,
        &[],
        &[
            "./busybox",
            "sh",
            "-c",
            "echo started; exec ./busybox sleep 600",
        ],
    );
    let mut submitter = Running::start(s);
    submitter.wait_for("started");
    let job_dirs = entries(&jobs);
    assert_eq!(job_dirs.len(), 1, "{job_dirs:?}");
    let job_dir = jobs.join(&job_dirs[0]);
    assert!(running_in(&job_dir), "no process runs the job");
    submitter.kill();
    let start = Instant::now();
    let (status, _, recv_err) = recv.finish();
    assert!(
        start.elapsed() < Duration::from_secs(30),
        "the job outlived its submitter by {:?}",
        start.elapsed()
    );
    assert_eq!(status, 1, "{recv_err}");
    assert!(recv_err.contains("went away"), "{recv_err}");
    assert!(!running_in(&job_dir), "the job still runs");
    assert_eq!(entries(&jobs), Vec::<String>::new());
}

/// Whether a host process has `dir` on its command line (the job's `tern exec
/// --root DIR`).
fn running_in(dir: &Path) -> bool {
    let needle = dir.as_os_str().as_encoded_bytes();
    std::fs::read_dir("/proc")
        .expect("/proc")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().parse::<u32>().is_ok())
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .any(|c| c.windows(needle.len()).any(|w| w == needle))
}
