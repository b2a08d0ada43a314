//! `--gdb`: Debian's gdb-multiarch, in batch mode, debugs a Linux guest on the `virt`
//! board (kernel symbols from vmlinux) and a process VM (a C program built with -g):
//! breakpoint on a function, backtrace, a watchpoint that triggers on a write,
//! stepping, registers (x, f, CSRs), continue and detach, after which the VM runs to
//! its normal end. The same after a restore: a VM snapshotted through the control
//! API and restored with `tern restore --gdb` is debugged the same way.

// Shared with the snapshot tests; this file uses only part of it.
#[path = "common/baremetal.rs"]
mod baremetal;
#[allow(dead_code)]
#[path = "common/snapshot_vm.rs"]
mod snapshot_vm;
#[path = "common/virt.rs"]
mod virt;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use snapshot_vm::Vm;

const TERN: &str = env!("CARGO_BIN_EXE_tern");
const GDB: &str = "gdb-multiarch";

/// A TCP port that was free a moment ago, for `--gdb`.
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

fn tmp(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("gdb");
    std::fs::create_dir_all(&dir).expect("create the test directory");
    dir.join(name)
}

/// Runs gdb-multiarch in batch mode on `file` against `127.0.0.1:port` with the
/// commands `cmds`; returns everything it printed. gdb retries the connection while
/// tern starts.
fn gdb(file: &Path, port: u16, cmds: &[&str]) -> String {
    let mut cmd = Command::new(GDB);
    cmd.args(["-batch", "-nx"])
        .arg(file)
        .args(["-ex", "set pagination off", "-ex", "set confirm off"])
        .args(["-ex", &format!("target remote 127.0.0.1:{port}")]);
    for c in cmds {
        cmd.args(["-ex", c]);
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("{GDB} cannot start ({e}): apt-get install gdb-multiarch"));
    let start = Instant::now();
    let pid = child.id();
    let watchdog = std::thread::spawn(move || {
        while start.elapsed() < Duration::from_secs(240) {
            std::thread::sleep(Duration::from_millis(200));
            if std::fs::metadata(format!("/proc/{pid}")).is_err() {
                return;
            }
        }
        let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
    });
    let out = child.wait_with_output().expect("wait for gdb");
    let _ = watchdog.join();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("--- gdb output ---\n{text}--- end ---");
    text
}

/// Fails with the whole gdb output unless it contains every one of `needles`.
fn expect_all(out: &str, needles: &[&str]) {
    for n in needles {
        assert!(out.contains(n), "gdb did not print {n:?}:\n{out}");
    }
}

/// Builds guests/linux-user/debuggee.c with -g -O0, static.
fn debuggee() -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../guests/linux-user/debuggee.c");
    let out = tmp("debuggee");
    let o = Command::new("riscv64-linux-gnu-gcc")
        .args(["-g", "-O0", "-static", "-pthread", "-o"])
        .arg(&out)
        .arg(&src)
        .output()
        .expect("riscv64-linux-gnu-gcc is missing: apt-get install gcc-riscv64-linux-gnu");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    out
}

/// The process VM commands: breakpoint in the worker thread, backtrace, a
/// watchpoint on `counter`, stepping, registers, detach.
const PROCESS_SESSION: &[&str] = &[
    "break bump",
    "continue",
    "bt",
    "p by",
    "delete",
    "watch counter",
    "continue",
    "delete",
    "next",
    "p scale",
    "p $fcsr",
    "p/x $sp",
    "detach",
];

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn a_process_vm_breaks_watches_steps_and_runs_on_after_detach() {
    let prog = debuggee();
    let port = free_port();
    let child = Command::new(TERN)
        .args(["exec", "--gdb", &format!("127.0.0.1:{port}"), "--gdb-wait"])
        .arg(&prog)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start tern");
    let out = gdb(&prog, port, PROCESS_SESSION);
    expect_all(
        &out,
        &[
            "hit Breakpoint 1, bump (by=10) at",
            "in worker (arg=0x0) at",
            "$1 = 10",
            "Hardware watchpoint 2: counter",
            "Old value = 0",
            "New value = 10",
            "$2 = 1.5",
            "[Inferior 1 (process 1) detached]",
        ],
    );
    let done = child.wait_with_output().expect("wait for tern");
    let stdout = String::from_utf8_lossy(&done.stdout);
    assert_eq!(
        stdout,
        "counter 35 scale 52.5\n",
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert!(done.status.success());
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn a_linux_guest_breaks_in_the_kernel_and_runs_on_after_detach() {
    let im = virt::images();
    let vmlinux = im.vmlinux();
    assert!(
        vmlinux.is_file(),
        "{} is missing: rebuild the guest with `cargo xtask guest --force`",
        vmlinux.display()
    );
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let boot =
        virt::Boot::linux(2, Some("/tests/smp.sh"), &[]).with(&["--gdb", &addr, "--gdb-wait"]);
    let tern = std::thread::spawn(move || boot.run());
    let out = gdb(
        &vmlinux,
        port,
        &[
            "info threads",
            "break do_sys_openat2",
            "continue",
            "bt",
            "p $priv",
            "p/x $satp",
            "p $sstatus",
            "delete",
            "watch *(long *)&jiffies",
            "continue",
            "delete",
            "stepi",
            "p $ft0",
            "detach",
        ],
    );
    expect_all(
        &out,
        &[
            "Thread 1.2",
            "Breakpoint 1, 0x",
            "in do_sys_openat2 ()",
            "in sys_openat ()",
            "$1 = 1",
            "Hardware watchpoint 2: *(long *)&jiffies",
            "Old value = ",
            "in tick_do_update_jiffies64 ()",
            "[Inferior 1 (process 1) detached]",
        ],
    );
    let satp = out
        .lines()
        .find_map(|l| l.strip_prefix("$2 = 0x"))
        .unwrap_or_else(|| panic!("no satp in:\n{out}"));
    assert_ne!(satp.trim(), "0", "the kernel runs with translation on");
    let run = tern.join().expect("tern thread");
    run.expect("smp: ok");
    run.expect("tern: run exit status 0");
    assert_eq!(run.status, Some(0));
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn a_restored_process_vm_is_debugged_the_same_way() {
    let prog = debuggee();
    let sock = tmp("process.sock");
    let file = tmp("process.tern");
    let _ = std::fs::remove_file(&file);
    // `Vm::spawn` appends `--api-sock SOCK`, which after the program would be the
    // program's arguments: give it to tern first (the program ignores the copy).
    let args: Vec<String> = vec![
        "exec".into(),
        "--api-sock".into(),
        sock.display().to_string(),
        prog.display().to_string(),
        "100".into(),
        "30".into(),
    ];
    let vm = Vm::spawn(&args, &sock);
    std::thread::sleep(Duration::from_millis(800));
    vm.snapshot_and_kill(&file, &[]);
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let restored = Vm::spawn(
        &[
            "restore".into(),
            file.display().to_string(),
            "--gdb".into(),
            addr,
            "--gdb-wait".into(),
        ],
        &tmp("restored.sock"),
    );
    let out = gdb(
        &prog,
        port,
        &[
            "break bump",
            "continue",
            "bt",
            "p by",
            "p counter > 30",
            "detach",
        ],
    );
    expect_all(
        &out,
        &[
            "Breakpoint 1, bump (by=1) at",
            "in main (argc=",
            "$1 = 1",
            "$2 = 1",
            "[Inferior 1 (process 1) detached]",
        ],
    );
    let console = restored.finish(Duration::from_secs(60));
    assert!(console.contains("counter 130 scale 195.0"), "{console}");
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn a_restored_linux_guest_is_debugged_the_same_way() {
    let im = virt::images();
    let sock = tmp("linux.sock");
    let file = tmp("linux.tern");
    let _ = std::fs::remove_file(&file);
    let vm = Vm::boot("/tests/sleep.sh", &["3"], None, &sock);
    vm.wait_for("sleep: start", Duration::from_secs(180));
    vm.snapshot_and_kill(&file, &[]);
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let restored = Vm::spawn(
        &[
            "restore".into(),
            file.display().to_string(),
            "--gdb".into(),
            addr,
            "--gdb-wait".into(),
        ],
        &tmp("linux-restored.sock"),
    );
    let out = gdb(
        &im.vmlinux(),
        port,
        &[
            "break ksys_write",
            "continue",
            "bt",
            "p $priv",
            "stepi",
            "detach",
        ],
    );
    expect_all(
        &out,
        &[
            "Breakpoint 1, 0x",
            "in ksys_write ()",
            "$1 = 1",
            "[Inferior 1 (process 1) detached]",
        ],
    );
    let console = restored.finish(Duration::from_secs(120));
    assert!(console.contains("sleep: woke"), "{console}");
    assert!(console.contains("sleep: ok"), "{console}");
}

/// `tern gdb` (`PUT /gdb` on the control API): a process VM started without `--gdb`
/// gets a gdb server while it runs; gdb-multiarch stops it, breaks in `bump`, shows
/// the backtrace, detaches, and the program runs on to its normal end. A second
/// attach is refused (the server keeps listening).
#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn a_running_process_vm_is_attached_through_the_control_api() {
    let prog = debuggee();
    let sock = tmp("attach.sock");
    let args: Vec<String> = vec![
        "exec".into(),
        "--api-sock".into(),
        sock.display().to_string(),
        prog.display().to_string(),
        "60".into(),
        "100".into(),
    ];
    let vm = Vm::spawn(&args, &sock);
    let start = Instant::now();
    while !sock.exists() && start.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    let port = free_port();
    let said = vm.ctl(&["gdb", "--listen", &format!("127.0.0.1:{port}")]);
    assert!(
        said.contains(&format!("gdb: target remote 127.0.0.1:{port}")),
        "{said}"
    );
    let again = Command::new(TERN)
        .args(["gdb", "--listen", "127.0.0.1:0", "--api-sock"])
        .arg(&sock)
        .output()
        .expect("run tern gdb");
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(
        !again.status.success() && err.contains("already"),
        "a second attach: {err}"
    );
    let out = gdb(
        &prog,
        port,
        &["break bump", "continue", "bt", "p by", "delete", "detach"],
    );
    expect_all(
        &out,
        &[
            "Breakpoint 1, bump (by=1) at",
            "in main (",
            "$1 = 1",
            "[Inferior 1 (process 1) detached]",
        ],
    );
    let rest = vm.finish(Duration::from_secs(120));
    assert!(rest.contains("counter 90 scale 135.0"), "{rest}");
}

/// `tern gdb` on a system VM started without `--gdb` (`--migratable`, so that its
/// sandbox keeps the host's network and the host's gdb reaches the server): gdb stops
/// the running kernel, reads its registers, breaks in `schedule`, detaches, and the
/// guest runs to its normal end.
#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn a_running_linux_guest_is_attached_through_the_control_api() {
    let vmlinux = virt::images().vmlinux();
    let sock = tmp("attach-virt.sock");
    let vm = Vm::boot_with("/tests/sleep.sh", &["4"], None, &["--migratable"], &sock);
    vm.wait_for("sleep: start", Duration::from_secs(240));
    let port = free_port();
    let said = vm.ctl(&["gdb", "--listen", &format!("127.0.0.1:{port}")]);
    assert!(said.contains("gdb: target remote 127.0.0.1:"), "{said}");
    let out = gdb(
        &vmlinux,
        port,
        &[
            "p $priv",
            "break schedule",
            "continue",
            "bt 1",
            "delete",
            "detach",
        ],
    );
    expect_all(
        &out,
        &[
            "Breakpoint 1, 0x",
            "in schedule ()",
            "[Inferior 1 (process 1) detached]",
        ],
    );
    let rest = vm.finish(Duration::from_secs(120));
    assert!(rest.contains("sleep: ok"), "{rest}");
    assert!(rest.contains("tern: run exit status 0"), "{rest}");
}

/// `--gdb` on the `spike` board: gdb-multiarch stops the bare-metal demo before its
/// first instruction (at the ELF entry), breaks in `main`, reads the privilege level
/// (M), steps into the first call, detaches, and the
/// program runs to its normal end (its console and exit status 0).
#[test]
#[ignore = "full tier (scripts/test): needs the tern binary and the bare-metal cross compiler"]
fn a_spike_program_breaks_steps_and_runs_on_after_detach() {
    let dir = baremetal::guests_dir();
    let elf = tmp("mandelbrot.elf");
    baremetal::build_c(&[dir.join("demo/mandelbrot.c")], &[], &elf).expect("build the demo");
    let port = free_port();
    let child = Command::new(TERN)
        .args(["run", "--machine", "spike", "--kernel"])
        .arg(&elf)
        .args(["--gdb", &format!("127.0.0.1:{port}"), "--gdb-wait"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start tern");
    let out = gdb(
        &elf,
        port,
        &[
            "p/x $pc",
            "break main",
            "continue",
            "p $priv",
            "stepi",
            "delete",
            "detach",
        ],
    );
    expect_all(
        &out,
        &[
            "0x0000000080000000 in _start ()",
            "$1 = 0x80000000",
            "Breakpoint 1, 0x",
            " in main ()",
            "$2 = 3",
            " in htif_puts ()",
            "[Inferior 1 (process 1) detached]",
        ],
    );
    let done = child.wait_with_output().expect("wait for tern");
    let stdout = String::from_utf8_lossy(&done.stdout);
    assert!(
        stdout.contains("Mandelbrot set on the spike board"),
        "{stdout}{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
}
