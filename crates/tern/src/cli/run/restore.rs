//! `tern restore FILE`: resume a VM from its snapshot file, exactly where it stopped,
//! in this process.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use tern_machine::virt::{VirtConfig, VirtMachine};
use tern_machine::SpikeConfig;
use tern_sandbox::{Isolation, Kind, Sandbox};
use tern_snapshot::{Snapshot, VmKind};
use tern_vmm::system::snapshot::{load_into, open_snapshot, LastSnapshot};
use tern_vmm::system::spike::OpenedSpike;
use tern_vmm::system::{board_of, Board};

use super::virt::{run_machine, virtio_factories, Origin, Services};

/// Arguments of `tern restore`.
#[derive(Args, Debug)]
pub struct RestoreArgs {
    /// The snapshot file (`tern snapshot --out`).
    pub file: PathBuf,
    /// Serve the control API on this Unix socket.
    #[arg(long)]
    pub api_sock: Option<PathBuf>,
    /// Print instructions retired, wall time, and how long restoring took.
    #[arg(long)]
    stats: bool,
    /// Run without the sandbox tern otherwise confines itself to (see the README).
    #[arg(long)]
    no_sandbox: bool,
    /// The VM may be migrated away (`tern migrate`): its sandbox keeps the host's
    /// network (as `tern run --migratable`).
    #[arg(long)]
    migratable: bool,
    /// Forward host ports to the guest anew: replaces the `hostfwd=` rules the
    /// snapshot's `--netdev user` had (`[tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport`;
    /// repeat for more). System VMs only.
    #[arg(long, value_name = "RULE")]
    pub hostfwd: Vec<String>,
    /// Limit every network card to KBPS kilobits per second each way (replaces the
    /// snapshot's `rate-kbps=`). System VMs only.
    #[arg(long, value_name = "KBPS", value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    pub net_rate: Option<u64>,
    /// Apply the policy in FILE instead of the one the snapshot recorded (its VM's
    /// `--policy`, kept and applied again by default): SBI and MMIO rules for a
    /// system VM, system-call rules for a process VM.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    #[command(flatten)]
    gdb: crate::cli::gdb::GdbArgs,
}

/// Runs `tern restore`: a system VM here, a process VM in
/// [`crate::cli::restore_process`], as the file's header says. Returns the exit status.
pub fn restore(args: RestoreArgs) -> anyhow::Result<i32> {
    let snapshot = Snapshot::open(&args.file)
        .with_context(|| format!("cannot restore {}", args.file.display()))?;
    match snapshot.header().vm_kind {
        VmKind::System => {
            let board = board_of(&snapshot)
                .with_context(|| format!("cannot restore {}", args.file.display()))?;
            match board {
                Board::Virt => {
                    drop(snapshot);
                    restore_system(args)
                }
                Board::Spike => {
                    if !args.hostfwd.is_empty() || args.net_rate.is_some() {
                        anyhow::bail!("--hostfwd and --net-rate: a spike machine has no network");
                    }
                    if args.gdb.gdb.is_some() {
                        anyhow::bail!("--gdb is only available for virt machines and process VMs");
                    }
                    if args.policy.is_some() {
                        anyhow::bail!(
                            "--policy is only available for virt machines and process VMs"
                        );
                    }
                    restore_spike(args, snapshot)
                }
            }
        }
        VmKind::Process => {
            drop(snapshot);
            if !args.hostfwd.is_empty() || args.net_rate.is_some() {
                anyhow::bail!(
                    "--hostfwd and --net-rate are for system VMs: a process VM uses the host's network"
                );
            }
            crate::cli::restore_process::restore(
                &args.file,
                args.api_sock.as_deref(),
                args.stats,
                args.policy.as_deref(),
                Sandbox::new(Kind::Process, !args.no_sandbox),
                args.gdb.listen()?,
            )
        }
    }
}

/// Restores a spike machine.
fn restore_spike(args: RestoreArgs, snapshot: Snapshot) -> anyhow::Result<i32> {
    let started = std::time::Instant::now();
    // Still single-threaded: namespaces now, the rest once the machine is built.
    let sandbox = Sandbox::new(Kind::System, !args.no_sandbox);
    sandbox.isolate(&Isolation {
        network: false,
        view: None,
    });
    let context = || format!("cannot restore {}", args.file.display());
    let opened = OpenedSpike::open(snapshot).with_context(context)?;
    let config = SpikeConfig {
        memory: opened.config.memory,
        clock: opened.config.clock,
        max_insns: None,
        console: Box::new(std::io::stdout()),
        trace: None,
    };
    let machine = opened.rebuild(config).with_context(context)?;
    if args.stats {
        eprintln!(
            "tern: restored {} in {:.2} ms",
            args.file.display(),
            started.elapsed().as_secs_f64() * 1e3
        );
    }
    let last = LastSnapshot {
        id: opened.snapshot.id(),
        path: args.file.clone(),
    };
    let vm = opened.config;
    drop(opened);
    super::spike::run_machine(
        machine,
        vm,
        Some(last),
        args.api_sock.as_deref(),
        args.stats,
        &sandbox,
        None,
    )
}

/// Restores a system VM.
fn restore_system(args: RestoreArgs) -> anyhow::Result<i32> {
    let started = std::time::Instant::now();
    let gdb = args.gdb.listen()?;
    let sandbox = Sandbox::new(Kind::System, !args.no_sandbox);
    let mut opened = open_snapshot(&args.file)
        .with_context(|| format!("cannot restore {}", args.file.display()))?;
    opened.config.netdevs = super::hostfwd::replace_hostfwd(&opened.config.netdevs, &args.hostfwd)?;
    opened.config.netdevs = super::hostfwd::replace_rate(&opened.config.netdevs, args.net_rate);
    let c = &opened.config;
    // A VM that may be migrated keeps the host's network to reach a destination.
    sandbox.isolate(&Isolation {
        network: !c.netdevs.is_empty() || args.migratable,
        view: None,
    });
    let disks_started = std::time::Instant::now();
    let virtio = virtio_factories(&c.drives, &c.netdevs, &c.devices, Some(&opened))
        .with_context(|| format!("cannot restore {}", args.file.display()))?;
    let disks_time = disks_started.elapsed();
    let config = VirtConfig {
        harts: c.harts,
        memory: c.memory,
        bios: None,
        kernel: None,
        initrd: None,
        append: String::new(),
        clock: c.clock,
        max_insns: None,
        console: Box::new(std::io::stdout()),
        virtio: virtio.factories,
        restore_builtin_sbi: Some(c.builtin_sbi),
    };
    let mut machine = VirtMachine::new(config).context("cannot rebuild the machine")?;
    // The snapshot's policy holds on unless another is given.
    match (&args.policy, &opened.config.policy) {
        (Some(file), _) => {
            opened.config.policy = Some(super::policy::install(file, &mut machine)?);
        }
        (None, Some(text)) => {
            super::policy::install_text(text, "the snapshot's policy", &mut machine)?;
        }
        (None, None) => {}
    }
    let ram_time = load_into(&mut machine, &opened)
        .with_context(|| format!("cannot restore {}", args.file.display()))?;
    if args.stats {
        eprintln!(
            "tern: restored {} in {:.2} ms (memory {:.2} ms, disks {:.2} ms)",
            args.file.display(),
            started.elapsed().as_secs_f64() * 1e3,
            ram_time.as_secs_f64() * 1e3,
            disks_time.as_secs_f64() * 1e3
        );
    }
    let last = LastSnapshot {
        id: opened.snapshot.id(),
        path: args.file.clone(),
    };
    let system = opened.config.clone();
    drop(opened);
    run_machine(
        machine,
        system,
        virtio.disks,
        Origin::Restored(last),
        Services {
            api_sock: args.api_sock.as_deref(),
            stats: args.stats,
            gdb,
        },
        &sandbox,
    )
}
