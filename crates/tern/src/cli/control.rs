//! `tern status|pause|resume|snapshot|stop`: drive a running VM through its control
//! socket (`--api-sock` of `tern run`, `tern exec` and `tern restore`).

use std::path::PathBuf;

use clap::Args;
use tern_vmm::cli::{self as vmcli, Output, SnapshotOptions};

/// A VM's control socket.
#[derive(Args, Debug)]
pub struct SockArgs {
    /// The VM's control socket.
    #[arg(long, value_name = "PATH")]
    pub api_sock: PathBuf,
}

/// Arguments of `tern status`.
#[derive(Args, Debug)]
pub struct StatusArgs {
    /// The VM's control socket.
    #[arg(long, value_name = "PATH")]
    pub api_sock: PathBuf,
    /// Print the API's JSON answer.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `tern snapshot`.
#[derive(Args, Debug)]
pub struct SnapshotArgs {
    /// The VM's control socket.
    #[arg(long, value_name = "PATH")]
    pub api_sock: PathBuf,
    /// The snapshot file to write.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Store only memory written since the previous snapshot (which becomes the parent).
    #[arg(long)]
    pub incremental: bool,
    /// Compress memory with zstd (smaller file; restore copies instead of mapping).
    #[arg(long)]
    pub zstd: bool,
    /// Store the disks' written blocks in the file, so that the file alone is the VM.
    #[arg(long)]
    pub include_disks: bool,
    /// Print the API's JSON answer.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `tern gdb`.
#[derive(Args, Debug)]
pub struct GdbAttachArgs {
    /// The VM's control socket.
    #[arg(long, value_name = "PATH")]
    pub api_sock: PathBuf,
    /// Where the VM's gdb server listens (port 0: any free port).
    #[arg(long, value_name = "HOST:PORT")]
    pub listen: String,
}

/// `tern gdb`: starts the gdb server of a VM that runs without `--gdb`, and prints
/// where gdb connects.
pub fn gdb(a: GdbAttachArgs) -> anyhow::Result<i32> {
    let info = tern_vmm::client::Client::new(&a.api_sock)
        .gdb(&a.listen)
        .map_err(|e| anyhow::anyhow!("tern gdb: {e}"))?;
    println!("gdb: target remote {}", info.listen);
    Ok(0)
}

/// `tern status`.
pub fn status(a: StatusArgs) -> anyhow::Result<i32> {
    vmcli::cli_status(&a.api_sock, Output::from_json_flag(a.json))
}

/// `tern pause`.
pub fn pause(a: SockArgs) -> anyhow::Result<i32> {
    vmcli::cli_pause(&a.api_sock)
}

/// `tern resume`.
pub fn resume(a: SockArgs) -> anyhow::Result<i32> {
    vmcli::cli_resume(&a.api_sock)
}

/// `tern stop`.
pub fn stop(a: SockArgs) -> anyhow::Result<i32> {
    vmcli::cli_stop(&a.api_sock)
}

/// `tern snapshot`.
pub fn snapshot(a: SnapshotArgs) -> anyhow::Result<i32> {
    let opts = SnapshotOptions {
        out: a.out,
        incremental: a.incremental,
        zstd: a.zstd,
        include_disks: a.include_disks,
    };
    vmcli::cli_snapshot(&a.api_sock, &opts, Output::from_json_flag(a.json))
}
