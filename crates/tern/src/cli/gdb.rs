//! `--gdb HOST:PORT` and `--gdb-wait`: serve the gdb remote protocol for the VM.

use std::net::TcpListener;

use anyhow::Context;
use clap::Args;

/// The gdb options of `tern run`, `tern exec` and `tern restore`.
#[derive(Args, Debug, Clone, Default)]
pub struct GdbArgs {
    /// Serve the gdb remote protocol on HOST:PORT (`gdb-multiarch` then says
    /// `target remote HOST:PORT`); harts or threads are gdb threads.
    #[arg(long, value_name = "HOST:PORT")]
    pub gdb: Option<String>,
    /// With --gdb: stop the VM before it runs until gdb continues it (QEMU's -S).
    #[arg(long, requires = "gdb")]
    pub gdb_wait: bool,
}

/// A bound gdb listener and whether the VM waits for gdb.
pub struct GdbListener {
    /// Where gdb connects.
    pub listener: TcpListener,
    /// Stop the VM until gdb continues it.
    pub wait: bool,
}

impl GdbArgs {
    /// Binds the listener: before the sandbox gives the process a network namespace
    /// of its own, so that gdb on the host can still connect.
    pub fn listen(&self) -> anyhow::Result<Option<GdbListener>> {
        let Some(addr) = &self.gdb else {
            return Ok(None);
        };
        let listener = TcpListener::bind(addr.as_str())
            .with_context(|| format!("--gdb {addr}: cannot listen"))?;
        Ok(Some(GdbListener {
            listener,
            wait: self.gdb_wait,
        }))
    }
}
