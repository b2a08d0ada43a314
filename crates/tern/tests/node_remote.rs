//! The node API on TCP with mutual TLS (`tern node serve --listen`): a client with a
//! certificate from the node's client CA creates a slice (through the library client
//! and through `tern slice --node https://...`); a client without a certificate, or
//! with one from another CA, is refused in the handshake and changes nothing.

#[path = "common/certs.rs"]
mod certs;
#[path = "common/node.rs"]
mod node;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use certs::{leaf, new_ca};
use node::{wait_for, NodeDaemon};
use tern_migrate::transport::TlsFiles;
use tern_node::spec::{CreateSlice, SliceSpec};
use tern_node::NodeClient;

/// A CA: its certificate written to `dir/NAME-ca.pem`, and what signs with it.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn slice(name: &str) -> CreateSlice {
    CreateSlice {
        name: name.into(),
        spec: SliceSpec {
            memory_mib: 64,
            ..SliceSpec::default()
        },
    }
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, root and cgroups"]
fn only_clients_with_a_certificate_of_the_client_ca_are_served() {
    let certs = tempfile::tempdir().unwrap();
    let dir = certs.path();
    let (ca_pem, ca) = new_ca(dir, "node");
    let (_other_ca_pem, other_ca) = new_ca(dir, "other");
    let (node_cert, node_key) = leaf(dir, "node", &["localhost", "127.0.0.1"], &ca);
    let (good_cert, good_key) = leaf(dir, "alice", &["alice"], &ca);
    let (bad_cert, bad_key) = leaf(dir, "mallory", &["mallory"], &other_ca);
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let s = |p: &Path| p.display().to_string();
    let d = NodeDaemon::start(
        "1G",
        &[
            "--listen",
            &listen,
            "--tls-cert",
            &s(&node_cert),
            "--tls-key",
            &s(&node_key),
            "--client-ca",
            &s(&ca_pem),
        ],
    );
    wait_for(Duration::from_secs(10), "the remote API to listen", || {
        TcpStream::connect(&listen).ok()
    });
    let url = format!("https://{listen}");
    let files = |cert: &Path, key: &Path| TlsFiles {
        cert: cert.to_path_buf(),
        key: key.to_path_buf(),
        ca: ca_pem.clone(),
        server_name: None,
    };

    // The right certificate: served like the socket.
    let good = NodeClient::remote(&url, &files(&good_cert, &good_key)).unwrap();
    let created = good.create_slice(&slice("far")).unwrap();
    assert_eq!(created.name, "far");
    assert_eq!(good.info().unwrap().slices, 1);
    let e = good.slice("nosuch").unwrap_err();
    assert_eq!(e.status(), Some(404), "{e}");

    // Another CA's certificate: refused in the handshake.
    let bad = NodeClient::remote(&url, &files(&bad_cert, &bad_key)).unwrap();
    let e = bad.create_slice(&slice("evil")).unwrap_err();
    assert_eq!(e.status(), None, "not refused in the handshake: {e}");

    // No certificate at all: refused too, no answer comes back.
    let roots = {
        let mut r = rustls::RootCertStore::empty();
        let pem = std::fs::read(&ca_pem).unwrap();
        for c in rustls_pki_types_certs(&pem) {
            r.add(c).unwrap();
        }
        r
    };
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let conn =
        rustls::ClientConnection::new(Arc::new(config), "127.0.0.1".try_into().unwrap()).unwrap();
    let tcp = TcpStream::connect(&listen).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let body = br#"{"name":"anon","spec":{"memory_mib":64}}"#;
    let request = format!(
        "POST /slices HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let mut answer = Vec::new();
    let sent = tls
        .write_all(request.as_bytes())
        .and_then(|()| tls.write_all(body))
        .and_then(|()| tls.flush());
    let read = sent.and_then(|()| tls.read_to_end(&mut answer));
    assert!(
        read.is_err() || answer.is_empty(),
        "a client without a certificate got an answer: {}",
        String::from_utf8_lossy(&answer)
    );

    // Only the good client's slice exists (asked on the local socket).
    let names: Vec<String> = d
        .client()
        .slices()
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names, ["far"]);
    assert!(d.log().contains("refused"), "{}", d.log());

    // The CLI speaks to the remote API too.
    let out = Command::new(env!("CARGO_BIN_EXE_tern"))
        .args(["slice", "list", "--node", &url])
        .args([
            "--tls-cert",
            &s(&good_cert),
            "--tls-key",
            &s(&good_key),
            "--ca",
            &s(&ca_pem),
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("far:"),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new(env!("CARGO_BIN_EXE_tern"))
        .args(["slice", "list", "--node", &url])
        .args([
            "--tls-cert",
            &s(&bad_cert),
            "--tls-key",
            &s(&bad_key),
            "--ca",
            &s(&ca_pem),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success(), "another CA's client was served");
}

/// The certificates of a PEM file.
fn rustls_pki_types_certs(pem: &[u8]) -> Vec<rustls::pki_types::CertificateDer<'static>> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .unwrap()
}
