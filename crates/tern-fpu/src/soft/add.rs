//! Addition (subtraction is addition with the second operand's sign flipped).

use super::{invalid, nan_result};
use crate::flags::Flags;
use crate::format::{is_finite_nonzero, kind, sign, unpack, zero, Format, Kind};
use crate::rm::Rm;
use crate::round::{round_pack, shift_right_jam64};

/// `a + b` in format `F`, rounded under `rm` (IEEE 754-2019 §5.4.1, §6.3 for the sign
/// of zero sums).
pub(crate) fn add<F: Format>(a: u64, b: u64, rm: Rm) -> (u64, Flags) {
    if is_finite_nonzero::<F>(a) && is_finite_nonzero::<F>(b) {
        finite::<F>(a, b, rm)
    } else {
        special::<F>(a, b, rm)
    }
}

/// [`add`] when an operand is zero, infinite or NaN.
#[cold]
fn special<F: Format>(a: u64, b: u64, rm: Rm) -> (u64, Flags) {
    let (ka, kb) = (kind::<F>(a), kind::<F>(b));
    if ka.is_nan() || kb.is_nan() {
        return nan_result::<F>(&[a, b]);
    }
    let (sa, sb) = (sign::<F>(a), sign::<F>(b));
    match (ka, kb) {
        (Kind::Inf, Kind::Inf) if sa != sb => return invalid::<F>(),
        (Kind::Inf, _) => return (a, Flags::NONE),
        (_, Kind::Inf) => return (b, Flags::NONE),
        // x + (−x) is +0 in every mode but roundTowardNegative (§6.3); equal signs keep
        // the sign.
        (Kind::Zero, Kind::Zero) => {
            return (
                zero::<F>(if sa == sb { sa } else { rm == Rm::Rdn }),
                Flags::NONE,
            )
        }
        (Kind::Zero, _) => return (b, Flags::NONE),
        (_, Kind::Zero) => return (a, Flags::NONE),
        _ => {}
    }
    finite::<F>(a, b, rm)
}

/// [`add`] of two finite non-zero numbers.
fn finite<F: Format>(a: u64, b: u64, rm: Rm) -> (u64, Flags) {
    let (x, y) = (unpack::<F>(a), unpack::<F>(b));
    // Order by magnitude: both significands are normalized, so the exponent decides
    // first, then the significand.
    let (big, small) = if (x.exp, x.sig) >= (y.exp, y.sig) {
        (x, y)
    } else {
        (y, x)
    };
    // Put both leading ones at bit 61: bit 62 takes a carry, and at least 62 − 53 = 9
    // guard bits lie below the last kept bit. Aligning the smaller operand by 0 or 1
    // bit is exact; by 2 or more, the difference keeps its leading one at bit 60 or
    // up, so jamming lost bits into bit 0 cannot change the rounding.
    let shift = 61 - (F::PRECISION - 1);
    let diff = (big.exp - small.exp) as u32;
    let big_sig = big.sig << shift;
    let small_sig = shift_right_jam64(small.sig << shift, diff);
    let sum = if big.sign == small.sign {
        big_sig + small_sig
    } else {
        big_sig - small_sig
    };
    if sum == 0 {
        return (zero::<F>(rm == Rm::Rdn), Flags::NONE);
    }
    round_pack::<F>(big.sign, big.exp - shift as i32, sum, rm)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{F32, F64};

    fn add64(a: f64, b: f64, rm: Rm) -> (f64, Flags) {
        let (r, f) = add::<F64>(a.to_bits(), b.to_bits(), rm);
        (f64::from_bits(r), f)
    }

    #[test]
    fn simple_sums() {
        assert_eq!(add64(1.0, 2.0, Rm::Rne), (3.0, Flags::NONE));
        assert_eq!(add64(1.0, -1.0, Rm::Rne).0.to_bits(), 0);
        assert_eq!(add64(1.0, -1.0, Rm::Rdn).0.to_bits(), F64::SIGN);
        assert_eq!(add64(0.1, 0.2, Rm::Rne), (0.1 + 0.2, Flags::NX));
        assert_eq!(add64(1.0, 1e-300, Rm::Rup), (1.0 + f64::EPSILON, Flags::NX));
        assert_eq!(
            add64(1.0, -1e-300, Rm::Rtz),
            (1.0 - f64::EPSILON / 2.0, Flags::NX)
        );
        assert_eq!(
            add64(f64::MAX, f64::MAX, Rm::Rne),
            (f64::INFINITY, Flags::OF | Flags::NX)
        );
        assert_eq!(add64(-0.0, -0.0, Rm::Rne).0.to_bits(), F64::SIGN);
    }

    #[test]
    fn special_operands() {
        assert_eq!(
            add::<F32>(F32::INF, F32::INF | F32::SIGN, Rm::Rne),
            (F32::CANONICAL_NAN, Flags::NV)
        );
        assert_eq!(
            add::<F32>(0x7f80_0001, 0, Rm::Rne),
            (F32::CANONICAL_NAN, Flags::NV)
        );
        assert_eq!(
            add::<F32>(0x7fc0_0001, 0x7f80_0001, Rm::Rne),
            (F32::CANONICAL_NAN, Flags::NV)
        );
        assert_eq!(
            add::<F32>(0xffc0_0000, 0, Rm::Rne),
            (F32::CANONICAL_NAN, Flags::NONE)
        );
        assert_eq!(add::<F32>(1, 0x8000_0000, Rm::Rne), (1, Flags::NONE));
        // subnormal sums are exact
        assert_eq!(add::<F32>(1, 1, Rm::Rne), (2, Flags::NONE));
        assert_eq!(
            add::<F32>(0x0080_0000, 0x8000_0001, Rm::Rne),
            (0x007f_ffff, Flags::NONE)
        );
    }
}
