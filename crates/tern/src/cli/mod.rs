//! Command-line interface.

mod exec;
mod run;

use clap::{Parser, Subcommand};

/// tern: a RISC-V virtualization platform.
#[derive(Parser, Debug)]
#[command(name = "tern", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a whole RISC-V machine (a system VM).
    Run(run::RunArgs),
    /// Run one riscv64 Linux program (a process VM), like qemu-riscv64.
    Exec(exec::ExecArgs),
}

/// Runs the command; returns the process exit status.
pub fn dispatch(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Run(args) => run::run(args),
        Command::Exec(args) => exec::exec(args),
    }
}
