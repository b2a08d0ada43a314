//! Unix-socket addresses under `--root`: socket files are found by the resolver,
//! abstract names live in a namespace of the VM's own.
//!
//! A path in a `sockaddr_un` is a path like any other: `bind` creates the name in
//! the directory the walk reached and `connect` reaches the socket the walk opened,
//! both through `/proc/thread-self/fd/N` (`bind`, `connect` and `sendto` have no
//! form that takes a directory descriptor), so the host never resolves a guest
//! path. The program still sees the names it gave: the host forms it made are
//! translated back when the kernel reports an address.
//!
//! Abstract names (a `sun_path` starting with NUL) are not files, so the resolver
//! cannot confine them; Linux scopes them per network namespace. Here they are
//! scoped per root: every abstract name the program gives is prefixed with one
//! derived from the root directory's device and inode, so that the processes of a
//! VM (forks and execs) reach each other and nothing else, and the prefix is removed
//! from the names the kernel reports.

use std::collections::VecDeque;
use std::sync::Mutex;

use crate::errno::Errno;
use crate::fs::locate::{locate, locate_object, Located};
use crate::fs::paths::Paths;
use crate::fs::resolve::Lookup;

/// `AF_UNIX`.
const AF_UNIX: u16 = 1;

/// `sizeof(struct sockaddr_un)`.
const SOCKADDR_UN: usize = 110;

/// How many `bind` names are remembered for translating addresses back.
const NAMES: usize = 1024;

/// Host `sun_path`s this process made for `bind`, with the guest's (most recent
/// last): the kernel reports a bound address as it was given to `bind`.
static BOUND: Mutex<VecDeque<(Vec<u8>, Vec<u8>)>> = Mutex::new(VecDeque::new());

/// A socket address ready for the host call, with the descriptors its host form
/// refers to (they stay open until the call is made).
#[derive(Debug)]
pub struct HostAddr<'p> {
    /// The address bytes.
    pub bytes: Vec<u8>,
    /// The socket was bound to no name (`bind` with only the family): a name in the
    /// VM's abstract namespace was chosen, as the kernel's autobind would.
    pub autobind: bool,
    _hold: Option<Located<'p>>,
}

/// Whether a `bind`/`connect`/`sendto` address is a Unix one that `to_host`
/// changes.
fn is_unix(bytes: &[u8]) -> bool {
    bytes.len() >= 2 && u16::from_le_bytes([bytes[0], bytes[1]]) == AF_UNIX
}

/// The host form of guest socket address `guest`, for `bind` (`bind` true: the
/// last name is created, never followed) or `connect`/`sendto`. Unchanged without
/// `--root` and for other families.
pub fn to_host<'p>(paths: Paths<'p>, guest: Vec<u8>, bind: bool) -> Result<HostAddr<'p>, Errno> {
    let plain = |bytes| HostAddr {
        bytes,
        autobind: false,
        _hold: None,
    };
    let Some(prefix) = paths.anchors.abstract_prefix() else {
        return Ok(plain(guest));
    };
    if !is_unix(&guest) {
        return Ok(plain(guest));
    }
    let family = &guest[..2];
    let name = &guest[2..];
    if name.is_empty() {
        if !bind {
            return Ok(plain(guest));
        }
        let mut random = [0u8; 4];
        // SAFETY: getrandom into a local buffer.
        unsafe { libc::getrandom(random.as_mut_ptr().cast(), random.len(), 0) };
        let auto = format!("{:05x}", u32::from_le_bytes(random) & 0xfffff);
        let mut b = family.to_vec();
        b.push(0);
        b.extend_from_slice(prefix);
        b.extend_from_slice(auto.as_bytes());
        return Ok(HostAddr {
            bytes: b,
            autobind: true,
            _hold: None,
        });
    }
    if name[0] == 0 {
        let mut b = family.to_vec();
        b.push(0);
        b.extend_from_slice(prefix);
        b.extend_from_slice(&name[1..]);
        if b.len() > SOCKADDR_UN {
            return Err(Errno::EINVAL);
        }
        return Ok(plain(b));
    }
    let path: Vec<u8> = name.iter().take_while(|&&c| c != 0).copied().collect();
    let (loc, host) = if bind {
        let loc = locate(paths, libc::AT_FDCWD, &path, Lookup::Parent)?;
        let (d, n) = loc.entry(|_| Errno(libc::EADDRINUSE))?;
        let mut h = format!("/proc/thread-self/fd/{d}/").into_bytes();
        h.extend_from_slice(n.to_bytes());
        (loc, h)
    } else {
        let loc = locate_object(paths, libc::AT_FDCWD, &path, Lookup::Follow)?;
        let (_, p) = loc.object_path()?;
        let h = p.into_bytes();
        (loc, h)
    };
    if host.len() >= SOCKADDR_UN - 2 {
        return Err(Errno::ENAMETOOLONG);
    }
    if bind {
        let mut names = BOUND.lock().unwrap_or_else(|e| e.into_inner());
        names.retain(|(h, _)| *h != host);
        if names.len() >= NAMES {
            names.pop_front();
        }
        names.push_back((host.clone(), path));
    }
    let mut b = family.to_vec();
    b.extend_from_slice(&host);
    b.push(0);
    Ok(HostAddr {
        bytes: b,
        autobind: false,
        _hold: Some(loc),
    })
}

/// The guest's form of an address the kernel reported (`bytes`, of which `len`
/// are meaningful; `len` may exceed the buffer, as the kernel reports the full
/// length): the VM's abstract prefix removed, a host path made for `bind` given
/// back as the program gave it.
pub fn to_guest(paths: Paths<'_>, bytes: &[u8], len: u32) -> (Vec<u8>, u32) {
    let n = (len as usize).min(bytes.len());
    let Some(prefix) = paths.anchors.abstract_prefix() else {
        return (bytes.to_vec(), len);
    };
    if n < 3 || !is_unix(bytes) {
        return (bytes.to_vec(), len);
    }
    let name = &bytes[2..n];
    if name[0] == 0 {
        if let Some(rest) = name[1..].strip_prefix(prefix) {
            let mut b = bytes[..3].to_vec();
            b.extend_from_slice(rest);
            let l = b.len() as u32;
            return (b, l);
        }
        return (bytes.to_vec(), len);
    }
    let path: Vec<u8> = name.iter().take_while(|&&c| c != 0).copied().collect();
    let names = BOUND.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, g)) = names.iter().rev().find(|(h, _)| *h == path) {
        let mut b = bytes[..2].to_vec();
        b.extend_from_slice(g);
        b.push(0);
        let l = b.len() as u32;
        return (b, l);
    }
    (bytes.to_vec(), len)
}
