//! VMs in a slice: a system VM (`tern run`, the test Linux guest) boots inside its
//! slice's cgroup with its own control API, the slice's max_vms and memory are
//! counted against VM requests, and stopping the VM ends its process. Host CPUs
//! dedicated to a slice are its VMs' alone.

#[path = "common/linux_user.rs"]
mod linux_user;
#[path = "common/node.rs"]
mod node;
#[path = "common/virt.rs"]
mod virt;

use std::time::Duration;

use node::{pid_alive, wait_for, NodeDaemon};
use tern_node::spec::{CreateSlice, SliceSpec, StartVm, VmKind, VmState};

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary and the Linux guest images"]
fn a_system_vm_boots_in_its_slice_within_the_slices_bounds() {
    let boot = virt::Boot::linux(1, None, &[]);
    // `tern run` ARGS without "run" itself; the node adds --memory and --api-sock.
    let args: Vec<String> = boot.args()[1..].to_vec();
    let d = NodeDaemon::start("2G", &[]);
    let c = d.client();
    c.create_slice(&CreateSlice {
        name: "sys".into(),
        spec: SliceSpec {
            memory_mib: 512,
            max_vms: 1,
            ..SliceSpec::default()
        },
    })
    .unwrap();
    let too_big = c
        .start_vm(
            "sys",
            &StartVm {
                kind: VmKind::Run,
                args: args.clone(),
                memory_mib: 1024,
            },
        )
        .unwrap_err();
    assert_eq!(too_big.status(), Some(409));
    assert!(
        too_big
            .to_string()
            .contains("asks for 1024 MiB but 512 MiB"),
        "{too_big}"
    );
    let vm = c
        .start_vm(
            "sys",
            &StartVm {
                kind: VmKind::Run,
                args: args.clone(),
                memory_mib: 256,
            },
        )
        .unwrap();
    assert!(d.cgroups().pids("sys").contains(&(vm.pid as i32)));
    let log = wait_for(Duration::from_secs(120), "Linux to reach init", || {
        let log = std::fs::read_to_string(&vm.log).ok()?;
        log.contains("tern: init on Linux").then_some(log)
    });
    let status = tern_vmm::Client::new(&vm.api_sock).status().unwrap();
    assert_eq!(status.memory.size_bytes, 256 << 20, "{status:?}");
    let second = c
        .start_vm(
            "sys",
            &StartVm {
                kind: VmKind::Run,
                args,
                memory_mib: 64,
            },
        )
        .unwrap_err();
    assert_eq!(second.status(), Some(409));
    assert!(second.to_string().contains("max_vms"), "{second}");
    let usage = c.slice("sys").unwrap().usage.unwrap();
    assert!(usage.memory_bytes > 16 << 20, "{usage:?}");
    c.stop_vm("sys", &vm.id).unwrap();
    assert!(!pid_alive(vm.pid));
    assert!(c
        .vms("sys")
        .unwrap()
        .iter()
        .all(|v| v.state != VmState::Running));
    eprintln!(
        "system VM booted in its slice; slice memory {} MiB, {} lines of console",
        usage.memory_bytes >> 20,
        log.lines().count()
    );
}

/// The `Cpus_allowed_list` of every thread of process `pid`.
fn allowed(pid: u32) -> Vec<String> {
    let mut out = Vec::new();
    for t in std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .flatten()
    {
        let status = std::fs::read_to_string(t.path().join("status")).unwrap_or_default();
        if let Some(l) = status
            .lines()
            .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        {
            out.push(l.trim().to_string());
        }
    }
    assert!(!out.is_empty(), "no threads of {pid}");
    out
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary and a riscv64 guest (cross toolchain)"]
fn dedicated_cpus_partition_the_host_between_slices() {
    let n = std::thread::available_parallelism().unwrap().get();
    assert!(
        n >= 2,
        "this test needs a host with 2 CPUs or more (it has {n})"
    );
    let all = format!("0-{}", n - 1);
    let last = (n - 1) as u32;
    let prog = linux_user::build("slice_load", linux_user::Link::Static);
    let d = NodeDaemon::start("2G", &[]);
    let c = d.client();
    let slice = |name: &str, cpus: Vec<u32>| {
        c.create_slice(&CreateSlice {
            name: name.into(),
            spec: SliceSpec {
                memory_mib: 128,
                cpus,
                ..SliceSpec::default()
            },
        })
    };
    let spin = |name: &str| {
        c.start_vm(
            name,
            &StartVm {
                kind: VmKind::Exec,
                args: vec![prog.display().to_string(), "spin".into()],
                memory_mib: 64,
            },
        )
        .unwrap()
    };
    slice("shared", vec![]).unwrap();
    let shared = spin("shared");
    assert!(
        allowed(shared.pid).iter().all(|a| *a == all),
        "{:?}",
        allowed(shared.pid)
    );

    slice("pinned", vec![last]).unwrap();
    let pinned = spin("pinned");
    assert!(
        allowed(pinned.pid).iter().all(|a| *a == last.to_string()),
        "{:?}",
        allowed(pinned.pid)
    );
    // The running time-shared VM was moved off the dedicated CPU, every thread.
    let rest = if n == 2 {
        "0".to_string()
    } else {
        format!("0-{}", n - 2)
    };
    assert!(
        allowed(shared.pid).iter().all(|a| *a == rest),
        "{:?}",
        allowed(shared.pid)
    );
    assert_eq!(c.info().unwrap().dedicated_cpus, [last]);

    let e = slice("other", vec![last]).unwrap_err();
    assert_eq!(e.status(), Some(409));
    assert!(
        e.to_string()
            .contains(&format!("CPU {last} is dedicated to slice `pinned`")),
        "{e}"
    );
    let e = slice("greedy", (0..last).collect()).unwrap_err();
    assert!(
        e.to_string()
            .contains("would leave no CPU for time-shared slices"),
        "{e}"
    );

    // Giving the CPU back widens the time-shared VMs again.
    c.delete_slice("pinned").unwrap();
    assert!(!pid_alive(pinned.pid));
    assert!(
        allowed(shared.pid).iter().all(|a| *a == all),
        "{:?}",
        allowed(shared.pid)
    );
    assert!(c.info().unwrap().dedicated_cpus.is_empty());
}
