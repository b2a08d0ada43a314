//! The core-local interruptor (CLINT, SiFive layout; the ACLINT MSWI + MTIMER pair at
//! the same offsets): per-hart software interrupts (`msip`) and timers (`mtimecmp`)
//! against the VM's clock (`mtime`).

use std::sync::Arc;

use tern_hart::trap::irq;
use tern_hart::{BusFault, IrqLines, VirtualClock};
use tern_state::{Decoder, Encoder, Persist, StateError, Versioned};

use crate::MmioDevice;

/// Size of the CLINT register window.
pub const SIZE: u64 = 0x1_0000;
const MSIP_BASE: u64 = 0x0;
const MTIMECMP_BASE: u64 = 0x4000;
const MTIME: u64 = 0xbff8;

/// Saved CLINT registers (`mtime` is the VM's clock, saved with it).
///
/// Encoded (version 1) as a base `mtimecmp` and a part `msip`, written only while a
/// software interrupt is pending.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClintState {
    /// `msip` bit per hart.
    pub msip: Vec<bool>,
    /// `mtimecmp` per hart.
    pub mtimecmp: Vec<u64>,
}

/// A CLINT serving a fixed number of harts.
pub struct Clint {
    harts: Vec<Arc<IrqLines>>,
    clock: Arc<VirtualClock>,
    state: ClintState,
}

impl Clint {
    /// A CLINT for the harts whose interrupt lines are `harts`.
    pub fn new(harts: Vec<Arc<IrqLines>>, clock: Arc<VirtualClock>) -> Clint {
        let n = harts.len();
        Clint {
            harts,
            clock,
            state: ClintState {
                msip: vec![false; n],
                mtimecmp: vec![u64::MAX; n],
            },
        }
    }

    /// Reads `size` bytes at `offset` in the window.
    pub fn load(&mut self, offset: u64, size: u8) -> Result<u64, BusFault> {
        let n = self.harts.len() as u64;
        match offset {
            o if o < MSIP_BASE + 4 * n && size == 4 && o % 4 == 0 => {
                Ok(u64::from(self.state.msip[((o - MSIP_BASE) / 4) as usize]))
            }
            o if (MTIMECMP_BASE..MTIMECMP_BASE + 8 * n).contains(&o) => {
                let hart = ((o - MTIMECMP_BASE) / 8) as usize;
                read_part(self.state.mtimecmp[hart], o % 8, size)
            }
            o if (MTIME..MTIME + 8).contains(&o) => read_part(self.clock.now(), o - MTIME, size),
            // Unimplemented registers inside the window read as zero.
            _ if offset < SIZE => Ok(0),
            _ => Err(BusFault),
        }
    }

    /// Writes `size` bytes of `value` at `offset` in the window.
    pub fn store(&mut self, offset: u64, size: u8, value: u64) -> Result<(), BusFault> {
        let n = self.harts.len() as u64;
        match offset {
            o if o < MSIP_BASE + 4 * n && size == 4 && o % 4 == 0 => {
                let hart = ((o - MSIP_BASE) / 4) as usize;
                let level = value & 1 != 0;
                self.state.msip[hart] = level;
                self.harts[hart].set_level(irq::MSIP, level);
            }
            o if (MTIMECMP_BASE..MTIMECMP_BASE + 8 * n).contains(&o) => {
                let hart = ((o - MTIMECMP_BASE) / 8) as usize;
                let cur = self.state.mtimecmp[hart];
                self.state.mtimecmp[hart] = write_part(cur, o % 8, size, value)?;
                self.update_timers();
            }
            o if (MTIME..MTIME + 8).contains(&o) => {
                let now = self.clock.now();
                self.clock.set(write_part(now, o - MTIME, size, value)?);
                self.update_timers();
            }
            _ if offset < SIZE => {}
            _ => return Err(BusFault),
        }
        Ok(())
    }

    /// Drives each hart's MTIP from `mtime >= mtimecmp`.
    pub fn update_timers(&self) {
        let now = self.clock.now();
        for (lines, &cmp) in self.harts.iter().zip(&self.state.mtimecmp) {
            lines.set_level(irq::MTIP, now >= cmp);
        }
    }

    /// Hart `hart`'s `mtimecmp`, if the CLINT serves that hart.
    pub fn mtimecmp(&self, hart: usize) -> Option<u64> {
        self.state.mtimecmp.get(hart).copied()
    }

    /// The earliest armed `mtimecmp` still in the future, if any.
    pub fn next_deadline(&self) -> Option<u64> {
        let now = self.clock.now();
        self.state
            .mtimecmp
            .iter()
            .copied()
            .filter(|&t| t > now && t != u64::MAX)
            .min()
    }
}

impl Versioned for ClintState {
    const KIND: &'static str = "clint";
    const VERSION: u32 = 1;

    fn encode(&self, out: &mut Encoder) {
        out.base(&self.mtimecmp);
        out.part("msip", self.msip.iter().any(|&m| m), &self.msip);
    }

    fn decode(input: &mut Decoder<'_>) -> Result<Self, StateError> {
        let mtimecmp: Vec<u64> = input.base()?;
        let msip = match input.part::<Vec<bool>>("msip")? {
            Some(msip) => msip,
            None => vec![false; mtimecmp.len()],
        };
        Ok(ClintState { msip, mtimecmp })
    }
}

impl Persist for Clint {
    type State = ClintState;

    fn save(&self) -> Result<ClintState, StateError> {
        Ok(self.state.clone())
    }

    /// Restores saved registers (same number of harts) and re-drives MSIP and MTIP.
    fn restore(&mut self, state: &ClintState) -> Result<(), StateError> {
        let n = self.harts.len();
        if state.msip.len() != n || state.mtimecmp.len() != n {
            return Err(StateError::mismatch(format!(
                "state for {} harts, this CLINT has {n}",
                state.mtimecmp.len()
            )));
        }
        self.state = state.clone();
        for (lines, &msip) in self.harts.iter().zip(&self.state.msip) {
            lines.set_level(irq::MSIP, msip);
        }
        self.update_timers();
        Ok(())
    }
}

impl MmioDevice for Clint {
    fn read(&mut self, offset: u64, size: u8) -> Result<u64, BusFault> {
        self.load(offset, size)
    }

    fn write(&mut self, offset: u64, size: u8, value: u64) -> Result<(), BusFault> {
        self.store(offset, size, value)
    }

    /// Raises MTIP for timers that became due.
    fn poll(&mut self) {
        self.update_timers();
    }

    fn next_deadline(&self) -> Option<u64> {
        Clint::next_deadline(self)
    }
}

/// Reads `size` bytes at byte `offset` (0..8) of a 64-bit register.
fn read_part(reg: u64, offset: u64, size: u8) -> Result<u64, BusFault> {
    match (offset, size) {
        (0, 8) => Ok(reg),
        (0, 4) => Ok(reg & 0xffff_ffff),
        (4, 4) => Ok(reg >> 32),
        _ => Err(BusFault),
    }
}

/// Writes `size` bytes at byte `offset` (0..8) of a 64-bit register.
fn write_part(reg: u64, offset: u64, size: u8, value: u64) -> Result<u64, BusFault> {
    match (offset, size) {
        (0, 8) => Ok(value),
        (0, 4) => Ok((reg & !0xffff_ffff) | (value & 0xffff_ffff)),
        (4, 4) => Ok((reg & 0xffff_ffff) | (value << 32)),
        _ => Err(BusFault),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tern_hart::ClockMode;

    #[test]
    fn timer_and_software_interrupts() {
        let lines = Arc::new(IrqLines::new());
        let clock = Arc::new(VirtualClock::new(ClockMode::Instructions(1)));
        let mut clint = Clint::new(vec![lines.clone()], clock.clone());
        clint.store(0, 4, 1).unwrap();
        assert_eq!(lines.get() & irq::MSIP, irq::MSIP);
        clint.store(0x4000, 8, 100).unwrap();
        assert_eq!(lines.get() & irq::MTIP, 0);
        assert_eq!(clint.next_deadline(), Some(100));
        clock.retired(100);
        clint.update_timers();
        assert_eq!(lines.get() & irq::MTIP, irq::MTIP);
        assert_eq!(clint.load(0xbff8, 8).unwrap(), 100);
        assert!(clint.load(0x4001, 8).is_err());
        assert!(clint.store(0x10000, 4, 0).is_err());
    }

    #[test]
    fn state_round_trips_and_a_state_without_msip_decodes() {
        let harts: Vec<_> = (0..2).map(|_| Arc::new(IrqLines::new())).collect();
        let clock = Arc::new(VirtualClock::new(ClockMode::Instructions(1)));
        let mut clint = Clint::new(harts.clone(), clock.clone());
        clint.store(0x4008, 8, 500).unwrap();
        clint.store(4, 4, 1).unwrap();
        let bytes = tern_state::to_bytes(&clint.save().unwrap()).unwrap();
        let lines: Vec<_> = (0..2).map(|_| Arc::new(IrqLines::new())).collect();
        let mut other = Clint::new(lines.clone(), clock.clone());
        other
            .restore(&tern_state::from_bytes(&bytes).unwrap())
            .unwrap();
        assert_eq!(
            lines[1].get() & irq::MSIP,
            irq::MSIP,
            "MSIP is driven again"
        );
        assert_eq!(other.next_deadline(), Some(500));
        // Without a pending software interrupt the part is not written.
        clint.store(4, 4, 0).unwrap();
        let plain = tern_state::to_bytes(&clint.save().unwrap()).unwrap();
        assert!(plain.len() < bytes.len());
        let back: ClintState = tern_state::from_bytes(&plain).unwrap();
        assert_eq!(back.msip, [false, false]);
        assert_eq!(back.mtimecmp, [u64::MAX, 500]);
        let mut one = Clint::new(vec![Arc::new(IrqLines::new())], clock);
        let e = one.restore(&back).unwrap_err();
        assert_eq!(e.to_string(), "state for 2 harts, this CLINT has 1");
    }
}
