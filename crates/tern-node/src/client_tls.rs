//! The client side of the remote API: one request per connection over TLS with a
//! client certificate (tern-migrate's client configuration), HTTP as tern-vmm's
//! client writes and reads it.

use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use rustls::{ClientConfig, ClientConnection, StreamOwned};
use rustls_pki_types::ServerName;
use tern_vmm::client::http;

/// A node's remote API.
#[derive(Debug, Clone)]
pub struct TlsTarget {
    /// As given (`https://HOST:PORT`).
    pub url: String,
    /// `HOST:PORT`.
    addr: String,
    /// The name the node's certificate must carry (the host).
    name: ServerName<'static>,
    config: Arc<ClientConfig>,
    /// Per-request timeout.
    pub timeout: Duration,
}

impl TlsTarget {
    /// Parses `https://HOST:PORT` and loads the client's TLS files.
    pub fn new(url: &str, files: &tern_migrate::transport::TlsFiles) -> Result<Self, String> {
        let addr = url
            .strip_prefix("https://")
            .map(|a| a.trim_end_matches('/'))
            .filter(|a| {
                a.rsplit_once(':')
                    .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok())
            })
            .ok_or_else(|| format!("`{url}` is not https://HOST:PORT"))?;
        let host = addr
            .rsplit_once(':')
            .map_or(addr, |(h, _)| h)
            .trim_start_matches('[')
            .trim_end_matches(']');
        let host = files.server_name.as_deref().unwrap_or(host);
        let name = ServerName::try_from(host.to_string())
            .map_err(|e| format!("server name `{host}`: {e}"))?;
        let config = tern_migrate::transport::client_config(files).map_err(|e| e.to_string())?;
        Ok(TlsTarget {
            url: url.to_string(),
            addr: addr.to_string(),
            name,
            config,
            timeout: Duration::from_secs(60),
        })
    }

    /// Sends one request; the answer's status and body.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
    ) -> Result<(u16, Vec<u8>), String> {
        let target = self
            .addr
            .to_socket_addrs()
            .map_err(|e| format!("{}: {e}", self.addr))?
            .next()
            .ok_or_else(|| format!("{}: no address", self.addr))?;
        let tcp = TcpStream::connect_timeout(&target, self.timeout)
            .map_err(|e| format!("cannot connect: {e}"))?;
        tcp.set_read_timeout(Some(self.timeout))
            .map_err(|e| e.to_string())?;
        tcp.set_write_timeout(Some(self.timeout))
            .map_err(|e| e.to_string())?;
        let conn = ClientConnection::new(self.config.clone(), self.name.clone())
            .map_err(|e| format!("TLS: {e}"))?;
        let mut tls = StreamOwned::new(conn, tcp);
        http::write_request(&mut tls, method, path, body)
            .map_err(|e| format!("{method} {path}: {e}"))?;
        let raw = http::read_all(&mut tls)
            .map_err(|e| format!("{method} {path}: {e}"))?
            .ok_or_else(|| format!("{method} {path}: answer too large"))?;
        let r = http::parse_response(&raw).map_err(|e| format!("{method} {path}: {e}"))?;
        Ok((r.status, r.body))
    }
}
