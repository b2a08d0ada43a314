//! Attaching gdb to a running VM through its control API (`PUT /gdb`, `tern gdb`):
//! the VM process binds the address asked for and starts its gdb server there, as
//! `--gdb` would have at start.
//!
//! The VMM's front end registers how to serve gdb for its VM ([`set_attach`]) when
//! it starts the control API without `--gdb`; the control API calls it at most once
//! (a gdb server keeps listening after gdb detaches, so one is enough).

use std::net::TcpListener;
use std::sync::{Mutex, OnceLock};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ControlError;

/// Starts the VM's gdb server on a bound listener.
pub type GdbAttach = Box<dyn Fn(TcpListener) -> Result<(), String> + Send + Sync>;

/// How this process serves gdb for its VM, and where it does once it does.
static ATTACH: OnceLock<(GdbAttach, Mutex<Option<String>>)> = OnceLock::new();

/// Registers how to start the VM's gdb server (once per process; `false` if one was
/// registered already).
pub fn set_attach(f: GdbAttach) -> bool {
    ATTACH.set((f, Mutex::new(None))).is_ok()
}

/// A request to serve gdb.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GdbRequest {
    /// `HOST:PORT` to listen on (port 0: any free port), bound by the VM process:
    /// the VM's network namespace must reach it (a sandboxed system VM without a
    /// network card has a namespace of its own; use `--migratable` or a
    /// `--netdev`, or `--no-sandbox`).
    pub listen: String,
}

/// Where gdb connects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct GdbInfo {
    /// The address the gdb server listens on (`target remote ADDRESS`).
    pub listen: String,
}

/// Binds `req.listen` and starts the gdb server there.
pub fn attach(req: &GdbRequest) -> Result<GdbInfo, ControlError> {
    let Some((start, serving)) = ATTACH.get() else {
        return Err(ControlError::Unsupported(
            "this VM cannot serve gdb through the API (started with --gdb, or a board without a gdb server)"
                .into(),
        ));
    };
    let mut serving = serving.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(at) = serving.as_ref() {
        return Err(ControlError::WrongState(format!(
            "gdb is served on {at} already"
        )));
    }
    if req.listen.is_empty() || req.listen.len() > 256 {
        return Err(ControlError::InvalidRequest(
            "listen: give HOST:PORT".into(),
        ));
    }
    let listener = TcpListener::bind(req.listen.as_str()).map_err(|e| {
        ControlError::InvalidRequest(format!("cannot listen on {}: {e}", req.listen))
    })?;
    let at = listener
        .local_addr()
        .map_err(|e| ControlError::Internal(e.to_string()))?
        .to_string();
    start(listener).map_err(ControlError::Internal)?;
    *serving = Some(at.clone());
    Ok(GdbInfo { listen: at })
}
