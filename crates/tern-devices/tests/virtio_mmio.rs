//! The virtio-mmio transport's registers (feature negotiation, queue set-up, reset,
//! broken rings, save/restore), and the console and entropy devices.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::{new_ram, r32, w32, Driver, READ, WRITE};
use tern_devices::irq::{IrqLine, LevelRecorder};
use tern_devices::virtio::blk::{req, status as blk_status, Blk, BlkState};
use tern_devices::virtio::console::Console;
use tern_devices::virtio::disk::MemDisk;
use tern_devices::virtio::mmio::{status, VirtioMmioState};
use tern_devices::virtio::rng::{Rng, MAX_PER_REQUEST};
use tern_devices::virtio::{guest_memory, VirtioMmio};
use tern_devices::{Component, MmioDevice, Persist, PollWaker};

fn blk() -> Blk {
    Blk::new(
        Box::new(MemDisk {
            data: vec![0; 8192],
        }),
        false,
        "",
    )
}

#[test]
fn identification_and_odd_accesses() {
    let ram = new_ram();
    let mut d = VirtioMmio::new(blk(), guest_memory(&ram).unwrap(), IrqLine::disconnected());
    assert_eq!(r32(&mut d, 0x000), 0x7472_6976);
    assert_eq!(r32(&mut d, 0x004), 2);
    assert_eq!(r32(&mut d, 0x008), 2);
    w32(&mut d, 0x014, 1);
    assert_eq!(r32(&mut d, 0x010), 1, "VIRTIO_F_VERSION_1");
    w32(&mut d, 0x014, 7);
    assert_eq!(r32(&mut d, 0x010), 0);
    assert_eq!(r32(&mut d, 0x034), 256);
    w32(&mut d, 0x030, 5);
    assert_eq!(r32(&mut d, 0x034), 0, "no such queue");
    assert_eq!(r32(&mut d, 0x0b0), u32::MAX, "no shared memory");
    assert_eq!(
        d.read(0x000, 2).unwrap(),
        0,
        "registers take 32-bit accesses"
    );
    d.write(0x070, 1, 0xff).unwrap();
    assert_eq!(r32(&mut d, 0x070), 0);
    assert!(d.read(0x1000, 4).is_err());
    assert!(d.read(0x100, 3).is_err());
    // Configuration space: any width; beyond the structure reads zero.
    assert_eq!(d.read(0x100, 1).unwrap(), 16);
    assert_eq!(d.read(0x800, 8).unwrap(), 0);
}

#[test]
fn feature_negotiation() {
    let ram = new_ram();
    let mut d = VirtioMmio::new(blk(), guest_memory(&ram).unwrap(), IrqLine::disconnected());
    let negotiate = |d: &mut VirtioMmio<Blk>, lo: u32, hi: u32| {
        w32(d, 0x070, 0);
        w32(d, 0x070, status::ACKNOWLEDGE | status::DRIVER);
        w32(d, 0x024, 0);
        w32(d, 0x020, lo);
        w32(d, 0x024, 1);
        w32(d, 0x020, hi);
        w32(
            d,
            0x070,
            status::ACKNOWLEDGE | status::DRIVER | status::FEATURES_OK,
        );
        r32(d, 0x070) & status::FEATURES_OK != 0
    };
    assert!(negotiate(&mut d, 1 << 9, 1));
    assert!(!negotiate(&mut d, 1 << 9, 0), "VERSION_1 is required");
    assert!(!negotiate(&mut d, 1 << 30, 1), "not offered");
    assert!(negotiate(&mut d, 0, 1));
    // DRIVER_OK without FEATURES_OK is refused.
    w32(&mut d, 0x070, 0);
    w32(
        &mut d,
        0x070,
        status::ACKNOWLEDGE | status::DRIVER | status::DRIVER_OK,
    );
    assert_eq!(r32(&mut d, 0x070) & status::DRIVER_OK, 0);
}

#[test]
fn queue_setup_rules() {
    let ram = new_ram();
    let mut d = VirtioMmio::new(blk(), guest_memory(&ram).unwrap(), IrqLine::disconnected());
    w32(&mut d, 0x030, 0);
    w32(&mut d, 0x038, 100);
    w32(&mut d, 0x080, 0x8010_0008);
    let s = d.save().unwrap();
    assert_eq!(s.queues[0].size, 256, "size 100 is not a power of two");
    assert_eq!(
        s.queues[0].desc_table, 0,
        "descriptor table must be 16-byte aligned"
    );
    w32(&mut d, 0x038, 64);
    w32(&mut d, 0x044, 1);
    assert_eq!(r32(&mut d, 0x044), 1);
    w32(&mut d, 0x038, 32);
    assert_eq!(
        d.save().unwrap().queues[0].size,
        64,
        "ready queues keep their size"
    );
}

#[test]
fn rings_outside_ram_need_a_reset() {
    let rec = LevelRecorder::new();
    let mut d = Driver::new(blk(), new_ram(), rec.line(3), 0, 16);
    // Move the used ring out of RAM behind the device's back.
    w32(&mut d.dev, 0x030, 0);
    let mut s = d.dev.save().unwrap();
    s.queues[0].used_ring = 0x1000;
    d.dev.restore(&s).unwrap();
    let h = d.data(&[0; 16]);
    let st = d.alloc(1);
    d.add_chain(0, &[(h, 16, READ), (st, 1, WRITE)]);
    d.kick(0);
    assert_ne!(r32(&mut d.dev, 0x070) & status::DEVICE_NEEDS_RESET, 0);
    assert_eq!(
        r32(&mut d.dev, 0x060) & 2,
        2,
        "configuration change interrupt"
    );
    assert!(rec.level(3));
    w32(&mut d.dev, 0x070, 0);
    assert_eq!(r32(&mut d.dev, 0x070), 0);
    assert_eq!(r32(&mut d.dev, 0x060), 0);
    assert!(!rec.level(3));
    assert_eq!(r32(&mut d.dev, 0x044), 0, "reset queues are not ready");
}

#[test]
fn an_available_index_running_ahead_needs_a_reset() {
    let mut d = Driver::new(blk(), new_ram(), IrqLine::disconnected(), 0, 16);
    let avail = d.queues[0].avail;
    d.ram.write(avail + 2, &100u16.to_le_bytes()).unwrap();
    d.kick(0);
    assert_ne!(r32(&mut d.dev, 0x070) & status::DEVICE_NEEDS_RESET, 0);
    // Further notifications do nothing until the reset.
    d.kick(0);
    assert!(d.used(0).is_empty());
}

#[test]
fn save_restore_between_requests() {
    let mut d = Driver::new(blk(), new_ram(), IrqLine::disconnected(), 0, 16);
    let request = |d: &mut Driver<Blk>, sector: u64, data: &[u8]| {
        let mut h = vec![0u8; 16];
        h[0..4].copy_from_slice(&req::OUT.to_le_bytes());
        h[8..16].copy_from_slice(&sector.to_le_bytes());
        let h = d.data(&h);
        let a = d.data(data);
        let st = d.alloc(1);
        d.add_chain(
            0,
            &[(h, 16, READ), (a, data.len() as u32, READ), (st, 1, WRITE)],
        );
        d.kick(0);
        d.read(st, 1)[0]
    };
    assert_eq!(request(&mut d, 1, &[1; 512]), blk_status::OK);
    let saved = d
        .dev
        .save_encoded()
        .unwrap()
        .expect("the transport has state");
    let s = d.dev.save().unwrap();
    assert_eq!(s.queues[0].next_avail, 1);
    // A new device over the same RAM continues the ring where the old one stopped.
    let mut fresh = VirtioMmio::new(
        blk(),
        guest_memory(&d.ram).unwrap(),
        IrqLine::disconnected(),
    );
    fresh.restore_encoded(&saved).unwrap();
    d.dev = fresh;
    assert_eq!(request(&mut d, 2, &[2; 512]), blk_status::OK);
    assert_eq!(d.used(0).len(), 2);
    // States of other devices or sizes are refused with a message.
    let mut small = VirtioMmio::new(
        Blk::new(Box::new(MemDisk { data: vec![0; 512] }), false, ""),
        guest_memory(&d.ram).unwrap(),
        IrqLine::disconnected(),
    );
    let err = small.restore_encoded(&saved).unwrap_err().to_string();
    assert_eq!(err, "device: the saved disk has 16 sectors, this one 1");
    let mut rng = VirtioMmio::new(
        Rng::new().unwrap(),
        guest_memory(&d.ram).unwrap(),
        IrqLine::disconnected(),
    );
    let err = rng.restore_encoded(&saved).unwrap_err().to_string();
    assert_eq!(
        err,
        "a virtio-blk state was saved for the device, which has none here"
    );
    // A state without the optional `select` part (all selectors zero) decodes.
    let mut plain = s.clone();
    plain.queue_sel = 0;
    let bytes = tern_state::to_bytes(&plain).unwrap();
    assert!(bytes.len() < saved.len() || s.queue_sel == 0);
    let back: VirtioMmioState<BlkState> = tern_state::from_bytes(&bytes).unwrap();
    assert_eq!(back, plain);
}

#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn console_output_and_input() {
    let out = Sink::default();
    let waker = PollWaker::new();
    let rec = LevelRecorder::new();
    let console = Console::new(Box::new(out.clone()), Some(waker.clone()));
    let input = console.input();
    let mut d = Driver::new(console, new_ram(), rec.line(4), 0, 16);
    assert_eq!(r32(&mut d.dev, 0x008), 3);
    let a = d.data(b"hello, ");
    let b = d.data(b"world\n");
    d.add_chain(1, &[(a, 7, READ), (b, 6, READ)]);
    d.kick(1);
    assert_eq!(&out.0.lock().unwrap()[..], b"hello, world\n");
    assert_eq!(d.used(1).len(), 1);
    // Input waits for a receive buffer.
    assert_eq!(input.push(b"ls -l\n"), 6);
    assert!(waker.take());
    d.dev.poll();
    let rx = d.alloc(4);
    d.add_chain(0, &[(rx, 4, WRITE)]);
    d.kick(0);
    assert_eq!(d.used(0), vec![(0, 4)]);
    assert_eq!(d.read(rx, 4), b"ls -");
    let rx2 = d.alloc(64);
    d.add_chain(0, &[(rx2, 64, WRITE)]);
    d.dev.poll();
    assert_eq!(d.used(0), vec![(1, 2)]);
    assert_eq!(d.read(rx2, 2), b"l\n");
    assert!(rec.level(4));
}

#[test]
fn rng_fills_buffers_up_to_a_bound() {
    let rng = Rng::with_source(Box::new(std::io::repeat(0x5a)));
    let mut d = Driver::new(rng, new_ram(), IrqLine::disconnected(), 0, 16);
    assert_eq!(r32(&mut d.dev, 0x008), 4);
    let a = d.alloc(32);
    d.add_chain(0, &[(a, 32, WRITE)]);
    let big = d.alloc(1 << 20);
    d.add_chain(0, &[(big, 1 << 20, WRITE)]);
    d.kick(0);
    assert_eq!(d.used(0), vec![(0, 32), (1, MAX_PER_REQUEST as u32)]);
    assert_eq!(d.read(a, 32), vec![0x5a; 32]);
    // Host randomness really is random.
    let mut d = Driver::new(
        Rng::new().unwrap(),
        new_ram(),
        IrqLine::disconnected(),
        0,
        16,
    );
    let a = d.alloc(64);
    d.add_chain(0, &[(a, 64, WRITE)]);
    d.kick(0);
    assert_ne!(d.read(a, 64), vec![0; 64]);
}
