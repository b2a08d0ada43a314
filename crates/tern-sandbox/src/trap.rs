//! What happens when the VMM makes a host system call its table does not allow: the
//! kernel's seccomp trap raises `SIGSYS` in the calling thread, and [`on_sigsys`]
//! prints the call's name on stderr and ends the process with `SIGSYS`, so that a
//! parent (a shell, a test, a guest's parent process) sees how it ended.
//!
//! If the handler cannot run (the signal is blocked or ignored in that thread), the
//! kernel resets it to the default action, which also ends the process: a refused
//! call never goes through either way.

use std::sync::OnceLock;

/// `si_code` of a seccomp trap.
const SYS_SECCOMP: i32 = 1;

/// The names the handler can print: (number, name) of every call the tables and the
/// forbidden list know, and the table's name. Filled before the filter is installed,
/// only read in the handler (no allocation there).
static NAMES: OnceLock<(Vec<(i64, &'static str)>, &'static str)> = OnceLock::new();

/// Installs the `SIGSYS` handler, naming calls from `names` and the table
/// `table`.
pub fn install(names: Vec<(i64, &'static str)>, table: &'static str) {
    let _ = NAMES.set((names, table));
    // SAFETY: installing a handler with a plain sigaction struct.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_sigsys as *const () as usize;
        sa.sa_flags = libc::SA_SIGINFO;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(libc::SIGSYS, &sa, std::ptr::null_mut());
    }
}

/// A fixed buffer for building the message without allocating.
struct Line {
    buf: [u8; 256],
    len: usize,
}

impl Line {
    fn push(&mut self, s: &[u8]) {
        let n = s.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&s[..n]);
        self.len += n;
    }

    fn push_num(&mut self, mut v: i64) {
        if v < 0 {
            self.push(b"-");
            v = -v;
        }
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        self.push(&digits[i..]);
    }
}

/// The `SIGSYS` handler: async-signal-safe (no allocation, no locks).
extern "C" fn on_sigsys(_sig: i32, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    let mut line = Line {
        buf: [0; 256],
        len: 0,
    };
    // SAFETY: the kernel passes a valid siginfo; for a seccomp trap its `_sigsys`
    // member (call address, then the call's number as an int) starts at byte 16 on
    // every 64-bit Linux architecture.
    let (code, nr) = unsafe {
        let code = (*info).si_code;
        let nr = *(info.cast::<u8>().add(24).cast::<i32>());
        (code, i64::from(nr))
    };
    if code == SYS_SECCOMP {
        let (names, table) = NAMES.get().map_or((&[][..], "?"), |(n, t)| (&n[..], *t));
        line.push(b"tern: sandbox: host system call ");
        match names.iter().find(|(n, _)| *n == nr) {
            Some((_, name)) => {
                line.push(name.as_bytes());
                line.push(b" (");
                line.push_num(nr);
                line.push(b")");
            }
            None => {
                line.push(b"number ");
                line.push_num(nr);
            }
        }
        line.push(b" is not in the `");
        line.push(table.as_bytes());
        line.push(b"` allowlist: stopping the VM (--no-sandbox runs without it)\n");
    } else {
        line.push(b"tern: SIGSYS\n");
    }
    // SAFETY: write(2), sigaction(2), sigprocmask and tgkill are async-signal-safe;
    // the default action of SIGSYS ends the process (RLIMIT_CORE is 0 in the sandbox).
    unsafe {
        libc::write(2, line.buf.as_ptr().cast(), line.len);
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = libc::SIG_DFL;
        libc::sigaction(libc::SIGSYS, &sa, std::ptr::null_mut());
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGSYS);
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        libc::syscall(
            libc::SYS_tgkill,
            libc::getpid(),
            libc::syscall(libc::SYS_gettid),
            libc::SIGSYS,
        );
        libc::_exit(128 + libc::SIGSYS);
    }
}
