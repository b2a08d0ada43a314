//! The virtual clock behind `mtime` and the `time` CSR (DESIGN.md invariant 4).
//!
//! One clock per VM. Guest time is `ticks`, counted at [`TIMEBASE_HZ`] (10 MHz, the
//! timebase of QEMU's `virt` and `spike` boards). It either follows the host's monotonic
//! clock or advances with retired instructions (deterministic mode); in both cases the
//! VMM can read it, save it, and set it, so a restored guest sees time continue.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use serde::{Deserialize, Serialize};

/// Guest timer ticks per second.
pub const TIMEBASE_HZ: u64 = 10_000_000;

/// How guest time advances.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClockMode {
    /// Follows the host's monotonic clock.
    Host,
    /// Advances by one tick per `n` retired instructions (deterministic).
    Instructions(u64),
}

/// The saved form of a clock: the guest time when saved and the mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockState {
    /// Guest ticks at the time of saving.
    pub ticks: u64,
    /// How the clock advances.
    pub mode: ClockMode,
}

/// A VM's clock.
#[derive(Debug)]
pub struct VirtualClock {
    mode: ClockMode,
    /// Host mode: guest ticks = `offset` + host ticks elapsed since `origin` (wrapping).
    origin: Instant,
    offset: AtomicU64,
    /// Instruction mode: current guest ticks, and the leftover instructions.
    insn_ticks: AtomicU64,
    insn_rest: AtomicU64,
    /// Guest time while the VM is paused (`u64::MAX` when running): time stands still
    /// for a paused guest, as QEMU's virtual clock does across `stop`/`cont`.
    frozen: AtomicU64,
}

impl VirtualClock {
    /// A clock starting at tick 0.
    pub fn new(mode: ClockMode) -> VirtualClock {
        VirtualClock::from_state(ClockState { ticks: 0, mode })
    }

    /// A clock continuing from a saved state.
    pub fn from_state(state: ClockState) -> VirtualClock {
        let mode = match state.mode {
            ClockMode::Instructions(0) => ClockMode::Instructions(1),
            m => m,
        };
        VirtualClock {
            mode,
            origin: Instant::now(),
            offset: AtomicU64::new(state.ticks),
            insn_ticks: AtomicU64::new(state.ticks),
            insn_rest: AtomicU64::new(0),
            frozen: AtomicU64::new(u64::MAX),
        }
    }

    /// How this clock advances.
    pub fn mode(&self) -> ClockMode {
        self.mode
    }

    /// Current guest time in ticks.
    pub fn now(&self) -> u64 {
        let frozen = self.frozen.load(Ordering::Acquire);
        if frozen != u64::MAX {
            return frozen;
        }
        match self.mode {
            ClockMode::Host => self
                .offset
                .load(Ordering::Acquire)
                .wrapping_add(self.host_ticks()),
            ClockMode::Instructions(_) => self.insn_ticks.load(Ordering::Acquire),
        }
    }

    /// Stops guest time (the VM is paused); [`VirtualClock::thaw`] continues from here.
    pub fn freeze(&self) {
        let now = self.now();
        self.frozen.store(now, Ordering::Release);
    }

    /// Lets guest time run again from where [`VirtualClock::freeze`] stopped it.
    pub fn thaw(&self) {
        let frozen = self.frozen.swap(u64::MAX, Ordering::AcqRel);
        if frozen != u64::MAX {
            self.set(frozen);
        }
    }

    /// Sets the guest time (a write to `mtime`).
    pub fn set(&self, ticks: u64) {
        self.offset
            .store(ticks.wrapping_sub(self.host_ticks()), Ordering::Release);
        self.insn_ticks.store(ticks, Ordering::Release);
        self.insn_rest.store(0, Ordering::Release);
    }

    /// Host ticks since this clock was made.
    fn host_ticks(&self) -> u64 {
        let elapsed = self.origin.elapsed();
        elapsed.as_secs() * TIMEBASE_HZ
            + u64::from(elapsed.subsec_nanos()) / (1_000_000_000 / TIMEBASE_HZ)
    }

    /// Tells the clock that `insns` instructions retired (instruction mode only).
    pub fn retired(&self, insns: u64) {
        if let ClockMode::Instructions(per_tick) = self.mode {
            let total = self.insn_rest.load(Ordering::Acquire) + insns;
            self.insn_ticks
                .fetch_add(total / per_tick, Ordering::AcqRel);
            self.insn_rest.store(total % per_tick, Ordering::Release);
        }
    }

    /// Moves guest time forward to `ticks` if it is behind (used when every hart waits
    /// in `wfi` in instruction mode, so that the next timer fires without spinning).
    pub fn skip_to(&self, ticks: u64) {
        if let ClockMode::Instructions(_) = self.mode {
            self.insn_ticks.fetch_max(ticks, Ordering::AcqRel);
        }
    }

    /// Host time until guest time reaches `ticks` (zero if it already has).
    pub fn host_duration_until(&self, ticks: u64) -> std::time::Duration {
        let now = self.now();
        let delta = ticks.saturating_sub(now);
        std::time::Duration::from_nanos(delta.saturating_mul(1_000_000_000 / TIMEBASE_HZ))
    }

    /// The state to save.
    pub fn save(&self) -> ClockState {
        ClockState {
            ticks: self.now(),
            mode: self.mode,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instruction_clock_is_deterministic() {
        let c = VirtualClock::new(ClockMode::Instructions(100));
        c.retired(250);
        assert_eq!(c.now(), 2);
        c.retired(50);
        assert_eq!(c.now(), 3);
        c.skip_to(10);
        assert_eq!(c.now(), 10);
        c.skip_to(5);
        assert_eq!(c.now(), 10);
    }

    #[test]
    fn frozen_time_stands_still_and_continues() {
        let c = VirtualClock::new(ClockMode::Host);
        c.freeze();
        let t = c.now();
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert_eq!(c.now(), t);
        c.thaw();
        let after = c.now();
        assert!(
            after >= t && after - t < TIMEBASE_HZ,
            "time must continue, not jump"
        );
    }

    #[test]
    fn host_clock_continues_from_saved_ticks() {
        let c = VirtualClock::from_state(ClockState {
            ticks: 1_000_000,
            mode: ClockMode::Host,
        });
        let t = c.now();
        assert!(t >= 1_000_000);
        assert!(c.save().ticks >= t);
    }
}
