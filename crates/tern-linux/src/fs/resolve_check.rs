//! Checking the resolver against hostile trees: builds a small tree of directories,
//! files and symbolic links (links with `..`, absolute targets, loops, links to the
//! host directory that holds the tree) in a temporary directory, with an optional
//! `--bind`, and walks paths in it, checking that whatever a walk reaches is inside
//! the root or the bind. Used by the resolver's property tests and by the
//! `path_resolve` fuzz target (`fuzz/fuzz_targets/path_resolve.rs`), which decodes
//! a [`Scenario`] from arbitrary bytes with [`Scenario::from_bytes`].
//!
//! Layout of the temporary directory: `root/` (the guest's `/`), `bind/` (bound at
//! guest `/b` when the scenario has a bind) and `secret/` with `secret/file`, which
//! no walk may reach.

use std::collections::HashSet;
use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::errno::Errno;
use crate::fs::resolve::{walk, Bind, Last, Lookup, Start, Tree};

/// What one entry of a scenario is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    /// A directory.
    Dir,
    /// A regular file.
    File,
    /// A symbolic link with this text.
    Link(Vec<u8>),
}

/// One entry: where (`root/...` or `bind/...`, relative to the temporary
/// directory) and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Path relative to the temporary directory, starting with `root/` or `bind/`.
    pub path: String,
    /// What to create there.
    pub node: Node,
}

/// A tree to build and the walks to try in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scenario {
    /// Entries, created in order (one whose parent is missing is skipped).
    pub entries: Vec<Entry>,
    /// Whether `bind/` is bound at guest `/b`.
    pub bind: bool,
    /// The guest directory relative walks start from (`/` when missing).
    pub start: Vec<u8>,
    /// The paths to walk.
    pub paths: Vec<Vec<u8>>,
}

/// Name pieces scenarios are made of (`@` stands for the host path of `secret/`).
const PIECES: [&str; 16] = [
    "a", "b", "c", "d", "a", "b", "..", ".", "/", "secret", "file", "@", "a/", "../..", "", "b",
];

impl Scenario {
    /// Decodes a scenario from arbitrary bytes (every input gives one).
    pub fn from_bytes(data: &[u8]) -> Scenario {
        let mut it = data.iter().copied();
        let mut next = || it.next().unwrap_or(0);
        let piece_path = |n: u8, next: &mut dyn FnMut() -> u8| {
            let mut s = String::new();
            for _ in 0..(n % 6) {
                s.push_str(PIECES[usize::from(next()) % PIECES.len()]);
                // Mostly separate pieces (a path of names), sometimes glue them.
                if !next().is_multiple_of(8) {
                    s.push('/');
                }
            }
            s
        };
        let flags = next();
        let bind = flags & 1 != 0;
        let count = usize::from(next() % 12);
        let mut entries = Vec::new();
        for _ in 0..count {
            let kind = next();
            let top = if bind && kind & 0x80 != 0 {
                "bind"
            } else {
                "root"
            };
            let depth = 1 + usize::from(next() % 3);
            let mut path = top.to_string();
            for _ in 0..depth {
                path.push('/');
                path.push_str(["a", "b", "c", "d"][usize::from(next() % 4)]);
            }
            let node = match kind % 3 {
                0 => Node::Dir,
                1 => Node::File,
                _ => {
                    let n = next();
                    Node::Link(piece_path(n, &mut next).into_bytes())
                }
            };
            entries.push(Entry { path, node });
        }
        let n = next();
        let start = format!("/{}", piece_path(n, &mut next)).into_bytes();
        let mut paths = Vec::new();
        for _ in 0..3 {
            let n = next();
            let p = piece_path(n, &mut next);
            if !p.is_empty() {
                paths.push(p.into_bytes());
            }
        }
        Scenario {
            entries,
            bind,
            start,
            paths,
        }
    }
}

/// A built scenario: the temporary directory, its anchors and what is inside.
#[derive(Debug)]
pub struct Built {
    dir: PathBuf,
    root: OwnedFd,
    binds: Vec<Bind>,
    inside: HashSet<(u64, u64)>,
    secret: PathBuf,
    min_fd: i32,
}

impl Drop for Built {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn dev_ino(fd: RawFd) -> Option<(u64, u64)> {
    // SAFETY: a local struct.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fstat into the local.
    (unsafe { libc::fstat(fd, &mut st) } == 0).then_some((st.st_dev, st.st_ino))
}

fn open_path(p: &Path) -> std::io::Result<OwnedFd> {
    let c = CString::new(p.as_os_str().as_bytes())?;
    // SAFETY: a valid C string.
    let fd = unsafe { libc::open(c.as_ptr(), libc::O_PATH | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: the descriptor is ours.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Everything below `p` (not following links), `p` included.
fn collect(p: &Path, out: &mut HashSet<(u64, u64)>) {
    use std::os::unix::fs::MetadataExt;
    if let Ok(m) = std::fs::symlink_metadata(p) {
        out.insert((m.dev(), m.ino()));
        if m.is_dir() {
            for e in std::fs::read_dir(p).into_iter().flatten().flatten() {
                collect(&e.path(), out);
            }
        }
    }
}

static UNIQUE: AtomicU64 = AtomicU64::new(0);

/// Builds `s` in a new temporary directory.
pub fn build(s: &Scenario) -> std::io::Result<Built> {
    let dir = std::env::temp_dir().join(format!(
        "tern-resolve-{}-{}",
        std::process::id(),
        UNIQUE.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    for d in ["root", "bind", "secret"] {
        std::fs::create_dir_all(dir.join(d))?;
    }
    let secret = dir.join("secret");
    std::fs::write(secret.join("file"), b"secret")?;
    let host_secret = secret.as_os_str().as_bytes();
    for e in &s.entries {
        let p = dir.join(&e.path);
        let _ = match &e.node {
            Node::Dir => std::fs::create_dir(&p),
            Node::File => std::fs::write(&p, b"inside"),
            Node::Link(t) => {
                let mut target = Vec::new();
                for (i, part) in t.split(|&b| b == b'@').enumerate() {
                    if i > 0 {
                        target.extend_from_slice(host_secret);
                    }
                    target.extend_from_slice(part);
                }
                if target.is_empty() {
                    target.push(b'.');
                }
                std::os::unix::fs::symlink(std::ffi::OsStr::from_bytes(&target), &p)
            }
        };
    }
    let mut inside = HashSet::new();
    collect(&dir.join("root"), &mut inside);
    let mut binds = Vec::new();
    if s.bind {
        collect(&dir.join("bind"), &mut inside);
        binds.push(Bind {
            guest: b"/b".to_vec(),
            fd: open_path(&dir.join("bind"))?,
        });
    }
    let root = open_path(&dir.join("root"))?;
    Ok(Built {
        dir,
        root,
        binds,
        inside,
        secret,
        min_fd: 64,
    })
}

impl Built {
    /// The tree to walk: the root and the bind.
    pub fn tree(&self) -> Tree<'_> {
        Tree {
            root: self.root.as_fd(),
            binds: &self.binds,
            min_fd: self.min_fd,
        }
    }

    /// The host path of the directory no walk may reach.
    pub fn secret(&self) -> &Path {
        &self.secret
    }

    fn is_inside(&self, fd: RawFd) -> bool {
        dev_ino(fd).is_some_and(|k| self.inside.contains(&k))
    }

    /// Walks `path` with `lookup` (relative paths from the scenario's start) and
    /// checks the result: every descriptor it holds is inside the root or the bind,
    /// the entry's name (if it exists) too, the guest path is normalized, and an
    /// error is one Linux gives for a lookup. `Err` describes a violation.
    pub fn check(&self, start: &[u8], path: &[u8], lookup: Lookup) -> Result<(), String> {
        let tree = self.tree();
        let from = match walk(tree, None, start, Lookup::Follow) {
            Ok(w) => w.object.and_then(|o| {
                // SAFETY: duplicating our descriptor.
                let fd = unsafe { libc::fcntl(o.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 64) };
                (fd >= 0).then(|| Start {
                    // SAFETY: the duplicate is ours and owned by nothing else.
                    fd: unsafe { OwnedFd::from_raw_fd(fd) },
                    guest: w.guest.clone(),
                    is_dir: false,
                })
            }),
            Err(_) => None,
        };
        let from = from.or_else(|| {
            // SAFETY: duplicating the root descriptor.
            let fd = unsafe { libc::fcntl(self.root.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 64) };
            Some(Start {
                // SAFETY: the duplicate is ours and owned by nothing else.
                fd: unsafe { OwnedFd::from_raw_fd(fd) },
                guest: b"/".to_vec(),
                is_dir: true,
            })
        });
        let what = format!(
            "{:?} from {:?}",
            String::from_utf8_lossy(path),
            String::from_utf8_lossy(start)
        );
        match walk(tree, from, path, lookup) {
            Ok(w) => {
                if let Some(o) = &w.object {
                    if !self.is_inside(o.as_raw_fd()) {
                        return Err(format!("{what}: the object is outside"));
                    }
                }
                if let Some((d, n)) = &w.entry {
                    if !self.is_inside(d.as_raw_fd()) {
                        return Err(format!("{what}: the directory is outside"));
                    }
                    // SAFETY: a local struct and a valid C string.
                    let mut st: libc::stat = unsafe { std::mem::zeroed() };
                    // SAFETY: `st` is local, `n` a valid C string, `d` our descriptor.
                    let r = unsafe {
                        libc::fstatat(
                            d.as_raw_fd(),
                            n.as_ptr(),
                            &mut st,
                            libc::AT_SYMLINK_NOFOLLOW,
                        )
                    };
                    if r == 0 && !self.inside.contains(&(st.st_dev, st.st_ino)) {
                        return Err(format!("{what}: the name is outside"));
                    }
                }
                if w.object.is_none() && w.entry.is_none() {
                    return Err(format!("{what}: neither object nor entry"));
                }
                if w.last != Last::Name && w.object.is_none() {
                    return Err(format!("{what}: a directory without its descriptor"));
                }
                let g = &w.guest;
                let normal = g == b"/"
                    || g.first() == Some(&b'/')
                        && !g.ends_with(b"/")
                        && !g
                            .split(|&b| b == b'/')
                            .skip(1)
                            .any(|c| c.is_empty() || c == b"." || c == b"..");
                if !normal {
                    return Err(format!(
                        "{what}: guest path {:?} is not normalized",
                        String::from_utf8_lossy(g)
                    ));
                }
                Ok(())
            }
            Err(e)
                if [
                    Errno::ENOENT,
                    Errno::ENOTDIR,
                    Errno::ELOOP,
                    Errno::ENAMETOOLONG,
                ]
                .contains(&e) =>
            {
                Ok(())
            }
            Err(e) => Err(format!("{what}: unexpected error {e:?}")),
        }
    }

    /// Without a bind, the walk must reach what the host kernel reaches with
    /// `openat2(root, path, RESOLVE_IN_ROOT)` (the same file, or the same error).
    /// Absolute paths only (relative ones start from a directory the kernel would
    /// treat as the root). `Err` describes a difference.
    pub fn compare_with_kernel(&self, path: &[u8], lookup: Lookup) -> Result<(), String> {
        if !self.binds.is_empty() || path.first() != Some(&b'/') || lookup == Lookup::Parent {
            return Ok(());
        }
        // SAFETY: open_how is plain data.
        let mut how: libc::open_how = unsafe { std::mem::zeroed() };
        how.flags = (libc::O_PATH | libc::O_CLOEXEC) as u64;
        if lookup == Lookup::NoFollow {
            how.flags |= libc::O_NOFOLLOW as u64;
        }
        how.resolve = libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS;
        let c = CString::new(path).map_err(|e| e.to_string())?;
        // SAFETY: a valid C string and a local open_how of the size passed.
        let r = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                self.root.as_raw_fd(),
                c.as_ptr(),
                &how as *const libc::open_how,
                std::mem::size_of::<libc::open_how>(),
            )
        };
        let kernel: Result<(u64, u64), Errno> = if r < 0 {
            Err(Errno::last())
        } else {
            // SAFETY: the descriptor is ours.
            let fd = unsafe { OwnedFd::from_raw_fd(r as i32) };
            dev_ino(fd.as_raw_fd()).ok_or(Errno::EIO)
        };
        let ours: Result<(u64, u64), Errno> =
            walk(self.tree(), None, path, lookup).and_then(|w| match (&w.object, &w.entry) {
                (Some(o), _) => dev_ino(o.as_raw_fd()).ok_or(Errno::EIO),
                (None, Some((d, n))) => {
                    // SAFETY: a local struct.
                    let mut st: libc::stat = unsafe { std::mem::zeroed() };
                    // SAFETY: a valid C string and the local.
                    let r = unsafe {
                        libc::fstatat(
                            d.as_raw_fd(),
                            n.as_ptr(),
                            &mut st,
                            libc::AT_SYMLINK_NOFOLLOW,
                        )
                    };
                    if r == 0 {
                        Ok((st.st_dev, st.st_ino))
                    } else {
                        Err(Errno::ENOENT)
                    }
                }
                (None, None) => Err(Errno::EINVAL),
            });
        if ours == kernel {
            Ok(())
        } else {
            Err(format!(
                "{:?} ({lookup:?}): resolver {ours:?}, kernel {kernel:?}",
                String::from_utf8_lossy(path)
            ))
        }
    }
}
