//! Command-line interface.

mod control;
mod engine;
mod exec;
mod gdb;
mod job_files;
mod migrate;
mod node;
mod policy;
mod receive_job;
mod receive_process;
mod restore_process;
mod run;
mod sandbox;
mod service;
mod size;
mod slice;
mod submit;

use clap::{Parser, Subcommand};

/// tern: a RISC-V virtualization platform.
#[derive(Parser, Debug)]
#[command(name = "tern", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once per process: the size of the largest arguments does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
enum Command {
    /// Run a whole RISC-V machine (a system VM).
    Run(run::RunArgs),
    /// Run one riscv64 Linux program (a process VM), like qemu-riscv64.
    Exec(exec::ExecArgs),
    /// Resume a VM (system or process) from its snapshot file.
    Restore(run::restore::RestoreArgs),
    /// Show a running VM's state (through its --api-sock).
    Status(control::StatusArgs),
    /// Pause a running VM at an instruction boundary.
    Pause(control::SockArgs),
    /// Resume a paused VM.
    Resume(control::SockArgs),
    /// Write a running VM to one snapshot file.
    Snapshot(control::SnapshotArgs),
    /// Stop a running VM.
    Stop(control::SockArgs),
    /// Start the gdb server of a VM running without --gdb (through its --api-sock).
    Gdb(control::GdbAttachArgs),
    /// Move a running VM (system or process) to another tern (`tern receive`) while
    /// it runs.
    Migrate(migrate::MigrateArgs),
    /// Wait for a VM migrating here, or a job sent by `tern submit`, then run it.
    Receive(migrate::ReceiveArgs),
    /// Ship a riscv64 program and its files to a `tern receive` and run it there,
    /// its output streamed back (weak mobility).
    Submit(submit::SubmitArgs),
    /// Run the node manager (`tern node serve`).
    Node(node::NodeArgs),
    /// Create, renew and delete slices of a node, and start VMs in them.
    Slice(slice::SliceArgs),
}

/// Runs the command; returns the process exit status.
pub fn dispatch(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Run(args) => run::run(args),
        Command::Exec(args) => exec::exec(args),
        Command::Restore(a) => run::restore::restore(a),
        Command::Status(a) => control::status(a),
        Command::Pause(a) => control::pause(a),
        Command::Resume(a) => control::resume(a),
        Command::Snapshot(a) => control::snapshot(a),
        Command::Stop(a) => control::stop(a),
        Command::Gdb(a) => control::gdb(a),
        Command::Migrate(a) => migrate::migrate(a),
        Command::Receive(a) => migrate::receive(a),
        Command::Submit(a) => submit::submit(a),
        Command::Node(a) => node::node(a),
        Command::Slice(a) => slice::slice(a),
    }
}
