//! Connections between the two tern processes of a migration: TCP with mutual TLS
//! (rustls, TLS 1.2/1.3 with ring's algorithms), or plain TCP when the user asked for
//! it (`--insecure`).
//!
//! With TLS, each side presents a certificate signed by the CA given with `--tls-ca`
//! and checks the other's against that CA: the destination refuses a source without
//! such a certificate during the handshake, before any byte of a VM is read, and the
//! source refuses a destination it cannot authenticate before sending one. The
//! source checks the destination's certificate for the host it connects to (a DNS
//! name or an IP address in the certificate's subject alternative names), or for
//! `--tls-server-name`.

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, ClientConnection, RootCertStore, ServerConfig, ServerConnection};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};

use crate::error::WireError;
use crate::wire::Conn;

/// How long a TLS handshake may take before the peer is given up.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The files of a TLS identity: this side's certificate chain and key, and the CA
/// that signs the peers it accepts (all PEM).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    /// This side's certificate (chain), PEM.
    pub cert: PathBuf,
    /// Its private key, PEM.
    pub key: PathBuf,
    /// The CA certificate(s) peers must be signed by, PEM.
    pub ca: PathBuf,
    /// The name the destination's certificate must carry, when it is not the host
    /// connected to (source side only).
    pub server_name: Option<String>,
}

/// Whether the stream is protected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Security {
    /// Mutual TLS with these files.
    Tls(TlsFiles),
    /// Plain TCP: anyone who can reach the port can send a VM, or receive one. Only
    /// when asked for (`--insecure`).
    Insecure,
}

fn tls_err(what: &str, path: &Path, e: impl std::fmt::Display) -> WireError {
    WireError::Tls(format!("{what} {}: {e}", path.display()))
}

/// ring's algorithms (X25519 and the NIST curves, AES-GCM, ChaCha20-Poly1305).
/// rustls marks this provider deprecated because it has no post-quantum key
/// exchange; that needs aws-lc-rs, a much larger C build (cmake, several minutes
/// here). A migration stream's secrecy matters for as long as the VM's memory does:
/// switching providers is one line when that trade-off changes.
#[allow(deprecated)]
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, WireError> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| tls_err("cannot read certificates from", path, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| tls_err("cannot read certificates from", path, e))?;
    if certs.is_empty() {
        return Err(tls_err("no certificate in", path, "empty"));
    }
    Ok(certs)
}

fn key(path: &Path) -> Result<PrivateKeyDer<'static>, WireError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| tls_err("cannot read the private key", path, e))
}

fn roots(path: &Path) -> Result<Arc<RootCertStore>, WireError> {
    let mut roots = RootCertStore::empty();
    for c in certs(path)? {
        roots
            .add(c)
            .map_err(|e| tls_err("not a usable CA certificate:", path, e))?;
    }
    Ok(Arc::new(roots))
}

/// The destination's TLS configuration: its identity, and client certificates
/// required, signed by the CA.
pub fn server_config(files: &TlsFiles) -> Result<Arc<ServerConfig>, WireError> {
    let verifier = WebPkiClientVerifier::builder_with_provider(roots(&files.ca)?, provider())
        .build()
        .map_err(|e| tls_err("cannot use CA", &files.ca, e))?;
    let config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| WireError::Tls(e.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs(&files.cert)?, key(&files.key)?)
        .map_err(|e| tls_err("cannot use certificate", &files.cert, e))?;
    Ok(Arc::new(config))
}

/// The source's TLS configuration: the CA to check the destination against, and its
/// own identity.
pub fn client_config(files: &TlsFiles) -> Result<Arc<ClientConfig>, WireError> {
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| WireError::Tls(e.to_string()))?
        .with_root_certificates(roots(&files.ca)?)
        .with_client_auth_cert(certs(&files.cert)?, key(&files.key)?)
        .map_err(|e| tls_err("cannot use certificate", &files.cert, e))?;
    Ok(Arc::new(config))
}

/// `HOST:PORT` of an address given as `HOST:PORT` or `tcp:HOST:PORT` (QEMU's way of
/// writing `-incoming`).
pub fn tcp_address(addr: &str) -> &str {
    addr.strip_prefix("tcp:").unwrap_or(addr)
}

/// Connects to the destination at `addr` (`[tcp:]HOST:PORT`) and, with TLS, completes
/// the handshake (both sides authenticated) before returning.
pub fn connect(addr: &str, security: &Security, timeout: Duration) -> Result<Conn, WireError> {
    let addr = tcp_address(addr);
    let target = addr
        .to_socket_addrs()
        .map_err(|e| WireError::Io(io::Error::new(e.kind(), format!("{addr}: {e}"))))?
        .next()
        .ok_or_else(|| {
            WireError::Io(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{addr}: no address"),
            ))
        })?;
    let tcp = TcpStream::connect_timeout(&target, timeout).map_err(|e| {
        // In a network namespace of its own (tern's sandbox for a VM started without
        // a network or --migratable) not even loopback is up.
        let hint = if e.kind() == io::ErrorKind::NetworkUnreachable {
            " (a VM started without --netdev or --migratable has no network in its sandbox)"
        } else {
            ""
        };
        WireError::Io(io::Error::new(e.kind(), format!("{addr}: {e}{hint}")))
    })?;
    tcp.set_nodelay(true)?;
    let socket = tcp.try_clone()?;
    match security {
        Security::Insecure => Ok(Conn::new(Box::new(tcp), Some(socket))),
        Security::Tls(files) => {
            let config = client_config(files)?;
            let host = match &files.server_name {
                Some(n) => n.clone(),
                None => host_of(addr),
            };
            let name = ServerName::try_from(host.clone())
                .map_err(|e| WireError::Tls(format!("server name {host:?}: {e}")))?;
            let conn =
                ClientConnection::new(config, name).map_err(|e| WireError::Tls(e.to_string()))?;
            let mut tls = rustls::StreamOwned::new(conn, tcp);
            handshake(&mut tls.conn, &mut tls.sock, addr)?;
            Ok(Conn::new(Box::new(tls), Some(socket)))
        }
    }
}

/// The host part of `HOST:PORT` (`[v6]:PORT` too).
fn host_of(addr: &str) -> String {
    let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h);
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .to_string()
}

/// Drives a TLS handshake to its end within [`HANDSHAKE_TIMEOUT`].
fn handshake<C, D>(conn: &mut C, tcp: &mut TcpStream, peer: &str) -> Result<(), WireError>
where
    C: std::ops::DerefMut<Target = rustls::ConnectionCommon<D>>,
    D: rustls::SideData,
{
    let old = tcp.read_timeout().ok().flatten();
    tcp.set_read_timeout(Some(HANDSHAKE_TIMEOUT))?;
    while conn.is_handshaking() {
        conn.complete_io(tcp)
            .map_err(|e| WireError::Tls(format!("handshake with {peer}: {e}")))?;
    }
    // Send what the handshake left queued (the client's last flight).
    while conn.wants_write() {
        conn.complete_io(tcp)
            .map_err(|e| WireError::Tls(format!("handshake with {peer}: {e}")))?;
    }
    tcp.set_read_timeout(old)?;
    Ok(())
}

/// Moves an accepted socket to another descriptor (see [`Listener::place_sockets`]).
pub type Placement = Box<dyn Fn(TcpStream) -> io::Result<TcpStream> + Send + Sync>;

/// The destination's listening socket.
pub struct Listener {
    tcp: TcpListener,
    tls: Option<Arc<ServerConfig>>,
    place: Option<Placement>,
}

impl Listener {
    /// Listens on `addr` (`[tcp:]HOST:PORT`; port 0 picks one, see
    /// [`Listener::local_addr`]). The TLS files are read now, so a mistake in them is
    /// reported before waiting.
    pub fn bind(addr: &str, security: &Security) -> Result<Listener, WireError> {
        let addr = tcp_address(addr);
        let tls = match security {
            Security::Tls(files) => Some(server_config(files)?),
            Security::Insecure => None,
        };
        let tcp = TcpListener::bind(addr)
            .map_err(|e| WireError::Io(io::Error::new(e.kind(), format!("{addr}: {e}"))))?;
        Ok(Listener {
            tcp,
            tls,
            place: None,
        })
    }

    /// Puts every socket accepted from now on where `place` moves it: a process VM's
    /// destination keeps the stream's descriptors above the numbers the program
    /// restored there will take (guest descriptors are host descriptors).
    pub fn place_sockets(&mut self, place: Placement) {
        self.place = Some(place);
    }

    fn placed(&self, tcp: TcpStream) -> io::Result<TcpStream> {
        match &self.place {
            Some(place) => place(tcp),
            None => Ok(tcp),
        }
    }

    /// The address listened on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.tcp.local_addr()
    }

    /// Waits for a connection and, with TLS, authenticates the peer. A peer that fails
    /// the handshake is an error (the caller decides whether to wait for another).
    pub fn accept(&self) -> Result<(Conn, SocketAddr), WireError> {
        let (tcp, peer) = self.tcp.accept()?;
        let tcp = self.placed(tcp)?;
        tcp.set_nodelay(true)?;
        let socket = self.placed(tcp.try_clone()?)?;
        match &self.tls {
            None => Ok((Conn::new(Box::new(tcp), Some(socket)), peer)),
            Some(config) => {
                let conn = ServerConnection::new(config.clone())
                    .map_err(|e| WireError::Tls(e.to_string()))?;
                let mut tls = rustls::StreamOwned::new(conn, tcp);
                handshake(&mut tls.conn, &mut tls.sock, &peer.to_string())?;
                Ok((Conn::new(Box::new(tls), Some(socket)), peer))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_taken_from_addresses() {
        assert_eq!(host_of("10.0.0.2:4444"), "10.0.0.2");
        assert_eq!(host_of("[::1]:4444"), "::1");
        assert_eq!(host_of("dest.example:1"), "dest.example");
    }

    #[test]
    fn missing_files_are_named() {
        let files = TlsFiles {
            cert: "/nonexistent/cert.pem".into(),
            key: "/nonexistent/key.pem".into(),
            ca: "/nonexistent/ca.pem".into(),
            server_name: None,
        };
        let e = server_config(&files).unwrap_err().to_string();
        assert!(e.contains("/nonexistent/ca.pem"), "{e}");
    }
}
