//! tern-node: the node manager (issue 13).
//!
//! One daemon per host (`tern node serve`) hands out **slices**: named, bounded shares
//! of the host (CPU weight and cap, memory, processes, VMs, disk, a lifetime). Each
//! slice's share on this host (its *sliver*) is a cgroup subtree the kernel enforces,
//! and the VMs started in it are separate `tern exec` / `tern run` processes placed in
//! that cgroup before they run guest code. The daemon's state lives in an embedded
//! store under its state directory; VMs do not depend on the daemon, so they keep
//! running while it restarts and are re-adopted when it comes back.
//!
//! - [`spec`]: the API's types (slice specs, slices, VMs).
//! - [`store`]: the embedded store (redb).
//! - [`admission`]: what the node can hold, and refusing what it cannot.
//! - [`affinity`]: host CPUs dedicated to slices (physical partitioning) or shared.
//! - [`cgroup`]: slivers as cgroups (v2, or the v1 hierarchies of a hybrid host).
//! - [`disk_io`]: the block device disk limits bound.
//! - [`procs`]: processes identified by pid and start time, across daemon restarts.
//! - [`spawn`]: starting a VM process detached and inside its sliver's cgroup.
//! - [`uid`]: a separate unprivileged uid per sliver.
//! - [`node`]: the node's operations, used by the API; its super-server restores a
//!   service's VM from a snapshot when a connection arrives.
//! - [`service`]: the super-server's services (the port mapper's records).
//! - [`metrics`]: the node's, slices' and VMs' use of the host for Prometheus.
//! - [`log`]: the daemon's event log on its standard error.
//! - [`expiry`]: the background task reclaiming expired slices and exited VMs.
//! - [`api`]: the HTTP/JSON routes and their OpenAPI description.
//! - [`remote`]: the same API on TCP with mutual TLS, for remote callers.
//! - [`client`]: a blocking client (Unix socket or TLS), for the CLI and tests.
//! - [`daemon`]: `tern node serve`.

pub mod admission;
pub mod affinity;
pub mod api;
pub mod cgroup;
pub mod client;
mod client_tls;
pub mod daemon;
pub mod disk_io;
pub mod error;
pub mod expiry;
pub mod log;
pub mod metrics;
pub mod node;
pub mod procs;
pub mod remote;
pub mod service;
pub mod spawn;
pub mod spec;
pub mod store;
pub mod uid;

pub use client::NodeClient;
pub use error::NodeError;
pub use node::{Node, NodeConfig};
