//! `tern node serve`: the node manager daemon (crate tern-node); `tern node lookup`.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use tern_node::daemon::{self, DaemonConfig};

/// Default socket of the node manager's API (for `tern node serve` and `tern slice`).
pub const DEFAULT_NODE_SOCK: &str = "/run/tern/node.sock";

/// `tern node ...`.
#[derive(Args, Debug)]
pub struct NodeArgs {
    #[command(subcommand)]
    command: NodeCommand,
}

#[derive(Subcommand, Debug)]
enum NodeCommand {
    /// Run the node manager: hand out slices of this host and run VMs in them.
    Serve(ServeArgs),
    /// Find a service (the port mapper): the node's address and port, cold or warm.
    Lookup {
        /// The service's name.
        name: String,
        /// The node manager's API socket.
        #[arg(long, value_name = "PATH", default_value = DEFAULT_NODE_SOCK)]
        node_sock: PathBuf,
        /// Print the API's JSON answer.
        #[arg(long)]
        json: bool,
    },
}

/// Arguments of `tern node serve`.
#[derive(Args, Debug)]
struct ServeArgs {
    /// Directory of the node's state (its store, VM sockets and logs).
    #[arg(long, value_name = "DIR", default_value = "/var/lib/tern/node")]
    state_dir: PathBuf,
    /// Serve the node API on this Unix socket.
    #[arg(long, value_name = "PATH", default_value = DEFAULT_NODE_SOCK)]
    api_sock: PathBuf,
    /// Host CPUs offered to slices (default: the host's).
    #[arg(long)]
    cpus: Option<u32>,
    /// Memory offered to slices: a size with a K, M, G or T suffix, or MiB
    /// (default: the host's physical memory).
    #[arg(long, value_parser = super::size::parse_size)]
    memory: Option<u64>,
    /// Disk offered to slices (default: the free space of --state-dir).
    #[arg(long, value_parser = super::size::parse_size)]
    disk: Option<u64>,
    /// Name of the node's cgroup under each cgroup root (slivers go below it).
    #[arg(long, value_name = "NAME", default_value = "tern")]
    cgroup_name: String,
}

/// Runs `tern node ...`.
pub fn node(args: NodeArgs) -> anyhow::Result<i32> {
    match args.command {
        NodeCommand::Lookup {
            name,
            node_sock,
            json,
        } => {
            super::service::lookup(&tern_node::NodeClient::new(node_sock), &name, json)?;
            Ok(0)
        }
        NodeCommand::Serve(a) => {
            if tern_node::spec::check_name(&a.cgroup_name).is_err() {
                anyhow::bail!(
                    "--cgroup-name `{}`: use a-z, 0-9, `-` and `_`",
                    a.cgroup_name
                );
            }
            std::fs::create_dir_all(&a.state_dir)?;
            if let Some(dir) = a.api_sock.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            daemon::run(DaemonConfig {
                state_dir: a.state_dir,
                api_sock: a.api_sock,
                cpus: a.cpus,
                memory_mib: a.memory.map(|b| b >> 20),
                disk_mib: a.disk.map(|b| b >> 20),
                cgroup_group: a.cgroup_name,
            })?;
            Ok(0)
        }
    }
}
