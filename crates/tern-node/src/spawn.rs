//! Starting a VM process: `tern exec|run` (this same binary) as a separate,
//! detached process inside its slice's cgroup.
//!
//! - **In the cgroup before guest code.** The child writes `0` (itself) into each
//!   `cgroup.procs` of the slice between `fork` and `exec`, so the first instruction
//!   of tern, and of the guest, already runs under the slice's limits. If it cannot,
//!   the exec does not happen and the spawn fails.
//! - **Detached.** The child starts a session of its own (`setsid`): no controlling
//!   terminal, no signals sent to the daemon's process group; standard input is
//!   `/dev/null` and its output goes to a log file. It is not killed with the daemon,
//!   which re-adopts it when it starts again ([`crate::procs`]).
//! - **On its slice's CPUs** ([`crate::affinity`]), set in the same place.
//! - **As its sliver's uid** ([`crate::uid`]), last, after the cgroups were entered.

use std::ffi::{CString, OsString};
use std::fs::OpenOptions;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::affinity::CpuSet;

/// What to start.
pub struct SpawnRequest<'a> {
    /// The `tern` binary.
    pub exe: &'a Path,
    /// Its arguments (`exec --api-sock ... PROGRAM ...`).
    pub args: Vec<OsString>,
    /// The `cgroup.procs` files to enter.
    pub procs_files: Vec<PathBuf>,
    /// Where standard output and error go (appended).
    pub log: &'a Path,
    /// The host CPUs it may run on ([`crate::affinity`]); `None` keeps the daemon's.
    pub cpus: Option<CpuSet>,
    /// The sliver's uid to become before `exec` ([`crate::uid`]); `None` stays the
    /// daemon's.
    pub uid: Option<u32>,
}

/// A started VM process.
pub struct Spawned {
    /// The child (kept by the daemon that started it, to reap it).
    pub child: Child,
    /// Its start time (see [`crate::procs`]).
    pub start_time: u64,
}

/// Starts the process (see the module doc).
pub fn spawn(req: SpawnRequest<'_>) -> io::Result<Spawned> {
    let procs: Vec<CString> = req
        .procs_files
        .iter()
        .map(|p| {
            CString::new(p.as_os_str().as_bytes())
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in a cgroup path"))
        })
        .collect::<io::Result<_>>()?;
    let log = OpenOptions::new().create(true).append(true).open(req.log)?;
    let cpus = req.cpus;
    let uid = req.uid;
    let mut cmd = Command::new(req.exe);
    cmd.args(&req.args)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    // SAFETY: the closure runs in the child between fork and exec and calls only
    // async-signal-safe functions (setsid, sched_setaffinity, open, write, close,
    // setgroups, setresgid, setresuid) on
    // memory prepared before the fork (`procs`, `cpus`); it allocates nothing
    // (io::Error::last_os_error stores the errno in place).
    unsafe {
        cmd.pre_exec(move || {
            if libc::setsid() < 0 {
                return Err(io::Error::last_os_error());
            }
            if let Some(set) = &cpus {
                set.apply(0)?;
            }
            for path in &procs {
                let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
                if fd < 0 {
                    return Err(io::Error::last_os_error());
                }
                // "0" moves the writing process itself.
                let n = libc::write(fd, b"0".as_ptr().cast(), 1);
                let err = io::Error::last_os_error();
                libc::close(fd);
                if n != 1 {
                    return Err(err);
                }
            }
            // Last: entering the cgroups needed root.
            if let Some(uid) = uid {
                crate::uid::become_uid(uid)?;
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn()?;
    let Some(stat) = crate::procs::stat(child.id()) else {
        // It cannot have been reaped: we hold it. Only /proc missing gets here.
        let _ = child.kill();
        let _ = child.wait();
        return Err(io::Error::other(
            "cannot read the new process's /proc/PID/stat",
        ));
    };
    Ok(Spawned {
        child,
        start_time: stat.start_time,
    })
}
