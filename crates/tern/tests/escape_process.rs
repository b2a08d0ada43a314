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
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
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
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
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
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn shared_regions_stay_within_the_window_and_a_truncated_file_cannot_kill_tern() {
    // Shared anonymous memory takes the shared window (as large as --memory): a
    // second 40 MiB region under --memory 64 is ENOMEM until the first is unmapped,
    // and the host's RSS stays within the bound. A file truncated under touched
    // shared pages makes the host raise SIGBUS on tern, which must survive it.
    let file = linux_user::out_dir().join("shared-truncated");
    let o = within_memory(&["shared", file.to_str().expect("utf-8 path")]);
    assert_eq!(
        o.stdout,
        "first: touched, second: ENOMEM\n\
         after munmap: mapped\n\
         after truncation: read no data\n",
        "stderr: {}",
        o.stderr
    );
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
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
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
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

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn memory_areas_are_limited() {
    // Row 7: cutting a PROT_NONE reservation (no frames) into areas by mprotect of
    // every other page stops at Linux's vm.max_map_count with ENOMEM, instead of
    // growing tern's list of areas without bound.
    let o = within_memory(&["areas", "300000"]);
    assert_eq!(o.stdout, "areas: ENOMEM\n", "stderr: {}", o.stderr);
    let calls: u64 = o
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix("mprotect calls before the limit: "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no count in stderr: {}", o.stderr));
    assert!((30_000..33_000).contains(&calls), "{calls} calls");
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn queued_signals_are_limited() {
    // Row 7: realtime signals a program queues to itself while blocking them take
    // host memory each; sigqueue stops with EAGAIN (as at RLIMIT_SIGPENDING) and
    // kill keeps working (Linux then loses only the extra information).
    let o = within_memory(&["sigqueue", "1000000"]);
    assert_eq!(
        o.stdout, "sigqueue: EAGAIN\nkill with the queue full: ok\nfirst queued: 0\n",
        "stderr: {}",
        o.stderr
    );
}

/// A root directory holding the program as `/escape_process`.
fn root_with_program(name: &str) -> std::path::PathBuf {
    let root = linux_user::out_dir().join(name);
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).expect("create the root");
    std::fs::copy(
        build("escape_process", Link::Static),
        root.join("escape_process"),
    )
    .expect("copy the program");
    root
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn passed_descriptors_go_through_the_descriptor_table() {
    // Row 8: under --root tern holds a descriptor of the root above the program's
    // limit; neither it nor any other number the program does not have can be
    // passed (EBADF, as Linux says for a descriptor one does not have); a message
    // with one good and one bad descriptor is not sent at all; credentials name
    // only the sender; malformed control headers are EINVAL; a descriptor received
    // at the limit is not installed (MSG_CTRUNC, as Linux does at RLIMIT_NOFILE).
    // The soft limit of 256 leaves room above it that tern could otherwise use.
    let root = root_with_program("escape-fds");
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg("ulimit -Sn 256 && exec \"$0\" exec --root \"$1\" /escape_process fds")
        .arg(TERN)
        .arg(&root);
    let o = finished(c);
    assert_eq!(
        o.stdout,
        "numbers above the limit: 0 sent, 64 EBADF\n\
         a number never opened: EBADF\n\
         good and bad together: EBADF\n\
         received pipe: reads \"hello\", cloexec 1\n\
         credentials of the parent: EPERM\n\
         own credentials: sent\n\
         huge cmsg_len: EINVAL\n\
         cmsg_len past the buffer: EINVAL\n\
         cmsg_len under a header: EINVAL\n\
         at the limit: MSG_CTRUNC, no descriptor\n",
        "stderr: {}",
        o.stderr
    );
    assert_eq!(o.status, 0);
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn a_received_descriptor_is_in_the_table_a_snapshot_reads() {
    // Row 8: a descriptor that arrived by SCM_RIGHTS is registered with its kind
    // (found by fstat): the snapshot refuses the program holding a TCP socket it
    // received, naming that descriptor, instead of silently leaving it out.
    use std::io::{BufRead, BufReader};
    let sock = std::env::temp_dir().join(format!("tern-ep-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&sock);
    let mut c = escape(
        &[
            "--memory",
            "64",
            "--api-sock",
            sock.to_str().expect("utf-8"),
        ],
        &["hold"],
    );
    let mut child = c
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start tern");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read what the program printed");
    let fd = line
        .strip_prefix("holding ")
        .map(|n| n.trim().to_string())
        .unwrap_or_else(|| panic!("unexpected output {line:?}"));
    let control = |args: &[&str]| {
        Command::new(TERN)
            .args(args)
            .arg("--api-sock")
            .arg(&sock)
            .output()
            .expect("run a tern control command")
    };
    let paused = control(&["pause"]);
    let file = linux_user::out_dir().join("escape-hold.snap");
    let _ = std::fs::remove_file(&file);
    let snap = control(&["snapshot", "--out", file.to_str().expect("utf-8")]);
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_file(&sock);
    let _ = std::fs::remove_file(&file);
    assert!(paused.status.success(), "pause failed");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&snap.stdout),
        String::from_utf8_lossy(&snap.stderr)
    );
    assert!(
        !snap.status.success()
            && said.contains(&format!("descriptor {fd} "))
            && said.contains("a socket"),
        "the snapshot did not refuse received descriptor {fd} as a socket: {said}"
    );
}

/// The `nice` value of host process `pid` (field 19 of `/proc/PID/stat`).
fn nice_of(pid: u32) -> i32 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("read a stat file");
    let rest = &s[s.rfind(')').expect("stat format") + 1..];
    rest.split_whitespace()
        .nth(16)
        .and_then(|v| v.parse().ok())
        .expect("nice field")
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn signals_reach_only_the_vms_own_processes() {
    // Row 6: two host processes (`sleep`): the sentinel in a process group of its
    // own, the groupmate in the group tern is started in. Both survive kill,
    // kill of the sentinel's group, kill(0) and kill(-own group) (which reach the
    // program itself only), tgkill, setpriority and F_SETOWN aimed at them (EPERM);
    // kill(-1) finds no one else in the VM (ESRCH); the test harness, tern's
    // parent, cannot even be probed with signal 0. The program's own children,
    // their groups and a child that re-executed (the VM's root is handed on
    // through execve) are signalled as on Linux.
    use std::os::unix::process::CommandExt;
    let sleeper = || {
        Command::new("sleep")
            .arg("60")
            .process_group(0)
            .spawn()
            .expect("start a sleep")
    };
    let (mut sentinel, mut groupmate) = (sleeper(), sleeper());
    let (pid, mate) = (sentinel.id(), groupmate.id());
    let nice = nice_of(pid);
    let mut c = escape(&[], &["signals", &pid.to_string(), &mate.to_string()]);
    c.process_group(mate as i32);
    let o = finished(c);
    let alive = sentinel.try_wait().expect("wait").is_none();
    let mate_alive = groupmate.try_wait().expect("wait").is_none();
    let nice_after = if alive { nice_of(pid) } else { nice };
    for mut s in [sentinel, groupmate] {
        let _ = s.kill();
        let _ = s.wait();
    }
    assert!(
        alive,
        "the sentinel died; the program printed:\n{}",
        o.stdout
    );
    assert!(
        mate_alive,
        "the groupmate died; the program printed:\n{}",
        o.stdout
    );
    assert_eq!(nice_after, nice, "the sentinel's priority changed");
    assert_eq!(
        o.stdout,
        "kill sentinel: EPERM\n\
         kill sentinel's group: EPERM\n\
         tgkill sentinel: EPERM\n\
         kill groupmate: EPERM\n\
         kill parent (0): EPERM\n\
         kill -1 (0) alone: ESRCH\n\
         kill own group: ok, to itself 1\n\
         kill own group by number: ok, to itself 2\n\
         setpriority sentinel: EPERM\n\
         F_SETOWN sentinel: EPERM\n\
         F_SETOWN sentinel's group: EPERM\n\
         F_SETOWN_EX sentinel: EPERM\n\
         kill a reaped child: ESRCH\n\
         kill -1 (0) with a child: ok\n\
         setpriority child: ok\n\
         F_SETOWN child: ok\n\
         F_SETOWN_EX child: ok\n\
         kill child: ok, it exited 7\n\
         kill child's group: ok, it exited 7\n\
         tgkill child: ok, it exited 7\n\
         a child after execve signalled its parent: exit 0, got 1\n",
        "stderr: {}",
        o.stderr
    );
    assert_eq!(o.status, 0);
}
