//! The control API in front of a real process VM (the one `tern exec --api-sock`
//! serves), with its real answers and error texts.
//!
//! A process VM owns its host process (`stop` and the program's exit end it), so the
//! VM runs in a child: this test binary (`harness = false`) starts itself again with
//! `TERN_VMM_TEST_CHILD` set, and the child runs a riscv64 program that spins (a
//! minimal ELF file written here, no cross compiler needed) with the API on a
//! socket. The parent drives it through the client and checks the host-side
//! outcome: the snapshot file, the child's exit status.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tern_snapshot::{SectionKind, Snapshot, VmKind};
use tern_vmm::control::{Privilege, SnapshotRequest, VmKind as ApiKind, VmState};
use tern_vmm::process::config::ProcessConfig;
use tern_vmm::{Client, ClientError};

const CHILD: &str = "TERN_VMM_TEST_CHILD";
/// Where the program is loaded, and where its loop is.
const BASE: u64 = 0x10000;
const ENTRY: u64 = BASE + 64 + 56;

/// A static riscv64 ELF executable whose only instruction is `j .`.
fn spinning_elf() -> Vec<u8> {
    let mut e = Vec::new();
    e.extend_from_slice(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0");
    e.extend_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    e.extend_from_slice(&243u16.to_le_bytes()); // EM_RISCV
    e.extend_from_slice(&1u32.to_le_bytes());
    e.extend_from_slice(&ENTRY.to_le_bytes());
    e.extend_from_slice(&64u64.to_le_bytes()); // program headers
    e.extend_from_slice(&0u64.to_le_bytes()); // no section headers
    e.extend_from_slice(&5u32.to_le_bytes()); // RVC, double-float ABI
    for v in [64u16, 56, 1, 64, 0, 0] {
        e.extend_from_slice(&v.to_le_bytes());
    }
    let size = ENTRY - BASE + 4;
    e.extend_from_slice(&1u32.to_le_bytes()); // PT_LOAD
    e.extend_from_slice(&5u32.to_le_bytes()); // R | X
    for v in [0, BASE, BASE, size, size, 0x1000] {
        e.extend_from_slice(&v.to_le_bytes());
    }
    e.extend_from_slice(&0x0000_006fu32.to_le_bytes()); // j .
    assert_eq!(e.len() as u64, size);
    e
}

/// The child: runs the program with the API on the socket the parent named; never
/// returns (the process VM ends the host process).
fn child(sock: &Path, elf: &Path) -> ! {
    let opts = tern_linux::Options {
        memory: 32 << 20,
        slice: 100_000,
        api_sock: Some(sock.to_path_buf()),
        ..tern_linux::Options::default()
    };
    let prog = tern_linux::Program {
        path: elf.display().to_string(),
        argv: vec![b"spin".to_vec()],
        envp: Vec::new(),
    };
    let r = tern_linux::start::exec_with(opts, prog, |proc| {
        let config = ProcessConfig::of(&proc.opts, vec!["spin".into()]);
        if let Err(e) = tern_vmm::process::serve_process(sock, proc.clone(), config, None) {
            eprintln!("child: cannot serve: {e}");
            std::process::exit(3);
        }
    });
    eprintln!("child: the program ended: {r:?}");
    std::process::exit(4)
}

/// A child process VM and its client.
struct Vm {
    child: Child,
    client: Client,
    dir: tempfile::TempDir,
}

impl Vm {
    fn start() -> Vm {
        let dir = tempfile::tempdir().unwrap();
        let elf = dir.path().join("spin");
        std::fs::write(&elf, spinning_elf()).unwrap();
        let sock = dir.path().join("vm.sock");
        let child = Command::new(std::env::current_exe().unwrap())
            .env(CHILD, format!("{}\n{}", sock.display(), elf.display()))
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while !sock.exists() {
            assert!(Instant::now() < deadline, "the child never served {sock:?}");
            std::thread::sleep(Duration::from_millis(10));
        }
        let client = Client::new(&sock).with_timeout(Duration::from_secs(30));
        Vm { child, client, dir }
    }

    fn file(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    /// Waits for the child to end; its exit code and what it said on stderr.
    fn wait(mut self) -> (Option<i32>, String) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                let mut err = String::new();
                let _ = self.child.stderr.take().unwrap().read_to_string(&mut err);
                return (status.code(), err);
            }
            assert!(Instant::now() < deadline, "the child did not end");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Vm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn api_error<T: std::fmt::Debug>(r: Result<T, ClientError>) -> (u16, String) {
    match r {
        Err(ClientError::Api { status, message }) => (status, message),
        other => panic!("expected an API error, got {other:?}"),
    }
}

fn status_pause_resume_and_errors() {
    let vm = Vm::start();
    let st = vm.client.status().unwrap();
    assert_eq!((st.state, st.kind), (VmState::Running, ApiKind::Process));
    assert_eq!(st.harts.len(), 1, "one thread");
    // The thread's slow-path counters: its first fetch walked the page tables and
    // decoded the loop's block.
    let (code, body) = vm.client.raw("GET", "/metrics", None).unwrap();
    assert_eq!(code, 200);
    let text = String::from_utf8(body).unwrap();
    let tid = st.harts[0].id;
    for family in ["tlb_walks", "jump_cache_misses", "blocks_decoded"] {
        let series = format!("tern_hart_{family}_total{{hart=\"{tid}\"}} ");
        let line = text
            .lines()
            .find(|l| l.starts_with(&series))
            .unwrap_or_else(|| panic!("no {series} in\n{text}"));
        let v: f64 = line[series.len()..].parse().unwrap();
        assert!(v >= 1.0, "{line}");
        assert!(text.contains(&format!("# TYPE tern_hart_{family}_total counter")));
    }
    let names: Vec<&str> = st.devices.iter().map(|d| d.name.as_str()).collect();
    assert!(names.starts_with(&["fd0", "fd1", "fd2"]), "{names:?}");
    vm.client.pause().unwrap();
    vm.client.pause().unwrap();
    let st = vm.client.status().unwrap();
    assert_eq!(st.state, VmState::Paused);
    assert_eq!(st.harts[0].pc, ENTRY);
    assert_eq!(st.harts[0].privilege, Privilege::User);
    vm.client.resume().unwrap();
    vm.client.resume().unwrap();
    assert_eq!(vm.client.status().unwrap().state, VmState::Running);
    let mut req = SnapshotRequest::new(vm.file("i.tern"));
    req.incremental = true;
    assert_eq!(
        api_error(vm.client.snapshot(&req)),
        (
            409,
            "an incremental snapshot needs a previous snapshot of this VM".into()
        )
    );
    let mut req = SnapshotRequest::new(vm.file("d.tern"));
    req.include_disks = true;
    assert_eq!(
        api_error(vm.client.snapshot(&req)),
        (
            501,
            "include_disks: a process VM has no disks (its files are recorded by path)".into()
        )
    );
    assert_eq!(vm.client.status().unwrap().state, VmState::Running);
}

fn snapshot_then_stop() {
    let vm = Vm::start();
    let path = vm.file("p.tern");
    let info = vm.client.snapshot(&SnapshotRequest::new(&path)).unwrap();
    assert_eq!(vm.client.status().unwrap().state, VmState::Running);
    let snap = Snapshot::open(path.as_ref()).unwrap();
    assert_eq!(snap.id().to_string(), info.id);
    assert_eq!(snap.header().vm_kind, VmKind::Process);
    let states: Vec<String> = snap
        .sections()
        .into_iter()
        .filter(|s| s.kind == SectionKind::State)
        .map(|s| s.name)
        .collect();
    assert_eq!(states.len(), 3, "{states:?}");
    assert_eq!(&states[..2], ["config", "process"]);
    assert!(states[2].starts_with("thread."), "{states:?}");
    let (config, image) = tern_vmm::process::snapshot::decode_state(&snap).unwrap();
    assert_eq!(config.argv, ["spin"]);
    assert_eq!(image.threads[0].hart.pc, ENTRY);
    let mut req = SnapshotRequest::new(vm.file("p2.tern"));
    req.incremental = true;
    let info2 = vm.client.snapshot(&req).unwrap();
    assert_eq!(info2.parent.as_deref(), Some(info.id.as_str()));

    vm.client.stop().unwrap();
    let sock: PathBuf = vm.dir.path().join("vm.sock");
    let (code, err) = vm.wait();
    assert_eq!(code, Some(0), "stderr: {err}");
    assert!(!sock.exists(), "the socket file is removed");
}

fn main() {
    if let Ok(args) = std::env::var(CHILD) {
        let (sock, elf) = args.split_once('\n').expect("socket and program");
        child(Path::new(sock), Path::new(elf));
    }
    let tests: [(&str, fn()); 2] = [
        (
            "status_pause_resume_and_errors",
            status_pause_resume_and_errors,
        ),
        ("snapshot_then_stop", snapshot_then_stop),
    ];
    for (name, test) in tests {
        print!("test {name} ... ");
        test();
        println!("ok");
    }
    println!("\ntest result: ok. {} passed", tests.len());
}
