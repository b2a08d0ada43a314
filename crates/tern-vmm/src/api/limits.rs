//! What the control API server bounds, with named defaults: connections, time to send
//! a request, request sizes. Whoever can connect can stop the VM, so only the owner
//! may (see [`super::conn`]); these limits keep a stuck or flooding client, the owner's
//! own included, from taking the VMM's descriptors, memory or the API itself.

use std::time::Duration;

/// Default of [`ApiLimits::max_connections`].
pub const DEFAULT_MAX_CONNECTIONS: usize = 64;

/// Default of [`ApiLimits::header_timeout`].
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a client has to send a request's body once its header has arrived; a body
/// still incomplete then is answered 408 and the connection closed.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// Largest request header (request line and header fields) in bytes; a larger one is
/// answered 431. The API's requests need a few hundred bytes.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// Most header fields in one request; more is answered 431.
pub const MAX_HEADER_FIELDS: usize = 32;

/// Limits of the control API server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ApiLimits {
    /// Most connections open at once. A connection beyond it closes the oldest idle
    /// one (no request in progress: a client that connected and sent nothing yet, or
    /// kept its connection open after an answer); if every open connection has a
    /// request in progress, the new one is answered 503 and closed.
    pub max_connections: usize,
    /// How long a client has to send a complete request header, counted from the
    /// moment the server starts reading one: when the connection opens, and after
    /// each answer on a kept-alive connection. A connection that sends nothing, or
    /// dribbles its header, is closed then.
    pub header_timeout: Duration,
}

impl Default for ApiLimits {
    fn default() -> Self {
        ApiLimits {
            max_connections: DEFAULT_MAX_CONNECTIONS,
            header_timeout: DEFAULT_HEADER_TIMEOUT,
        }
    }
}
