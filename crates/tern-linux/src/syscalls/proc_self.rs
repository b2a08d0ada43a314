//! The `/proc/self` entries that describe the *guest* process rather than the
//! emulator: `exe` (the guest program), `maps` (its areas), and under `--root`
//! `cwd` and `fd/N` (guest paths, never host ones). The path-taking calls
//! ([`super::fs`]) ask here first.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;

use crate::errno::Errno;
use crate::fs::locate::{locate, Located};
use crate::fs::resolve::Lookup;
use crate::process::Process;
use crate::syscalls::path_args::guest_abs;
use crate::task::Task;

/// Where the running program is, located for a call on it (`/proc/self/exe`): by
/// its guest path under `--root`, by its host path otherwise.
pub fn exe_located(proc: &Process) -> Result<Located<'_>, Errno> {
    if proc.opts.view.confined() {
        let exe = proc.exe.lock().unwrap_or_else(|e| e.into_inner()).clone();
        locate(proc.paths(), libc::AT_FDCWD, exe.as_bytes(), Lookup::Follow)
    } else {
        let h = proc
            .exe_host
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        Located::host(libc::AT_FDCWD, h.as_os_str().as_bytes(), Lookup::Follow)
    }
}

/// What a `/proc/self` path means for the guest.
pub enum Magic {
    /// `/proc/self/exe`.
    Exe,
    /// `/proc/self/maps`.
    Maps,
    /// `/proc/self/cwd`.
    Cwd,
    /// `/proc/self/fd/N`.
    Fd(i32),
}

pub fn magic(t: &Task, dirfd: u64, path: &[u8]) -> Option<Magic> {
    if !path.starts_with(b"/proc/") {
        return None;
    }
    let p = guest_abs(t, dirfd as i32, path)?;
    let pid = t.proc_pid().to_string();
    let rest = p
        .strip_prefix("/proc/self/")
        .or_else(|| p.strip_prefix(&format!("/proc/{pid}/")))
        .or_else(|| p.strip_prefix("/proc/thread-self/"))?;
    match rest {
        "exe" => Some(Magic::Exe),
        "maps" => Some(Magic::Maps),
        "cwd" if t.proc.opts.view.confined() => Some(Magic::Cwd),
        _ => rest
            .strip_prefix("fd/")
            .and_then(|n| n.parse().ok())
            .filter(|_| t.proc.opts.view.confined())
            .map(Magic::Fd),
    }
}

/// Whether `(dirfd, path)` names `/proc/self/exe` (the guest program).
pub fn is_self_exe(t: &Task, dirfd: u64, path: &[u8]) -> bool {
    matches!(magic(t, dirfd, path), Some(Magic::Exe))
}

/// A descriptor holding `text` (for generated `/proc` files).
pub fn memfd_with(text: &[u8]) -> Result<i32, Errno> {
    let name = CString::new("tern-proc").map_err(|_| Errno::EINVAL)?;
    // SAFETY: valid C string; writing a local buffer; seeking our own fd.
    unsafe {
        let fd = libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC);
        if fd < 0 {
            return Err(Errno::last());
        }
        let mut off = 0;
        while off < text.len() {
            let n = libc::write(fd, text[off..].as_ptr().cast(), text.len() - off);
            if n <= 0 {
                break;
            }
            off += n as usize;
        }
        libc::lseek(fd, 0, libc::SEEK_SET);
        Ok(fd)
    }
}
