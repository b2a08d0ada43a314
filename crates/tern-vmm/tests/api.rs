//! The control API served over a real Unix socket, driven with the client.

mod common;

use std::time::Duration;

use common::{assert_api_error, assert_raw_error, raw_exchange, raw_exchange_eof, serve_counter};
use tern_vmm::control::{Compression, HartState, Privilege, SnapshotRequest, VmKind, VmState};
use tern_vmm::fake::CounterSnapshot;

#[test]
fn status_reports_the_vm() {
    let s = serve_counter();
    let st = s.client.status().unwrap();
    assert_eq!(st.state, VmState::Running);
    assert_eq!(st.kind, VmKind::System);
    assert_eq!(st.harts.len(), 2);
    assert_eq!(st.harts[0].privilege, Privilege::Supervisor);
    assert_eq!(st.harts[1].state, HartState::Idle);
    assert_eq!(st.memory.size_bytes, 64 << 20);
    assert_eq!(st.devices[0].name, "uart0");
    // pc travels as a 16-digit hex string, counters as numbers.
    let (code, body) = s.client.raw("GET", "/status", None).unwrap();
    assert_eq!(code, 200);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let pc = v["harts"][0]["pc"].as_str().unwrap();
    assert!(pc.starts_with("0x") && pc.len() == 18, "{pc}");
    assert!(v["instructions_retired"].is_u64());
    assert_eq!(v["state"], "running");
}

#[test]
fn pause_stops_the_counter_and_resume_restarts_it() {
    let s = serve_counter();
    s.client.pause().unwrap();
    let a = s.client.status().unwrap();
    assert_eq!(a.state, VmState::Paused);
    std::thread::sleep(Duration::from_millis(20));
    let b = s.client.status().unwrap();
    assert_eq!(a.instructions_retired, b.instructions_retired);
    s.client.resume().unwrap();
    std::thread::sleep(Duration::from_millis(20));
    let c = s.client.status().unwrap();
    assert_eq!(c.state, VmState::Running);
    assert!(c.instructions_retired > b.instructions_retired);
}

#[test]
fn pause_and_resume_are_idempotent() {
    let s = serve_counter();
    s.client.resume().unwrap(); // running already: succeeds, nothing changes
    assert_eq!(s.client.status().unwrap().state, VmState::Running);
    s.client.pause().unwrap();
    s.client.pause().unwrap(); // paused already: succeeds
    assert_eq!(s.client.status().unwrap().state, VmState::Paused);
    s.client.resume().unwrap();
    s.client.resume().unwrap();
    assert_eq!(s.client.status().unwrap().state, VmState::Running);
}

#[test]
fn a_stopped_vm_refuses_everything_but_status_and_stop() {
    let s = serve_counter();
    s.client.pause().unwrap();
    s.client.stop().unwrap();
    let st = s.client.status().unwrap();
    assert_eq!(st.state, VmState::Stopped);
    assert_api_error(s.client.pause(), 409, "vm is stopped: cannot pause");
    assert_api_error(s.client.resume(), 409, "vm is stopped: cannot resume");
    let req = SnapshotRequest::new(s.file("x.snap"));
    assert_api_error(
        s.client.snapshot(&req),
        409,
        "vm is stopped: cannot snapshot",
    );
    s.client.stop().unwrap(); // stopped already: succeeds
    assert_eq!(
        s.client.status().unwrap().instructions_retired,
        st.instructions_retired
    );
}

#[test]
fn snapshot_writes_the_file_and_keeps_the_state() {
    let s = serve_counter();
    let path = s.file("vm.snap");
    let info = s.client.snapshot(&SnapshotRequest::new(&path)).unwrap();
    assert_eq!((info.id.as_str(), info.parent.as_deref()), ("1", None));
    assert_eq!(info.path, path);
    let written = std::fs::read(&path).unwrap();
    assert_eq!(info.bytes, written.len() as u64);
    let snap: CounterSnapshot = serde_json::from_slice(&written).unwrap();
    assert_eq!(snap.id, "1");
    // A running VM runs on after the snapshot.
    assert_eq!(s.client.status().unwrap().state, VmState::Running);

    // A paused VM stays paused, and the file holds the paused count.
    s.client.pause().unwrap();
    let count = s.client.status().unwrap().instructions_retired;
    let mut req = SnapshotRequest::new(s.file("vm2.snap"));
    req.incremental = true;
    req.compress = Compression::Zstd;
    let info = s.client.snapshot(&req).unwrap();
    assert_eq!((info.id.as_str(), info.parent.as_deref()), ("2", Some("1")));
    assert_eq!(info.compress, Compression::Zstd);
    let snap: CounterSnapshot =
        serde_json::from_slice(&std::fs::read(s.file("vm2.snap")).unwrap()).unwrap();
    assert_eq!(snap.count, count);
    assert_eq!(snap.parent.as_deref(), Some("1"));
    assert_eq!(s.client.status().unwrap().state, VmState::Paused);
}

#[test]
fn snapshot_errors_map_to_statuses() {
    let s = serve_counter();
    let snap = |req: SnapshotRequest| s.client.snapshot(&req);
    assert_api_error(
        snap(SnapshotRequest::new("vm.snap")),
        400,
        "is not absolute",
    );
    assert_api_error(snap(SnapshotRequest::new("")), 400, "path is empty");
    assert_api_error(
        snap(SnapshotRequest::new("/tmp/dir/")),
        400,
        "names a directory",
    );
    assert_api_error(snap(SnapshotRequest::new("/tmp/a\0b")), 400, "NUL byte");
    let long = format!("/{}", "a".repeat(5000));
    assert_api_error(snap(SnapshotRequest::new(long)), 400, "at most 4096");
    let mut incremental = SnapshotRequest::new(s.file("i.snap"));
    incremental.incremental = true;
    assert_api_error(
        snap(incremental),
        409,
        "incremental needs a previous snapshot",
    );
    let mut disks = SnapshotRequest::new(s.file("d.snap"));
    disks.include_disks = true;
    assert_api_error(snap(disks), 501, "has no disks");
    let missing = s.file("no/such/dir/vm.snap");
    assert_api_error(snap(SnapshotRequest::new(&missing)), 500, &missing);
    // None of the failures left the VM paused.
    assert_eq!(s.client.status().unwrap().state, VmState::Running);
}

#[test]
fn malformed_snapshot_bodies_are_400() {
    let s = serve_counter();
    let put = |body: &[u8]| s.client.raw("PUT", "/snapshot", Some(body)).unwrap();
    assert_raw_error(put(b"{"), 400, "invalid JSON body");
    assert_raw_error(put(b"not json"), 400, "invalid JSON body");
    assert_raw_error(put(b"[]"), 400, "invalid JSON body");
    assert_raw_error(put(b"null"), 400, "invalid JSON body");
    assert_raw_error(put(b"{}"), 400, "missing field `path`");
    assert_raw_error(put(br#"{"path": 3}"#), 400, "invalid type");
    assert_raw_error(
        put(br#"{"path": "/tmp/x", "bogus": 1}"#),
        400,
        "unknown field `bogus`",
    );
    assert_raw_error(
        put(br#"{"path": "/tmp/x", "compress": "lz77"}"#),
        400,
        "unknown variant `lz77`",
    );
    assert_raw_error(
        put(br#"{"path": "/tmp/x", "incremental": "yes"}"#),
        400,
        "invalid type",
    );
    assert_raw_error(
        put(br#"{"path": "/tmp/x"} trailing"#),
        400,
        "trailing characters",
    );
    assert_raw_error(put(b"\xff\xfe"), 400, "invalid JSON body");
    // No body at all (Content-Length: 0).
    assert_raw_error(
        s.client.raw("PUT", "/snapshot", None).unwrap(),
        400,
        "body is empty",
    );
}

#[test]
fn wrong_content_type_is_415_and_missing_is_fine() {
    let s = serve_counter();
    let path = s.file("ct.snap");
    let body = format!(r#"{{"path":"{path}"}}"#);
    let req = |ct: &str| {
        format!(
            "PUT /snapshot HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{ct}Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    let a = raw_exchange(&s.sock(), req("Content-Type: text/plain\r\n").as_bytes());
    assert!(a.starts_with("HTTP/1.1 415"), "{a}");
    assert!(a.contains("must be application/json"), "{a}");
    let a = raw_exchange(&s.sock(), req("").as_bytes());
    assert!(a.starts_with("HTTP/1.1 200"), "{a}");
    let a = raw_exchange(
        &s.sock(),
        req("Content-Type: application/json; charset=utf-8\r\n").as_bytes(),
    );
    assert!(a.starts_with("HTTP/1.1 200"), "{a}");
}

#[test]
fn huge_bodies_are_413() {
    let s = serve_counter();
    let body = format!(r#"{{"path":"/{}"}}"#, "a".repeat(200 * 1024));
    let answer = s.client.raw("PUT", "/snapshot", Some(body.as_bytes()));
    match answer {
        Ok(a) => assert_raw_error(a, 413, "larger than 65536 bytes"),
        // The server may answer and close before the client has sent everything.
        Err(e) => panic!("expected a 413 answer, got {e}"),
    }
    // A chunked body without Content-Length hits the same limit.
    let mut req = b"PUT /snapshot HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..100 {
        req.extend_from_slice(b"400\r\n");
        req.extend_from_slice(&[b' '; 0x400]);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"0\r\n\r\n");
    let a = raw_exchange(&s.sock(), &req);
    assert!(a.starts_with("HTTP/1.1 413"), "{a}");
    assert_eq!(s.client.status().unwrap().state, VmState::Running);
}

#[test]
fn wrong_methods_are_405_with_allow() {
    let s = serve_counter();
    assert_raw_error(
        s.client.raw("POST", "/pause", None).unwrap(),
        405,
        "use PUT",
    );
    assert_raw_error(
        s.client.raw("GET", "/snapshot", None).unwrap(),
        405,
        "use PUT",
    );
    assert_raw_error(
        s.client.raw("DELETE", "/status", None).unwrap(),
        405,
        "use GET",
    );
    assert_raw_error(
        s.client.raw("PUT", "/openapi.json", None).unwrap(),
        405,
        "use GET",
    );
    let a = raw_exchange(
        &s.sock(),
        b"PATCH /stop HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
    );
    assert!(a.starts_with("HTTP/1.1 405"), "{a}");
    assert!(a.to_ascii_lowercase().contains("\r\nallow: put\r\n"), "{a}");
    assert!(a.contains("content-type: application/json"), "{a}");
    // The VM was not stopped by any of it.
    assert_eq!(s.client.status().unwrap().state, VmState::Running);
}

#[test]
fn unknown_paths_are_404() {
    let s = serve_counter();
    assert_raw_error(
        s.client.raw("GET", "/", None).unwrap(),
        404,
        "no route for GET /",
    );
    assert_raw_error(s.client.raw("PUT", "/vm", None).unwrap(), 404, "PUT /pause");
    assert_raw_error(
        s.client.raw("GET", "/status/extra", None).unwrap(),
        404,
        "no route",
    );
}

#[test]
fn garbage_on_the_socket_does_not_hurt_the_server() {
    let s = serve_counter();
    for junk in [
        &b"\x00\x01\x02\x03garbage\r\n\r\n"[..],
        b"GET /status HTTP/9.9\r\n\r\n",
        b"GET /status HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
        b"PUT /snapshot HTTP/1.1\r\nContent-Length: 100\r\n\r\n{\"pa",
        b"",
    ] {
        let a = raw_exchange_eof(&s.sock(), junk);
        assert!(a.is_empty() || a.starts_with("HTTP/1.1 4"), "{a}");
    }
    // A header block far beyond any sane size.
    let mut big = b"GET /status HTTP/1.1\r\n".to_vec();
    for i in 0..20_000 {
        big.extend_from_slice(format!("X-Junk-{i}: {}\r\n", "v".repeat(20)).as_bytes());
    }
    big.extend_from_slice(b"\r\n");
    let a = raw_exchange_eof(&s.sock(), &big);
    assert!(
        a.is_empty() || a.starts_with("HTTP/1.1 4"),
        "{}",
        &a[..a.len().min(200)]
    );
    assert_eq!(s.client.status().unwrap().state, VmState::Running);
}

#[test]
fn keep_alive_connections_serve_several_requests() {
    let s = serve_counter();
    let req = b"GET /status HTTP/1.1\r\nHost: x\r\n\r\nGET /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    let a = raw_exchange(&s.sock(), req);
    assert_eq!(a.matches("HTTP/1.1 200 OK").count(), 2, "{a}");
}
