//! The node API's OpenAPI document equals the checked-in `openapi.json` (so API
//! changes show in review) and lists exactly the server's route table. That the
//! running daemon serves this document and answers every route is checked in
//! `crates/tern/tests/node_api.rs`.
//!
//! After changing the API, regenerate the file with
//! `TERN_BLESS=1 cargo test -p tern-node --test openapi` and commit it.

use std::collections::BTreeSet;
use std::path::PathBuf;

use tern_node::api::{openapi_json, ROUTES};

fn checked_in_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("openapi.json")
}

#[test]
fn the_document_equals_the_checked_in_file() {
    let doc = openapi_json();
    if std::env::var_os("TERN_BLESS").is_some() {
        std::fs::write(checked_in_path(), doc).unwrap();
        eprintln!("wrote {}", checked_in_path().display());
    }
    let file = std::fs::read_to_string(checked_in_path()).expect("crates/tern-node/openapi.json");
    assert!(
        doc == file,
        "the node API's OpenAPI document differs from crates/tern-node/openapi.json; if the \
         change is intended, run `TERN_BLESS=1 cargo test -p tern-node --test openapi` and \
         commit the file"
    );
}

#[test]
fn the_document_lists_exactly_the_route_table() {
    let doc: serde_json::Value = serde_json::from_str(openapi_json()).unwrap();
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().unwrap().keys() {
            documented.insert((method.to_uppercase(), path.clone()));
        }
    }
    let table: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(documented, table);
}
