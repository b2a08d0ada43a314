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
use crate::mm::Mm;

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
    /// `open` flags.
    OpenFlags,
    /// `PROT_*`.
    Prot,
    /// `MAP_*`.
    MapFlags,
    /// A signal number.
    Sig,
    /// `clone` flags.
    CloneFlags,
    /// `AT_*` flags.
    AtFlags,
    /// SysV IPC flags (`IPC_CREAT`, `IPC_NOWAIT`, `MSG_*`, `SHM_*`) and a mode.
    IpcFlags,
    /// A SysV IPC `*ctl` command.
    IpcCmd,
}

use Arg::*;

/// Argument kinds of the calls worth decoding; others are shown in hex.
fn kinds(nr: Sysno) -> &'static [Arg] {
    match nr {
        Sysno::openat => &[Fd, Str, OpenFlags, Oct],
        Sysno::read | Sysno::pread64 => &[Fd, Hex, Int, Int],
        Sysno::write => &[Fd, Buf, Int],
        Sysno::pwrite64 => &[Fd, Buf, Int, Int],
        Sysno::close | Sysno::fsync | Sysno::fdatasync | Sysno::dup => &[Fd],
        Sysno::newfstatat => &[Fd, Str, Hex, AtFlags],
        Sysno::statx => &[Fd, Str, AtFlags, Hex, Hex],
        Sysno::fstat => &[Fd, Hex],
        Sysno::readlinkat => &[Fd, Str, Hex, Int],
        Sysno::faccessat | Sysno::faccessat2 => &[Fd, Str, Oct, Hex],
        Sysno::mkdirat | Sysno::fchmodat => &[Fd, Str, Oct],
        Sysno::unlinkat => &[Fd, Str, AtFlags],
        Sysno::chdir | Sysno::chroot => &[Str],
        Sysno::execve => &[Str, Hex, Hex],
        Sysno::renameat2 | Sysno::linkat => &[Fd, Str, Fd, Str, Hex],
        Sysno::symlinkat => &[Str, Fd, Str],
        Sysno::lseek => &[Fd, Int, Int],
        Sysno::getdents64 => &[Fd, Hex, Int],
        Sysno::exit | Sysno::exit_group => &[Int],
        Sysno::kill | Sysno::tkill => &[Int, Sig],
        Sysno::tgkill => &[Int, Int, Sig],
        Sysno::rt_sigaction => &[Sig, Hex, Hex, Int],
        Sysno::clone => &[CloneFlags, Hex, Hex, Hex, Hex],
        Sysno::dup3 => &[Fd, Fd, Hex],
        Sysno::fcntl => &[Fd, Int, Hex],
        Sysno::ioctl => &[Fd, Hex, Hex],
        Sysno::brk => &[Hex],
        Sysno::mmap => &[Hex, Int, Prot, MapFlags, Fd, Hex],
        Sysno::munmap => &[Hex, Int],
        Sysno::mprotect => &[Hex, Int, Prot],
        Sysno::signalfd4 => &[Fd, Hex, Int, Hex],
        Sysno::pidfd_open => &[Int, Hex],
        Sysno::pidfd_send_signal => &[Fd, Sig, Hex, Hex],
        Sysno::timer_create => &[Int, Hex, Hex],
        Sysno::timer_settime => &[Int, Hex, Hex, Hex],
        Sysno::timer_gettime => &[Int, Hex],
        Sysno::timer_getoverrun | Sysno::timer_delete => &[Int],
        Sysno::inotify_init1 => &[Hex],
        Sysno::inotify_add_watch => &[Fd, Str, Hex],
        Sysno::inotify_rm_watch => &[Fd, Int],
        Sysno::getxattr | Sysno::lgetxattr => &[Str, Str, Hex, Int],
        Sysno::fgetxattr => &[Fd, Str, Hex, Int],
        Sysno::setxattr | Sysno::lsetxattr => &[Str, Str, Buf, Int, Hex],
        Sysno::fsetxattr => &[Fd, Str, Buf, Int, Hex],
        Sysno::listxattr | Sysno::llistxattr => &[Str, Hex, Int],
        Sysno::flistxattr => &[Fd, Hex, Int],
        Sysno::removexattr | Sysno::lremovexattr => &[Str, Str],
        Sysno::fremovexattr => &[Fd, Str],
        Sysno::splice | Sysno::copy_file_range => &[Fd, Hex, Fd, Hex, Int, Hex],
        Sysno::tee => &[Fd, Fd, Int, Hex],
        Sysno::vmsplice => &[Fd, Hex, Int, Hex],
        Sysno::sendfile => &[Fd, Fd, Hex, Int],
        Sysno::readahead => &[Fd, Int, Int],
        Sysno::sync_file_range => &[Fd, Int, Int, Hex],
        Sysno::sendmmsg => &[Fd, Hex, Int, Hex],
        Sysno::preadv2 | Sysno::pwritev2 => &[Fd, Hex, Int, Int, Int, Hex],
        Sysno::recvmmsg => &[Fd, Hex, Int, Hex, Hex],
        Sysno::capset => &[Hex, Hex],
        Sysno::ioprio_get => &[Int, Int],
        Sysno::ioprio_set => &[Int, Int, Hex],
        Sysno::sched_getattr => &[Int, Hex, Int, Hex],
        Sysno::sched_setattr => &[Int, Hex, Hex],
        Sysno::kcmp => &[Int, Int, Int, Hex, Hex],
        Sysno::mincore => &[Hex, Int, Hex],
        Sysno::name_to_handle_at => &[Fd, Str, Hex, Hex, AtFlags],
        Sysno::open_by_handle_at => &[Fd, Hex, OpenFlags],
        Sysno::mq_open => &[Str, OpenFlags, Oct, Hex],
        Sysno::mq_unlink => &[Str],
        Sysno::mq_timedsend => &[Fd, Buf, Int, Int, Hex],
        Sysno::mq_timedreceive => &[Fd, Hex, Int, Hex, Hex],
        Sysno::mq_notify => &[Fd, Hex],
        Sysno::mq_getsetattr => &[Fd, Hex, Hex],
        Sysno::semget => &[Hex, Int, IpcFlags],
        Sysno::semop => &[Int, Hex, Int],
        Sysno::semtimedop => &[Int, Hex, Int, Hex],
        Sysno::semctl => &[Int, Int, IpcCmd, Hex],
        Sysno::msgget => &[Hex, IpcFlags],
        Sysno::msgsnd => &[Int, Hex, Int, IpcFlags],
        Sysno::msgrcv => &[Int, Hex, Int, Int, IpcFlags],
        Sysno::msgctl => &[Int, IpcCmd, Hex],
        Sysno::shmget => &[Hex, Int, IpcFlags],
        Sysno::shmat => &[Int, Hex, IpcFlags],
        Sysno::shmdt => &[Hex],
        Sysno::shmctl => &[Int, IpcCmd, Hex],
        Sysno::wait4 => &[Int, Hex, Hex, Hex],
        Sysno::waitid => &[Int, Int, Hex, Hex, Hex],
        Sysno::umask => &[Oct],
        Sysno::mknodat => &[Fd, Str, Oct, Hex],
        Sysno::sched_getscheduler
        | Sysno::sched_get_priority_max
        | Sysno::sched_get_priority_min => &[Int],
        Sysno::sched_getparam | Sysno::sched_setparam => &[Int, Hex],
        Sysno::sched_setscheduler => &[Int, Int, Hex],
        Sysno::sched_getaffinity => &[Int, Int, Hex],
        Sysno::setuid | Sysno::setgid | Sysno::setfsuid | Sysno::setfsgid => &[Int],
        Sysno::setreuid | Sysno::setregid => &[Int, Int],
        Sysno::setresuid | Sysno::setresgid => &[Int, Int, Int],
        Sysno::prctl => &[Int, Hex, Hex, Hex, Hex],
        Sysno::capget => &[Hex, Hex],
        Sysno::rt_sigpending => &[Hex, Int],
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
        Sysno::getrandom => 3,
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
        crate::hostfd::write_all(fd, s.as_bytes());
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

/// Formats `name(args...)` for the call about to run, strings and buffers read
/// from the address space `mm`.
pub fn format_call(mm: &mut Mm, nr: u64, args: &[u64; 6]) -> String {
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
            Str => match mm.read_cstr(a, 4096) {
                Ok(s) => quote(&s, 256),
                Err(_) => format!("{a:#x}"),
            },
            OpenFlags => open_flags(a),
            Prot => flags(
                a,
                &[(1, "PROT_READ"), (2, "PROT_WRITE"), (4, "PROT_EXEC")],
                "PROT_NONE",
            ),
            MapFlags => map_flags(a),
            Sig => signal_name(a as i32),
            CloneFlags => clone_flags(a),
            AtFlags => flags(
                a,
                &[
                    (0x100, "AT_SYMLINK_NOFOLLOW"),
                    (0x200, "AT_REMOVEDIR"),
                    (0x400, "AT_SYMLINK_FOLLOW"),
                    (0x800, "AT_NO_AUTOMOUNT"),
                    (0x1000, "AT_EMPTY_PATH"),
                ],
                "0",
            ),
            IpcFlags => ipc_flags(a),
            IpcCmd => ipc_cmd(nr, a),
            Buf => {
                let len = (args.get(i + 1).copied().unwrap_or(0) as usize).min(64);
                let mut b = vec![0u8; len];
                match mm.read(a, &mut b) {
                    Ok(()) => quote(&b, 32),
                    Err(_) => format!("{a:#x}"),
                }
            }
        });
    }
    format!("{}({})", name(nr), parts.join(", "))
}

/// SysV IPC flags and the permission bits beside them.
fn ipc_flags(v: u64) -> String {
    let mode = v & 0o777;
    let mut s = flags(
        v & !0o777,
        &[
            (0o1000, "IPC_CREAT"),
            (0o2000, "IPC_EXCL"),
            (0o4000, "IPC_NOWAIT"),
            (0o10000, "MSG_NOERROR|SHM_RDONLY"),
            (0o20000, "MSG_EXCEPT|SHM_RND"),
            (0o40000, "MSG_COPY|SHM_REMAP"),
            (0o100000, "SHM_EXEC"),
        ],
        "",
    );
    if mode != 0 {
        if !s.is_empty() {
            s.push('|');
        }
        s.push_str(&format!("{mode:#o}"));
    }
    if s.is_empty() {
        s.push('0');
    }
    s
}

/// A SysV IPC `*ctl` command by name (`IPC_64` shown when set).
fn ipc_cmd(nr: u64, v: u64) -> String {
    let base = match v & !0x100 {
        0 => "IPC_RMID",
        1 => "IPC_SET",
        2 => "IPC_STAT",
        3 => "IPC_INFO",
        c => {
            let names: &[&str] = match Sysno::new(nr as usize) {
                Some(Sysno::semctl) => &[
                    "GETPID",
                    "GETVAL",
                    "GETALL",
                    "GETNCNT",
                    "GETZCNT",
                    "SETVAL",
                    "SETALL",
                    "SEM_STAT",
                    "SEM_INFO",
                    "SEM_STAT_ANY",
                ],
                Some(Sysno::msgctl) => &["MSG_STAT", "MSG_INFO", "MSG_STAT_ANY"],
                Some(Sysno::shmctl) => &[
                    "SHM_LOCK",
                    "SHM_UNLOCK",
                    "SHM_STAT",
                    "SHM_INFO",
                    "SHM_STAT_ANY",
                ],
                _ => &[],
            };
            match c.checked_sub(11).and_then(|i| names.get(i as usize)) {
                Some(n) => n,
                None => return format!("{v:#x}"),
            }
        }
    };
    if v & 0x100 != 0 {
        format!("IPC_64|{base}")
    } else {
        base.to_string()
    }
}

/// `A|B|0x..` for the bits of `v` named in `names`.
fn flags(v: u64, names: &[(u64, &str)], zero: &str) -> String {
    let mut parts = Vec::new();
    let mut rest = v;
    for &(bit, name) in names {
        if v & bit == bit && bit != 0 {
            parts.push(name.to_string());
            rest &= !bit;
        }
    }
    if rest != 0 {
        parts.push(format!("{rest:#x}"));
    }
    if parts.is_empty() {
        zero.to_string()
    } else {
        parts.join("|")
    }
}

fn open_flags(v: u64) -> String {
    let acc = match v & 3 {
        0 => "O_RDONLY",
        1 => "O_WRONLY",
        2 => "O_RDWR",
        _ => "O_ACCMODE",
    };
    let rest = flags(
        v & !3,
        &[
            (0o100, "O_CREAT"),
            (0o200, "O_EXCL"),
            (0o400, "O_NOCTTY"),
            (0o1000, "O_TRUNC"),
            (0o2000, "O_APPEND"),
            (0o4000, "O_NONBLOCK"),
            (0o10000, "O_DSYNC"),
            (0o40000, "O_DIRECT"),
            (0o100000, "O_LARGEFILE"),
            (0o200000, "O_DIRECTORY"),
            (0o400000, "O_NOFOLLOW"),
            (0o1000000, "O_NOATIME"),
            (0o2000000, "O_CLOEXEC"),
            (0o10000000, "O_PATH"),
        ],
        "",
    );
    if rest.is_empty() {
        acc.to_string()
    } else {
        format!("{acc}|{rest}")
    }
}

fn map_flags(v: u64) -> String {
    flags(
        v,
        &[
            (0x01, "MAP_SHARED"),
            (0x02, "MAP_PRIVATE"),
            (0x10, "MAP_FIXED"),
            (0x20, "MAP_ANONYMOUS"),
            (0x100, "MAP_GROWSDOWN"),
            (0x800, "MAP_DENYWRITE"),
            (0x4000, "MAP_NORESERVE"),
            (0x8000, "MAP_POPULATE"),
            (0x20000, "MAP_STACK"),
            (0x10_0000, "MAP_FIXED_NOREPLACE"),
        ],
        "0",
    )
}

fn clone_flags(v: u64) -> String {
    let sig = v & 0xff;
    let mut s = flags(
        v & !0xff,
        &[
            (0x100, "CLONE_VM"),
            (0x200, "CLONE_FS"),
            (0x400, "CLONE_FILES"),
            (0x800, "CLONE_SIGHAND"),
            (0x4000, "CLONE_VFORK"),
            (0x8000, "CLONE_PARENT"),
            (0x1_0000, "CLONE_THREAD"),
            (0x4_0000, "CLONE_SYSVSEM"),
            (0x8_0000, "CLONE_SETTLS"),
            (0x10_0000, "CLONE_PARENT_SETTID"),
            (0x20_0000, "CLONE_CHILD_CLEARTID"),
            (0x100_0000, "CLONE_CHILD_SETTID"),
        ],
        "",
    );
    if sig != 0 {
        if !s.is_empty() {
            s.push('|');
        }
        s.push_str(&signal_name(sig as i32));
    }
    if s.is_empty() {
        "0".into()
    } else {
        s
    }
}

/// `SIGTERM`, or the number.
pub fn signal_name(n: i32) -> String {
    const NAMES: [&str; 32] = [
        "0",
        "SIGHUP",
        "SIGINT",
        "SIGQUIT",
        "SIGILL",
        "SIGTRAP",
        "SIGABRT",
        "SIGBUS",
        "SIGFPE",
        "SIGKILL",
        "SIGUSR1",
        "SIGSEGV",
        "SIGUSR2",
        "SIGPIPE",
        "SIGALRM",
        "SIGTERM",
        "SIGSTKFLT",
        "SIGCHLD",
        "SIGCONT",
        "SIGSTOP",
        "SIGTSTP",
        "SIGTTIN",
        "SIGTTOU",
        "SIGURG",
        "SIGXCPU",
        "SIGXFSZ",
        "SIGVTALRM",
        "SIGPROF",
        "SIGWINCH",
        "SIGIO",
        "SIGPWR",
        "SIGSYS",
    ];
    match usize::try_from(n).ok().and_then(|i| NAMES.get(i)) {
        Some(s) => s.to_string(),
        None if (32..=64).contains(&n) => format!("SIGRT_{}", n - 32),
        None => n.to_string(),
    }
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
