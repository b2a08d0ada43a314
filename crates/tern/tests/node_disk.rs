//! A slice's disk limits: `disk_bps` / `disk_iops` are written to its cgroup for the
//! disk of the node's state directory (`io.max` on cgroup v2; on a hybrid host whose
//! io controller is bound to v1, the `blkio.throttle` files), and a process VM's
//! synchronous writes are held to the rate (measured against a slice without it).

#[path = "common/linux_user.rs"]
mod linux_user;
#[path = "common/node.rs"]
mod node;

use std::time::Duration;

use node::{wait_for, NodeDaemon};
use tern_node::spec::{CreateSlice, SliceSpec, StartVm, VmKind};

/// Runs `disk_write FILE MIB` in `slice` and returns the KiB/s it printed.
fn write_rate(d: &NodeDaemon, slice: &str, prog: &std::path::Path, mib: u32) -> f64 {
    let file = d.dir.path().join(format!("{slice}.bin"));
    let vm = d
        .client()
        .start_vm(
            slice,
            &StartVm {
                kind: VmKind::Exec,
                args: vec![
                    prog.display().to_string(),
                    file.display().to_string(),
                    mib.to_string(),
                ],
                memory_mib: 64,
            },
        )
        .unwrap();
    let line = wait_for(Duration::from_secs(60), "the disk writes", || {
        let log = std::fs::read_to_string(&vm.log).ok()?;
        assert!(!log.contains("write:") && !log.contains("open:"), "{log}");
        log.lines()
            .find(|l| l.starts_with("wrote "))
            .map(str::to_string)
    });
    let _ = std::fs::remove_file(&file);
    eprintln!("slice {slice}: {line}");
    line.rsplit(": ")
        .next()
        .and_then(|r| r.strip_suffix(" KiB/s"))
        .and_then(|r| r.parse().ok())
        .unwrap_or_else(|| panic!("no rate in `{line}`"))
}

#[test]
#[ignore = "full tier (scripts/test): needs root, a block device under /tmp, the tern binary and a riscv64 guest"]
fn disk_bandwidth_is_limited_per_slice() {
    let prog = linux_user::build("disk_write", linux_user::Link::Static);
    let d = NodeDaemon::start("2G", &[]);
    let c = d.client();
    let (major, minor) = tern_node::disk_io::block_device_of(&d.state)
        .expect("the tests' state directory (under /tmp) must be on a block device");
    let bps = 1u64 << 20;
    let slow = c
        .create_slice(&CreateSlice {
            name: "slow".into(),
            spec: SliceSpec {
                disk_bps: Some(bps),
                disk_iops: Some(5000),
                ..SliceSpec::default()
            },
        })
        .unwrap_or_else(|e| panic!("{e}\n{}", d.log()));
    assert!(slow.spec.disk_bps == Some(bps));
    let limits = d.cgroups().disk_limits("slow");
    let dev = format!("{major}:{minor}");
    if limits.contains("rbps=") {
        assert!(
            limits.contains(&format!(
                "{dev} rbps={bps} wbps={bps} riops=5000 wiops=5000"
            )),
            "io.max: {limits}"
        );
    } else {
        for (file, v) in [
            ("read_iops", 5000),
            ("write_iops", 5000),
            ("read_bps", bps),
            ("write_bps", bps),
        ] {
            assert!(
                limits.contains(&format!("{file}: {dev} {v}")),
                "{file} not {v} in:\n{limits}"
            );
        }
    }
    c.create_slice(&CreateSlice {
        name: "fast".into(),
        spec: SliceSpec::default(),
    })
    .unwrap();
    let zero = c
        .create_slice(&CreateSlice {
            name: "zero".into(),
            spec: SliceSpec {
                disk_bps: Some(0),
                ..SliceSpec::default()
            },
        })
        .unwrap_err();
    assert_eq!(zero.status(), Some(400), "{zero}");

    let limited = write_rate(&d, "slow", &prog, 3);
    let free = write_rate(&d, "fast", &prog, 3);
    // 1 MiB/s is 1024 KiB/s; a first burst may go through before the throttle.
    assert!(
        limited < 1024.0 * 1.15,
        "limited slice wrote {limited} KiB/s"
    );
    assert!(
        free > 2.0 * limited,
        "unlimited {free} KiB/s, limited {limited} KiB/s"
    );
}

/// Starts `slice_load hog 1` (1 MiB touched, then asleep) with `memory_mib` in `slice`
/// and waits for its control API.
fn idle_vm(c: &tern_node::NodeClient, slice: &str, memory_mib: u64) -> tern_node::spec::Vm {
    let prog = linux_user::build("slice_load", linux_user::Link::Static);
    let vm = c
        .start_vm(
            slice,
            &StartVm {
                kind: VmKind::Exec,
                args: vec![prog.display().to_string(), "hog".into(), "1".into()],
                memory_mib,
            },
        )
        .unwrap();
    wait_for(Duration::from_secs(20), "the VM's control API", || {
        tern_vmm::Client::new(&vm.api_sock)
            .with_timeout(Duration::from_secs(5))
            .status()
            .ok()
    });
    vm
}

#[test]
#[ignore = "full tier (scripts/test): needs root, the tern binary and a riscv64 guest"]
fn the_disk_quota_is_checked_before_images_snapshots_and_services() {
    let d = NodeDaemon::start("2G", &[]);
    let c = d.client();
    let create = |name: &str, disk_mib: u64| {
        c.create_slice(&CreateSlice {
            name: name.into(),
            spec: SliceSpec {
                disk_mib,
                ..SliceSpec::default()
            },
        })
        .unwrap()
    };
    assert_eq!(
        create("dflt", SliceSpec::default().disk_mib).spec.disk_mib,
        5120
    );
    create("roomy", 200);
    create("tiny", 50);

    // A snapshot within the quota is written into the sliver's directory.
    let vm = idle_vm(&c, "roomy", 64);
    let snap = c.snapshot_vm("roomy", &vm.id).unwrap();
    let len = std::fs::metadata(&snap.path).unwrap().len();
    assert_eq!(snap.bytes, len);
    assert!(len > 1 << 20, "a 64 MiB VM's snapshot of {len} bytes");
    assert!(snap.disk_used_bytes >= len, "{snap:?}");
    assert!(snap.path.contains("/slivers/roomy/"), "{snap:?}");
    // A second one through the CLI fits (64 + 80 of 200 MiB); a third does not, the
    // two written counting against the quota.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tern"))
        .args(["slice", "--node-sock"])
        .arg(&d.sock)
        .args(["vm", "snapshot", "roomy", &vm.id])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("/slivers/roomy/") && text.contains(" bytes;"),
        "{text}"
    );
    let e = c.snapshot_vm("roomy", &vm.id).unwrap_err();
    assert_eq!(e.status(), Some(507), "{e}");
    // /metrics reports the slice's use against its quota.
    let (status, text) = c.raw("GET", "/metrics", None).unwrap();
    assert_eq!(status, 200);
    let text = String::from_utf8_lossy(&text);
    assert!(
        text.contains("tern_slice_disk_quota_bytes{slice=\"roomy\"} 209715200"),
        "{text}"
    );
    let used: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("tern_slice_disk_bytes{slice=\"roomy\"} "))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{text}"));
    assert!(used >= 2.0 * len as f64, "{used}");
    assert!(
        e.to_string()
            .contains("MiB of its 200 MiB are free (129 MiB used)"),
        "{e}"
    );

    // One whose VM's memory (64 MiB, plus 16 for the rest) exceeds the quota is not.
    let vm = idle_vm(&c, "tiny", 64);
    let e = c.snapshot_vm("tiny", &vm.id).unwrap_err();
    assert_eq!(e.status(), Some(507), "{e}");
    assert!(
        e.to_string().contains(&format!(
            "disk quota of slice `tiny`: a snapshot of VM {} may take up to: 80 MiB, but only \
             50 MiB of its 50 MiB are free (0 MiB used)",
            vm.id
        )),
        "{e}"
    );

    // A system VM's disk image outside the sliver counts at its size (raw: fixed),
    // so 60 MiB do not fit 50.
    let image = d.dir.path().join("big.img");
    std::fs::File::create(&image)
        .unwrap()
        .set_len(60 << 20)
        .unwrap();
    let e = c
        .start_vm(
            "tiny",
            &StartVm {
                kind: VmKind::Run,
                args: vec![
                    "--drive".into(),
                    format!("file={},format=raw", image.display()),
                ],
                memory_mib: 64,
            },
        )
        .unwrap_err();
    assert_eq!(e.status(), Some(507), "{e}");
    assert!(
        e.to_string()
            .contains("the VM's disk images take: 60 MiB, but only 50 MiB of its 50 MiB"),
        "{e}"
    );

    // A service's snapshot counts too: the snapshot above does not fit 1 MiB.
    create("one", 1);
    let e = c
        .add_service(
            "one",
            &serde_json::from_value::<tern_node::service::CreateService>(serde_json::json!({
                "name": "svc-one",
                "port": 1,
                "listen": "127.0.0.1",
                "snapshot": snap.path,
            }))
            .unwrap(),
        )
        .unwrap_err();
    assert_eq!(e.status(), Some(507), "{e}");
    assert!(
        e.to_string().contains("service `svc-one`'s snapshot takes"),
        "{e}"
    );
    eprintln!("snapshot of a 64 MiB process VM: {len} bytes");
}
