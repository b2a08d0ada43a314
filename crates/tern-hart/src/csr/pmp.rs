//! Physical memory protection (Privileged ISA §3.7): 16 entries, TOR/NA4/NAPOT, lock.
//!
//! Where the specification leaves a choice, this follows QEMU: the granularity is 4
//! bytes, and when no entry is active (all `A = OFF`) S- and U-mode accesses succeed.

use serde::{Deserialize, Serialize};

use crate::state::Priv;
use crate::trap::Access;

/// Number of PMP entries implemented.
pub const ENTRIES: usize = 16;

const R: u8 = 1 << 0;
const W: u8 = 1 << 1;
const X: u8 = 1 << 2;
const A_SHIFT: u8 = 3;
const L: u8 = 1 << 7;
/// Writable bits of a `pmpNcfg` byte (bits 5 and 6 are reserved zero).
const CFG_MASK: u8 = 0x9f;
/// `pmpaddr` holds bits 55:2 of the address.
const ADDR_MASK: u64 = (1 << 54) - 1;

const A_OFF: u8 = 0;
const A_TOR: u8 = 1;
const A_NA4: u8 = 2;
const A_NAPOT: u8 = 3;

/// The PMP registers.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PmpState {
    /// `pmpNcfg` bytes.
    pub cfg: [u8; ENTRIES],
    /// `pmpaddrN` values.
    pub addr: [u64; ENTRIES],
}

/// The outcome of checking a whole page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageVerdict {
    /// Every byte of the page is accessible this way.
    Allowed,
    /// No byte of the page is accessible this way.
    Denied,
    /// The page is split between rules: check each access.
    Mixed,
}

impl PmpState {
    fn mode(&self, i: usize) -> u8 {
        (self.cfg[i] >> A_SHIFT) & 3
    }

    fn locked(&self, i: usize) -> bool {
        self.cfg[i] & L != 0
    }

    /// Address range `[lo, hi)` of entry `i`, or `None` when it is off or empty.
    fn range(&self, i: usize) -> Option<(u64, u64)> {
        let a = self.addr[i];
        match self.mode(i) {
            A_OFF => None,
            A_TOR => {
                let lo = if i == 0 { 0 } else { self.addr[i - 1] << 2 };
                let hi = a << 2;
                (lo < hi).then_some((lo, hi))
            }
            A_NA4 => Some((a << 2, (a << 2) + 4)),
            A_NAPOT => {
                // NAPOT: the number of trailing ones gives the size.
                let ones = a.trailing_ones();
                if ones >= 54 {
                    return Some((0, u64::MAX));
                }
                let size = 8u64 << ones;
                let lo = (a & !((1u64 << ones) - 1)) << 2;
                Some((lo, lo.saturating_add(size)))
            }
            _ => None,
        }
    }

    fn allows(&self, i: usize, access: Access, prv: Priv) -> bool {
        if prv == Priv::M && !self.locked(i) {
            return true;
        }
        let bit = match access {
            Access::Load => R,
            Access::Store => W,
            Access::Fetch => X,
        };
        self.cfg[i] & bit != 0
    }

    /// Whether any entry is active: one test of all `A` fields at once.
    #[inline]
    fn any_active(&self) -> bool {
        u128::from_le_bytes(self.cfg) & (0x18 * (u128::MAX / 0xff)) != 0
    }

    /// Whether an access of `size` bytes at physical `addr` is permitted.
    pub fn check(&self, addr: u64, size: u64, access: Access, prv: Priv) -> bool {
        if !self.any_active() {
            return true;
        }
        let end = addr.saturating_add(size);
        for i in 0..ENTRIES {
            let Some((lo, hi)) = self.range(i) else {
                continue;
            };
            if addr < hi && end > lo {
                // The lowest-numbered matching entry decides; a partial match fails.
                return addr >= lo && end <= hi && self.allows(i, access, prv);
            }
        }
        prv == Priv::M || !self.any_active()
    }

    /// Checks the whole 4 KiB page at `page`, so that the TLB may cache the result.
    pub fn check_page(&self, page: u64, access: Access, prv: Priv) -> PageVerdict {
        if !self.any_active() {
            return PageVerdict::Allowed;
        }
        let end = page + 4096;
        for i in 0..ENTRIES {
            let Some((lo, hi)) = self.range(i) else {
                continue;
            };
            if page < hi && end > lo {
                if page >= lo && end <= hi {
                    return if self.allows(i, access, prv) {
                        PageVerdict::Allowed
                    } else {
                        PageVerdict::Denied
                    };
                }
                return PageVerdict::Mixed;
            }
        }
        if prv == Priv::M || !self.any_active() {
            PageVerdict::Allowed
        } else {
            PageVerdict::Denied
        }
    }

    /// Reads `pmpcfgN` (N even); bytes of unimplemented entries read zero.
    pub fn read_cfg(&self, reg: usize) -> u64 {
        let first = reg * 4;
        (0..8).fold(0u64, |v, k| {
            v | (u64::from(self.cfg.get(first + k).copied().unwrap_or(0)) << (8 * k))
        })
    }

    /// Writes `pmpcfgN`; locked and unimplemented entries keep their value.
    pub fn write_cfg(&mut self, reg: usize, value: u64) {
        let first = reg * 4;
        for k in 0..8 {
            let i = first + k;
            if i < ENTRIES && !self.locked(i) {
                self.cfg[i] = (value >> (8 * k)) as u8 & CFG_MASK;
            }
        }
    }

    /// Reads `pmpaddrN` (zero for unimplemented entries). With 4-byte granularity the
    /// stored value reads back as written.
    pub fn read_addr(&self, i: usize) -> u64 {
        self.addr.get(i).copied().unwrap_or(0)
    }

    /// Writes `pmpaddrN`, unless the entry is locked or entry N+1 is a locked TOR entry
    /// (whose base it is).
    pub fn write_addr(&mut self, i: usize, value: u64) {
        if i >= ENTRIES || self.locked(i) {
            return;
        }
        if i + 1 < ENTRIES && self.locked(i + 1) && self.mode(i + 1) == A_TOR {
            return;
        }
        self.addr[i] = value & ADDR_MASK;
    }

    /// Makes sure every field is in range after a restore from untrusted data.
    pub fn sanitize(&mut self) {
        for i in 0..ENTRIES {
            self.cfg[i] &= CFG_MASK;
            self.addr[i] &= ADDR_MASK;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_active_entry_allows_everyone() {
        let p = PmpState::default();
        assert!(p.check(0x8000_0000, 8, Access::Load, Priv::U));
    }

    #[test]
    fn napot_and_tor() {
        let mut p = PmpState::default();
        // Entry 0: NAPOT 4 KiB at 0x8000_0000, read-only.
        p.addr[0] = (0x8000_0000 >> 2) | 0x1ff;
        p.cfg[0] = R | (A_NAPOT << A_SHIFT);
        // Entry 1: TOR from 0x8000_1000 to 0x8000_2000, RWX.
        p.addr[1] = 0x8000_2000 >> 2;
        p.cfg[1] = R | W | X | (A_TOR << A_SHIFT);
        assert!(p.check(0x8000_0ff8, 8, Access::Load, Priv::S));
        assert!(!p.check(0x8000_0ff8, 8, Access::Store, Priv::S));
        assert!(p.check(0x8000_0ff8, 8, Access::Store, Priv::M));
        // Straddles entries 0 and 1: the lowest match only partially covers it.
        assert!(!p.check(0x8000_0ffc, 8, Access::Load, Priv::S));
        assert!(p.check(0x8000_1000, 8, Access::Store, Priv::U));
        assert!(!p.check(0x8000_2000, 8, Access::Load, Priv::U));
        assert!(p.check(0x8000_2000, 8, Access::Load, Priv::M));
        assert_eq!(
            p.check_page(0x8000_0000, Access::Load, Priv::S),
            PageVerdict::Allowed
        );
        assert_eq!(
            p.check_page(0x8000_0000, Access::Store, Priv::S),
            PageVerdict::Denied
        );
    }

    #[test]
    fn lock_applies_to_m_and_freezes() {
        let mut p = PmpState::default();
        p.write_addr(0, 0x1000 >> 2);
        p.write_cfg(0, u64::from(L | (A_TOR << A_SHIFT)));
        assert!(!p.check(0x800, 4, Access::Load, Priv::M));
        p.write_cfg(0, 0);
        p.write_addr(0, 0);
        assert_eq!(p.read_addr(0), 0x1000 >> 2);
        assert_eq!(p.read_cfg(0) & 0xff, u64::from(L | (A_TOR << A_SHIFT)));
    }
}
