//! tern confines its own process, as Firecracker's jailer confines a VMM: after a VM
//! is set up, its host process can do little more than run it.
//!
//! Two moments, because Linux asks for them:
//!
//! 1. [`Sandbox::isolate`], while the process is still single-threaded (at the start
//!    of a subcommand): [`namespaces`] — a network namespace for a VM given no
//!    network, a mount namespace whose root holds only what a process VM confined to
//!    `--root` needs ([`mounts`]), and the user namespace that lets a user who is not
//!    root make them.
//! 2. [`Sandbox::confine`], once the VM is built, its files open and its control
//!    socket listening: resource [`limits`], every capability dropped ([`caps`]),
//!    `no_new_privs`, and the seccomp allowlist of the VM's kind ([`filter`]),
//!    installed on every thread (TSYNC).
//!
//! A layer the host does not allow is skipped with one line on stderr saying what
//! that means; `--no-sandbox` (or `TERN_SANDBOX=off` in the environment) skips them
//! all. A process started by a sandboxed tern (a guest's `execve` starts tern again)
//! finds the sandbox in force and inherits it: filters, namespaces, limits and
//! no_new_privs survive `execve`, and it sets none of them up again.

pub mod caps;
pub mod filter;
pub mod limits;
pub mod mounts;
pub mod namespaces;
pub mod selftest;
pub mod trap;

pub use limits::Limits;
pub use mounts::View;

use filter::Table;

/// Which kind of VM the process runs (which allowlist applies).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A system VM (`tern run`).
    System,
    /// A process VM (`tern exec`).
    Process,
}

impl Kind {
    /// This kind's allowlist.
    pub fn table(self) -> Table {
        match self {
            Kind::System => filter::system::table(),
            Kind::Process => filter::process::table(),
        }
    }
}

/// What [`Sandbox::isolate`] keeps of the host.
#[derive(Clone, Debug, Default)]
pub struct Isolation {
    /// The VM uses the host's network (otherwise it gets a network namespace of its
    /// own, with nothing in it).
    pub network: bool,
    /// For a process VM confined to `--root`: the view to pivot into.
    pub view: Option<View>,
}

/// The sandbox of one tern process.
#[derive(Debug)]
pub struct Sandbox {
    kind: Kind,
    /// Set up layers (false with `--no-sandbox`, or when inherited).
    active: bool,
}

/// The environment variable that turns the sandbox off as `--no-sandbox` does
/// (`TERN_SANDBOX=off`): a tern started by a guest's `execve` gets no command-line
/// flag of its own, so `--no-sandbox` sets it for them.
pub const ENV: &str = "TERN_SANDBOX";

/// Whether this process runs inside a tern sandbox already: the allowlists answer a
/// marker call (`ioprio_get` with an impossible `which`) with `ENOSYS`, which Linux
/// never does for it.
pub fn inherited() -> bool {
    // SAFETY: ioprio_get with an invalid `which` only returns an error.
    let r = unsafe { libc::syscall(libc::SYS_ioprio_get, filter::common::MARKER, 0) };
    r == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ENOSYS)
}

/// Prints one line about a layer that could not be set up.
fn unavailable(layer: &str, why: &str, meaning: &str) {
    eprintln!("tern: sandbox: {layer} unavailable ({why}): {meaning}");
}

impl Sandbox {
    /// The sandbox of a `kind` VM; `enabled` false (`--no-sandbox`) sets nothing up.
    /// Turning it off also sets [`ENV`] so that tern processes started by the
    /// guest's `execve` stay without it.
    pub fn new(kind: Kind, enabled: bool) -> Sandbox {
        let enabled = enabled && std::env::var(ENV).map_or(true, |v| v != "off");
        if !enabled {
            // Called at start-up, while the process is single-threaded.
            std::env::set_var(ENV, "off");
        }
        Sandbox {
            kind,
            active: enabled && !inherited(),
        }
    }

    /// Whether this process sets up layers (not off, not inherited).
    pub fn active(&self) -> bool {
        self.active
    }

    /// Makes the namespaces; call while the process is single-threaded.
    pub fn isolate(&self, iso: &Isolation) {
        if !self.active {
            return;
        }
        let wanted = namespaces::Wanted {
            network: !iso.network,
            mounts: iso.view.is_some(),
        };
        let made = match namespaces::enter(wanted) {
            Ok(m) => m,
            Err(e) => {
                unavailable(
                    "namespaces",
                    &e,
                    "the VM shares the host's mount table and network",
                );
                return;
            }
        };
        if let (Some(v), true) = (&iso.view, made.mounts) {
            if let Err(e) = mounts::enter(v) {
                unavailable(
                    "mount namespace",
                    &e,
                    "the VMM process still sees the host's files (the guest's \
                     paths are confined by the path resolver only)",
                );
            }
        }
    }

    /// Applies limits, drops capabilities, sets no_new_privs and installs the
    /// allowlist; call once the VM is set up. Then runs the self-test asked for
    /// with `TERN_SANDBOX_SELFTEST` (see [`selftest`]).
    pub fn confine(&self, limits: &Limits) {
        if self.active {
            if let Err(e) = limits::apply(limits) {
                unavailable(
                    "resource limits",
                    &e,
                    "the VMM's host resources are not bounded",
                );
            }
            if let Err(e) = caps::drop_all() {
                unavailable("dropping capabilities", &e, "the VMM keeps some privileges");
            }
            // SAFETY: prctl with integer arguments.
            if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
                unavailable(
                    "no_new_privs",
                    &std::io::Error::last_os_error().to_string(),
                    "programs the VMM starts may gain privileges",
                );
            }
            if let Err(e) = self.install_filter() {
                unavailable(
                    "seccomp filter",
                    &e,
                    "the VMM's host system calls are not restricted",
                );
            }
        }
        selftest::run_if_asked();
    }

    /// Compiles this kind's table and installs it on every thread.
    #[cfg(any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        target_arch = "riscv64"
    ))]
    fn install_filter(&self) -> Result<(), String> {
        let arch = seccompiler::TargetArch::try_from(std::env::consts::ARCH)
            .map_err(|_| format!("no seccomp support for {} hosts", std::env::consts::ARCH))?;
        let table = self.kind.table();
        let programs = table.compile(arch)?;
        let mut names: Vec<(i64, &'static str)> = table
            .allowed
            .iter()
            .chain(table.answers.iter().map(|a| &a.call))
            .chain(filter::forbidden::FORBIDDEN.iter())
            .chain(filter::forbidden::FORBIDDEN_LEGACY.iter())
            .map(|c| (c.nr, c.name))
            .collect();
        names.sort_unstable();
        names.dedup();
        trap::install(names, table.name);
        for p in &programs {
            seccompiler::apply_filter_all_threads(p).map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// seccompiler does not know this host's system call convention: no filter.
    #[cfg(not(any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        target_arch = "riscv64"
    )))]
    fn install_filter(&self) -> Result<(), String> {
        Err(format!(
            "no seccomp filter for {} hosts (seccompiler knows x86_64, aarch64 and riscv64): \
             the {:?} allowlist is not installed",
            std::env::consts::ARCH,
            self.kind
        ))
    }
}
