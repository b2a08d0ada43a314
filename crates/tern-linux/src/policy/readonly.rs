//! Read-only directory trees (`read-only PATH` in a policy): every system call that
//! would write, create, remove, rename, link or change the metadata of something
//! inside such a tree fails with `EROFS`, as on a read-only mount.
//!
//! A path argument is resolved the way the call itself resolves it: through
//! [`crate::fs::locate`] (the confined resolver under `--root`, a `--bind` or the
//! `--sysroot`), and otherwise by the same resolver walking the host's own tree
//! from `/`, with the call's `dirfd` or working directory as start. The walk ends in
//! descriptors — the object, or the directory holding the last name — and the check
//! asks the kernel where those are (`/proc/thread-self/fd/N`): `..`, symbolic links,
//! `dirfd`-relative paths and `/proc/self/fd` names cannot lead into a tree
//! unnoticed. Calls on descriptors (`fchmod`, `fsetxattr`, `utimensat(fd, NULL)`,
//! `linkat(fd, "", AT_EMPTY_PATH)`...) are checked on the descriptor.
//!
//! Which calls: `openat` for writing, truncating, `O_TMPFILE` or creating;
//! `mkdirat`, `mknodat`, `symlinkat`, `unlinkat`, `renameat2` (both names, and
//! neither may be a tree's ancestor: the trees are checked by host path), `linkat`
//! (the source too: a hard link out of the tree would be a writable name of its
//! file), `fchmodat`, `fchownat`, `utimensat`, `truncate`, the `setxattr` and
//! `removexattr` families, `fchmod`, `fchown`, `ftruncate`, `fallocate`, `bind` of a
//! Unix socket path; `open_by_handle_at` for writing is refused outright while a
//! tree is read-only (a handle names no path to check).
//!
//! The check resolves each path before the call; then it arms a guard
//! ([`crate::fs::guard`]) that looks again at every walk the call itself makes, on
//! the descriptors the call then uses (and has paths the host would resolve itself
//! walked too, while armed). A thread that swaps a directory for a symbolic link
//! between the check and the call is refused there (tested: `exec_policy.rs`).

use std::ffi::CStr;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::OnceLock;

use syscalls::riscv64::Sysno;

use crate::errno::Errno;
use crate::fs::locate::locate;
use crate::fs::resolve::{Lookup, Walk};
use crate::process::Process;
use crate::syscalls::path_args::dirfd_for;
use crate::task::Task;

/// The read-only trees of a policy.
pub struct ReadOnly {
    /// As the policy names them (absolute guest paths).
    guest: Vec<String>,
    /// Their host paths, resolved when the process starts.
    host: OnceLock<Vec<Vec<u8>>>,
}

pub(crate) use crate::fs::guard::host_path;
use crate::fs::guard::host_walk;
use crate::policy::readonly_guard::{
    file_type, guard_open_create, guard_open_write, guard_write, path_in, set_trees,
};

/// Resolves `path` relative to `dirfd` as a call doing `lookup` would.
pub(crate) fn resolve<'p>(
    proc: &'p Process,
    dirfd: i32,
    path: &[u8],
    lookup: Lookup,
) -> Result<Walk<'p>, Errno> {
    let loc = locate(proc.paths(), dirfd, path, lookup)?;
    match loc.into_walk() {
        Some(w) => Ok(w),
        None => host_walk(proc.anchors.min_fd(), dirfd, path, lookup),
    }
}

/// What a call does with the path it names.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Acts {
    /// Changes the object (following a last link or not): its own place counts.
    Object(Lookup),
    /// Creates, removes or renames the last name: the directory holding it counts
    /// (and the name itself, so a tree's own top cannot be removed or renamed).
    Name,
}

impl ReadOnly {
    /// The trees `guest` (absolute guest paths).
    pub fn new(guest: Vec<String>) -> ReadOnly {
        ReadOnly {
            guest,
            host: OnceLock::new(),
        }
    }

    /// Whether the policy names any tree.
    pub fn is_empty(&self) -> bool {
        self.guest.is_empty()
    }

    /// Resolves the trees in the process's file view (each must be a directory).
    pub fn attach(&self, proc: &Process) -> Result<(), String> {
        let mut host = Vec::new();
        for g in &self.guest {
            let w = resolve(proc, libc::AT_FDCWD, g.as_bytes(), Lookup::Follow).map_err(|e| {
                format!("read-only {g}: {}", std::io::Error::from_raw_os_error(e.0))
            })?;
            let obj = w
                .object
                .as_ref()
                .ok_or_else(|| format!("read-only {g}: no such directory"))?;
            if file_type(obj.as_raw_fd()) != Some(libc::S_IFDIR) {
                return Err(format!("read-only {g}: not a directory"));
            }
            let h = host_path(obj.as_raw_fd()).ok_or_else(|| format!("read-only {g}: removed"))?;
            host.push(h);
        }
        set_trees(host.clone());
        let _ = self.host.set(host);
        Ok(())
    }

    /// The walk guard ([`crate::fs::guard`]) to arm for call `nr` with arguments
    /// `a`, which the check before the call allowed: the call's own walks are
    /// checked again (`None`: the call writes nothing).
    pub fn guard_for(&self, nr: u64, a: &[u64; 6]) -> Option<crate::fs::guard::Check> {
        if self.is_empty() {
            return None;
        }
        match Sysno::new(nr as usize)? {
            Sysno::openat => {
                let flags = a[2] as i32;
                if flags & libc::O_PATH != 0 {
                    return None;
                }
                let writes = flags & libc::O_ACCMODE != libc::O_RDONLY
                    || flags & libc::O_TRUNC != 0
                    || flags & libc::O_TMPFILE == libc::O_TMPFILE;
                if writes {
                    Some(guard_open_write)
                } else if flags & libc::O_CREAT != 0 {
                    Some(guard_open_create)
                } else {
                    None
                }
            }
            Sysno::open_by_handle_at => None,
            n if Self::calls().contains(&n) => Some(guard_write),
            _ => None,
        }
    }

    fn inside(&self, host: &[u8]) -> bool {
        self.host
            .get()
            .is_some_and(|trees| path_in(trees, host, false))
    }

    fn fd_inside(&self, fd: RawFd) -> bool {
        host_path(fd).is_some_and(|h| self.inside(&h))
    }

    /// Whether host path `host` is a tree's ancestor: renaming it would move the
    /// tree away from the path it is checked by.
    fn above(&self, host: &[u8]) -> bool {
        self.host
            .get()
            .is_some_and(|trees| path_in(trees, host, true))
    }

    /// For `rename`: whether the name `path` reaches is inside a tree or above one.
    fn rename_touches(&self, t: &Task, dirfd: u64, va: u64) -> bool {
        let proc = &*t.proc;
        let Ok(path) = proc.read_path(va) else {
            return false;
        };
        let Ok(d) = dirfd_for(t, dirfd, &path) else {
            return false;
        };
        let Ok(w) = resolve(proc, d, &path, Lookup::Parent) else {
            return false;
        };
        let host = match (&w.entry, &w.object) {
            (Some((dir, n)), _) => host_path(dir.as_raw_fd()).map(|mut h| {
                if h != b"/" {
                    h.push(b'/');
                }
                h.extend_from_slice(n.to_bytes());
                h
            }),
            (None, Some(o)) => host_path(o.as_raw_fd()),
            (None, None) => None,
        };
        host.is_some_and(|h| self.inside(&h) || self.above(&h))
    }

    fn name_inside(&self, dir: RawFd, name: &CStr) -> bool {
        host_path(dir).is_some_and(|mut h| {
            if h != b"/" {
                h.push(b'/');
            }
            h.extend_from_slice(name.to_bytes());
            self.inside(&h)
        })
    }

    /// Whether the object or name that `path` (relative to the dirfd argument
    /// `dirfd`) reaches is inside a tree, for a call that `acts` on it. A path that
    /// cannot be read or resolved is left to the call (which fails the same way).
    fn path_inside(&self, t: &Task, dirfd: u64, va: u64, acts: Acts) -> bool {
        let proc = &*t.proc;
        let Ok(path) = proc.read_path(va) else {
            return false;
        };
        let Ok(d) = dirfd_for(t, dirfd, &path) else {
            return false;
        };
        let lookup = match acts {
            Acts::Object(l) => l,
            Acts::Name => Lookup::Parent,
        };
        let Ok(w) = resolve(proc, d, &path, lookup) else {
            return false;
        };
        self.walk_inside(&w, acts)
    }

    fn walk_inside(&self, w: &Walk<'_>, acts: Acts) -> bool {
        match (acts, &w.object, &w.entry) {
            (Acts::Object(Lookup::Follow), Some(o), _) => self.fd_inside(o.as_raw_fd()),
            // A followed name that does not exist: the call fails by itself.
            (Acts::Object(Lookup::Follow), None, _) => false,
            (_, _, Some((d, n))) => self.name_inside(d.as_raw_fd(), n),
            (_, Some(o), None) => self.fd_inside(o.as_raw_fd()),
            (_, None, None) => false,
        }
    }

    /// `openat(dirfd, path, flags)`: writing, truncating, `O_TMPFILE` on a file in
    /// a tree, or creating a name there.
    fn open_inside(&self, t: &Task, a: &[u64; 6]) -> bool {
        let flags = a[2] as i32;
        if flags & libc::O_PATH != 0 {
            // Linux ignores the access mode, O_CREAT and O_TRUNC with O_PATH.
            return false;
        }
        let acc = flags & libc::O_ACCMODE;
        let writes = acc != libc::O_RDONLY
            || flags & libc::O_TRUNC != 0
            || flags & libc::O_TMPFILE == libc::O_TMPFILE;
        let creates = flags & libc::O_CREAT != 0;
        if !writes && !creates {
            return false;
        }
        let proc = &*t.proc;
        let Ok(path) = proc.read_path(a[1]) else {
            return false;
        };
        let Ok(d) = dirfd_for(t, a[0], &path) else {
            return false;
        };
        let nofollow = flags & libc::O_NOFOLLOW != 0
            || flags & (libc::O_CREAT | libc::O_EXCL) == (libc::O_CREAT | libc::O_EXCL);
        let lookup = if nofollow {
            Lookup::NoFollow
        } else {
            Lookup::Follow
        };
        let Ok(w) = resolve(proc, d, &path, lookup) else {
            return false;
        };
        // The object, when the walk opened it; else what is at the last name.
        let ty = match (&w.object, &w.entry) {
            (Some(o), _) => file_type(o.as_raw_fd()),
            (None, Some((dir, n))) => {
                // SAFETY: a local struct; a valid C string.
                let mut st: libc::stat = unsafe { std::mem::zeroed() };
                // SAFETY: as above.
                let r = unsafe {
                    libc::fstatat(
                        dir.as_raw_fd(),
                        n.as_ptr(),
                        &mut st,
                        libc::AT_SYMLINK_NOFOLLOW,
                    )
                };
                (r == 0).then_some(st.st_mode & libc::S_IFMT)
            }
            (None, None) => None,
        };
        match ty {
            // Devices, pipes and sockets are written where they lead, not in the tree.
            Some(libc::S_IFCHR | libc::S_IFBLK | libc::S_IFIFO | libc::S_IFSOCK) => false,
            // A link that was not followed: the open fails (ELOOP, EEXIST).
            Some(libc::S_IFLNK) => false,
            Some(_)
                if writes
                    || flags & (libc::O_CREAT | libc::O_EXCL) == (libc::O_CREAT | libc::O_EXCL) =>
            {
                match &w.object {
                    Some(o) => self.fd_inside(o.as_raw_fd()),
                    None => self.walk_inside(&w, Acts::Name),
                }
            }
            Some(_) => false,
            None if creates => self.walk_inside(&w, Acts::Name),
            None => false,
        }
    }

    /// An `AT_EMPTY_PATH` call with an empty path acts on the descriptor itself.
    fn empty_path(t: &Task, va: u64, flags: u64) -> bool {
        flags as i32 & libc::AT_EMPTY_PATH != 0 && t.proc.read_path(va).is_ok_and(|p| p.is_empty())
    }

    /// `EROFS` when call `nr` with arguments `a` would change something inside a
    /// read-only tree.
    pub fn check(&self, t: &Task, nr: u64, a: &[u64; 6]) -> Option<Errno> {
        if self.is_empty() {
            return None;
        }
        let follow = |flags: u64, nofollow: i32| {
            if flags as i32 & nofollow != 0 {
                Lookup::NoFollow
            } else {
                Lookup::Follow
            }
        };
        use Sysno as S;
        let inside = match Sysno::new(nr as usize)? {
            S::openat => self.open_inside(t, a),
            S::mkdirat | S::mknodat | S::unlinkat => self.path_inside(t, a[0], a[1], Acts::Name),
            S::symlinkat => self.path_inside(t, a[1], a[2], Acts::Name),
            // Both names; and a tree's ancestor cannot move (nor be exchanged).
            S::renameat2 => {
                self.rename_touches(t, a[0], a[1]) || self.rename_touches(t, a[2], a[3])
            }
            S::linkat => {
                let old = if Self::empty_path(t, a[1], a[4]) {
                    self.fd_inside(a[0] as i32)
                } else {
                    let l = if a[4] as i32 & libc::AT_SYMLINK_FOLLOW != 0 {
                        Lookup::Follow
                    } else {
                        Lookup::NoFollow
                    };
                    self.path_inside(t, a[0], a[1], Acts::Object(l))
                };
                old || self.path_inside(t, a[2], a[3], Acts::Name)
            }
            S::fchmodat => self.path_inside(t, a[0], a[1], Acts::Object(Lookup::Follow)),
            S::fchownat => {
                if Self::empty_path(t, a[1], a[4]) {
                    self.fd_inside(a[0] as i32)
                } else {
                    let l = follow(a[4], libc::AT_SYMLINK_NOFOLLOW);
                    self.path_inside(t, a[0], a[1], Acts::Object(l))
                }
            }
            S::utimensat => {
                if a[1] == 0 || Self::empty_path(t, a[1], a[3]) {
                    self.fd_inside(a[0] as i32)
                } else {
                    let l = follow(a[3], libc::AT_SYMLINK_NOFOLLOW);
                    self.path_inside(t, a[0], a[1], Acts::Object(l))
                }
            }
            S::truncate | S::setxattr | S::removexattr => {
                self.path_inside(t, libc::AT_FDCWD as u64, a[0], Acts::Object(Lookup::Follow))
            }
            S::lsetxattr | S::lremovexattr => self.path_inside(
                t,
                libc::AT_FDCWD as u64,
                a[0],
                Acts::Object(Lookup::NoFollow),
            ),
            S::fsetxattr
            | S::fremovexattr
            | S::fchmod
            | S::fchown
            | S::ftruncate
            | S::fallocate => self.fd_inside(a[0] as i32),
            S::bind => self.unix_bind_inside(t, a),
            S::open_by_handle_at => {
                let f = a[2] as i32;
                f & libc::O_ACCMODE != libc::O_RDONLY || f & (libc::O_TRUNC | libc::O_CREAT) != 0
            }
            _ => false,
        };
        inside.then_some(Errno(libc::EROFS))
    }

    /// `bind` of a Unix socket to a path creates that name.
    fn unix_bind_inside(&self, t: &Task, a: &[u64; 6]) -> bool {
        let len = (a[2] as usize).min(110);
        let Ok(b) = t.proc.read_mem(a[1], len) else {
            return false;
        };
        if b.len() < 3 || u16::from_le_bytes([b[0], b[1]]) != libc::AF_UNIX as u16 || b[2] == 0 {
            return false;
        }
        let path: Vec<u8> = b[2..].iter().copied().take_while(|&c| c != 0).collect();
        let proc = &*t.proc;
        let Ok(w) = resolve(proc, libc::AT_FDCWD, &path, Lookup::Parent) else {
            return false;
        };
        self.walk_inside(&w, Acts::Name)
    }

    /// The calls [`ReadOnly::check`] looks at.
    pub fn calls() -> &'static [Sysno] {
        use Sysno as S;
        &[
            S::openat,
            S::mkdirat,
            S::mknodat,
            S::unlinkat,
            S::symlinkat,
            S::renameat2,
            S::linkat,
            S::fchmodat,
            S::fchownat,
            S::utimensat,
            S::truncate,
            S::setxattr,
            S::removexattr,
            S::lsetxattr,
            S::lremovexattr,
            S::fsetxattr,
            S::fremovexattr,
            S::fchmod,
            S::fchown,
            S::ftruncate,
            S::fallocate,
            S::bind,
            S::open_by_handle_at,
        ]
    }
}
