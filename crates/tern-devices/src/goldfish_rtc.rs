//! The Goldfish real-time clock (`google,goldfish-rtc`, QEMU's `virt` at 0x101000):
//! time of day in nanoseconds since the Unix epoch, and one alarm.
//!
//! Registers (32-bit; Linux `drivers/rtc/rtc-goldfish.c`, QEMU `hw/rtc/goldfish_rtc.c`):
//!
//! | offset | register |
//! |---|---|
//! | 0x00 | `TIME_LOW`: reading it latches the high half into `TIME_HIGH` |
//! | 0x04 | `TIME_HIGH` |
//! | 0x08 | `ALARM_LOW`: writing it arms the alarm at `ALARM_HIGH:ALARM_LOW` |
//! | 0x0c | `ALARM_HIGH` |
//! | 0x10 | `IRQ_ENABLED` (bit 0) |
//! | 0x14 | `CLEAR_ALARM` (write: disarm) |
//! | 0x18 | `ALARM_STATUS` (read: 1 while armed) |
//! | 0x1c | `CLEAR_INTERRUPT` (write: acknowledge) |
//!
//! Time is virtual (DESIGN.md invariant 4): the time of day is `base_ns` plus the VM's
//! [`VirtualClock`] converted to nanoseconds. `base_ns` is the host's wall clock at VM
//! creation minus the guest time then, and it is part of the saved state, so a restored
//! or migrated VM's clock continues from where it was saved rather than jumping to the
//! new host's time; in instruction-counting mode the RTC is deterministic. A guest that
//! sets the time moves `base_ns`.
//!
//! An armed alarm fires when the board calls [`MmioDevice::poll`] at or after
//! [`MmioDevice::next_deadline`] (or at the next register access after it is due). The
//! PLIC line is `irq_pending && irq_enabled`, a level.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use tern_hart::clock::TIMEBASE_HZ;
use tern_hart::{BusFault, VirtualClock};

use crate::irq::IrqLine;
use tern_state::{Decoder, Encoder, Persist, StateError, Versioned};

use crate::MmioDevice;

/// Size of the register window.
pub const SIZE: u64 = 0x1000;
const TIME_LOW: u64 = 0x00;
const TIME_HIGH: u64 = 0x04;
const ALARM_LOW: u64 = 0x08;
const ALARM_HIGH: u64 = 0x0c;
const IRQ_ENABLED: u64 = 0x10;
const CLEAR_ALARM: u64 = 0x14;
const ALARM_STATUS: u64 = 0x18;
const CLEAR_INTERRUPT: u64 = 0x1c;
const NS_PER_TICK: u64 = 1_000_000_000 / TIMEBASE_HZ;

/// Saved RTC state.
///
/// Encoded (version 1) as a base (`base_ns`, `irq_enabled`, `time_high`) and a part
/// `alarm` (`alarm_next`, `alarm_running`, `irq_pending`), written only when an alarm
/// was ever set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RtcState {
    /// Time of day (ns since the epoch) when the VM's clock read 0 ticks (wrapping).
    pub base_ns: u64,
    /// The alarm time (ns since the epoch).
    pub alarm_next: u64,
    /// Whether the alarm is armed.
    pub alarm_running: bool,
    /// Whether the alarm fired and was not acknowledged.
    pub irq_pending: bool,
    /// Whether the interrupt is enabled.
    pub irq_enabled: bool,
    /// The high half latched by the last `TIME_LOW` read.
    pub time_high: u32,
}

#[derive(Serialize, Deserialize)]
struct RtcBase {
    base_ns: u64,
    irq_enabled: bool,
    time_high: u32,
}

#[derive(Default, Serialize, Deserialize)]
struct RtcAlarm {
    alarm_next: u64,
    alarm_running: bool,
    irq_pending: bool,
}

impl Versioned for RtcState {
    const KIND: &'static str = "goldfish-rtc";
    const VERSION: u32 = 1;

    fn encode(&self, out: &mut Encoder) {
        out.base(&RtcBase {
            base_ns: self.base_ns,
            irq_enabled: self.irq_enabled,
            time_high: self.time_high,
        });
        let alarm = RtcAlarm {
            alarm_next: self.alarm_next,
            alarm_running: self.alarm_running,
            irq_pending: self.irq_pending,
        };
        let needed = alarm.alarm_next != 0 || alarm.alarm_running || alarm.irq_pending;
        out.part("alarm", needed, &alarm);
    }

    fn decode(input: &mut Decoder<'_>) -> Result<Self, StateError> {
        let b: RtcBase = input.base()?;
        let a: RtcAlarm = input.part_or_default("alarm")?;
        Ok(RtcState {
            base_ns: b.base_ns,
            alarm_next: a.alarm_next,
            alarm_running: a.alarm_running,
            irq_pending: a.irq_pending,
            irq_enabled: b.irq_enabled,
            time_high: b.time_high,
        })
    }
}

/// A Goldfish RTC.
pub struct GoldfishRtc {
    clock: Arc<VirtualClock>,
    irq: IrqLine,
    state: RtcState,
}

impl GoldfishRtc {
    /// An RTC showing the host's time of day now, advancing with `clock`.
    pub fn new(clock: Arc<VirtualClock>, irq: IrqLine) -> GoldfishRtc {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        GoldfishRtc::with_time(clock, irq, wall)
    }

    /// An RTC showing `now_ns` (ns since the epoch) now, advancing with `clock`.
    pub fn with_time(clock: Arc<VirtualClock>, irq: IrqLine, now_ns: u64) -> GoldfishRtc {
        let base_ns = now_ns.wrapping_sub(clock.now().wrapping_mul(NS_PER_TICK));
        GoldfishRtc {
            clock,
            irq,
            state: RtcState {
                base_ns,
                ..RtcState::default()
            },
        }
    }

    /// The guest's time of day in ns since the epoch.
    pub fn now_ns(&self) -> u64 {
        self.state
            .base_ns
            .wrapping_add(self.clock.now().wrapping_mul(NS_PER_TICK))
    }

    /// Fires the alarm if it is due.
    fn check_alarm(&mut self) {
        if self.state.alarm_running && self.now_ns() >= self.state.alarm_next {
            self.state.alarm_running = false;
            self.state.irq_pending = true;
        }
    }

    fn update_irq(&self) {
        self.irq
            .set_level(self.state.irq_pending && self.state.irq_enabled);
    }
}

impl Persist for GoldfishRtc {
    type State = RtcState;

    fn save(&self) -> Result<RtcState, StateError> {
        Ok(self.state.clone())
    }

    /// Restores a saved state against this RTC's clock (restored by the board).
    fn restore(&mut self, state: &RtcState) -> Result<(), StateError> {
        self.state = state.clone();
        self.check_alarm();
        self.update_irq();
        Ok(())
    }
}

impl MmioDevice for GoldfishRtc {
    fn read(&mut self, offset: u64, size: u8) -> Result<u64, BusFault> {
        if size != 4 || !offset.is_multiple_of(4) || offset >= SIZE {
            return Err(BusFault);
        }
        self.check_alarm();
        let st = &mut self.state;
        let v = match offset {
            TIME_LOW => {
                let now = st
                    .base_ns
                    .wrapping_add(self.clock.now().wrapping_mul(NS_PER_TICK));
                st.time_high = (now >> 32) as u32;
                now & 0xffff_ffff
            }
            TIME_HIGH => u64::from(st.time_high),
            ALARM_LOW => st.alarm_next & 0xffff_ffff,
            ALARM_HIGH => st.alarm_next >> 32,
            IRQ_ENABLED => u64::from(st.irq_enabled),
            ALARM_STATUS => u64::from(st.alarm_running),
            _ => 0,
        };
        self.update_irq();
        Ok(v)
    }

    fn write(&mut self, offset: u64, size: u8, value: u64) -> Result<(), BusFault> {
        if size != 4 || !offset.is_multiple_of(4) || offset >= SIZE {
            return Err(BusFault);
        }
        let value = value & 0xffff_ffff;
        match offset {
            TIME_LOW | TIME_HIGH => {
                let now = self.now_ns();
                let new = if offset == TIME_LOW {
                    (now & !0xffff_ffff) | value
                } else {
                    (now & 0xffff_ffff) | (value << 32)
                };
                self.state.base_ns = self.state.base_ns.wrapping_add(new.wrapping_sub(now));
            }
            ALARM_LOW => {
                self.state.alarm_next = (self.state.alarm_next & !0xffff_ffff) | value;
                self.state.alarm_running = true;
            }
            ALARM_HIGH => {
                self.state.alarm_next = (self.state.alarm_next & 0xffff_ffff) | (value << 32);
            }
            IRQ_ENABLED => self.state.irq_enabled = value & 1 != 0,
            CLEAR_ALARM => self.state.alarm_running = false,
            CLEAR_INTERRUPT => self.state.irq_pending = false,
            _ => {}
        }
        self.check_alarm();
        self.update_irq();
        Ok(())
    }

    fn poll(&mut self) {
        self.check_alarm();
        self.update_irq();
    }

    fn next_deadline(&self) -> Option<u64> {
        if !self.state.alarm_running {
            return None;
        }
        let delta = self.state.alarm_next.saturating_sub(self.now_ns());
        Some(self.clock.now().saturating_add(delta.div_ceil(NS_PER_TICK)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::irq::LevelRecorder;
    use tern_hart::ClockMode;

    fn read_time(rtc: &mut GoldfishRtc) -> u64 {
        let lo = rtc.read(TIME_LOW, 4).unwrap();
        let hi = rtc.read(TIME_HIGH, 4).unwrap();
        (hi << 32) | lo
    }

    #[test]
    fn time_follows_the_virtual_clock_and_survives_restore() {
        let clock = Arc::new(VirtualClock::new(ClockMode::Instructions(1)));
        let rec = LevelRecorder::new();
        let mut rtc =
            GoldfishRtc::with_time(clock.clone(), rec.line(11), 1_700_000_000_000_000_000);
        assert_eq!(read_time(&mut rtc), 1_700_000_000_000_000_000);
        clock.retired(10);
        assert_eq!(read_time(&mut rtc), 1_700_000_000_000_001_000);
        let saved = tern_state::to_bytes(&rtc.save().unwrap()).unwrap();
        let ticks = (&*clock).save().unwrap();
        // A new VM on another host, later: the clock and the RTC continue.
        let clock2 = Arc::new(VirtualClock::new(ClockMode::Instructions(1)));
        (&*clock2).restore(&ticks).unwrap();
        let mut rtc2 = GoldfishRtc::new(clock2.clone(), rec.line(11));
        rtc2.restore(&tern_state::from_bytes(&saved).unwrap())
            .unwrap();
        assert_eq!(read_time(&mut rtc2), 1_700_000_000_000_001_000);
        // The guest sets the time.
        rtc2.write(TIME_HIGH, 4, 0).unwrap();
        rtc2.write(TIME_LOW, 4, 5000).unwrap();
        assert_eq!(read_time(&mut rtc2), 5000);
    }

    #[test]
    fn alarm_fires_and_is_acknowledged() {
        let clock = Arc::new(VirtualClock::new(ClockMode::Instructions(1)));
        let rec = LevelRecorder::new();
        let mut rtc = GoldfishRtc::with_time(clock.clone(), rec.line(11), 1_000_000);
        rtc.write(ALARM_HIGH, 4, 0).unwrap();
        rtc.write(ALARM_LOW, 4, 1_000_500).unwrap();
        rtc.write(IRQ_ENABLED, 4, 1).unwrap();
        assert_eq!(rtc.read(ALARM_STATUS, 4).unwrap(), 1);
        assert_eq!(rtc.next_deadline(), Some(5));
        assert!(!rec.level(11));
        clock.retired(5);
        rtc.poll();
        assert!(rec.level(11));
        assert_eq!(rtc.read(ALARM_STATUS, 4).unwrap(), 0);
        assert_eq!(rtc.next_deadline(), None);
        rtc.write(CLEAR_INTERRUPT, 4, 1).unwrap();
        assert!(!rec.level(11));
        // An alarm in the past fires at once; disabling the interrupt lowers the line.
        rtc.write(ALARM_LOW, 4, 0).unwrap();
        assert!(rec.level(11));
        rtc.write(IRQ_ENABLED, 4, 0).unwrap();
        assert!(!rec.level(11));
        assert!(rtc.read(2, 4).is_err());
        assert!(rtc.read(0, 8).is_err());
    }

    #[test]
    fn a_state_without_an_alarm_decodes() {
        let clock = Arc::new(VirtualClock::new(ClockMode::Instructions(1)));
        let rec = LevelRecorder::new();
        let mut rtc = GoldfishRtc::with_time(clock.clone(), rec.line(11), 1_000_000);
        rtc.write(IRQ_ENABLED, 4, 1).unwrap();
        let plain = tern_state::to_bytes(&rtc.save().unwrap()).unwrap();
        rtc.write(ALARM_LOW, 4, 2_000_000).unwrap();
        let armed = tern_state::to_bytes(&rtc.save().unwrap()).unwrap();
        assert!(plain.len() < armed.len());
        let back: RtcState = tern_state::from_bytes(&plain).unwrap();
        assert!(!back.alarm_running && back.irq_enabled);
        let mut other = GoldfishRtc::new(clock.clone(), rec.line(11));
        other
            .restore(&tern_state::from_bytes(&armed).unwrap())
            .unwrap();
        assert_eq!(other.read(ALARM_STATUS, 4).unwrap(), 1);
        assert_eq!(read_time(&mut other), 1_000_000);
    }
}
