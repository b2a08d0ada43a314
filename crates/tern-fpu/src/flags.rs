//! The accrued exception flags (`fflags`).

use std::ops::{BitOr, BitOrAssign};

/// A set of IEEE 754 exception flags in the bit layout of the RISC-V `fflags` CSR
/// (Unprivileged ISA, "Floating-Point Control and Status Register", table "Accrued
/// exception flag encoding"): NV=bit 4, DZ=bit 3, OF=bit 2, UF=bit 1, NX=bit 0.
///
/// Operations return the flags they raised; the hart ORs them into `fflags`. RISC-V
/// never traps on floating-point exceptions, so flags are the only side effect.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Flags(pub u8);

impl Flags {
    /// Inexact: the rounded result differs from the exact result.
    pub const NX: Flags = Flags(0x01);
    /// Underflow: the result is tiny (detected after rounding) and inexact.
    pub const UF: Flags = Flags(0x02);
    /// Overflow: the rounded result's magnitude exceeds the largest finite number.
    pub const OF: Flags = Flags(0x04);
    /// Divide by zero: a finite non-zero number was divided by zero.
    pub const DZ: Flags = Flags(0x08);
    /// Invalid operation: e.g. a signaling NaN operand, inf − inf, 0 × inf, sqrt of a
    /// negative number, or a float→integer conversion out of range.
    pub const NV: Flags = Flags(0x10);
    /// No exception.
    pub const NONE: Flags = Flags(0);

    /// The raw 5-bit `fflags` value.
    pub fn bits(self) -> u8 {
        self.0
    }

    /// Whether every flag in `other` is also set in `self`.
    pub fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    /// `NX` if `inexact`, otherwise no flag.
    pub(crate) fn nx_if(inexact: bool) -> Flags {
        Flags(inexact as u8)
    }

    /// `NV` if `invalid`, otherwise no flag.
    pub(crate) fn nv_if(invalid: bool) -> Flags {
        Flags((invalid as u8) << 4)
    }
}

impl BitOr for Flags {
    type Output = Flags;

    fn bitor(self, rhs: Flags) -> Flags {
        Flags(self.0 | rhs.0)
    }
}

impl BitOrAssign for Flags {
    fn bitor_assign(&mut self, rhs: Flags) {
        self.0 |= rhs.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_fflags() {
        let all = Flags::NX | Flags::UF | Flags::OF | Flags::DZ | Flags::NV;
        assert_eq!(all.bits(), 0x1f);
        assert_eq!(Flags::NV.bits(), 0x10);
        assert_eq!(Flags::NONE.bits(), 0);
        assert_eq!(Flags::default(), Flags::NONE);
        let mut f = Flags::NX;
        f |= Flags::UF;
        assert!(f.contains(Flags::UF) && f.contains(Flags::NX) && !f.contains(Flags::OF));
        assert_eq!(Flags::nx_if(true), Flags::NX);
        assert_eq!(Flags::nv_if(true), Flags::NV);
        assert_eq!(Flags::nv_if(false) | Flags::nx_if(false), Flags::NONE);
    }
}
