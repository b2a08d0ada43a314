//! `tern migrate` (the source: drives a running VM's migration through its control
//! socket) and `tern receive` / `tern run --incoming` (the destination: waits for a
//! VM, builds its machine and runs it).

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, ValueEnum};
use tern_devices::virtio::disk::{DiskFormat, DiskHandle, DiskOptions};
use tern_machine::virt::{VirtConfig, VirtMachine};
use tern_migrate::{DiskMode, Listener, Security, TlsFiles};
use tern_sandbox::{Isolation, Kind, Sandbox};
use tern_state::Persist;
use tern_vmm::cli::migrate as vmcli;
use tern_vmm::cli::Output;
use tern_vmm::control::{DiskMigration, MigrateRequest, MigrationMode, TlsPaths};
use tern_vmm::migrate::dest::VmConfig;
use tern_vmm::migrate::{receive as receive_vm, Arrival, DiskOpener, Incoming};

use super::run::virt::{run_machine, Origin, Services};
use super::run::{devices, spec};

/// The TLS options of both sides.
#[derive(Args, Debug, Clone, Default)]
pub struct TlsArgs {
    /// This side's certificate (PEM), signed by the CA of --tls-ca.
    #[arg(long, value_name = "FILE", requires_all = ["tls_key", "tls_ca"])]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(long, value_name = "FILE")]
    pub tls_key: Option<PathBuf>,
    /// The CA (PEM) that signed the other side's certificate.
    #[arg(long, value_name = "FILE")]
    pub tls_ca: Option<PathBuf>,
    /// The name the destination's certificate must carry, if not the host of --to.
    #[arg(long, value_name = "NAME")]
    pub tls_server_name: Option<String>,
    /// Plain TCP without authentication or encryption (tests on the loopback).
    #[arg(long, conflicts_with_all = ["tls_cert", "tls_key", "tls_ca"])]
    pub insecure: bool,
}

fn absolute(p: &Path) -> anyhow::Result<String> {
    let abs = std::path::absolute(p).with_context(|| format!("{}", p.display()))?;
    abs.to_str()
        .map(str::to_string)
        .with_context(|| format!("{}: not UTF-8", abs.display()))
}

impl TlsArgs {
    /// The stream's security; an error unless TLS files or --insecure are given.
    pub fn security(&self) -> anyhow::Result<Security> {
        match (&self.tls_cert, &self.tls_key, &self.tls_ca, self.insecure) {
            (_, _, _, true) => Ok(Security::Insecure),
            (Some(cert), Some(key), Some(ca), false) => Ok(Security::Tls(TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
                ca: ca.clone(),
                server_name: self.tls_server_name.clone(),
            })),
            _ => anyhow::bail!(
                "the migration stream needs --tls-cert, --tls-key and --tls-ca (see the README for making them with openssl), or --insecure for plain TCP"
            ),
        }
    }

    /// The TLS files as absolute paths (`None` with --insecure); an error unless one
    /// of the two was given.
    pub fn paths(&self) -> anyhow::Result<Option<TlsPaths>> {
        self.security()?;
        match (&self.tls_cert, &self.tls_key, &self.tls_ca) {
            (Some(c), Some(k), Some(a)) if !self.insecure => Ok(Some(TlsPaths {
                cert: absolute(c)?,
                key: absolute(k)?,
                ca: absolute(a)?,
                server_name: self.tls_server_name.clone(),
            })),
            _ => Ok(None),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ModeArg {
    Precopy,
    Postcopy,
    Auto,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum DisksArg {
    /// The destination opens the same images (shared storage).
    Shared,
    /// The disks are copied in the stream.
    Copy,
}

/// Arguments of `tern migrate`.
#[derive(Args, Debug)]
pub struct MigrateArgs {
    /// The VM's control socket.
    #[arg(long, value_name = "PATH")]
    api_sock: PathBuf,
    /// Where the destination listens (`tern receive --listen`, `tern run --incoming`):
    /// `[tcp:]HOST:PORT`.
    #[arg(value_name = "DESTINATION", required_unless_present_any = ["to", "cancel", "status"])]
    destination: Option<String>,
    /// The same as DESTINATION.
    #[arg(long, value_name = "HOST:PORT", conflicts_with = "destination")]
    to: Option<String>,
    /// How memory moves.
    #[arg(long, value_enum, default_value = "precopy")]
    mode: ModeArg,
    /// The longest the VM may stand still at the switch-over (at least 3).
    #[arg(long, value_name = "MS", default_value_t = 100)]
    max_downtime_ms: u64,
    /// Highest bandwidth to use, in MiB/s.
    #[arg(long, value_name = "MIB/S")]
    max_bandwidth: Option<u64>,
    /// Do not throttle a guest that dirties memory faster than the link carries it.
    #[arg(long)]
    no_auto_converge: bool,
    /// A process VM's files: `PATH=rb|cp|mv` (repeatable; guest paths, the
    /// longest matching rule decides). rb (default): opened again by path at the
    /// destination; cp: the contents travel and are written at the same path there;
    /// mv: as cp, and the file is removed here once the program runs there.
    #[arg(long = "bind", value_name = "PATH=rb|cp|mv")]
    bindings: Vec<String>,
    /// How the disks move.
    #[arg(long, value_enum, default_value = "shared")]
    disks: DisksArg,
    #[command(flatten)]
    tls: TlsArgs,
    /// Return once the migration has started.
    #[arg(long)]
    detach: bool,
    /// Print the API's JSON answer.
    #[arg(long)]
    json: bool,
    /// Cancel the running migration.
    #[arg(long, conflicts_with_all = ["to", "destination"])]
    cancel: bool,
    /// Show the migration's progress.
    #[arg(long, conflicts_with_all = ["to", "destination", "cancel"])]
    status: bool,
}

/// Runs `tern migrate`.
pub fn migrate(a: MigrateArgs) -> anyhow::Result<i32> {
    let output = Output::from_json_flag(a.json);
    if a.cancel {
        return vmcli::cli_cancel(&a.api_sock);
    }
    if a.status {
        return vmcli::cli_migration(&a.api_sock, output);
    }
    let req = MigrateRequest {
        to: a.to.clone().or(a.destination.clone()).unwrap_or_default(),
        mode: match a.mode {
            ModeArg::Precopy => MigrationMode::Precopy,
            ModeArg::Postcopy => MigrationMode::Postcopy,
            ModeArg::Auto => MigrationMode::Auto,
        },
        max_downtime_ms: a.max_downtime_ms,
        max_bandwidth_mib: a.max_bandwidth,
        auto_converge: !a.no_auto_converge,
        disks: match a.disks {
            DisksArg::Shared => DiskMigration::Shared,
            DisksArg::Copy => DiskMigration::Copy,
        },
        tls: a.tls.paths()?,
        insecure: a.tls.insecure,
        bindings: a.bindings.clone(),
    };
    vmcli::cli_migrate(&a.api_sock, &req, a.detach, output)
}

/// Arguments of `tern receive`.
#[derive(Args, Debug)]
pub struct ReceiveArgs {
    /// Where to listen for the source: `[tcp:]HOST:PORT` (port 0 picks one, printed on
    /// stderr).
    #[arg(long, value_name = "HOST:PORT")]
    pub listen: String,
    /// Serve the control API on this Unix socket once the VM runs.
    #[arg(long)]
    pub api_sock: Option<PathBuf>,
    #[command(flatten)]
    pub tls: TlsArgs,
    /// Where copies of disks go (`tern migrate --disks copy`).
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub disk_dir: PathBuf,
    /// Print how long the switch-over took here, and the run's statistics.
    #[arg(long)]
    pub stats: bool,
    /// Run without the sandbox (see the README).
    #[arg(long)]
    pub no_sandbox: bool,
    /// A program that arrives may move itself on (a mobile agent, see `tern exec
    /// --agent`), with this side's TLS options.
    #[arg(long)]
    pub agent: bool,
    /// Where a job sent by `tern submit` gets its directory (removed when it ends).
    #[arg(long, value_name = "DIR")]
    pub job_dir: Option<PathBuf>,
    /// Most bytes of files a submitted job may send (a size: 512M, 1G).
    #[arg(long, value_name = "SIZE", default_value = "1G", value_parser = super::size::parse_size)]
    pub job_max: u64,
    /// Make host directory HOST appear at GUEST for submitted jobs (`tern exec
    /// --bind`; e.g. a riscv64 sysroot's libraries for dynamic programs). Repeatable.
    #[arg(long, value_name = "HOST:GUEST")]
    pub job_bind: Vec<String>,
    /// A program (process VM) that arrives sees DIR as its `/`, in place of the
    /// root it had at the source: its files bound by path are opened there.
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Refuse jobs (`tern run --incoming` waits for a system VM only).
    #[arg(skip)]
    pub no_jobs: bool,
}

/// Opens the destination's disks as the command line would.
struct Disks {
    dir: PathBuf,
}

impl DiskOpener for Disks {
    fn open(
        &mut self,
        index: usize,
        drive: &str,
        mode: DiskMode,
        size: u64,
    ) -> anyhow::Result<(DiskHandle, Option<String>)> {
        let d = spec::parse_drive(drive)?;
        let mut opts = devices::disk_options(&d)?;
        match mode {
            DiskMode::Shared => Ok((DiskHandle::open(&opts)?, None)),
            DiskMode::Overlay => {
                opts.snapshot = true;
                Ok((DiskHandle::open(&opts)?, None))
            }
            DiskMode::Copy => {
                let name = format!(
                    "tern-disk{index}-{}-{:08x}.raw",
                    std::process::id(),
                    rand_suffix()
                );
                let path = self.dir.join(name);
                let file = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&path)
                    .with_context(|| format!("cannot create the disk copy {}", path.display()))?;
                file.set_len(size)
                    .with_context(|| format!("cannot size the disk copy {}", path.display()))?;
                drop(file);
                let opts = DiskOptions::new(&path, DiskFormat::Raw);
                let spec = format!(
                    "file={},format=raw{}",
                    path.display(),
                    if d.readonly { ",readonly=on" } else { "" }
                );
                eprintln!("tern: disk {index} is copied to {}", path.display());
                Ok((DiskHandle::open(&opts)?, Some(spec)))
            }
        }
    }
}

/// A random number for file names.
pub(super) fn rand_suffix() -> u32 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::SystemTime::now()) as u32
}

/// Runs `tern receive` (and `tern run --incoming`): waits for a VM, runs it, exits
/// with its status. A migration that fails before the switch-over (the source stays
/// in charge) is thrown away and the next one is waited for.
pub fn receive(a: ReceiveArgs) -> anyhow::Result<i32> {
    let security = a.tls.security()?;
    // Still single-threaded: namespaces now (the network stays: the VM comes from it).
    let sandbox = Sandbox::new(Kind::System, !a.no_sandbox);
    sandbox.isolate(&Isolation {
        network: true,
        view: None,
    });
    let mut listener = Listener::bind(&a.listen, &security)?;
    // A process VM's descriptors are host descriptors with the same numbers: the
    // stream's sockets stay above them.
    let above = tern_linux::fs::guest_fd_limit();
    listener.place_sockets(Box::new(move |s| tern_linux::hostfd::move_above(s, above)));
    let addr = listener.local_addr()?;
    eprintln!("tern: waiting for a VM on {addr}");
    loop {
        let (conn, peer) = match listener.accept() {
            Ok(c) => c,
            Err(e) => {
                eprintln!("tern: refused a connection: {e}");
                continue;
            }
        };
        let started = std::time::Instant::now();
        let mut disks = Disks {
            dir: a.disk_dir.clone(),
        };
        let incoming = match receive_vm(conn, &listener, &mut disks) {
            Ok(Arrival::Vm(i)) => i,
            Ok(Arrival::Job(_, mut conn)) if a.no_jobs => {
                eprintln!("tern: refused a job from {peer}: this tern waits for a VM");
                conn.send_error("this tern waits for a VM, not a job");
                continue;
            }
            Ok(Arrival::Job(job, conn)) => {
                eprintln!("tern: a job arrives from {peer}: {}", job.argv.join(" "));
                let policy = super::receive_job::JobPolicy {
                    dir: a.job_dir.clone().unwrap_or_else(std::env::temp_dir),
                    max_bytes: a.job_max,
                    binds: a.job_bind.clone(),
                    sandboxed: !a.no_sandbox,
                };
                return Ok(super::receive_job::run(job, conn, peer, &policy));
            }
            Err(e) => {
                eprintln!("tern: migration from {peer} failed: {e:#}; waiting for another");
                continue;
            }
        };
        let switch = std::time::Instant::now();
        if let VmConfig::Process(mut config) = incoming.config.clone() {
            if let Some(root) = &a.root {
                config.root = Some(absolute(root)?);
            }
            let image = match super::receive_process::check(&incoming) {
                Ok(image) => image,
                Err(e) => {
                    let why = format!("{e:#}");
                    eprintln!("tern: the program from {peer} cannot run here: {why}");
                    incoming.refuse(&why);
                    continue;
                }
            };
            eprintln!(
                "tern: a program arrives from {peer}: {}",
                config.argv.join(" ")
            );
            let e = super::receive_process::run(
                incoming,
                config,
                image,
                a.api_sock.as_deref(),
                a.stats,
                !a.no_sandbox,
                if a.agent { Some(a.tls.paths()?) } else { None },
            )
            .unwrap_err();
            // Its descriptors may have replaced this process's: no second attempt.
            tern_linux::exit::diag(&format!("tern: the program from {peer}: {e:#}"));
            return Ok(1);
        }
        let mut machine = match build(&incoming) {
            Ok(m) => m,
            Err(e) => {
                let why = format!("{e:#}");
                eprintln!("tern: the VM from {peer} cannot run here: {why}");
                incoming.refuse(&why);
                continue;
            }
        };
        let mut incoming = incoming;
        if let Err(e) = incoming.ready(machine.stop_handle()) {
            eprintln!("tern: migration from {peer} was abandoned: {e:#}; waiting for another");
            continue;
        }
        if a.stats {
            eprintln!(
                "tern: received a VM from {peer} in {:.1} ms (machine built in {:.2} ms)",
                started.elapsed().as_secs_f64() * 1e3,
                switch.elapsed().as_secs_f64() * 1e3
            );
        }
        if incoming.mode == tern_migrate::Mode::Postcopy {
            eprintln!("tern: the VM from {peer} runs here in post-copy: the pages it wrote last come from the source on first touch");
        }
        let VmConfig::System(config) = incoming.config.clone() else {
            anyhow::bail!("a process VM is run above");
        };
        let disks = incoming.disks.clone();
        incoming.started()?;
        let _ = &mut machine;
        return run_machine(
            machine,
            config,
            disks,
            Origin::Received,
            Services {
                api_sock: a.api_sock.as_deref(),
                stats: a.stats,
                gdb: None,
            },
            &sandbox,
        );
    }
}

/// Builds the machine of a received VM and puts it into its states.
fn build(incoming: &Incoming) -> anyhow::Result<VirtMachine> {
    let VmConfig::System(c) = &incoming.config else {
        anyhow::bail!("not a system VM");
    };
    let mut opened = Vec::new();
    for (d, spec) in incoming.disks.iter().zip(&c.drives) {
        opened.push((d.clone(), spec::parse_drive(spec)?.readonly));
    }
    let nets = c
        .netdevs
        .iter()
        .map(|n| spec::parse_netdev(n))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let factories = devices::factories(&opened, &nets, &c.devices)?;
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
        virtio: factories,
        restore_builtin_sbi: Some(c.builtin_sbi),
    };
    let mut machine = VirtMachine::with_ram(config, incoming.ram.clone())
        .context("cannot rebuild the machine")?;
    machine
        .restore(&incoming.states)
        .map_err(|e| anyhow::anyhow!("the VM's state: {e}"))?;
    // The VM's policy moves with it.
    if let Some(text) = &c.policy {
        super::run::policy::install_text(text, "the VM's policy", &mut machine)?;
    }
    Ok(machine)
}
