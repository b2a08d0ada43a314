//! VMs outlive their node manager: a `kill -9` of `tern node serve` leaves the VM
//! processes (detached, in their slice's cgroup) running; the next daemon on the same
//! state directory re-adopts the live ones (same pid and start time) and marks the
//! ones that ended meanwhile as exited.

#[path = "common/linux_user.rs"]
mod linux_user;
#[path = "common/node.rs"]
mod node;

use std::time::Duration;

use node::{pid_alive, wait_for, NodeDaemon};
use tern_node::spec::{CreateSlice, SliceSpec, StartVm, VmKind, VmState};

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary and a riscv64 guest (cross toolchain)"]
fn running_vms_are_readopted_after_the_daemon_is_killed() {
    let prog = linux_user::build("slice_load", linux_user::Link::Static);
    let mut d = NodeDaemon::start("2G", &[]);
    let c = d.client();
    c.create_slice(&CreateSlice {
        name: "keep".into(),
        spec: SliceSpec {
            memory_mib: 512,
            ..SliceSpec::default()
        },
    })
    .unwrap();
    let start = |c: &tern_node::NodeClient| {
        c.start_vm(
            "keep",
            &StartVm {
                kind: VmKind::Exec,
                args: vec![prog.display().to_string(), "spin".into()],
                memory_mib: 64,
            },
        )
        .unwrap()
    };
    let survivor = start(&c);
    let victim = start(&c);
    let status = |sock: &str| {
        tern_vmm::Client::new(sock)
            .with_timeout(Duration::from_secs(5))
            .status()
    };
    let before = wait_for(Duration::from_secs(20), "the VM's control API", || {
        status(&survivor.api_sock).ok()
    });

    let daemon_pid = d.pid().unwrap();
    d.kill9();
    assert!(!pid_alive(daemon_pid));
    assert!(pid_alive(survivor.pid), "the VM died with its node manager");
    // One VM ends while no manager watches.
    let killed = std::process::Command::new("kill")
        .args(["-9", &victim.pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    wait_for(Duration::from_secs(5), "the victim to end", || {
        (!pid_alive(victim.pid)).then_some(())
    });

    d.spawn();
    let c = d.client();
    let vms = c.vms("keep").unwrap();
    let s = vms.iter().find(|v| v.id == survivor.id).unwrap();
    assert_eq!(s.state, VmState::Running, "{s:?}");
    assert_eq!((s.pid, s.start_time), (survivor.pid, survivor.start_time));
    let v = vms.iter().find(|v| v.id == victim.id).unwrap();
    assert_eq!(v.state, VmState::Exited, "{v:?}");
    assert!(
        v.exit.as_deref().unwrap_or("").contains("not running"),
        "{v:?}"
    );
    assert_eq!(c.slice("keep").unwrap().running_vms, 1);
    let log = d.log();
    assert!(
        log.contains(&format!(
            "re-adopted VM {} (pid {})",
            survivor.id, survivor.pid
        )),
        "{log}"
    );
    assert!(
        log.contains(&format!(
            "VM {} (pid {}) ended while the node manager was down",
            victim.id, victim.pid
        )),
        "{log}"
    );

    // The re-adopted VM's own API still answers, and it kept running.
    let after = status(&survivor.api_sock).expect("the VM's API after the restart");
    assert!(
        after.instructions_retired > before.instructions_retired,
        "the VM did not run on: {} then {}",
        before.instructions_retired,
        after.instructions_retired
    );
    // Another VM can start beside it; the re-adopted one can be stopped.
    let third = start(&c);
    c.stop_vm("keep", &survivor.id).unwrap();
    wait_for(Duration::from_secs(5), "the stopped VM to end", || {
        (!pid_alive(survivor.pid)).then_some(())
    });
    assert_eq!(c.vm("keep", &survivor.id).unwrap_err().status(), Some(404));
    c.delete_slice("keep").unwrap();
    assert!(!pid_alive(third.pid));
    eprintln!(
        "re-adopted VM ran {} -> {} instructions across the restart",
        before.instructions_retired, after.instructions_retired
    );
}
