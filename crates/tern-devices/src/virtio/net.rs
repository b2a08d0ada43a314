//! virtio-net (virtio 1.2 §5.1), device type 1: one receive queue (0) and one
//! transmit queue (1), with pluggable host backends ([`NetBackend`]): user-mode NAT
//! ([`super::net_slirp`]) or QEMU-compatible TCP sockets ([`super::net_socket`]).
//!
//! Offered features: `VIRTIO_NET_F_MAC` (default MAC 52:54:00:12:34:56, as QEMU) and
//! `VIRTIO_NET_F_STATUS` (link up). No offloads and no mergeable receive buffers: each
//! packet is a 12-byte `virtio_net_hdr` (§5.1.6, `num_buffers` = 1) and one Ethernet
//! frame of at most [`MAX_FRAME`] bytes, in one chain.
//!
//! # Threads
//!
//! Backends receive on their own threads. They never touch the device: they push
//! frames into a bounded [`FrameQueue`] (dropping frames when it is full, as a congested
//! network does) and wake the board's [`PollWaker`]; the board then calls
//! [`crate::MmioDevice::poll`] under its device lock, which moves frames into the
//! guest's receive buffers. Receive buffers the guest adds later (a notification on
//! queue 0) also take waiting frames. Sending never blocks the vCPU: backends hand
//! frames to a bounded writer and drop them when the peer is too slow.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tern_state::{peek, Component, Decoder, Encoder, NoState, Persist, StateError, Versioned};

use super::{Queues, VirtioDevice, ID_NET};
use crate::PollWaker;

/// `VIRTIO_NET_F_MAC`.
pub const F_MAC: u64 = 1 << 5;
/// `VIRTIO_NET_F_STATUS`.
pub const F_STATUS: u64 = 1 << 16;
/// Link up bit of the config `status` field.
const LINK_UP: u16 = 1;
/// Size of `struct virtio_net_hdr` with `num_buffers` (always present in virtio 1.x).
pub const HDR_LEN: usize = 12;
/// Largest frame accepted from either side: 64 KiB plus an Ethernet header, the
/// bound QEMU uses (`NET_BUFSIZE`).
pub const MAX_FRAME: usize = 4096 + 65536;
/// Queue size offered.
pub const QUEUE_SIZE: u16 = 256;
/// QEMU's default MAC address.
pub const DEFAULT_MAC: [u8; 6] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
const RX: usize = 0;
const TX: usize = 1;

/// A host side of the guest's network card.
///
/// Its state (libslirp's NAT table; nothing for a socket link) is its [`Persist`]
/// state, which the card saves as a nested part of its own through the [`Component`]
/// view.
pub trait NetBackend: Send + Component {
    /// Sends one Ethernet frame from the guest. Never blocks; may drop the frame.
    fn send(&mut self, frame: &[u8]);

    /// Takes the next frame for the guest, if one arrived. Never blocks.
    fn recv(&mut self) -> Option<Vec<u8>>;
}

/// Frames received by a backend thread, waiting for the guest. Bounded.
#[derive(Clone, Debug)]
pub struct FrameQueue {
    inner: Arc<Mutex<VecDeque<Vec<u8>>>>,
    limit: usize,
    dropped: Arc<AtomicU64>,
    waker: Option<PollWaker>,
}

impl FrameQueue {
    /// A queue of at most `limit` frames that wakes `waker` on arrival.
    pub fn new(limit: usize, waker: Option<PollWaker>) -> FrameQueue {
        FrameQueue {
            inner: Arc::default(),
            limit,
            dropped: Arc::default(),
            waker,
        }
    }

    /// Queues a frame (dropping it if the queue is full or it is too large).
    pub fn push(&self, frame: Vec<u8>) {
        let queued = {
            let mut q = self.inner.lock().unwrap_or_else(|e| e.into_inner());
            if q.len() < self.limit && frame.len() <= MAX_FRAME {
                q.push_back(frame);
                true
            } else {
                false
            }
        };
        if !queued {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        } else if let Some(w) = &self.waker {
            w.wake();
        }
    }

    /// Takes the oldest frame.
    pub fn pop(&self) -> Option<Vec<u8>> {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop_front()
    }

    /// Frames dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// A backend that goes nowhere: frames sent are dropped, nothing arrives.
#[derive(Debug, Default)]
pub struct NullBackend;

impl NetBackend for NullBackend {
    fn send(&mut self, _frame: &[u8]) {}

    fn recv(&mut self) -> Option<Vec<u8>> {
        None
    }
}

impl Persist for NullBackend {
    type State = NoState;

    fn save(&self) -> Result<NoState, StateError> {
        Ok(NoState)
    }

    fn restore(&mut self, _state: &NoState) -> Result<(), StateError> {
        Ok(())
    }
}

/// Saved virtio-net state (frames in flight on the host side are not guest state:
/// they are lost like packets on a wire).
///
/// Encoded (version 1) as a base holding the MAC address and a part `backend`
/// holding the backend's state in its own kind and version, written when the backend
/// has state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetState {
    /// The MAC address.
    pub mac: [u8; 6],
    /// The backend's encoded state ([`Component::save_encoded`]), if it has one.
    pub backend: Option<Vec<u8>>,
}

impl Versioned for NetState {
    const KIND: &'static str = "virtio-net";
    const VERSION: u32 = 1;

    fn encode(&self, out: &mut Encoder) {
        out.base(&self.mac);
        if let Some(b) = &self.backend {
            out.encoded_part("backend", b.clone());
        }
    }

    fn decode(input: &mut Decoder<'_>) -> Result<Self, StateError> {
        Ok(NetState {
            mac: input.base()?,
            backend: input.encoded_part("backend").map(<[u8]>::to_vec),
        })
    }
}

impl Persist for Net {
    type State = NetState;

    fn save(&self) -> Result<NetState, StateError> {
        Ok(NetState {
            mac: self.mac,
            backend: self
                .backend
                .save_encoded()
                .map_err(|e| e.within("backend"))?,
        })
    }

    /// Restores the MAC address and the backend's state; a backend with state must
    /// find one, and a saved backend state a backend that has state.
    fn restore(&mut self, state: &NetState) -> Result<(), StateError> {
        match (&state.backend, self.backend.state_kind()) {
            (Some(b), Some(_)) => self
                .backend
                .restore_encoded(b)
                .map_err(|e| e.within("backend"))?,
            (Some(b), None) => {
                let kind = peek(b).map_or("unreadable", |(k, _)| k);
                return Err(StateError::mismatch(format!(
                    "backend: a {kind} state was saved, but this card's backend has no state"
                )));
            }
            (None, Some(kind)) => {
                return Err(StateError::mismatch(format!(
                    "backend: this card's {kind} backend has no saved state"
                )))
            }
            (None, None) => {}
        }
        self.mac = state.mac;
        self.rx_pending = None;
        // The card may now be on another host (a migration, a snapshot restored
        // elsewhere): it says where it is, as QEMU does after loading a VM.
        self.backend.send(&announcement(self.mac));
        Ok(())
    }
}

/// The frame a card sends after a restore so that switches learn its new port: a
/// RARP request (ethertype 0x8035, RFC 903) from and about its own address,
/// broadcast, padded to the 60-byte minimum (what QEMU's self-announce sends).
pub fn announcement(mac: [u8; 6]) -> Vec<u8> {
    let mut f = Vec::with_capacity(60);
    f.extend_from_slice(&[0xff; 6]);
    f.extend_from_slice(&mac);
    f.extend_from_slice(&[0x80, 0x35]); // RARP
    f.extend_from_slice(&[0x00, 0x01]); // hardware: Ethernet
    f.extend_from_slice(&[0x08, 0x00]); // protocol: IPv4
    f.extend_from_slice(&[6, 4]); // address lengths
    f.extend_from_slice(&[0x00, 0x03]); // reverse request
    f.extend_from_slice(&mac); // sender hardware address
    f.extend_from_slice(&[0; 4]); // sender protocol address
    f.extend_from_slice(&mac); // target hardware address
    f.extend_from_slice(&[0; 4]); // target protocol address
    f.resize(60, 0);
    f
}

/// A virtio network card.
pub struct Net {
    backend: Box<dyn NetBackend>,
    mac: [u8; 6],
    /// A frame taken from the backend while the guest had no receive buffer.
    rx_pending: Option<Vec<u8>>,
    queue_sizes: [u16; 2],
    /// The bandwidth limit, if any ([`super::net_rate`]).
    rate: Option<super::net_rate::RateLimit>,
}

impl Net {
    /// A card with address `mac` on `backend`.
    pub fn new(backend: Box<dyn NetBackend>, mac: [u8; 6]) -> Net {
        Net {
            backend,
            mac,
            rx_pending: None,
            queue_sizes: [QUEUE_SIZE; 2],
            rate: None,
        }
    }

    /// The same card limited to `kbps` kilobits per second each way.
    pub fn with_rate_limit(mut self, kbps: u64) -> Net {
        self.rate = Some(super::net_rate::RateLimit::new(kbps));
        self
    }

    /// The MAC address.
    pub fn mac(&self) -> [u8; 6] {
        self.mac
    }

    /// Moves waiting frames into receive buffers while both exist.
    fn receive(&mut self, queues: &mut Queues<'_>) {
        if !queues.active() {
            // Nobody listens yet: frames are dropped, as on an unplugged cable.
            self.rx_pending = None;
            for _ in 0..4 * QUEUE_SIZE {
                if self.backend.recv().is_none() {
                    break;
                }
            }
            return;
        }
        let mem = queues.mem();
        for _ in 0..QUEUE_SIZE {
            if let Some(r) = &mut self.rate {
                if !r.rx.ready() {
                    return;
                }
            }
            let Some(frame) = self.rx_pending.take().or_else(|| self.backend.recv()) else {
                return;
            };
            let Some(chain) = queues.pop(RX) else {
                self.rx_pending = Some(frame);
                return;
            };
            let head = chain.head_index();
            let mut hdr = [0u8; HDR_LEN];
            hdr[10] = 1; // num_buffers
            let written = match chain.writer(mem) {
                Ok(mut w) if w.available_bytes() >= HDR_LEN + frame.len() => {
                    match w.write_all(&hdr).and_then(|_| w.write_all(&frame)) {
                        Ok(()) => (HDR_LEN + frame.len()) as u32,
                        Err(_) => 0,
                    }
                }
                // A buffer too small (or outside RAM) loses this frame.
                _ => 0,
            };
            if let Some(r) = &mut self.rate {
                r.rx.take(frame.len());
            }
            queues.add_used(RX, head, written);
        }
    }

    /// Sends every frame the guest queued.
    fn transmit(&mut self, queues: &mut Queues<'_>) {
        let mem = queues.mem();
        let mut frame = Vec::new();
        for _ in 0..QUEUE_SIZE {
            if let Some(r) = &mut self.rate {
                if !r.tx.ready() {
                    return;
                }
            }
            let Some(chain) = queues.pop(TX) else {
                return;
            };
            let head = chain.head_index();
            if let Ok(mut r) = chain.reader(mem) {
                let len = r.available_bytes();
                if (HDR_LEN..=HDR_LEN + MAX_FRAME).contains(&len) {
                    frame.clear();
                    frame.resize(len, 0);
                    if r.read_exact(&mut frame).is_ok() {
                        self.backend.send(&frame[HDR_LEN..]);
                        if let Some(rate) = &mut self.rate {
                            rate.tx.take(len - HDR_LEN);
                        }
                    }
                }
            }
            queues.add_used(TX, head, 0);
        }
    }
}

impl VirtioDevice for Net {
    fn device_type(&self) -> u32 {
        ID_NET
    }

    fn name(&self) -> &'static str {
        "virtio-net"
    }

    fn features(&self) -> u64 {
        F_MAC | F_STATUS
    }

    fn queue_max_sizes(&self) -> &[u16] {
        &self.queue_sizes
    }

    /// `struct virtio_net_config` (§5.1.4): mac, status, max_virtqueue_pairs.
    fn config(&self) -> Vec<u8> {
        let mut c = vec![0u8; 12];
        c[0..6].copy_from_slice(&self.mac);
        c[6..8].copy_from_slice(&LINK_UP.to_le_bytes());
        c[8..10].copy_from_slice(&1u16.to_le_bytes());
        c
    }

    fn reset(&mut self) {
        self.rx_pending = None;
    }

    fn notify(&mut self, queue: usize, queues: &mut Queues<'_>) {
        match queue {
            RX => self.receive(queues),
            TX => {
                self.transmit(queues);
                // Replies (from slirp) may already be waiting.
                self.receive(queues);
            }
            _ => {}
        }
    }

    fn poll(&mut self, queues: &mut Queues<'_>) {
        if self.rate.is_some() && queues.active() {
            // Frames held back by the limit since the guest's last notification.
            self.transmit(queues);
        }
        self.receive(queues);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_card_state_without_a_backend_part_decodes() {
        let mut card = Net::new(Box::new(NullBackend), [2, 0, 0, 0, 0, 1]);
        let s = card.save().unwrap();
        assert_eq!(s.backend, None);
        let bytes = tern_state::to_bytes(&s).unwrap();
        let back: NetState = tern_state::from_bytes(&bytes).unwrap();
        assert_eq!(back, s);
        card.restore(&back).unwrap();
    }

    /// Keeps what the card sends.
    #[derive(Clone, Default)]
    struct Wire(Arc<Mutex<Vec<Vec<u8>>>>);

    impl NetBackend for Wire {
        fn send(&mut self, frame: &[u8]) {
            self.0.lock().unwrap().push(frame.to_vec());
        }

        fn recv(&mut self) -> Option<Vec<u8>> {
            None
        }
    }

    impl Persist for Wire {
        type State = NoState;

        fn save(&self) -> Result<NoState, StateError> {
            Ok(NoState)
        }

        fn restore(&mut self, _state: &NoState) -> Result<(), StateError> {
            Ok(())
        }
    }

    #[test]
    fn a_restored_card_announces_its_address_with_a_rarp_request() {
        let mac = [0x52, 0x54, 0x00, 0x12, 0x34, 0x99];
        let wire = Wire::default();
        let mut card = Net::new(Box::new(wire.clone()), mac);
        let s = card.save().unwrap();
        assert!(
            wire.0.lock().unwrap().is_empty(),
            "nothing sent before the restore"
        );
        card.restore(&s).unwrap();
        let sent = wire.0.lock().unwrap().clone();
        assert_eq!(sent.len(), 1);
        let f = &sent[0];
        assert_eq!(f.len(), 60);
        assert_eq!(&f[0..6], &[0xff; 6], "broadcast");
        assert_eq!(&f[6..12], &mac, "from the card");
        assert_eq!(&f[12..14], &[0x80, 0x35], "RARP");
        assert_eq!(&f[20..22], &[0, 3], "reverse request");
        assert_eq!(&f[22..28], &mac);
        assert_eq!(&f[32..38], &mac);
    }
}
