//! `tern migrate`: starts a live migration through the VM's control socket and
//! follows it to the end with a progress line.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::Duration;

use crate::client::Client;
use crate::control::{MigrateRequest, MigrationPhase, MigrationStatus};

use super::format::size;
use super::Output;

/// How often the progress is polled.
const POLL: Duration = Duration::from_millis(100);

/// One line of progress: phase, round, what was sent, what remains, the throttle.
pub fn progress_line(s: &MigrationStatus) -> String {
    let total = s.memory_bytes.max(1);
    let done = s.pages_sent.saturating_mul(4096).min(total);
    let width = 24;
    let filled = (done as f64 / total as f64 * width as f64) as usize;
    let bar: String = "#".repeat(filled.min(width)) + &"-".repeat(width - filled.min(width));
    let mut line = format!(
        "{:<10} [{bar}] round {} sent {} remaining {} at {}/s",
        phase_name(s.phase),
        s.iteration,
        size(s.bytes_sent),
        size(s.remaining_bytes),
        size(s.bandwidth_bytes)
    );
    if s.throttle_percent > 0 {
        line.push_str(&format!(" throttle {}%", s.throttle_percent));
    }
    line
}

/// The phase as the API spells it.
pub fn phase_name(p: MigrationPhase) -> &'static str {
    match p {
        MigrationPhase::None => "none",
        MigrationPhase::Setup => "setup",
        MigrationPhase::Precopy => "precopy",
        MigrationPhase::Switchover => "switchover",
        MigrationPhase::Postcopy => "postcopy",
        MigrationPhase::Completed => "completed",
        MigrationPhase::Failed => "failed",
        MigrationPhase::Cancelled => "cancelled",
    }
}

/// The closing report of a migration.
pub fn summary(s: &MigrationStatus) -> String {
    let downtime = s
        .downtime_ms
        .map_or_else(|| "-".to_string(), |d| format!("{d:.1} ms"));
    format!(
        "{} to {}: downtime {downtime}, total {:.0} ms, {} sent in {} rounds",
        phase_name(s.phase),
        s.to,
        s.total_ms,
        size(s.bytes_sent),
        s.iteration + 1
    )
}

/// `tern migrate --api-sock PATH --to HOST:PORT ...`: starts the migration and, unless
/// `detach`, follows it until it ends (a progress bar on a terminal's stderr). Exit
/// status 0 when it completed; an error when it failed or was cancelled.
pub fn cli_migrate(
    sock: &Path,
    req: &MigrateRequest,
    detach: bool,
    output: Output,
) -> anyhow::Result<i32> {
    let client = Client::new(sock);
    let mut status = client.migrate(req)?;
    let tty = std::io::stderr().is_terminal() && output == Output::Human;
    while !detach && !status.phase.is_over() {
        if tty {
            eprint!("\r{}\x1b[K", progress_line(&status));
            let _ = std::io::stderr().flush();
        }
        std::thread::sleep(POLL);
        status = match client.migration() {
            Ok(s) => s,
            // The source's process lives on until the outcome was read (or a moment
            // passed): a socket gone before that is a source that died. In post-copy
            // the destination cannot go on without it.
            Err(e) if status.phase == MigrationPhase::Postcopy => anyhow::bail!(
                "the source went away during post-copy (the destination stops: its memory was still there): {e}"
            ),
            Err(e) if status.phase == MigrationPhase::Switchover => anyhow::bail!(
                "the source went away during the switch-over: the VM may run at the destination or nowhere: {e}"
            ),
            Err(e) => return Err(e.into()),
        };
    }
    if tty {
        eprintln!("\r{}\x1b[K", progress_line(&status));
    }
    let mut out = std::io::stdout().lock();
    match output {
        Output::Json => writeln!(out, "{}", serde_json::to_string_pretty(&status)?)?,
        Output::Human => writeln!(out, "{}", summary(&status))?,
    }
    match status.phase {
        MigrationPhase::Failed | MigrationPhase::Cancelled => anyhow::bail!(
            "migration to {} {}: {}",
            status.to,
            phase_name(status.phase),
            status.error.as_deref().unwrap_or("no reason given")
        ),
        _ => Ok(0),
    }
}

/// `tern migrate --api-sock PATH --cancel`.
pub fn cli_cancel(sock: &Path) -> anyhow::Result<i32> {
    let s = Client::new(sock).cancel_migration()?;
    println!("cancelling the migration to {}", s.to);
    Ok(0)
}

/// `tern migrate --api-sock PATH --status`.
pub fn cli_migration(sock: &Path, output: Output) -> anyhow::Result<i32> {
    let s = Client::new(sock).migration()?;
    match output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&s)?),
        Output::Human => println!("{}", progress_line(&s)),
    }
    Ok(0)
}
