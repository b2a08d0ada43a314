//! The seccomp-bpf layer: which host system calls a VMM process may make, as data.
//!
//! A VM kind has one [`Table`]: the calls it may make (each with an optional check
//! of its arguments) and the calls that are answered with an error number instead of
//! being made (`clone3` answers `ENOSYS` so that glibc falls back to `clone`, whose
//! flags can be checked; sockets of families other than Unix and IP answer
//! `EAFNOSUPPORT`). Every other call stops the process: the kernel sends `SIGSYS`
//! (a seccomp trap) and [`crate::trap`] prints the call's name and ends the process
//! with that signal.
//!
//! Why a trap that ends the process, not `EPERM`: a call outside the table is
//! either an attack on the host from a guest that found a way to make the VMM call
//! it, or a bug in the table; both must be loud, and nothing the VMM does after a
//! refused call can be trusted to be what the guest sees on Linux. The calls a
//! program is expected to probe and do without get an error number from the
//! table's answers instead. The trap never lets the call through: if the signal
//! cannot be handled (blocked or ignored), the kernel kills the process.
//!
//! The tables are reviewed like code: [`forbidden`] lists the calls that must never
//! appear in one, and the unit tests check every table against it.

#[cfg(any(
    target_arch = "x86_64",
    target_arch = "aarch64",
    target_arch = "riscv64"
))]
mod bpf;
pub mod common;
pub mod forbidden;
pub mod process;
pub mod system;

/// A check of a call's arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// Any arguments.
    Any,
    /// Argument `arg` has none of the bits of `mask` (e.g. `clone` without the
    /// namespace flags).
    NoneOf {
        /// Argument index (0-5).
        arg: u8,
        /// The bits that must be clear.
        mask: u64,
    },
    /// Argument `arg` is one of `values` (compared as 32-bit values).
    OneOf {
        /// Argument index (0-5).
        arg: u8,
        /// The values allowed.
        values: &'static [u64],
    },
    /// Argument `arg` is none of `values` (compared as 32-bit values).
    NotOneOf {
        /// Argument index (0-5).
        arg: u8,
        /// The values refused.
        values: &'static [u64],
    },
    /// Argument `arg` is this process's id (`kill`/`tgkill` to itself only).
    OwnPid {
        /// Argument index (0-5).
        arg: u8,
    },
}

/// One system call of a table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Call {
    /// Its name (as in `man 2`).
    pub name: &'static str,
    /// Its number on the host architecture.
    pub nr: i64,
    /// When it may be made.
    pub check: Check,
}

impl Call {
    /// The call `SYS_name` (the `libc` constant's name, `SYS_` is dropped) with
    /// `check`.
    pub const fn new(sys_name: &'static str, nr: i64, check: Check) -> Call {
        Call {
            name: strip_sys(sys_name),
            nr,
            check,
        }
    }
}

/// `SYS_read` → `read` at compile time.
const fn strip_sys(s: &'static str) -> &'static str {
    let b = s.as_bytes();
    if b.len() > 4 && b[0] == b'S' && b[1] == b'Y' && b[2] == b'S' && b[3] == b'_' {
        let (_, rest) = b.split_at(4);
        match std::str::from_utf8(rest) {
            Ok(r) => r,
            Err(_) => s,
        }
    } else {
        s
    }
}

/// Calls allowed with any arguments: `allow![SYS_read, SYS_write]`.
#[macro_export]
macro_rules! allow {
    ($($sys:ident),* $(,)?) => {
        &[$($crate::filter::Call::new(stringify!($sys), libc::$sys, $crate::filter::Check::Any)),*]
    };
}

/// A call answered with an error number instead of being made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Answer {
    /// The call and the arguments for which it is answered.
    pub call: Call,
    /// The error number returned.
    pub errno: i32,
}

/// The host system calls of one VM kind.
#[derive(Clone, Debug, Default)]
pub struct Table {
    /// What the table is for (in messages).
    pub name: &'static str,
    /// Calls allowed (a call may appear several times with different checks: any of
    /// them allows it).
    pub allowed: Vec<Call>,
    /// Calls answered with an error number.
    pub answers: Vec<Answer>,
}

impl Table {
    /// The distinct system call numbers the table lets through or answers (what the
    /// issue calls the allowlist's size).
    pub fn size(&self) -> usize {
        let mut nrs: Vec<i64> = self.allowed.iter().map(|c| c.nr).collect();
        nrs.extend(self.answers.iter().map(|a| a.call.nr));
        nrs.sort_unstable();
        nrs.dedup();
        nrs.len()
    }

    /// The name of call number `nr`, if the table or the forbidden list knows it.
    pub fn name_of(&self, nr: i64) -> Option<&'static str> {
        self.allowed
            .iter()
            .chain(self.answers.iter().map(|a| &a.call))
            .chain(forbidden::FORBIDDEN.iter())
            .chain(forbidden::FORBIDDEN_LEGACY.iter())
            .chain(forbidden::NARROWED.iter())
            .find(|c| c.nr == nr)
            .map(|c| c.name)
    }
}

// The tables' tests compile and install them: hosts seccompiler knows only.
#[cfg(all(
    test,
    any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        target_arch = "riscv64"
    )
))]
mod tests {
    use super::*;
    use seccompiler::TargetArch;

    fn tables() -> Vec<Table> {
        vec![system::table(), process::table()]
    }

    fn forbidden() -> impl Iterator<Item = &'static Call> {
        forbidden::FORBIDDEN
            .iter()
            .chain(forbidden::FORBIDDEN_LEGACY.iter())
    }

    #[test]
    fn no_table_lets_a_forbidden_call_through() {
        for t in tables() {
            for f in forbidden() {
                let allowed = t.allowed.iter().find(|c| c.nr == f.nr);
                let answered = t.answers.iter().find(|a| a.call.nr == f.nr);
                assert!(
                    allowed.is_none() && answered.is_none(),
                    "table {} contains forbidden call {} ({:?} {:?})",
                    t.name,
                    f.name,
                    allowed,
                    answered
                );
            }
        }
    }

    #[test]
    fn narrowed_calls_appear_only_with_their_check() {
        for t in tables() {
            for n in forbidden::NARROWED {
                let calls = t
                    .allowed
                    .iter()
                    .chain(t.answers.iter().map(|a| &a.call))
                    .filter(|c| c.nr == n.nr);
                for c in calls {
                    assert_eq!(
                        c.check, n.check,
                        "table {} allows {} with another check",
                        t.name, n.name
                    );
                }
            }
        }
    }

    #[test]
    fn one_name_per_number() {
        for t in tables() {
            let mut all: Vec<Call> = t.allowed.clone();
            all.extend(t.answers.iter().map(|a| a.call));
            all.extend(forbidden().copied());
            for a in &all {
                for b in &all {
                    assert!(
                        a.nr != b.nr || a.name == b.name,
                        "table {}: {} and {} have number {}",
                        t.name,
                        a.name,
                        b.name,
                        a.nr
                    );
                }
            }
        }
    }

    #[test]
    fn tables_compile_for_the_host() {
        let Ok(arch) = TargetArch::try_from(std::env::consts::ARCH) else {
            // seccompiler has no filters for this architecture (s390x): the sandbox
            // says so at run time; nothing to compile here.
            return;
        };
        for t in tables() {
            let progs = t
                .compile(arch)
                .unwrap_or_else(|e| panic!("{}: {e}", t.name));
            assert!(progs.len() >= 2, "{}: answers and allowlist", t.name);
            // The kernel takes at most 4096 instructions per program.
            for p in &progs {
                assert!(p.len() <= 4096, "{}: {} instructions", t.name, p.len());
            }
        }
    }

    #[test]
    fn the_process_table_is_the_system_table_and_more() {
        let sys = system::table();
        let proc = process::table();
        assert!(proc.size() > sys.size());
        for c in &sys.allowed {
            assert!(
                proc.allowed.iter().any(|p| p.nr == c.nr),
                "{} allowed for run but not exec",
                c.name
            );
        }
        // Sizes for the record (cargo test -- --nocapture).
        println!("allowlist sizes: run {}, exec {}", sys.size(), proc.size());
    }

    /// Runs `f` in a forked child under `t`'s filters; returns the wait status.
    fn in_child_under(t: &Table, f: fn() -> i32) -> i32 {
        let arch = TargetArch::try_from(std::env::consts::ARCH).expect("a seccomp host");
        let progs = t.compile(arch).expect("compile");
        // SAFETY: the child makes only system calls (no allocation, no locks) and
        // leaves with _exit.
        unsafe {
            let pid = libc::fork();
            assert!(pid >= 0, "fork");
            if pid == 0 {
                for p in &progs {
                    if seccompiler::apply_filter(p).is_err() {
                        libc::_exit(100);
                    }
                }
                libc::_exit(f());
            }
            let mut status = 0;
            libc::waitpid(pid, &mut status, 0);
            status
        }
    }

    fn errno_of(r: libc::c_long) -> i32 {
        if r == -1 {
            std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
        } else {
            0
        }
    }

    #[test]
    fn the_compiled_filters_answer_and_allow_as_the_table_says() {
        if TargetArch::try_from(std::env::consts::ARCH).is_err() {
            return;
        }
        for t in tables() {
            let status = in_child_under(&t, || {
                // SAFETY: calls with integer arguments only.
                unsafe {
                    if errno_of(libc::syscall(libc::SYS_ioprio_get, common::MARKER, 0))
                        != libc::ENOSYS
                    {
                        return 1;
                    }
                    if errno_of(libc::syscall(libc::SYS_clone3, 0, 0)) != libc::ENOSYS {
                        return 2;
                    }
                    let s = libc::syscall(libc::SYS_socket, libc::AF_NETLINK, libc::SOCK_RAW, 0);
                    if errno_of(s) != libc::EAFNOSUPPORT {
                        return 3;
                    }
                    let s = libc::syscall(libc::SYS_socket, libc::AF_UNIX, libc::SOCK_STREAM, 0);
                    if s < 0 {
                        return 4;
                    }
                    if libc::syscall(libc::SYS_getpid) <= 0 {
                        return 5;
                    }
                    0
                }
            });
            assert!(
                libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
                "{}: status {status:#x}",
                t.name
            );
            let status = in_child_under(&t, || {
                // SAFETY: bpf with an invalid command; it must not get through.
                unsafe { libc::syscall(libc::SYS_bpf, -1, 0, 0) };
                0
            });
            assert!(
                libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGSYS,
                "{}: bpf was not stopped: status {status:#x}",
                t.name
            );
        }
    }

    #[test]
    fn names_are_the_libc_names() {
        assert_eq!(
            Call::new("SYS_read", libc::SYS_read, Check::Any).name,
            "read"
        );
        let t = process::table();
        assert_eq!(t.name_of(libc::SYS_ptrace), Some("ptrace"));
        assert_eq!(t.name_of(libc::SYS_openat), Some("openat"));
    }
}
