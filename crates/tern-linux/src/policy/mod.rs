//! The system-call policy of a process VM (`tern exec --policy FILE`): an
//! [`Interposer`] built from a policy file ([`rules`]) that denies calls with an
//! errno, keeps `connect` to listed addresses ([`connect`]), makes directory trees
//! read-only ([`readonly`]) and logs calls.
//!
//! The decision per call number is a table lookup: a call no rule names costs one
//! load and a compare on top of the hook's own check.

pub mod connect;
pub mod coverage;
pub mod insn_count;
pub mod mem_trace;
pub mod readonly;
pub mod readonly_guard;
pub mod rules;
pub mod symbols;

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::{Arc, OnceLock};

use syscalls::riscv64::Sysno;

use crate::errno::{Errno, SysResult};
use crate::interpose::{Interposer, Verdict};
use crate::process::Process;
use crate::task::Task;
use connect::Connect;
use readonly::ReadOnly;
pub use rules::Rules;

/// Call numbers a table covers (riscv64's are below 512).
const CALLS: usize = 512;

/// The rule a call number is under.
const DENY: u8 = 1;
const LOG: u8 = 2;
const READ_ONLY: u8 = 4;
const CONNECT: u8 = 8;

/// A policy, ready to install with [`crate::interpose::install`].
pub struct Policy {
    /// Per call number: which of the rules apply.
    table: Vec<u8>,
    /// Per call number: the errno of a `deny`.
    deny: Vec<Option<Errno>>,
    read_only: ReadOnly,
    connect: Option<Connect>,
    log_file: Option<String>,
    /// The log file opened by the caller ([`Policy::set_log`]), until `attach`.
    log_given: std::sync::Mutex<Option<OwnedFd>>,
    /// Where log lines go: a descriptor above the program's.
    log: OnceLock<OwnedFd>,
}

impl Policy {
    /// The policy `rules` describe.
    pub fn new(rules: Rules) -> Policy {
        let mut table = vec![0u8; CALLS];
        let mut deny = vec![None; CALLS];
        let mut mark = |nr: u64, bit: u8| {
            if let Some(t) = table.get_mut(nr as usize) {
                *t |= bit;
            }
        };
        for &(nr, e) in &rules.deny {
            mark(nr, DENY);
            if let Some(d) = deny.get_mut(nr as usize) {
                *d = Some(e);
            }
        }
        for &nr in &rules.log {
            mark(nr, LOG);
        }
        if !rules.read_only.is_empty() {
            for &c in ReadOnly::calls() {
                mark(c as u64, READ_ONLY);
            }
        }
        let connect = rules.connect.map(|allowed| {
            for &c in Connect::calls() {
                mark(c as u64, CONNECT);
            }
            Connect::new(allowed, rules.connect_errno.unwrap_or(Errno::EACCES))
        });
        Policy {
            table,
            deny,
            read_only: ReadOnly::new(rules.read_only),
            connect,
            log_file: rules.log_file,
            log_given: std::sync::Mutex::new(None),
            log: OnceLock::new(),
        }
    }

    /// Parses policy text ([`rules`]).
    pub fn parse(text: &str) -> Result<Policy, String> {
        Rules::parse(text).map(Policy::new)
    }

    /// The `log-file` the policy names (the caller opens it, before confining
    /// itself, and hands it over with [`Policy::set_log`]).
    pub fn log_file(&self) -> Option<&str> {
        self.log_file.as_deref()
    }

    /// The opened log file (or the one a program's `execve` handed on).
    pub fn set_log(&self, fd: OwnedFd) {
        *self.log_given.lock().unwrap_or_else(|e| e.into_inner()) = Some(fd);
    }

    /// Takes over descriptor `fd` as the log file (handed on by a program's
    /// `execve`, see `--policy-log-fd`).
    pub fn adopt_log_fd(&self, fd: RawFd) -> Result<(), String> {
        // SAFETY: F_GETFD only asks whether the number is open.
        if fd < 3 || unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
            return Err("not an open descriptor".into());
        }
        // SAFETY: the descriptor was handed to this process to own.
        self.set_log(unsafe { OwnedFd::from_raw_fd(fd) });
        Ok(())
    }

    /// Writes one log line.
    fn line(&self, text: &str) {
        let fd = self.log.get().map_or(2, |f| f.as_raw_fd());
        let mut s = String::with_capacity(text.len() + 16);
        s.push_str("tern policy: ");
        s.push_str(text);
        s.push('\n');
        crate::hostfd::write_all(fd, s.as_bytes());
    }

    /// The call as `--strace` shows it, with the caller's ids (and, for `execve`,
    /// the argument strings).
    fn describe(t: &Task, nr: u64, args: &[u64; 6]) -> String {
        let call = crate::strace::format_call(&mut t.proc.mm(), nr, args);
        let argv = match Sysno::new(nr as usize) {
            Some(Sysno::execve) => argv_text(&t.proc, args[1]),
            Some(Sysno::execveat) => argv_text(&t.proc, args[2]),
            _ => String::new(),
        };
        format!("{} {} {call}{argv}", t.proc_pid(), t.tid)
    }
}

/// Most `execve` arguments a log line shows, and bytes of each.
const ARGV_SHOWN: u64 = 32;
const ARG_BYTES: usize = 256;

/// ` argv=["a", "b"]`: the argument strings at `va` (as far as they can be read).
fn argv_text(proc: &Process, va: u64) -> String {
    let mut parts = Vec::new();
    for i in 0..ARGV_SHOWN {
        let Ok(p) = proc.read_u64(va.wrapping_add(i * 8)) else {
            break;
        };
        if p == 0 {
            break;
        }
        let Ok(s) = proc.mm().read_cstr(p, ARG_BYTES) else {
            break;
        };
        parts.push(format!("{:?}", String::from_utf8_lossy(&s)));
    }
    format!(" argv=[{}]", parts.join(", "))
}

/// Opens `path` for appending log lines (close-on-exec).
pub fn open_log_file(path: &str) -> Result<OwnedFd, String> {
    let c = std::ffi::CString::new(path).map_err(|_| format!("log-file {path}: bad path"))?;
    // SAFETY: a valid C string.
    let fd = unsafe {
        libc::open(
            c.as_ptr(),
            libc::O_WRONLY | libc::O_APPEND | libc::O_CREAT | libc::O_CLOEXEC,
            0o644,
        )
    };
    if fd < 0 {
        return Err(format!(
            "log-file {path}: {}",
            std::io::Error::last_os_error()
        ));
    }
    // SAFETY: the descriptor was just opened and is ours.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Moves the log above the program's descriptors (`fd` itself is closed): a log
/// file stays open across `execve` (the next `tern exec` takes it over by number,
/// `--policy-log-fd`), a duplicate of stderr does not.
fn place_log(fd: RawFd, min_fd: i32, keep_on_exec: bool) -> Result<OwnedFd, String> {
    let cmd = if keep_on_exec {
        libc::F_DUPFD
    } else {
        libc::F_DUPFD_CLOEXEC
    };
    // SAFETY: duplicating a descriptor of ours; the copy is ours.
    let high = unsafe { libc::fcntl(fd, cmd, min_fd) };
    if high < 0 {
        return Err(format!("policy log: {}", std::io::Error::last_os_error()));
    }
    // SAFETY: as above.
    Ok(unsafe { OwnedFd::from_raw_fd(high) })
}

impl Interposer for Policy {
    fn attach(&self, proc: &Arc<Process>) -> Result<(), String> {
        let given = self
            .log_given
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        let fd = match (given, &self.log_file) {
            (Some(f), _) => {
                let fd = place_log(f.as_raw_fd(), proc.fd_limit, true)?;
                crate::interpose::add_reexec_args([
                    "--policy-log-fd".to_string(),
                    fd.as_raw_fd().to_string(),
                ]);
                fd
            }
            (None, Some(p)) => {
                let f = open_log_file(p)?;
                place_log(f.as_raw_fd(), proc.fd_limit, false)?
            }
            (None, None) => place_log(2, proc.fd_limit, false)?,
        };
        let _ = self.log.set(fd);
        self.read_only.attach(proc)?;
        if let Some(c) = &self.connect {
            c.attach(proc);
        }
        Ok(())
    }

    fn before(&self, t: &Task, nr: u64, args: &[u64; 6]) -> Verdict {
        let rule = self.table.get(nr as usize).copied().unwrap_or(0);
        if rule & READ_ONLY != 0 {
            // Never left armed by a call that did not come back through `after`.
            crate::fs::guard::disarm();
        }
        if rule == 0 {
            return Verdict::Allow;
        }
        let mut denied = None;
        if rule & DENY != 0 {
            denied = self.deny[nr as usize];
        }
        if denied.is_none() && rule & READ_ONLY != 0 {
            denied = self.read_only.check(t, nr, args);
        }
        if denied.is_none() && rule & CONNECT != 0 {
            denied = self.connect.as_ref().and_then(|c| c.check(t, nr, args));
        }
        if let Some(e) = denied {
            self.line(&format!(
                "{} = -1 {} (denied)",
                Self::describe(t, nr, args),
                e.name()
            ));
            return Verdict::Deny(e);
        }
        // The call's own walks get a second look (a thread may swap a directory
        // for a link between the check above and the call).
        let guarded = rule & READ_ONLY != 0 && {
            match self.read_only.guard_for(nr, args) {
                Some(g) => {
                    crate::fs::guard::arm(g);
                    true
                }
                None => false,
            }
        };
        if rule & LOG == 0 {
            return if guarded {
                Verdict::Watch(String::new())
            } else {
                Verdict::Allow
            };
        }
        let text = Self::describe(t, nr, args);
        if matches!(
            Sysno::new(nr as usize),
            Some(Sysno::execve | Sysno::execveat | Sysno::exit | Sysno::exit_group)
        ) {
            // It does not return when it works.
            self.line(&text);
        }
        Verdict::Watch(text)
    }

    fn after(&self, _t: &Task, _nr: u64, _args: &[u64; 6], note: String, result: &SysResult) {
        crate::fs::guard::disarm();
        if note.is_empty() {
            // Watched for the guard only.
            return;
        }
        // (An `execve` logged before it ran shows here again only when it failed.)
        self.line(&format!("{note}{}", crate::strace::format_result(result)));
    }
}
