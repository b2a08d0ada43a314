//! Every device's saved state survives its versioned encoding and restores into a
//! freshly wired device of the same kind (the walk a VM snapshot does).

use std::sync::Arc;

use tern_devices::clint::Clint;
use tern_devices::goldfish_rtc::GoldfishRtc;
use tern_devices::irq::LevelRecorder;
use tern_devices::plic::{Plic, VIRT_NUM_SOURCES};
use tern_devices::syscon::{PowerControl, Syscon};
use tern_devices::uart::Uart;
use tern_devices::virtio::blk::Blk;
use tern_devices::virtio::console::Console;
use tern_devices::virtio::disk::MemDisk;
use tern_devices::virtio::net::{Net, NullBackend, DEFAULT_MAC};
use tern_devices::virtio::rng::Rng;
use tern_devices::virtio::{guest_memory, VirtioMmio};
use tern_devices::MmioDevice;
use tern_hart::{ClockMode, GuestRam, IrqLines, VirtualClock};

/// A board's worth of devices, freshly wired.
fn board() -> Vec<Box<dyn MmioDevice>> {
    let lines: Vec<_> = (0..2).map(|_| Arc::new(IrqLines::new())).collect();
    let clock = Arc::new(VirtualClock::new(ClockMode::Instructions(1)));
    let rec = LevelRecorder::new();
    let ram = Arc::new(GuestRam::new(0x8000_0000, 1 << 20).unwrap());
    let mem = guest_memory(&ram).unwrap();
    vec![
        Box::new(Clint::new(lines.clone(), clock.clone())),
        Box::new(Plic::new(VIRT_NUM_SOURCES, &lines)),
        Box::new(Uart::new(Box::new(std::io::sink()), rec.line(10), None)),
        Box::new(Syscon::new(PowerControl::new(None))),
        Box::new(GoldfishRtc::new(clock, rec.line(11))),
        Box::new(VirtioMmio::new(
            Blk::new(
                Box::new(MemDisk {
                    data: vec![0; 4096],
                }),
                false,
                "x",
            ),
            mem.clone(),
            rec.line(1),
        )),
        Box::new(VirtioMmio::new(
            Net::new(Box::new(NullBackend), DEFAULT_MAC),
            mem.clone(),
            rec.line(2),
        )),
        Box::new(VirtioMmio::new(
            Console::new(Box::new(std::io::sink()), None),
            mem.clone(),
            rec.line(3),
        )),
        Box::new(VirtioMmio::new(Rng::new().unwrap(), mem, rec.line(4))),
    ]
}

#[test]
fn states_round_trip_through_their_encoding() {
    let mut a = board();
    // Touch some registers so that states are not all defaults.
    a[0].write(0x4000, 8, 1234).unwrap();
    a[1].write(40, 4, 5).unwrap();
    a[2].write(7, 1, 0x42).unwrap();
    a[3].write(0, 4, 0x7777).unwrap();
    a[4].write(0x10, 4, 1).unwrap();
    for d in &mut a[5..] {
        d.write(0x70, 4, 3).unwrap();
        d.write(0x30, 4, 0).unwrap();
        d.write(0x38, 4, 16).unwrap();
    }
    let states: Vec<Vec<u8>> = a
        .iter()
        .map(|d| {
            d.save_encoded()
                .unwrap()
                .expect("every device here has state")
        })
        .collect();
    let mut b = board();
    for (d, s) in b.iter_mut().zip(&states) {
        let kind = d.state_kind().unwrap();
        d.restore_encoded(s)
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert_eq!(&d.save_encoded().unwrap().unwrap(), s, "{kind}");
    }
    // A state of another kind is refused, naming both.
    let err = b[0].restore_encoded(&states[1]).unwrap_err().to_string();
    assert_eq!(err, "holds a plic state, not a clint state");
}
