//! Division.

use super::{invalid, nan_result};
use crate::flags::Flags;
use crate::format::{inf, kind, sign, unpack, zero, Format, Kind};
use crate::rm::Rm;
use crate::round::{round_pack, round_pack_wide};

/// `a ÷ b` in format `F`, rounded under `rm` (IEEE 754-2019 §5.4.1): 0/0 and ∞/∞ are
/// invalid (§7.2); a finite non-zero number divided by zero raises DZ and gives a
/// signed infinity (§7.3).
pub(crate) fn div<F: Format>(a: u64, b: u64, rm: Rm) -> (u64, Flags) {
    let (ka, kb) = (kind::<F>(a), kind::<F>(b));
    if ka.is_nan() || kb.is_nan() {
        return nan_result::<F>(&[a, b]);
    }
    let negative = sign::<F>(a) != sign::<F>(b);
    match (ka, kb) {
        (Kind::Inf, Kind::Inf) | (Kind::Zero, Kind::Zero) => invalid::<F>(),
        (Kind::Inf, _) => (inf::<F>(negative), Flags::NONE),
        (_, Kind::Inf) | (Kind::Zero, _) => (zero::<F>(negative), Flags::NONE),
        (_, Kind::Zero) => (inf::<F>(negative), Flags::DZ),
        _ => {
            let (x, y) = (unpack::<F>(a), unpack::<F>(b));
            if F::PRECISION <= 24 {
                // binary32: a 24-bit significand shifted by 39 fits in 64 bits and
                // leaves a quotient of at least 39 bits, PRECISION + 2 and more.
                const SHIFT: u32 = 39;
                let dividend = x.sig << SHIFT;
                let quotient = dividend / y.sig;
                let sticky = !dividend.is_multiple_of(y.sig) as u64;
                let exp = x.exp - y.exp - SHIFT as i32;
                return round_pack::<F>(negative, exp, quotient | sticky, rm);
            }
            // Both significands have PRECISION bits; shifting the dividend by 74 keeps
            // it below 2^127 and leaves a quotient of at least 74 bits, far more than
            // PRECISION + 2. A non-zero remainder becomes the sticky bit.
            const SHIFT: u32 = 74;
            let dividend = (x.sig as u128) << SHIFT;
            let divisor = y.sig as u128;
            let quotient = dividend / divisor;
            let sticky = !dividend.is_multiple_of(divisor) as u128;
            round_pack_wide::<F>(
                negative,
                x.exp - y.exp - SHIFT as i32,
                quotient | sticky,
                rm,
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{F32, F64};

    #[test]
    fn quotients() {
        let d = |a: f64, b: f64, rm| {
            let (r, f) = div::<F64>(a.to_bits(), b.to_bits(), rm);
            (f64::from_bits(r), f)
        };
        assert_eq!(d(1.0, 4.0, Rm::Rne), (0.25, Flags::NONE));
        assert_eq!(d(1.0, 3.0, Rm::Rne), (1.0 / 3.0, Flags::NX));
        assert_eq!(
            d(1.0, 3.0, Rm::Rup).0,
            f64::from_bits((1.0f64 / 3.0).to_bits() + 1)
        );
        assert_eq!(d(-1.0, 0.0, Rm::Rne), (f64::NEG_INFINITY, Flags::DZ));
        assert_eq!(
            div::<F32>(0, F32::SIGN, Rm::Rne),
            (F32::CANONICAL_NAN, Flags::NV)
        );
        assert_eq!(
            div::<F32>(F32::INF, F32::INF, Rm::Rne),
            (F32::CANONICAL_NAN, Flags::NV)
        );
        assert_eq!(div::<F32>(F32::INF, 0, Rm::Rne), (F32::INF, Flags::NONE));
        assert_eq!(
            div::<F32>(1, F32::INF | F32::SIGN, Rm::Rne),
            (F32::SIGN, Flags::NONE)
        );
    }
}
