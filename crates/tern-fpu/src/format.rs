//! The two binary interchange formats, described by constants so that the exact
//! implementation is written once and instantiated for binary32 and binary64.
//!
//! Bits of both formats travel as `u64` inside the crate (binary32 in the low 32 bits,
//! upper bits zero); the public functions narrow and widen at the edge.

/// An IEEE 754 binary interchange format (IEEE 754-2019 §3.6).
pub(crate) trait Format {
    /// Stored fraction bits (23 or 52).
    const FRAC_BITS: u32;
    /// Exponent field bits (8 or 11).
    const EXP_BITS: u32;
    /// The canonical NaN of RISC-V (Unprivileged ISA, F chapter, "NaN Generation and
    /// Propagation"): positive, quiet, all other fraction bits zero.
    const CANONICAL_NAN: u64;

    /// Precision in bits, the hidden bit included (24 or 53).
    const PRECISION: u32 = Self::FRAC_BITS + 1;
    /// Total width (32 or 64).
    const WIDTH: u32 = Self::FRAC_BITS + Self::EXP_BITS + 1;
    /// The exponent bias (127 or 1023), which is also the largest unbiased exponent.
    const BIAS: i32 = (1 << (Self::EXP_BITS - 1)) - 1;
    /// The smallest unbiased exponent of a normal number (−126 or −1022).
    const EMIN: i32 = 1 - Self::BIAS;
    /// The largest unbiased exponent of a finite number (127 or 1023).
    const EMAX: i32 = Self::BIAS;
    /// The sign bit.
    const SIGN: u64 = 1 << (Self::WIDTH - 1);
    /// The fraction field.
    const FRAC_MASK: u64 = (1 << Self::FRAC_BITS) - 1;
    /// The hidden (integer) bit of a normal significand.
    const HIDDEN: u64 = 1 << Self::FRAC_BITS;
    /// The exponent field when all ones (infinity and NaN).
    const EXP_MASK: u64 = ((1 << Self::EXP_BITS) - 1) << Self::FRAC_BITS;
    /// The quiet bit of a NaN (the most significant fraction bit, IEEE 754-2019 §6.2.1).
    const QUIET: u64 = 1 << (Self::FRAC_BITS - 1);
    /// Positive infinity.
    const INF: u64 = Self::EXP_MASK;
    /// The largest finite number.
    const MAX_FINITE: u64 = Self::EXP_MASK - 1;
}

/// IEEE 754 binary32 (the F extension).
pub(crate) struct F32;

/// IEEE 754 binary64 (the D extension).
pub(crate) struct F64;

impl Format for F32 {
    const FRAC_BITS: u32 = 23;
    const EXP_BITS: u32 = 8;
    const CANONICAL_NAN: u64 = crate::CANONICAL_NAN_S as u64;
}

impl Format for F64 {
    const FRAC_BITS: u32 = 52;
    const EXP_BITS: u32 = 11;
    const CANONICAL_NAN: u64 = crate::CANONICAL_NAN_D;
}

/// What a bit pattern encodes, as far as the special-case rules of each operation care.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// ±0.
    Zero,
    /// A normal or subnormal number; [`unpack`] gives its value.
    Finite,
    /// ±∞.
    Inf,
    /// A quiet NaN.
    QNan,
    /// A signaling NaN.
    SNan,
}

impl Kind {
    /// Whether this is a NaN of either kind.
    pub(crate) fn is_nan(self) -> bool {
        matches!(self, Kind::QNan | Kind::SNan)
    }
}

/// Classifies the bit pattern `x` of format `F`.
pub(crate) fn kind<F: Format>(x: u64) -> Kind {
    let exp = x & F::EXP_MASK;
    let frac = x & F::FRAC_MASK;
    if exp == F::EXP_MASK {
        if frac == 0 {
            Kind::Inf
        } else if frac & F::QUIET != 0 {
            Kind::QNan
        } else {
            Kind::SNan
        }
    } else if exp == 0 && frac == 0 {
        Kind::Zero
    } else {
        Kind::Finite
    }
}

/// Whether `x` is a finite non-zero number (normal or subnormal) of format `F`: one
/// comparison, for the exact path's common case.
#[inline]
pub(crate) fn is_finite_nonzero<F: Format>(x: u64) -> bool {
    (x & !F::SIGN).wrapping_sub(1) < F::INF - 1
}

/// Whether `x` is a NaN of format `F`.
pub(crate) fn is_nan<F: Format>(x: u64) -> bool {
    x & !F::SIGN > F::EXP_MASK
}

/// Whether `x` is a signaling NaN of format `F`.
pub(crate) fn is_snan<F: Format>(x: u64) -> bool {
    is_nan::<F>(x) && x & F::QUIET == 0
}

/// The sign bit of `x` as a bool (true = negative).
pub(crate) fn sign<F: Format>(x: u64) -> bool {
    x & F::SIGN != 0
}

/// A finite non-zero value `(-1)^sign × sig × 2^exp`, with `sig` normalized so that its
/// most significant set bit is bit `PRECISION - 1` (subnormals included).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Unpacked {
    pub sign: bool,
    /// The exponent of the least significant bit of `sig`.
    pub exp: i32,
    pub sig: u64,
}

/// Unpacks a bit pattern whose [`kind`] is [`Kind::Finite`].
pub(crate) fn unpack<F: Format>(x: u64) -> Unpacked {
    let sign = sign::<F>(x);
    let biased = ((x & F::EXP_MASK) >> F::FRAC_BITS) as i32;
    let frac = x & F::FRAC_MASK;
    if biased == 0 {
        // Subnormal: value = frac × 2^(EMIN − FRAC_BITS); shift the leading one up to
        // the hidden-bit position.
        let shift = frac.leading_zeros() - (63 - F::FRAC_BITS);
        Unpacked {
            sign,
            exp: F::EMIN - F::FRAC_BITS as i32 - shift as i32,
            sig: frac << shift,
        }
    } else {
        Unpacked {
            sign,
            exp: biased - F::BIAS - F::FRAC_BITS as i32,
            sig: frac | F::HIDDEN,
        }
    }
}

/// A signed zero of format `F`.
pub(crate) fn zero<F: Format>(sign: bool) -> u64 {
    if sign {
        F::SIGN
    } else {
        0
    }
}

/// A signed infinity of format `F`.
pub(crate) fn inf<F: Format>(sign: bool) -> u64 {
    zero::<F>(sign) | F::INF
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants() {
        assert_eq!(F32::PRECISION, 24);
        assert_eq!(F64::PRECISION, 53);
        assert_eq!((F32::BIAS, F32::EMIN, F32::EMAX), (127, -126, 127));
        assert_eq!((F64::BIAS, F64::EMIN, F64::EMAX), (1023, -1022, 1023));
        assert_eq!(F32::INF, f32::INFINITY.to_bits() as u64);
        assert_eq!(F64::MAX_FINITE, f64::MAX.to_bits());
        assert_eq!(F32::SIGN, 0x8000_0000);
    }

    #[test]
    fn kinds() {
        assert_eq!(kind::<F32>(0x8000_0000), Kind::Zero);
        assert_eq!(kind::<F32>(0x0000_0001), Kind::Finite);
        assert_eq!(kind::<F32>(0xff80_0000), Kind::Inf);
        assert_eq!(kind::<F32>(0x7fc0_0000), Kind::QNan);
        assert_eq!(kind::<F32>(0x7f80_0001), Kind::SNan);
        assert!(is_snan::<F64>(0xfff0_0000_0000_0001));
        assert!(!is_snan::<F64>(0xfff8_0000_0000_0000));
        assert!(is_nan::<F64>(0xfff8_0000_0000_0000));
        assert!(!is_nan::<F64>(0xfff0_0000_0000_0000));
        assert!(is_finite_nonzero::<F32>(1) && is_finite_nonzero::<F32>(0xff7f_ffff));
        assert!(!is_finite_nonzero::<F32>(0x8000_0000) && !is_finite_nonzero::<F32>(0x7f80_0000));
        assert!(!is_finite_nonzero::<F64>(0xfff8_0000_0000_0000));
    }

    #[test]
    fn unpack_values() {
        let one = unpack::<F64>(1.0f64.to_bits());
        assert_eq!((one.sign, one.exp, one.sig), (false, -52, 1 << 52));
        let tiny = unpack::<F32>(1);
        assert_eq!((tiny.sign, tiny.exp, tiny.sig), (false, -149 - 23, 1 << 23));
        let neg = unpack::<F32>((-3.0f32).to_bits() as u64);
        assert_eq!((neg.sign, neg.exp, neg.sig), (true, -22, 3 << 22));
    }
}
