//! A hart's state as a versioned component state (tern-state): what a snapshot stores
//! for each hart.
//!
//! Version 1: the base holds the registers, `pc`, privilege, `fflags`/`frm`, the hart
//! id and the CSRs ([`crate::state::Csrs`], PMP included: their serde form *is* the
//! base, so a new CSR must go into a new part, never into that struct's encoding).
//! Parts written only when they hold something: `wfi` (the hart is stalled in `wfi`),
//! `lr` (an LR reservation and the value it read) and `sdtrig` (the debug triggers,
//! when they differ from their reset state; older states without it restore with
//! the triggers reset).

use serde::{Deserialize, Serialize};
use tern_state::{Decoder, Encoder, Persist, StateError, Versioned};

use crate::csr::trigger::Triggers;
use crate::hart::Hart;
use crate::state::{Csrs, HartState, Priv};

/// The base of a hart's state.
#[derive(Serialize, Deserialize)]
struct HartBase {
    x: [u64; 32],
    f: [u64; 32],
    pc: u64,
    prv: Priv,
    fflags: u8,
    frm: u8,
    hartid: u64,
    csr: Csrs,
}

/// Part `lr`: a held reservation.
#[derive(Serialize, Deserialize)]
struct Reservation {
    addr: u64,
    value: u64,
}

impl Versioned for HartState {
    const KIND: &'static str = "hart";
    const VERSION: u32 = 1;

    fn encode(&self, out: &mut Encoder) {
        out.base(&HartBase {
            x: self.x,
            f: self.f,
            pc: self.pc,
            prv: self.prv,
            fflags: self.fflags,
            frm: self.frm,
            hartid: self.hartid,
            csr: self.csr.clone(),
        });
        out.part("wfi", self.waiting, &self.waiting);
        if let Some(addr) = self.reservation {
            let lr = Reservation {
                addr,
                value: self.reservation_value,
            };
            out.part("lr", true, &lr);
        }
        out.part(
            "sdtrig",
            self.triggers != Triggers::default(),
            &self.triggers,
        );
    }

    fn decode(input: &mut Decoder<'_>) -> Result<Self, StateError> {
        let b: HartBase = input.base()?;
        let waiting = input.part_or_default("wfi")?;
        let lr: Option<Reservation> = input.part("lr")?;
        let triggers: Triggers = input.part_or_default("sdtrig")?;
        Ok(HartState {
            x: b.x,
            f: b.f,
            pc: b.pc,
            prv: b.prv,
            fflags: b.fflags,
            frm: b.frm,
            waiting,
            hartid: b.hartid,
            reservation: lr.as_ref().map(|r| r.addr),
            reservation_value: lr.map_or(0, |r| r.value),
            csr: b.csr,
            triggers,
        })
    }
}

/// A hart saves its architectural state; restoring it drops everything derived
/// (TLB, decoded blocks) and sanitizes WARL fields, as [`Hart::set_state`] does.
impl Persist for Hart {
    type State = HartState;

    fn save(&self) -> Result<HartState, StateError> {
        Ok(self.state().clone())
    }

    fn restore(&mut self, state: &HartState) -> Result<(), StateError> {
        let id = self.state().hartid;
        if state.hartid != id {
            return Err(StateError::mismatch(format!(
                "the state of hart {} restored into hart {id}",
                state.hartid
            )));
        }
        self.set_state(state.clone());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{GuestRam, IrqLines, VirtualClock};
    use std::sync::Arc;
    use tern_state::{from_bytes, to_bytes};

    fn hart(id: u64) -> Hart {
        let ram = Arc::new(GuestRam::new(0x8000_0000, 1 << 20).unwrap());
        let clock = Arc::new(VirtualClock::new(crate::ClockMode::Host));
        Hart::new(id, 0x8000_0000, ram, Arc::new(IrqLines::new()), clock)
    }

    fn busy_state() -> HartState {
        let mut s = HartState::new(1, 0x8000_1234);
        for i in 1..32 {
            s.x[i] = i as u64 * 0x1111;
            s.f[i] = !(i as u64);
        }
        s.prv = Priv::S;
        s.fflags = 3;
        s.frm = 2;
        s.csr.satp = 8 << 60 | 0x80123;
        s.csr.pmp.cfg[0] = 0x1f;
        s.csr.pmp.addr[0] = 0x2000_0000;
        s.waiting = true;
        s.reservation = Some(0x8000_0100);
        s.reservation_value = 42;
        s.triggers.select = 1;
        s.triggers.tdata1[1] = 6 << 60 | 0x41;
        s.triggers.tdata2[1] = 0x8000_2000;
        s
    }

    #[test]
    fn a_hart_round_trips_through_its_encoding() {
        let s = busy_state();
        let back: HartState = from_bytes(&to_bytes(&s).unwrap()).unwrap();
        assert_eq!(back, s);
        let mut h = hart(1);
        h.restore(&back).unwrap();
        assert_eq!(h.save().unwrap(), s);
        let e = hart(2).restore(&s).unwrap_err();
        assert_eq!(e.to_string(), "the state of hart 1 restored into hart 2");
    }

    #[test]
    fn a_state_written_without_its_optional_parts_decodes() {
        let mut s = busy_state();
        let full = to_bytes(&s).unwrap();
        s.waiting = false;
        s.reservation = None;
        s.reservation_value = 0;
        s.triggers = Triggers::default();
        let plain = to_bytes(&s).unwrap();
        assert!(plain.len() < full.len(), "unneeded parts are not written");
        assert_eq!(from_bytes::<HartState>(&plain).unwrap(), s);
    }
}
