//! VMs in a slice: a system VM (`tern run`, the test Linux guest) boots inside its
//! slice's cgroup with its own control API, the slice's max_vms and memory are
//! counted against VM requests, and stopping the VM ends its process.

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
