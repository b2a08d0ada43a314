//! Square root.

use super::{invalid, nan_result};
use crate::flags::Flags;
use crate::format::{kind, sign, unpack, Format, Kind};
use crate::rm::Rm;
use crate::round::round_pack;

/// √a in format `F`, rounded under `rm` (IEEE 754-2019 §5.4.1): √−0 = −0, √+∞ = +∞,
/// the root of any other negative number is invalid (§7.2).
pub(crate) fn sqrt<F: Format>(a: u64, rm: Rm) -> (u64, Flags) {
    if a.wrapping_sub(1) < F::INF - 1 {
        // Positive, finite and non-zero.
        return finite::<F>(a, rm);
    }
    match kind::<F>(a) {
        Kind::QNan | Kind::SNan => nan_result::<F>(&[a]),
        Kind::Zero => (a, Flags::NONE),
        _ if sign::<F>(a) => invalid::<F>(),
        Kind::Inf => (a, Flags::NONE),
        Kind::Finite => finite::<F>(a, rm),
    }
}

/// [`sqrt`] of a positive finite non-zero number.
fn finite<F: Format>(a: u64, rm: Rm) -> (u64, Flags) {
    let x = unpack::<F>(a);
    // Scale the significand to 2·PRECISION + 4 or + 5 bits with an even exponent, so
    // that its integer square root has PRECISION + 2 bits (a round bit and a guard
    // bit); a non-zero remainder is the sticky bit.
    let mut shift = F::PRECISION + 4;
    if (x.exp - shift as i32) % 2 != 0 {
        shift += 1;
    }
    let n = (x.sig as u128) << shift;
    let (root, exact) = isqrt(n, x.sig, shift);
    let root = root | !exact as u64;
    round_pack::<F>(false, (x.exp - shift as i32) / 2, root, rm)
}

/// The integer square root of `n = sig × 2^shift` (below 2^117) and whether it is
/// exact. The host's square root only supplies a first guess (within a few units,
/// since `sig` and 2^shift are exact or nearly so in binary64); integer arithmetic then
/// moves it to the exact floor, so the result does not depend on the host's rounding.
fn isqrt(n: u128, sig: u64, shift: u32) -> (u64, bool) {
    let scale = f64::from_bits((1023 + shift as u64) << 52);
    let mut r = ((sig as f64) * scale).sqrt() as u128;
    while r * r > n {
        r -= 1;
    }
    while (r + 1) * (r + 1) <= n {
        r += 1;
    }
    (r as u64, r * r == n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{F32, F64};

    #[test]
    fn roots() {
        let s = |a: f64, rm| {
            let (r, f) = sqrt::<F64>(a.to_bits(), rm);
            (f64::from_bits(r), f)
        };
        assert_eq!(s(4.0, Rm::Rne), (2.0, Flags::NONE));
        assert_eq!(s(2.0, Rm::Rne), (2f64.sqrt(), Flags::NX));
        // RNE rounds √2 up, so RUP agrees with it and RDN/RTZ are one ulp below.
        assert_eq!(s(2.0, Rm::Rup).0, 2f64.sqrt());
        assert_eq!(s(2.0, Rm::Rdn).0, f64::from_bits(2f64.sqrt().to_bits() - 1));
        assert_eq!(s(0.25, Rm::Rne), (0.5, Flags::NONE));
        assert_eq!(
            s(f64::from_bits(1), Rm::Rne),
            (f64::from_bits(1).sqrt(), Flags::NONE)
        );
        assert_eq!(
            s(f64::from_bits(2), Rm::Rne),
            (f64::from_bits(2).sqrt(), Flags::NX)
        );
        assert_eq!(
            s(f64::from_bits(4), Rm::Rne),
            (f64::from_bits(4).sqrt(), Flags::NONE)
        );
        assert_eq!(sqrt::<F64>(F64::SIGN, Rm::Rne), (F64::SIGN, Flags::NONE));
        assert_eq!(
            sqrt::<F32>(F32::SIGN | 1, Rm::Rne),
            (F32::CANONICAL_NAN, Flags::NV)
        );
        assert_eq!(
            sqrt::<F32>(F32::SIGN | F32::INF, Rm::Rne),
            (F32::CANONICAL_NAN, Flags::NV)
        );
        assert_eq!(sqrt::<F32>(F32::INF, Rm::Rne), (F32::INF, Flags::NONE));
        assert_eq!(
            sqrt::<F32>(0xff80_0001, Rm::Rne),
            (F32::CANONICAL_NAN, Flags::NV)
        );
    }
}
