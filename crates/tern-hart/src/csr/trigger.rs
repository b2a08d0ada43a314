//! Debug triggers (Sdtrig, RISC-V Debug Specification 1.0, chapter 5): `tselect`,
//! `tdata1`–`tdata3`, `tinfo`, and address-match triggers of type 2 (`mcontrol`) and
//! type 6 (`mcontrol6`) on execute, load and store, whose action is a breakpoint
//! exception (action 0). There is no debug mode, so `dmode` reads 0, and no data
//! match, chaining or `textra` (`tdata3` reads 0).
//!
//! A trigger that matches fires *before* the instruction or the access (mcontrol's
//! `timing` is 0, mcontrol6 has no other timing): the hart raises a breakpoint with
//! `xepc` at the instruction and `xtval` the matched address. Checking happens on the
//! engine's debug path (`engine/debug.rs`), which runs one instruction at a time and
//! is taken only while some trigger is armed: unarmed triggers cost the interpreter
//! one flag test per block.

use serde::{Deserialize, Serialize};

use crate::state::Priv;

/// Triggers per hart (QEMU has 2, Spike 4).
pub const TRIGGERS: usize = 4;

/// `tdata1.type` of an address/data match trigger (`mcontrol`).
pub const TYPE_MCONTROL: u64 = 2;
/// `tdata1.type` of `mcontrol6`.
pub const TYPE_MCONTROL6: u64 = 6;
/// `tdata1.type` of a trigger that exists but is disabled.
pub const TYPE_DISABLED: u64 = 15;

/// `tdata1` bits shared by mcontrol and mcontrol6.
const LOAD: u64 = 1 << 0;
const STORE: u64 = 1 << 1;
const EXECUTE: u64 = 1 << 2;
const U: u64 = 1 << 3;
const S: u64 = 1 << 4;
const M: u64 = 1 << 6;
const MATCH_SHIFT: u32 = 7;
const MATCH_MASK: u64 = 0xf << MATCH_SHIFT;
/// mcontrol: `sizelo` (17:16), `sizehi` (22:21), `hit` (20).
const MC_SIZELO: u64 = 3 << 16;
const MC_SIZEHI: u64 = 3 << 21;
const MC_HIT: u64 = 1 << 20;
/// mcontrol6: `size` (18:16), `hit0` (22).
const MC6_SIZE: u64 = 7 << 16;
const MC6_HIT0: u64 = 1 << 22;

/// `match` values implemented: equal, greater or equal, less than.
const MATCH_EQUAL: u64 = 0;
const MATCH_GE: u64 = 2;
const MATCH_LT: u64 = 3;

/// `tinfo`: version 1 (Sdtrig 1.0) in bits 31:24, and the supported types.
pub const TINFO: u64 =
    (1 << 24) | (1 << TYPE_MCONTROL) | (1 << TYPE_MCONTROL6) | (1 << TYPE_DISABLED);

/// What an instruction does that a trigger can match.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TriggerAccess {
    /// Executing the instruction at the address.
    Execute,
    /// A load (or the read half of an AMO).
    Load,
    /// A store (or an AMO, SC, `cbo.zero`).
    Store,
}

/// The trigger registers of one hart (architectural state).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Triggers {
    /// `tselect`.
    pub select: u64,
    /// `tdata1` of each trigger.
    pub tdata1: [u64; TRIGGERS],
    /// `tdata2` of each trigger (the address to match).
    pub tdata2: [u64; TRIGGERS],
}

impl Default for Triggers {
    /// Every trigger an mcontrol with no mode and no access selected: debuggers find
    /// the type they can use, and nothing fires.
    fn default() -> Triggers {
        Triggers {
            select: 0,
            tdata1: [TYPE_MCONTROL << 60; TRIGGERS],
            tdata2: [0; TRIGGERS],
        }
    }
}

impl Triggers {
    fn current(&self) -> usize {
        // `select` is kept below TRIGGERS by `write_select` and by `sanitize`.
        (self.select as usize).min(TRIGGERS - 1)
    }

    /// `tselect` write: an index past the last trigger is not kept (WARL), so that a
    /// debugger counting triggers by reading back sees where they end.
    pub fn write_select(&mut self, value: u64) {
        if value < TRIGGERS as u64 {
            self.select = value;
        }
    }

    /// `tdata1` of the selected trigger.
    pub fn read_tdata1(&self) -> u64 {
        self.tdata1[self.current()]
    }

    /// `tdata2` of the selected trigger.
    pub fn read_tdata2(&self) -> u64 {
        self.tdata2[self.current()]
    }

    /// `tdata1` write to the selected trigger, legalized (see [`legalize`]).
    pub fn write_tdata1(&mut self, value: u64) {
        let i = self.current();
        self.tdata1[i] = legalize(value);
    }

    /// `tdata2` write to the selected trigger.
    pub fn write_tdata2(&mut self, value: u64) {
        let i = self.current();
        self.tdata2[i] = value;
    }

    /// Makes a restored state legal (a snapshot is not trusted).
    pub fn sanitize(&mut self) {
        if self.select >= TRIGGERS as u64 {
            self.select = 0;
        }
        for t in &mut self.tdata1 {
            *t = legalize(*t);
        }
    }

    /// Whether some trigger can fire at all (an access type and a mode selected).
    pub fn armed(&self) -> bool {
        self.tdata1.iter().any(|&t| {
            matches!(t >> 60, TYPE_MCONTROL | TYPE_MCONTROL6)
                && t & (M | S | U) != 0
                && t & (LOAD | STORE | EXECUTE) != 0
        })
    }

    /// The first trigger that fires for `access` of `len` bytes at `addr` in
    /// privilege `prv`; its hit bit is set.
    pub fn fire(&mut self, access: TriggerAccess, addr: u64, len: u64, prv: Priv) -> Option<usize> {
        let mode = match prv {
            Priv::M => M,
            Priv::S => S,
            Priv::U => U,
        };
        let kind = match access {
            TriggerAccess::Execute => EXECUTE,
            TriggerAccess::Load => LOAD,
            TriggerAccess::Store => STORE,
        };
        for i in 0..TRIGGERS {
            let t = self.tdata1[i];
            let ty = t >> 60;
            if !matches!(ty, TYPE_MCONTROL | TYPE_MCONTROL6) || t & mode == 0 || t & kind == 0 {
                continue;
            }
            let size = if ty == TYPE_MCONTROL {
                ((t & MC_SIZEHI) >> 19) | ((t & MC_SIZELO) >> 16)
            } else {
                (t & MC6_SIZE) >> 16
            };
            if size != 0 && size_bytes(size) != Some(len) {
                continue;
            }
            let target = self.tdata2[i];
            let hit = match (t & MATCH_MASK) >> MATCH_SHIFT {
                MATCH_EQUAL => match access {
                    TriggerAccess::Execute => addr == target,
                    _ => target.wrapping_sub(addr) < len,
                },
                MATCH_GE => addr >= target,
                MATCH_LT => addr < target,
                _ => false,
            };
            if hit {
                self.tdata1[i] |= if ty == TYPE_MCONTROL {
                    MC_HIT
                } else {
                    MC6_HIT0
                };
                return Some(i);
            }
        }
        None
    }
}

/// Bytes of an access of mcontrol size code `size` (1 = 8 bits ... 5 = 64 bits).
fn size_bytes(size: u64) -> Option<u64> {
    match size {
        1 => Some(1),
        2 => Some(2),
        3 => Some(4),
        4 => Some(6),
        5 => Some(8),
        _ => None,
    }
}

/// A `tdata1` value as this hart keeps it: types 2 and 6 with the fields implemented
/// (mode bits, access bits, `match` 0, 2 or 3, size, hit); `dmode`, `select`,
/// `timing`, `chain`, `action` and the hypervisor bits read 0. Any other type
/// becomes 15 (disabled) with no other bits.
pub fn legalize(value: u64) -> u64 {
    let ty = value >> 60;
    let common = LOAD | STORE | EXECUTE | U | S | M;
    let matched = match (value & MATCH_MASK) >> MATCH_SHIFT {
        m @ (MATCH_EQUAL | MATCH_GE | MATCH_LT) => m << MATCH_SHIFT,
        _ => MATCH_EQUAL,
    };
    match ty {
        TYPE_MCONTROL => (ty << 60) | (value & (common | MC_SIZELO | MC_SIZEHI | MC_HIT)) | matched,
        TYPE_MCONTROL6 => (ty << 60) | (value & (common | MC6_SIZE | MC6_HIT0)) | matched,
        _ => TYPE_DISABLED << 60,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn armed(ty: u64, bits: u64, addr: u64) -> Triggers {
        let mut t = Triggers::default();
        t.write_tdata2(addr);
        t.write_tdata1(ty << 60 | bits);
        t
    }

    #[test]
    fn the_reset_state_is_an_unarmed_mcontrol() {
        let t = Triggers::default();
        assert_eq!(t.read_tdata1() >> 60, TYPE_MCONTROL);
        assert!(!t.armed());
    }

    #[test]
    fn tselect_keeps_only_existing_triggers() {
        let mut t = Triggers::default();
        t.write_select(3);
        assert_eq!(t.select, 3);
        t.write_select(4);
        assert_eq!(t.select, 3);
        t.write_select(u64::MAX);
        assert_eq!(t.select, 3);
    }

    #[test]
    fn unsupported_fields_read_back_legal_values() {
        // dmode, action 1 (debug mode), chain, select (data), timing (after), match 1.
        let v = (TYPE_MCONTROL << 60)
            | (1 << 59)
            | (1 << 12)
            | (1 << 11)
            | (1 << 19)
            | (1 << 18)
            | (1 << 7)
            | M
            | LOAD;
        assert_eq!(legalize(v), (TYPE_MCONTROL << 60) | M | LOAD);
        assert_eq!(legalize(3 << 60 | M), TYPE_DISABLED << 60);
        assert_eq!(legalize(0), TYPE_DISABLED << 60);
        let v6 = (TYPE_MCONTROL6 << 60) | (3 << 16) | (2 << 7) | S | STORE;
        assert_eq!(legalize(v6), v6);
    }

    #[test]
    fn matches_by_access_type_mode_and_address() {
        let mut t = armed(TYPE_MCONTROL6, M | LOAD, 0x1000);
        assert!(t.armed());
        assert_eq!(t.fire(TriggerAccess::Load, 0x1000, 4, Priv::M), Some(0));
        assert_ne!(t.tdata1[0] & MC6_HIT0, 0, "hit0 set");
        assert_eq!(
            t.fire(TriggerAccess::Load, 0x0ffc, 8, Priv::M),
            Some(0),
            "an access covering the byte"
        );
        assert_eq!(t.fire(TriggerAccess::Load, 0x1001, 4, Priv::M), None);
        assert_eq!(t.fire(TriggerAccess::Store, 0x1000, 4, Priv::M), None);
        assert_eq!(t.fire(TriggerAccess::Load, 0x1000, 4, Priv::S), None);
        let mut x = armed(TYPE_MCONTROL, U | EXECUTE, 0x2000);
        assert_eq!(x.fire(TriggerAccess::Execute, 0x2000, 2, Priv::U), Some(0));
        assert_eq!(x.fire(TriggerAccess::Execute, 0x1ffe, 4, Priv::U), None);
    }

    #[test]
    fn size_and_range_matches() {
        // mcontrol size 3 (32 bits): a byte load at the address does not fire.
        let mut t = armed(TYPE_MCONTROL, M | LOAD | (3 << 16), 0x1000);
        assert_eq!(t.fire(TriggerAccess::Load, 0x1000, 1, Priv::M), None);
        assert_eq!(t.fire(TriggerAccess::Load, 0x1000, 4, Priv::M), Some(0));
        // match 2 (>=) and 3 (<).
        let mut ge = armed(
            TYPE_MCONTROL6,
            M | STORE | (MATCH_GE << MATCH_SHIFT),
            0x5000,
        );
        assert_eq!(ge.fire(TriggerAccess::Store, 0x4fff, 1, Priv::M), None);
        assert_eq!(ge.fire(TriggerAccess::Store, 0x9000, 1, Priv::M), Some(0));
        let mut lt = armed(
            TYPE_MCONTROL6,
            M | STORE | (MATCH_LT << MATCH_SHIFT),
            0x5000,
        );
        assert_eq!(lt.fire(TriggerAccess::Store, 0x4fff, 1, Priv::M), Some(0));
        assert_eq!(lt.fire(TriggerAccess::Store, 0x5000, 1, Priv::M), None);
    }

    #[test]
    fn a_hostile_restored_state_is_made_legal() {
        let mut t = Triggers {
            select: 99,
            tdata1: [u64::MAX; TRIGGERS],
            tdata2: [0; TRIGGERS],
        };
        t.sanitize();
        assert_eq!(t.select, 0);
        assert!(t.tdata1.iter().all(|&v| v == TYPE_DISABLED << 60));
    }
}
