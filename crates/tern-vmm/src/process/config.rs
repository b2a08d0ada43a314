//! What shapes a process VM, kept in its snapshot so that `tern restore` can rebuild
//! the same process: the file view (`--root`, `--bind`, `--sysroot`), the memory
//! size and the other `tern exec` options, and the program's command line (shown by
//! `tern restore`; the program itself is already in memory).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use tern_linux::fs::view::FileView;
use tern_linux::Options;
use tern_state::{Decoder, Encoder, StateError, Versioned};

/// The configuration of a process VM.
///
/// Encoded (version 1, kind `exec-config`) as a base (memory, options, command line)
/// and a part `view` with `--root`, `--bind` and `--sysroot`, written when one is
/// given, and a part `policy` with the `--policy` text in force, written when there
/// is one (snapshots from before it restore without a policy).
#[derive(Clone, Debug, PartialEq, Eq)]
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
    /// The system-call policy in force (`tern exec --policy`): its text, which a
    /// restore installs again unless told otherwise.
    pub policy: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct Base {
    memory: u64,
    strace: bool,
    max_insns: Option<u64>,
    slice: u64,
    argv: Vec<String>,
}

#[derive(Default, Serialize, Deserialize)]
struct View {
    root: Option<String>,
    binds: Vec<(String, String)>,
    sysroot: Option<String>,
}

impl Versioned for ProcessConfig {
    const KIND: &'static str = "exec-config";
    const VERSION: u32 = 1;

    fn encode(&self, out: &mut Encoder) {
        out.base(&Base {
            memory: self.memory,
            strace: self.strace,
            max_insns: self.max_insns,
            slice: self.slice,
            argv: self.argv.clone(),
        });
        let view = View {
            root: self.root.clone(),
            binds: self.binds.clone(),
            sysroot: self.sysroot.clone(),
        };
        let needed = view.root.is_some() || !view.binds.is_empty() || view.sysroot.is_some();
        out.part("view", needed, &view);
        out.part("policy", self.policy.is_some(), &self.policy);
    }

    fn decode(input: &mut Decoder<'_>) -> Result<Self, StateError> {
        let b: Base = input.base()?;
        let v: View = input.part_or_default("view")?;
        let policy: Option<String> = input.part_or_default("policy")?;
        Ok(ProcessConfig {
            root: v.root,
            binds: v.binds,
            sysroot: v.sysroot,
            memory: b.memory,
            strace: b.strace,
            max_insns: b.max_insns,
            slice: b.slice,
            argv: b.argv,
            policy,
        })
    }
}

impl ProcessConfig {
    /// The configuration of a process run with `opts` and command line `argv`, under
    /// the policy installed in this host process (the text it hands on to the
    /// programs `execve` starts), if any.
    pub fn of(opts: &Options, argv: Vec<String>) -> ProcessConfig {
        let v = &opts.view;
        let reexec = tern_linux::interpose::reexec_args();
        let policy = reexec
            .iter()
            .position(|a| a == "--policy-text")
            .and_then(|i| reexec.get(i + 1).cloned());
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
            policy,
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
            // It has a SysV IPC arena of its own (a snapshot does not carry one yet).
            ipc_fd: None,
            // Its kept limits come with its state.
            rlimits: Vec::new(),
        }
    }
}

/// Checks a process VM's memory size from a snapshot or a migration stream: a
/// page-aligned size between 16 MiB and 512 GiB (what `tern exec --memory` takes).
pub fn check_memory(memory: u64) -> anyhow::Result<()> {
    if !(16 << 20..=512 << 30).contains(&memory) || !memory.is_multiple_of(4096) {
        anyhow::bail!("memory size {memory} is not a page-aligned size between 16 MiB and 512 GiB");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_configuration_without_a_file_view_decodes() {
        let mut c = ProcessConfig::of(&Options::default(), vec!["prog".into(), "x".into()]);
        let plain = tern_state::to_bytes(&c).unwrap();
        assert_eq!(tern_state::from_bytes::<ProcessConfig>(&plain).unwrap(), c);
        c.root = Some("/srv/root".into());
        c.binds.push(("/data".into(), "/host/data".into()));
        let with = tern_state::to_bytes(&c).unwrap();
        assert!(plain.len() < with.len());
        assert_eq!(tern_state::from_bytes::<ProcessConfig>(&with).unwrap(), c);
    }
}
