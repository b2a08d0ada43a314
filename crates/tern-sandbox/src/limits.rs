//! Resource limits of the VMM process, set as hard limits so that neither the VMM
//! nor a guest (whose `setrlimit` of these is applied to the host) can raise them.

/// The limits of one VM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Open descriptors (`RLIMIT_NOFILE`): the process VM's guest descriptors and the
    /// emulator's own above them must fit.
    pub files: u64,
    /// Threads and processes of the user (`RLIMIT_NPROC`; within the VM's user
    /// namespace when there is one). The kernel does not apply it to root.
    pub threads: u64,
    /// Address space (`RLIMIT_AS`): guest RAM's reservation and the VMM's own.
    pub address_space: u64,
}

impl Limits {
    /// The limits of a VM with `memory` bytes of guest RAM whose guest may use up to
    /// `guest_files` descriptors.
    pub fn for_vm(memory: u64, guest_files: u64) -> Limits {
        Limits {
            files: (guest_files + 1024).max(65_536),
            threads: 8192,
            address_space: memory.saturating_mul(2).saturating_add(8 << 30),
        }
    }
}

/// Lowers the hard limit of `res` to `max` (never raises it), and the soft limit
/// with it.
fn lower(res: libc::__rlimit_resource_t, max: u64) -> Result<(), std::io::Error> {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit on a local struct.
    unsafe {
        if libc::getrlimit(res, &mut r) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let hard = r.rlim_max.min(max as libc::rlim_t);
        let new = libc::rlimit {
            rlim_cur: r.rlim_cur.min(hard),
            rlim_max: hard,
        };
        if libc::setrlimit(res, &new) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Applies `l`, and no core dumps (a VMM's core holds the guest's memory).
pub fn apply(l: &Limits) -> Result<(), String> {
    let all = [
        ("RLIMIT_NOFILE", libc::RLIMIT_NOFILE, l.files),
        ("RLIMIT_NPROC", libc::RLIMIT_NPROC, l.threads),
        ("RLIMIT_AS", libc::RLIMIT_AS, l.address_space),
        ("RLIMIT_CORE", libc::RLIMIT_CORE, 0),
    ];
    for (name, res, max) in all {
        lower(res, max).map_err(|e| format!("{name}: {e}"))?;
    }
    Ok(())
}
