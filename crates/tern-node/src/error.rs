//! Errors of the node's operations, each with the HTTP status the API answers.

/// An operation refused or failed; the message names the thing and the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct NodeError {
    /// HTTP status for the API: 400 bad request, 404 unknown slice or VM, 409 the
    /// node or slice cannot hold it (or a name is taken), 507 over the slice's disk
    /// quota, 500 the host failed.
    pub status: u16,
    /// What went wrong.
    pub message: String,
}

impl NodeError {
    /// 400: the request itself is wrong.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::with(400, message)
    }

    /// 404: no such slice or VM.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::with(404, message)
    }

    /// 409: the request is fine but the node's state refuses it (capacity, a name
    /// already taken).
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::with(409, message)
    }

    /// 507: the slice's disk quota cannot hold it (the message has the figures).
    pub fn insufficient_storage(message: impl Into<String>) -> Self {
        Self::with(507, message)
    }

    /// 500: the host failed (store, cgroup or process error).
    pub fn internal(message: impl Into<String>) -> Self {
        Self::with(500, message)
    }

    fn with(status: u16, message: impl Into<String>) -> Self {
        NodeError {
            status,
            message: message.into(),
        }
    }
}

impl From<crate::store::StoreError> for NodeError {
    fn from(e: crate::store::StoreError) -> Self {
        NodeError::internal(e.to_string())
    }
}
