//! `tern restore FILE` of a process snapshot: the program continues in this host
//! process exactly where it stopped, writing to this process's stdout and ending
//! with the program's exit status.

use std::path::Path;
use std::time::Instant;

use anyhow::anyhow;
use tern_sandbox::Sandbox;
use tern_vmm::process::snapshot::open_process;
use tern_vmm::system::snapshot::LastSnapshot;

/// Restores the process snapshot `file`; returns only on failure (the host process
/// ends with the program).
pub fn restore(
    file: &Path,
    api_sock: Option<&Path>,
    stats: bool,
    policy: Option<&Path>,
    sandbox: Sandbox,
    gdb: Option<crate::cli::gdb::GdbListener>,
) -> anyhow::Result<i32> {
    let started = Instant::now();
    let path = std::fs::canonicalize(file).unwrap_or_else(|_| file.to_path_buf());
    // The restored process works in the program's directory (inside its --root):
    // the control socket's path is made absolute first.
    let api_sock = api_sock.map(std::path::absolute).transpose()?;
    let api_sock = api_sock.as_deref();
    let p = path.clone();
    // The snapshot's files are opened (and closed again) in a private descriptor
    // table, so that every descriptor number is free for the program's own.
    let opened = tern_linux::hostfd::in_private_fd_table("tern-restore", move || {
        open_process(&p).map_err(|e| format!("{e:#}"))
    })
    .and_then(|r| r)
    .map_err(|e| anyhow!("cannot restore {}: {e}", file.display()))?;
    // The snapshot's policy holds on unless another is given; installed (its log
    // opened) before the sandbox hides host paths.
    let recorded = match policy {
        Some(_) => None,
        None => opened.config.policy.as_deref(),
    };
    if policy.is_some() || recorded.is_some() {
        super::policy::install(policy, recorded, None, &[])?;
    }
    let opts = opened.config.options(
        std::fs::read_link("/proc/self/exe").ok(),
        api_sock.map(Path::to_path_buf),
    );
    // The helper thread above has ended: single-threaded again for the namespaces.
    // New snapshots are often written beside the one restored: its directory stays.
    sandbox.isolate(&crate::cli::sandbox::process_isolation(
        &opts.view,
        &[api_sock, Some(&path)],
    ));
    let last = LastSnapshot {
        id: opened.id,
        path,
    };
    let argv = opened.config.argv.clone();
    let r = tern_linux::restore::restore(opts, opened.ram, opened.image, |proc| {
        if stats {
            eprintln!(
                "tern: restored {} in {:.2} ms",
                file.display(),
                started.elapsed().as_secs_f64() * 1e3
            );
            proc.enable_stats(started);
        }
        if let Some(sock) = api_sock {
            super::exec::serve_or_exit(sock, proc, argv, Some(last));
        }
        match gdb {
            Some(g) => super::exec::serve_gdb(g, proc),
            None => super::exec::allow_gdb_attach(proc),
        }
        sandbox.confine(&crate::cli::sandbox::limits(
            proc.opts.memory,
            proc.fd_limit as u64,
        ));
    });
    match r {
        Ok(never) => match never {},
        Err(e) => Err(anyhow!("cannot restore {}: {e}", file.display())),
    }
}
