//! virtio-net with real backends: two devices joined by the QEMU-compatible socket
//! backend, a raw TCP peer speaking QEMU's framing, and libslirp's NAT (ARP with the
//! gateway, a forwarded host port reaching the guest).

mod common;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use common::{Driver, READ, WRITE};
use tern_devices::irq::LevelRecorder;
use tern_devices::virtio::net::{Net, NetBackend, NetState, NullBackend, F_MAC, F_STATUS, HDR_LEN};
use tern_devices::virtio::net_slirp::{
    HostFwd, SlirpBackend, SlirpOptions, SlirpState, GUEST, HOST,
};
use tern_devices::virtio::net_socket::SocketBackend;
use tern_devices::{Component, MmioDevice, Persist, PollWaker};

const MAC_A: [u8; 6] = [0x52, 0x54, 0, 0, 0, 0xa];
const MAC_B: [u8; 6] = [0x52, 0x54, 0, 0, 0, 0xb];

fn card(backend: Box<dyn NetBackend>, mac: [u8; 6]) -> Driver<Net> {
    let rec = LevelRecorder::new();
    let mut d = Driver::new(
        Net::new(backend, mac),
        common::new_ram(),
        rec.line(1),
        F_MAC | F_STATUS,
        64,
    );
    // Receive buffers, as Linux posts them (header + 1514-byte frame).
    for _ in 0..16 {
        let b = d.alloc(1526);
        d.add_chain(0, &[(b, 1526, WRITE)]);
    }
    d.kick(0);
    d
}

fn frame(dst: [u8; 6], src: [u8; 6], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

fn send(d: &mut Driver<Net>, f: &[u8]) {
    let mut pkt = vec![0u8; HDR_LEN];
    pkt.extend_from_slice(f);
    let a = d.data(&pkt);
    d.add_chain(1, &[(a, pkt.len() as u32, READ)]);
    d.kick(1);
    assert_eq!(d.used(1).len(), 1);
}

/// Polls until a frame arrives (or panics after 10 s); returns the frame.
fn receive(d: &mut Driver<Net>, waker: &PollWaker) -> Vec<u8> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        d.dev.poll();
        if let Some(&(id, len)) = d.used(0).first() {
            let q = &d.queues[0];
            let mut desc = [0u8; 16];
            d.ram.read(q.desc + 16 * u64::from(id), &mut desc).unwrap();
            let addr = u64::from_le_bytes(desc[0..8].try_into().unwrap());
            let pkt = d.read(addr, len as usize);
            assert_eq!(pkt[10], 1, "num_buffers");
            // Give the buffer back.
            d.add_chain(0, &[(addr, 1526, WRITE)]);
            d.kick(0);
            return pkt[HDR_LEN..].to_vec();
        }
        assert!(Instant::now() < deadline, "no frame arrived");
        waker.wait(Duration::from_millis(50));
    }
}

#[test]
fn two_cards_joined_by_the_socket_backend() {
    let (wa, wb) = (PollWaker::new(), PollWaker::new());
    let a = SocketBackend::listen("127.0.0.1:0", Some(wa.clone())).unwrap();
    let b = SocketBackend::connect(a.local_addr(), Some(wb.clone())).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !a.connected() {
        assert!(
            Instant::now() < deadline,
            "listener never saw the connection"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut da = card(Box::new(a), MAC_A);
    let mut db = card(Box::new(b), MAC_B);
    assert_eq!(da.dev.read(0x100, 4).unwrap(), 0x0000_5452);
    for i in 0..20u8 {
        let f = frame(MAC_B, MAC_A, 0x88b5, &vec![i; 46 + usize::from(i) * 50]);
        send(&mut da, &f);
        assert_eq!(receive(&mut db, &wb), f);
    }
    let big = frame(MAC_A, MAC_B, 0x88b5, &[0x77; 1500]);
    send(&mut db, &big);
    assert_eq!(receive(&mut da, &wa), big);
}

#[test]
fn qemu_framing_on_the_wire() {
    let w = PollWaker::new();
    let backend = SocketBackend::listen("127.0.0.1:0", Some(w.clone())).unwrap();
    let addr = backend.local_addr();
    let mut peer = TcpStream::connect(addr).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !backend.connected() {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut d = card(Box::new(backend), MAC_A);
    // Guest to peer: 4-byte big-endian length, then the frame.
    let f = frame([0xff; 6], MAC_A, 0x0806, &[1; 28]);
    send(&mut d, &f);
    let mut len = [0u8; 4];
    peer.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    peer.read_exact(&mut len).unwrap();
    assert_eq!(u32::from_be_bytes(len) as usize, f.len());
    let mut got = vec![0u8; f.len()];
    peer.read_exact(&mut got).unwrap();
    assert_eq!(got, f);
    // Peer to guest.
    let g = frame(MAC_A, [2; 6], 0x0800, &[9; 60]);
    peer.write_all(&(g.len() as u32).to_be_bytes()).unwrap();
    peer.write_all(&g).unwrap();
    assert_eq!(receive(&mut d, &w), g);
    // A peer sending an absurd length is cut off; the device carries on.
    peer.write_all(&u32::MAX.to_be_bytes()).unwrap();
    let mut rest = Vec::new();
    let _ = peer.read_to_end(&mut rest);
    d.dev.poll();
}

fn arp_request(sender_mac: [u8; 6], sender_ip: Ipv4Addr, target_ip: Ipv4Addr) -> Vec<u8> {
    let mut p = vec![0, 1, 8, 0, 6, 4, 0, 1];
    p.extend_from_slice(&sender_mac);
    p.extend_from_slice(&sender_ip.octets());
    p.extend_from_slice(&[0; 6]);
    p.extend_from_slice(&target_ip.octets());
    p.resize(46, 0);
    frame([0xff; 6], sender_mac, 0x0806, &p)
}

#[test]
fn slirp_answers_arp_and_forwards_host_ports() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let w = PollWaker::new();
    let opts = SlirpOptions {
        hostfwd: vec![format!("tcp:127.0.0.1:{port}-:22")
            .parse::<HostFwd>()
            .unwrap()],
        ..SlirpOptions::default()
    };
    let backend = SlirpBackend::new(opts, Some(w.clone())).unwrap();
    let mut d = card(Box::new(backend), MAC_A);
    send(&mut d, &arp_request(MAC_A, GUEST, HOST));
    let reply = receive(&mut d, &w);
    assert_eq!(&reply[0..6], &MAC_A);
    assert_eq!(&reply[12..14], &[0x08, 0x06]);
    assert_eq!(&reply[20..22], &[0, 2], "ARP reply");
    assert_eq!(&reply[28..32], &HOST.octets());
    // A host connection to the forwarded port becomes a SYN to the guest's port 22.
    let _client = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let syn = loop {
        let f = receive(&mut d, &w);
        if f[12..14] == [0x08, 0x00] && f[23] == 6 {
            break f;
        }
    };
    assert_eq!(&syn[30..34], &GUEST.octets());
    let ihl = usize::from(syn[14] & 0xf) * 4;
    assert_eq!(
        u16::from_be_bytes([syn[14 + ihl + 2], syn[14 + ihl + 3]]),
        22
    );
    assert_eq!(syn[14 + ihl + 13] & 0x02, 0x02, "SYN flag");
}

#[test]
fn slirp_reports_a_busy_forwarded_port() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let opts = SlirpOptions {
        hostfwd: vec![format!("tcp:127.0.0.1:{port}-:22").parse().unwrap()],
        ..SlirpOptions::default()
    };
    let err = SlirpBackend::new(opts, None)
        .err()
        .expect("the port is taken");
    assert!(err.to_string().contains(&port.to_string()), "{err}");
}

#[test]
fn slirp_state_is_saved_and_restored() {
    let w = PollWaker::new();
    let mut d = card(
        Box::new(SlirpBackend::new(SlirpOptions::default(), Some(w.clone())).unwrap()),
        MAC_A,
    );
    send(&mut d, &arp_request(MAC_A, GUEST, HOST));
    receive(&mut d, &w);
    let saved = d.dev.save_encoded().unwrap().expect("the card has state");
    let s = d.dev.save().unwrap();
    let n = s.device.clone().expect("virtio-net has state");
    let blob = n.backend.clone().expect("slirp saves its state");
    assert_eq!(tern_state::peek(&blob).unwrap(), ("slirp", 1));
    // A new VM on a new NAT continues.
    let w2 = PollWaker::new();
    let mut d2 = card(
        Box::new(SlirpBackend::new(SlirpOptions::default(), Some(w2.clone())).unwrap()),
        MAC_A,
    );
    d2.dev.restore_encoded(&saved).unwrap();
    // Corrupt states are refused with an error, not a crash.
    let libslirp_refuses = |stream: Vec<u8>, stream_version: i32| {
        tern_state::to_bytes(&SlirpState {
            stream_version,
            stream,
        })
        .unwrap()
    };
    let stream = tern_state::from_bytes::<SlirpState>(&blob).unwrap().stream;
    for (i, bad) in [
        vec![],
        vec![1, 2],
        blob[..blob.len() / 2].to_vec(),
        libslirp_refuses(stream.clone(), 99),
    ]
    .into_iter()
    .enumerate()
    {
        let mut s2 = s.clone();
        s2.device = Some(NetState {
            mac: MAC_A,
            backend: Some(bad),
        });
        let e = d2.dev.restore(&s2).expect_err(&format!("case {i}"));
        let e = e.to_string();
        assert!(e.starts_with("device: backend: "), "{e}");
    }
    // A card whose backend has no state refuses a saved slirp state, and the other
    // way round, naming both.
    let mut null = card(Box::new(NullBackend), MAC_A);
    let e = null.dev.restore_encoded(&saved).unwrap_err().to_string();
    assert_eq!(
        e,
        "device: backend: a slirp state was saved, but this card's backend has no state"
    );
    let plain = null.dev.save_encoded().unwrap().unwrap();
    let e = d2.dev.restore_encoded(&plain).unwrap_err().to_string();
    assert_eq!(
        e,
        "device: backend: this card's slirp backend has no saved state"
    );
}
