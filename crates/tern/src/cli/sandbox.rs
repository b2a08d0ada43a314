//! What the subcommands keep of the host when they confine themselves
//! (crates/tern-sandbox): the file-system view of a process VM under `--root`, and
//! the resource limits of a VM.

use std::path::{Path, PathBuf};

use tern_linux::fs::view::FileView;
use tern_sandbox::{Isolation, Limits, View};

/// Host paths a re-executed tern needs to start (read-only): its dynamic loader and
/// shared libraries, wherever this host keeps them (those missing are skipped).
const LIBRARIES: &[&str] = &[
    "/lib",
    "/lib64",
    "/lib32",
    "/usr/lib",
    "/usr/lib64",
    "/usr/lib32",
    "/etc/ld.so.cache",
];

/// Parts of `/proc` kept read-only.
const PROC_READ_ONLY: &[&str] = &["/proc/sys", "/proc/sysrq-trigger"];

/// The isolation of a process VM with file view `view`: the host's network (a
/// guest's sockets are host sockets), and under `--root` a mount namespace that
/// keeps the root, the binds, the sysroot, the directories of `extra` (the control
/// socket, the snapshot restored from), `/proc`, `/dev/null`, and read-only the
/// tern executable, the host's libraries and `/proc/sys`.
pub fn process_isolation(view: &FileView, extra: &[Option<&Path>]) -> Isolation {
    let Some(root) = &view.root else {
        return Isolation {
            network: true,
            view: None,
        };
    };
    let mut writable = vec![root.clone()];
    writable.extend(view.binds.iter().map(|(_, host)| host.clone()));
    for p in extra.iter().flatten() {
        let abs = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
        if let Some(dir) = abs.parent().and_then(|d| std::fs::canonicalize(d).ok()) {
            writable.push(dir);
        }
    }
    writable.push(PathBuf::from("/proc"));
    writable.push(PathBuf::from("/dev/null"));
    let mut read_only: Vec<PathBuf> = LIBRARIES.iter().map(PathBuf::from).collect();
    // Kernel settings: root without capabilities may still write the ones its uid
    // owns (core_pattern would run a program as host root).
    read_only.extend(PROC_READ_ONLY.iter().map(PathBuf::from));
    read_only.extend(std::fs::read_link("/proc/self/exe").ok());
    // The sysroot as given (it may go through a symbolic link, made again in the
    // view) is what a re-executed tern is told.
    read_only.extend(view.sysroot.iter().cloned());
    Isolation {
        network: true,
        view: Some(View {
            writable,
            read_only,
            build_at: root.clone(),
        }),
    }
}

/// The limits of a VM with `memory` bytes of RAM whose guest may use descriptors
/// below `guest_files`.
pub fn limits(memory: u64, guest_files: u64) -> Limits {
    Limits::for_vm(memory, guest_files)
}
