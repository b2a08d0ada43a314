//! Comparisons, fmin/fmax and fclass: operations that never round, shared by both
//! formats and exact by construction (no fast/slow split needed).

use crate::flags::Flags;
use crate::format::{is_nan, is_snan, kind, Format, Kind};

/// A key whose unsigned order is the numeric order of non-NaN values of format `F`,
/// with −0 ordered below +0 (IEEE 754-2019 totalOrder restricted to numbers).
fn order_key<F: Format>(x: u64) -> u64 {
    if x & F::SIGN != 0 {
        !x & (F::SIGN | (F::SIGN - 1))
    } else {
        x | F::SIGN
    }
}

/// Whether both operands are zeros (of any signs), which compare equal.
fn both_zero<F: Format>(a: u64, b: u64) -> bool {
    (a | b) & !F::SIGN == 0
}

/// feq: quiet equality (IEEE 754-2019 compareQuietEqual). NaN compares unequal; only
/// a signaling NaN raises NV (Unprivileged ISA, F chapter, "Single-Precision
/// Floating-Point Compare Instructions").
pub(crate) fn eq<F: Format>(a: u64, b: u64) -> (bool, Flags) {
    if is_nan::<F>(a) || is_nan::<F>(b) {
        return (false, Flags::nv_if(is_snan::<F>(a) || is_snan::<F>(b)));
    }
    (a == b || both_zero::<F>(a, b), Flags::NONE)
}

/// flt: signaling less-than (IEEE 754-2019 compareSignalingLess): any NaN operand gives
/// false and raises NV.
pub(crate) fn lt<F: Format>(a: u64, b: u64) -> (bool, Flags) {
    if is_nan::<F>(a) || is_nan::<F>(b) {
        return (false, Flags::NV);
    }
    (
        !both_zero::<F>(a, b) && order_key::<F>(a) < order_key::<F>(b),
        Flags::NONE,
    )
}

/// fle: signaling less-or-equal (IEEE 754-2019 compareSignalingLessEqual): any NaN
/// operand gives false and raises NV.
pub(crate) fn le<F: Format>(a: u64, b: u64) -> (bool, Flags) {
    if is_nan::<F>(a) || is_nan::<F>(b) {
        return (false, Flags::NV);
    }
    (
        both_zero::<F>(a, b) || order_key::<F>(a) <= order_key::<F>(b),
        Flags::NONE,
    )
}

/// The NaN cases shared by fmin and fmax (IEEE 754-2019 minimumNumber/maximumNumber,
/// as required since version 2.2 of the F extension): NV for any signaling operand; a
/// single NaN yields the other operand; two NaNs yield the canonical NaN.
fn nan_operands<F: Format>(a: u64, b: u64) -> Option<(u64, Flags)> {
    let (na, nb) = (is_nan::<F>(a), is_nan::<F>(b));
    if !na && !nb {
        return None;
    }
    let flags = Flags::nv_if(is_snan::<F>(a) || is_snan::<F>(b));
    let result = match (na, nb) {
        (true, true) => F::CANONICAL_NAN,
        (true, false) => b,
        _ => a,
    };
    Some((result, flags))
}

/// fmin: the smaller operand, with −0 < +0 (IEEE 754-2019 minimumNumber).
pub(crate) fn min<F: Format>(a: u64, b: u64) -> (u64, Flags) {
    if let Some(r) = nan_operands::<F>(a, b) {
        return r;
    }
    let r = if order_key::<F>(a) <= order_key::<F>(b) {
        a
    } else {
        b
    };
    (r, Flags::NONE)
}

/// fmax: the larger operand, with −0 < +0 (IEEE 754-2019 maximumNumber).
pub(crate) fn max<F: Format>(a: u64, b: u64) -> (u64, Flags) {
    if let Some(r) = nan_operands::<F>(a, b) {
        return r;
    }
    let r = if order_key::<F>(a) >= order_key::<F>(b) {
        a
    } else {
        b
    };
    (r, Flags::NONE)
}

/// fclass: a one-hot 10-bit mask (Unprivileged ISA, F chapter, table "Format of result
/// of FCLASS instruction"): bit 0 −∞, 1 negative normal, 2 negative subnormal, 3 −0,
/// 4 +0, 5 positive subnormal, 6 positive normal, 7 +∞, 8 signaling NaN, 9 quiet NaN.
pub(crate) fn class<F: Format>(a: u64) -> u64 {
    let negative = a & F::SIGN != 0;
    let bit = match kind::<F>(a) {
        Kind::SNan => 8,
        Kind::QNan => 9,
        Kind::Inf => 7,
        Kind::Zero => 4,
        Kind::Finite if a & F::EXP_MASK == 0 => 5,
        Kind::Finite => 6,
    };
    // The negative classes mirror the positive ones around bit 3.5.
    let bit = if negative && bit <= 7 { 7 - bit } else { bit };
    1 << bit
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{F32, F64};

    const QNAN: u64 = 0x7fc0_0000;
    const SNAN: u64 = 0x7f80_0001;
    const NEG_ZERO: u64 = 0x8000_0000;

    fn b(x: f32) -> u64 {
        x.to_bits() as u64
    }

    #[test]
    fn comparisons() {
        assert_eq!(eq::<F32>(0, NEG_ZERO), (true, Flags::NONE));
        assert_eq!(eq::<F32>(QNAN, QNAN), (false, Flags::NONE));
        assert_eq!(eq::<F32>(SNAN, b(1.0)), (false, Flags::NV));
        assert_eq!(lt::<F32>(QNAN, b(1.0)), (false, Flags::NV));
        assert_eq!(le::<F32>(b(1.0), QNAN), (false, Flags::NV));
        assert_eq!(lt::<F32>(NEG_ZERO, 0), (false, Flags::NONE));
        assert_eq!(le::<F32>(0, NEG_ZERO), (true, Flags::NONE));
        assert_eq!(lt::<F32>(b(-2.0), b(-1.0)), (true, Flags::NONE));
        assert_eq!(lt::<F32>(b(-1.0), b(-2.0)), (false, Flags::NONE));
        assert_eq!(le::<F32>(b(-1.0), b(-1.0)), (true, Flags::NONE));
        assert_eq!(
            lt::<F32>(b(f32::NEG_INFINITY), b(-f32::MAX)),
            (true, Flags::NONE)
        );
        assert_eq!(
            lt::<F64>(f64::MAX.to_bits(), f64::INFINITY.to_bits()),
            (true, Flags::NONE)
        );
    }

    #[test]
    fn min_max() {
        assert_eq!(min::<F32>(0, NEG_ZERO), (NEG_ZERO, Flags::NONE));
        assert_eq!(max::<F32>(NEG_ZERO, 0), (0, Flags::NONE));
        assert_eq!(min::<F32>(QNAN, b(3.0)), (b(3.0), Flags::NONE));
        assert_eq!(max::<F32>(b(3.0), SNAN), (b(3.0), Flags::NV));
        assert_eq!(
            min::<F32>(SNAN, QNAN | F32::SIGN),
            (F32::CANONICAL_NAN, Flags::NV)
        );
        assert_eq!(
            max::<F32>(QNAN | 5, QNAN),
            (F32::CANONICAL_NAN, Flags::NONE)
        );
        assert_eq!(min::<F32>(b(-1.0), b(-2.0)), (b(-2.0), Flags::NONE));
        assert_eq!(max::<F32>(b(-1.0), b(2.0)), (b(2.0), Flags::NONE));
    }

    #[test]
    fn classes() {
        let cases: [(f64, u32); 8] = [
            (f64::NEG_INFINITY, 0),
            (-1.0, 1),
            (-f64::from_bits(1), 2),
            (-0.0, 3),
            (0.0, 4),
            (f64::from_bits(1), 5),
            (1.0, 6),
            (f64::INFINITY, 7),
        ];
        for (x, bit) in cases {
            assert_eq!(class::<F64>(x.to_bits()), 1 << bit, "{x}");
        }
        assert_eq!(class::<F64>(0x7ff0_0000_0000_0001), 1 << 8);
        assert_eq!(class::<F64>(0xfff8_0000_0000_0000), 1 << 9);
        assert_eq!(class::<F32>(SNAN | F32::SIGN), 1 << 8);
    }
}
