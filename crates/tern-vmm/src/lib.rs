//! tern-vmm: services around a running VM.
//!
//! So far this is the VM control API of issue 5: every running VM (the system VM of
//! `tern run`, the process VM of `tern exec`) serves HTTP/JSON on the Unix socket given
//! with `--api-sock PATH`, and the `tern status|pause|resume|snapshot|stop` commands
//! drive it.
//!
//! - [`control`]: the [`VmControl`] trait a VMM implements, and the types it speaks.
//! - [`api`]: the server ([`serve`]) and its OpenAPI description.
//! - [`client`]: a blocking client for the API.
//! - [`cli`]: the `tern` subcommands built on the client.
//! - [`migrate`]: live migration of system VMs (issue 10).
//! - [`system`], [`process`]: the system VMs (`virt`, `spike`) and the process VM
//!   behind the API, and their snapshots.
//! - `fake` (feature `fake` only): a stand-in VM for trying the API by hand and
//!   fuzzing it.

pub mod api;
pub mod cli;
pub mod client;
pub mod control;
#[cfg(feature = "fake")]
pub mod fake;
mod hex;
pub mod migrate;
pub mod process;
pub mod ram;
pub mod snapshot_file;
pub mod system;

pub use api::{serve, serve_router, serve_with, ApiLimits, ServeError, ServerHandle};
pub use client::{Client, ClientError};
pub use control::{ControlError, VmControl};
