//! `tern slice service add|list|remove` and `tern node lookup`: the node manager's
//! super-server (a slice's services, whose VMs are restored from a snapshot when a
//! connection arrives) and its port mapper.

use std::path::PathBuf;

use clap::Subcommand;
use tern_node::service::{CreateService, Service, ServiceState};
use tern_node::NodeClient;

/// `tern slice service ...`.
#[derive(Subcommand, Debug)]
pub enum ServiceCommand {
    /// Register a service: the node listens on PORT and restores the VM from
    /// SNAPSHOT when a connection arrives.
    Add {
        /// The slice.
        slice: String,
        /// The service's name (unique on the node).
        name: String,
        /// The node's TCP port for it.
        #[arg(long)]
        port: u16,
        /// The address the node listens on.
        #[arg(long, default_value = "0.0.0.0")]
        listen: String,
        /// A `tern snapshot` of a system VM with `--netdev user` whose guest serves
        /// on --guest-port.
        #[arg(long, value_name = "FILE")]
        snapshot: PathBuf,
        /// The guest's port.
        #[arg(long, default_value_t = 80)]
        guest_port: u16,
        /// Seconds without connections before the VM is snapshotted and stopped.
        #[arg(long, default_value_t = 60)]
        idle_timeout: u64,
        /// The VM's memory as counted against the slice: a size, or MiB.
        #[arg(long, default_value = "128M", value_parser = super::size::parse_size)]
        memory: u64,
    },
    /// List the slice's services.
    List {
        /// The slice.
        slice: String,
    },
    /// Remove a service (its VM is stopped if it runs).
    Remove {
        /// The slice.
        slice: String,
        /// The service.
        name: String,
    },
}

/// Runs `tern slice service ...`.
pub fn service(c: &NodeClient, command: ServiceCommand, json: bool) -> anyhow::Result<()> {
    match command {
        ServiceCommand::Add {
            slice,
            name,
            port,
            listen,
            snapshot,
            guest_port,
            idle_timeout,
            memory,
        } => {
            let snapshot = std::path::absolute(&snapshot)?;
            let req = CreateService {
                name,
                port,
                listen,
                snapshot: snapshot.display().to_string(),
                guest_port,
                idle_timeout_s: idle_timeout,
                memory_mib: (memory >> 20).max(1),
            };
            print_services(&[c.add_service(&slice, &req)?], json)
        }
        ServiceCommand::List { slice } => print_services(&c.slice_services(&slice)?, json),
        ServiceCommand::Remove { slice, name } => Ok(c.remove_service(&slice, &name)?),
    }
}

/// `tern node lookup NAME`: where the service is.
pub fn lookup(c: &NodeClient, name: &str, json: bool) -> anyhow::Result<()> {
    print_services(&[c.lookup(name)?], json)
}

/// Prints services, one line each (or the API's JSON).
pub fn print_services(services: &[Service], json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(services)?);
        return Ok(());
    }
    for s in services {
        let state = match s.state {
            ServiceState::Cold => "cold".to_string(),
            ServiceState::Warm => format!("warm (VM {})", s.vm.as_deref().unwrap_or("?")),
        };
        println!(
            "{}: {}:{} -> guest port {}, slice {}, {state}, restored {} times, idle timeout {} s",
            s.name, s.address, s.port, s.guest_port, s.slice, s.restores, s.idle_timeout_s
        );
    }
    Ok(())
}
