//! The SiFive test finisher (`sifive,test0`, QEMU's `virt` at 0x100000), through which
//! firmware and Linux (`syscon-poweroff` / `syscon-reboot`) power off or reset the
//! machine, and test programs report failure.
//!
//! A 32-bit write to offset 0: low 16 bits `0x5555` = pass / power off (exit status 0),
//! `0x7777` = reset, `0x3333` = fail with exit status `value >> 16` (QEMU's
//! `hw/misc/sifive_test.c`). Other values are ignored. Reads return 0.
//!
//! The device only records the request in a [`PowerControl`] shared with the board,
//! which stops the harts (through `Bus::stop_requested`) and acts on it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tern_hart::BusFault;

use tern_state::{Decoder, Encoder, Persist, StateError, Versioned};

use crate::{MmioDevice, PollWaker};

/// Size of the register window.
pub const SIZE: u64 = 0x1000;
const FINISHER_FAIL: u64 = 0x3333;
const FINISHER_PASS: u64 = 0x5555;
const FINISHER_RESET: u64 = 0x7777;

/// What the guest asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PowerAction {
    /// Power off; the VM exits with status 0.
    Poweroff,
    /// Reset the machine.
    Reboot,
    /// Power off reporting failure; the VM exits with this status.
    Fail(u16),
}

impl PowerAction {
    /// The exit status the `tern` command should end with (None for a reboot).
    pub fn exit_status(self) -> Option<i32> {
        match self {
            PowerAction::Poweroff => Some(0),
            PowerAction::Reboot => None,
            PowerAction::Fail(code) => Some(i32::from(code)),
        }
    }
}

#[derive(Debug, Default)]
struct PowerInner {
    requested: AtomicBool,
    action: Mutex<Option<PowerAction>>,
    waker: Option<PollWaker>,
}

/// The power request shared by the syscon device and the board: cheap to clone,
/// usable from any thread. The board checks [`PowerControl::is_requested`] (one atomic
/// load) at block boundaries and takes the action with [`PowerControl::take`].
#[derive(Clone, Debug, Default)]
pub struct PowerControl(Arc<PowerInner>);

impl PowerControl {
    /// No request; `waker` (if any) is woken when one arrives.
    pub fn new(waker: Option<PollWaker>) -> PowerControl {
        PowerControl(Arc::new(PowerInner {
            waker,
            ..PowerInner::default()
        }))
    }

    /// Records `action` (the latest request wins) and wakes the board.
    pub fn request(&self, action: PowerAction) {
        *self.0.action.lock().unwrap_or_else(|e| e.into_inner()) = Some(action);
        self.0.requested.store(true, Ordering::Release);
        if let Some(w) = &self.0.waker {
            w.wake();
        }
    }

    /// Whether a request is waiting.
    pub fn is_requested(&self) -> bool {
        self.0.requested.load(Ordering::Acquire)
    }

    /// The waiting request, without taking it.
    pub fn peek(&self) -> Option<PowerAction> {
        *self.0.action.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes the waiting request.
    pub fn take(&self) -> Option<PowerAction> {
        let mut a = self.0.action.lock().unwrap_or_else(|e| e.into_inner());
        self.0.requested.store(false, Ordering::Release);
        a.take()
    }
}

/// Saved syscon state: the request not yet acted upon, if any.
///
/// Encoded (version 1) as an empty base and a part `pending`, written only while a
/// request waits.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SysconState {
    /// The pending request.
    pub pending: Option<PowerAction>,
}

impl Versioned for SysconState {
    const KIND: &'static str = "syscon";
    const VERSION: u32 = 1;

    fn encode(&self, out: &mut Encoder) {
        out.base(&());
        if let Some(action) = &self.pending {
            out.part("pending", true, action);
        }
    }

    fn decode(input: &mut Decoder<'_>) -> Result<Self, StateError> {
        input.base::<()>()?;
        Ok(SysconState {
            pending: input.part("pending")?,
        })
    }
}

/// The test finisher.
pub struct Syscon {
    control: PowerControl,
}

impl Syscon {
    /// A finisher reporting to `control`.
    pub fn new(control: PowerControl) -> Syscon {
        Syscon { control }
    }

    /// The shared request.
    pub fn control(&self) -> &PowerControl {
        &self.control
    }
}

impl Persist for Syscon {
    type State = SysconState;

    fn save(&self) -> Result<SysconState, StateError> {
        Ok(SysconState {
            pending: self.control.peek(),
        })
    }

    /// Restores a saved state (a request still pending is requested again).
    fn restore(&mut self, state: &SysconState) -> Result<(), StateError> {
        self.control.take();
        if let Some(a) = state.pending {
            self.control.request(a);
        }
        Ok(())
    }
}

impl MmioDevice for Syscon {
    fn read(&mut self, offset: u64, size: u8) -> Result<u64, BusFault> {
        if offset >= SIZE || !matches!(size, 2 | 4) {
            return Err(BusFault);
        }
        Ok(0)
    }

    fn write(&mut self, offset: u64, size: u8, value: u64) -> Result<(), BusFault> {
        if offset >= SIZE || !matches!(size, 2 | 4) {
            return Err(BusFault);
        }
        if offset != 0 {
            return Ok(());
        }
        let value = if size == 2 {
            value & 0xffff
        } else {
            value & 0xffff_ffff
        };
        let code = (value >> 16) as u16;
        match value & 0xffff {
            FINISHER_PASS => self.control.request(PowerAction::Poweroff),
            FINISHER_RESET => self.control.request(PowerAction::Reboot),
            FINISHER_FAIL => self.control.request(PowerAction::Fail(code)),
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finisher_codes() {
        let ctl = PowerControl::new(None);
        let mut s = Syscon::new(ctl.clone());
        assert_eq!(s.read(0, 4).unwrap(), 0);
        s.write(0, 4, 0x1234).unwrap();
        assert!(!ctl.is_requested());
        s.write(0, 4, 0x5555).unwrap();
        assert!(ctl.is_requested());
        assert_eq!(ctl.take(), Some(PowerAction::Poweroff));
        assert!(!ctl.is_requested());
        s.write(0, 4, (42 << 16) | 0x3333).unwrap();
        assert_eq!(ctl.peek(), Some(PowerAction::Fail(42)));
        assert_eq!(PowerAction::Fail(42).exit_status(), Some(42));
        s.write(0, 4, 0x7777).unwrap();
        assert_eq!(s.save().unwrap().pending, Some(PowerAction::Reboot));
        assert!(s.write(0, 8, 0x5555).is_err());
        assert!(s.write(SIZE, 4, 0x5555).is_err());
    }

    #[test]
    fn a_state_without_a_pending_request_decodes() {
        let ctl = PowerControl::new(None);
        let mut s = Syscon::new(ctl.clone());
        let idle = tern_state::to_bytes(&s.save().unwrap()).unwrap();
        s.write(0, 4, (3 << 16) | 0x3333).unwrap();
        let busy = tern_state::to_bytes(&s.save().unwrap()).unwrap();
        assert!(idle.len() < busy.len());
        let other = PowerControl::new(None);
        let mut t = Syscon::new(other.clone());
        t.restore(&tern_state::from_bytes(&busy).unwrap()).unwrap();
        assert_eq!(other.take(), Some(PowerAction::Fail(3)));
        t.restore(&tern_state::from_bytes(&idle).unwrap()).unwrap();
        assert!(!other.is_requested());
    }
}
