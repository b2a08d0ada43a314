//! Receiving a migration into a slice: `POST /slices/{name}/vms` with kind `receive`
//! starts `tern receive` in the slice's cgroup (its memory counted against the
//! slice first); a Linux guest running under a plain `tern run` is migrated into it
//! mid-workload and finishes there, inside the slice.

#[path = "common/migrate.rs"]
mod migrate;
#[path = "common/node.rs"]
mod node;
#[allow(dead_code)] // the snapshot tests' helpers this test does not use
#[path = "common/snapshot_vm.rs"]
mod snapshot_vm;
#[path = "common/virt.rs"]
mod virt;

use std::net::TcpListener;
use std::time::Duration;

use node::{wait_for, NodeDaemon};
use snapshot_vm::Vm;
use tern_node::spec::{CreateSlice, SliceSpec, StartVm, VmKind, VmState};

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, root, cgroups and the Linux guest images"]
fn a_vm_migrated_into_a_slice_finishes_there() {
    let scratch = tempfile::Builder::new()
        .prefix("trcv")
        .tempdir_in("/tmp")
        .unwrap();
    let d = NodeDaemon::start("2G", &[]);
    let c = d.client();
    c.create_slice(&CreateSlice {
        name: "dst".into(),
        spec: SliceSpec {
            memory_mib: 512,
            max_vms: 1,
            ..SliceSpec::default()
        },
    })
    .unwrap();
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let addr = format!("127.0.0.1:{port}");
    let receive = |memory_mib| StartVm {
        kind: VmKind::Receive,
        args: vec![
            "--listen".into(),
            format!("tcp:{addr}"),
            "--insecure".into(),
        ],
        memory_mib,
    };
    // Resource checks first: more memory than the slice holds is refused.
    let e = c.start_vm("dst", &receive(1024)).unwrap_err();
    assert_eq!(e.status(), Some(409), "{e}");
    let vm = c.start_vm("dst", &receive(256)).unwrap();
    wait_for(Duration::from_secs(30), "tern receive to listen", || {
        std::fs::read_to_string(&vm.log)
            .ok()
            .filter(|l| l.contains("waiting for a VM on"))
    });
    let in_slice = d.cgroups().pids("dst");
    assert!(
        in_slice.contains(&(vm.pid as i32)),
        "{:?} lacks {}",
        in_slice,
        vm.pid
    );

    // The source: a plain tern run outside any slice, counting.
    let disk = virt::disk_copy("node-receive");
    let src_sock = scratch.path().join("src.sock");
    let source = Vm::boot_migratable(
        "/tests/counter.sh",
        &["3000"],
        Some(&snapshot_vm::raw(&disk)),
        &src_sock,
    );
    migrate::wait_for_counter(&source, 200, Duration::from_secs(300));
    let m = migrate::migrate(&src_sock, &addr, &["--insecure"]);
    assert!(m.ok && m.output.contains("completed to"), "{}", m.output);
    let src_console = source.finish(Duration::from_secs(60));
    assert!(
        src_console.contains("tern: the VM moved to"),
        "{src_console}"
    );
    let console = wait_for(
        Duration::from_secs(600),
        "the workload to finish in the slice",
        || {
            std::fs::read_to_string(&vm.log)
                .ok()
                .filter(|l| l.contains("counter: ok") || l.contains("run exit status"))
        },
    );
    assert!(console.contains("counter: ok"), "{console}");
    assert!(console.contains("counter: lines 3000"), "{console}");
    // It ran in the slice until it powered off; the source had stopped counting.
    assert!(!src_console.contains("counter: ok"));
    let gone = wait_for(Duration::from_secs(30), "the VM to end", || {
        c.vm("dst", &vm.id)
            .ok()
            .filter(|v| v.state == VmState::Exited)
    });
    assert!(gone.exit.unwrap_or_default().contains("status 0"));
}
