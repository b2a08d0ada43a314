//! Namespaces, made while the process is still single-threaded (Linux refuses a new
//! user namespace to a multi-threaded process): a network namespace for a VM that
//! was given no network, a mount namespace for a process VM confined to `--root`
//! (see [`crate::mounts`]), and, for a user who is not root, the user namespace that
//! lets them make those.
//!
//! In the user namespace only the user's own uid and gid are mapped (to themselves,
//! so file ownership looks unchanged for their files; files of other users show as
//! owned by the overflow id, 65534). Root makes the other namespaces directly: a
//! user namespace that maps root to root would change nothing on the host side, and
//! the capabilities that make root special are dropped after setup anyway.

use std::io::Write;

/// Which namespaces to make.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Wanted {
    /// A network namespace (no interface but a down loopback).
    pub network: bool,
    /// A mount namespace.
    pub mounts: bool,
}

/// What was made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Made {
    /// A user namespace.
    pub user: bool,
    /// A network namespace.
    pub network: bool,
    /// A mount namespace.
    pub mounts: bool,
}

fn unshare(flags: i32) -> std::io::Result<()> {
    // A thread that ended just before (joined) may still count for a moment: retry
    // EINVAL a few times.
    for _ in 0..50 {
        // SAFETY: unshare with namespace flags affects only this process.
        if unsafe { libc::unshare(flags) } == 0 {
            return Ok(());
        }
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINVAL) || flags & libc::CLONE_NEWUSER == 0 {
            return Err(e);
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    Err(std::io::Error::from_raw_os_error(libc::EINVAL))
}

fn write_file(path: &str, data: &str) -> std::io::Result<()> {
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)?
        .write_all(data.as_bytes())
}

/// Makes the namespaces `w` asks for; the error says which could not be made and
/// why (nothing was changed then).
pub fn enter(w: Wanted) -> Result<Made, String> {
    let mut flags = 0;
    if w.network {
        flags |= libc::CLONE_NEWNET;
    }
    if w.mounts {
        flags |= libc::CLONE_NEWNS;
    }
    if flags == 0 {
        return Ok(Made::default());
    }
    // SAFETY: the id getters cannot fail.
    let (uid, gid, euid) = unsafe { (libc::getuid(), libc::getgid(), libc::geteuid()) };
    if euid == 0 {
        unshare(flags).map_err(|e| format!("unshare: {e}"))?;
        return Ok(Made {
            user: false,
            network: w.network,
            mounts: w.mounts,
        });
    }
    unshare(flags | libc::CLONE_NEWUSER)
        .map_err(|e| format!("unshare of a user namespace: {e}"))?;
    write_file("/proc/self/setgroups", "deny").map_err(|e| format!("setgroups: {e}"))?;
    write_file("/proc/self/uid_map", &format!("{uid} {uid} 1\n"))
        .map_err(|e| format!("uid_map: {e}"))?;
    write_file("/proc/self/gid_map", &format!("{gid} {gid} 1\n"))
        .map_err(|e| format!("gid_map: {e}"))?;
    Ok(Made {
        user: true,
        network: w.network,
        mounts: w.mounts,
    })
}
