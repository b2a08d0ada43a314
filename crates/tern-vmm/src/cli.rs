//! The `tern status|pause|resume|snapshot|stop` commands, ready to be called from the
//! `tern` binary's argument parser.
//!
//! Each `cli_*` function talks to the VM at `sock`, prints on stdout and returns the
//! exit status (0); a failure is an error whose message is the server's own, which
//! names the operation (e.g. "vm is stopped: cannot resume (HTTP 409)"), and which
//! `tern` prints before exiting with 1. The `*_to` variants write to any [`Write`] instead of stdout, for tests.

mod format;
pub mod migrate;

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::client::Client;
use crate::control::{Compression, SnapshotRequest};

/// How a command prints its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Output {
    /// Aligned text for people.
    #[default]
    Human,
    /// The API's JSON answer, pretty-printed, for scripts.
    Json,
}

impl Output {
    /// `Json` if `json` is set (the `--json` flag), else `Human`.
    pub fn from_json_flag(json: bool) -> Self {
        if json {
            Output::Json
        } else {
            Output::Human
        }
    }
}

/// What `tern snapshot` was asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotOptions {
    /// The file to write (`--out`); relative paths are relative to the caller's
    /// working directory, not the VM's.
    pub out: PathBuf,
    /// `--incremental`: only pages dirtied since the previous snapshot.
    pub incremental: bool,
    /// `--zstd`: compress memory pages.
    pub zstd: bool,
    /// `--include-disks`: store written disk blocks in the file.
    pub include_disks: bool,
}

impl SnapshotOptions {
    /// The API request: `out` made absolute against the current directory.
    pub fn request(&self) -> anyhow::Result<SnapshotRequest> {
        let abs = std::path::absolute(&self.out)
            .with_context(|| format!("--out {}: cannot make it absolute", self.out.display()))?;
        let path = abs
            .to_str()
            .with_context(|| format!("--out {}: path is not UTF-8", abs.display()))?
            .to_string();
        Ok(SnapshotRequest {
            path,
            incremental: self.incremental,
            compress: if self.zstd {
                Compression::Zstd
            } else {
                Compression::None
            },
            include_disks: self.include_disks,
        })
    }
}

/// `tern status --api-sock PATH [--json]`.
pub fn cli_status(sock: &Path, output: Output) -> anyhow::Result<i32> {
    status_to(&mut io::stdout().lock(), sock, output)
}

/// `tern pause --api-sock PATH`.
pub fn cli_pause(sock: &Path) -> anyhow::Result<i32> {
    pause_to(&mut io::stdout().lock(), sock)
}

/// `tern resume --api-sock PATH`.
pub fn cli_resume(sock: &Path) -> anyhow::Result<i32> {
    resume_to(&mut io::stdout().lock(), sock)
}

/// `tern stop --api-sock PATH`.
pub fn cli_stop(sock: &Path) -> anyhow::Result<i32> {
    stop_to(&mut io::stdout().lock(), sock)
}

/// `tern snapshot --api-sock PATH --out FILE [--incremental] [--zstd] [--include-disks] [--json]`.
pub fn cli_snapshot(sock: &Path, opts: &SnapshotOptions, output: Output) -> anyhow::Result<i32> {
    snapshot_to(&mut io::stdout().lock(), sock, opts, output)
}

/// [`cli_status`], writing to `out`.
pub fn status_to(out: &mut dyn Write, sock: &Path, output: Output) -> anyhow::Result<i32> {
    let status = Client::new(sock).status()?;
    match output {
        Output::Json => writeln!(out, "{}", serde_json::to_string_pretty(&status)?)?,
        Output::Human => out.write_all(format::status(&status).as_bytes())?,
    }
    Ok(0)
}

/// [`cli_pause`], writing to `out`.
pub fn pause_to(out: &mut dyn Write, sock: &Path) -> anyhow::Result<i32> {
    Client::new(sock).pause()?;
    writeln!(out, "paused")?;
    Ok(0)
}

/// [`cli_resume`], writing to `out`.
pub fn resume_to(out: &mut dyn Write, sock: &Path) -> anyhow::Result<i32> {
    Client::new(sock).resume()?;
    writeln!(out, "running")?;
    Ok(0)
}

/// [`cli_stop`], writing to `out`.
pub fn stop_to(out: &mut dyn Write, sock: &Path) -> anyhow::Result<i32> {
    Client::new(sock).stop()?;
    writeln!(out, "stopped")?;
    Ok(0)
}

/// [`cli_snapshot`], writing to `out`.
pub fn snapshot_to(
    out: &mut dyn Write,
    sock: &Path,
    opts: &SnapshotOptions,
    output: Output,
) -> anyhow::Result<i32> {
    let req = opts.request()?;
    let info = Client::new(sock).snapshot(&req)?;
    match output {
        Output::Json => writeln!(out, "{}", serde_json::to_string_pretty(&info)?)?,
        Output::Human => writeln!(out, "{}", format::snapshot(&info))?,
    }
    Ok(0)
}
