//! The confined path resolver: every guest path under `--root`, a `--bind` or the
//! `--sysroot` is walked here, one component at a time, by the emulator itself.
//!
//! The walk holds an `O_PATH` descriptor of the directory it stands in and opens the
//! next component relative to it with `O_NOFOLLOW`: the host never follows a
//! symbolic link. (A run of plain names before the last one goes to the kernel in
//! one `openat2` with `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS`, which opens the same
//! directories or fails at the first link, and the walk then goes name by name.)
//! A link is read
//! with `readlinkat` and its text walked in guest terms (an absolute target restarts
//! at the guest's root); `..` goes back to the directory the walk came from (a stack
//! of levels), never to a host parent, and stops at the root; a component that is a
//! `--bind`'s guest path switches to that bind's descriptor, and `..` from there goes
//! back to the bind's guest parent. Every directory the walk reaches was therefore
//! opened by descending from the root or a bind: a guest thread that swaps a
//! directory for a link while the walk runs only changes which object *inside* the
//! view is reached, never lets it reach one outside.
//!
//! The walk ends in a descriptor of the object itself (when it exists and was
//! followed) and in the directory that holds the last name (for calls that create,
//! remove or inspect a name without following it). Callers make their host call on
//! those descriptors only, so no host path string is ever resolved again after the
//! walk.
//!
//! Descriptors the walk opens are moved at or above the guest's descriptor limit
//! (where the program cannot name them), and at most [`HELD`] directories above the
//! current one are kept open; a dropped one is opened again, by descending from the
//! nearest kept one, when `..` returns to it.

use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use crate::errno::Errno;
pub use crate::fs::hostcall::{above, PATH_MAX};
use crate::fs::hostcall::{file_type, open_at, open_beneath, read_link};

/// Linux's limit on symbolic links followed in one lookup (`MAXSYMLINKS`).
pub const MAX_LINKS: usize = 40;

/// Directories above the current one whose descriptors a walk keeps open.
pub const HELD: usize = 4;

/// A `--bind`: a host directory that appears at a guest path.
#[derive(Debug)]
pub struct Bind {
    /// The guest path (absolute, normalized: no `.`, `..`, `//` or trailing `/`).
    pub guest: Vec<u8>,
    /// An `O_PATH` descriptor of the host directory.
    pub fd: OwnedFd,
}

/// What a walk may reach: everything below `root` and the binds, nothing else.
#[derive(Clone, Copy, Debug)]
pub struct Tree<'t> {
    /// The guest's `/`.
    pub root: BorrowedFd<'t>,
    /// The binds (the longest matching guest path wins, as nested mounts do).
    pub binds: &'t [Bind],
    /// Descriptors the walk opens are moved to this number or above.
    pub min_fd: i32,
}

/// Where a relative path starts.
#[derive(Debug)]
pub struct Start {
    /// A descriptor of the starting directory, reached earlier through this
    /// resolver (a directory descriptor of the program, its working directory),
    /// at or above the guest's descriptors.
    pub fd: OwnedFd,
    /// Its guest path (absolute, physical): where `..` beyond it leads, and which
    /// binds lie below it.
    pub guest: Vec<u8>,
    /// The caller knows it is a directory (otherwise it is checked: `ENOTDIR`).
    pub is_dir: bool,
}

/// A descriptor a walk result holds: its own, or one of the tree's.
#[derive(Debug)]
pub enum Fd<'t> {
    /// Opened by the walk (closed with the result).
    Own(OwnedFd),
    /// The root's or a bind's.
    Tree(BorrowedFd<'t>),
}

impl AsRawFd for Fd<'_> {
    fn as_raw_fd(&self) -> RawFd {
        match self {
            Fd::Own(f) => f.as_raw_fd(),
            Fd::Tree(f) => f.as_raw_fd(),
        }
    }
}

impl AsFd for Fd<'_> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            Fd::Own(f) => f.as_fd(),
            Fd::Tree(f) => *f,
        }
    }
}

/// How the path ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Last {
    /// A name in a directory ([`Walk::entry`]).
    Name,
    /// `.`: the directory itself.
    Dot,
    /// `..`: the parent.
    DotDot,
    /// `/`.
    Root,
    /// A bind's guest path (a mount point: it cannot be removed or renamed).
    Bind,
}

/// Where a walk ended.
#[derive(Debug)]
pub struct Walk<'t> {
    /// An `O_PATH` descriptor of the object: set when the path names a directory
    /// without a last name (`/`, `.`, `..`, a bind) or when the last name exists and
    /// was followed (then it is never a symbolic link).
    pub object: Option<Fd<'t>>,
    /// The directory holding the last name, and the name (for [`Last::Name`]).
    pub entry: Option<(Fd<'t>, CString)>,
    /// How the path ended.
    pub last: Last,
    /// The guest path reached: absolute, without links, `.` or `..`.
    pub guest: Vec<u8>,
    /// The path ended with `/`: the object must be a directory (a lookup other than
    /// [`Lookup::Parent`] followed the last link and checked that).
    pub dir_only: bool,
}

/// One directory of the walk's stack.
enum Hold {
    /// The tree's root.
    Root,
    /// Bind number N.
    Bind(usize),
    /// Opened by the walk.
    Own(OwnedFd),
    /// Closed to save descriptors: opened again by name when needed.
    Dropped,
}

struct Level {
    name: Vec<u8>,
    hold: Hold,
}

/// A component still to walk: the name, and whether a `/` followed it.
type Comp = (Vec<u8>, bool);

/// Pushes the components of `path` (a path or a link's text) onto `todo` so that
/// the first is popped first. A trailing `/` marks the last component as a
/// directory; `slash` marks it so too (the link it replaces had one).
fn push_components(todo: &mut Vec<Comp>, path: &[u8], slash: bool) {
    let trailing = slash || path.ends_with(b"/");
    let parts: Vec<&[u8]> = path
        .split(|&b| b == b'/')
        .filter(|c| !c.is_empty())
        .collect();
    for (i, c) in parts.iter().enumerate().rev() {
        todo.push((c.to_vec(), trailing && i + 1 == parts.len()));
    }
}

struct Walker<'t> {
    tree: Tree<'t>,
    stack: Vec<Level>,
    links: usize,
}

impl<'t> Walker<'t> {
    fn guest(&self) -> Vec<u8> {
        let mut g = Vec::new();
        for l in &self.stack[1..] {
            g.push(b'/');
            g.extend_from_slice(&l.name);
        }
        if g.is_empty() {
            g.push(b'/');
        }
        g
    }

    /// The bind whose guest path is the current directory's followed by `name`.
    fn bind_at(&self, name: &[u8]) -> Option<usize> {
        if self.tree.binds.is_empty() {
            return None;
        }
        let mut child = if self.stack.len() > 1 {
            self.guest()
        } else {
            Vec::new()
        };
        child.push(b'/');
        child.extend_from_slice(name);
        self.tree.binds.iter().rposition(|b| b.guest == child)
    }

    fn held(&self, i: usize) -> Option<RawFd> {
        match &self.stack[i].hold {
            Hold::Root => Some(self.tree.root.as_raw_fd()),
            Hold::Bind(b) => Some(self.tree.binds[*b].fd.as_raw_fd()),
            Hold::Own(f) => Some(f.as_raw_fd()),
            Hold::Dropped => None,
        }
    }

    /// The current directory's descriptor, opened again by name (descending from
    /// the nearest directory still held, without following links) if it was dropped.
    fn top(&mut self) -> Result<RawFd, Errno> {
        let i = self.stack.len() - 1;
        if let Some(fd) = self.held(i) {
            return Ok(fd);
        }
        let mut j = i;
        while self.held(j).is_none() {
            j -= 1;
        }
        let names: Vec<&[u8]> = self.stack[j + 1..=i].iter().map(|l| &l.name[..]).collect();
        if names.len() > 1 {
            let from = self.held(j).unwrap_or(-1);
            if let Ok(fd) = open_beneath(from, &names, self.tree.min_fd) {
                let raw = fd.as_raw_fd();
                self.stack[i].hold = Hold::Own(fd);
                return Ok(raw);
            }
        }
        let mut cur: Option<OwnedFd> = None;
        for k in j + 1..=i {
            let dir = cur
                .as_ref()
                .map_or_else(|| self.held(j).unwrap_or(-1), |f| f.as_raw_fd());
            let flags = libc::O_PATH | libc::O_NOFOLLOW | libc::O_DIRECTORY;
            cur = Some(open_at(dir, &self.stack[k].name, flags, self.tree.min_fd)?);
        }
        let fd = cur.ok_or(Errno::ENOENT)?;
        let raw = fd.as_raw_fd();
        self.stack[i].hold = Hold::Own(fd);
        Ok(raw)
    }

    /// Enters a directory, dropping the oldest held descriptor beyond [`HELD`].
    fn push(&mut self, name: Vec<u8>, hold: Hold) {
        self.stack.push(Level { name, hold });
        let own = self
            .stack
            .iter()
            .filter(|l| matches!(l.hold, Hold::Own(_)))
            .count();
        if own > HELD + 1 {
            if let Some(l) = self
                .stack
                .iter_mut()
                .find(|l| matches!(l.hold, Hold::Own(_)))
            {
                l.hold = Hold::Dropped;
            }
        }
    }

    /// Takes the current directory's descriptor out of the stack for a result.
    fn take_top(&mut self) -> Result<Fd<'t>, Errno> {
        self.top()?;
        let i = self.stack.len() - 1;
        Ok(
            match std::mem::replace(&mut self.stack[i].hold, Hold::Dropped) {
                Hold::Root => Fd::Tree(self.tree.root),
                Hold::Bind(b) => Fd::Tree(self.tree.binds[b].fd.as_fd()),
                Hold::Own(f) => Fd::Own(f),
                Hold::Dropped => return Err(Errno::ENOENT),
            },
        )
    }

    /// Follows the link whose text is `target`: its components replace the link's.
    fn follow(&mut self, target: Vec<u8>, slash: bool, todo: &mut Vec<Comp>) -> Result<(), Errno> {
        self.links += 1;
        if self.links > MAX_LINKS {
            return Err(Errno::ELOOP);
        }
        if target.is_empty() {
            return Err(Errno::ENOENT);
        }
        if target.starts_with(b"/") {
            self.stack.truncate(1);
        }
        push_components(todo, &target, slash);
        Ok(())
    }
}

/// What a walk does with the last component.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// Opens it, following a symbolic link (`stat`, `open`, `chdir`, `execve`...).
    Follow,
    /// Opens it without following a link, unless the path ends with `/` (`lstat`,
    /// `readlink`... : Linux follows a link named with a trailing slash).
    NoFollow,
    /// Leaves it to the call, which creates, removes or renames that name and never
    /// follows it (`mkdir`, `unlink`, `rename`, `symlink`, `bind`...); a trailing `/`
    /// is only reported ([`Walk::dir_only`]).
    Parent,
}

/// Walks `path` (relative paths from `start`) inside `tree`, doing `lookup` with
/// the last component.
pub fn walk<'t>(
    tree: Tree<'t>,
    start: Option<Start>,
    path: &[u8],
    lookup: Lookup,
) -> Result<Walk<'t>, Errno> {
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    if path.len() >= PATH_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    let mut w = Walker {
        tree,
        stack: vec![Level {
            name: Vec::new(),
            hold: Hold::Root,
        }],
        links: 0,
    };
    if path[0] != b'/' {
        let start = start.ok_or(Errno::EBADF)?;
        if !start.is_dir && file_type(start.fd.as_raw_fd())? != libc::S_IFDIR {
            return Err(Errno::ENOTDIR);
        }
        let names: Vec<Vec<u8>> = start
            .guest
            .split(|&b| b == b'/')
            .filter(|c| !c.is_empty() && *c != b".")
            .map(<[u8]>::to_vec)
            .collect();
        let n = names.len();
        let mut start_fd = Some(start.fd);
        for (i, name) in names.into_iter().enumerate() {
            if name == b".." {
                return Err(Errno::EINVAL);
            }
            let hold = match w.bind_at(&name) {
                Some(b) => Hold::Bind(b),
                None if i + 1 == n => Hold::Own(start_fd.take().ok_or(Errno::EBADF)?),
                None => Hold::Dropped,
            };
            w.stack.push(Level { name, hold });
        }
    }
    let mut todo: Vec<Comp> = Vec::new();
    push_components(&mut todo, path, false);
    if todo.is_empty() {
        // "/" (or "///"), or only a start.
        let last = if path[0] == b'/' {
            Last::Root
        } else {
            Last::Dot
        };
        let object = w.take_top()?;
        return Ok(Walk {
            object: Some(object),
            entry: None,
            last,
            guest: w.guest(),
            dir_only: true,
        });
    }
    while let Some((name, slash)) = todo.pop() {
        let is_last = todo.is_empty();
        match name.as_slice() {
            b"." | b".." => {
                if name == b".." && w.stack.len() > 1 {
                    w.stack.pop();
                }
                if is_last {
                    let last = if name == b"." {
                        Last::Dot
                    } else {
                        Last::DotDot
                    };
                    let guest = w.guest();
                    let object = w.take_top()?;
                    return Ok(Walk {
                        object: Some(object),
                        entry: None,
                        last,
                        guest,
                        dir_only: true,
                    });
                }
                continue;
            }
            _ => {}
        }
        if let Some(b) = w.bind_at(&name) {
            w.push(name, Hold::Bind(b));
            if is_last {
                let guest = w.guest();
                let object = w.take_top()?;
                return Ok(Walk {
                    object: Some(object),
                    entry: None,
                    last: Last::Bind,
                    guest,
                    dir_only: slash,
                });
            }
            continue;
        }
        let dir = w.top()?;
        if is_last {
            let c = CString::new(name.clone()).map_err(|_| Errno::EINVAL)?;
            let mut object = None;
            if lookup == Lookup::Follow || (slash && lookup == Lookup::NoFollow) {
                match open_at(dir, &name, libc::O_PATH | libc::O_NOFOLLOW, w.tree.min_fd) {
                    Ok(fd) => {
                        let ty = file_type(fd.as_raw_fd())?;
                        if ty == libc::S_IFLNK {
                            let target = read_link(fd.as_raw_fd(), b"")?;
                            w.follow(target, slash, &mut todo)?;
                            continue;
                        }
                        if slash && ty != libc::S_IFDIR {
                            return Err(Errno::ENOTDIR);
                        }
                        object = Some(Fd::Own(fd));
                    }
                    Err(Errno::ENOENT) => {}
                    Err(e) => return Err(e),
                }
            }
            let mut guest = w.guest();
            if guest != b"/" {
                guest.push(b'/');
            }
            guest.extend_from_slice(&name);
            let parent = w.take_top()?;
            return Ok(Walk {
                object,
                entry: Some((parent, c)),
                last: Last::Name,
                guest,
                dir_only: slash,
            });
        }
        // Plain names ahead of the last one, none a bind's guest path: one host call
        // when the kernel can guarantee it follows no link on the way.
        let mut chunk = vec![name.clone()];
        let mut at = w.guest();
        if at != b"/" {
            at.push(b'/');
        }
        at.extend_from_slice(&name);
        while todo.len() >= 2 {
            let next = &todo[todo.len() - 1].0;
            if next == b"." || next == b".." {
                break;
            }
            let mut g = at.clone();
            g.push(b'/');
            g.extend_from_slice(next);
            if w.tree.binds.iter().any(|b| b.guest == g) {
                break;
            }
            at = g;
            chunk.push(todo.pop().map(|c| c.0).unwrap_or_default());
        }
        if chunk.len() > 1 {
            let names: Vec<&[u8]> = chunk.iter().map(|n| &n[..]).collect();
            if let Ok(fd) = open_beneath(dir, &names, w.tree.min_fd) {
                let last = chunk.pop().unwrap_or_default();
                for n in chunk {
                    w.stack.push(Level {
                        name: n,
                        hold: Hold::Dropped,
                    });
                }
                w.push(last, Hold::Own(fd));
                continue;
            }
            // Back to one name at a time.
            for n in chunk.drain(1..).rev() {
                todo.push((n, false));
            }
        }
        let flags = libc::O_PATH | libc::O_NOFOLLOW | libc::O_DIRECTORY;
        match open_at(dir, &name, flags, w.tree.min_fd) {
            Ok(fd) => w.push(name, Hold::Own(fd)),
            // A symbolic link, or not a directory.
            Err(Errno::ENOTDIR) => match read_link(dir, &name) {
                Ok(target) => w.follow(target, slash, &mut todo)?,
                Err(Errno::EINVAL) => return Err(Errno::ENOTDIR),
                Err(e) => return Err(e),
            },
            Err(e) => return Err(e),
        }
    }
    // The last component was a link whose text has no name ("/", "//"): the walk
    // stands in the directory it reached.
    let last = if w.stack.len() == 1 {
        Last::Root
    } else {
        Last::Dot
    };
    let guest = w.guest();
    let object = w.take_top()?;
    Ok(Walk {
        object: Some(object),
        entry: None,
        last,
        guest,
        dir_only: true,
    })
}

#[cfg(test)]
#[path = "resolve_tests.rs"]
mod tests;
