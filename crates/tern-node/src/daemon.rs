//! `tern node serve`: finds the cgroups, opens the node's state (re-adopting running
//! VMs), serves the API and runs the expiry task until killed. Killing the daemon
//! (even with SIGKILL) leaves the VMs running; the next daemon on the same state
//! directory adopts them.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;

use crate::admission::Capacity;
use crate::cgroup::Cgroups;
use crate::node::{Node, NodeConfig};

/// The daemon's settings.
#[derive(Debug, Clone)]
pub struct DaemonConfig {
    /// The state directory.
    pub state_dir: PathBuf,
    /// The API socket.
    pub api_sock: PathBuf,
    /// Host CPUs counted for CPU caps (the number the daemon may run on if `None`;
    /// the CPUs slices may dedicate are always those).
    pub cpus: Option<u32>,
    /// Memory offered in MiB (the host's if `None`).
    pub memory_mib: Option<u64>,
    /// Disk offered in MiB (the state directory's free space if `None`).
    pub disk_mib: Option<u64>,
    /// The node's cgroup directory name under each cgroup root (`tern`).
    pub cgroup_group: String,
    /// Also serve the API on this TCP address with mutual TLS from these files.
    pub remote: Option<(String, tern_migrate::transport::TlsFiles)>,
    /// The uids handed to slivers ([`crate::uid`]).
    pub uid_range: Option<crate::uid::UidRange>,
}

/// Runs the daemon; returns only on a start-up error.
pub fn run(cfg: DaemonConfig) -> anyhow::Result<()> {
    let disk = crate::disk_io::block_device_of(&cfg.state_dir);
    if let Err(e) = &disk {
        crate::node_event!("disk limits (disk_iops, disk_bps) cannot be enforced: {e}");
    }
    let cgroups = Cgroups::detect(&cfg.cgroup_group)?.with_disk(disk.ok());
    let host = Capacity::of_host(&cfg.state_dir);
    let capacity = Capacity {
        cpus: cfg.cpus.unwrap_or(host.cpus),
        cpu_ids: host.cpu_ids,
        memory_mib: cfg.memory_mib.unwrap_or(host.memory_mib),
        disk_mib: cfg.disk_mib.unwrap_or(host.disk_mib),
    };
    let tern_exe = std::env::current_exe().context("cannot find the tern binary for VMs")?;
    let node = Arc::new(Node::open(NodeConfig {
        state_dir: cfg.state_dir.clone(),
        capacity,
        cgroups,
        tern_exe,
        uid_range: cfg.uid_range,
    })?);
    node.start_services();
    let info = node.info()?;
    let server = tern_vmm::serve_router(
        &cfg.api_sock,
        crate::api::router(node.clone()),
        tern_vmm::ApiLimits::default(),
    )?;
    let remote = match &cfg.remote {
        Some((listen, files)) => {
            let r = crate::remote::serve_tls(listen, files, crate::api::router(node.clone()))?;
            crate::node_event!("serving the API with mutual TLS on {}", r.local_addr());
            Some(r)
        }
        None => None,
    };
    crate::node_event!(
        "serving {} (state {}; {} CPUs, {} MiB memory, {} MiB disk; {})",
        cfg.api_sock.display(),
        cfg.state_dir.display(),
        info.cpus,
        info.memory_mib,
        info.disk_mib,
        info.cgroups
    );
    let expiry = crate::expiry::start(node).context("cannot start the expiry task")?;
    expiry.join();
    drop(remote);
    drop(server);
    Ok(())
}
