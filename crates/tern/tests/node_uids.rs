//! A uid per sliver (`tern node serve --uid-range`): each slice's VM processes run as
//! the slice's own unprivileged uid (real, effective, saved), two slices get
//! different uids, a sliver's files are its uid's with nothing open to the other
//! sliver's uid, and a deleted slice's uid goes to the next slice. Checked from the
//! host: /proc/PID/status, and `setpriv` to act as the other sliver's uid.

#[path = "common/linux_user.rs"]
mod linux_user;
#[path = "common/node.rs"]
mod node;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use node::{wait_for, NodeDaemon};
use tern_node::spec::{CreateSlice, SliceSpec, StartVm, Vm, VmKind};

/// First uid of the test's range (far from the 200000 a real node would use).
const FIRST_UID: u32 = 231000;

/// The four uids (real, effective, saved, fs) of `pid`, from `Uid:` in its status.
fn uids(pid: u32, field: &str) -> Vec<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .unwrap()
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect()
}

/// Runs `args` as `uid` (gid `uid`, no groups): whether it succeeded, and its stderr.
fn as_uid(uid: u32, args: &[&str]) -> (bool, String) {
    let out = Command::new("setpriv")
        .args([
            &format!("--reuid={uid}"),
            &format!("--regid={uid}"),
            "--clear-groups",
            "--",
        ])
        .args(args)
        .output()
        .expect("setpriv (apt-get install util-linux)");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn start_idle(c: &tern_node::NodeClient, slice: &str, prog: &Path) -> Vm {
    c.start_vm(
        slice,
        &StartVm {
            kind: VmKind::Exec,
            // Allocate 1 MiB and sleep.
            args: vec![prog.display().to_string(), "hog".into(), "1".into()],
            memory_mib: 64,
        },
    )
    .unwrap()
}

#[test]
#[ignore = "full tier (scripts/test): needs root, the tern binary and a riscv64 guest (cross toolchain)"]
fn each_sliver_runs_as_its_own_uid_and_cannot_reach_the_other() {
    let prog = linux_user::build("slice_load", linux_user::Link::Static);
    // The VMs' uids must reach the program and the tern binary.
    assert!(
        as_uid(FIRST_UID, &["test", "-r", prog.to_str().unwrap()]).0,
        "{} is not readable by an unprivileged uid",
        prog.display()
    );
    let range = format!("{FIRST_UID}-{}", FIRST_UID + 9);
    let d = NodeDaemon::start("2G", &["--uid-range", &range]);
    // The scratch directory above the state directory is the test's (0700).
    std::fs::set_permissions(d.dir.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
    let c = d.client();
    let create = |name: &str| {
        c.create_slice(&CreateSlice {
            name: name.into(),
            spec: SliceSpec::default(),
        })
        .unwrap()
    };
    let a = create("ua");
    let b = create("ub");
    let (ua, ub) = (a.uid.unwrap(), b.uid.unwrap());
    assert_eq!((ua, ub), (FIRST_UID, FIRST_UID + 1));

    let vm_a = start_idle(&c, "ua", &prog);
    let vm_b = start_idle(&c, "ub", &prog);
    for (vm, uid) in [(&vm_a, ua), (&vm_b, ub)] {
        wait_for(Duration::from_secs(20), "the VM's control API", || {
            tern_vmm::Client::new(&vm.api_sock)
                .with_timeout(Duration::from_secs(5))
                .status()
                .ok()
        });
        assert_eq!(uids(vm.pid, "Uid:"), [uid; 4], "VM {}", vm.id);
        assert_eq!(uids(vm.pid, "Gid:"), [uid; 4], "VM {}", vm.id);
        assert_eq!(uids(vm.pid, "Groups:"), Vec::<u32>::new(), "VM {}", vm.id);
        // Its control socket is in its sliver's directory, which is its uid's alone.
        let dir = Path::new(&vm.api_sock).parent().unwrap();
        let meta = std::fs::metadata(dir).unwrap();
        assert_eq!((meta.uid(), meta.mode() & 0o777), (uid, 0o700), "{dir:?}");
    }

    // Signals: a process of B's uid cannot signal A's VM; one of A's uid can.
    let pid_a = vm_a.pid.to_string();
    let (ok, err) = as_uid(ub, &["kill", "-0", &pid_a]);
    assert!(!ok, "uid {ub} could signal uid {ua}'s VM");
    assert!(err.contains("ermitted"), "{err}");
    assert!(as_uid(ua, &["kill", "-0", &pid_a]).0);

    // Files: A's VM writes a snapshot into A's directory as A's uid; B's uid can
    // neither list the directory nor read the file, A's uid can.
    let dir_a = Path::new(&vm_a.api_sock).parent().unwrap().to_path_buf();
    let snap = dir_a.join("a.tern");
    tern_vmm::Client::new(&vm_a.api_sock)
        .with_timeout(Duration::from_secs(60))
        .snapshot(&tern_vmm::control::SnapshotRequest::new(
            snap.display().to_string(),
        ))
        .unwrap();
    assert_eq!(std::fs::metadata(&snap).unwrap().uid(), ua);
    let snap_s = snap.to_str().unwrap();
    let (ok, err) = as_uid(ub, &["head", "-c", "1", snap_s]);
    assert!(!ok && err.contains("ermission denied"), "{err}");
    let (ok, err) = as_uid(ub, &["ls", dir_a.to_str().unwrap()]);
    assert!(!ok && err.contains("ermission denied"), "{err}");
    assert!(as_uid(ua, &["head", "-c", "1", snap_s]).0);
    // Nor may B's uid read the node's logs or store.
    let state = d.state.to_str().unwrap().to_string();
    let (ok, _) = as_uid(ub, &["ls", &format!("{state}/vms")]);
    assert!(!ok, "uid {ub} can list the VM logs");
    let (ok, _) = as_uid(ub, &["head", "-c", "1", &format!("{state}/node.redb")]);
    assert!(!ok, "uid {ub} can read the node's store");

    // A system VM's disk image in the sliver's directory becomes the sliver's, 0600
    // (the VM then fails: no kernel; the image was given before it started); one
    // elsewhere is left alone.
    let disk = dir_a.join("disk.img");
    std::fs::write(&disk, [0u8; 4096]).unwrap();
    std::fs::set_permissions(&disk, std::fs::Permissions::from_mode(0o644)).unwrap();
    let outside = d.dir.path().join("outside.img");
    std::fs::write(&outside, [0u8; 4096]).unwrap();
    c.start_vm(
        "ua",
        &StartVm {
            kind: VmKind::Run,
            args: vec![
                "--drive".into(),
                format!("file={},format=raw", disk.display()),
                format!("--drive=file={},format=raw", outside.display()),
            ],
            memory_mib: 64,
        },
    )
    .unwrap();
    let meta = std::fs::metadata(&disk).unwrap();
    assert_eq!(
        (meta.uid(), meta.gid(), meta.mode() & 0o777),
        (ua, ua, 0o600)
    );
    assert_eq!(std::fs::metadata(&outside).unwrap().uid(), 0);

    // Deleting A frees its uid and its files; the next slice gets the uid.
    c.delete_slice("ua").unwrap();
    assert!(!dir_a.exists());
    let next = create("uc");
    assert_eq!(next.uid, Some(ua));
    assert_eq!(c.slice("ub").unwrap().uid, Some(ub));

    // A slice expiring with on_expiry snapshot: its VM writes the snapshot as the
    // sliver's uid, which then becomes the node's (root, 0600): the uid goes to the
    // next slice.
    c.create_slice(&CreateSlice {
        name: "ue".into(),
        spec: SliceSpec {
            lifetime_s: 2,
            on_expiry: tern_node::spec::OnExpiry::Snapshot,
            ..SliceSpec::default()
        },
    })
    .unwrap();
    let vm_e = start_idle(&c, "ue", &prog);
    wait_for(Duration::from_secs(20), "the VM's control API", || {
        tern_vmm::Client::new(&vm_e.api_sock).status().ok()
    });
    wait_for(Duration::from_secs(20), "the slice to expire", || {
        (c.slice("ue").err()?.status() == Some(404)).then_some(())
    });
    let saved = d
        .state
        .join("snapshots/ue")
        .join(format!("{}.tern", vm_e.id));
    let meta = std::fs::metadata(&saved)
        .unwrap_or_else(|e| panic!("{}: {e}\n{}", saved.display(), d.log()));
    assert_eq!((meta.uid(), meta.mode() & 0o777), (0, 0o600));
    assert!(meta.len() > 1 << 20);
    let meta = std::fs::metadata(saved.parent().unwrap()).unwrap();
    assert_eq!((meta.uid(), meta.mode() & 0o777), (0, 0o700));

    eprintln!("slivers ran as uids {ua} and {ub}; uid {ua} reused after delete");
}
