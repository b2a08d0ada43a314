//! Addition (subtraction is addition with the second operand's sign flipped).

use super::{invalid, nan_result};
use crate::flags::Flags;
use crate::format::{kind, sign, unpack, zero, Format, Kind};
use crate::rm::Rm;
use crate::round::round_pack_wide;

/// `a + b` in format `F`, rounded under `rm` (IEEE 754-2019 §5.4.1, §6.3 for the sign
/// of zero sums).
pub(crate) fn add<F: Format>(a: u64, b: u64, rm: Rm) -> (u64, Flags) {
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
    let (x, y) = (unpack::<F>(a), unpack::<F>(b));
    // Order by magnitude: both significands are normalized, so the exponent decides
    // first, then the significand.
    let (big, small) = if (x.exp, x.sig) >= (y.exp, y.sig) {
        (x, y)
    } else {
        (y, x)
    };
    let diff = (big.exp - small.exp) as u32;
    // Exact when the aligned sum fits in 127 bits; otherwise the small operand lies
    // entirely below the rounding point and stands in as a sticky bit three places
    // below the big operand's last bit (it only decides rounding direction and NX).
    let limit = 126 - F::PRECISION;
    let (exp, big_sig, small_sig) = if diff <= limit {
        (small.exp, (big.sig as u128) << diff, small.sig as u128)
    } else {
        (big.exp - 3, (big.sig as u128) << 3, 1)
    };
    let sum = if big.sign == small.sign {
        big_sig + small_sig
    } else {
        big_sig - small_sig
    };
    if sum == 0 {
        return (zero::<F>(rm == Rm::Rdn), Flags::NONE);
    }
    round_pack_wide::<F>(big.sign, exp, sum, rm)
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
