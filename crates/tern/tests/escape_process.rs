//! The process VM keeps a hostile program inside it (issue 8, rows 6 to 9): the
//! program `guests/linux-user/escape_process.c` tries to signal host processes, to
//! make tern use more host memory than `--memory`, to hand itself descriptors tern
//! owns, and to write read-only memory through futexes. Every outcome is checked on
//! the host side where there is one (a host process still alive, tern's peak RSS, a
//! snapshot that lists a received descriptor), besides what the program saw.

#[path = "common/linux_user.rs"]
mod linux_user;

use std::process::Command;
use std::time::Duration;

use linux_user::{build, run, Link, Outcome};

const TERN: &str = env!("CARGO_BIN_EXE_tern");

/// `tern exec [OPTIONS] escape_process ARGS` (statically linked).
fn escape(opts: &[&str], args: &[&str]) -> Command {
    let prog = build("escape_process", Link::Static);
    let mut c = Command::new(TERN);
    c.arg("exec").args(opts).arg(prog).args(args);
    c
}

fn finished(c: Command) -> Outcome {
    run(c, Duration::from_secs(120))
}

#[test]
fn futex_operations_that_store_need_write_access() {
    // Row 9: wake-op and the PI operations store to the futex word; on a read-only
    // page they fail with EFAULT (as on Linux) and leave the page as it was.
    let o = finished(escape(&[], &["futex"]));
    assert_eq!(
        o.stdout,
        "wake_op on read-only: EFAULT\n\
         trylock_pi on read-only: EFAULT\n\
         lock_pi on read-only: EFAULT\n\
         unlock_pi on read-only: EFAULT\n\
         read-only words: 11111111 00000000 owner\n\
         wake_op on writable: ok, word 00000055\n\
         trylock_pi on writable: ok, owner me\n\
         unlock_pi on writable: ok, word 00000000\n",
        "stderr: {}",
        o.stderr
    );
    assert_eq!(o.status, 0);
}

/// Guest memory of the memory tests, in MiB.
const MEMORY: u64 = 64;
/// What tern may use on the host beyond `--memory` (its own code and data, a hart
/// and a 1 MiB scratch buffer per thread), in MiB.
const HOST_SLACK: u64 = 48;

/// The peak host RSS in KiB that `--stats` reported on stderr.
fn peak_rss_kib(stderr: &str) -> u64 {
    let line = stderr
        .lines()
        .find(|l| l.contains("peak host RSS"))
        .unwrap_or_else(|| panic!("no statistics line in stderr: {stderr}"));
    line.rsplit("peak host RSS ")
        .next()
        .and_then(|s| s.trim_end_matches(" KiB").trim().parse().ok())
        .unwrap_or_else(|| panic!("cannot read the peak RSS in {line:?}"))
}

/// Runs `escape_process ARGS` with `--memory 64 --stats`; checks tern ended normally
/// and stayed within the memory bound on the host.
fn within_memory(args: &[&str]) -> Outcome {
    let m = MEMORY.to_string();
    let o = finished(escape(&["--memory", &m, "--stats"], args));
    assert_eq!(o.status, 0, "stdout: {}\nstderr: {}", o.stdout, o.stderr);
    let rss = peak_rss_kib(&o.stderr);
    assert!(
        rss <= (MEMORY + HOST_SLACK) << 10,
        "peak host RSS {rss} KiB with --memory {MEMORY}: more than {HOST_SLACK} MiB above it"
    );
    o
}

/// A sparse file of `len` bytes holding "tern" at its start, middle and end.
fn sparse_file(name: &str, len: u64) -> std::path::PathBuf {
    use std::os::unix::fs::FileExt;
    let p = linux_user::out_dir().join(name);
    let f = std::fs::File::create(&p).expect("create a sparse file");
    f.set_len(len).expect("size the sparse file");
    for at in [0, len / 2, len - 4] {
        f.write_all_at(b"tern", at)
            .expect("write into the sparse file");
    }
    p
}

/// A file of `len` bytes 'd'.
fn dense_file(name: &str, len: usize) -> std::path::PathBuf {
    let p = linux_user::out_dir().join(name);
    std::fs::write(&p, vec![b'd'; len]).expect("write a dense file");
    p
}

#[test]
fn file_mappings_stay_within_the_memory_budget() {
    // Row 7: mapping a 1 GiB and an 8 GiB sparse file under --memory 64 costs the
    // host nothing for the holes; a file whose data does not fit is ENOMEM and leaves
    // nothing behind (the next mapping that fits works).
    let files = [
        sparse_file("sparse-1g", 1 << 30),
        sparse_file("sparse-8g", 8 << 30),
        dense_file("dense-100m", 100 << 20),
        dense_file("dense-40m", 40 << 20),
    ];
    let args: Vec<&str> = std::iter::once("mmap")
        .chain(files.iter().map(|p| p.to_str().expect("utf-8 path")))
        .collect();
    let o = within_memory(&args);
    assert_eq!(
        o.stdout,
        "sparse-1g: mapped tern tern tern sum 0\n\
         sparse-8g: mapped tern tern tern sum 0\n\
         dense-100m: mmap ENOMEM\n\
         dense-40m: mapped dddd dddd dddd sum 409500\n",
        "stderr: {}",
        o.stderr
    );
}

#[test]
fn large_transfers_keep_host_buffers_small() {
    // Row 7: 32 threads each read 4 bytes into a 64 MiB buffer, and 16 MiB go to
    // /dev/null: tern's scratch buffers do not grow to the requested sizes.
    let o = within_memory(&["scratch", "32"]);
    assert_eq!(
        o.stdout,
        "scratch: 32 threads read 128 bytes, wrote 16777216 to /dev/null\n"
    );
}

#[test]
fn threads_are_limited() {
    // Row 7: guest threads are host threads; past the limit pthread_create fails
    // with EAGAIN (as with RLIMIT_NPROC), and threads that ended make room again.
    let o = within_memory(&["threads", "2000"]);
    assert_eq!(
        o.stdout, "threads: EAGAIN after some\nafter join: started\n",
        "stderr: {}",
        o.stderr
    );
}
