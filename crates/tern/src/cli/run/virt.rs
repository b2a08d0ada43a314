//! `tern run --machine virt`: a whole computer booting OpenSBI, U-Boot or Linux.

use std::io::Write;

use anyhow::{bail, Context};
use tern_hart::ClockMode;
use tern_machine::virt::{StopReason, VirtConfig, VirtMachine};

use super::terminal::{spawn_reader, Input, RawTerminal};
use super::{print_stats, spec, RunArgs, EXIT_LIMIT};

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

/// Runs a `virt` machine; returns the exit status.
pub fn run(args: &RunArgs, clock: ClockMode) -> anyhow::Result<i32> {
    if args.trace.is_some() {
        bail!("--trace is only available with --machine spike");
    }
    let drives = args
        .drives
        .iter()
        .map(|d| spec::parse_drive(d))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let nets = args
        .netdevs
        .iter()
        .map(|n| spec::parse_netdev(n))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let virtio = super::devices::factories(&drives, &nets, &args.devices)?;
    let config = VirtConfig {
        harts: args.cpus,
        memory: args.memory << 20,
        bios: read(&args.bios, "firmware")?,
        kernel: read(&args.kernel, "kernel")?,
        initrd: read(&args.initrd, "initrd")?,
        append: args.append.clone(),
        clock,
        max_insns: args.max_insns,
        console: Box::new(std::io::stdout()),
        virtio,
        restore_builtin_sbi: None,
    };
    let mut machine = VirtMachine::new(config).context("cannot build the virt machine")?;
    if let Some(path) = &args.dump_dtb {
        std::fs::write(path, machine.dtb())
            .with_context(|| format!("cannot write {}", path.display()))?;
        return Ok(0);
    }
    let raw = RawTerminal::enter();
    let input = machine.console_input();
    let stop = machine.stop_handle();
    spawn_reader(move |i| match i {
        Input::Data(bytes) => {
            input.push(&bytes);
        }
        Input::Quit => stop.stop(0),
    });
    let started = std::time::Instant::now();
    let reason = machine.run();
    drop(raw);
    std::io::stdout().flush().ok();
    if args.stats {
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
