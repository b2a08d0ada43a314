//! `tern run`: boot a machine.

pub(crate) mod devices;
mod hostfwd;
mod plugins;
pub(crate) mod policy;
pub mod restore;
pub(crate) mod spec;
mod spike;
mod terminal;
pub(crate) mod virt;

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use tern_hart::ClockMode;
use tern_sandbox::{Isolation, Kind, Sandbox};

/// Exit status when `--max-insns` stops the guest (as `timeout(1)` uses).
pub const EXIT_LIMIT: i32 = 124;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum MachineKind {
    /// Spike-compatible board for bare-metal programs (HTIF console and exit).
    Spike,
    /// QEMU-compatible `virt` board: boots OpenSBI, U-Boot and Linux.
    Virt,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ClockKind {
    /// Guest time follows the host's monotonic clock.
    Host,
    /// Guest time advances one tick (100 ns) per 10 retired instructions:
    /// deterministic runs.
    Insns,
}

/// Arguments of `tern run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// Board to emulate.
    #[arg(long, value_enum, default_value = "virt")]
    machine: MachineKind,
    /// Program or kernel to load (ELF, Linux `Image`, or raw binary at 0x8020_0000).
    #[arg(long)]
    kernel: Option<PathBuf>,
    /// M-mode firmware (e.g. OpenSBI's fw_jump.bin); without it tern provides the SBI
    /// itself (virt only).
    #[arg(long)]
    bios: Option<PathBuf>,
    /// Initial RAM disk (virt only).
    #[arg(long)]
    initrd: Option<PathBuf>,
    /// Kernel command line (virt only).
    #[arg(long, default_value = "")]
    append: String,
    /// Number of harts, 1 to 8 (virt only).
    #[arg(long, default_value_t = 1)]
    cpus: usize,
    /// Disk: file=PATH[,format=raw|qcow2][,readonly=on][,snapshot=on] (virt; repeatable).
    #[arg(long = "drive")]
    drives: Vec<String>,
    /// Network: user[,hostfwd=tcp::HOSTPORT-:GUESTPORT][,mac=..] or
    /// socket,listen=HOST:PORT|connect=HOST:PORT (virt; repeatable); rate-kbps=N
    /// limits the card to N kilobits per second each way.
    #[arg(long = "netdev")]
    netdevs: Vec<String>,
    /// Extra virtio devices: virtio-console, virtio-rng (virt; repeatable).
    #[arg(long = "device")]
    devices: Vec<String>,
    /// Write the generated device tree to FILE and exit (virt only).
    #[arg(long)]
    dump_dtb: Option<PathBuf>,
    /// Guest RAM: a size with a K, M, G or T suffix (256M, 1G), or a number of MiB.
    #[arg(long, default_value = "256M", value_parser = super::size::parse_size)]
    memory: u64,
    /// Stop after this many instructions (exit status 124).
    #[arg(long)]
    max_insns: Option<u64>,
    /// Write a disassembled trace of every executed instruction to this file.
    #[arg(long)]
    trace: Option<PathBuf>,
    /// How guest time advances.
    #[arg(long, value_enum, default_value = "host")]
    clock: ClockKind,
    /// Print instructions retired, wall time and speed to stderr at the end.
    #[arg(long)]
    stats: bool,
    #[command(flatten)]
    engine: crate::cli::engine::EngineArgs,
    /// Serve the control API (status, pause, resume, snapshot, stop) on this Unix
    /// socket.
    #[arg(long)]
    api_sock: Option<PathBuf>,
    /// Run without the sandbox (seccomp allowlist, network namespace, dropped
    /// capabilities, limits) that tern otherwise confines itself to; see the README.
    #[arg(long)]
    no_sandbox: bool,
    /// The VM may be migrated away (`tern migrate`): its sandbox keeps the host's
    /// network to reach a destination. Without it, a VM given no --netdev has no
    /// network at all, and a migration fails to connect.
    #[arg(long)]
    migratable: bool,
    #[command(flatten)]
    gdb: super::gdb::GdbArgs,
    /// A built-in plugin on the harts (repeatable; virt only): `insn-count[=ELF]`
    /// (instructions per function of ELF, e.g. vmlinux, printed at the end),
    /// `coverage=FILE[,symbols=ELF]`, `mem-trace=FILE[,max=N]`.
    #[arg(long, value_name = "NAME[=ARG]")]
    plugin: Vec<String>,
    /// Apply the rules in FILE (virt): `sbi-deny EXT[/FID]`, `sbi-log EXT[/FID]` (tern's
    /// own SBI), `mmio-deny DEVICE [read|write]`, `mmio-log DEVICE [read|write]`,
    /// `log-file PATH` (see the README, "Policies and plugins").
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Wait for a VM migrating here on [tcp:]HOST:PORT instead of booting one (as `tern
    /// receive --listen`): the machine comes from the stream.
    #[arg(long, value_name = "HOST:PORT")]
    incoming: Option<String>,
    #[command(flatten)]
    tls: crate::cli::migrate::TlsArgs,
    /// Where copies of disks go, with --incoming.
    #[arg(long, value_name = "DIR", default_value = ".")]
    disk_dir: PathBuf,
}

/// Runs `tern run`; returns the exit status.
pub fn run(args: RunArgs) -> anyhow::Result<i32> {
    if let Some(listen) = &args.incoming {
        if args.kernel.is_some() || args.bios.is_some() || args.initrd.is_some() {
            anyhow::bail!("--incoming takes the machine from the migration stream: no --kernel, --bios or --initrd");
        }
        return crate::cli::migrate::receive(crate::cli::migrate::ReceiveArgs {
            listen: listen.clone(),
            api_sock: args.api_sock.clone(),
            tls: args.tls.clone(),
            disk_dir: args.disk_dir.clone(),
            stats: args.stats,
            no_sandbox: args.no_sandbox,
            agent: false,
            job_dir: None,
            job_max: 0,
            job_bind: Vec::new(),
            root: None,
            no_jobs: true,
        });
    }
    args.engine.apply()?;
    super::size::check_memory(args.memory, 1, 64 * 1024, 4096)?;
    let clock = match args.clock {
        ClockKind::Host => ClockMode::Host,
        ClockKind::Insns => ClockMode::Instructions(10),
    };
    let gdb = args.gdb.listen()?;
    // Still single-threaded: namespaces now, the rest once the machine is built.
    let sandbox = Sandbox::new(Kind::System, !args.no_sandbox);
    // A VM that may be migrated keeps the host's network to reach a destination.
    sandbox.isolate(&Isolation {
        network: !args.netdevs.is_empty() || args.migratable,
        view: None,
    });
    match args.machine {
        MachineKind::Virt => virt::run(&args, clock, &sandbox, gdb),
        MachineKind::Spike => {
            if !args.plugin.is_empty() || args.policy.is_some() {
                anyhow::bail!("--plugin and --policy are only available with --machine virt");
            }
            spike::run(&args, clock, &sandbox, gdb)
        }
    }
}

/// Prints `--stats` figures.
fn print_stats(insns: u64, started: std::time::Instant) {
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "tern: {insns} instructions in {secs:.3} s ({:.1} MIPS)",
        insns as f64 / secs.max(1e-9) / 1e6
    );
    if let Some(line) = crate::cli::engine::jit_stats_line() {
        eprintln!("{line}");
    }
}
