//! The OpenAPI document: the served one equals the checked-in `openapi.json`, and it
//! describes exactly the routes the server answers.
//!
//! After changing the API, regenerate the file with
//! `TERN_BLESS=1 cargo test -p tern-vmm --test openapi` and commit it. (Not an ignored
//! test: `scripts/test` runs the ignored tests of the full tier, and must never write
//! the file it checks.)

mod common;

use std::path::PathBuf;

use common::serve_system;
use tern_vmm::api::{openapi_json, ROUTES};

fn checked_in_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("openapi.json")
}

#[test]
fn served_document_equals_the_checked_in_file() {
    let s = serve_system();
    let (code, served) = s.client.raw("GET", "/openapi.json", None).unwrap();
    assert_eq!(code, 200);
    assert_eq!(served, openapi_json().as_bytes(), "served = generated");
    if std::env::var_os("TERN_BLESS").is_some() {
        std::fs::write(checked_in_path(), &served).unwrap();
        eprintln!("wrote {}", checked_in_path().display());
    }
    let file = std::fs::read_to_string(checked_in_path()).expect("crates/tern-vmm/openapi.json");
    assert!(
        served == file.as_bytes(),
        "the served OpenAPI document differs from crates/tern-vmm/openapi.json; if the API \
         change is intended, run `TERN_BLESS=1 cargo test -p tern-vmm --test openapi` and \
         commit the file"
    );
}

#[test]
fn every_route_is_documented_and_nothing_else() {
    let doc: serde_json::Value = serde_json::from_str(openapi_json()).unwrap();
    let paths = doc["paths"].as_object().expect("paths");
    let mut documented = Vec::new();
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            documented.push((method.to_uppercase(), path.clone()));
        }
    }
    documented.sort();
    let mut served: Vec<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    served.sort();
    assert_eq!(documented, served);
}

#[test]
fn every_documented_route_is_answered() {
    let s = serve_system();
    let snap = format!(r#"{{"path":"{}"}}"#, s.file("r.snap"));
    // A destination that never answers: the migration PUT /migrate starts is still
    // running (sending, or waiting for the destination) when DELETE /migrate cancels it.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let to = format!(
        r#"{{"to":"{}","insecure":true}}"#,
        silent.local_addr().unwrap()
    );
    // The test VM serves gdb by accepting the listener and dropping it.
    tern_vmm::control::gdb::set_attach(Box::new(|_listener| Ok(())));
    let gdb = br#"{"listen":"127.0.0.1:0"}"#;
    // /stop last: it ends the VM.
    let mut routes = ROUTES.to_vec();
    routes.sort_by_key(|(_, p)| *p == "/stop");
    for (method, path) in routes {
        let body = match (method, path) {
            (_, "/snapshot") => Some(snap.as_bytes()),
            ("PUT", "/migrate") => Some(to.as_bytes()),
            ("PUT", "/gdb") => Some(&gdb[..]),
            _ => None,
        };
        let (code, body) = s.client.raw(method, path, body).unwrap();
        assert!(
            (200..300).contains(&code),
            "{method} {path} answered {code}: {}",
            String::from_utf8_lossy(&body)
        );
    }
}

/// The answers carry exactly the fields their schemas list, all of them required.
#[test]
fn answers_match_their_schemas() {
    let doc: serde_json::Value = serde_json::from_str(openapi_json()).unwrap();
    let schemas = &doc["components"]["schemas"];
    let s = serve_system();
    let check = |name: &str, v: &serde_json::Value| {
        let schema = &schemas[name];
        let mut props: Vec<&String> = schema["properties"].as_object().unwrap().keys().collect();
        let mut keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        props.sort();
        keys.sort();
        assert_eq!(props, keys, "{name}");
        let required: Vec<&str> = schema["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap())
            .collect();
        for k in keys {
            assert!(
                required.contains(&k.as_str()) || v[k].is_null(),
                "{name}.{k} is always sent but not required"
            );
        }
    };
    let (_, body) = s.client.raw("GET", "/status", None).unwrap();
    let status: serde_json::Value = serde_json::from_slice(&body).unwrap();
    check("VmStatus", &status);
    check("HartStatus", &status["harts"][0]);
    check("MemoryStatus", &status["memory"]);
    check("DeviceStatus", &status["devices"][0]);
    let body = format!(r#"{{"path":"{}"}}"#, s.file("s.snap"));
    let (_, body) = s
        .client
        .raw("PUT", "/snapshot", Some(body.as_bytes()))
        .unwrap();
    check("SnapshotInfo", &serde_json::from_slice(&body).unwrap());
    let (_, body) = s.client.raw("PUT", "/resume", Some(b"x")).unwrap();
    assert!(body.is_empty());
    let (_, body) = s.client.raw("GET", "/nope", None).unwrap();
    check("ErrorBody", &serde_json::from_slice(&body).unwrap());
}
