//! The host system calls of a process VM (`tern exec`, `tern restore` of a process
//! snapshot). The runtime makes host calls on behalf of the guest (files, sockets,
//! processes as host processes, signals between them, `execve` of the emulator
//! itself), so this table is the system VM's and more; it still leaves out what no
//! guest call is turned into: tracing and reading other processes, mounting,
//! namespaces, BPF, performance counters, kernel keyrings and modules, `kexec`,
//! `userfaultfd`, `io_uring` (see [`super::forbidden`]).

use super::{common, system, Answer, Call, Check, Table};
use crate::allow;

/// Processes: `fork` (a `clone` without namespace flags, in [`common::CLONE`]),
/// `execve` of the emulator or of a host program, waiting, sessions and groups,
/// signals to other processes (the guest's children; which ones is the runtime's
/// business), identities (the kernel refuses other users without capabilities).
const PROCESSES: &[Call] = allow![
    SYS_execve,
    SYS_execveat,
    SYS_wait4,
    SYS_waitid,
    SYS_kill,
    SYS_tkill,
    SYS_tgkill,
    SYS_rt_sigqueueinfo,
    SYS_rt_tgsigqueueinfo,
    SYS_pidfd_open,
    SYS_pidfd_send_signal,
    SYS_setpgid,
    SYS_getpgid,
    SYS_setsid,
    SYS_getsid,
    SYS_getpriority,
    SYS_setpriority,
    SYS_setuid,
    SYS_setgid,
    SYS_setreuid,
    SYS_setregid,
    SYS_setresuid,
    SYS_setresgid,
    SYS_setfsuid,
    SYS_setfsgid,
    SYS_setgroups,
];

/// What only a guest asks for: its scheduling and timers, waiting for signals,
/// copying between descriptors, anonymous files, its current directory, file
/// times (the system VM's own code never needs them).
const GUEST: &[Call] = allow![
    SYS_sched_setaffinity,
    SYS_sched_getparam,
    SYS_sched_getscheduler,
    SYS_sched_get_priority_max,
    SYS_sched_get_priority_min,
    // The guest's non-realtime policy and priority on its own host threads
    // (realtime policies are refused before the host is asked).
    SYS_sched_setscheduler,
    SYS_sched_setparam,
    SYS_getcpu,
    SYS_get_robust_list,
    SYS_capget,
    SYS_timerfd_create,
    SYS_timerfd_settime,
    SYS_timerfd_gettime,
    // signalfd4: the host signalfd behind a guest's signalfd (its blocked signals
    // that wait in the host kernel).
    SYS_signalfd4,
    // inotify on the objects the confined resolver reached.
    SYS_inotify_init1,
    SYS_inotify_add_watch,
    SYS_inotify_rm_watch,
    SYS_getitimer,
    SYS_setitimer,
    SYS_times,
    SYS_rt_sigpending,
    SYS_rt_sigtimedwait,
    SYS_rt_sigsuspend,
    SYS_sendfile,
    SYS_copy_file_range,
    SYS_memfd_create,
    SYS_chdir,
    SYS_fchdir,
    SYS_mkdirat,
    SYS_utimensat,
];

/// Files the guest creates, links and owns.
const FILES: &[Call] = allow![
    SYS_fchown,
    SYS_fchownat,
    SYS_linkat,
    SYS_symlinkat,
    SYS_mknodat,
    SYS_truncate,
    SYS_sync,
    SYS_syncfs,
    SYS_splice,
    SYS_tee,
    // Extended attributes of the guest's files (paths confined by the resolver).
    SYS_getxattr,
    SYS_lgetxattr,
    SYS_fgetxattr,
    SYS_setxattr,
    SYS_lsetxattr,
    SYS_fsetxattr,
    SYS_listxattr,
    SYS_llistxattr,
    SYS_flistxattr,
    SYS_removexattr,
    SYS_lremovexattr,
    SYS_fremovexattr,
    // Page-cache read-ahead of a guest's file (a hint).
    SYS_readahead,
    // POSIX message queues, named per VM (tern.<vm root>.<name>).
    SYS_mq_open,
    SYS_mq_unlink,
    SYS_mq_timedsend,
    SYS_mq_timedreceive,
    SYS_mq_notify,
    SYS_mq_getsetattr,
    SYS_socket,
];

/// Calls that only exist on x86-64.
#[cfg(target_arch = "x86_64")]
const LEGACY: &[Call] = allow![
    SYS_fork,
    SYS_vfork,
    SYS_getpgrp,
    SYS_chown,
    SYS_lchown,
    SYS_link,
    SYS_symlink,
    SYS_mknod,
    SYS_creat,
    SYS_utimes,
    SYS_futimesat,
    SYS_alarm,
    SYS_pause,
    SYS_setrlimit,
];

/// Calls that only exist on x86-64.
#[cfg(not(target_arch = "x86_64"))]
const LEGACY: &[Call] = &[];

/// The process VM's table.
pub fn table() -> Table {
    let mut allowed = common::all();
    allowed.extend_from_slice(GUEST);
    allowed.extend_from_slice(PROCESSES);
    allowed.extend_from_slice(FILES);
    allowed.extend_from_slice(LEGACY);
    // Threads with a private descriptor table (`unshare(CLONE_FILES)` only).
    allowed.extend_from_slice(super::forbidden::NARROWED);
    let mut answers = common::ANSWERS.to_vec();
    // Netlink, packet and the other families would reach the host's routing,
    // firewall and raw network: a guest gets EAFNOSUPPORT, as from a kernel
    // without them (glibc's getaddrinfo and Go's resolver do without netlink).
    answers.push(Answer {
        call: Call::new(
            "SYS_socket",
            libc::SYS_socket,
            Check::NotOneOf {
                arg: 0,
                values: system::FAMILIES,
            },
        ),
        errno: libc::EAFNOSUPPORT,
    });
    Table {
        name: "exec",
        allowed,
        answers,
    }
}
