//! `tern exec`: run one riscv64 Linux program in a process VM.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use clap::Args;
use tern_linux::fs::view::{normalize, FileView};
use tern_linux::{Options, Program};
use tern_sandbox::{Kind, Sandbox};
use tern_vmm::process::config::ProcessConfig;
use tern_vmm::process::serve_process;

/// Arguments of `tern exec`.
#[derive(Args, Debug)]
#[command(trailing_var_arg = true)]
pub struct ExecArgs {
    /// Confine every path the program uses to DIR (it becomes the program's `/`).
    #[arg(long, value_name = "DIR")]
    root: Option<PathBuf>,
    /// Make host directory HOST appear at GUEST (repeatable).
    #[arg(long, value_name = "HOST:GUEST")]
    bind: Vec<String>,
    /// Look up the dynamic loader and absolute paths in DIR first (a riscv64 sysroot,
    /// e.g. /usr/riscv64-linux-gnu), as `qemu-riscv64 -L` does.
    #[arg(long, value_name = "DIR")]
    sysroot: Option<PathBuf>,
    /// Print every system call with its arguments and result to stderr.
    #[arg(long)]
    strace: bool,
    /// Stop after this many instructions (exit status 124).
    #[arg(long)]
    max_insns: Option<u64>,
    /// Physical memory reserved for the process (only touched pages cost): a size
    /// with a K, M, G or T suffix (8G, 512M), or a number of MiB.
    #[arg(long, default_value = "8G", value_parser = super::size::parse_size)]
    memory: u64,
    /// Pass this as argv[0] instead of PROGRAM.
    #[arg(long)]
    argv0: Option<String>,
    /// Print instructions retired, wall time, guest memory and peak host memory at exit.
    #[arg(long)]
    stats: bool,
    #[command(flatten)]
    engine: super::engine::EngineArgs,
    /// Serve the control API (status, pause, resume, snapshot, stop) on this Unix
    /// socket.
    #[arg(long)]
    api_sock: Option<PathBuf>,
    /// Run without the sandbox (seccomp allowlist, namespaces, dropped capabilities,
    /// limits) that tern otherwise confines itself to; see the README.
    #[arg(long)]
    no_sandbox: bool,
    /// The root of the VM's process tree as PID:START (given by tern to a program
    /// the VM's program starts with execve; the process itself otherwise).
    #[arg(long, hide = true, value_name = "PID:START")]
    vm_root: Option<String>,
    /// The VM's SysV IPC arena, inherited from the program's `execve` (internal).
    #[arg(long, hide = true, value_name = "FD")]
    ipc_fd: Option<i32>,
    /// A resource limit the program set, kept for it (given by tern to a program
    /// the VM's program starts with execve; repeatable).
    #[arg(long, hide = true, value_name = "RES:CUR:MAX")]
    rlimit: Vec<String>,
    /// Apply the system-call policy in FILE: deny calls with an errno, allow
    /// `connect` only to listed addresses, make directory trees read-only, log calls
    /// (see the README, "Policies and plugins").
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// The policy's text (given by tern to a program the VM's program starts with
    /// execve).
    #[arg(long, hide = true, value_name = "TEXT")]
    policy_text: Option<String>,
    /// The policy's log file, kept open across the program's execve (internal).
    #[arg(long, hide = true, value_name = "FD")]
    policy_log_fd: Option<i32>,
    /// A built-in plugin (repeatable): `insn-count` prints the instructions each
    /// function retired at exit; `mem-trace=FILE[,max=N]` writes every load and
    /// store to FILE; `coverage=FILE` writes the blocks that ran to FILE at exit.
    #[arg(long, value_name = "NAME[=ARG]")]
    plugin: Vec<String>,
    #[command(flatten)]
    gdb: super::gdb::GdbArgs,
    /// Let the program move itself to another host, as a mobile agent
    /// (`syscall(0x5445524e, "tcp:HOST:PORT")`, see the README): its jumps go out with
    /// --tls-cert, --tls-key and --tls-ca (mutual TLS), or plain TCP with --insecure.
    #[arg(long)]
    agent: bool,
    #[command(flatten)]
    agent_tls: super::migrate::TlsArgs,
    /// The riscv64 program and its arguments.
    #[arg(
        required = true,
        allow_hyphen_values = true,
        value_name = "PROGRAM [ARGS]..."
    )]
    program: Vec<String>,
}

/// Runs `tern exec`; returns the exit status (normally the process ends with the
/// program and this does not return).
pub fn exec(args: ExecArgs) -> anyhow::Result<i32> {
    let start = Instant::now();
    args.engine.apply()?;
    super::policy::install(
        args.policy.as_deref(),
        args.policy_text.as_deref(),
        args.policy_log_fd,
        &args.plugin,
    )?;
    let sandbox = Sandbox::new(Kind::Process, !args.no_sandbox);
    let gdb = args.gdb.listen()?;
    // Whole MiB: a program's `execve` passes the size on to the new tern in MiB.
    super::size::check_memory(args.memory, 16, 512 * 1024, 1 << 20)?;
    let mut view = FileView::default();
    if let Some(r) = &args.root {
        let canon = std::fs::canonicalize(r)
            .with_context(|| format!("--root {}: cannot open", r.display()))?;
        if !canon.is_dir() {
            bail!("--root {}: not a directory", r.display());
        }
        view.root = Some(canon);
    }
    for b in &args.bind {
        let Some((host, guest)) = b.split_once(':') else {
            bail!("--bind {b}: expected HOST:GUEST");
        };
        if !guest.starts_with('/') {
            bail!("--bind {b}: the guest path must be absolute");
        }
        let canon = std::fs::canonicalize(host)
            .with_context(|| format!("--bind {b}: cannot open {host}"))?;
        view.binds.push((normalize(guest), canon));
    }
    view.sysroot = match &args.sysroot {
        Some(s) => Some(
            std::path::absolute(s)
                .with_context(|| format!("--sysroot {}: cannot make it absolute", s.display()))?,
        ),
        None => None,
    };
    // The process works inside --root once started: host paths it uses later are
    // made absolute now.
    let api_sock = match &args.api_sock {
        Some(p) => Some(
            std::path::absolute(p)
                .with_context(|| format!("--api-sock {}: cannot make it absolute", p.display()))?,
        ),
        None => None,
    };
    // Still single-threaded: namespaces now, the rest once the program is loaded.
    sandbox.isolate(&super::sandbox::process_isolation(
        &view,
        &[api_sock.as_deref()],
    ));
    let vm_root = match &args.vm_root {
        Some(s) => Some(
            tern_linux::tree::ProcId::parse(s)
                .with_context(|| format!("--vm-root {s}: expected PID:START"))?,
        ),
        None => None,
    };
    let mut rlimits = Vec::new();
    for r in &args.rlimit {
        let v: Vec<u64> = r.split(':').filter_map(|x| x.parse().ok()).collect();
        let [res, cur, max] = v[..] else {
            bail!("--rlimit {r}: expected RES:CUR:MAX");
        };
        rlimits.push((res as u32, cur, max));
    }
    let opts = Options {
        view,
        strace: args.strace,
        max_insns: args.max_insns,
        memory: args.memory,
        slice: 200_000,
        self_exe: std::fs::read_link("/proc/self/exe").ok(),
        api_sock,
        vm_root,
        ipc_fd: args.ipc_fd,
        rlimits,
    };
    let path = args.program[0].clone();
    let mut argv: Vec<Vec<u8>> = args
        .program
        .iter()
        .map(|s| s.clone().into_bytes())
        .collect();
    if let Some(a0) = &args.argv0 {
        argv[0] = a0.clone().into_bytes();
    }
    let envp: Vec<Vec<u8>> = std::env::vars_os()
        .map(|(k, v)| {
            let mut e = k.into_encoded_bytes();
            e.push(b'=');
            e.extend_from_slice(v.as_encoded_bytes());
            e
        })
        .collect();
    let prog = Program { path, argv, envp };
    let stats = args.stats;
    let command_line = args.program.clone();
    let jumps = match args.agent {
        true => Some(args.agent_tls.paths()?),
        false => None,
    };
    let r = tern_linux::start::exec_with(opts, prog, |proc| {
        if stats {
            proc.enable_stats(start);
            tern_linux::exit::also_report_at_exit(|| {
                if let Some(line) = super::engine::jit_stats_line() {
                    eprintln!("{line}");
                }
            });
        }
        if let Some(path) = &proc.opts.api_sock {
            serve_or_exit(path, proc, command_line.clone(), None);
        }
        match gdb {
            Some(g) => serve_gdb(g, proc),
            None => allow_gdb_attach(proc),
        }
        if let Some(tls) = jumps {
            let config = ProcessConfig::of(&proc.opts, command_line);
            tern_vmm::process::agent::allow_jumps(proc, config, tls);
        }
        sandbox.confine(&super::sandbox::limits(
            proc.opts.memory,
            proc.fd_limit as u64,
        ));
    });
    match r {
        Ok(code) => Ok(code),
        Err(e) => {
            eprintln!("tern exec: {e}");
            Ok(127)
        }
    }
}

/// Serves gdb for `proc` on its own thread (`--gdb`).
pub fn serve_gdb(gdb: super::gdb::GdbListener, proc: &std::sync::Arc<tern_linux::Process>) {
    let vm = tern_gdb::process::ProcessDebuggee::new(proc.clone());
    if let Err(e) = tern_gdb::spawn(gdb.listener, vm, gdb.wait) {
        eprintln!("tern: cannot start the gdb server: {e}");
        std::process::exit(1);
    }
}

/// Lets `tern gdb` (PUT /gdb on the control API) start a gdb server for `proc`
/// later.
pub fn allow_gdb_attach(proc: &std::sync::Arc<tern_linux::Process>) {
    let proc = proc.clone();
    tern_vmm::control::gdb::set_attach(Box::new(move |listener| {
        let vm = tern_gdb::process::ProcessDebuggee::new(proc.clone());
        tern_gdb::spawn(listener, vm, false)
            .map(|_| ())
            .map_err(|e| format!("cannot start the gdb server: {e}"))
    }));
}

/// Serves the control API of `proc` on `path`, or ends the process with an error
/// (before the program runs).
pub fn serve_or_exit(
    path: &std::path::Path,
    proc: &std::sync::Arc<tern_linux::Process>,
    argv: Vec<String>,
    restored_from: Option<tern_vmm::system::snapshot::LastSnapshot>,
) {
    let config = ProcessConfig::of(&proc.opts, argv);
    if let Err(e) = serve_process(path, proc.clone(), config, restored_from) {
        eprintln!(
            "tern: cannot serve the control API on {}: {e}",
            path.display()
        );
        std::process::exit(1);
    }
}
