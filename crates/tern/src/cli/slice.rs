//! `tern slice create|list|show|renew|delete`, `tern slice vm start|list|stop` and
//! `tern slice service add|list|remove` (in [`super::service`]):
//! drive a node manager (`tern node serve`) through its API socket.

use clap::{Args, Subcommand};
use tern_node::spec::{
    CreateSlice, OnExpiry, RenewSlice, Slice, SliceSpec, StartVm, Vm, VmKind, VmState,
};

/// `tern slice ...`.
#[derive(Args, Debug)]
pub struct SliceArgs {
    #[command(flatten)]
    target: super::node::NodeTarget,
    /// Print the API's JSON answers.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: SliceCommand,
}

#[derive(Subcommand, Debug)]
enum SliceCommand {
    /// Create a slice: a bounded, expiring share of the node.
    Create(CreateArgs),
    /// List the node's slices.
    List,
    /// Show a slice, its running VMs and what it uses.
    Show {
        /// The slice.
        name: String,
    },
    /// Extend a slice's life.
    Renew {
        /// The slice.
        name: String,
        /// New lifetime from now in seconds (default: the slice's own lifetime).
        #[arg(long)]
        lifetime: Option<u64>,
    },
    /// Delete a slice, ending its VMs.
    Delete {
        /// The slice.
        name: String,
    },
    /// Start, list and stop the VMs of a slice.
    Vm {
        #[command(subcommand)]
        command: VmCommand,
    },
    /// Register, list and remove the slice's services (started on demand).
    Service {
        #[command(subcommand)]
        command: super::service::ServiceCommand,
    },
}

/// Arguments of `tern slice create`.
#[derive(Args, Debug)]
struct CreateArgs {
    /// The slice's name (a-z, 0-9, `-`, `_`).
    name: String,
    /// Memory of the slice (memory.max): a size with a K, M, G or T suffix, or MiB.
    #[arg(long, default_value = "256M", value_parser = super::size::parse_size)]
    memory: u64,
    /// CPU share against other slices (cpu.weight, 1 to 10000).
    #[arg(long, default_value_t = 100)]
    cpu_weight: u32,
    /// CPU cap in percent of one host CPU (cpu.max); none by default.
    #[arg(long, value_name = "PERCENT")]
    cpu_max: Option<u32>,
    /// Harts a VM of the slice may have.
    #[arg(long, default_value_t = 1)]
    harts: u32,
    /// Disk quota of the slice (its disk images and snapshots): a size, or MiB;
    /// 0 for none.
    #[arg(long, default_value = "5G", value_parser = super::size::parse_size)]
    disk: u64,
    /// Most processes and threads of the slice (pids.max).
    #[arg(long, default_value_t = 512)]
    pids_max: u32,
    /// Most VMs running at once.
    #[arg(long, default_value_t = 4)]
    max_vms: u32,
    /// Seconds until the slice expires unless renewed.
    #[arg(long, default_value_t = 3600)]
    lifetime: u64,
    /// Host CPUs dedicated to the slice (physical partitioning), as a list: 2,3 or
    /// 4-7. Without it the slice time-shares the CPUs no slice has dedicated.
    #[arg(long, value_name = "LIST", value_parser = parse_cpu_list)]
    cpus: Option<CpuList>,
    /// On expiry, write each running VM to STATE_DIR/snapshots/NAME/VM.tern (for
    /// `tern restore`) before stopping it.
    #[arg(long)]
    snapshot_on_expiry: bool,
    /// Network bandwidth of each network card of the slice's system VMs, in
    /// kilobits per second each way (none by default).
    #[arg(long, value_name = "KBPS")]
    bandwidth: Option<u64>,
    /// Disk operations per second, reads and writes each, on the state directory's
    /// disk (io.max riops/wiops; none by default).
    #[arg(long, value_name = "IOPS")]
    disk_iops: Option<u64>,
    /// Disk bandwidth, reads and writes each (io.max rbps/wbps), per second: a size
    /// with a K, M or G suffix (a bare number is MiB).
    #[arg(long, value_name = "BYTES", value_parser = super::size::parse_size)]
    disk_bps: Option<u64>,
}

/// A list of host CPUs (a newtype: clap would take a `Vec` for repeated options).
#[derive(Clone, Debug)]
struct CpuList(Vec<u32>);

/// Parses a CPU list as Linux writes them (`0-3,6`).
fn parse_cpu_list(text: &str) -> Result<CpuList, String> {
    let mut cpus = Vec::new();
    for part in text.split(',').map(str::trim) {
        let num = |s: &str| {
            s.trim()
                .parse::<u32>()
                .map_err(|_| format!("`{text}` is not a CPU list (like 2,3 or 4-7)"))
        };
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (num(a)?, num(b)?);
                if a > b || b >= tern_node::affinity::MAX_CPUS {
                    return Err(format!("`{part}` is not a CPU range"));
                }
                cpus.extend(a..=b);
            }
            None => cpus.push(num(part)?),
        }
    }
    Ok(CpuList(cpus))
}

#[derive(Subcommand, Debug)]
enum VmCommand {
    /// Start a VM in the slice: `tern exec ARGS` (or `tern run ARGS` with --kind run).
    #[command(trailing_var_arg = true)]
    Start {
        /// The slice.
        slice: String,
        /// exec (a riscv64 Linux program), run (a whole machine) or receive (a VM
        /// migrated here: ARGS are `tern receive`'s, `--listen HOST:PORT ...`).
        #[arg(long, default_value = "exec", value_parser = parse_kind)]
        kind: VmKind,
        /// The VM's memory: a size, or MiB.
        #[arg(long, default_value = "64M", value_parser = super::size::parse_size)]
        memory: u64,
        /// The arguments of `tern exec` / `tern run`.
        #[arg(required = true, allow_hyphen_values = true, value_name = "ARGS")]
        args: Vec<String>,
    },
    /// List the slice's VMs.
    List {
        /// The slice.
        slice: String,
    },
    /// Stop a VM and forget it.
    Stop {
        /// The slice.
        slice: String,
        /// The VM's id (vm-N).
        id: String,
    },
    /// Snapshot a running VM into its sliver's directory, within the slice's disk
    /// quota; prints the file.
    Snapshot {
        /// The slice.
        slice: String,
        /// The VM's id (vm-N).
        id: String,
    },
}

fn parse_kind(s: &str) -> Result<VmKind, String> {
    match s {
        "exec" => Ok(VmKind::Exec),
        "run" => Ok(VmKind::Run),
        "receive" => Ok(VmKind::Receive),
        _ => Err(format!("`{s}`: use exec, run or receive")),
    }
}

/// Runs `tern slice ...`.
pub fn slice(args: SliceArgs) -> anyhow::Result<i32> {
    let c = args.target.client()?;
    let json = args.json;
    match args.command {
        SliceCommand::Create(a) => {
            let req = CreateSlice {
                name: a.name,
                spec: SliceSpec {
                    cpu_weight: a.cpu_weight,
                    cpu_max_percent: a.cpu_max,
                    harts: a.harts,
                    memory_mib: a.memory >> 20,
                    disk_mib: a.disk >> 20,
                    pids_max: a.pids_max,
                    max_vms: a.max_vms,
                    lifetime_s: a.lifetime,
                    cpus: a.cpus.map(|c| c.0).unwrap_or_default(),
                    on_expiry: if a.snapshot_on_expiry {
                        OnExpiry::Snapshot
                    } else {
                        OnExpiry::Stop
                    },
                    bandwidth_kbps: a.bandwidth,
                    disk_iops: a.disk_iops,
                    disk_bps: a.disk_bps,
                },
            };
            print_slices(&[c.create_slice(&req)?], json)?;
        }
        SliceCommand::List => print_slices(&c.slices()?, json)?,
        SliceCommand::Show { name } => print_slices(&[c.slice(&name)?], json)?,
        SliceCommand::Renew { name, lifetime } => {
            let s = c.renew(
                &name,
                &RenewSlice {
                    lifetime_s: lifetime,
                },
            )?;
            print_slices(&[s], json)?;
        }
        SliceCommand::Delete { name } => c.delete_slice(&name)?,
        SliceCommand::Vm { command } => match command {
            VmCommand::Start {
                slice,
                kind,
                memory,
                args,
            } => {
                let vm = c.start_vm(
                    &slice,
                    &StartVm {
                        kind,
                        args,
                        memory_mib: (memory >> 20).max(1),
                    },
                )?;
                print_vms(&[vm], json)?;
            }
            VmCommand::List { slice } => print_vms(&c.vms(&slice)?, json)?,
            VmCommand::Stop { slice, id } => c.stop_vm(&slice, &id)?,
            VmCommand::Snapshot { slice, id } => {
                let s = c.snapshot_vm(&slice, &id)?;
                if json {
                    println!("{}", serde_json::to_string_pretty(&s)?);
                } else {
                    println!(
                        "{} ({} bytes; the slice's files take {} MiB)",
                        s.path,
                        s.bytes,
                        s.disk_used_bytes >> 20
                    );
                }
            }
        },
        SliceCommand::Service { command } => super::service::service(&c, command, json)?,
    }
    Ok(0)
}

fn print_slices(slices: &[Slice], json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(slices)?);
        return Ok(());
    }
    let now = tern_node::node::now_ms();
    for s in slices {
        let cap = s
            .spec
            .cpu_max_percent
            .map_or("none".to_string(), |p| format!("{p}%"));
        let cpus = if s.spec.cpus.is_empty() {
            "shared".to_string()
        } else {
            tern_node::affinity::list_text(&s.spec.cpus)
        };
        println!(
            "{}: memory {} MiB, cpu weight {}, cpu cap {cap}, cpus {cpus}, pids {}, VMs {}/{}, \
             expires in {} s",
            s.name,
            s.spec.memory_mib,
            s.spec.cpu_weight,
            s.spec.pids_max,
            s.running_vms,
            s.spec.max_vms,
            s.expires_ms.saturating_sub(now) / 1000
        );
        if let Some(u) = &s.usage {
            println!(
                "  using {} processes, {} KiB memory; pids.max hit {} times, {} OOM kills",
                u.pids_current,
                u.memory_bytes >> 10,
                u.pids_max_hits,
                u.oom_kills
            );
        }
    }
    Ok(())
}

fn print_vms(vms: &[Vm], json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(vms)?);
        return Ok(());
    }
    for v in vms {
        let state = match v.state {
            VmState::Running => "running".to_string(),
            VmState::Exited => v.exit.clone().unwrap_or_else(|| "exited".into()),
        };
        println!(
            "{} ({} {}): pid {}, {state}; api {}",
            v.id,
            v.kind.command(),
            v.args.join(" "),
            v.pid,
            v.api_sock
        );
    }
    Ok(())
}
