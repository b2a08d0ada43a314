//! User-mode NAT through libslirp (the `libslirp` crate over Debian's `libslirp-dev`),
//! with QEMU's `-netdev user` addresses: network 10.0.2.0/24, the guest at 10.0.2.15
//! (DHCP), the gateway and host at 10.0.2.2, DNS at 10.0.2.3. [`HostFwd`] forwards host
//! ports into the guest (QEMU's `hostfwd=tcp:127.0.0.1:2222-:22`).
//!
//! Unlike QEMU, the host's loopback is out of the guest's reach unless
//! [`SlirpOptions::host_loopback`] says otherwise, and the flows a guest opens through
//! the NAT (each a host descriptor) are capped by [`SlirpOptions::max_flows`]; both
//! are enforced on the guest's frames before libslirp sees them ([`super::net_flows`]).
//!
//! The backend itself (module `nat`) is built with the `user-net` feature (the default).
//! Without it (a cross build for a host whose Debian packages do not give
//! `libslirp-dev`, see `scripts/cross-build`), [`SlirpBackend::new`] fails saying so
//! and everything else works.

use std::net::Ipv4Addr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use tern_state::{Decoder, Encoder, StateError, Versioned};

#[cfg(feature = "user-net")]
mod nat;
#[cfg(feature = "user-net")]
pub use nat::SlirpBackend;

#[cfg(not(feature = "user-net"))]
mod absent;
#[cfg(not(feature = "user-net"))]
pub use absent::SlirpBackend;

/// The guest's address (first DHCP lease).
pub const GUEST: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 15);
/// The gateway, which is also the host as the guest sees it.
pub const HOST: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 2);
/// The DNS forwarder.
pub const DNS: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 3);

/// Default of [`SlirpOptions::max_flows`]: far more than a guest's package manager,
/// build or browser keeps open, far fewer than a host process's descriptors.
pub const DEFAULT_MAX_FLOWS: usize = 512;

/// One forwarded host port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostFwd {
    /// UDP instead of TCP.
    pub udp: bool,
    /// Host address to bind (0.0.0.0 = all).
    pub host_addr: Ipv4Addr,
    /// Host port.
    pub host_port: u16,
    /// Guest address.
    pub guest_addr: Ipv4Addr,
    /// Guest port.
    pub guest_port: u16,
}

impl FromStr for HostFwd {
    type Err = String;

    /// QEMU's syntax: `[tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport`.
    fn from_str(s: &str) -> Result<HostFwd, String> {
        let bad = || {
            format!("hostfwd `{s}`: expected [tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport")
        };
        let (proto, rest) = s.split_once(':').ok_or_else(bad)?;
        let udp = match proto {
            "" | "tcp" => false,
            "udp" => true,
            _ => return Err(bad()),
        };
        let (host, guest) = rest.split_once('-').ok_or_else(bad)?;
        let (ha, hp) = host.rsplit_once(':').ok_or_else(bad)?;
        let (ga, gp) = guest.rsplit_once(':').ok_or_else(bad)?;
        let addr = |a: &str, default| {
            if a.is_empty() {
                Ok(default)
            } else {
                a.parse::<Ipv4Addr>().map_err(|_| bad())
            }
        };
        Ok(HostFwd {
            udp,
            host_addr: addr(ha, Ipv4Addr::UNSPECIFIED)?,
            host_port: hp.parse().map_err(|_| bad())?,
            guest_addr: addr(ga, GUEST)?,
            guest_port: gp.parse().map_err(|_| bad())?,
        })
    }
}

/// Options of the NAT.
#[derive(Clone, Debug)]
pub struct SlirpOptions {
    /// Forwarded host ports.
    pub hostfwd: Vec<HostFwd>,
    /// Isolate the guest from the outside (only forwarded ports work).
    pub restricted: bool,
    /// Let the guest reach the host's loopback services: 10.0.2.2 is then the host's
    /// 127.0.0.1 (QEMU's default). Off by default: a guest reaches the host only at
    /// its other addresses, as any machine on the network would.
    pub host_loopback: bool,
    /// Most flows (TCP connections, UDP source ports, pings) the NAT keeps open on the
    /// host at once; beyond it new flows are refused (see [`super::net_flows`]).
    pub max_flows: usize,
}

impl Default for SlirpOptions {
    fn default() -> Self {
        SlirpOptions {
            hostfwd: Vec::new(),
            restricted: false,
            host_loopback: false,
            max_flows: DEFAULT_MAX_FLOWS,
        }
    }
}
/// The saved NAT: libslirp's own state stream (`slirp_state_save`, connections and
/// their sequence numbers, the DHCP lease, forwarded ports) and the version of that
/// stream, which libslirp checks when it loads it.
///
/// Encoded (version 1, kind `slirp`) as a base `(stream version, stream)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlirpState {
    /// libslirp's state version (`slirp_state_version`) of `stream`.
    pub stream_version: i32,
    /// The stream.
    pub stream: Vec<u8>,
}

impl Versioned for SlirpState {
    const KIND: &'static str = "slirp";
    const VERSION: u32 = 1;

    fn encode(&self, out: &mut Encoder) {
        out.base(self);
    }

    fn decode(input: &mut Decoder<'_>) -> Result<Self, StateError> {
        input.base()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostfwd_syntax() {
        let f: HostFwd = "tcp:127.0.0.1:2222-:22".parse().unwrap();
        assert_eq!(
            f,
            HostFwd {
                udp: false,
                host_addr: Ipv4Addr::LOCALHOST,
                host_port: 2222,
                guest_addr: GUEST,
                guest_port: 22
            }
        );
        let g: HostFwd = "udp::5555-10.0.2.16:53".parse().unwrap();
        assert!(g.udp);
        assert_eq!(g.host_addr, Ipv4Addr::UNSPECIFIED);
        assert_eq!(g.guest_addr, Ipv4Addr::new(10, 0, 2, 16));
        assert!("sctp::1-:2".parse::<HostFwd>().is_err());
        assert!("tcp::99999-:2".parse::<HostFwd>().is_err());
        assert!("tcp:1-2".parse::<HostFwd>().is_err());
    }
}
