//! Host system calls no tern table may contain: each one reaches beyond the VMM's
//! own process (other processes' memory, the mount table, namespaces, the kernel's
//! BPF, keyrings, modules, the machine itself). A unit test checks every table
//! against this list; a call here that a VMM makes stops it (see [`super`]).

use super::{Call, Check};
use crate::allow;

/// Calls forbidden on every architecture.
pub const FORBIDDEN: &[Call] = allow![
    SYS_ptrace,
    SYS_process_vm_readv,
    SYS_process_vm_writev,
    SYS_process_madvise,
    SYS_pidfd_getfd,
    SYS_kcmp,
    SYS_mount,
    SYS_umount2,
    SYS_pivot_root,
    SYS_chroot,
    SYS_open_tree,
    SYS_move_mount,
    SYS_fsopen,
    SYS_fsconfig,
    SYS_fsmount,
    SYS_fspick,
    SYS_mount_setattr,
    SYS_setns,
    SYS_bpf,
    SYS_perf_event_open,
    SYS_kexec_load,
    SYS_init_module,
    SYS_finit_module,
    SYS_delete_module,
    SYS_keyctl,
    SYS_add_key,
    SYS_request_key,
    SYS_userfaultfd,
    SYS_reboot,
    SYS_swapon,
    SYS_swapoff,
    SYS_acct,
    SYS_open_by_handle_at,
    SYS_name_to_handle_at,
    SYS_seccomp,
    SYS_capset,
    SYS_quotactl,
    SYS_settimeofday,
    SYS_clock_settime,
    SYS_clock_adjtime,
    SYS_adjtimex,
    SYS_syslog,
    SYS_vhangup,
    SYS_io_uring_setup,
    SYS_io_uring_enter,
    SYS_io_uring_register,
    SYS_fanotify_init,
    SYS_sethostname,
    SYS_setdomainname,
    SYS_personality,
    SYS_migrate_pages,
    SYS_move_pages,
    SYS_mbind,
    SYS_set_mempolicy,
];

/// Calls forbidden except with exactly these argument checks, under which they stay
/// within tern's own process. `unshare(CLONE_FILES)` gives the calling thread a
/// private copy of the descriptor table and creates no namespace: the process VM
/// runs work that opens descriptors of its own (the control API, snapshot files,
/// the checks of a signal's target) on such threads (tern-linux's `hostfd`), so that
/// the guest's descriptor numbers stay the guest's. Any other `unshare` is refused.
pub const NARROWED: &[Call] = &[Call::new(
    "SYS_unshare",
    libc::SYS_unshare,
    Check::OneOf {
        arg: 0,
        values: &[libc::CLONE_FILES as u64],
    },
)];

/// Calls forbidden that only exist on x86-64 (or that `libc` names only there).
#[cfg(target_arch = "x86_64")]
pub const FORBIDDEN_LEGACY: &[Call] = allow![
    SYS_iopl,
    SYS_ioperm,
    SYS_modify_ldt,
    SYS_uselib,
    SYS_kexec_file_load,
];

/// Calls forbidden that only exist on x86-64.
#[cfg(not(target_arch = "x86_64"))]
pub const FORBIDDEN_LEGACY: &[Call] = &[];
