//! Binary64 fast paths (rm = RNE only); see the module above for the contract.

use super::{in_open_range, two_sum_err};
use crate::flags::Flags;

const SIGN: u64 = 1 << 63;
const INF: u64 = 0x7ff0_0000_0000_0000;
/// Smallest normal magnitude, 2^-1022.
const MIN_NORMAL: u64 = 0x0010_0000_0000_0000;
/// 2^-960: above it, products and residuals of normal results cannot fall below the
/// subnormal grid, so the fma-computed residual of a product, quotient or root is zero
/// exactly when the real residual is (it is a multiple of ulp(x)·ulp(y) ≥ |xy|·2^-106).
const SAFE_LOW: u64 = 0x03f0_0000_0000_0000;
/// 2^1000: below it, the sums inside the fma error transformation cannot overflow.
const SAFE_HIGH: u64 = 0x7e70_0000_0000_0000;

#[inline]
fn abs_bits(x: f64) -> u64 {
    x.to_bits() & !SIGN
}

/// Whether `r` is finite and strictly above the smallest normal magnitude, so that it
/// is neither tiny nor overflowed (tininess after rounding cannot hold for it).
#[inline]
fn normal_result(r: f64) -> bool {
    in_open_range(abs_bits(r), MIN_NORMAL, INF)
}

/// Whether `|x|` lies in [2^-960, 2^1000].
#[inline]
fn safe(x: f64) -> bool {
    (SAFE_LOW..=SAFE_HIGH).contains(&abs_bits(x))
}

/// Whether `|x|` is finite and at least 2^-960.
#[inline]
fn large(x: f64) -> bool {
    (SAFE_LOW..INF).contains(&abs_bits(x))
}

/// fadd.d. Every tiny sum is exact, so any finite result is fine; NX from TwoSum.
#[inline]
pub(crate) fn add(a: u64, b: u64) -> Option<(u64, Flags)> {
    sum(f64::from_bits(a), f64::from_bits(b))
}

/// fsub.d, as `a + (−b)`.
#[inline]
pub(crate) fn sub(a: u64, b: u64) -> Option<(u64, Flags)> {
    sum(f64::from_bits(a), -f64::from_bits(b))
}

#[inline]
fn sum(x: f64, y: f64) -> Option<(u64, Flags)> {
    let s = x + y;
    if abs_bits(s) >= INF {
        return None;
    }
    let err = two_sum_err(x, y, s);
    if err == 0.0 {
        Some((s.to_bits(), Flags::NONE))
    } else if err.is_finite() {
        Some((s.to_bits(), Flags::NX))
    } else {
        None
    }
}

/// fmul.d. NX from the fma residual `x·y − p`.
#[inline]
pub(crate) fn mul(a: u64, b: u64) -> Option<(u64, Flags)> {
    let (x, y) = (f64::from_bits(a), f64::from_bits(b));
    let p = x * y;
    if !large(p) {
        // A zero factor times a finite number is an exact zero of the right sign.
        if p == 0.0 && (x == 0.0 || y == 0.0) {
            return Some((p.to_bits(), Flags::NONE));
        }
        return None;
    }
    let err = x.mul_add(y, -p);
    Some((p.to_bits(), Flags::nx_if(err != 0.0)))
}

/// fdiv.d. NX from the fma residual `q·y − x`, zero exactly when the quotient is
/// exact; needs |x| large enough that the residual is not below the subnormal grid.
#[inline]
pub(crate) fn div(a: u64, b: u64) -> Option<(u64, Flags)> {
    let (x, y) = (f64::from_bits(a), f64::from_bits(b));
    let q = x / y;
    if !normal_result(q) || !large(x) {
        // Zero divided by a finite non-zero number is an exact zero.
        if x == 0.0 && y != 0.0 && abs_bits(y) < INF {
            return Some((q.to_bits(), Flags::NONE));
        }
        return None;
    }
    let err = q.mul_add(y, -x);
    Some((q.to_bits(), Flags::nx_if(err != 0.0)))
}

/// fsqrt.d for positive finite operands from 2^-960 up; NX from the residual `r² − x`.
#[inline]
pub(crate) fn sqrt(a: u64) -> Option<(u64, Flags)> {
    if !(SAFE_LOW..INF).contains(&a) {
        // √±0 = ±0.
        if a & !SIGN == 0 {
            return Some((a, Flags::NONE));
        }
        return None;
    }
    let x = f64::from_bits(a);
    let r = x.sqrt();
    let err = r.mul_add(r, -x);
    Some((r.to_bits(), Flags::nx_if(err != 0.0)))
}

/// fmadd.d. NX from the error of the FMA (Boldo and Muller, "Exact and Approximated
/// Error of the FMA", IEEE Trans. Computers 60(2), 2011, algorithm ErrFma): with
/// `r = RN(xy + c)`, `xy + c − r = γ + z` exactly when nothing underflows or
/// overflows, which the magnitude guards on `xy`, `c` and `r` ensure.
#[inline]
pub(crate) fn fma(a: u64, b: u64, c: u64) -> Option<(u64, Flags)> {
    let (x, y, z) = (f64::from_bits(a), f64::from_bits(b), f64::from_bits(c));
    let r = x.mul_add(y, z);
    let u1 = x * y;
    if !(safe(r) && safe(u1) && safe(z)) {
        // A zero addend leaves the rounded product (which is not zero here, so no
        // question of the sign of a zero sum arises).
        if z == 0.0 && large(u1) {
            return Some((u1.to_bits(), Flags::nx_if(x.mul_add(y, -u1) != 0.0)));
        }
        // A zero factor makes the product an exact signed zero, and the host sum then
        // gives the right result, the sign of a zero sum included.
        if u1 == 0.0 && (x == 0.0 || y == 0.0) && !r.is_nan() {
            return Some(((u1 + z).to_bits(), Flags::NONE));
        }
        return None;
    }
    let u2 = x.mul_add(y, -u1);
    let alpha1 = z + u2;
    let z_err = two_sum_err(z, u2, alpha1);
    let beta1 = u1 + alpha1;
    let beta2 = two_sum_err(u1, alpha1, beta1);
    let gamma = (beta1 - r) + beta2;
    Some((r.to_bits(), Flags::nx_if(gamma + z_err != 0.0)))
}

/// fcvt.s.d: the host conversion rounds to nearest even; declines unless the result
/// is a normal single or the operand is zero.
#[inline]
pub(crate) fn to_single(a: u64) -> Option<(u32, Flags)> {
    let x = f64::from_bits(a);
    let r = x as f32;
    let m = r.to_bits() & 0x7fff_ffff;
    if in_open_range(m as u64, 0x0080_0000, 0x7f80_0000) {
        Some((r.to_bits(), Flags::nx_if(r as f64 != x)))
    } else if x == 0.0 {
        Some((r.to_bits(), Flags::NONE))
    } else {
        None
    }
}

/// fcvt.d.l: the host conversion rounds to nearest even.
#[inline]
pub(crate) fn from_i64(v: i64) -> (u64, Flags) {
    let r = v as f64;
    // 2^63 does not fit, so `r as i64` saturates there; that case is inexact.
    let exact = r != 9_223_372_036_854_775_808.0 && r as i64 == v;
    (r.to_bits(), Flags::nx_if(!exact))
}

/// fcvt.d.lu: the host conversion rounds to nearest even.
#[inline]
pub(crate) fn from_u64(v: u64) -> (u64, Flags) {
    let r = v as f64;
    let exact = r != 18_446_744_073_709_551_616.0 && r as u64 == v;
    (r.to_bits(), Flags::nx_if(!exact))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(x: f64) -> u64 {
        x.to_bits()
    }

    #[test]
    fn ordinary_operands_take_the_fast_path() {
        assert_eq!(add(b(1.0), b(2.0)), Some((b(3.0), Flags::NONE)));
        assert_eq!(add(b(0.1), b(0.2)), Some((b(0.1 + 0.2), Flags::NX)));
        assert_eq!(sub(b(1.0), b(1.0)), Some((0, Flags::NONE)));
        assert_eq!(mul(b(0.1), b(3.0)), Some((b(0.1 * 3.0), Flags::NX)));
        assert_eq!(mul(b(-0.0), b(3.0)), Some((b(-0.0), Flags::NONE)));
        assert_eq!(div(b(1.0), b(3.0)), Some((b(1.0 / 3.0), Flags::NX)));
        assert_eq!(div(b(1.0), b(4.0)), Some((b(0.25), Flags::NONE)));
        assert_eq!(sqrt(b(2.0)), Some((b(2f64.sqrt()), Flags::NX)));
        assert_eq!(sqrt(b(9.0)), Some((b(3.0), Flags::NONE)));
        assert_eq!(fma(b(2.0), b(3.0), b(1.0)), Some((b(7.0), Flags::NONE)));
        assert_eq!(
            fma(b(0.1), b(0.1), b(1.0)),
            Some((b(0.1f64.mul_add(0.1, 1.0)), Flags::NX))
        );
        assert_eq!(to_single(b(0.5)), Some((0.5f32.to_bits(), Flags::NONE)));
        assert_eq!(div(b(-0.0), b(3.0)), Some((b(-0.0), Flags::NONE)));
        assert_eq!(sqrt(b(-0.0)), Some((b(-0.0), Flags::NONE)));
        assert_eq!(
            fma(b(0.1), b(3.0), b(-0.0)),
            Some((b(0.1 * 3.0), Flags::NX))
        );
        assert_eq!(
            to_single(b(0.1)),
            Some(((0.1f64 as f32).to_bits(), Flags::NX))
        );
        assert_eq!(
            from_i64(i64::MAX),
            (b(9_223_372_036_854_775_808.0), Flags::NX)
        );
        assert_eq!(from_i64(-3), (b(-3.0), Flags::NONE));
        assert_eq!(
            from_u64(u64::MAX),
            (b(18_446_744_073_709_551_616.0), Flags::NX)
        );
    }

    #[test]
    fn hard_cases_decline() {
        assert_eq!(add(b(f64::MAX), b(f64::MAX)), None);
        assert_eq!(add(b(f64::INFINITY), b(1.0)), None);
        assert_eq!(mul(b(1e-300), b(1e-10)), None);
        assert_eq!(mul(b(f64::INFINITY), b(0.0)), None);
        assert_eq!(div(b(1.0), b(0.0)), None);
        assert_eq!(div(b(f64::MIN_POSITIVE), b(2.0)), None);
        assert_eq!(div(b(0.0), b(0.0)), None);
        assert_eq!(div(b(0.0), b(f64::NAN)), None);
        assert_eq!(fma(b(f64::INFINITY), b(0.0), b(1.0)), None);
        assert_eq!(fma(b(0.0), b(3.0), b(f64::NAN)), None);
        assert_eq!(sqrt(b(-1.0)), None);
        assert_eq!(sqrt(b(f64::NAN)), None);
        assert_eq!(fma(b(1e-300), b(1e-300), b(1.0)), None);
        assert_eq!(to_single(b(1e-40)), None);
        assert_eq!(to_single(b(1e39)), None);
    }
}
