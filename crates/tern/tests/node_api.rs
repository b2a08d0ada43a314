//! The node manager's API (`tern node serve`): its OpenAPI document against the
//! routes it serves, slices through their whole life (admission, cgroup limits,
//! renewal, deletion, expiry) and the errors of bad requests.
//!
//! Needs root and cgroups: the daemon writes real cgroup files.

#[path = "common/linux_user.rs"]
mod linux_user;
#[path = "common/node.rs"]
mod node;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use node::{all_gone, pid_alive, wait_for, NodeDaemon};
use serde_json::Value;
use tern_node::spec::{CreateSlice, RenewSlice, SliceSpec, StartVm, VmKind, VmState};

fn error_of(body: &[u8]) -> String {
    let v: Value = serde_json::from_slice(body).unwrap_or_else(|e| {
        panic!(
            "error answer is not JSON ({e}): {}",
            String::from_utf8_lossy(body)
        )
    });
    v["error"].as_str().expect("an `error` field").to_string()
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, root and cgroups"]
fn openapi_describes_exactly_the_routes_served() {
    let d = NodeDaemon::start("1G", &[]);
    let c = d.client();
    let (status, body) = c.raw("GET", "/openapi.json", None).unwrap();
    assert_eq!(status, 200);
    assert!(
        body == tern_node::api::openapi_json().as_bytes(),
        "served = generated (checked in)"
    );
    let doc: Value = serde_json::from_slice(&body).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.insert((method.to_uppercase(), path.clone()));
        }
    }
    let served: BTreeSet<(String, String)> = tern_node::api::ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(
        documented, served,
        "OpenAPI paths vs the server's route table"
    );
    // Every documented route reaches a handler: never the fallback's 404 or a 405.
    for (method, path) in &documented {
        let concrete = path.replace("{name}", "nope").replace("{id}", "vm-0");
        let body = (method == "POST").then_some(&b"{}"[..]);
        let (status, answer) = c.raw(method, &concrete, body).unwrap();
        assert_ne!(status, 405, "{method} {path}");
        if status == 404 {
            let e = error_of(&answer);
            assert!(!e.contains("no route"), "{method} {path}: {e}");
        }
    }
    let (status, answer) = c.raw("GET", "/nowhere", None).unwrap();
    assert_eq!(status, 404);
    assert!(error_of(&answer).contains("no route for GET /nowhere"));
    let (status, answer) = c.raw("PUT", "/slices/x", None).unwrap();
    assert_eq!(status, 405);
    assert!(
        error_of(&answer).contains("use GET or DELETE"),
        "{}",
        error_of(&answer)
    );
}

fn spec(memory_mib: u64) -> SliceSpec {
    SliceSpec {
        memory_mib,
        ..SliceSpec::default()
    }
}

/// The value written in a slice's cgroup file, whichever layout (v2 or v1) the
/// host has.
fn cgroup_value(dirs: &[String], v2: &str, v1: &str) -> String {
    for d in dirs {
        for f in [v2, v1] {
            if let Ok(s) = std::fs::read_to_string(Path::new(d).join(f)) {
                return s.trim().to_string();
            }
        }
    }
    panic!("neither {v2} nor {v1} in {dirs:?}");
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, root and cgroups"]
fn slices_are_admitted_enforced_renewed_and_deleted() {
    let d = NodeDaemon::start("1G", &[]);
    let c = d.client();
    let a = c
        .create_slice(&CreateSlice {
            name: "alpha".into(),
            spec: SliceSpec {
                cpu_weight: 200,
                cpu_max_percent: Some(50),
                pids_max: 99,
                lifetime_s: 60,
                ..spec(512)
            },
        })
        .unwrap();
    assert_eq!(a.spec.memory_mib, 512);
    assert!(!a.cgroup.is_empty());
    assert_eq!(
        cgroup_value(&a.cgroup, "memory.max", "memory.limit_in_bytes"),
        (512u64 << 20).to_string()
    );
    assert_eq!(cgroup_value(&a.cgroup, "pids.max", "pids.max"), "99");
    let cpu = cgroup_value(&a.cgroup, "cpu.max", "cpu.cfs_quota_us");
    assert!(cpu == "50000 100000" || cpu == "50000", "{cpu}");
    let weight = cgroup_value(&a.cgroup, "cpu.weight", "cpu.shares");
    assert!(weight == "200" || weight == "2048", "{weight}");

    // Over quota: 768 MiB asked, 512 free.
    let e = c
        .create_slice(&CreateSlice {
            name: "beta".into(),
            spec: spec(768),
        })
        .unwrap_err();
    assert_eq!(e.status(), Some(409));
    let msg = e.to_string();
    assert!(
        msg.contains("not enough memory") && msg.contains("512 MiB are free"),
        "{msg}"
    );
    // Taken name.
    let e = c
        .create_slice(&CreateSlice {
            name: "alpha".into(),
            spec: spec(1),
        })
        .unwrap_err();
    assert_eq!(e.status(), Some(409));
    assert!(e.to_string().contains("exists already"));
    // Malformed and invalid requests: 400 with a JSON error.
    for (body, needle) in [
        (&b"{\"name\": \"x\", "[..], "invalid JSON"),
        (
            b"{\"name\": \"x\", \"spec\": {\"memory\": 1}}",
            "unknown field",
        ),
        (b"{\"name\": \"../x\"}", "not valid"),
        (
            b"{\"name\": \"x\", \"spec\": {\"cpu_weight\": 0}}",
            "cpu_weight 0",
        ),
        (b"", "empty"),
    ] {
        let (status, answer) = c.raw("POST", "/slices", Some(body)).unwrap();
        assert_eq!(status, 400, "{}", String::from_utf8_lossy(body));
        let e = error_of(&answer);
        assert!(e.contains(needle), "{e}");
    }
    // Unknown slice.
    let e = c.slice("gamma").unwrap_err();
    assert_eq!(e.status(), Some(404));
    assert!(e.to_string().contains("no slice `gamma`"));
    assert_eq!(c.delete_slice("gamma").unwrap_err().status(), Some(404));
    assert_eq!(c.vms("gamma").unwrap_err().status(), Some(404));

    // Renewal moves the expiry.
    let renewed = c
        .renew(
            "alpha",
            &RenewSlice {
                lifetime_s: Some(600),
            },
        )
        .unwrap();
    assert!(renewed.expires_ms >= a.expires_ms + 500_000);
    assert_eq!(
        c.renew(
            "alpha",
            &RenewSlice {
                lifetime_s: Some(0)
            }
        )
        .unwrap_err()
        .status(),
        Some(400)
    );
    let info = c.info().unwrap();
    assert_eq!(
        (info.memory_mib, info.memory_held_mib, info.slices),
        (1024, 512, 1)
    );

    // The slice list survives a daemon restart (the store).
    let mut d = d;
    d.kill9();
    d.spawn();
    let c = d.client();
    let listed: Vec<String> = c.slices().unwrap().into_iter().map(|s| s.name).collect();
    assert_eq!(listed, ["alpha"]);
    assert_eq!(c.slice("alpha").unwrap().expires_ms, renewed.expires_ms);

    c.delete_slice("alpha").unwrap();
    assert!(
        all_gone(&a.cgroup),
        "cgroup left after delete: {:?}",
        a.cgroup
    );
    assert_eq!(c.slice("alpha").unwrap_err().status(), Some(404));
    assert_eq!(c.info().unwrap().memory_held_mib, 0);
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary and a riscv64 guest (cross toolchain)"]
fn an_expired_slice_is_reclaimed_with_its_vms() {
    let prog = linux_user::build("slice_load", linux_user::Link::Static);
    let d = NodeDaemon::start("1G", &[]);
    let c = d.client();
    let s = c
        .create_slice(&CreateSlice {
            name: "brief".into(),
            spec: SliceSpec {
                lifetime_s: 2,
                ..spec(128)
            },
        })
        .unwrap();
    let created = Instant::now();
    let vm = c
        .start_vm(
            "brief",
            &StartVm {
                kind: VmKind::Exec,
                args: vec![prog.display().to_string(), "spin".into()],
                memory_mib: 64,
            },
        )
        .unwrap();
    assert_eq!(vm.state, VmState::Running);
    assert!(pid_alive(vm.pid));
    let pids = d.cgroups().pids("brief");
    assert!(
        pids.contains(&(vm.pid as i32)),
        "VM pid {} not in the slice's cgroup: {pids:?}",
        vm.pid
    );
    wait_for(Duration::from_secs(10), "the slice to expire", || {
        (c.slice("brief").err()?.status() == Some(404)).then_some(())
    });
    let took = created.elapsed();
    assert!(took >= Duration::from_secs(2), "expired after {took:?}");
    // The record goes first (no VM can start in it meanwhile), then its processes
    // and cgroup.
    wait_for(Duration::from_secs(5), "the VM to end", || {
        (!pid_alive(vm.pid)).then_some(())
    });
    wait_for(Duration::from_secs(5), "the cgroup to go", || {
        all_gone(&s.cgroup).then_some(())
    });
    let took = created.elapsed();
    assert_eq!(c.info().unwrap().memory_held_mib, 0);
    eprintln!("slice with a 2 s lifetime reclaimed after {took:?}");
}

/// Runs `tern slice --node-sock SOCK ARGS`; returns (exit status, stdout, stderr).
fn tern_slice(d: &NodeDaemon, args: &[&str]) -> (i32, String, String) {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_tern"))
        .arg("slice")
        .arg("--node-sock")
        .arg(&d.sock)
        .args(args)
        .output()
        .expect("run tern slice");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, root and cgroups"]
fn the_slice_commands_drive_the_node() {
    let d = NodeDaemon::start("1G", &[]);
    let (code, out, err) = tern_slice(
        &d,
        &[
            "create",
            "cli",
            "--memory",
            "64M",
            "--cpu-max",
            "30",
            "--cpu-weight",
            "300",
            "--pids-max",
            "40",
            "--lifetime",
            "90",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with(
            "cli: memory 64 MiB, cpu weight 300, cpu cap 30%, cpus shared, pids 40, VMs 0/4"
        ),
        "{out}"
    );
    let (code, out, _) = tern_slice(&d, &["list", "--json"]);
    assert_eq!(code, 0);
    let listed: Vec<tern_node::spec::Slice> = serde_json::from_str(&out).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].spec.memory_mib, 64);
    assert_eq!(listed[0].spec.lifetime_s, 90);
    let (code, out, _) = tern_slice(&d, &["renew", "cli", "--lifetime", "900", "--json"]);
    assert_eq!(code, 0);
    let renewed: Vec<tern_node::spec::Slice> = serde_json::from_str(&out).unwrap();
    assert!(renewed[0].expires_ms > listed[0].expires_ms + 800_000);
    // Errors: the node's message, exit status 1.
    let (code, _, err) = tern_slice(&d, &["create", "big", "--memory", "2G"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("not enough memory") && err.contains("HTTP 409"),
        "{err}"
    );
    let (code, _, err) = tern_slice(&d, &["show", "nope"]);
    assert_eq!(code, 1);
    assert!(err.contains("no slice `nope`"), "{err}");
    let (code, _, err) = tern_slice(&d, &["vm", "list", "nope"]);
    assert_eq!(code, 1);
    assert!(err.contains("HTTP 404"), "{err}");
    let (code, _, err) = tern_slice(&d, &["delete", "cli"]);
    assert_eq!(code, 0, "{err}");
    assert!(d.client().slices().unwrap().is_empty());
    // No node there: the message says which socket and what to start.
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_tern"))
        .args(["slice", "--node-sock", "/nonexistent/node.sock", "list"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("node manager at /nonexistent/node.sock: cannot connect"),
        "{err}"
    );
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary and a riscv64 guest (cross toolchain)"]
fn an_expiring_slice_can_leave_its_vms_as_snapshots() {
    let prog = linux_user::build("slice_load", linux_user::Link::Static);
    let d = NodeDaemon::start("1G", &[]);
    let c = d.client();
    c.create_slice(&CreateSlice {
        name: "saved".into(),
        spec: SliceSpec {
            lifetime_s: 2,
            on_expiry: tern_node::spec::OnExpiry::Snapshot,
            ..spec(128)
        },
    })
    .unwrap();
    let vm = c
        .start_vm(
            "saved",
            &StartVm {
                kind: VmKind::Exec,
                args: vec![prog.display().to_string(), "spin".into()],
                memory_mib: 64,
            },
        )
        .unwrap();
    let snap = d
        .state
        .join("snapshots/saved")
        .join(format!("{}.tern", vm.id));
    wait_for(Duration::from_secs(20), "the slice to expire", || {
        (c.slice("saved").err()?.status() == Some(404)).then_some(())
    });
    wait_for(Duration::from_secs(10), "the VM to end", || {
        (!pid_alive(vm.pid)).then_some(())
    });
    assert!(
        snap.is_file(),
        "no snapshot at {}:\n{}",
        snap.display(),
        d.log()
    );
    // The snapshot resumes the guest.
    let sock = d.dir.path().join("restored.sock");
    let mut restored = std::process::Command::new(env!("CARGO_BIN_EXE_tern"))
        .arg("restore")
        .arg(&snap)
        .arg("--api-sock")
        .arg(&sock)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let status = wait_for(Duration::from_secs(20), "the restored VM's API", || {
        tern_vmm::Client::new(&sock)
            .status()
            .ok()
            .filter(|s| s.instructions_retired > 0)
    });
    let _ = restored.kill();
    let _ = restored.wait();
    eprintln!(
        "expired slice's VM saved to {} ({} bytes), restored at {} instructions",
        snap.display(),
        std::fs::metadata(&snap).unwrap().len(),
        status.instructions_retired
    );
}
