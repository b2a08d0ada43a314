//! `connect-allow` rules: the addresses a program may connect or send datagrams to
//! (`connect`, and `sendto`/`sendmsg`/`sendmmsg` with a destination), read from
//! user memory as the kernel reads a `sockaddr`.
//!
//! IPv4 and IPv6 addresses match by address and port (an IPv4-mapped IPv6 address
//! is an IPv6 address here). A Unix socket path matches by where it leads: both the
//! rule's path (when the process starts) and the program's are resolved in the
//! file view, so a link or `..` reaches the same socket file or not at all.
//! Abstract names match byte for byte. `AF_UNSPEC` (a datagram socket's
//! disconnect) is always allowed; every other family is refused.

use std::ffi::CStr;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::AsRawFd;
use std::sync::OnceLock;

use syscalls::riscv64::Sysno;

use crate::errno::Errno;
use crate::fs::resolve::Lookup;
use crate::policy::readonly::{host_path, resolve};
use crate::policy::rules::Allowed;
use crate::process::Process;
use crate::task::Task;

/// Largest `sockaddr` looked at (`sockaddr_storage`).
const SOCKADDR_MAX: usize = 128;

/// Most `mmsghdr`s of one `sendmmsg` looked at (Linux's `UIO_MAXIOV`).
const MMSG_MAX: u64 = 1024;

/// The allowed destinations and the errno for the others.
pub struct Connect {
    allowed: Vec<Allowed>,
    errno: Errno,
    /// Host paths of the `Unix` rules, resolved when the process starts.
    unix_host: OnceLock<Vec<Vec<u8>>>,
}

/// The host path a walk to a (possibly not yet existing) name reached.
fn walked_host(proc: &Process, path: &[u8]) -> Option<Vec<u8>> {
    let w = resolve(proc, libc::AT_FDCWD, path, Lookup::Parent).ok()?;
    match (&w.entry, &w.object) {
        (Some((d, n)), _) => {
            let mut h = host_path(d.as_raw_fd())?;
            if h != b"/" {
                h.push(b'/');
            }
            h.extend_from_slice(CStr::to_bytes(n));
            Some(h)
        }
        (None, Some(o)) => host_path(o.as_raw_fd()),
        (None, None) => None,
    }
}

impl Connect {
    /// A rule allowing `allowed`; other destinations get `errno`.
    pub fn new(allowed: Vec<Allowed>, errno: Errno) -> Connect {
        Connect {
            allowed,
            errno,
            unix_host: OnceLock::new(),
        }
    }

    /// Resolves the Unix socket paths of the rule in the process's file view.
    pub fn attach(&self, proc: &Process) {
        let host = self
            .allowed
            .iter()
            .filter_map(|a| match a {
                Allowed::Unix(p) => walked_host(proc, p),
                _ => None,
            })
            .collect();
        let _ = self.unix_host.set(host);
    }

    /// Whether the `sockaddr` `b` is an allowed destination.
    fn allows(&self, proc: &Process, b: &[u8]) -> bool {
        if b.len() < 2 {
            return false;
        }
        let family = i32::from(u16::from_le_bytes([b[0], b[1]]));
        match family {
            libc::AF_UNSPEC => true,
            libc::AF_INET if b.len() >= 8 => {
                let port = u16::from_be_bytes([b[2], b[3]]);
                let ip = Ipv4Addr::new(b[4], b[5], b[6], b[7]);
                self.allowed.iter().any(
                    |a| matches!(a, Allowed::V4(x, p) if *x == ip && p.is_none_or(|p| p == port)),
                )
            }
            libc::AF_INET6 if b.len() >= 24 => {
                let port = u16::from_be_bytes([b[2], b[3]]);
                let mut o = [0u8; 16];
                o.copy_from_slice(&b[8..24]);
                let ip = Ipv6Addr::from(o);
                self.allowed.iter().any(
                    |a| matches!(a, Allowed::V6(x, p) if *x == ip && p.is_none_or(|p| p == port)),
                )
            }
            libc::AF_UNIX if b.len() > 2 => {
                if b[2] == 0 {
                    let name = &b[3..];
                    return self
                        .allowed
                        .iter()
                        .any(|a| matches!(a, Allowed::Abstract(x) if x == name));
                }
                let path: Vec<u8> = b[2..].iter().copied().take_while(|&c| c != 0).collect();
                let Some(rules) = self.unix_host.get() else {
                    return false;
                };
                let w = resolve(proc, libc::AT_FDCWD, &path, Lookup::Follow);
                let Some(h) = w
                    .ok()
                    .and_then(|w| w.object.as_ref().and_then(|o| host_path(o.as_raw_fd())))
                else {
                    return false;
                };
                rules.contains(&h)
            }
            _ => false,
        }
    }

    /// Reads the `sockaddr` at `va` (`len` bytes) and checks it; an unreadable one
    /// is left to the call (`EFAULT`, `EINVAL`).
    fn check_at(&self, proc: &Process, va: u64, len: u64) -> Option<Errno> {
        if va == 0 || len == 0 {
            return None;
        }
        let b = proc.read_mem(va, (len as usize).min(SOCKADDR_MAX)).ok()?;
        (!self.allows(proc, &b)).then_some(self.errno)
    }

    /// The errno for a call that would reach a destination the rule does not list.
    pub fn check(&self, t: &Task, nr: u64, a: &[u64; 6]) -> Option<Errno> {
        let proc = &*t.proc;
        match Sysno::new(nr as usize)? {
            Sysno::connect => {
                if a[1] == 0 {
                    return None;
                }
                let b = proc
                    .read_mem(a[1], (a[2] as usize).min(SOCKADDR_MAX))
                    .ok()?;
                (!self.allows(proc, &b)).then_some(self.errno)
            }
            Sysno::sendto => self.check_at(proc, a[4], a[5]),
            Sysno::sendmsg => self.check_msghdr(proc, a[1]),
            Sysno::sendmmsg => {
                for i in 0..(a[2].min(MMSG_MAX)) {
                    // struct mmsghdr: a msghdr (56 bytes) and its length, padded to 64.
                    if let Some(e) = self.check_msghdr(proc, a[1].wrapping_add(i * 64)) {
                        return Some(e);
                    }
                }
                None
            }
            _ => None,
        }
    }

    /// A `msghdr`'s destination (`msg_name`, `msg_namelen`).
    fn check_msghdr(&self, proc: &Process, va: u64) -> Option<Errno> {
        let name = proc.read_u64(va).ok()?;
        let len = proc.read_u32(va.wrapping_add(8)).ok()?;
        self.check_at(proc, name, u64::from(len))
    }

    /// The calls [`Connect::check`] looks at.
    pub fn calls() -> &'static [Sysno] {
        &[
            Sysno::connect,
            Sysno::sendto,
            Sysno::sendmsg,
            Sysno::sendmmsg,
        ]
    }
}
