//! Virtio devices (virtio 1.2) over the MMIO transport.
//!
//! [`mmio::VirtioMmio`] is the transport (§4.2): registers, feature negotiation,
//! queue set-up, interrupts, reset. Behind it sits one [`VirtioDevice`]: block
//! ([`blk`]), network ([`net`]), console ([`console`]) or entropy ([`rng`]). Split
//! virtqueues come from the `virtio-queue` crate over guest RAM seen through
//! [`memory`] (which keeps every device write in RAM's dirty and code-page tracking).
//!
//! A device never touches queues by itself: the transport calls it with a [`Queues`]
//! context when the driver notifies a queue and when the board polls, and the context
//! records used buffers, ring errors and configuration changes, from which the
//! transport derives the interrupt.

pub mod blk;
pub mod console;
pub mod disk;
pub mod disk_files;
pub mod memory;
pub mod mmio;
pub mod net;
#[cfg(feature = "user-net")]
pub mod net_flows;
pub mod net_rate;
pub mod net_slirp;
pub mod net_socket;
mod overlay;
pub mod rng;

use std::num::Wrapping;
use std::sync::atomic::Ordering;

use tern_state::{Persist, Versioned};
use virtio_queue::{DescriptorChain, Queue, QueueT};

pub use memory::{guest_memory, GuestMem};
pub use mmio::VirtioMmio;

/// Device type of a network card (§5.1).
pub const ID_NET: u32 = 1;
/// Device type of a block device (§5.2).
pub const ID_BLOCK: u32 = 2;
/// Device type of a console (§5.3).
pub const ID_CONSOLE: u32 = 3;
/// Device type of an entropy source (§5.4).
pub const ID_RNG: u32 = 4;

/// `VIRTIO_F_INDIRECT_DESC` (§6): indirect descriptor tables.
pub const F_INDIRECT_DESC: u64 = 1 << 28;
/// `VIRTIO_F_VERSION_1` (§6): a modern (non-legacy) device.
pub const F_VERSION_1: u64 = 1 << 32;

/// A chain borrowed from guest memory.
pub type Chain<'a> = DescriptorChain<&'a GuestMem>;

/// One device behind a virtio transport.
///
/// Its own state (beyond the transport's registers and queues) is its [`Persist`]
/// state, which the transport saves as a nested part of its own; a device without
/// state of its own uses [`tern_state::NoState`].
pub trait VirtioDevice: Send + Persist<State: Versioned> {
    /// Device type (§5): [`ID_NET`], [`ID_BLOCK`], ...
    fn device_type(&self) -> u32;

    /// Short name for error messages ("virtio-blk").
    fn name(&self) -> &'static str;

    /// Device-specific feature bits offered (the transport adds [`F_VERSION_1`] and
    /// [`F_INDIRECT_DESC`]).
    fn features(&self) -> u64;

    /// Maximum size of each virtqueue; the number of entries is the number of queues.
    fn queue_max_sizes(&self) -> &[u16];

    /// Device configuration space (§4.2.2 offset 0x100 onwards), little-endian.
    fn config(&self) -> Vec<u8>;

    /// A driver write to configuration space at `offset` (ignored by default).
    fn write_config(&mut self, _offset: u64, _data: &[u8]) {}

    /// The driver set `DRIVER_OK` with these negotiated features.
    fn activate(&mut self, _features: u64) {}

    /// The driver reset the device: forget per-session state (not configuration
    /// such as the disk image or the MAC address).
    fn reset(&mut self) {}

    /// The driver notified queue `queue` (only called while `DRIVER_OK` is set).
    fn notify(&mut self, queue: usize, queues: &mut Queues<'_>);

    /// Asynchronous input may be waiting (see [`crate::MmioDevice::poll`]). Called
    /// whatever the device status; [`Queues::active`] says whether queues may be used.
    fn poll(&mut self, _queues: &mut Queues<'_>) {}
}

/// The queues of a device during one notification or poll, and what happened to them.
pub struct Queues<'a> {
    mem: &'a GuestMem,
    queues: &'a mut [Queue],
    active: bool,
    /// Bit `i`: buffers were returned on queue `i`.
    used: u64,
    broken: Option<String>,
    config_changed: bool,
}

impl<'a> Queues<'a> {
    pub(crate) fn new(mem: &'a GuestMem, queues: &'a mut [Queue], active: bool) -> Queues<'a> {
        Queues {
            mem,
            queues,
            active,
            used: 0,
            broken: None,
            config_changed: false,
        }
    }

    /// Guest memory, for reading and writing buffers.
    pub fn mem(&self) -> &'a GuestMem {
        self.mem
    }

    /// Whether the driver finished set-up (`DRIVER_OK`) and the device is not broken:
    /// only then may buffers be taken.
    pub fn active(&self) -> bool {
        self.active && self.broken.is_none()
    }

    /// Checks that queue `q` may be used and returns how many chains are available.
    fn available(&mut self, q: usize) -> Option<u16> {
        if !self.active() {
            return None;
        }
        let queue = self.queues.get_mut(q)?;
        if !queue.ready() {
            return None;
        }
        if !queue.is_valid(self.mem) {
            self.broken = Some(format!("queue {q}: rings outside guest RAM"));
            return None;
        }
        let avail = match queue.avail_idx(self.mem, Ordering::Acquire) {
            Ok(i) => i,
            Err(e) => {
                self.broken = Some(format!("queue {q}: {e}"));
                return None;
            }
        };
        let n = (avail - Wrapping(queue.next_avail())).0;
        if n > queue.size() {
            self.broken = Some(format!(
                "queue {q}: available index {} runs {n} entries ahead of a {}-entry ring",
                avail.0,
                queue.size()
            ));
            return None;
        }
        Some(n)
    }

    /// Whether queue `q` has a chain available (without taking it).
    pub fn has_available(&mut self, q: usize) -> bool {
        self.available(q).is_some_and(|n| n > 0)
    }

    /// Takes the next available chain of queue `q`.
    pub fn pop(&mut self, q: usize) -> Option<Chain<'a>> {
        if self.available(q)? == 0 {
            return None;
        }
        let mem = self.mem;
        self.queues[q].pop_descriptor_chain(mem)
    }

    /// Returns the chain with head `head` to the driver on queue `q`, saying `len`
    /// bytes were written into it.
    pub fn add_used(&mut self, q: usize, head: u16, len: u32) {
        let Some(queue) = self.queues.get_mut(q) else {
            return;
        };
        match queue.add_used(self.mem, head, len) {
            Ok(()) => self.used |= 1 << q.min(63),
            Err(e) => self.broken = Some(format!("queue {q}: returning descriptor {head}: {e}")),
        }
    }

    /// Says the device configuration changed (§2.5.1): the transport bumps the
    /// configuration generation and sends a configuration change interrupt.
    pub fn config_changed(&mut self) {
        self.config_changed = true;
    }

    /// Whether the driver wants an interrupt for the buffers returned (§2.7.7.2).
    pub(crate) fn needs_interrupt(&mut self) -> bool {
        let mut any = false;
        for (q, queue) in self.queues.iter_mut().enumerate() {
            if self.used & (1 << q.min(63)) != 0 {
                // An unreadable ring gets an interrupt: the driver will find out.
                any |= queue.needs_notification(self.mem).unwrap_or(true);
            }
        }
        any
    }

    pub(crate) fn take_broken(&mut self) -> Option<String> {
        self.broken.take()
    }

    pub(crate) fn take_config_changed(&mut self) -> bool {
        std::mem::take(&mut self.config_changed)
    }
}

/// Copies `bytes` out of a little-endian configuration space at `offset` (zeros
/// outside it).
pub(crate) fn read_config_bytes(config: &[u8], offset: u64, size: usize) -> u64 {
    let mut v = [0u8; 8];
    for (i, b) in v.iter_mut().take(size).enumerate() {
        if let Some(&c) = usize::try_from(offset)
            .ok()
            .and_then(|o| o.checked_add(i))
            .and_then(|o| config.get(o))
        {
            *b = c;
        }
    }
    u64::from_le_bytes(v)
}
