//! `tern run --machine spike`: a bare-metal program with HTIF console and exit, and
//! the same machine restored from its snapshot.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::{bail, Context};
use tern_hart::ClockMode;
use tern_machine::{SpikeConfig, SpikeExit, SpikeMachine};
use tern_sandbox::Sandbox;
use tern_vmm::system::config::SpikeVmConfig;
use tern_vmm::system::snapshot::LastSnapshot;
use tern_vmm::system::spike::SpikeVm;

use super::{print_stats, RunArgs, EXIT_LIMIT};

/// Runs `tern run --machine spike`; returns the exit status.
pub fn run(
    args: &RunArgs,
    clock: ClockMode,
    sandbox: &Sandbox,
    gdb: Option<crate::cli::gdb::GdbListener>,
) -> anyhow::Result<i32> {
    let Some(kernel) = &args.kernel else {
        bail!("--machine spike needs --kernel PROGRAM.elf");
    };
    let elf = std::fs::read(kernel).with_context(|| format!("cannot read {}", kernel.display()))?;
    let trace: Option<Box<dyn Write + Send>> = match &args.trace {
        Some(path) => {
            let f = File::create(path)
                .with_context(|| format!("cannot create trace file {}", path.display()))?;
            Some(Box::new(BufWriter::new(f)))
        }
        None => None,
    };
    let config = SpikeConfig {
        memory: args.memory,
        clock,
        max_insns: args.max_insns,
        console: Box::new(std::io::stdout()),
        trace,
    };
    let machine = SpikeMachine::new(config, &elf)
        .with_context(|| format!("cannot start {}", kernel.display()))?;
    if !machine.has_htif() {
        eprintln!(
            "tern: warning: {} has no `tohost` symbol; it cannot report an exit",
            kernel.display()
        );
    }
    let vm = SpikeVmConfig {
        memory: args.memory,
        clock,
    };
    run_machine(
        machine,
        vm,
        None,
        args.api_sock.as_deref(),
        args.stats,
        sandbox,
        gdb,
    )
}

/// Runs a built (or restored) spike machine with, if asked, a control API and a gdb
/// server; returns
/// the exit status: the program's, 124 at the instruction limit, 0 when stopped
/// through the API.
pub fn run_machine(
    mut machine: SpikeMachine,
    config: SpikeVmConfig,
    restored_from: Option<LastSnapshot>,
    api_sock: Option<&Path>,
    stats: bool,
    sandbox: &Sandbox,
    gdb: Option<crate::cli::gdb::GdbListener>,
) -> anyhow::Result<i32> {
    let memory = config.memory;
    if let Some(g) = gdb {
        let vm = tern_gdb::spike::SpikeDebuggee::new(machine.handle());
        tern_gdb::spawn(g.listener, vm, g.wait).context("cannot start the gdb server")?;
    }
    let server = match api_sock {
        Some(path) => {
            let vm = SpikeVm::new(machine.handle(), config, restored_from);
            Some(
                tern_vmm::serve(path, std::sync::Arc::new(vm)).with_context(|| {
                    format!("cannot serve the control API on {}", path.display())
                })?,
            )
        }
        None => None,
    };
    sandbox.confine(&crate::cli::sandbox::limits(memory, 0));
    let started = std::time::Instant::now();
    let exit = machine.run();
    drop(server);
    std::io::stdout().flush().ok();
    if let Some(e) = machine.ram().lost() {
        bail!(
            "the restored VM cannot go on: {e}{}",
            tern_vmm::ram::LOST_HINT
        );
    }
    if stats {
        print_stats(machine.retired(), started);
    }
    Ok(match exit {
        SpikeExit::Exited(code) => (code & 0xff) as i32,
        SpikeExit::InstructionLimit => {
            eprintln!(
                "tern: instruction limit reached after {} instructions",
                machine.retired()
            );
            EXIT_LIMIT
        }
        SpikeExit::Deadlock => {
            let pc = machine.hart().state().pc;
            bail!("the hart waits in wfi at pc {pc:#x} and no interrupt can wake it")
        }
        SpikeExit::Stopped => 0,
    })
}
