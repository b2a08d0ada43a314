//! The program's view of the file system: `--root`, `--bind` and `--sysroot`.
//!
//! Without `--root`, guest paths are host paths, except that absolute paths found
//! under `--sysroot` are taken from there first (as `qemu-riscv64 -L` does, so the
//! dynamic loader and the libraries come from the riscv64 sysroot) and `--bind`
//! prefixes are redirected.
//!
//! With `--root DIR`, every path is resolved here, component by component, in *guest*
//! terms: `..` stops at the root, every symbolic link is read and its target is
//! interpreted inside the guest's view (an absolute target restarts at the guest root),
//! and only the final, fully resolved guest path is turned into a host path (under a
//! bind or under DIR). A link such as `/proc/self/root -> /` therefore leads to the
//! guest root, never to the host's. The host call is then made on that host path with
//! the last component not followed again where the guest asked not to follow it.

use std::ffi::{CString, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::errno::Errno;

/// Linux's limit on symbolic links followed in one lookup (`MAXSYMLINKS`).
const MAX_LINKS: usize = 40;

/// A resolved path for a host `*at` call.
#[derive(Debug)]
pub struct HostPath {
    /// Directory fd for the host call (`AT_FDCWD` or the guest's dirfd).
    pub dirfd: i32,
    /// The path for the host call.
    pub path: CString,
    /// A descriptor `dirfd` or `path` refers to, kept open for the call.
    pub hold: Option<std::os::fd::OwnedFd>,
}

/// The mapping from guest paths to host paths.
#[derive(Clone, Debug, Default)]
pub struct FileView {
    /// The host directory that is the guest's `/` (canonical), if confined.
    pub root: Option<PathBuf>,
    /// `(guest prefix, host directory)` pairs, longest prefix wins.
    pub binds: Vec<(String, PathBuf)>,
    /// Where absolute paths are looked up first (the riscv64 sysroot).
    pub sysroot: Option<PathBuf>,
}

/// Normalizes an absolute guest path lexically (`.`, `..` clamped at `/`, repeated
/// slashes).
pub fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    let mut s = String::from("/");
    s.push_str(&parts.join("/"));
    s
}

fn cstring(p: &[u8]) -> Result<CString, Errno> {
    CString::new(p).map_err(|_| Errno::EINVAL)
}

fn lstat_is_link(p: &Path) -> Option<bool> {
    std::fs::symlink_metadata(p)
        .ok()
        .map(|m| m.file_type().is_symlink())
}

impl FileView {
    /// Whether paths are confined to a root.
    pub fn confined(&self) -> bool {
        self.root.is_some()
    }

    /// Whether the normalized guest path lies under a `--bind`.
    pub fn bound(&self, guest: &str) -> bool {
        self.binds.iter().any(|(g, _)| {
            guest == g
                || (guest.starts_with(g.as_str())
                    && (g == "/" || guest.as_bytes().get(g.len()) == Some(&b'/')))
        })
    }

    /// The host path of a normalized absolute guest path (no link resolution).
    pub fn host_of(&self, guest: &str) -> PathBuf {
        let mut best: Option<(&String, &PathBuf)> = None;
        for (g, h) in &self.binds {
            let under = guest == g
                || (guest.starts_with(g.as_str())
                    && (g == "/" || guest.as_bytes().get(g.len()) == Some(&b'/')));
            if under && best.is_none_or(|(bg, _)| g.len() > bg.len()) {
                best = Some((g, h));
            }
        }
        if let Some((g, h)) = best {
            let rest = guest[g.len()..].trim_start_matches('/');
            return if rest.is_empty() {
                h.clone()
            } else {
                h.join(rest)
            };
        }
        match &self.root {
            Some(r) => {
                let rest = guest.trim_start_matches('/');
                if rest.is_empty() {
                    r.clone()
                } else {
                    r.join(rest)
                }
            }
            None => PathBuf::from(guest),
        }
    }

    /// The guest path of a host path, if the guest can see it.
    pub fn guest_of(&self, host: &Path) -> Option<String> {
        for (g, h) in &self.binds {
            if let Ok(rest) = host.strip_prefix(h) {
                return Some(normalize(&format!("{g}/{}", rest.display())));
            }
        }
        match &self.root {
            Some(r) => host
                .strip_prefix(r)
                .ok()
                .map(|rest| normalize(&format!("/{}", rest.display()))),
            None => Some(host.display().to_string()),
        }
    }

    /// Resolves `path` relative to `dirfd` (whose guest path is `dir`, or the cwd
    /// `cwd` for `AT_FDCWD`) into a host path. `follow` says whether a final symbolic
    /// link is followed.
    pub fn resolve(
        &self,
        cwd: &str,
        dirfd: i32,
        dir: Option<&str>,
        path: &[u8],
        follow: bool,
    ) -> Result<HostPath, Errno> {
        if path.len() >= 4096 {
            return Err(Errno::ENAMETOOLONG);
        }
        if !self.confined() {
            return self.resolve_open(dirfd, path);
        }
        let base = if path.first() == Some(&b'/') {
            String::from("/")
        } else if dirfd == libc::AT_FDCWD {
            cwd.to_string()
        } else {
            match dir {
                Some(d) => d.to_string(),
                None => return Err(Errno::EBADF),
            }
        };
        let text = std::str::from_utf8(path).map_err(|_| Errno::EINVAL)?;
        let guest = self.resolve_guest(&base, text, follow)?;
        let host = self.host_of(&guest);
        let mut bytes = host.as_os_str().as_bytes().to_vec();
        if path.ends_with(b"/") && !bytes.ends_with(b"/") {
            bytes.push(b'/');
        }
        Ok(HostPath {
            dirfd: libc::AT_FDCWD,
            path: cstring(&bytes)?,
            hold: None,
        })
    }

    /// Unconfined lookup: sysroot first, then binds, else the host path unchanged.
    fn resolve_open(&self, dirfd: i32, path: &[u8]) -> Result<HostPath, Errno> {
        if path.first() == Some(&b'/') {
            if let Some(sys) = &self.sysroot {
                let rel = OsStr::from_bytes(&path[1..]);
                let cand = sys.join(rel);
                if !rel.is_empty() && std::fs::symlink_metadata(&cand).is_ok() {
                    return Ok(HostPath {
                        dirfd: libc::AT_FDCWD,
                        path: cstring(cand.as_os_str().as_bytes())?,
                        hold: None,
                    });
                }
            }
            if !self.binds.is_empty() {
                if let Ok(text) = std::str::from_utf8(path) {
                    let n = normalize(text);
                    let h = self.host_of(&n);
                    if h.as_os_str().as_bytes() != n.as_bytes() {
                        return Ok(HostPath {
                            dirfd: libc::AT_FDCWD,
                            path: cstring(h.as_os_str().as_bytes())?,
                            hold: None,
                        });
                    }
                }
            }
        }
        Ok(HostPath {
            dirfd,
            path: cstring(path)?,
            hold: None,
        })
    }

    /// Resolves `path` against the guest directory `base` to a normalized guest path
    /// with every symbolic link (but possibly the last) expanded inside the view.
    pub fn resolve_guest(&self, base: &str, path: &str, follow: bool) -> Result<String, Errno> {
        let mut todo: Vec<String> = path
            .split('/')
            .filter(|c| !c.is_empty())
            .map(String::from)
            .rev()
            .collect();
        let mut done: Vec<String> = if path.starts_with('/') {
            Vec::new()
        } else {
            normalize(base)
                .split('/')
                .filter(|c| !c.is_empty())
                .map(String::from)
                .collect()
        };
        let mut links = 0;
        while let Some(c) = todo.pop() {
            match c.as_str() {
                "." => continue,
                ".." => {
                    done.pop();
                    continue;
                }
                _ => {}
            }
            done.push(c);
            let last = todo.is_empty();
            if last && !follow {
                break;
            }
            let guest = format!("/{}", done.join("/"));
            let host = self.host_of(&guest);
            match lstat_is_link(&host) {
                Some(true) => {
                    links += 1;
                    if links > MAX_LINKS {
                        return Err(Errno::ELOOP);
                    }
                    let target = std::fs::read_link(&host)?;
                    let t = target.as_os_str().as_bytes();
                    let t = std::str::from_utf8(t).map_err(|_| Errno::EINVAL)?;
                    done.pop();
                    if t.starts_with('/') {
                        done.clear();
                    }
                    for part in t.split('/').filter(|p| !p.is_empty()).rev() {
                        todo.push(part.to_string());
                    }
                }
                Some(false) => {}
                None => {
                    // Missing: later components cannot exist either, but the host
                    // call reports the right error (ENOENT, or creates the last one).
                }
            }
        }
        Ok(format!("/{}", done.join("/")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_clamps_dotdot() {
        assert_eq!(normalize("/a/../../b/./c//"), "/b/c");
        assert_eq!(normalize("/.."), "/");
    }

    #[test]
    fn confined_links_stay_inside() {
        let dir = std::env::temp_dir().join(format!("tern-view-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("etc")).unwrap();
        std::os::unix::fs::symlink("/", dir.join("up")).unwrap();
        std::os::unix::fs::symlink("../../../..", dir.join("etc/rel")).unwrap();
        let view = FileView {
            root: Some(dir.clone()),
            ..FileView::default()
        };
        assert_eq!(view.resolve_guest("/", "/up/etc", true).unwrap(), "/etc");
        assert_eq!(
            view.resolve_guest("/", "/etc/rel/etc", true).unwrap(),
            "/etc"
        );
        assert_eq!(view.resolve_guest("/etc", "../../..", true).unwrap(), "/");
        let h = view
            .resolve("/", libc::AT_FDCWD, None, b"/../../etc", true)
            .unwrap();
        assert_eq!(h.path.to_bytes(), dir.join("etc").as_os_str().as_bytes());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
