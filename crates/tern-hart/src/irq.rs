//! Interrupt lines driven by devices into one hart.
//!
//! Devices (CLINT, PLIC, ACLINT) run outside the hart and may live on other threads, so
//! the bits they drive (`MSIP`, `MTIP`, `MEIP`, and the PLIC's `SEIP`) are an atomic
//! word that the hart reads at block boundaries. A hart waiting in `wfi` sleeps on the
//! condition variable until a line rises.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

/// Device-driven `mip` bits of one hart.
#[derive(Debug, Default)]
pub struct IrqLines {
    bits: AtomicU64,
    lock: Mutex<()>,
    wake: Condvar,
}

impl IrqLines {
    /// All lines low.
    pub fn new() -> IrqLines {
        IrqLines::default()
    }

    /// Current levels.
    #[inline]
    pub fn get(&self) -> u64 {
        self.bits.load(Ordering::Acquire)
    }

    /// Drives the lines in `mask` to `level`.
    pub fn set_level(&self, mask: u64, level: bool) {
        let old = if level {
            self.bits.fetch_or(mask, Ordering::AcqRel)
        } else {
            self.bits.fetch_and(!mask, Ordering::AcqRel)
        };
        if level && old & mask != mask {
            self.kick();
        }
    }

    /// Wakes a hart sleeping in [`IrqLines::wait`] (also used to ask it to stop).
    pub fn kick(&self) {
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        self.wake.notify_all();
    }

    /// Sleeps until any line in `mask` is high, a kick arrives, or `timeout` passes.
    pub fn wait(&self, mask: u64, timeout: Duration) {
        let guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        if self.get() & mask != 0 {
            return;
        }
        let _unused = self.wake.wait_timeout(guard, timeout);
    }
}
