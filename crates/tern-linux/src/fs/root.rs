//! The descriptors a process's file view is anchored to: `--root`, each `--bind` and
//! `--sysroot`, opened once when the process starts (as `O_PATH` descriptors above
//! the guest's, where the program cannot name them) and handed to the resolver
//! ([`super::resolve`]) for every lookup.
//!
//! After they are open, the view never uses these host paths again: a guest that
//! replaces a directory of the host path by a link changes nothing.

use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::errno::Errno;
use crate::fs::resolve::{above, Bind, Tree};
use crate::fs::view::{normalize, FileView};

/// The view's anchor descriptors.
#[derive(Debug)]
pub struct Anchors {
    /// What the resolver walks from: the `--root` directory; the host's `/` when
    /// only binds are given (then only paths under a bind are walked); `None` when
    /// paths are the host's.
    root: Option<OwnedFd>,
    /// One descriptor per `--bind`.
    binds: Vec<Bind>,
    /// The `--sysroot` directory.
    sysroot: Option<OwnedFd>,
    /// Whether `root` is a `--root` (everything confined).
    confined: bool,
    /// Under `--root`: the prefix of the VM's abstract Unix-socket names.
    abstract_prefix: Option<Vec<u8>>,
    /// The guest's descriptor limit: what the resolver opens goes above it.
    min_fd: i32,
}

/// Opens `path` as an `O_PATH` directory descriptor at or above `min_fd`.
fn open_dir(what: &str, path: &Path, min_fd: i32) -> Result<OwnedFd, String> {
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| format!("{what} {}: bad path", path.display()))?;
    // SAFETY: a valid C string.
    let fd = unsafe {
        libc::open(
            c.as_ptr(),
            libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(format!(
            "{what} {}: {}",
            path.display(),
            std::io::Error::last_os_error()
        ));
    }
    above(fd, min_fd).map_err(|e| {
        format!(
            "{what} {}: no descriptor above the program's: {}",
            path.display(),
            std::io::Error::from_raw_os_error(e.0)
        )
    })
}

impl Anchors {
    /// Opens the anchors of `view`, above descriptor `min_fd`.
    pub fn open(view: &FileView, min_fd: i32) -> Result<Anchors, String> {
        let mut binds = Vec::new();
        for (guest, host) in &view.binds {
            binds.push(Bind {
                guest: normalize(guest).into_bytes(),
                fd: open_dir("--bind", host, min_fd)?,
            });
        }
        let root = match &view.root {
            Some(r) => Some(open_dir("--root", r, min_fd)?),
            None if !binds.is_empty() => Some(open_dir("/", Path::new("/"), min_fd)?),
            None => None,
        };
        let sysroot = match &view.sysroot {
            Some(s) => Some(open_dir("--sysroot", s, min_fd)?),
            None => None,
        };
        let confined = view.root.is_some();
        let abstract_prefix = match (&root, confined) {
            (Some(r), true) => Some(namespace(r.as_raw_fd())),
            _ => None,
        };
        Ok(Anchors {
            root,
            binds,
            sysroot,
            confined,
            abstract_prefix,
            min_fd,
        })
    }

    /// Whether every path is confined to `--root`.
    pub fn confined(&self) -> bool {
        self.confined
    }

    /// Under `--root`: the prefix that scopes the VM's abstract socket names.
    pub fn abstract_prefix(&self) -> Option<&[u8]> {
        self.abstract_prefix.as_deref()
    }

    /// Whether there are binds.
    pub fn has_binds(&self) -> bool {
        !self.binds.is_empty()
    }

    /// The tree the resolver walks (the root and the binds), if paths are not
    /// simply the host's.
    pub fn tree(&self) -> Option<Tree<'_>> {
        self.root.as_ref().map(|r| Tree {
            root: r.as_fd(),
            binds: &self.binds,
            min_fd: self.min_fd,
        })
    }

    /// The sysroot as a tree of its own (its links stay inside it).
    pub fn sysroot(&self) -> Option<Tree<'_>> {
        self.sysroot.as_ref().map(|s| Tree {
            root: s.as_fd(),
            binds: &[],
            min_fd: self.min_fd,
        })
    }

    /// Where the resolver's descriptors go.
    pub fn min_fd(&self) -> i32 {
        self.min_fd
    }

    /// The root descriptor (for `fchdir` into the root at start).
    pub fn root_fd(&self) -> Option<i32> {
        self.root.as_ref().map(AsRawFd::as_raw_fd)
    }
}

/// The abstract-name prefix of the VM whose root is `root_fd`: `tern:DEV:INO:`.
pub fn namespace(root_fd: i32) -> Vec<u8> {
    // SAFETY: a local struct.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fstat into the local.
    unsafe { libc::fstat(root_fd, &mut st) };
    format!("tern:{:x}:{:x}:", st.st_dev, st.st_ino).into_bytes()
}

/// Moves the host process's working directory to descriptor `fd`.
pub fn chdir_fd(fd: i32) -> Result<(), Errno> {
    // SAFETY: fchdir on a descriptor we hold.
    if unsafe { libc::fchdir(fd) } != 0 {
        return Err(Errno::last());
    }
    Ok(())
}
