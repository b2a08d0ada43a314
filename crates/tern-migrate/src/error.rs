//! What can go wrong on a migration stream.

/// A stream failure: the connection, the peer's bytes, or the peer's refusal.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// The connection failed or was closed (the message is the whole story: not a
    /// `source`, so that it is printed once).
    #[error("migration stream: {0}")]
    Io(std::io::Error),
    /// A frame failed its checks: bad checksum, wrong sequence number, too long.
    #[error("migration stream: {0}")]
    Frame(String),
    /// A frame was intact but its payload is not a valid message.
    #[error("migration stream: {0}")]
    Malformed(String),
    /// The peer said something out of order ("expected `state` or `switch-over`,
    /// got `hello`").
    #[error("migration stream: {0}")]
    Protocol(String),
    /// The peer sent an error message and gave up.
    #[error("the other side: {0}")]
    Peer(String),
    /// TLS set-up failed (certificates, keys, handshake).
    #[error("migration TLS: {0}")]
    Tls(String),
}

impl From<std::io::Error> for WireError {
    fn from(e: std::io::Error) -> WireError {
        WireError::Io(e)
    }
}

impl WireError {
    /// Whether this is the peer closing the connection or the connection breaking
    /// (as opposed to bad bytes).
    pub fn is_disconnect(&self) -> bool {
        matches!(self, WireError::Io(_))
    }
}
