//! The virtual clock behind `mtime` and the `time` CSR (DESIGN.md invariant 4).
//!
//! One clock per VM. Guest time is `ticks`, counted at [`TIMEBASE_HZ`] (10 MHz, the
//! timebase of QEMU's `virt` and `spike` boards). It either follows the host's monotonic
//! clock or advances with retired instructions (deterministic mode); in both cases the
//! VMM can read it, save it, and set it, so a restored guest sees time continue.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use tern_state::{Decoder, Encoder, Persist, StateError, Versioned};

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
///
/// Encoded (version 1) as a base `(ticks, mode)` and a part `rest` written only in
/// instruction mode between two ticks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClockState {
    /// Guest ticks at the time of saving.
    pub ticks: u64,
    /// How the clock advances.
    pub mode: ClockMode,
    /// Instruction mode: instructions retired since the last tick (fewer than one
    /// tick's worth), so that a restored clock ticks exactly when the original would.
    pub rest: u64,
}

#[derive(Serialize, Deserialize)]
struct ClockBase {
    ticks: u64,
    mode: ClockMode,
}

impl Versioned for ClockState {
    const KIND: &'static str = "clock";
    const VERSION: u32 = 1;

    fn encode(&self, out: &mut Encoder) {
        out.base(&ClockBase {
            ticks: self.ticks,
            mode: self.mode,
        });
        out.part("rest", self.rest != 0, &self.rest);
    }

    fn decode(input: &mut Decoder<'_>) -> Result<Self, StateError> {
        let ClockBase { ticks, mode } = input.base()?;
        let rest = input.part_or_default("rest")?;
        Ok(ClockState { ticks, mode, rest })
    }
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
        VirtualClock::from_state(ClockState {
            ticks: 0,
            mode,
            rest: 0,
        })
    }

    /// A clock continuing from `state` (a board restores its clock through
    /// [`Persist`] instead, into the clock it already handed out).
    fn from_state(state: ClockState) -> VirtualClock {
        let mode = normalized(state.mode);
        let rest = match mode {
            ClockMode::Instructions(per_tick) => state.rest % per_tick,
            ClockMode::Host => 0,
        };
        VirtualClock {
            mode,
            origin: Instant::now(),
            offset: AtomicU64::new(state.ticks),
            insn_ticks: AtomicU64::new(state.ticks),
            insn_rest: AtomicU64::new(rest),
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
}

/// A mode the clock can run in (one tick per zero instructions is one per one).
fn normalized(mode: ClockMode) -> ClockMode {
    match mode {
        ClockMode::Instructions(0) => ClockMode::Instructions(1),
        m => m,
    }
}

/// The clock is shared (harts, timers, devices hold it in an `Arc`) and changes
/// through atomics only, so it persists through a shared reference: a board restores
/// the clock it already handed out. Guest time is the frozen time of a paused VM.
impl Persist for &VirtualClock {
    type State = ClockState;

    fn save(&self) -> Result<ClockState, StateError> {
        let rest = match self.mode {
            ClockMode::Instructions(_) => self.insn_rest.load(Ordering::Acquire),
            ClockMode::Host => 0,
        };
        Ok(ClockState {
            ticks: self.now(),
            mode: self.mode,
            rest,
        })
    }

    /// Sets guest time; the mode comes from the VM's configuration and must match.
    fn restore(&mut self, state: &ClockState) -> Result<(), StateError> {
        if normalized(state.mode) != self.mode {
            return Err(StateError::mismatch(format!(
                "the saved clock advances {:?}, this one {:?}",
                state.mode, self.mode
            )));
        }
        let was_frozen = self.frozen.load(Ordering::Acquire) != u64::MAX;
        self.set(state.ticks);
        if let ClockMode::Instructions(per_tick) = self.mode {
            self.insn_rest
                .store(state.rest % per_tick, Ordering::Release);
        }
        if was_frozen {
            self.frozen.store(state.ticks, Ordering::Release);
        }
        Ok(())
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
            rest: 0,
        });
        let t = c.now();
        assert!(t >= 1_000_000);
        assert!((&c).save().unwrap().ticks >= t);
    }

    #[test]
    fn an_instruction_clock_restores_between_two_ticks() {
        let c = VirtualClock::new(ClockMode::Instructions(10));
        c.retired(1234);
        let s = (&c).save().unwrap();
        assert_eq!((s.ticks, s.rest), (123, 4));
        let bytes = tern_state::to_bytes(&s).unwrap();
        let d = VirtualClock::new(ClockMode::Instructions(10));
        (&d).restore(&tern_state::from_bytes(&bytes).unwrap())
            .unwrap();
        d.retired(6);
        assert_eq!(
            d.now(),
            124,
            "the restored clock ticks when the original would"
        );
        let host = VirtualClock::new(ClockMode::Host);
        let e = (&host).restore(&s).unwrap_err();
        assert!(e.to_string().contains("Instructions(10)"), "{e}");
    }

    #[test]
    fn a_clock_state_without_its_rest_part_decodes() {
        let c = VirtualClock::new(ClockMode::Instructions(10));
        c.retired(50);
        let s = (&c).save().unwrap();
        assert_eq!(s.rest, 0);
        let back: ClockState = tern_state::from_bytes(&tern_state::to_bytes(&s).unwrap()).unwrap();
        assert_eq!(back, s);
    }
}
