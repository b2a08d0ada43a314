//! The `tern status|pause|resume|snapshot|stop` glue against a served real system VM.

mod common;

use std::path::PathBuf;

use common::serve_system;
use tern_vmm::cli::{
    pause_to, resume_to, snapshot_to, status_to, stop_to, Output, SnapshotOptions,
};
use tern_vmm::control::{Compression, SnapshotInfo, VmState, VmStatus};

fn text(f: impl FnOnce(&mut Vec<u8>) -> anyhow::Result<i32>) -> String {
    let mut out = Vec::new();
    assert_eq!(f(&mut out).unwrap(), 0);
    String::from_utf8(out).unwrap()
}

#[test]
fn status_prints_text_or_json() {
    let s = serve_system();
    let human = text(|o| status_to(o, &s.sock(), Output::Human));
    assert!(
        human.starts_with("state         running\nkind          system\n"),
        "{human}"
    );
    assert!(human.contains("memory        16.0 MiB ("), "{human}");
    assert!(human.contains("harts         2\n"), "{human}");
    assert!(human.contains("  uart              ns16550a\n"), "{human}");
    s.client.pause().unwrap();
    let human = text(|o| status_to(o, &s.sock(), Output::Human));
    assert!(human.contains("  pc 0x0000000080000000"), "{human}");
    let json = text(|o| status_to(o, &s.sock(), Output::Json));
    let st: VmStatus = serde_json::from_str(&json).unwrap();
    assert_eq!(st.state, VmState::Paused);
}

#[test]
fn pause_resume_stop_print_the_new_state() {
    let s = serve_system();
    assert_eq!(text(|o| pause_to(o, &s.sock())), "paused\n");
    assert_eq!(s.client.status().unwrap().state, VmState::Paused);
    assert_eq!(text(|o| resume_to(o, &s.sock())), "running\n");
    assert_eq!(text(|o| stop_to(o, &s.sock())), "stopped\n");
    assert_eq!(s.client.status().unwrap().state, VmState::Stopped);
}

#[test]
fn errors_carry_the_servers_message() {
    let s = serve_system();
    s.client.stop().unwrap();
    let err = resume_to(&mut Vec::new(), &s.sock()).unwrap_err();
    assert_eq!(format!("{err:#}"), "the VM has stopped (HTTP 409)");

    let missing = s.dir.path().join("nobody.sock");
    let err = status_to(&mut Vec::new(), &missing, Output::Human).unwrap_err();
    let msg = format!("{err:#}");
    assert!(
        msg.starts_with("cannot connect to the VM control socket"),
        "{msg}"
    );
    assert!(msg.contains("nobody.sock"), "{msg}");
    assert_eq!(msg.matches("os error").count(), 1, "{msg}");
}

#[test]
fn snapshot_prints_what_was_written() {
    let s = serve_system();
    let mut opts = SnapshotOptions {
        out: PathBuf::from(s.file("a.snap")),
        incremental: false,
        zstd: false,
        include_disks: false,
    };
    let line = text(|o| snapshot_to(o, &s.sock(), &opts, Output::Human));
    let id = line["snapshot ".len()..]
        .split(' ')
        .next()
        .unwrap()
        .to_string();
    let file = tern_snapshot::Snapshot::open(s.file("a.snap").as_ref()).unwrap();
    assert_eq!(file.id().to_string(), id);
    assert!(
        line.starts_with(&format!("snapshot {id} written to {}: ", s.file("a.snap"))),
        "{line}"
    );
    assert!(line.contains(" pages, VM held "), "{line}");
    opts.out = PathBuf::from(s.file("b.snap"));
    opts.incremental = true;
    opts.zstd = true;
    let line = text(|o| snapshot_to(o, &s.sock(), &opts, Output::Human));
    assert!(
        line.trim_end()
            .ends_with(&format!(", incremental to {id}, zstd")),
        "{line}"
    );
    let json = text(|o| snapshot_to(o, &s.sock(), &opts, Output::Json));
    let info: SnapshotInfo = serde_json::from_str(&json).unwrap();
    assert_eq!(info.compress, Compression::Zstd);
    assert!(info.parent.is_some() && info.parent.as_deref() != Some(id.as_str()));
    // The machine is stopped: the error is the VM's own.
    s.client.stop().unwrap();
    let err = snapshot_to(&mut Vec::new(), &s.sock(), &opts, Output::Human).unwrap_err();
    assert_eq!(format!("{err:#}"), "the VM has stopped (HTTP 409)");
}

#[test]
fn a_relative_out_path_is_resolved_by_the_caller() {
    let opts = SnapshotOptions {
        out: PathBuf::from("sub/vm.snap"),
        incremental: false,
        zstd: true,
        include_disks: true,
    };
    let req = opts.request().unwrap();
    let cwd = std::env::current_dir().unwrap();
    assert_eq!(PathBuf::from(&req.path), cwd.join("sub/vm.snap"));
    assert_eq!(req.compress, Compression::Zstd);
    assert!(req.include_disks && !req.incremental);
}
