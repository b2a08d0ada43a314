//! Division.

use super::{invalid, nan_result};
use crate::flags::Flags;
use crate::format::{inf, is_finite_nonzero, kind, sign, unpack, zero, Format, Kind};
use crate::rm::Rm;
use crate::round::round_pack;

/// `a ÷ b` in format `F`, rounded under `rm` (IEEE 754-2019 §5.4.1): 0/0 and ∞/∞ are
/// invalid (§7.2); a finite non-zero number divided by zero raises DZ and gives a
/// signed infinity (§7.3).
pub(crate) fn div<F: Format>(a: u64, b: u64, rm: Rm) -> (u64, Flags) {
    if is_finite_nonzero::<F>(a) && is_finite_nonzero::<F>(b) {
        finite::<F>(a, b, rm)
    } else {
        special::<F>(a, b, rm)
    }
}

/// [`div`] when an operand is zero, infinite or NaN.
#[cold]
fn special<F: Format>(a: u64, b: u64, rm: Rm) -> (u64, Flags) {
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
        _ => finite::<F>(a, b, rm),
    }
}

/// [`div`] of two finite non-zero numbers.
fn finite<F: Format>(a: u64, b: u64, rm: Rm) -> (u64, Flags) {
    let negative = sign::<F>(a) != sign::<F>(b);
    let (x, y) = (unpack::<F>(a), unpack::<F>(b));
    if F::PRECISION <= 24 {
        // binary32: a 24-bit significand shifted by 39 fits in 64 bits and leaves a
        // quotient of at least 39 bits, PRECISION + 2 and more.
        const SHIFT: u32 = 39;
        let dividend = x.sig << SHIFT;
        let quotient = dividend / y.sig;
        let sticky = !dividend.is_multiple_of(y.sig) as u64;
        let exp = x.exp - y.exp - SHIFT as i32;
        return round_pack::<F>(negative, exp, quotient | sticky, rm);
    }
    // Both significands have PRECISION bits; shifted by PRECISION + 2 the dividend
    // leaves a quotient of PRECISION + 2 or + 3 bits (a round and a guard bit), and a
    // non-zero remainder becomes the sticky bit.
    let shift = F::PRECISION + 2;
    let (quotient, exact) = long_div((x.sig as u128) << shift, x.sig, y.sig, shift);
    let exp = x.exp - y.exp - shift as i32;
    round_pack::<F>(negative, exp, quotient | !exact as u64, rm)
}

/// `⌊n / d⌋` for `n = x × 2^shift` (below 2^120, with a quotient below 2^64) and
/// whether the division is exact. The host's division of `x` by `d` only supplies a
/// first guess, a few units off at most; integer arithmetic moves it to the exact
/// floor, so the result does not depend on the host's rounding (and it avoids a
/// 128-bit division, which is slow).
fn long_div(n: u128, x: u64, d: u64, shift: u32) -> (u64, bool) {
    let scale = f64::from_bits((1023 + shift as u64) << 52);
    let mut q = ((x as f64 / d as f64) * scale) as u64;
    let d = d as u128;
    let mut p = q as u128 * d;
    while p > n {
        q -= 1;
        p -= d;
    }
    while p + d <= n {
        q += 1;
        p += d;
    }
    (q, p == n)
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
