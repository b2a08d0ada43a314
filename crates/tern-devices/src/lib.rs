//! Device models for tern's boards.
//!
//! Devices know nothing of the board layout (DESIGN.md): each takes accesses at
//! offsets inside its own register window, and a board maps windows to addresses.
//! Interrupts reach harts through their [`tern_hart::IrqLines`]: directly for the CLINT,
//! through the [`plic::Plic`] for everything else (each device holds an
//! [`irq::IrqLine`] for its PLIC source).
//!
//! # How a board drives devices
//!
//! - **Accesses.** Every device on the `virt` board implements [`MmioDevice`]: the board
//!   forwards a hart's load or store at `window base + offset` as `read(offset, size)` or
//!   `write(offset, size, value)`. A device lives behind one board lock (a
//!   `Mutex<Box<dyn MmioDevice>>` per device is the natural choice); the PLIC also locks
//!   internally because device interrupt lines reach it from any thread.
//! - **Asynchronous input.** Backends that receive data on their own threads (network,
//!   terminal input) never touch device state: they queue the data in a bounded buffer
//!   and call [`PollWaker::wake`]. The board runs one I/O loop per VM that waits on the
//!   waker (with a timeout until the earliest [`MmioDevice::next_deadline`]) and then
//!   calls [`MmioDevice::poll`] on every device under its lock; `poll` moves the queued
//!   data into guest RAM or registers and raises interrupts. Calling `poll` when nothing
//!   is pending is cheap and harmless, so a board may also poll at other times.
//! - **Snapshots.** Every device implements [`Persist`] (tern-state): its guest-visible
//!   state is a plain, versioned struct (DESIGN.md invariant 1). A board walks its
//!   devices through the object-safe [`Component`] view, which every `MmioDevice` has,
//!   and stores one encoded state per device. Restore happens on a device already
//!   built and wired by the board (same backends, RAM and lines); it checks the state
//!   and re-drives the device's interrupt line. A device without state (an empty
//!   slot) says so with [`tern_state::NoState`].
//!
//! # Thread-safety model
//!
//! Every device is `Send` and takes `&mut self`: the board serializes accesses to one
//! device with its lock. Harts on several threads may access different devices at the
//! same time. The only state shared across devices is the PLIC, reached through
//! [`irq::IrqLine`] handles (internally locked; a device may raise its line while the
//! board holds that device's lock, and a hart may claim at the same time). Guest RAM is
//! shared with the harts as it is on real hardware. Backend threads (network, terminal)
//! only touch bounded queues and the [`PollWaker`]. Lock order: board device lock, then
//! the PLIC's lock; nothing takes them the other way round.
//!
//! # Wiring the `virt` board
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::{Arc, Mutex};
//! use std::time::Duration;
//! use tern_devices::plic::{Plic, VIRT_NUM_SOURCES};
//! use tern_devices::virtio::blk::Blk;
//! use tern_devices::virtio::disk::MemDisk;
//! use tern_devices::virtio::net::{Net, NullBackend, DEFAULT_MAC};
//! use tern_devices::virtio::{self, VirtioMmio};
//! use tern_devices::{goldfish_rtc, syscon, uart, MmioDevice, PollWaker};
//! use tern_hart::{ClockMode, GuestRam, IrqLines, VirtualClock};
//!
//! let ram = Arc::new(GuestRam::new(0x8000_0000, 64 << 20)?);
//! let harts: Vec<Arc<IrqLines>> = (0..2).map(|_| Arc::new(IrqLines::new())).collect();
//! let clock = Arc::new(VirtualClock::new(ClockMode::Host));
//! let waker = PollWaker::new();
//! let plic = Plic::new(VIRT_NUM_SOURCES, &harts);
//! let mem = virtio::guest_memory(&ram)?;
//!
//! let uart = uart::Uart::new(Box::new(std::io::sink()), plic.irq_line(10), Some(waker.clone()));
//! let terminal = uart.input(); // the terminal thread calls terminal.push(bytes)
//! let power = syscon::PowerControl::new(Some(waker.clone()));
//! let rtc = goldfish_rtc::GoldfishRtc::new(clock.clone(), plic.irq_line(11));
//! let disk = Box::new(MemDisk { data: vec![0; 1 << 20] });
//! let blk = VirtioMmio::new(Blk::new(disk, false, "disk0"), mem.clone(), plic.irq_line(8));
//! let net = VirtioMmio::new(Net::new(Box::new(NullBackend), DEFAULT_MAC), mem, plic.irq_line(7));
//!
//! type Dev = Arc<Mutex<Box<dyn MmioDevice>>>;
//! let dev = |d: Box<dyn MmioDevice>| -> Dev { Arc::new(Mutex::new(d)) };
//! // (base, size, device): the same table generates the device tree.
//! let table: Vec<(u64, u64, Dev)> = vec![
//!     (0x0010_0000, syscon::SIZE, dev(Box::new(syscon::Syscon::new(power.clone())))),
//!     (0x0010_1000, goldfish_rtc::SIZE, dev(Box::new(rtc))),
//!     (0x0c00_0000, plic.window_size(), dev(Box::new(plic.clone()))),
//!     (0x1000_0000, uart::SIZE, dev(Box::new(uart))),
//!     (0x1000_7000, virtio::mmio::SIZE, dev(Box::new(net))),
//!     (0x1000_8000, virtio::mmio::SIZE, dev(Box::new(blk))),
//! ];
//!
//! // A hart's bus access: find the window, lock, forward.
//! let (base, _, uart_dev) = &table[3];
//! uart_dev.lock().unwrap().write(0x1000_0000 - base, 1, u64::from(b'A')).ok();
//!
//! // The I/O loop (one round shown): sleep until input or the next device deadline.
//! terminal.push(b"root\n");
//! let deadline = table.iter().filter_map(|(_, _, d)| d.lock().unwrap().next_deadline()).min();
//! let timeout = deadline.map_or(Duration::from_millis(100), |t| clock.host_duration_until(t));
//! waker.wait(timeout.min(Duration::from_millis(100)));
//! for (_, _, d) in &table {
//!     d.lock().unwrap().poll();
//! }
//! if power.is_requested() {
//!     let _action = power.take(); // stop the harts, then power off / reset / exit(code)
//! }
//! # Ok(())
//! # }
//! ```

pub mod clint;
pub mod goldfish_rtc;
pub mod htif;
pub mod irq;
pub mod plic;
pub mod syscon;
pub mod uart;
pub mod virtio;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use tern_hart::BusFault;
pub use tern_state::{Component, Persist, StateError};

pub use clint::Clint;
pub use goldfish_rtc::GoldfishRtc;
pub use htif::Htif;
pub use irq::{IrqLine, IrqSink};
pub use plic::Plic;
pub use syscon::{PowerAction, PowerControl, Syscon};
pub use uart::{InputQueue, Uart};

/// A device reached through a window of physical addresses.
///
/// Offsets are relative to the window's base. Sizes are 1, 2, 4 or 8 bytes; values are
/// zero-extended on reads and truncated on writes. An access a device cannot take (bad
/// width, outside the window) returns [`BusFault`], which the hart turns into an access
/// fault; registers that merely do not exist read as zero and ignore writes, as on QEMU.
pub trait MmioDevice: Send + Component {
    /// Reads `size` bytes at `offset`.
    fn read(&mut self, offset: u64, size: u8) -> Result<u64, BusFault>;

    /// Writes the low `size` bytes of `value` at `offset`.
    fn write(&mut self, offset: u64, size: u8, value: u64) -> Result<(), BusFault>;

    /// Takes asynchronous input queued by backend threads and fires timers that are due
    /// (see the crate documentation for when the board calls it).
    fn poll(&mut self) {}

    /// Guest time (in [`tern_hart::VirtualClock`] ticks) at which the device wants
    /// [`MmioDevice::poll`] to be called, if any (an armed RTC alarm).
    fn next_deadline(&self) -> Option<u64> {
        None
    }
}

/// Wakes a board's I/O loop when a backend thread has queued input for a device.
///
/// Cheap to clone and usable from any thread. Wakes are sticky: a wake that arrives
/// while nobody waits is seen by the next [`PollWaker::wait`] or [`PollWaker::take`].
#[derive(Clone, Debug, Default)]
pub struct PollWaker(Arc<WakerInner>);

#[derive(Debug, Default)]
struct WakerInner {
    pending: AtomicBool,
    lock: Mutex<()>,
    cond: Condvar,
}

impl PollWaker {
    /// A waker with nothing pending.
    pub fn new() -> PollWaker {
        PollWaker::default()
    }

    /// Says that some device has input to take.
    pub fn wake(&self) {
        self.0.pending.store(true, Ordering::Release);
        let _guard = self.0.lock.lock().unwrap_or_else(|e| e.into_inner());
        self.0.cond.notify_all();
    }

    /// Whether a wake arrived since the last call, clearing it (for polling at block
    /// boundaries without sleeping).
    pub fn take(&self) -> bool {
        self.0.pending.swap(false, Ordering::AcqRel)
    }

    /// Sleeps until a wake arrives or `timeout` passes; returns whether woken (and
    /// clears the wake).
    pub fn wait(&self, timeout: Duration) -> bool {
        let guard = self.0.lock.lock().unwrap_or_else(|e| e.into_inner());
        if self.take() {
            return true;
        }
        let _unused = self
            .0
            .cond
            .wait_timeout(guard, timeout)
            .unwrap_or_else(|e| e.into_inner());
        self.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waker_is_sticky() {
        let w = PollWaker::new();
        assert!(!w.take());
        w.wake();
        assert!(w.wait(Duration::from_secs(5)));
        assert!(!w.wait(Duration::from_millis(1)));
        let w2 = w.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            w2.wake();
        });
        assert!(w.wait(Duration::from_secs(5)));
        t.join().unwrap();
    }
}
