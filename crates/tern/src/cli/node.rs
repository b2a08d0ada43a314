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
        #[command(flatten)]
        target: NodeTarget,
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
    /// Also serve the API to remote callers on this TCP address, with mutual TLS
    /// (needs --tls-cert, --tls-key and --client-ca).
    #[arg(long, value_name = "HOST:PORT", requires_all = ["tls_cert", "tls_key", "client_ca"])]
    listen: Option<String>,
    /// The node's TLS certificate (PEM) for --listen.
    #[arg(long, value_name = "FILE", requires = "listen")]
    tls_cert: Option<PathBuf>,
    /// Its private key (PEM).
    #[arg(long, value_name = "FILE", requires = "listen")]
    tls_key: Option<PathBuf>,
    /// The CA (PEM) whose certificates clients must present.
    #[arg(long, value_name = "FILE", requires = "listen")]
    client_ca: Option<PathBuf>,
    /// Run each slice's VMs as a uid of its own from FIRST-LAST (e.g.
    /// 200000-265535), with its files owned by that uid (default: as this daemon).
    #[arg(long, value_name = "FIRST-LAST", value_parser = tern_node::uid::UidRange::parse)]
    uid_range: Option<tern_node::uid::UidRange>,
}

/// How `tern slice` and `tern node lookup` reach the node: its Unix socket, or its
/// remote API with a client certificate.
#[derive(clap::Args, Debug)]
pub struct NodeTarget {
    /// The node manager's API socket.
    #[arg(long, value_name = "PATH", default_value = DEFAULT_NODE_SOCK, global = true)]
    node_sock: PathBuf,
    /// A remote node's API (`https://HOST:PORT`, `tern node serve --listen`) instead
    /// of the socket; needs --tls-cert, --tls-key and --ca.
    #[arg(long, value_name = "URL", global = true, requires_all = ["tls_cert", "tls_key", "ca"])]
    node: Option<String>,
    /// This client's certificate (PEM) for --node.
    #[arg(long, value_name = "FILE", global = true)]
    tls_cert: Option<PathBuf>,
    /// Its private key (PEM).
    #[arg(long, value_name = "FILE", global = true)]
    tls_key: Option<PathBuf>,
    /// The CA (PEM) that signed the node's certificate.
    #[arg(long, value_name = "FILE", global = true)]
    ca: Option<PathBuf>,
}

impl NodeTarget {
    /// The client these options describe.
    pub fn client(&self) -> anyhow::Result<tern_node::NodeClient> {
        match (&self.node, &self.tls_cert, &self.tls_key, &self.ca) {
            (Some(url), Some(cert), Some(key), Some(ca)) => Ok(tern_node::NodeClient::remote(
                url,
                &tern_migrate::transport::TlsFiles {
                    cert: cert.clone(),
                    key: key.clone(),
                    ca: ca.clone(),
                    server_name: None,
                },
            )?),
            (Some(_), ..) => anyhow::bail!("--node needs --tls-cert, --tls-key and --ca"),
            _ => Ok(tern_node::NodeClient::new(&self.node_sock)),
        }
    }
}

/// Runs `tern node ...`.
pub fn node(args: NodeArgs) -> anyhow::Result<i32> {
    match args.command {
        NodeCommand::Lookup { name, target, json } => {
            super::service::lookup(&target.client()?, &name, json)?;
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
                remote: match (a.listen, a.tls_cert, a.tls_key, a.client_ca) {
                    (Some(listen), Some(cert), Some(key), Some(ca)) => Some((
                        listen,
                        tern_migrate::transport::TlsFiles {
                            cert,
                            key,
                            ca,
                            server_name: None,
                        },
                    )),
                    _ => None,
                },
                uid_range: a.uid_range,
            })?;
            Ok(0)
        }
    }
}
