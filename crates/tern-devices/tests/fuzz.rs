//! Property tests: random register accesses against every device model, and random
//! (mostly malformed) descriptor chains against every virtio device. The properties
//! are DESIGN.md invariant 3: no host panic, and host memory stays bounded (measured by
//! a counting allocator, per thread, so parallel tests do not disturb each other).

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::Arc;

use proptest::prelude::*;
use tern_devices::clint::Clint;
use tern_devices::goldfish_rtc::GoldfishRtc;
use tern_devices::irq::LevelRecorder;
use tern_devices::plic::{Plic, VIRT_NUM_SOURCES};
use tern_devices::syscon::{PowerControl, Syscon};
use tern_devices::uart::Uart;
use tern_devices::virtio::blk::Blk;
use tern_devices::virtio::console::Console;
use tern_devices::virtio::disk::MemDisk;
use tern_devices::virtio::net::{Net, NetBackend, DEFAULT_MAC};
use tern_devices::virtio::rng::Rng;
use tern_devices::virtio::{guest_memory, VirtioDevice, VirtioMmio};
use tern_devices::{MmioDevice, Persist, StateError};
use tern_hart::{ClockMode, GuestRam, IrqLines, VirtualClock};
use tern_state::NoState;

struct Counting;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn account(delta: isize) {
    let _ = LIVE.try_with(|l| {
        let v = l.get() + delta;
        l.set(v);
        let _ = PEAK.try_with(|p| p.set(p.get().max(v)));
    });
}

// SAFETY: every call is forwarded to the system allocator unchanged; the counters are
// plain thread-local cells that never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        account(layout.size() as isize);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        account(-(layout.size() as isize));
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        account(new_size as isize - layout.size() as isize);
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Host heap a test case may use beyond what it started with.
const HEAP_BOUND: isize = 32 << 20;

/// Runs `f`, failing if it grew this thread's heap by more than [`HEAP_BOUND`].
fn bounded<T>(f: impl FnOnce() -> T) -> T {
    let start = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(start));
    let r = f();
    let peak = PEAK.with(Cell::get);
    assert!(
        peak - start <= HEAP_BOUND,
        "heap grew by {} bytes",
        peak - start
    );
    r
}

/// One register access.
#[derive(Clone, Debug)]
struct Access {
    write: bool,
    offset: u64,
    size: u8,
    value: u64,
}

fn access(window: u64) -> impl Strategy<Value = Access> {
    (
        any::<bool>(),
        prop_oneof![
            0..window.min(0x200),
            0..window,
            0..window + 0x100,
            any::<u64>()
        ],
        prop_oneof![Just(1u8), Just(2), Just(4), Just(8), any::<u8>()],
        prop_oneof![
            any::<u64>(),
            0u64..4,
            Just(0x5555),
            Just(0x3333 | (7 << 16))
        ],
    )
        .prop_map(|(write, offset, size, value)| Access {
            write,
            offset,
            size,
            value,
        })
}

fn run(dev: &mut dyn MmioDevice, accesses: &[Access]) {
    for a in accesses {
        if a.write {
            let _ = dev.write(a.offset, a.size, a.value);
        } else {
            let _ = dev.read(a.offset, a.size);
        }
        if a.value % 7 == 0 {
            dev.poll();
        }
    }
    // Still alive, and state round-trips.
    let s = dev
        .save_encoded()
        .unwrap()
        .expect("every device here has state");
    dev.restore_encoded(&s).unwrap();
}

/// A network backend that hands the guest scripted frames (some too large).
struct Script(Vec<Vec<u8>>);

impl NetBackend for Script {
    fn send(&mut self, _frame: &[u8]) {}
    fn recv(&mut self) -> Option<Vec<u8>> {
        self.0.pop()
    }
}

impl Persist for Script {
    type State = NoState;
    fn save(&self) -> Result<NoState, StateError> {
        Ok(NoState)
    }
    fn restore(&mut self, _: &NoState) -> Result<(), StateError> {
        Ok(())
    }
}

fn ram() -> Arc<GuestRam> {
    common::new_ram()
}

fn virtio<D: VirtioDevice>(d: D, ram: &Arc<GuestRam>) -> VirtioMmio<D> {
    VirtioMmio::new(d, guest_memory(ram).unwrap(), LevelRecorder::new().line(1))
}

fn blk() -> Blk {
    Blk::new(
        Box::new(MemDisk {
            data: vec![0; 64 * 1024],
        }),
        false,
        "fuzz",
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn random_register_accesses(accesses in prop::collection::vec(access(0x1000), 1..200), which in 0usize..9) {
        bounded(|| {
            let ram = ram();
            let mut dev = device(which, &ram);
            // PLIC and CLINT windows are larger than 4 KiB: spread offsets over them.
            let scale = if which == 0 { 0x200 } else if which == 4 { 16 } else { 1 };
            let accesses: Vec<Access> = accesses
                .into_iter()
                .map(|a| Access { offset: a.offset.wrapping_mul(scale), ..a })
                .collect();
            run(dev.as_mut(), &accesses);
        });
    }

    /// A device's saved state with bytes flipped is refused, or restores a device that
    /// keeps working: never a panic, never unbounded memory.
    #[test]
    fn damaged_device_states_are_refused_or_harmless(
        accesses in prop::collection::vec(access(0x1000), 1..100),
        flips in prop::collection::vec((any::<u16>(), 1u8..=255), 1..4),
        which in 0usize..9,
    ) {
        bounded(|| {
            let ram = ram();
            let mut dev = device(which, &ram);
            run(dev.as_mut(), &accesses);
            let mut bytes = dev.save_encoded().unwrap().expect("every device here has state");
            for &(at, xor) in &flips {
                let i = usize::from(at) % bytes.len();
                bytes[i] ^= xor;
            }
            let mut fresh = device(which, &ram);
            if fresh.restore_encoded(&bytes).is_ok() {
                run(fresh.as_mut(), &accesses);
            }
        });
    }
}

/// Device `which` (0..9): every device model, virtio ones on `ram`.
fn device(which: usize, ram: &Arc<GuestRam>) -> Box<dyn MmioDevice> {
    let lines: Vec<_> = (0..2).map(|_| Arc::new(IrqLines::new())).collect();
    let clock = Arc::new(VirtualClock::new(ClockMode::Instructions(1)));
    let rec = LevelRecorder::new();
    match which {
        0 => Box::new(Plic::new(VIRT_NUM_SOURCES, &lines)),
        1 => Box::new(Uart::new(Box::new(std::io::sink()), rec.line(10), None)),
        2 => Box::new(Syscon::new(PowerControl::new(None))),
        3 => Box::new(GoldfishRtc::new(clock.clone(), rec.line(11))),
        4 => Box::new(Clint::new(lines.clone(), clock.clone())),
        5 => Box::new(virtio(blk(), ram)),
        6 => Box::new(virtio(
            Net::new(
                Box::new(Script(vec![vec![1; 100], vec![2; 1 << 20]])),
                DEFAULT_MAC,
            ),
            ram,
        )),
        7 => Box::new(virtio(Console::new(Box::new(std::io::sink()), None), ram)),
        _ => Box::new(virtio(Rng::with_source(Box::new(std::io::repeat(1))), ram)),
    }
}

/// A raw descriptor.
#[derive(Clone, Debug)]
struct Desc {
    addr: u64,
    len: u32,
    flags: u16,
    next: u16,
}

fn desc() -> impl Strategy<Value = Desc> {
    let base = common::RAM_BASE;
    let end = base + common::RAM_SIZE;
    (
        prop_oneof![
            base + 0x20_0000..base + 0x30_0000,
            end - 64..end + 64,
            Just(common::ring_base(0)),
            any::<u64>(),
            0u64..0x1000
        ],
        prop_oneof![0u32..64, 0u32..4096, Just(1 << 20), any::<u32>()],
        prop_oneof![0u16..8, any::<u16>()],
        prop_oneof![0u16..16, any::<u16>()],
    )
        .prop_map(|(addr, len, flags, next)| Desc {
            addr,
            len,
            flags,
            next,
        })
}

/// A random queue: descriptors, available heads, the available index, and bytes
/// written into the buffer area (headers, indirect tables).
#[derive(Clone, Debug)]
struct Ring {
    descs: Vec<Desc>,
    heads: Vec<u16>,
    avail_idx: u16,
    noise: Vec<(u16, u64)>,
}

fn ring() -> impl Strategy<Value = Ring> {
    (
        prop::collection::vec(desc(), 16),
        prop::collection::vec(prop_oneof![0u16..16, any::<u16>()], 16),
        prop_oneof![0u16..17, any::<u16>()],
        prop::collection::vec((any::<u16>(), any::<u64>()), 0..64),
    )
        .prop_map(|(descs, heads, avail_idx, noise)| Ring {
            descs,
            heads,
            avail_idx,
            noise,
        })
}

/// Sets a device up properly, then fills every queue with a random ring and kicks.
fn chains<D: VirtioDevice>(device: D, rings: &[Ring], features: u64) {
    bounded(|| {
        let mut d = common::Driver::new(device, ram(), LevelRecorder::new().line(1), features, 16);
        let nq = d.queues.len();
        for (q, r) in rings.iter().take(nq).enumerate() {
            for (i, x) in r.descs.iter().enumerate() {
                d.put_desc(q, i as u16, x.addr, x.len, x.flags, x.next);
            }
            for (i, h) in r.heads.iter().enumerate() {
                let slot = d.queues[q].avail + 4 + 2 * i as u64;
                d.ram.write(slot, &h.to_le_bytes()).unwrap();
            }
            d.ram
                .write(d.queues[q].avail + 2, &r.avail_idx.to_le_bytes())
                .unwrap();
            // Headers and indirect tables the descriptors may point at.
            for &(off, v) in &r.noise {
                let a = common::RAM_BASE + 0x20_0000 + u64::from(off) * 8;
                d.ram.write(a, &v.to_le_bytes()).unwrap();
            }
        }
        for q in 0..nq {
            d.kick(q);
            d.dev.poll();
            let _ = d.used(q);
        }
        d.ack();
        // The transport still answers, and its state can be saved and restored.
        assert_eq!(common::r32(&mut d.dev, 0), 0x7472_6976);
        let s = d.dev.save().unwrap();
        d.dev.restore(&s).unwrap();
    });
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn malformed_chains_blk(r in ring()) {
        chains(blk(), &[r], 0);
    }

    #[test]
    fn malformed_chains_net(rx in ring(), tx in ring(), big in any::<bool>()) {
        let frames = if big { vec![vec![0xee; 9000], vec![0; 60], vec![0xff; 1 << 20]] } else { vec![vec![7; 1514]] };
        chains(Net::new(Box::new(Script(frames)), DEFAULT_MAC), &[rx, tx], 1 << 5);
    }

    #[test]
    fn malformed_chains_console(rx in ring(), tx in ring(), input in prop::collection::vec(any::<u8>(), 0..5000)) {
        let c = Console::new(Box::new(std::io::sink()), None);
        c.input().push(&input);
        chains(c, &[rx, tx], 0);
    }

    #[test]
    fn malformed_chains_rng(r in ring()) {
        chains(Rng::with_source(Box::new(std::io::repeat(3))), &[r], 0);
    }
}

/// Ring addresses: mostly aligned, inside RAM or anywhere.
fn aligned() -> impl Strategy<Value = u64> {
    prop_oneof![
        (common::RAM_BASE..common::RAM_BASE + common::RAM_SIZE).prop_map(|a| a & !0xf),
        any::<u64>().prop_map(|a| a & !0xf),
        any::<u64>(),
    ]
}

fn queue_regs() -> impl Strategy<Value = tern_devices::virtio::mmio::QueueRegs> {
    (
        prop_oneof![Just(64u16), any::<u16>()],
        prop_oneof![Just(16u16), Just(64), any::<u16>()],
        any::<bool>(),
        (aligned(), aligned(), aligned()),
        (any::<u16>(), any::<u16>(), any::<bool>()),
    )
        .prop_map(|(max_size, size, ready, (d, a, u), (na, nu, ev))| {
            tern_devices::virtio::mmio::QueueRegs {
                max_size,
                size,
                ready,
                desc_table: d,
                avail_ring: a,
                used_ring: u,
                next_avail: na,
                next_used: nu,
                event_idx: ev,
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Bad snapshots are refused or give a device that keeps working: never a panic.
    #[test]
    fn corrupt_states_are_refused_or_harmless(
        regs in prop_oneof![prop::collection::vec(queue_regs(), 1), prop::collection::vec(queue_regs(), 0..3)],
        words in (any::<u32>(), any::<u32>(), any::<u32>(), any::<u32>()),
        lens in (prop_oneof![Just(3usize), 0usize..5], prop_oneof![Just(3usize), 0usize..5], prop_oneof![Just(96usize), 0usize..200]),
        accesses in prop::collection::vec(access(0x1000), 0..50),
    ) {
        use tern_devices::plic::{ContextState, PlicState};
        use tern_devices::virtio::mmio::VirtioMmioState;
        bounded(|| {
            let ram = ram();
            let mut dev = virtio(Rng::with_source(Box::new(std::io::repeat(1))), &ram);
            let state = VirtioMmioState {
                device_type: 4,
                device_features_sel: words.0,
                driver_features_sel: words.1,
                driver_features: u64::from(words.2) << 3,
                queue_sel: words.3,
                status: words.0,
                interrupt_status: words.1,
                config_generation: words.2,
                shm_sel: words.3,
                queues: regs.clone(),
                device: None,
            };
            if dev.restore(&state).is_ok() {
                run(&mut dev, &accesses);
                dev.poll();
            }
            let lines: Vec<_> = (0..1).map(|_| Arc::new(IrqLines::new())).collect();
            let mut plic = Plic::new(VIRT_NUM_SOURCES, &lines);
            let bad = PlicState {
                num_sources: VIRT_NUM_SOURCES,
                priority: vec![words.0; lens.2],
                level: vec![words.1; lens.0],
                pending: vec![words.2; lens.1],
                claimed: vec![words.3; 3],
                contexts: vec![ContextState { enable: vec![words.0; lens.0], threshold: words.1 }; 2],
            };
            if plic.restore(&bad).is_ok() {
                run(&mut plic, &accesses);
            }
        });
    }
}
