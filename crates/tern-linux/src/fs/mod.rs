//! Files: the descriptor table and the program's view of the file system.
//!
//! Guest descriptors are host descriptors with the same number: the host kernel does
//! the I/O, pipes and sockets work across the process VMs that `fork` creates (each is
//! a host process), and `poll`/`epoll`/`SCM_RIGHTS` need no translation. What the
//! guest can observe that the host fd does not carry (the guest path a descriptor was
//! opened with, its kind) is kept here as plain data, so that a snapshot can record and
//! re-open every descriptor: the file offset is read from the host fd at that time
//! (`lseek(fd, 0, SEEK_CUR)`), because open file descriptions are shared with forked
//! children, which write through the same offset.
//!
//! Descriptors the emulator itself needs (the `--strace` output) live at or above
//! [`FdTable::limit`], the `RLIMIT_NOFILE` the guest is shown, where the guest cannot
//! name them.

pub mod binding;
pub mod guard;
mod hostcall;
pub mod locate;
pub mod located;
pub mod pairs;
pub mod paths;
mod plain;
pub mod resolve;
pub mod resolve_check;
pub mod root;
pub mod saved;
pub mod saved_anon;
pub mod saved_chan;
pub mod saved_ghost;
pub mod saved_mq;
pub mod unix_addr;
pub mod view;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::errno::Errno;

/// What a descriptor refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FdKind {
    /// A regular file, device or anything opened by path.
    File,
    /// A directory.
    Dir,
    /// One end of a pipe.
    Pipe,
    /// A socket.
    Socket,
    /// An epoll instance.
    Epoll,
    /// An eventfd.
    EventFd,
    /// Inherited from the host or of unknown kind.
    Inherited,
    /// A signalfd (its registry entry, see `syscalls::signalfd`). Appended: the
    /// variants' order is the snapshot encoding's (golden files).
    SignalFd(u32),
}

/// What the emulator knows about one guest descriptor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FdInfo {
    /// Its kind.
    pub kind: FdKind,
    /// The guest path it was opened with (absolute), if opened by path.
    pub path: Option<String>,
    /// The `open` flags.
    pub flags: i32,
}

/// The descriptor table's plain-data side.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FdTable {
    fds: BTreeMap<i32, FdInfo>,
    /// Descriptor numbers at or above this are not the guest's.
    pub limit: i32,
}

impl FdTable {
    /// A table with the host's inherited descriptors below `limit`.
    pub fn new(limit: i32) -> FdTable {
        let mut fds = BTreeMap::new();
        let open: Vec<i32> = std::fs::read_dir("/proc/self/fd")
            .map(|dir| {
                dir.flatten()
                    .filter_map(|e| e.file_name().to_str().and_then(|s| s.parse().ok()))
                    .collect()
            })
            .unwrap_or_default();
        for n in open {
            // SAFETY: querying a descriptor number (the directory listing's own
            // descriptor is closed by now and is not the guest's).
            if n < limit && unsafe { libc::fcntl(n, libc::F_GETFD) } >= 0 {
                fds.insert(
                    n,
                    FdInfo {
                        kind: FdKind::Inherited,
                        path: None,
                        flags: 0,
                    },
                );
            }
        }
        FdTable { fds, limit }
    }

    /// Checks that `fd` is a number the guest may use.
    pub fn check(&self, fd: i64) -> Result<i32, Errno> {
        if fd < 0 || fd >= i64::from(self.limit) {
            return Err(Errno::EBADF);
        }
        Ok(fd as i32)
    }

    /// Records a new descriptor.
    pub fn insert(&mut self, fd: i32, info: FdInfo) {
        self.fds.insert(fd, info);
    }

    /// Forgets a closed descriptor.
    pub fn remove(&mut self, fd: i32) {
        self.fds.remove(&fd);
    }

    /// What is known about `fd`.
    pub fn get(&self, fd: i32) -> Option<&FdInfo> {
        self.fds.get(&fd)
    }

    /// Records that `new` is a duplicate of `old`.
    pub fn dup(&mut self, old: i32, new: i32) {
        let info = self.fds.get(&old).cloned().unwrap_or(FdInfo {
            kind: FdKind::Inherited,
            path: None,
            flags: 0,
        });
        self.fds.insert(new, info);
    }

    /// All recorded descriptors.
    pub fn iter(&self) -> impl Iterator<Item = (&i32, &FdInfo)> {
        self.fds.iter()
    }
}

/// Descriptors kept for the emulator above the guest's when the host's soft and
/// hard `RLIMIT_NOFILE` are the same.
const EMULATOR_FDS: i32 = 256;

/// The descriptor limit shown to the guest: the host's soft `RLIMIT_NOFILE`; the
/// soft limit is raised to the hard one so the emulator's own descriptors fit above.
pub fn guest_fd_limit() -> i32 {
    // SAFETY: getrlimit/setrlimit on plain structs.
    unsafe {
        let mut r = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) != 0 {
            return 1024;
        }
        let soft = r.rlim_cur.min(1 << 20) as i32;
        if r.rlim_max <= r.rlim_cur {
            // No room above the soft limit: keep the top for the emulator (its
            // anchors, --strace, and the path resolver's descriptors: a few per
            // lookup in progress, one lookup per guest thread at a time).
            return (soft - EMULATOR_FDS).max(64);
        }
        {
            let raised = libc::rlimit {
                rlim_cur: r.rlim_max.min(1 << 20),
                rlim_max: r.rlim_max,
            };
            libc::setrlimit(libc::RLIMIT_NOFILE, &raised);
        }
        soft.max(64)
    }
}
