//! Multiplication.

use super::{invalid, nan_result};
use crate::flags::Flags;
use crate::format::{inf, is_finite_nonzero, kind, sign, unpack, zero, Format, Kind};
use crate::rm::Rm;
use crate::round::round_pack_wide;

/// `a × b` in format `F`, rounded under `rm` (IEEE 754-2019 §5.4.1); 0 × ∞ is invalid
/// (§7.2).
pub(crate) fn mul<F: Format>(a: u64, b: u64, rm: Rm) -> (u64, Flags) {
    if is_finite_nonzero::<F>(a) && is_finite_nonzero::<F>(b) {
        finite::<F>(a, b, rm)
    } else {
        special::<F>(a, b, rm)
    }
}

/// [`mul`] of two finite non-zero numbers: the exact product, rounded once.
fn finite<F: Format>(a: u64, b: u64, rm: Rm) -> (u64, Flags) {
    let negative = sign::<F>(a) != sign::<F>(b);
    let (x, y) = (unpack::<F>(a), unpack::<F>(b));
    let product = x.sig as u128 * y.sig as u128;
    round_pack_wide::<F>(negative, x.exp + y.exp, product, rm)
}

/// [`mul`] when an operand is zero, infinite or NaN.
#[cold]
fn special<F: Format>(a: u64, b: u64, rm: Rm) -> (u64, Flags) {
    let (ka, kb) = (kind::<F>(a), kind::<F>(b));
    if ka.is_nan() || kb.is_nan() {
        return nan_result::<F>(&[a, b]);
    }
    let negative = sign::<F>(a) != sign::<F>(b);
    match (ka, kb) {
        (Kind::Inf, Kind::Zero) | (Kind::Zero, Kind::Inf) => invalid::<F>(),
        (Kind::Inf, _) | (_, Kind::Inf) => (inf::<F>(negative), Flags::NONE),
        (Kind::Zero, _) | (_, Kind::Zero) => (zero::<F>(negative), Flags::NONE),
        _ => finite::<F>(a, b, rm),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{F32, F64};

    #[test]
    fn products() {
        let m = |a: f64, b: f64, rm| {
            let (r, f) = mul::<F64>(a.to_bits(), b.to_bits(), rm);
            (f64::from_bits(r), f)
        };
        assert_eq!(m(3.0, -2.5, Rm::Rne), (-7.5, Flags::NONE));
        assert_eq!(m(0.1, 0.1, Rm::Rne), (0.1 * 0.1, Flags::NX));
        assert_eq!(m(1e300, 1e300, Rm::Rtz), (f64::MAX, Flags::OF | Flags::NX));
        assert_eq!(m(1e-300, 1e-300, Rm::Rne), (0.0, Flags::UF | Flags::NX));
        assert_eq!(m(-0.0, 5.0, Rm::Rne).0.to_bits(), F64::SIGN);
        assert_eq!(
            mul::<F32>(F32::INF, 0, Rm::Rne),
            (F32::CANONICAL_NAN, Flags::NV)
        );
        assert_eq!(
            mul::<F32>(F32::INF, F32::SIGN | 1, Rm::Rne),
            (F32::INF | F32::SIGN, Flags::NONE)
        );
    }
}
