//! A blocking client for the node API, for `tern slice ...` and tests. It speaks
//! through tern-vmm's one-request-per-connection HTTP client.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use tern_vmm::api::ErrorBody;

use crate::service::{CreateService, Service};
use crate::spec::{CreateSlice, NodeInfo, RenewSlice, Slice, StartVm, Vm, VmSnapshot};

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum NodeClientError {
    /// The node could not be reached, or answered something else than its API.
    #[error("node manager at {}: {message} (is `tern node serve --api-sock {}` running?)", path.display(), path.display())]
    Transport {
        /// The socket.
        path: PathBuf,
        /// What failed.
        message: String,
    },
    /// The node refused the request; `message` is its explanation.
    #[error("{message} (HTTP {status})")]
    Api {
        /// HTTP status.
        status: u16,
        /// The node's `error`.
        message: String,
    },
}

impl NodeClientError {
    /// The HTTP status when the node answered with an error.
    pub fn status(&self) -> Option<u16> {
        match self {
            NodeClientError::Api { status, .. } => Some(*status),
            NodeClientError::Transport { .. } => None,
        }
    }
}

/// A client of one node's API: its Unix socket, or its remote API (TLS).
#[derive(Debug, Clone)]
pub struct NodeClient {
    inner: tern_vmm::Client,
    remote: Option<crate::client_tls::TlsTarget>,
}

impl NodeClient {
    /// A client for the socket at `path` (nothing is connected until a request).
    pub fn new(path: impl AsRef<Path>) -> Self {
        NodeClient {
            inner: tern_vmm::Client::new(path).with_timeout(Duration::from_secs(60)),
            remote: None,
        }
    }

    /// A client of the remote API at `url` (`https://HOST:PORT`), authenticated with
    /// `files` (its certificate and key, and the CA the node's certificate is signed
    /// by).
    pub fn remote(
        url: &str,
        files: &tern_migrate::transport::TlsFiles,
    ) -> Result<Self, NodeClientError> {
        let target = crate::client_tls::TlsTarget::new(url, files).map_err(|message| {
            NodeClientError::Transport {
                path: PathBuf::from(url),
                message,
            }
        })?;
        Ok(NodeClient {
            inner: tern_vmm::Client::new(url).with_timeout(Duration::from_secs(60)),
            remote: Some(target),
        })
    }

    /// The same client with another per-request timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.inner = self.inner.with_timeout(timeout);
        if let Some(r) = &mut self.remote {
            r.timeout = timeout;
        }
        self
    }

    /// Sends a request and returns the status and body as they are.
    pub fn raw(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
    ) -> Result<(u16, Vec<u8>), NodeClientError> {
        use tern_vmm::ClientError as E;
        if let Some(r) = &self.remote {
            return r
                .request(method, path, body)
                .map_err(|message| NodeClientError::Transport {
                    path: PathBuf::from(&r.url),
                    message,
                });
        }
        self.inner.raw(method, path, body).map_err(|e| {
            // tern-vmm's messages speak of a VM's socket: say it for the node.
            let message = match e {
                E::Connect { error, .. } => format!("cannot connect: {error}"),
                E::Io { error, .. } => format!("{method} {path}: {error}"),
                E::Protocol { message, .. } => message,
                E::Api { status, message } => format!("HTTP {status}: {message}"),
            };
            NodeClientError::Transport {
                path: self.inner.path().to_path_buf(),
                message,
            }
        })
    }

    fn request<T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> Result<T, NodeClientError> {
        let bytes = body.map(|b| serde_json::to_vec(b).expect("plain request types serialize"));
        let (status, answer) = self.raw(method, path, bytes.as_deref())?;
        if !(200..300).contains(&status) {
            let message = serde_json::from_slice::<ErrorBody>(&answer)
                .map(|e| e.error)
                .unwrap_or_else(|_| String::from_utf8_lossy(&answer).into_owned());
            return Err(NodeClientError::Api { status, message });
        }
        let answer = if answer.is_empty() {
            &b"null"[..]
        } else {
            &answer[..]
        };
        serde_json::from_slice(answer).map_err(|e| NodeClientError::Transport {
            path: self.inner.path().to_path_buf(),
            message: format!("{method} {path}: unexpected answer: {e}"),
        })
    }

    /// `GET /node`.
    pub fn info(&self) -> Result<NodeInfo, NodeClientError> {
        self.request("GET", "/node", None::<&()>)
    }

    /// `POST /slices`.
    pub fn create_slice(&self, req: &CreateSlice) -> Result<Slice, NodeClientError> {
        self.request("POST", "/slices", Some(req))
    }

    /// `GET /slices`.
    pub fn slices(&self) -> Result<Vec<Slice>, NodeClientError> {
        self.request("GET", "/slices", None::<&()>)
    }

    /// `GET /slices/{name}`.
    pub fn slice(&self, name: &str) -> Result<Slice, NodeClientError> {
        self.request("GET", &format!("/slices/{name}"), None::<&()>)
    }

    /// `POST /slices/{name}/renew`.
    pub fn renew(&self, name: &str, req: &RenewSlice) -> Result<Slice, NodeClientError> {
        self.request("POST", &format!("/slices/{name}/renew"), Some(req))
    }

    /// `DELETE /slices/{name}`.
    pub fn delete_slice(&self, name: &str) -> Result<(), NodeClientError> {
        self.request("DELETE", &format!("/slices/{name}"), None::<&()>)
    }

    /// `POST /slices/{name}/vms`.
    pub fn start_vm(&self, slice: &str, req: &StartVm) -> Result<Vm, NodeClientError> {
        self.request("POST", &format!("/slices/{slice}/vms"), Some(req))
    }

    /// `GET /slices/{name}/vms`.
    pub fn vms(&self, slice: &str) -> Result<Vec<Vm>, NodeClientError> {
        self.request("GET", &format!("/slices/{slice}/vms"), None::<&()>)
    }

    /// `GET /slices/{name}/vms/{id}`.
    pub fn vm(&self, slice: &str, id: &str) -> Result<Vm, NodeClientError> {
        self.request("GET", &format!("/slices/{slice}/vms/{id}"), None::<&()>)
    }

    /// `DELETE /slices/{name}/vms/{id}`.
    pub fn stop_vm(&self, slice: &str, id: &str) -> Result<(), NodeClientError> {
        self.request("DELETE", &format!("/slices/{slice}/vms/{id}"), None::<&()>)
    }

    /// `POST /slices/{name}/vms/{id}/snapshot`.
    pub fn snapshot_vm(&self, slice: &str, id: &str) -> Result<VmSnapshot, NodeClientError> {
        self.request(
            "POST",
            &format!("/slices/{slice}/vms/{id}/snapshot"),
            None::<&()>,
        )
    }

    /// `POST /slices/{name}/services`.
    pub fn add_service(
        &self,
        slice: &str,
        req: &CreateService,
    ) -> Result<Service, NodeClientError> {
        self.request("POST", &format!("/slices/{slice}/services"), Some(req))
    }

    /// `GET /slices/{name}/services`.
    pub fn slice_services(&self, slice: &str) -> Result<Vec<Service>, NodeClientError> {
        self.request("GET", &format!("/slices/{slice}/services"), None::<&()>)
    }

    /// `DELETE /slices/{name}/services/{service}`.
    pub fn remove_service(&self, slice: &str, name: &str) -> Result<(), NodeClientError> {
        self.request(
            "DELETE",
            &format!("/slices/{slice}/services/{name}"),
            None::<&()>,
        )
    }

    /// `GET /services`: the port mapper's directory.
    pub fn services(&self) -> Result<Vec<Service>, NodeClientError> {
        self.request("GET", "/services", None::<&()>)
    }

    /// `GET /services/{name}`: where service `name` is, and whether it is warm.
    pub fn lookup(&self, name: &str) -> Result<Service, NodeClientError> {
        self.request("GET", &format!("/services/{name}"), None::<&()>)
    }
}
