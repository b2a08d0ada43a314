//! A slice's limits hold against its own guests, and its neighbours do not notice:
//! a fork bomb in a process VM stops at the slice's `pids.max` while the node keeps
//! answering; a guest allocating beyond the slice's memory is ended by the kernel
//! (the slice's cgroup OOM) while a VM of another slice runs on.

#[path = "common/linux_user.rs"]
mod linux_user;
#[path = "common/node.rs"]
mod node;

use std::time::{Duration, Instant};

use node::{all_gone, pid_alive, wait_for, NodeDaemon};
use tern_node::spec::{CreateSlice, SliceSpec, StartVm, VmKind, VmState};
use tern_node::NodeClient;

fn slice(c: &NodeClient, name: &str, spec: SliceSpec) -> tern_node::spec::Slice {
    c.create_slice(&CreateSlice {
        name: name.into(),
        spec,
    })
    .unwrap()
}

fn start(c: &NodeClient, slice: &str, memory_mib: u64, args: &[&str]) -> tern_node::spec::Vm {
    let prog = linux_user::build("slice_load", linux_user::Link::Static);
    let mut a = vec![prog.display().to_string()];
    a.extend(args.iter().map(|s| s.to_string()));
    c.start_vm(
        slice,
        &StartVm {
            kind: VmKind::Exec,
            args: a,
            memory_mib,
        },
    )
    .unwrap()
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary and a riscv64 guest (cross toolchain)"]
fn a_fork_bomb_stops_at_pids_max_and_the_node_stays_responsive() {
    let d = NodeDaemon::start("2G", &[]);
    let c = d.client();
    let s = slice(
        &c,
        "bomb",
        SliceSpec {
            pids_max: 64,
            memory_mib: 1024,
            ..SliceSpec::default()
        },
    );
    let vm = start(&c, "bomb", 64, &["forkbomb"]);
    let usage = wait_for(Duration::from_secs(30), "forks refused at pids.max", || {
        c.slice("bomb").ok()?.usage.filter(|u| u.pids_max_hits > 0)
    });
    assert!(usage.pids_current <= 64, "{usage:?}");
    // The node answers promptly while the bomb keeps trying.
    let mut slowest = Duration::ZERO;
    for _ in 0..20 {
        let t = Instant::now();
        c.info().expect("the node answers during the fork bomb");
        c.slices().unwrap();
        slowest = slowest.max(t.elapsed());
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        slowest < Duration::from_secs(1),
        "slowest answer {slowest:?}"
    );
    let usage = c.slice("bomb").unwrap().usage.unwrap();
    assert!(
        usage.pids_current <= 64 && usage.pids_current >= 32,
        "{usage:?}"
    );
    // The same figures on the node's Prometheus endpoint, with the VM's CPU time.
    let (status, text) = c.raw("GET", "/metrics", None).unwrap();
    assert_eq!(status, 200);
    let text = String::from_utf8(text).unwrap();
    let value = |prefix: &str| -> f64 {
        let line = text
            .lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} in:\n{text}"));
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    assert!(value("tern_slice_pids_max_refusals_total{slice=\"bomb\"}") > 0.0);
    assert!(value("tern_slice_processes{slice=\"bomb\"}") <= 64.0);
    let vm_cpu = format!(
        "tern_vm_cpu_seconds_total{{slice=\"bomb\",vm=\"{}\"}}",
        vm.id
    );
    assert!(value(&vm_cpu) > 0.0, "{text}");
    let log = std::fs::read_to_string(&vm.log).unwrap();
    assert!(
        log.contains("fork refused: Resource temporarily unavailable"),
        "{log}"
    );
    // Deleting the slice ends every process of the bomb.
    let t = Instant::now();
    c.delete_slice("bomb").unwrap();
    assert!(all_gone(&s.cgroup));
    assert!(!pid_alive(vm.pid));
    eprintln!(
        "fork bomb: {} processes, pids.max hit {} times; slowest node answer {slowest:?}; \
         slice deleted in {:?}",
        usage.pids_current,
        usage.pids_max_hits,
        t.elapsed()
    );
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary and a riscv64 guest (cross toolchain)"]
fn a_guest_beyond_its_slice_memory_is_stopped_and_its_neighbour_runs_on() {
    let d = NodeDaemon::start("2G", &[]);
    let c = d.client();
    let small = SliceSpec {
        memory_mib: 128,
        ..SliceSpec::default()
    };
    slice(&c, "neighbour", small.clone());
    slice(&c, "greedy", small);
    let calm = start(&c, "neighbour", 64, &["spin"]);
    let status = |sock: &str| {
        tern_vmm::Client::new(sock)
            .with_timeout(Duration::from_secs(5))
            .status()
            .ok()
    };
    let before = wait_for(Duration::from_secs(20), "the neighbour's API", || {
        status(&calm.api_sock)
    });
    // The VM may use all of the slice's 128 MiB for its guest: with tern's own
    // memory on top, the guest's 200 MiB cannot fit.
    let hog = start(&c, "greedy", 128, &["hog", "200"]);
    let ended = wait_for(
        Duration::from_secs(60),
        "the greedy VM to be stopped",
        || {
            c.vm("greedy", &hog.id)
                .ok()
                .filter(|v| v.state == VmState::Exited)
        },
    );
    assert_eq!(
        ended.exit.as_deref(),
        Some("killed by signal 9"),
        "{ended:?}"
    );
    let usage = c.slice("greedy").unwrap().usage.unwrap();
    assert!(usage.oom_kills >= 1, "{usage:?}");
    let log = std::fs::read_to_string(&hog.log).unwrap();
    assert!(
        !log.contains("hog 128"),
        "the guest got past the slice's memory: {log}"
    );
    let calm_now = c.vm("neighbour", &calm.id).unwrap();
    assert_eq!(calm_now.state, VmState::Running);
    let after = status(&calm.api_sock).expect("the neighbour's API");
    assert!(after.instructions_retired > before.instructions_retired);
    eprintln!(
        "greedy VM {}; neighbour ran {} -> {} instructions",
        ended.exit.unwrap_or_default(),
        before.instructions_retired,
        after.instructions_retired
    );
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary and a riscv64 guest (cross toolchain)"]
fn the_log_of_a_guest_printing_without_end_stays_bounded() {
    let d = NodeDaemon::start("2G", &[]);
    let c = d.client();
    slice(&c, "loud", SliceSpec::default());
    let vm = start(&c, "loud", 64, &["chatter"]);
    let cap = tern_node::node::MAX_LOG_BYTES;
    wait_for(
        Duration::from_secs(60),
        "the log to be emptied once",
        || {
            let log = std::fs::read(&vm.log).ok()?;
            String::from_utf8_lossy(&log)
                .contains("[tern node: log emptied at ")
                .then_some(())
        },
    );
    // The node looks every 250 ms: between two looks the log grows by what the
    // guest writes meanwhile (hundreds of MiB on a tmpfs), so the bound is loose,
    // but it holds: 3 s of this guest would otherwise leave gigabytes.
    let mut largest = 0;
    let mut emptied = 0;
    let mut last = 0;
    for _ in 0..30 {
        let len = std::fs::metadata(&vm.log).unwrap().len();
        emptied += usize::from(len < last);
        last = len;
        largest = largest.max(len);
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(largest < 1 << 30, "log reached {largest} bytes (cap {cap})");
    assert!(emptied >= 2, "the log was emptied {emptied} times in 3 s");
    assert_eq!(c.vm("loud", &vm.id).unwrap().state, VmState::Running);
    eprintln!("log of a chattering guest: at most {largest} bytes seen, emptied {emptied} times in 3 s (cap {cap})");
}
