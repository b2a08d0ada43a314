//! `tern run --machine virt`: a whole computer booting OpenSBI, U-Boot or Linux.

use std::io::Write;

use anyhow::{bail, Context};
use tern_devices::virtio::disk::DiskHandle;
use tern_hart::ClockMode;
use tern_machine::virt::{StopReason, VirtConfig, VirtMachine};

use tern_sandbox::Sandbox;
use tern_vmm::system::config::SystemConfig;
use tern_vmm::system::snapshot::{LastSnapshot, OpenedSnapshot};
use tern_vmm::system::SystemVm;

use super::terminal::{spawn_reader, Input, RawTerminal};
use super::{print_stats, spec, RunArgs, EXIT_LIMIT};
use crate::cli::gdb::GdbListener;

fn read(path: &Option<std::path::PathBuf>, what: &str) -> anyhow::Result<Option<Vec<u8>>> {
    match path {
        Some(p) => {
            Ok(Some(std::fs::read(p).with_context(|| {
                format!("cannot read {what} {}", p.display())
            })?))
        }
        None => Ok(None),
    }
}

/// The virtio devices of a machine, and its drives' disks (for snapshots).
pub struct Virtio {
    /// One factory per device, in slot order.
    pub factories: Vec<tern_machine::virt::VirtioFactory>,
    /// The disks, in the order of the drives.
    pub disks: Vec<DiskHandle>,
}

/// Builds the virtio devices of a machine from command-line device options, opening
/// the disks; for a restore, `snapshot` holds the disk overlays to put back.
pub fn virtio_factories(
    drives: &[String],
    netdevs: &[String],
    devices: &[String],
    snapshot: Option<&OpenedSnapshot>,
) -> anyhow::Result<Virtio> {
    let mut opened = Vec::new();
    for (i, d) in drives.iter().enumerate() {
        let spec = spec::parse_drive(d)?;
        let opts = super::devices::disk_options(&spec)?;
        let disk = match snapshot {
            Some(s) => s.reopen_disk(i, &opts)?,
            None => DiskHandle::open(&opts)?,
        };
        opened.push((disk, spec.readonly));
    }
    let nets = netdevs
        .iter()
        .map(|n| spec::parse_netdev(n))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Virtio {
        factories: super::devices::factories(&opened, &nets, devices)?,
        disks: opened.into_iter().map(|(d, _)| d).collect(),
    })
}

/// Runs a `virt` machine; returns the exit status.
pub fn run(
    args: &RunArgs,
    clock: ClockMode,
    sandbox: &Sandbox,
    gdb: Option<GdbListener>,
) -> anyhow::Result<i32> {
    if args.trace.is_some() {
        bail!("--trace is only available with --machine spike");
    }
    let virtio = virtio_factories(&args.drives, &args.netdevs, &args.devices, None)?;
    let config = VirtConfig {
        harts: args.cpus,
        memory: args.memory,
        bios: read(&args.bios, "firmware")?,
        kernel: read(&args.kernel, "kernel")?,
        initrd: read(&args.initrd, "initrd")?,
        append: args.append.clone(),
        clock,
        max_insns: args.max_insns,
        console: Box::new(std::io::stdout()),
        virtio: virtio.factories,
        restore_builtin_sbi: None,
    };
    let mut machine = VirtMachine::new(config).context("cannot build the virt machine")?;
    let plugins = super::plugins::Plugins::install(&args.plugin, &mut machine)?;
    let policy = match &args.policy {
        Some(file) => Some(super::policy::install(file, &mut machine)?),
        None => None,
    };
    if let Some(path) = &args.dump_dtb {
        std::fs::write(path, machine.dtb())
            .with_context(|| format!("cannot write {}", path.display()))?;
        return Ok(0);
    }
    let system = SystemConfig {
        harts: args.cpus,
        memory: args.memory,
        builtin_sbi: args.bios.is_none(),
        clock,
        drives: args.drives.clone(),
        netdevs: args.netdevs.clone(),
        devices: args.devices.clone(),
        policy,
    };
    let status = run_machine(
        machine,
        system,
        virtio.disks,
        Origin::Booted,
        Services {
            api_sock: args.api_sock.as_deref(),
            stats: args.stats,
            gdb,
        },
        sandbox,
    );
    plugins.finish();
    status
}

/// What a running machine serves besides its console.
pub struct Services<'a> {
    /// The control API's socket.
    pub api_sock: Option<&'a std::path::Path>,
    /// Print `--stats` figures at the end.
    pub stats: bool,
    /// The gdb server's listener.
    pub gdb: Option<GdbListener>,
}

/// Where a machine about to run came from.
pub enum Origin {
    /// Booted now.
    Booted,
    /// Restored from this snapshot.
    Restored(LastSnapshot),
    /// Received from a live migration.
    Received,
}

/// Runs a built (or restored) machine with the terminal as its console and, if asked,
/// a control API (snapshots read the drives' `disks`) and a gdb server; returns the
/// exit status.
pub fn run_machine(
    mut machine: VirtMachine,
    system: SystemConfig,
    disks: Vec<DiskHandle>,
    origin: Origin,
    services: Services<'_>,
    sandbox: &Sandbox,
) -> anyhow::Result<i32> {
    let Services {
        api_sock,
        stats,
        gdb,
    } = services;
    let memory = system.memory;
    let received = matches!(origin, Origin::Received);
    if let Some(g) = gdb {
        let vm = tern_gdb::virt::VirtDebuggee::new(machine.handle());
        tern_gdb::spawn(g.listener, vm, g.wait).context("cannot start the gdb server")?;
    } else if api_sock.is_some() {
        // Without --gdb, `tern gdb` (PUT /gdb) may start the server later.
        let handle = machine.handle();
        tern_vmm::control::gdb::set_attach(Box::new(move |listener| {
            let vm = tern_gdb::virt::VirtDebuggee::new(handle.clone());
            tern_gdb::spawn(listener, vm, false)
                .map(|_| ())
                .map_err(|e| format!("cannot start the gdb server: {e}"))
        }));
    }
    let mut vm = None;
    let server =
        match api_sock {
            Some(path) => {
                let handle = machine.handle();
                let system_vm = std::sync::Arc::new(match origin {
                    Origin::Booted => SystemVm::new(handle, system, disks, None),
                    Origin::Restored(last) => SystemVm::new(handle, system, disks, Some(last)),
                    Origin::Received => SystemVm::received(handle, system, disks),
                });
                vm = Some(system_vm.clone());
                Some(tern_vmm::serve(path, system_vm).with_context(|| {
                    format!("cannot serve the control API on {}", path.display())
                })?)
            }
            None => None,
        };
    let raw = RawTerminal::enter();
    let input = machine.console_input();
    let stop = machine.stop_handle();
    spawn_reader(move |i| match i {
        Input::Data(bytes) => {
            input.push(&bytes);
        }
        Input::Quit => stop.stop(0),
    });
    sandbox.confine(&crate::cli::sandbox::limits(memory, 0));
    let started = std::time::Instant::now();
    let reason = machine.run();
    drop(raw);
    let moved = vm.as_ref().and_then(|vm| vm.moved());
    if let (Some(vm), Some(_)) = (&vm, &moved) {
        // `tern migrate` learns the outcome from this socket: keep it a moment.
        vm.wait_outcome_read(std::time::Duration::from_secs(2));
    }
    drop(server);
    std::io::stdout().flush().ok();
    if let Some(moved) = moved {
        eprintln!(
            "tern: the VM moved to {} (downtime {:.1} ms)",
            moved.to,
            moved.downtime_ms.unwrap_or(0.0)
        );
        return Ok(0);
    }
    if let Some(e) = machine.ram().lost() {
        if received {
            // Post-copy: the pages the guest had not touched were only on the source.
            anyhow::bail!(
                "the VM cannot go on: it lost its memory still on the migration source \
                 ({e}); the source, if it still runs, keeps its copy paused as at the switch-over"
            );
        }
        anyhow::bail!(
            "the restored VM cannot go on: {e}{}",
            tern_vmm::ram::LOST_HINT
        );
    }
    if stats {
        print_stats(machine.retired(), started);
        eprintln!(
            "tern: guest RAM touched: {} KiB",
            machine.ram_touched() / 1024
        );
    }
    Ok(match reason {
        StopReason::PowerOff(status) => status,
        StopReason::Reboot => {
            eprintln!("tern: the guest asked for a reboot; stopping");
            0
        }
        StopReason::InstructionLimit => {
            eprintln!(
                "tern: instruction limit reached after {} instructions",
                machine.retired()
            );
            EXIT_LIMIT
        }
    })
}
