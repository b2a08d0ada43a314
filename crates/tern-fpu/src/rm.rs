//! The static rounding modes of the F and D extensions.

/// A resolved IEEE 754 rounding-direction attribute, encoded as in the `rm` field of an
/// F/D instruction and in the `frm` CSR (Unprivileged ISA, "Floating-Point Control and
/// Status Register", table "Rounding mode encoding").
///
/// The dynamic mode (`rm` = 7) is not a variant: the hart resolves it from `frm` before
/// calling this crate, and raises an illegal-instruction exception for the reserved
/// encodings 5 and 6 (and for `frm` values above 4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Rm {
    /// Round to nearest, ties to even (IEEE 754 roundTiesToEven); the default mode.
    Rne = 0,
    /// Round towards zero (IEEE 754 roundTowardZero).
    Rtz = 1,
    /// Round down, towards negative infinity (IEEE 754 roundTowardNegative).
    Rdn = 2,
    /// Round up, towards positive infinity (IEEE 754 roundTowardPositive).
    Rup = 3,
    /// Round to nearest, ties to max magnitude (IEEE 754 roundTiesToAway).
    Rmm = 4,
}

impl Rm {
    /// All five modes in encoding order, for tests and exhaustive loops.
    pub const ALL: [Rm; 5] = [Rm::Rne, Rm::Rtz, Rm::Rdn, Rm::Rup, Rm::Rmm];

    /// Decodes a 3-bit `rm`/`frm` value; 0..=4 are the static modes, anything else
    /// (5 and 6 are reserved, 7 means "dynamic") yields `None` so the caller can resolve
    /// the dynamic mode or raise an illegal-instruction exception.
    pub fn from_bits(bits: u8) -> Option<Rm> {
        match bits {
            0 => Some(Rm::Rne),
            1 => Some(Rm::Rtz),
            2 => Some(Rm::Rdn),
            3 => Some(Rm::Rup),
            4 => Some(Rm::Rmm),
            _ => None,
        }
    }

    /// The 3-bit encoding of this mode (the inverse of [`Rm::from_bits`]).
    pub fn bits(self) -> u8 {
        self as u8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_bits_round_trips_and_rejects_the_rest() {
        for rm in Rm::ALL {
            assert_eq!(Rm::from_bits(rm.bits()), Some(rm));
        }
        for bits in 5..=255u8 {
            assert_eq!(Rm::from_bits(bits), None);
        }
    }
}
