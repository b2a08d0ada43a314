//! Conversions: floating-point to integer, integer to floating-point, and between the
//! two formats.

use crate::flags::Flags;
use crate::format::{inf, is_snan, kind, sign, unpack, zero, Format, Kind, F32, F64};
use crate::rm::Rm;
use crate::round::{round_pack, round_shift};

/// Converts `a` (format `F`) to an integer in `[min, max]`, rounding under `rm`, with
/// the RISC-V saturation rules (Unprivileged ISA, F chapter, table "Domains of
/// float-to-integer conversions and behavior for invalid inputs"): NaN and values
/// above `max` give `max`, values below `min` give `min`, and both raise NV only (no
/// NX). A negative value that rounds to zero is in range for an unsigned conversion
/// (result 0, NX). Otherwise NX is raised when the value was not an integer.
pub(crate) fn to_int<F: Format>(a: u64, rm: Rm, min: i128, max: i128) -> (i128, Flags) {
    let negative = sign::<F>(a);
    let saturated = (if negative { min } else { max }, Flags::NV);
    match kind::<F>(a) {
        Kind::QNan | Kind::SNan => (max, Flags::NV),
        Kind::Inf => saturated,
        Kind::Zero => (0, Flags::NONE),
        Kind::Finite => {
            let x = unpack::<F>(a);
            let (magnitude, inexact) = if x.exp >= 0 {
                // An integer already; more than 2^(64 + PRECISION) is out of any range.
                if x.exp > 64 {
                    return saturated;
                }
                ((x.sig as u128) << x.exp, false)
            } else {
                let (m, inexact) = round_shift(x.sig, (-x.exp) as u32, negative, rm);
                (m as u128, inexact)
            };
            let value = if negative {
                -(magnitude as i128)
            } else {
                magnitude as i128
            };
            if value < min || value > max {
                return saturated;
            }
            (value, Flags::nx_if(inexact))
        }
    }
}

/// Converts the integer `(-1)^negative × magnitude` to format `F`, rounding under `rm`;
/// only NX can be raised (and OF never: 2^64 is far below either format's maximum).
/// Zero converts to +0 (IEEE 754-2019 §5.4.1 convertFromInt).
pub(crate) fn from_int<F: Format>(negative: bool, magnitude: u64, rm: Rm) -> (u64, Flags) {
    if magnitude == 0 {
        return (0, Flags::NONE);
    }
    round_pack::<F>(negative, 0, magnitude, rm)
}

/// Widens binary32 to binary64 (fcvt.d.s): exact, except that a NaN becomes the
/// canonical NaN, with NV if it was signaling.
pub(crate) fn f32_to_f64(a: u64) -> (u64, Flags) {
    match kind::<F32>(a) {
        Kind::QNan | Kind::SNan => (F64::CANONICAL_NAN, Flags::nv_if(is_snan::<F32>(a))),
        Kind::Inf => (inf::<F64>(sign::<F32>(a)), Flags::NONE),
        Kind::Zero => (zero::<F64>(sign::<F32>(a)), Flags::NONE),
        Kind::Finite => {
            let x = unpack::<F32>(a);
            round_pack::<F64>(x.sign, x.exp, x.sig, Rm::Rne)
        }
    }
}

/// Narrows binary64 to binary32 (fcvt.s.d), rounding under `rm`; a NaN becomes the
/// canonical NaN, with NV if it was signaling.
pub(crate) fn f64_to_f32(a: u64, rm: Rm) -> (u64, Flags) {
    match kind::<F64>(a) {
        Kind::QNan | Kind::SNan => (F32::CANONICAL_NAN, Flags::nv_if(is_snan::<F64>(a))),
        Kind::Inf => (inf::<F32>(sign::<F64>(a)), Flags::NONE),
        Kind::Zero => (zero::<F32>(sign::<F64>(a)), Flags::NONE),
        Kind::Finite => {
            let x = unpack::<F64>(a);
            round_pack::<F32>(x.sign, x.exp, x.sig, rm)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const I32: (i128, i128) = (i32::MIN as i128, i32::MAX as i128);
    const U32: (i128, i128) = (0, u32::MAX as i128);
    const I64: (i128, i128) = (i64::MIN as i128, i64::MAX as i128);
    const U64: (i128, i128) = (0, u64::MAX as i128);

    fn cvt(a: f64, rm: Rm, range: (i128, i128)) -> (i128, Flags) {
        to_int::<F64>(a.to_bits(), rm, range.0, range.1)
    }

    #[test]
    fn float_to_int() {
        assert_eq!(cvt(2.5, Rm::Rne, I32), (2, Flags::NX));
        assert_eq!(cvt(3.5, Rm::Rne, I32), (4, Flags::NX));
        assert_eq!(cvt(-2.5, Rm::Rmm, I32), (-3, Flags::NX));
        assert_eq!(cvt(-2.5, Rm::Rdn, I32), (-3, Flags::NX));
        assert_eq!(cvt(-2.5, Rm::Rup, I32), (-2, Flags::NX));
        assert_eq!(cvt(-2.5, Rm::Rtz, I32), (-2, Flags::NX));
        assert_eq!(cvt(7.0, Rm::Rne, I32), (7, Flags::NONE));
        assert_eq!(cvt(-0.3, Rm::Rtz, U32), (0, Flags::NX));
        assert_eq!(cvt(-0.7, Rm::Rne, U32), (0, Flags::NV));
        assert_eq!(cvt(-1.0, Rm::Rtz, U64), (0, Flags::NV));
        assert_eq!(
            cvt(2147483647.5, Rm::Rtz, I32),
            (i32::MAX as i128, Flags::NX)
        );
        assert_eq!(
            cvt(2147483647.5, Rm::Rne, I32),
            (i32::MAX as i128, Flags::NV)
        );
        assert_eq!(
            cvt(-2147483648.9, Rm::Rtz, I32),
            (i32::MIN as i128, Flags::NX)
        );
        assert_eq!(
            cvt(-2147483649.0, Rm::Rtz, I32),
            (i32::MIN as i128, Flags::NV)
        );
        assert_eq!(cvt(1e300, Rm::Rtz, I64), (i64::MAX as i128, Flags::NV));
        assert_eq!(cvt(-1e300, Rm::Rtz, I64), (i64::MIN as i128, Flags::NV));
        assert_eq!(
            cvt(18446744073709549568.0, Rm::Rtz, U64),
            (18446744073709549568, Flags::NONE)
        );
        assert_eq!(
            cvt(18446744073709551616.0, Rm::Rtz, U64),
            (u64::MAX as i128, Flags::NV)
        );
        assert_eq!(cvt(f64::NAN, Rm::Rtz, I32), (i32::MAX as i128, Flags::NV));
        assert_eq!(cvt(-f64::NAN, Rm::Rtz, U32), (u32::MAX as i128, Flags::NV));
        assert_eq!(cvt(f64::NEG_INFINITY, Rm::Rtz, U32), (0, Flags::NV));
        assert_eq!(cvt(-0.0, Rm::Rtz, U32), (0, Flags::NONE));
        assert_eq!(cvt(f64::from_bits(1), Rm::Rup, I32), (1, Flags::NX));
    }

    #[test]
    fn int_to_float() {
        assert_eq!(
            from_int::<F32>(false, 16777217, Rm::Rne),
            (16777216f32.to_bits() as u64, Flags::NX)
        );
        assert_eq!(
            from_int::<F32>(false, 16777217, Rm::Rup),
            (16777218f32.to_bits() as u64, Flags::NX)
        );
        assert_eq!(
            from_int::<F64>(true, 1 << 63, Rm::Rne),
            ((-9223372036854775808f64).to_bits(), Flags::NONE)
        );
        assert_eq!(
            from_int::<F64>(false, u64::MAX, Rm::Rtz),
            (18446744073709549568f64.to_bits(), Flags::NX)
        );
        assert_eq!(from_int::<F64>(false, 0, Rm::Rdn), (0, Flags::NONE));
    }

    #[test]
    fn between_formats() {
        assert_eq!(
            f32_to_f64(1),
            (f64::from(f32::from_bits(1)).to_bits(), Flags::NONE)
        );
        assert_eq!(f32_to_f64(0x7f80_0001), (F64::CANONICAL_NAN, Flags::NV));
        assert_eq!(f32_to_f64(0xffc0_0001), (F64::CANONICAL_NAN, Flags::NONE));
        assert_eq!(f32_to_f64(0xff80_0000), (F64::INF | F64::SIGN, Flags::NONE));
        assert_eq!(
            f64_to_f32(0.1f64.to_bits(), Rm::Rne),
            ((0.1f64 as f32).to_bits() as u64, Flags::NX)
        );
        assert_eq!(
            f64_to_f32(1e300f64.to_bits(), Rm::Rne),
            (F32::INF, Flags::OF | Flags::NX)
        );
        assert_eq!(
            f64_to_f32(1e300f64.to_bits(), Rm::Rtz),
            (F32::MAX_FINITE, Flags::OF | Flags::NX)
        );
        assert_eq!(
            f64_to_f32(1e-300f64.to_bits(), Rm::Rup),
            (1, Flags::UF | Flags::NX)
        );
        assert_eq!(
            f64_to_f32((-0.0f64).to_bits(), Rm::Rne),
            (F32::SIGN, Flags::NONE)
        );
        assert_eq!(
            f64_to_f32(0xfff0_0000_0000_0001, Rm::Rne),
            (F32::CANONICAL_NAN, Flags::NV)
        );
    }
}
