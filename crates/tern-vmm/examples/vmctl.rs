//! The CLI glue without the `tern` binary: what `tern status|pause|resume|snapshot|stop`
//! will do once wired.
//!
//! ```sh
//! cargo run -p tern-vmm --example vmctl -- status /tmp/vm.sock [--json]
//! cargo run -p tern-vmm --example vmctl -- snapshot /tmp/vm.sock out.snap [--incremental] [--zstd] [--include-disks] [--json]
//! ```

use std::path::{Path, PathBuf};

use tern_vmm::cli::{
    cli_pause, cli_resume, cli_snapshot, cli_status, cli_stop, Output, SnapshotOptions,
};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |f: &str| args.iter().any(|a| a == f);
    let positional: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let output = Output::from_json_flag(flag("--json"));
    let result = match positional.as_slice() {
        [cmd, sock] if cmd.as_str() == "status" => cli_status(Path::new(sock), output),
        [cmd, sock] if cmd.as_str() == "pause" => cli_pause(Path::new(sock)),
        [cmd, sock] if cmd.as_str() == "resume" => cli_resume(Path::new(sock)),
        [cmd, sock] if cmd.as_str() == "stop" => cli_stop(Path::new(sock)),
        [cmd, sock, out] if cmd.as_str() == "snapshot" => {
            let opts = SnapshotOptions {
                out: PathBuf::from(out),
                incremental: flag("--incremental"),
                zstd: flag("--zstd"),
                include_disks: flag("--include-disks"),
            };
            cli_snapshot(Path::new(sock), &opts, output)
        }
        _ => {
            eprintln!("usage: vmctl status|pause|resume|stop SOCKET | snapshot SOCKET OUT [flags]");
            std::process::exit(2);
        }
    };
    let code = result.unwrap_or_else(|e| {
        eprintln!("vmctl: {e:#}");
        1
    });
    std::process::exit(code);
}
