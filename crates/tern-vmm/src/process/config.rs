//! What shapes a process VM, kept in its snapshot so that `tern restore` can rebuild
//! the same process: the file view (`--root`, `--bind`, `--sysroot`), the memory
//! size and the other `tern exec` options, and the program's command line (shown by
//! `tern restore`; the program itself is already in memory).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use tern_linux::fs::view::FileView;
use tern_linux::Options;

/// The configuration of a process VM.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessConfig {
    /// `--root` (host path).
    pub root: Option<String>,
    /// `--bind` pairs: (guest path, host path).
    pub binds: Vec<(String, String)>,
    /// `--sysroot` (host path).
    pub sysroot: Option<String>,
    /// Physical memory reserved for the process, in bytes.
    pub memory: u64,
    /// `--strace`.
    pub strace: bool,
    /// `--max-insns` (counted from the program's start, as the state's counter is).
    pub max_insns: Option<u64>,
    /// Instructions per run slice.
    pub slice: u64,
    /// The program's command line as `tern exec` was given it.
    pub argv: Vec<String>,
}

impl ProcessConfig {
    /// The configuration of a process run with `opts` and command line `argv`.
    pub fn of(opts: &Options, argv: Vec<String>) -> ProcessConfig {
        let v = &opts.view;
        ProcessConfig {
            root: v.root.as_ref().map(|p| p.display().to_string()),
            binds: v
                .binds
                .iter()
                .map(|(g, h)| (g.clone(), h.display().to_string()))
                .collect(),
            sysroot: v.sysroot.as_ref().map(|p| p.display().to_string()),
            memory: opts.memory,
            strace: opts.strace,
            max_insns: opts.max_insns,
            slice: opts.slice,
            argv,
        }
    }

    /// The options that rebuild the process; `self_exe` and `api_sock` are the
    /// restoring process's.
    pub fn options(&self, self_exe: Option<PathBuf>, api_sock: Option<PathBuf>) -> Options {
        Options {
            view: FileView {
                root: self.root.as_ref().map(PathBuf::from),
                binds: self
                    .binds
                    .iter()
                    .map(|(g, h)| (g.clone(), PathBuf::from(h)))
                    .collect(),
                sysroot: self.sysroot.as_ref().map(PathBuf::from),
            },
            strace: self.strace,
            max_insns: self.max_insns,
            memory: self.memory,
            slice: self.slice.max(1000),
            self_exe,
            api_sock,
            // A restored process is the root of a new process tree.
            vm_root: None,
        }
    }
}
