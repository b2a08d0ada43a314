//! The control API served over a real Unix socket, driven with the client, in front
//! of a real system VM (a `virt` machine whose harts spin in M-mode firmware): the
//! answers and error texts are the ones `tern run --api-sock` gives.

mod common;

use std::time::Duration;

use common::{
    assert_api_error, assert_raw_error, raw_exchange, raw_exchange_eof, serve_system, HARTS, MEMORY,
};
use tern_snapshot::{SectionKind, Snapshot};
use tern_vmm::control::{Compression, HartState, Privilege, SnapshotRequest, VmKind, VmState};

#[test]
fn status_reports_the_vm() {
    let s = serve_system();
    let st = s.client.status().unwrap();
    assert_eq!(st.state, VmState::Running);
    assert_eq!(st.kind, VmKind::System);
    assert_eq!(st.harts.len(), HARTS);
    assert_eq!(st.harts[1].state, HartState::Started);
    assert_eq!(st.memory.size_bytes, MEMORY);
    let names: Vec<&str> = st.devices.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(&names[..5], ["test", "rtc", "clint", "plic", "uart"]);
    assert_eq!(st.devices[4].kind, "ns16550a");
    // Paused, every hart reports where it stopped: in the firmware's loop, M-mode.
    s.client.pause().unwrap();
    let st = s.client.status().unwrap();
    for h in &st.harts {
        assert_eq!((h.pc, h.privilege), (0x8000_0000, Privilege::Machine));
    }
    // pc travels as a 16-digit hex string, counters as numbers.
    let (code, body) = s.client.raw("GET", "/status", None).unwrap();
    assert_eq!(code, 200);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let pc = v["harts"][0]["pc"].as_str().unwrap();
    assert!(pc.starts_with("0x") && pc.len() == 18, "{pc}");
    assert!(v["instructions_retired"].is_u64());
    assert_eq!(v["state"], "paused");
}

#[test]
fn pause_stops_the_harts_and_resume_restarts_them() {
    let s = serve_system();
    s.client.pause().unwrap();
    let a = s.client.status().unwrap();
    assert_eq!(a.state, VmState::Paused);
    std::thread::sleep(Duration::from_millis(50));
    let b = s.client.status().unwrap();
    assert_eq!(a.instructions_retired, b.instructions_retired);
    s.client.resume().unwrap();
    // The count grows by whole run slices: wait for the next one.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let c = loop {
        let c = s.client.status().unwrap();
        if c.instructions_retired > b.instructions_retired || std::time::Instant::now() > deadline {
            break c;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    assert_eq!(c.state, VmState::Running);
    assert!(c.instructions_retired > b.instructions_retired);
}

#[test]
fn pause_and_resume_are_idempotent() {
    let s = serve_system();
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
    let s = serve_system();
    s.client.pause().unwrap();
    s.client.stop().unwrap();
    let st = s.client.status().unwrap();
    assert_eq!(st.state, VmState::Stopped);
    assert_api_error(s.client.pause(), 409, "the VM has stopped");
    assert_api_error(s.client.resume(), 409, "the VM has stopped");
    let req = SnapshotRequest::new(s.file("x.snap"));
    assert_api_error(s.client.snapshot(&req), 409, "the VM has stopped");
    s.client.stop().unwrap(); // stopped already: succeeds
    assert_eq!(
        s.client.status().unwrap().instructions_retired,
        st.instructions_retired
    );
}

#[test]
fn snapshot_writes_the_file_and_keeps_the_state() {
    let s = serve_system();
    let path = s.file("vm.snap");
    let info = s.client.snapshot(&SnapshotRequest::new(&path)).unwrap();
    assert_eq!(info.parent, None);
    assert_eq!(info.path, path);
    assert_eq!(info.bytes, std::fs::metadata(&path).unwrap().len());
    let snap = Snapshot::open(path.as_ref()).unwrap();
    assert_eq!(snap.id().to_string(), info.id);
    let states: Vec<String> = snap
        .sections()
        .into_iter()
        .filter(|s| s.kind == SectionKind::State)
        .map(|s| s.name)
        .collect();
    assert_eq!(
        states,
        ["config", "board", "clock", "hart0", "hart1", "test", "rtc", "clint", "plic", "uart"],
        "one state per component; empty virtio slots have none"
    );
    // A running VM runs on after the snapshot.
    assert_eq!(s.client.status().unwrap().state, VmState::Running);

    // A paused VM stays paused, and the file holds the paused machine.
    s.client.pause().unwrap();
    let st = s.client.status().unwrap();
    let mut req = SnapshotRequest::new(s.file("vm2.snap"));
    req.incremental = true;
    req.compress = Compression::Zstd;
    let info2 = s.client.snapshot(&req).unwrap();
    assert_eq!(info2.parent.as_deref(), Some(info.id.as_str()));
    assert_eq!(info2.compress, Compression::Zstd);
    let snap = Snapshot::open(s.file("vm2.snap").as_ref()).unwrap();
    assert_eq!(
        snap.header().parent.as_ref().unwrap().id.to_string(),
        info.id
    );
    let board = tern_state::from_bytes::<tern_machine::virt::state::BoardState>(
        snap.state("board").unwrap(),
    )
    .unwrap();
    assert_eq!(board.retired, st.instructions_retired);
    assert_eq!(s.client.status().unwrap().state, VmState::Paused);
}

#[test]
fn snapshot_errors_map_to_statuses() {
    let s = serve_system();
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
        "an incremental snapshot needs a previous snapshot of this VM",
    );
    let missing = s.file("no/such/dir/vm.snap");
    assert_api_error(snap(SnapshotRequest::new(&missing)), 500, &missing);
    // None of the failures left the VM paused.
    assert_eq!(s.client.status().unwrap().state, VmState::Running);
}

#[test]
fn malformed_snapshot_bodies_are_400() {
    let s = serve_system();
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
    let s = serve_system();
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
    let s = serve_system();
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
    let s = serve_system();
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
    let s = serve_system();
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
    let s = serve_system();
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
    let s = serve_system();
    let req = b"GET /status HTTP/1.1\r\nHost: x\r\n\r\nGET /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    let a = raw_exchange(&s.sock(), req);
    assert_eq!(a.matches("HTTP/1.1 200 OK").count(), 2, "{a}");
}

/// Parses Prometheus' text format strictly enough to catch a malformed line: every
/// sample line is `name{labels} value` with a declared TYPE; returns (series, value).
fn parse_prometheus(text: &str) -> Vec<(String, f64)> {
    let mut typed = std::collections::BTreeSet::new();
    let mut samples = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split(' ');
            let name = parts.next().unwrap();
            let kind = parts.next().unwrap();
            assert!(kind == "counter" || kind == "gauge", "{line}");
            typed.insert(name.to_string());
            continue;
        }
        if line.starts_with("# HELP ") {
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("bad line {line:?}"));
        let name = series.split('{').next().unwrap();
        assert!(typed.contains(name), "{name} has no TYPE line");
        assert!(
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "bad metric name {name}"
        );
        if let Some(labels) = series.strip_prefix(name) {
            if !labels.is_empty() {
                assert!(labels.starts_with('{') && labels.ends_with('}'), "{line}");
            }
        }
        let v: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("bad value in {line:?}"));
        samples.push((series.to_string(), v));
    }
    samples
}

#[test]
fn metrics_answer_in_prometheus_text_and_counters_grow() {
    let s = serve_system();
    let (code, body) = s.client.raw("GET", "/metrics", None).unwrap();
    assert_eq!(code, 200);
    let first = parse_prometheus(&String::from_utf8(body).unwrap());
    let get = |samples: &[(String, f64)], series: &str| {
        samples
            .iter()
            .find(|(s, _)| s == series)
            .unwrap_or_else(|| panic!("no {series} in {samples:?}"))
            .1
    };
    assert_eq!(get(&first, "tern_memory_bytes"), MEMORY as f64);
    for h in 0..HARTS {
        get(
            &first,
            &format!("tern_hart_instructions_retired_total{{hart=\"{h}\"}}"),
        );
    }
    get(&first, "tern_device_exits_total{device=\"uart\"}");
    // Every hart has slow-path counters; each has decoded code by now.
    for h in 0..HARTS {
        get(
            &first,
            &format!("tern_hart_tlb_walks_total{{hart=\"{h}\"}}"),
        );
        get(
            &first,
            &format!("tern_hart_blocks_decoded_total{{hart=\"{h}\"}}"),
        );
    }
    assert_eq!(get(&first, "tern_snapshots_total"), 0.0);
    // The harts run on: the instruction counters grow; a snapshot is counted.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let later = loop {
        std::thread::sleep(Duration::from_millis(20));
        let (_, body) = s.client.raw("GET", "/metrics", None).unwrap();
        let m = parse_prometheus(&String::from_utf8(body).unwrap());
        let grew = get(&m, "tern_hart_instructions_retired_total{hart=\"1\"}")
            > get(&first, "tern_hart_instructions_retired_total{hart=\"1\"}");
        if grew || std::time::Instant::now() > deadline {
            break m;
        }
    };
    assert!(
        get(&later, "tern_instructions_retired_total")
            > get(&first, "tern_instructions_retired_total")
    );
    assert!(
        get(&later, "tern_hart_instructions_retired_total{hart=\"1\"}")
            > get(&first, "tern_hart_instructions_retired_total{hart=\"1\"}"),
        "hart 1's counter did not grow"
    );
    let misses = "tern_hart_jump_cache_misses_total{hart=\"1\"}";
    assert!(
        get(&later, misses) > 0.0,
        "hart 1 never missed the jump cache"
    );
    assert!(get(&later, misses) >= get(&first, misses));
    s.client
        .snapshot(&SnapshotRequest::new(s.file("m.snap")))
        .unwrap();
    let (_, body) = s.client.raw("GET", "/metrics", None).unwrap();
    let after = parse_prometheus(&String::from_utf8(body).unwrap());
    assert_eq!(get(&after, "tern_snapshots_total"), 1.0);
}
