//! The program's view of the file system: `--root`, `--bind` and `--sysroot`, as
//! configured (host paths, guest prefixes).
//!
//! The host paths here are used once, when the process opens its anchor
//! descriptors ([`super::root::Anchors`]); every guest path is then walked by the
//! resolver ([`super::resolve`]) from those descriptors. What remains here is
//! lexical: normalizing a guest path, telling whether one lies under a bind, and
//! naming a host directory the process already stands in (its working directory
//! at start) in guest terms.

use std::path::{Path, PathBuf};

/// The mapping from guest paths to host directories.
#[derive(Clone, Debug, Default)]
pub struct FileView {
    /// The host directory that is the guest's `/` (canonical), if confined.
    pub root: Option<PathBuf>,
    /// `(guest prefix, host directory)` pairs (canonical host directories).
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

/// Whether normalized guest path `guest` is `prefix` or below it.
fn under(guest: &str, prefix: &str) -> bool {
    guest == prefix
        || (guest.starts_with(prefix)
            && (prefix == "/" || guest.as_bytes().get(prefix.len()) == Some(&b'/')))
}

impl FileView {
    /// Whether paths are confined to a root.
    pub fn confined(&self) -> bool {
        self.root.is_some()
    }

    /// Whether the normalized guest path lies under a `--bind`.
    pub fn bound(&self, guest: &str) -> bool {
        self.binds.iter().any(|(g, _)| under(guest, g))
    }

    /// The guest path of host path `host` (physical, as `getcwd` or
    /// `/proc/self/fd` give it), if the guest can see it: below the bind or root
    /// whose host directory is its longest prefix. Without `--root`, host paths are
    /// guest paths.
    pub fn guest_of(&self, host: &Path) -> Option<String> {
        let mut best: Option<(usize, String)> = None;
        let mut consider = |h: &Path, g: &str| {
            if let Ok(rest) = host.strip_prefix(h) {
                let len = h.as_os_str().len();
                if best.as_ref().is_none_or(|(l, _)| len > *l) {
                    best = Some((len, normalize(&format!("{g}/{}", rest.to_str()?))));
                }
            }
            Some(())
        };
        for (g, h) in &self.binds {
            consider(h, g);
        }
        match &self.root {
            Some(r) => {
                consider(r, "/");
            }
            None => return host.to_str().map(normalize),
        }
        best.map(|(_, g)| g)
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
    fn guest_of_prefers_the_longest_host_prefix() {
        let view = FileView {
            root: Some(PathBuf::from("/srv/r")),
            binds: vec![("/b".into(), PathBuf::from("/srv/r/x"))],
            sysroot: None,
        };
        assert_eq!(
            view.guest_of(Path::new("/srv/r/y/z")).as_deref(),
            Some("/y/z")
        );
        assert_eq!(
            view.guest_of(Path::new("/srv/r/x/z")).as_deref(),
            Some("/b/z")
        );
        assert_eq!(view.guest_of(Path::new("/srv/rr")), None);
        assert_eq!(view.guest_of(Path::new("/srv/r")).as_deref(), Some("/"));
    }
}
