//! A minimal virtio driver for tests: it sets a device up through its MMIO registers
//! and builds split virtqueues by hand in a `GuestRam`, as a guest kernel would.

#![allow(dead_code)]

use std::sync::Arc;

use tern_devices::irq::IrqLine;
use tern_devices::virtio::mmio::status;
use tern_devices::virtio::{guest_memory, VirtioDevice, VirtioMmio};
use tern_devices::MmioDevice;
use tern_hart::GuestRam;

pub const RAM_BASE: u64 = 0x8000_0000;
pub const RAM_SIZE: u64 = 16 << 20;
/// Where queue `q`'s rings live.
pub fn ring_base(q: usize) -> u64 {
    RAM_BASE + 0x10_0000 + q as u64 * 0x1_0000
}
/// First address handed out for buffers.
const DATA_BASE: u64 = RAM_BASE + 0x20_0000;

/// A descriptor flag: device-writable.
pub const WRITE: bool = true;
/// A descriptor flag: device-readable.
pub const READ: bool = false;

pub struct QueueSetup {
    pub size: u16,
    pub desc: u64,
    pub avail: u64,
    pub used: u64,
    next_desc: u16,
    avail_idx: u16,
    used_seen: u16,
}

pub struct Driver<D: VirtioDevice> {
    pub dev: VirtioMmio<D>,
    pub ram: Arc<GuestRam>,
    pub queues: Vec<QueueSetup>,
    next_data: u64,
}

pub fn new_ram() -> Arc<GuestRam> {
    Arc::new(GuestRam::new(RAM_BASE, RAM_SIZE).unwrap())
}

pub fn r32<D: VirtioDevice>(dev: &mut VirtioMmio<D>, off: u64) -> u32 {
    dev.read(off, 4).unwrap() as u32
}

pub fn w32<D: VirtioDevice>(dev: &mut VirtioMmio<D>, off: u64, v: u32) {
    dev.write(off, 4, u64::from(v)).unwrap();
}

impl<D: VirtioDevice> Driver<D> {
    /// Resets and initializes the device, accepting `features` (plus VERSION_1), with
    /// `queue_size` entries per queue.
    pub fn new(
        device: D,
        ram: Arc<GuestRam>,
        irq: IrqLine,
        features: u64,
        queue_size: u16,
    ) -> Driver<D> {
        let mem = guest_memory(&ram).unwrap();
        let mut dev = VirtioMmio::new(device, mem, irq);
        assert_eq!(r32(&mut dev, 0), 0x7472_6976);
        assert_eq!(r32(&mut dev, 4), 2);
        w32(&mut dev, 0x70, 0);
        w32(&mut dev, 0x70, status::ACKNOWLEDGE);
        w32(&mut dev, 0x70, status::ACKNOWLEDGE | status::DRIVER);
        let features = features | (1 << 32);
        w32(&mut dev, 0x24, 0);
        w32(&mut dev, 0x20, features as u32);
        w32(&mut dev, 0x24, 1);
        w32(&mut dev, 0x20, (features >> 32) as u32);
        let st = status::ACKNOWLEDGE | status::DRIVER | status::FEATURES_OK;
        w32(&mut dev, 0x70, st);
        assert_eq!(
            r32(&mut dev, 0x70) & status::FEATURES_OK,
            status::FEATURES_OK
        );
        let nq = dev.device().queue_max_sizes().len();
        let mut queues = Vec::new();
        for q in 0..nq {
            w32(&mut dev, 0x30, q as u32);
            assert!(r32(&mut dev, 0x34) >= u32::from(queue_size));
            w32(&mut dev, 0x38, u32::from(queue_size));
            let base = ring_base(q);
            let (desc, avail, used) = (base, base + 0x4000, base + 0x8000);
            for (off, addr) in [(0x80, desc), (0x90, avail), (0xa0, used)] {
                w32(&mut dev, off, addr as u32);
                w32(&mut dev, off + 4, (addr >> 32) as u32);
            }
            w32(&mut dev, 0x44, 1);
            queues.push(QueueSetup {
                size: queue_size,
                desc,
                avail,
                used,
                next_desc: 0,
                avail_idx: 0,
                used_seen: 0,
            });
        }
        w32(&mut dev, 0x70, st | status::DRIVER_OK);
        Driver {
            dev,
            ram,
            queues,
            next_data: DATA_BASE,
        }
    }

    /// Reserves `len` bytes of buffer space (16-byte aligned), zeroed.
    pub fn alloc(&mut self, len: u64) -> u64 {
        let a = self.next_data;
        self.next_data = (a + len + 15) & !15;
        assert!(self.next_data < RAM_BASE + RAM_SIZE, "test RAM exhausted");
        self.ram.zero(a, len).unwrap();
        a
    }

    /// Reserves and fills a buffer.
    pub fn data(&mut self, bytes: &[u8]) -> u64 {
        let a = self.alloc(bytes.len() as u64);
        self.ram.write(a, bytes).unwrap();
        a
    }

    pub fn read(&self, addr: u64, len: usize) -> Vec<u8> {
        let mut v = vec![0u8; len];
        self.ram.read(addr, &mut v).unwrap();
        v
    }

    /// Writes a raw descriptor.
    pub fn put_desc(&self, q: usize, i: u16, addr: u64, len: u32, flags: u16, next: u16) {
        let mut d = [0u8; 16];
        d[0..8].copy_from_slice(&addr.to_le_bytes());
        d[8..12].copy_from_slice(&len.to_le_bytes());
        d[12..14].copy_from_slice(&flags.to_le_bytes());
        d[14..16].copy_from_slice(&next.to_le_bytes());
        self.ram
            .write(self.queues[q].desc + 16 * u64::from(i), &d)
            .unwrap();
    }

    /// Publishes `head` in the available ring (without notifying).
    pub fn publish(&mut self, q: usize, head: u16) {
        let s = &mut self.queues[q];
        let slot = s.avail + 4 + 2 * u64::from(s.avail_idx % s.size);
        self.ram.write(slot, &head.to_le_bytes()).unwrap();
        s.avail_idx = s.avail_idx.wrapping_add(1);
        self.ram
            .write(s.avail + 2, &s.avail_idx.to_le_bytes())
            .unwrap();
    }

    /// Builds a chain of `bufs` (address, length, device-writable), publishes it and
    /// returns its head.
    pub fn add_chain(&mut self, q: usize, bufs: &[(u64, u32, bool)]) -> u16 {
        let size = self.queues[q].size;
        let head = self.queues[q].next_desc;
        for (k, &(addr, len, writable)) in bufs.iter().enumerate() {
            let i = (head + k as u16) % size;
            let last = k + 1 == bufs.len();
            let flags = if last { 0 } else { 1 } | if writable { 2 } else { 0 };
            self.put_desc(q, i, addr, len, flags, (i + 1) % size);
        }
        self.queues[q].next_desc = (head + bufs.len() as u16) % size;
        self.publish(q, head);
        head
    }

    pub fn kick(&mut self, q: usize) {
        w32(&mut self.dev, 0x50, q as u32);
    }

    /// New used entries (id, len) of queue `q`.
    pub fn used(&mut self, q: usize) -> Vec<(u32, u32)> {
        let s = &mut self.queues[q];
        let mut idx = [0u8; 2];
        self.ram.read(s.used + 2, &mut idx).unwrap();
        let idx = u16::from_le_bytes(idx);
        let mut out = Vec::new();
        while s.used_seen != idx {
            let mut e = [0u8; 8];
            self.ram
                .read(s.used + 4 + 8 * u64::from(s.used_seen % s.size), &mut e)
                .unwrap();
            out.push((
                u32::from_le_bytes(e[0..4].try_into().unwrap()),
                u32::from_le_bytes(e[4..8].try_into().unwrap()),
            ));
            s.used_seen = s.used_seen.wrapping_add(1);
        }
        out
    }

    /// Acknowledges all interrupts.
    pub fn ack(&mut self) -> u32 {
        let st = r32(&mut self.dev, 0x60);
        w32(&mut self.dev, 0x64, st);
        st
    }
}
