//! `--strace`: every system call with decoded arguments on stderr, like strace(1).
//!
//! Lines go to a private duplicate of the emulator's stderr (kept above the guest's
//! descriptor limit), so a program that closes or redirects its fd 2 does not swallow
//! or interleave into them. System calls the emulator does not implement are reported
//! once each (with `--strace`).

use std::collections::HashSet;
use std::sync::Mutex;

use syscalls::riscv64::Sysno;

use crate::errno::Errno;
use crate::process::Process;

/// How an argument is shown.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Arg {
    /// Signed decimal.
    Int,
    /// Hexadecimal.
    Hex,
    /// A descriptor, or `AT_FDCWD`.
    Fd,
    /// A NUL-terminated string.
    Str,
    /// A buffer whose length is the next argument (shown for writes).
    Buf,
    /// Octal (modes).
    Oct,
}

use Arg::*;

/// Argument kinds of the calls worth decoding; others are shown in hex.
fn kinds(nr: Sysno) -> &'static [Arg] {
    match nr {
        Sysno::openat => &[Fd, Str, Hex, Oct],
        Sysno::read | Sysno::pread64 => &[Fd, Hex, Int, Int],
        Sysno::write => &[Fd, Buf, Int],
        Sysno::pwrite64 => &[Fd, Buf, Int, Int],
        Sysno::close | Sysno::fsync | Sysno::fdatasync | Sysno::dup => &[Fd],
        Sysno::newfstatat | Sysno::statx => &[Fd, Str, Hex, Hex, Hex],
        Sysno::fstat => &[Fd, Hex],
        Sysno::readlinkat => &[Fd, Str, Hex, Int],
        Sysno::faccessat | Sysno::faccessat2 => &[Fd, Str, Oct, Hex],
        Sysno::mkdirat | Sysno::fchmodat => &[Fd, Str, Oct],
        Sysno::unlinkat => &[Fd, Str, Hex],
        Sysno::chdir | Sysno::chroot => &[Str],
        Sysno::execve => &[Str, Hex, Hex],
        Sysno::renameat2 | Sysno::linkat => &[Fd, Str, Fd, Str, Hex],
        Sysno::symlinkat => &[Str, Fd, Str],
        Sysno::lseek => &[Fd, Int, Int],
        Sysno::getdents64 => &[Fd, Hex, Int],
        Sysno::exit | Sysno::exit_group => &[Int],
        Sysno::kill | Sysno::tkill => &[Int, Int],
        Sysno::tgkill => &[Int, Int, Int],
        Sysno::dup3 => &[Fd, Fd, Hex],
        Sysno::fcntl => &[Fd, Int, Hex],
        Sysno::ioctl => &[Fd, Hex, Hex],
        Sysno::brk => &[Hex],
        Sysno::mmap => &[Hex, Int, Int, Hex, Fd, Hex],
        Sysno::munmap => &[Hex, Int],
        Sysno::mprotect => &[Hex, Int, Int],
        _ => &[],
    }
}

/// Number of arguments a call takes, for the calls without a table entry.
fn argc(nr: Sysno) -> usize {
    match nr {
        Sysno::getpid
        | Sysno::getppid
        | Sysno::gettid
        | Sysno::getuid
        | Sysno::geteuid
        | Sysno::getgid
        | Sysno::getegid
        | Sysno::sched_yield
        | Sysno::rt_sigreturn
        | Sysno::setsid => 0,
        Sysno::set_tid_address | Sysno::uname | Sysno::umask => 1,
        Sysno::set_robust_list | Sysno::clock_gettime | Sysno::nanosleep => 2,
        Sysno::getrandom | Sysno::rt_sigaction => 3,
        Sysno::rt_sigprocmask | Sysno::prlimit64 => 4,
        _ => 6,
    }
}

/// The `--strace` printer.
pub struct Strace {
    on: bool,
    fd: i32,
    reported: Mutex<HashSet<u64>>,
}

impl Strace {
    /// A printer; when `on`, stderr is duplicated to a descriptor at or above
    /// `min_fd`.
    pub fn new(on: bool, min_fd: i32) -> Strace {
        let fd = if on {
            // SAFETY: duplicating our own stderr.
            unsafe { libc::fcntl(2, libc::F_DUPFD_CLOEXEC, min_fd) }
        } else {
            -1
        };
        Strace {
            on,
            fd,
            reported: Mutex::new(HashSet::new()),
        }
    }

    /// Whether tracing is on.
    pub fn enabled(&self) -> bool {
        self.on
    }

    /// Writes one line.
    pub fn line(&self, text: &str) {
        if !self.on {
            return;
        }
        let mut s = text.to_string();
        s.push('\n');
        let fd = if self.fd >= 0 { self.fd } else { 2 };
        let b = s.as_bytes();
        let mut off = 0;
        while off < b.len() {
            // SAFETY: writing a valid buffer to our own descriptor.
            let n = unsafe { libc::write(fd, b[off..].as_ptr().cast(), b.len() - off) };
            if n <= 0 {
                break;
            }
            off += n as usize;
        }
    }

    /// Reports an unimplemented system call, once per number.
    pub fn unknown(&self, tid: i32, nr: u64) {
        if !self.on {
            return;
        }
        let first = self
            .reported
            .lock()
            .map(|mut r| r.insert(nr))
            .unwrap_or(false);
        if first {
            let name = name(nr);
            self.line(&format!(
                "{tid} {name}: unimplemented system call {nr}, returning -ENOSYS"
            ));
        }
    }
}

/// The name of system call `nr`.
pub fn name(nr: u64) -> String {
    match Sysno::new(nr as usize) {
        Some(s) => s.name().to_string(),
        None => format!("syscall_{nr}"),
    }
}

fn quote(bytes: &[u8], max: usize) -> String {
    let mut s = String::from("\"");
    for &b in bytes.iter().take(max) {
        match b {
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            b'\n' => s.push_str("\\n"),
            b'\t' => s.push_str("\\t"),
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\x{b:02x}")),
        }
    }
    s.push('"');
    if bytes.len() > max {
        s.push_str("...");
    }
    s
}

/// Formats `name(args...)` for the call about to run.
pub fn format_call(proc: &Process, nr: u64, args: &[u64; 6]) -> String {
    let sys = Sysno::new(nr as usize);
    let kinds: &[Arg] = sys.map(kinds).unwrap_or(&[]);
    let n = if kinds.is_empty() {
        sys.map(argc).unwrap_or(6)
    } else {
        kinds.len()
    };
    let mut parts = Vec::with_capacity(n);
    for i in 0..n {
        let a = args[i];
        let k = kinds.get(i).copied().unwrap_or(Hex);
        parts.push(match k {
            Int => (a as i64).to_string(),
            Hex => format!("{a:#x}"),
            Oct => format!("{a:#o}"),
            Fd => {
                if a as i32 == libc::AT_FDCWD {
                    "AT_FDCWD".into()
                } else {
                    (a as i32).to_string()
                }
            }
            Str => match proc.mm().read_cstr(a, 4096) {
                Ok(s) => quote(&s, 256),
                Err(_) => format!("{a:#x}"),
            },
            Buf => {
                let len = (args.get(i + 1).copied().unwrap_or(0) as usize).min(64);
                let mut b = vec![0u8; len];
                match proc.mm().read(a, &mut b) {
                    Ok(()) => quote(&b, 32),
                    Err(_) => format!("{a:#x}"),
                }
            }
        });
    }
    format!("{}({})", name(nr), parts.join(", "))
}

/// Formats ` = result`.
pub fn format_result(r: &Result<u64, Errno>) -> String {
    match r {
        Ok(v) if *v > 0xffff => format!(" = {v:#x}"),
        Ok(v) => format!(" = {v}"),
        Err(e) => format!(" = -1 {} ({})", e.name(), errno_text(*e)),
    }
}

fn errno_text(e: Errno) -> String {
    std::io::Error::from_raw_os_error(e.0).to_string()
}
