//! What a guest may ask of the user-mode NAT before a frame reaches libslirp: no
//! packets to the host's own loopback or "this host" addresses (unless the user
//! allows host loopback), and at most a set number of flows, each of which holds a
//! descriptor in tern's process.
//!
//! libslirp opens a host socket for each guest TCP connection, each guest UDP source
//! port and each ping, and tells tern through its `register_poll_fd` /
//! `unregister_poll_fd` callbacks, which the NAT counts: that count is `live` here.
//! At the cap, a frame that would open one more is refused the way a firewall
//! refuses: a TCP SYN gets a RST (the guest's `connect` fails with ECONNREFUSED at
//! once), a UDP datagram an ICMP "communication administratively prohibited" from the
//! gateway, a ping is dropped. Frames of existing flows pass, and the guest runs on.
//!
//! libslirp maps the gateway address (10.0.2.2) to the host's 127.0.0.1 unless told
//! not to (`disable_host_loopback`), but passes packets that name 127.0.0.0/8 or
//! 0.0.0.0/8 as destination straight to the host (a guest can send such frames with a
//! packet socket): those are dropped here unless host loopback is allowed.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use super::net_slirp::HOST;

/// How long a guest UDP source port counts as one open flow after its last datagram
/// (libslirp's `SO_EXPIRE`: it closes an idle UDP socket after 240 s).
const UDP_IDLE: Duration = Duration::from_secs(240);

/// What to do with a frame from the guest.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Give it to libslirp.
    Pass,
    /// Drop it silently.
    Drop,
    /// Drop it and give the guest this frame instead.
    Refuse(Vec<u8>),
}

/// The checks of the module documentation, with what they remember: the guest UDP
/// source ports that have a host socket, as far as this side can tell.
pub(crate) struct FlowGate {
    max_flows: usize,
    host_loopback: bool,
    udp_ports: HashMap<(Ipv4Addr, u16), Instant>,
}

const ETH: usize = 14;
const PROTO_ICMP: u8 = 1;
const PROTO_TCP: u8 = 6;
const PROTO_UDP: u8 = 17;

impl FlowGate {
    /// A gate for at most `max_flows` host sockets (at least one), passing packets to
    /// the host's loopback only if `host_loopback`.
    pub(crate) fn new(max_flows: usize, host_loopback: bool) -> FlowGate {
        FlowGate {
            max_flows: max_flows.max(1),
            host_loopback,
            udp_ports: HashMap::new(),
        }
    }

    /// Decides about `frame`, with `live` host sockets open now.
    pub(crate) fn check(&mut self, frame: &[u8], live: usize, now: Instant) -> Verdict {
        let Some(ip) = Ipv4::parse(frame) else {
            return Verdict::Pass;
        };
        let [first, ..] = ip.dst.octets();
        if !self.host_loopback && (first == 127 || first == 0) {
            return Verdict::Drop;
        }
        if ip.fragment_offset != 0 {
            // No transport header; the first fragment was checked.
            return Verdict::Pass;
        }
        let full = live >= self.max_flows;
        let l4 = &frame[ETH + ip.header_len..ip.end];
        match ip.proto {
            PROTO_TCP if l4.len() >= 20 => {
                let flags = l4[13];
                let syn_only = flags & 0x02 != 0 && flags & 0x10 == 0;
                if syn_only && full {
                    Verdict::Refuse(tcp_reset(frame, &ip, l4))
                } else {
                    Verdict::Pass
                }
            }
            PROTO_UDP if l4.len() >= 8 => {
                let src_port = u16::from_be_bytes([l4[0], l4[1]]);
                let dst_port = u16::from_be_bytes([l4[2], l4[3]]);
                // DHCP is answered inside libslirp, without a host socket.
                if dst_port == 67 && (ip.dst == Ipv4Addr::BROADCAST || ip.dst == HOST) {
                    return Verdict::Pass;
                }
                self.udp(frame, &ip, (ip.src, src_port), full, now)
            }
            // A ping outside the virtual network opens a host socket.
            PROTO_ICMP if l4.first() == Some(&8) && ip.dst.octets()[..3] != HOST.octets()[..3] => {
                if full {
                    Verdict::Drop
                } else {
                    Verdict::Pass
                }
            }
            _ => Verdict::Pass,
        }
    }

    fn udp(
        &mut self,
        frame: &[u8],
        ip: &Ipv4,
        key: (Ipv4Addr, u16),
        full: bool,
        now: Instant,
    ) -> Verdict {
        if let Some(last) = self.udp_ports.get_mut(&key) {
            if now.duration_since(*last) < UDP_IDLE {
                *last = now;
                return Verdict::Pass;
            }
        }
        if full {
            self.udp_ports.remove(&key);
            return Verdict::Refuse(icmp_prohibited(frame, ip));
        }
        // Bounded: forget ports idle long enough for libslirp to have closed them.
        if self.udp_ports.len() >= 4 * self.max_flows {
            self.udp_ports
                .retain(|_, last| now.duration_since(*last) < UDP_IDLE);
        }
        if self.udp_ports.len() < 4 * self.max_flows {
            self.udp_ports.insert(key, now);
        }
        Verdict::Pass
    }
}

/// The parts of an IPv4 packet in an Ethernet frame that the gate looks at.
struct Ipv4 {
    header_len: usize,
    /// End of the packet in the frame.
    end: usize,
    fragment_offset: u16,
    proto: u8,
    src: Ipv4Addr,
    dst: Ipv4Addr,
}

impl Ipv4 {
    fn parse(frame: &[u8]) -> Option<Ipv4> {
        if frame.len() < ETH + 20 || frame[12..14] != [0x08, 0x00] {
            return None;
        }
        let h = &frame[ETH..];
        if h[0] >> 4 != 4 {
            return None;
        }
        let header_len = usize::from(h[0] & 0xf) * 4;
        let total = usize::from(u16::from_be_bytes([h[2], h[3]]));
        if header_len < 20 || total < header_len || total > h.len() {
            return None;
        }
        let b = |at: usize| Ipv4Addr::new(h[at], h[at + 1], h[at + 2], h[at + 3]);
        Some(Ipv4 {
            header_len,
            end: ETH + total,
            fragment_offset: u16::from_be_bytes([h[6], h[7]]) & 0x1fff,
            proto: h[9],
            src: b(12),
            dst: b(16),
        })
    }
}

/// The Internet checksum of `parts` laid end to end (each of even length but the last).
fn checksum(parts: &[&[u8]]) -> u16 {
    let mut sum: u32 = 0;
    for part in parts {
        for pair in part.chunks(2) {
            let word = u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]);
            sum += u32::from(word);
        }
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An Ethernet + IPv4 header answering `frame` (addresses swapped, or from `src`).
fn reply_headers(frame: &[u8], src: Ipv4Addr, dst: Ipv4Addr, proto: u8, payload: usize) -> Vec<u8> {
    let mut f = Vec::with_capacity(ETH + 20 + payload);
    f.extend_from_slice(&frame[6..12]);
    f.extend_from_slice(&frame[0..6]);
    f.extend_from_slice(&[0x08, 0x00]);
    let total = (20 + payload) as u16;
    let mut ip = [0u8; 20];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&total.to_be_bytes());
    ip[6] = 0x40; // don't fragment
    ip[8] = 64;
    ip[9] = proto;
    ip[12..16].copy_from_slice(&src.octets());
    ip[16..20].copy_from_slice(&dst.octets());
    let c = checksum(&[&ip]);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    f.extend_from_slice(&ip);
    f
}

/// RST|ACK to a SYN, as a closed port answers (RFC 793): seq 0, ack = SYN's seq plus
/// its length (1 for the SYN, plus any data).
fn tcp_reset(frame: &[u8], ip: &Ipv4, tcp: &[u8]) -> Vec<u8> {
    let data_off = usize::from(tcp[12] >> 4) * 4;
    let data_len = tcp.len().saturating_sub(data_off) as u32;
    let seq = u32::from_be_bytes([tcp[4], tcp[5], tcp[6], tcp[7]]);
    let mut t = [0u8; 20];
    t[0..2].copy_from_slice(&tcp[2..4]);
    t[2..4].copy_from_slice(&tcp[0..2]);
    t[8..12].copy_from_slice(&seq.wrapping_add(1 + data_len).to_be_bytes());
    t[12] = 5 << 4;
    t[13] = 0x14; // RST, ACK
    let mut pseudo = [0u8; 12];
    pseudo[0..4].copy_from_slice(&ip.dst.octets());
    pseudo[4..8].copy_from_slice(&ip.src.octets());
    pseudo[9] = PROTO_TCP;
    pseudo[10..12].copy_from_slice(&20u16.to_be_bytes());
    let c = checksum(&[&pseudo, &t]);
    t[16..18].copy_from_slice(&c.to_be_bytes());
    let mut f = reply_headers(frame, ip.dst, ip.src, PROTO_TCP, 20);
    f.extend_from_slice(&t);
    f
}

/// ICMP destination unreachable, "communication administratively prohibited"
/// (type 3, code 13), from the gateway, quoting the refused packet's header and
/// first 8 bytes of its payload.
fn icmp_prohibited(frame: &[u8], ip: &Ipv4) -> Vec<u8> {
    let quoted_end = (ETH + ip.header_len + 8).min(ip.end);
    let quoted = &frame[ETH..quoted_end];
    let mut icmp = vec![3, 13, 0, 0, 0, 0, 0, 0];
    icmp.extend_from_slice(quoted);
    let c = checksum(&[&icmp]);
    icmp[2..4].copy_from_slice(&c.to_be_bytes());
    let mut f = reply_headers(frame, HOST, ip.src, PROTO_ICMP, icmp.len());
    f.extend_from_slice(&icmp);
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const GUEST_MAC: [u8; 6] = [0x52, 0x54, 0, 0x12, 0x34, 0x56];
    const GW_MAC: [u8; 6] = [0x52, 0x55, 10, 0, 2, 2];

    fn packet(dst: Ipv4Addr, proto: u8, l4: &[u8]) -> Vec<u8> {
        let mut f = GW_MAC.to_vec();
        f.extend_from_slice(&GUEST_MAC);
        f.extend_from_slice(&[0x08, 0]);
        let mut ip = [0u8; 20];
        ip[0] = 0x45;
        ip[2..4].copy_from_slice(&((20 + l4.len()) as u16).to_be_bytes());
        ip[8] = 64;
        ip[9] = proto;
        ip[12..16].copy_from_slice(&[10, 0, 2, 15]);
        ip[16..20].copy_from_slice(&dst.octets());
        let c = checksum(&[&ip]);
        ip[10..12].copy_from_slice(&c.to_be_bytes());
        f.extend_from_slice(&ip);
        f.extend_from_slice(l4);
        f
    }

    fn syn(dst: Ipv4Addr, sport: u16, seq: u32) -> Vec<u8> {
        let mut t = [0u8; 20];
        t[0..2].copy_from_slice(&sport.to_be_bytes());
        t[2..4].copy_from_slice(&80u16.to_be_bytes());
        t[4..8].copy_from_slice(&seq.to_be_bytes());
        t[12] = 5 << 4;
        t[13] = 0x02;
        packet(dst, PROTO_TCP, &t)
    }

    fn udp(dst: Ipv4Addr, sport: u16, dport: u16) -> Vec<u8> {
        let mut u = vec![0u8; 8];
        u[0..2].copy_from_slice(&sport.to_be_bytes());
        u[2..4].copy_from_slice(&dport.to_be_bytes());
        u[4..6].copy_from_slice(&12u16.to_be_bytes());
        u.extend_from_slice(b"data");
        packet(dst, PROTO_UDP, &u)
    }

    const OUT: Ipv4Addr = Ipv4Addr::new(93, 184, 216, 34);

    #[test]
    fn loopback_destinations_are_dropped_unless_allowed() {
        let now = Instant::now();
        let mut closed = FlowGate::new(8, false);
        let mut open = FlowGate::new(8, true);
        for dst in [
            Ipv4Addr::LOCALHOST,
            Ipv4Addr::new(127, 9, 9, 9),
            Ipv4Addr::UNSPECIFIED,
        ] {
            assert_eq!(closed.check(&syn(dst, 1000, 1), 0, now), Verdict::Drop);
            assert_eq!(closed.check(&udp(dst, 1000, 53), 0, now), Verdict::Drop);
            assert_eq!(open.check(&syn(dst, 1000, 1), 0, now), Verdict::Pass);
        }
        assert_eq!(closed.check(&syn(HOST, 1000, 1), 0, now), Verdict::Pass);
        assert_eq!(closed.check(&syn(OUT, 1000, 1), 0, now), Verdict::Pass);
    }

    #[test]
    fn at_the_cap_a_syn_gets_a_well_formed_reset() {
        let now = Instant::now();
        let mut g = FlowGate::new(2, false);
        assert_eq!(g.check(&syn(OUT, 40000, 7), 1, now), Verdict::Pass);
        let Verdict::Refuse(rst) = g.check(&syn(OUT, 40001, 0xffff_ffff), 2, now) else {
            panic!("a SYN at the cap must be refused");
        };
        assert_eq!(&rst[0..6], &GUEST_MAC);
        assert_eq!(&rst[6..12], &GW_MAC);
        let ip = Ipv4::parse(&rst).unwrap();
        assert_eq!(
            (ip.src, ip.dst, ip.proto),
            (OUT, Ipv4Addr::new(10, 0, 2, 15), PROTO_TCP)
        );
        assert_eq!(checksum(&[&rst[ETH..ETH + 20]]), 0, "IP checksum");
        let t = &rst[ETH + 20..];
        assert_eq!(u16::from_be_bytes([t[0], t[1]]), 80);
        assert_eq!(u16::from_be_bytes([t[2], t[3]]), 40001);
        assert_eq!(
            u32::from_be_bytes([t[8], t[9], t[10], t[11]]),
            0,
            "ack wraps"
        );
        assert_eq!(t[13], 0x14);
        let mut pseudo = Vec::new();
        pseudo.extend_from_slice(&OUT.octets());
        pseudo.extend_from_slice(&[10, 0, 2, 15, 0, PROTO_TCP, 0, 20]);
        assert_eq!(checksum(&[&pseudo, t]), 0, "TCP checksum");
        // Segments of existing connections still pass at the cap.
        let mut ack = syn(OUT, 40000, 8);
        ack[ETH + 20 + 13] = 0x10;
        assert_eq!(g.check(&ack, 2, now), Verdict::Pass);
    }

    #[test]
    fn udp_ports_with_a_socket_pass_and_new_ones_are_refused_at_the_cap() {
        let now = Instant::now();
        let mut g = FlowGate::new(2, false);
        assert_eq!(g.check(&udp(OUT, 5000, 53), 0, now), Verdict::Pass);
        assert_eq!(g.check(&udp(OUT, 5001, 53), 1, now), Verdict::Pass);
        // At the cap: known source ports pass, a new one is refused.
        assert_eq!(g.check(&udp(OUT, 5000, 53), 2, now), Verdict::Pass);
        let Verdict::Refuse(icmp) = g.check(&udp(OUT, 5002, 53), 2, now) else {
            panic!("a new UDP flow at the cap must be refused");
        };
        let ip = Ipv4::parse(&icmp).unwrap();
        assert_eq!((ip.src, ip.proto), (HOST, PROTO_ICMP));
        let body = &icmp[ETH + 20..];
        assert_eq!(&body[..2], &[3, 13]);
        assert_eq!(checksum(&[body]), 0, "ICMP checksum");
        assert_eq!(body.len(), 8 + 28, "quotes the IP header and 8 bytes");
        // DHCP never counts.
        assert_eq!(
            g.check(&udp(Ipv4Addr::BROADCAST, 68, 67), 2, now),
            Verdict::Pass
        );
        // A port idle longer than libslirp keeps its socket is a new flow again.
        let later = now + UDP_IDLE + Duration::from_secs(1);
        assert!(matches!(
            g.check(&udp(OUT, 5000, 53), 2, later),
            Verdict::Refuse(_)
        ));
    }

    proptest! {
        /// Any bytes: a verdict, never a panic; a refusal is a well-formed IPv4
        /// frame back to the sender.
        #[test]
        fn any_frame_gets_a_verdict(frame in prop::collection::vec(any::<u8>(), 0..200), live in 0usize..4) {
            let mut g = FlowGate::new(2, false);
            if let Verdict::Refuse(r) = g.check(&frame, live, Instant::now()) {
                prop_assert!(Ipv4::parse(&r).is_some());
                prop_assert_eq!(&r[0..6], &frame[6..12]);
            }
        }

        /// Well-formed TCP and UDP packets with any ports and sequence numbers.
        #[test]
        fn refusals_answer_the_packet(sport in any::<u16>(), dport in any::<u16>(), seq in any::<u32>()) {
            let mut g = FlowGate::new(1, false);
            let mut s = syn(OUT, sport, seq);
            s[ETH + 20 + 2..ETH + 22 + 2].copy_from_slice(&dport.to_be_bytes());
            let Verdict::Refuse(r) = g.check(&s, 1, Instant::now()) else { panic!() };
            let t = &r[ETH + 20..];
            prop_assert_eq!(u16::from_be_bytes([t[2], t[3]]), sport);
            prop_assert_eq!(u32::from_be_bytes([t[8], t[9], t[10], t[11]]), seq.wrapping_add(1));
        }
    }
}
