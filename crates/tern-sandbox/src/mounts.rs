//! The file-system view of a process VM confined to `--root`: in its own mount
//! namespace, the VMM process pivots into a new, empty root (a tmpfs) that holds only
//! what it needs, each at its own host path: the guest root, the `--bind` sources,
//! the sysroot, the control socket's directory (read-write), and read-only the tern
//! executable, the host's shared libraries (the guest's `execve` starts tern again,
//! from the same path), `/proc` and `/dev/null`. Everything else on the host is gone
//! from the process's view, whatever its path resolver does.
//!
//! The paths stay the same so that the options a re-executed tern is given (by the
//! guest's `execve`, with the same `--root`, `--bind` and `--sysroot`) still name the
//! same directories. Symbolic links on the way to a kept path (`/lib64` →
//! `usr/lib64` on merged-/usr systems) are made again in the new root.

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path, PathBuf};

/// What to keep in the view.
#[derive(Clone, Debug, Default)]
pub struct View {
    /// Kept read-write (directories or files).
    pub writable: Vec<PathBuf>,
    /// Kept read-only; those that do not exist on this host are skipped.
    pub read_only: Vec<PathBuf>,
    /// An existing directory the new root is built on (the guest root: a tmpfs
    /// mounted there in this namespace only hides it until it is bound again).
    pub build_at: PathBuf,
}

/// One step of building the new root.
enum Step {
    /// A directory on the way to a kept path.
    Dir(PathBuf),
    /// A symbolic link on the way to a kept path.
    Link(PathBuf, PathBuf),
    /// A kept path: its descriptor (opened before anything is mounted), whether it
    /// is a directory, whether read-only.
    Keep {
        at: PathBuf,
        fd: OwnedFd,
        dir: bool,
        read_only: bool,
    },
}

/// `path` without `.` and `..` (lexically: the prefix it applies to has no
/// symbolic links left).
fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for c in path.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::ParentDir => {
                out.pop();
            }
            _ => {}
        }
    }
    out
}

/// Plans keeping `path`, following symbolic links on its way (at most 40).
fn plan(path: &Path, read_only: bool, steps: &mut Vec<Step>, depth: u32) -> std::io::Result<()> {
    if depth > 40 {
        return Err(std::io::Error::from_raw_os_error(libc::ELOOP));
    }
    let path = lexical(path);
    let comps: Vec<_> = path
        .components()
        .filter(|c| matches!(c, Component::Normal(_)))
        .collect();
    let mut cur = PathBuf::from("/");
    for (i, c) in comps.iter().enumerate() {
        let next = cur.join(c);
        let md = std::fs::symlink_metadata(&next)?;
        if md.file_type().is_symlink() {
            let target = std::fs::read_link(&next)?;
            let resolved = cur.join(&target);
            steps.push(Step::Link(next, target));
            let rest: PathBuf = comps[i + 1..].iter().collect();
            return plan(&resolved.join(rest), read_only, steps, depth + 1);
        }
        if i + 1 == comps.len() {
            let f = std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_PATH)
                .open(&next)?;
            steps.push(Step::Keep {
                at: next,
                fd: f.into(),
                dir: md.is_dir(),
                read_only,
            });
            return Ok(());
        }
        steps.push(Step::Dir(next.clone()));
        cur = next;
    }
    // `/` itself cannot be kept.
    Err(std::io::Error::from_raw_os_error(libc::EINVAL))
}

fn cstr(p: &Path) -> std::io::Result<CString> {
    CString::new(p.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))
}

fn check(r: libc::c_int, what: &str, p: &Path) -> Result<(), String> {
    if r == 0 {
        Ok(())
    } else {
        Err(format!(
            "{what} {}: {}",
            p.display(),
            std::io::Error::last_os_error()
        ))
    }
}

fn mount(
    src: Option<&Path>,
    at: &Path,
    fstype: Option<&str>,
    flags: libc::c_ulong,
    what: &str,
) -> Result<(), String> {
    let src = src.map(cstr).transpose().map_err(|e| e.to_string())?;
    let at_c = cstr(at).map_err(|e| e.to_string())?;
    let fstype = fstype.map(|t| CString::new(t).unwrap_or_default());
    // SAFETY: NUL-terminated strings that live across the call, no data argument.
    let r = unsafe {
        libc::mount(
            src.as_ref().map_or(std::ptr::null(), |s| s.as_ptr()),
            at_c.as_ptr(),
            fstype.as_ref().map_or(std::ptr::null(), |s| s.as_ptr()),
            flags,
            std::ptr::null(),
        )
    };
    check(r, what, at)
}

/// The flags of the mount holding `p` that a bind remount must keep (a user
/// namespace may not clear them).
fn locked_flags(p: &Path) -> libc::c_ulong {
    let Ok(c) = cstr(p) else { return 0 };
    // SAFETY: statvfs into a local struct.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid C string and `st` a local struct the call fills.
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return 0;
    }
    let f = st.f_flag;
    let mut out = 0;
    for (st_flag, ms) in [
        (libc::ST_NOSUID, libc::MS_NOSUID),
        (libc::ST_NODEV, libc::MS_NODEV),
        (libc::ST_NOEXEC, libc::MS_NOEXEC),
        (libc::ST_NOATIME, libc::MS_NOATIME),
        (libc::ST_NODIRATIME, libc::MS_NODIRATIME),
        (libc::ST_RELATIME, libc::MS_RELATIME),
    ] {
        if f & st_flag != 0 {
            out |= ms;
        }
    }
    out
}

/// `base` + absolute `p`.
fn under(base: &Path, p: &Path) -> PathBuf {
    base.join(p.strip_prefix("/").unwrap_or(p))
}

/// Builds the view and pivots into it; must run in a new mount namespace. On an
/// error before the pivot, the mounts made are undone and the process keeps the
/// host's view.
pub fn enter(v: &View) -> Result<(), String> {
    let cwd = std::env::current_dir().ok();
    let mut steps = Vec::new();
    for p in &v.writable {
        plan(p, false, &mut steps, 0).map_err(|e| format!("{}: {e}", p.display()))?;
    }
    for p in &v.read_only {
        // Kept read-only paths that this host does not have are skipped.
        let _ = plan(p, true, &mut steps, 0);
    }
    let root = Path::new("/");
    mount(
        None,
        root,
        None,
        libc::MS_REC | libc::MS_PRIVATE,
        "private mounts at",
    )?;
    let s = v.build_at.clone();
    mount(
        Some(Path::new("tmpfs")),
        &s,
        Some("tmpfs"),
        libc::MS_NOSUID | libc::MS_NODEV,
        "tmpfs at",
    )?;
    // The kept paths are bound recursively (with what is mounted below them), and
    // the guest root itself is one of them: unbindable, the tmpfs is left out of
    // those copies instead of covering the root again.
    let r = mount(None, &s, None, libc::MS_UNBINDABLE, "unbindable");
    if let Err(e) = r {
        if let Ok(c) = cstr(&s) {
            // SAFETY: detaching the tmpfs mounted above.
            unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
        }
        return Err(e);
    }
    let r = build(&s, &steps).and_then(|()| pivot(&s));
    if let Err(e) = r {
        if let Ok(c) = cstr(&s) {
            // SAFETY: detaching the tmpfs mounted above.
            unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
        }
        return Err(e);
    }
    let back = cwd
        .as_deref()
        .and_then(|c| cstr(c).ok())
        // SAFETY: chdir to a NUL-terminated path.
        .is_some_and(|c| unsafe { libc::chdir(c.as_ptr()) } == 0);
    if !back {
        // SAFETY: chdir to a constant path.
        unsafe { libc::chdir(c"/".as_ptr()) };
    }
    Ok(())
}

/// Makes the steps' directories, links and mounts under `s`.
fn build(s: &Path, steps: &[Step]) -> Result<(), String> {
    for st in steps {
        match st {
            Step::Dir(p) => std::fs::create_dir_all(under(s, p))
                .map_err(|e| format!("mkdir {}: {e}", p.display()))?,
            Step::Link(p, target) => {
                let at = under(s, p);
                if std::fs::symlink_metadata(&at).is_err() {
                    std::os::unix::fs::symlink(target, &at)
                        .map_err(|e| format!("symlink {}: {e}", p.display()))?;
                }
            }
            Step::Keep { at, dir, .. } => {
                let m = under(s, at);
                if std::fs::symlink_metadata(&m).is_err() {
                    if *dir {
                        std::fs::create_dir_all(&m)
                    } else {
                        std::fs::File::create(&m).map(drop)
                    }
                    .map_err(|e| format!("mount point {}: {e}", at.display()))?;
                }
            }
        }
    }
    let mut keeps: Vec<&Step> = steps
        .iter()
        .filter(|s| matches!(s, Step::Keep { .. }))
        .collect();
    keeps.sort_by_key(|s| match s {
        Step::Keep { at, .. } => at.components().count(),
        _ => 0,
    });
    // A path kept twice (`/lib` → `usr/lib` and `/usr/lib`) is bound once.
    keeps.dedup_by(|a, b| match (a, b) {
        (Step::Keep { at: x, .. }, Step::Keep { at: y, .. }) => x == y,
        _ => false,
    });
    for st in keeps {
        let Step::Keep {
            at, fd, read_only, ..
        } = st
        else {
            continue;
        };
        let m = under(s, at);
        let src = PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()));
        mount(Some(&src), &m, None, libc::MS_BIND | libc::MS_REC, "bind")?;
        if *read_only {
            let flags = libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY | locked_flags(&m);
            mount(None, &m, None, flags, "read-only")?;
        }
    }
    Ok(())
}

/// Makes `s` the root: `pivot_root(".", ".")` stacks the old root on the new one,
/// and detaching it leaves the new one alone.
fn pivot(s: &Path) -> Result<(), String> {
    let c = cstr(s).map_err(|e| e.to_string())?;
    // SAFETY: chdir, pivot_root and umount2 with NUL-terminated paths.
    unsafe {
        check(libc::chdir(c.as_ptr()), "chdir", s)?;
        let dot = c".".as_ptr();
        check(
            libc::syscall(libc::SYS_pivot_root, dot, dot) as libc::c_int,
            "pivot_root",
            s,
        )?;
        check(
            libc::umount2(dot, libc::MNT_DETACH),
            "detach old root at",
            s,
        )?;
        check(libc::chdir(c"/".as_ptr()), "chdir", Path::new("/"))?;
    }
    // The new root's own directories are not for writing (the kept paths are
    // mounts of their own and keep their modes).
    let _ = mount(
        None,
        Path::new("/"),
        None,
        libc::MS_REMOUNT | libc::MS_BIND | libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV,
        "read-only",
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexical_drops_dots_and_never_goes_above_the_root() {
        assert_eq!(lexical(Path::new("/a/./b/../c")), PathBuf::from("/a/c"));
        assert_eq!(lexical(Path::new("/../../x")), PathBuf::from("/x"));
    }

    #[test]
    fn a_kept_path_behind_symbolic_links_is_planned_with_the_links() {
        let dir = std::env::temp_dir().join(format!("tern-sandbox-plan-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("real/lib")).unwrap();
        std::fs::write(dir.join("real/lib/ld.so"), b"x").unwrap();
        // lib64 -> real (relative), abs -> DIR/lib64 (absolute): a chain of two.
        std::os::unix::fs::symlink("real", dir.join("lib64")).unwrap();
        std::os::unix::fs::symlink(dir.join("lib64"), dir.join("abs")).unwrap();
        let mut steps = Vec::new();
        plan(&dir.join("abs/lib/ld.so"), true, &mut steps, 0).unwrap();
        let links: Vec<PathBuf> = steps
            .iter()
            .filter_map(|s| match s {
                Step::Link(p, _) => Some(p.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(links, [dir.join("abs"), dir.join("lib64")]);
        let kept: Vec<(PathBuf, bool, bool)> = steps
            .iter()
            .filter_map(|s| match s {
                Step::Keep {
                    at, dir, read_only, ..
                } => Some((at.clone(), *dir, *read_only)),
                _ => None,
            })
            .collect();
        assert_eq!(kept, [(dir.join("real/lib/ld.so"), false, true)]);
        // A loop of links is refused, not followed forever.
        std::os::unix::fs::symlink("loop", dir.join("loop")).unwrap();
        assert!(plan(&dir.join("loop/x"), true, &mut Vec::new(), 0).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
