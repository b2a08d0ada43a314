//! The policy file of `tern exec --policy FILE`: a line-oriented text format,
//! parsed here into plain data ([`Rules`]).
//!
//! ```text
//! # comments and blank lines are ignored
//! deny openat unlinkat errno=EACCES   # these calls fail with the errno (EPERM if none)
//! log execve connect                  # each on stderr (or the log file) with its result
//! read-only /data                     # a guest directory tree: writes there get EROFS
//! connect-allow 127.0.0.1:8080        # connect/sendto only to listed addresses...
//! connect-allow [::1]:*               # ...IPv6 and any port
//! connect-allow unix:/run/app.sock    # a Unix socket path (guest path)
//! connect-allow unix:@name            # an abstract Unix socket name
//! connect-errno ECONNREFUSED          # what other addresses get (EACCES if none)
//! log-file /var/log/tern-policy.log   # log lines go here instead of stderr
//! ```

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use syscalls::riscv64::Sysno;

use crate::errno::Errno;

/// A `connect-allow` address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Allowed {
    /// An IPv4 address, and a port (`None`: any).
    V4(Ipv4Addr, Option<u16>),
    /// An IPv6 address, and a port (`None`: any).
    V6(Ipv6Addr, Option<u16>),
    /// A Unix socket by guest path.
    Unix(Vec<u8>),
    /// An abstract Unix socket name (without the leading NUL).
    Abstract(Vec<u8>),
}

/// A parsed policy.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rules {
    /// Denied calls by number, with the errno the program sees.
    pub deny: Vec<(u64, Errno)>,
    /// Logged calls by number.
    pub log: Vec<u64>,
    /// Read-only directory trees (absolute guest paths).
    pub read_only: Vec<String>,
    /// Where `connect` may go (`None`: anywhere, no rule).
    pub connect: Option<Vec<Allowed>>,
    /// What a connection elsewhere gets.
    pub connect_errno: Option<Errno>,
    /// Where log lines go (`None`: tern's stderr).
    pub log_file: Option<String>,
}

/// Errno names a policy may use beyond [`Errno::name`]'s.
const MORE_ERRNOS: &[(&str, i32)] = &[
    ("ENETUNREACH", libc::ENETUNREACH),
    ("EHOSTUNREACH", libc::EHOSTUNREACH),
    ("EAFNOSUPPORT", libc::EAFNOSUPPORT),
    ("ENOTSUP", libc::ENOTSUP),
    ("ECONNRESET", libc::ECONNRESET),
    ("ENOTCONN", libc::ENOTCONN),
    ("EDQUOT", libc::EDQUOT),
];

/// An errno by name (`EACCES`) or number (`13`).
pub fn parse_errno(s: &str) -> Option<Errno> {
    if let Ok(n) = s.parse::<i32>() {
        return (1..4096).contains(&n).then_some(Errno(n));
    }
    if let Some((_, n)) = MORE_ERRNOS.iter().find(|(name, _)| *name == s) {
        return Some(Errno(*n));
    }
    if s == "E?" {
        return None;
    }
    (1..134).map(Errno).find(|e| e.name() == s)
}

/// A system call by its riscv64 name.
fn parse_call(s: &str) -> Option<u64> {
    Sysno::from_str(s).ok().map(|n| n as u64)
}

/// A `connect-allow` address: `A.B.C.D:PORT`, `[V6]:PORT` (PORT may be `*`),
/// `unix:/path`, `unix:@abstract`.
pub fn parse_allowed(s: &str) -> Option<Allowed> {
    if let Some(rest) = s.strip_prefix("unix:") {
        if let Some(name) = rest.strip_prefix('@') {
            return Some(Allowed::Abstract(name.as_bytes().to_vec()));
        }
        if !rest.starts_with('/') {
            return None;
        }
        return Some(Allowed::Unix(rest.as_bytes().to_vec()));
    }
    let (host, port) = s.rsplit_once(':')?;
    let port = match port {
        "*" => None,
        p => Some(p.parse::<u16>().ok()?),
    };
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    match IpAddr::from_str(host).ok()? {
        IpAddr::V4(a) => Some(Allowed::V4(a, port)),
        IpAddr::V6(a) => Some(Allowed::V6(a, port)),
    }
}

impl Rules {
    /// Parses policy `text`; errors name the line.
    pub fn parse(text: &str) -> Result<Rules, String> {
        let mut r = Rules::default();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let err = |m: String| format!("line {}: {m}", i + 1);
            let mut words = line.split_whitespace();
            let verb = words.next().unwrap_or("");
            let rest: Vec<&str> = words.collect();
            match verb {
                "deny" => {
                    let mut errno = Errno::EPERM;
                    let mut calls = Vec::new();
                    for w in &rest {
                        if let Some(e) = w.strip_prefix("errno=") {
                            errno =
                                parse_errno(e).ok_or_else(|| err(format!("unknown errno {e}")))?;
                        } else {
                            calls.push(
                                parse_call(w)
                                    .ok_or_else(|| err(format!("unknown system call {w}")))?,
                            );
                        }
                    }
                    if calls.is_empty() {
                        return Err(err("deny: name at least one system call".into()));
                    }
                    r.deny.extend(calls.into_iter().map(|c| (c, errno)));
                }
                "log" => {
                    if rest.is_empty() {
                        return Err(err("log: name at least one system call".into()));
                    }
                    for w in &rest {
                        r.log.push(
                            parse_call(w).ok_or_else(|| err(format!("unknown system call {w}")))?,
                        );
                    }
                }
                "read-only" => {
                    let [p] = rest[..] else {
                        return Err(err("read-only: expected one absolute path".into()));
                    };
                    if !p.starts_with('/') {
                        return Err(err(format!("read-only {p}: the path must be absolute")));
                    }
                    r.read_only.push(p.to_string());
                }
                "connect-allow" => {
                    if rest.is_empty() {
                        return Err(err("connect-allow: name at least one address".into()));
                    }
                    for w in &rest {
                        let a = parse_allowed(w).ok_or_else(|| {
                            err(format!(
                                "connect-allow {w}: expected A.B.C.D:PORT, [V6]:PORT, unix:/PATH or unix:@NAME"
                            ))
                        })?;
                        r.connect.get_or_insert_with(Vec::new).push(a);
                    }
                }
                "connect-errno" => {
                    let [e] = rest[..] else {
                        return Err(err("connect-errno: expected one errno".into()));
                    };
                    r.connect_errno =
                        Some(parse_errno(e).ok_or_else(|| err(format!("unknown errno {e}")))?);
                    r.connect.get_or_insert_with(Vec::new);
                }
                "log-file" => {
                    let [p] = rest[..] else {
                        return Err(err("log-file: expected one path".into()));
                    };
                    if !p.starts_with('/') {
                        return Err(err(format!("log-file {p}: the path must be absolute")));
                    }
                    r.log_file = Some(p.to_string());
                }
                v => return Err(err(format!("unknown rule {v:?}"))),
            }
        }
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_rule() {
        let r = Rules::parse(
            "# a policy\n\
             deny openat unlinkat errno=EACCES\n\
             deny getpid\n\
             log execve # trailing comment\n\
             read-only /data\n\
             connect-allow 127.0.0.1:8080 [::1]:* unix:/run/s unix:@abs\n\
             connect-errno ECONNREFUSED\n\
             log-file /tmp/x.log\n",
        )
        .unwrap();
        assert_eq!(
            r.deny,
            vec![
                (Sysno::openat as u64, Errno::EACCES),
                (Sysno::unlinkat as u64, Errno::EACCES),
                (Sysno::getpid as u64, Errno::EPERM),
            ]
        );
        assert_eq!(r.log, vec![Sysno::execve as u64]);
        assert_eq!(r.read_only, vec!["/data".to_string()]);
        assert_eq!(
            r.connect.unwrap(),
            vec![
                Allowed::V4(Ipv4Addr::LOCALHOST, Some(8080)),
                Allowed::V6(Ipv6Addr::LOCALHOST, None),
                Allowed::Unix(b"/run/s".to_vec()),
                Allowed::Abstract(b"abs".to_vec()),
            ]
        );
        assert_eq!(r.connect_errno, Some(Errno(libc::ECONNREFUSED)));
        assert_eq!(r.log_file.as_deref(), Some("/tmp/x.log"));
    }

    #[test]
    fn errors_name_the_line() {
        for (text, want) in [
            ("deny nosuchcall", "line 1: unknown system call nosuchcall"),
            ("\ndeny openat errno=EWHAT", "line 2: unknown errno EWHAT"),
            (
                "read-only data",
                "line 1: read-only data: the path must be absolute",
            ),
            (
                "connect-allow 1.2.3.4",
                "line 1: connect-allow 1.2.3.4: expected",
            ),
            ("frobnicate x", "line 1: unknown rule \"frobnicate\""),
            (
                "deny errno=EPERM",
                "line 1: deny: name at least one system call",
            ),
        ] {
            let e = Rules::parse(text).unwrap_err();
            assert!(e.starts_with(want), "{text:?}: {e}");
        }
    }

    #[test]
    fn errnos_by_name_and_number() {
        assert_eq!(parse_errno("EROFS"), Some(Errno(libc::EROFS)));
        assert_eq!(parse_errno("ENETUNREACH"), Some(Errno(libc::ENETUNREACH)));
        assert_eq!(parse_errno("13"), Some(Errno::EACCES));
        assert_eq!(parse_errno("0"), None);
        assert_eq!(parse_errno("E?"), None);
    }
}
