//! The host system calls every tern VMM process makes after setup, whatever it
//! runs: the Rust runtime and glibc (memory, threads, futexes, time), the files and
//! sockets of devices, the console and the control API, writing snapshots.

use super::{Answer, Call, Check};
use crate::allow;

/// Namespace flags of `clone`: a VMM never makes new namespaces after setup.
pub const CLONE_NAMESPACES: u64 = (libc::CLONE_NEWNS
    | libc::CLONE_NEWUTS
    | libc::CLONE_NEWIPC
    | libc::CLONE_NEWUSER
    | libc::CLONE_NEWPID
    | libc::CLONE_NEWNET
    | libc::CLONE_NEWCGROUP) as u64;

/// Memory: the allocator, guest RAM reservations, thread stacks, snapshot mappings.
pub const MEMORY: &[Call] = allow![
    SYS_brk,
    SYS_mmap,
    SYS_munmap,
    SYS_mremap,
    SYS_mprotect,
    SYS_madvise,
    SYS_msync,
    SYS_mincore,
    SYS_membarrier,
];

/// Threads, futexes, scheduling and the process's own identity.
pub const THREADS: &[Call] = allow![
    SYS_futex,
    SYS_futex_waitv,
    SYS_set_robust_list,
    SYS_set_tid_address,
    SYS_rseq,
    SYS_sched_yield,
    SYS_sched_getaffinity,
    SYS_getpid,
    SYS_gettid,
    SYS_getppid,
    SYS_getuid,
    SYS_geteuid,
    SYS_getgid,
    SYS_getegid,
    SYS_getresuid,
    SYS_getresgid,
    SYS_getgroups,
    SYS_exit,
    SYS_exit_group,
    SYS_restart_syscall,
    SYS_prlimit64,
    SYS_getrusage,
    SYS_uname,
    SYS_sysinfo,
];

/// Threads are created with `clone` (never with namespace flags).
pub const CLONE: &[Call] = &[Call::new(
    "SYS_clone",
    libc::SYS_clone,
    Check::NoneOf {
        arg: 0,
        mask: CLONE_NAMESPACES,
    },
)];

/// `prctl` options the runtime uses: thread names, the seccomp and no_new_privs
/// state (read only), the parent-death signal, the timer slack (the guest's, per
/// thread).
pub const PRCTL: &[Call] = &[Call::new(
    "SYS_prctl",
    libc::SYS_prctl,
    Check::OneOf {
        arg: 0,
        values: &[
            libc::PR_SET_NAME as u64,
            libc::PR_GET_NAME as u64,
            libc::PR_GET_SECCOMP as u64,
            libc::PR_GET_NO_NEW_PRIVS as u64,
            libc::PR_SET_PDEATHSIG as u64,
            libc::PR_GET_PDEATHSIG as u64,
            libc::PR_GET_DUMPABLE as u64,
            libc::PR_SET_VMA as u64,
            libc::PR_GET_TIMERSLACK as u64,
            libc::PR_SET_TIMERSLACK as u64,
            libc::PR_CAPBSET_READ as u64,
        ],
    },
)];

/// Time and sleeping.
pub const TIME: &[Call] = allow![
    SYS_clock_gettime,
    SYS_clock_getres,
    SYS_clock_nanosleep,
    SYS_nanosleep,
    SYS_gettimeofday,
];

/// Signals within the process (the wake-up signal between its own threads,
/// handlers, masks).
pub const SIGNALS: &[Call] = allow![
    SYS_rt_sigaction,
    SYS_rt_sigprocmask,
    SYS_rt_sigreturn,
    SYS_sigaltstack,
];

/// Descriptors and I/O on them.
pub const IO: &[Call] = allow![
    SYS_read,
    SYS_write,
    SYS_readv,
    SYS_writev,
    SYS_pread64,
    SYS_pwrite64,
    SYS_preadv,
    SYS_pwritev,
    SYS_preadv2,
    SYS_pwritev2,
    SYS_lseek,
    SYS_close,
    SYS_close_range,
    SYS_dup,
    SYS_dup3,
    SYS_fcntl,
    SYS_ioctl,
    SYS_pipe2,
    SYS_eventfd2,
    SYS_epoll_create1,
    SYS_epoll_ctl,
    SYS_epoll_pwait,
    SYS_epoll_pwait2,
    SYS_ppoll,
    SYS_pselect6,
    SYS_fstat,
    SYS_newfstatat,
    SYS_statx,
    SYS_fstatfs,
    SYS_statfs,
    SYS_ftruncate,
    SYS_fallocate,
    SYS_fsync,
    SYS_fdatasync,
    SYS_fadvise64,
    SYS_flock,
    SYS_getrandom,
];

/// Files by path (snapshot files are created, renamed into place and removed).
pub const PATHS: &[Call] = allow![
    SYS_openat,
    SYS_openat2,
    SYS_readlinkat,
    SYS_faccessat,
    SYS_faccessat2,
    SYS_getdents64,
    SYS_getcwd,
    SYS_unlinkat,
    SYS_renameat2,
    SYS_fchmod,
    SYS_fchmodat,
    SYS_umask,
];

/// Socket calls (the control API, network backends); which families may be
/// created is the table's business.
pub const SOCKETS: &[Call] = allow![
    SYS_bind,
    SYS_listen,
    SYS_accept4,
    SYS_connect,
    SYS_getsockname,
    SYS_getpeername,
    SYS_getsockopt,
    SYS_setsockopt,
    SYS_sendto,
    SYS_recvfrom,
    SYS_sendmsg,
    SYS_recvmsg,
    SYS_sendmmsg,
    SYS_recvmmsg,
    SYS_shutdown,
    SYS_socketpair,
];

/// Calls that exist on x86-64 but not on every other host (the generic table of
/// aarch64 has only their `*at`/`p*`/`prlimit64` forms, s390x reaches `accept`
/// through `socketcall`), used on x86-64 by glibc and the runtime.
#[cfg(target_arch = "x86_64")]
pub const LEGACY: &[Call] = allow![
    SYS_open,
    SYS_stat,
    SYS_lstat,
    SYS_access,
    SYS_pipe,
    SYS_dup2,
    SYS_poll,
    SYS_select,
    SYS_epoll_wait,
    SYS_epoll_create,
    SYS_readlink,
    SYS_getdents,
    SYS_mkdir,
    SYS_rmdir,
    SYS_unlink,
    SYS_rename,
    SYS_chmod,
    SYS_arch_prctl,
    SYS_time,
    SYS_eventfd,
    SYS_getrlimit,
    SYS_renameat,
    SYS_sync_file_range,
    SYS_accept,
];

/// Calls that only exist on x86-64.
#[cfg(not(target_arch = "x86_64"))]
pub const LEGACY: &[Call] = &[];

/// A marker call whose answer tells a tern process that it runs inside a sandbox
/// already (see [`crate::inherited`]): `ioprio_get(MARKER, 0)`, which Linux answers
/// `EINVAL` (no such `which`) and the table answers `ENOSYS`.
pub const MARKER: u64 = 0x7465_726e; // "tern"

/// Answers shared by all tables.
// The ioctl request type differs between C libraries and architectures.
#[allow(clippy::unnecessary_cast)]
pub const ANSWERS: &[Answer] = &[
    // glibc's pthread_create tries clone3 first and falls back to clone on ENOSYS;
    // clone3's flags are in memory, where a filter cannot check them.
    Answer {
        call: Call::new("SYS_clone3", libc::SYS_clone3, Check::Any),
        errno: libc::ENOSYS,
    },
    Answer {
        call: Call::new(
            "SYS_ioprio_get",
            libc::SYS_ioprio_get,
            Check::OneOf {
                arg: 0,
                values: &[MARKER],
            },
        ),
        errno: libc::ENOSYS,
    },
    // Pushing bytes into a terminal's input (TIOCSTI) or the Linux console's
    // selection (TIOCLINUX) would type commands into the user's shell.
    Answer {
        call: Call::new(
            "SYS_ioctl",
            libc::SYS_ioctl,
            Check::OneOf {
                arg: 1,
                values: &[libc::TIOCSTI as u64, libc::TIOCLINUX as u64],
            },
        ),
        errno: libc::EPERM,
    },
];

/// Every group above, for a table to start from.
pub fn all() -> Vec<Call> {
    [
        MEMORY, THREADS, CLONE, PRCTL, TIME, SIGNALS, IO, PATHS, SOCKETS, LEGACY,
    ]
    .concat()
}
