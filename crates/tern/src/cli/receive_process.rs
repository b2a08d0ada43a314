//! `tern receive` of a process VM: the program that arrives continues in this host
//! process, where it stopped on the source, as `tern restore` continues one from a
//! snapshot (its stdout and stderr are this process's, its files opened again by
//! path).

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::anyhow;
use tern_linux::restore::Image;
use tern_sandbox::{Kind, Sandbox};
use tern_vmm::migrate::Incoming;
use tern_vmm::process::config::ProcessConfig;
use tern_vmm::process::snapshot::decode_components;

/// The program's state, checked against the memory that came with it: anything
/// wrong is found before the source is told the destination is ready.
pub fn check(incoming: &Incoming) -> anyhow::Result<Image> {
    let image = decode_components(incoming.states.clone())
        .map_err(|e| anyhow!("the program's state: {e}"))?;
    image
        .check(&incoming.ram)
        .map_err(|e| anyhow!("the program's state: {e}"))?;
    Ok(image)
}

/// Runs the received program: rebuilds its process, tells the source it is ready,
/// waits for `go`, and lets the threads run. Returns only on failure before the
/// descriptors were rebuilt; later failures end this host process.
pub fn run(
    incoming: Incoming,
    config: ProcessConfig,
    image: Image,
    api_sock: Option<&Path>,
    stats: bool,
    sandboxed: bool,
    jumps: Option<Option<tern_vmm::control::TlsPaths>>,
) -> anyhow::Result<Infallible> {
    let started = std::time::Instant::now();
    // The program's policy moves with it.
    if let Some(text) = &config.policy {
        super::policy::install(None, Some(text), None, &[])?;
    }
    let api_sock: Option<PathBuf> = api_sock.map(std::path::absolute).transpose()?;
    let opts = config.options(std::fs::read_link("/proc/self/exe").ok(), api_sock.clone());
    // The namespaces were made when `tern receive` started (single-threaded, before it
    // knew what would come); the seccomp allowlist is the process VM's.
    let sandbox = Sandbox::new(Kind::Process, sandboxed);
    let argv = config.argv.clone();
    let ram = incoming.ram.clone();
    let agent_config = config.clone();
    // The stream goes into the start-up step; a rebuild that fails before it (a file
    // that cannot be opened here) takes it back to tell the source why.
    let stream = Arc::new(Mutex::new(Some(incoming)));
    let step_stream = stream.clone();
    let r = tern_linux::restore::restore(opts, ram, image, move |proc| {
        let mut incoming = step_stream
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .expect("the start-up step runs once");
        let lost = Box::new(|| {
            tern_linux::exit::diag(
                "tern: the program cannot go on: a page it needs did not come from the source",
            );
            tern_linux::exit::exit_process(1)
        });
        if let Err(e) = incoming.ready_with(lost) {
            tern_linux::exit::diag(&format!(
                "tern: the migration was abandoned by the source (it runs the program on): {e:#}"
            ));
            tern_linux::exit::exit_process(1);
        }
        if let Err(e) = incoming.started() {
            tern_linux::exit::diag(&format!("tern: after the switch-over: {e:#}"));
            tern_linux::exit::exit_process(1);
        }
        if stats {
            eprintln!(
                "tern: the program runs here {:.2} ms after its state arrived",
                started.elapsed().as_secs_f64() * 1e3
            );
            proc.enable_stats(started);
        }
        if let Some(sock) = &api_sock {
            super::exec::serve_or_exit(sock, proc, argv, None);
        }
        if let Some(tls) = jumps {
            tern_vmm::process::agent::allow_jumps(proc, agent_config, tls);
        }
        sandbox.confine(&crate::cli::sandbox::limits(
            proc.opts.memory,
            proc.fd_limit as u64,
        ));
    });
    r.map_err(|e| {
        let why = format!("cannot rebuild the program here: {e}");
        if let Some(incoming) = stream.lock().unwrap_or_else(|e| e.into_inner()).take() {
            incoming.refuse(&why);
        }
        anyhow!(why)
    })
}
