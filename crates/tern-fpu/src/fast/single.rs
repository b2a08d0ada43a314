//! Binary32 fast paths (rm = RNE only); see the module above for the contract.
//!
//! Most of them compute in binary64, where the product of two singles is exact, and
//! round once to binary32: that gives the correctly rounded single result, and the
//! exact binary64 value tells whether it is inexact. Division and square root round
//! twice, which is innocuous because 53 ≥ 2·24 + 2 (Figueroa, "When is double
//! rounding innocuous?", SIGNUM Newsletter 30(3), 1995).

use super::{in_open_range, two_sum_err, two_sum_err_f32};
use crate::flags::Flags;

const INF: u64 = 0x7f80_0000;
/// Smallest normal magnitude, 2^-126.
const MIN_NORMAL: u64 = 0x0080_0000;

/// Whether `r` is finite and strictly above the smallest normal magnitude, so that it
/// is neither tiny nor overflowed.
#[inline]
fn normal_result(r: f32) -> bool {
    in_open_range((r.to_bits() & 0x7fff_ffff) as u64, MIN_NORMAL, INF)
}

#[inline]
fn wide(bits: u32) -> f64 {
    f32::from_bits(bits) as f64
}

/// fadd.s: binary32 TwoSum (tiny sums are exact, so any finite result is fine).
#[inline]
pub(crate) fn add(a: u32, b: u32) -> Option<(u32, Flags)> {
    sum(f32::from_bits(a), f32::from_bits(b))
}

/// fsub.s, as `a + (−b)`.
#[inline]
pub(crate) fn sub(a: u32, b: u32) -> Option<(u32, Flags)> {
    sum(f32::from_bits(a), -f32::from_bits(b))
}

#[inline]
fn sum(x: f32, y: f32) -> Option<(u32, Flags)> {
    let s = x + y;
    if !s.is_finite() {
        return None;
    }
    let err = two_sum_err_f32(x, y, s);
    if err == 0.0 {
        Some((s.to_bits(), Flags::NONE))
    } else if err.is_finite() {
        Some((s.to_bits(), Flags::NX))
    } else {
        None
    }
}

/// fmul.s: the binary64 product is exact.
#[inline]
pub(crate) fn mul(a: u32, b: u32) -> Option<(u32, Flags)> {
    let p = wide(a) * wide(b);
    let r = p as f32;
    // A zero product of singles only comes from a zero factor (no underflow in
    // binary64), so it is exact.
    if normal_result(r) || p == 0.0 {
        Some((r.to_bits(), Flags::nx_if(r as f64 != p)))
    } else {
        None
    }
}

/// fdiv.s: exact when `r·y` (exact in binary64) equals `x`.
#[inline]
pub(crate) fn div(a: u32, b: u32) -> Option<(u32, Flags)> {
    let (x, y) = (wide(a), wide(b));
    let r = (x / y) as f32;
    if !normal_result(r) {
        // Zero divided by a finite non-zero number is an exact zero.
        if x == 0.0 && y != 0.0 && y.is_finite() {
            return Some((r.to_bits(), Flags::NONE));
        }
        return None;
    }
    Some((r.to_bits(), Flags::nx_if(r as f64 * y != x)))
}

/// fsqrt.s for positive finite operands (whose roots are all normal): exact when
/// `r²` (exact in binary64) equals `x`.
#[inline]
pub(crate) fn sqrt(a: u32) -> Option<(u32, Flags)> {
    if !(1..INF as u32).contains(&a) {
        // √±0 = ±0.
        if a & 0x7fff_ffff == 0 {
            return Some((a, Flags::NONE));
        }
        return None;
    }
    let x = wide(a);
    let r = x.sqrt() as f32;
    let r64 = r as f64;
    Some((r.to_bits(), Flags::nx_if(r64 * r64 != x)))
}

/// fmadd.s: `x·y` is exact in binary64, and `s + t = x·y + c` exactly with TwoSum.
/// Rounding `s` to odd when `t ≠ 0` and then to binary32 gives the correctly rounded
/// single result (Boldo and Melquiond, "Emulation of FMA and correctly rounded sums:
/// proved algorithms using rounding to odd", IEEE Trans. Computers 57(4), 2008: needs
/// 53 ≥ 24 + 2).
#[inline]
pub(crate) fn fma(a: u32, b: u32, c: u32) -> Option<(u32, Flags)> {
    let (x, y, z) = (wide(a), wide(b), wide(c));
    let p = x * y;
    let mut s = p + z;
    let t = two_sum_err(p, z, s);
    if t != 0.0 {
        // s ≠ 0 here: a non-zero exact sum of multiples of 2^-298 cannot round to 0.
        let bits = s.to_bits();
        if bits & 1 == 0 {
            let toward_t = if (t > 0.0) == (s > 0.0) {
                bits + 1
            } else {
                bits - 1
            };
            s = f64::from_bits(toward_t);
        }
    }
    let r = s as f32;
    if !normal_result(r) {
        // An exact zero sum (products of singles never underflow in binary64), whose
        // sign the host got right.
        if s == 0.0 {
            return Some((r.to_bits(), Flags::NONE));
        }
        return None;
    }
    Some((r.to_bits(), Flags::nx_if(t != 0.0 || r as f64 != s)))
}

/// fcvt.s.w/fcvt.s.wu/fcvt.s.l/fcvt.s.lu for any integer that fits in i128: the host
/// conversion rounds to nearest even; the value is exact when it converts back.
#[inline]
pub(crate) fn from_i64(v: i64) -> (u32, Flags) {
    let r = v as f32;
    // 2^63 does not fit, so `r as i64` saturates there; that case is inexact.
    let exact = r != 9_223_372_036_854_775_808.0 && r as i64 == v;
    (r.to_bits(), Flags::nx_if(!exact))
}

/// fcvt.s.lu: see [`from_i64`].
#[inline]
pub(crate) fn from_u64(v: u64) -> (u32, Flags) {
    let r = v as f32;
    let exact = r != 18_446_744_073_709_551_616.0 && r as u64 == v;
    (r.to_bits(), Flags::nx_if(!exact))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(x: f32) -> u32 {
        x.to_bits()
    }

    #[test]
    fn ordinary_operands_take_the_fast_path() {
        assert_eq!(add(b(1.0), b(2.0)), Some((b(3.0), Flags::NONE)));
        assert_eq!(sub(b(0.1), b(0.2)), Some((b(-0.1), Flags::NONE)));
        assert_eq!(sub(b(1.0), b(1e-8)), Some((b(1.0), Flags::NX)));
        assert_eq!(mul(b(0.1), b(3.0)), Some((b(0.1 * 3.0), Flags::NX)));
        assert_eq!(mul(b(0.0), b(-3.0)), Some((b(-0.0), Flags::NONE)));
        assert_eq!(div(b(1.0), b(3.0)), Some((b(1.0 / 3.0), Flags::NX)));
        assert_eq!(div(b(3.0), b(4.0)), Some((b(0.75), Flags::NONE)));
        assert_eq!(sqrt(b(2.0)), Some((b(2f32.sqrt()), Flags::NX)));
        assert_eq!(sqrt(b(0.25)), Some((b(0.5), Flags::NONE)));
        assert_eq!(sqrt(b(-0.0)), Some((b(-0.0), Flags::NONE)));
        assert_eq!(div(b(0.0), b(-2.0)), Some((b(-0.0), Flags::NONE)));
        assert_eq!(fma(b(2.0), b(3.0), b(1.0)), Some((b(7.0), Flags::NONE)));
        assert_eq!(fma(b(2.0), b(3.0), b(-6.0)), Some((b(0.0), Flags::NONE)));
        assert_eq!(fma(b(-0.0), b(3.0), b(-0.0)), Some((b(-0.0), Flags::NONE)));
        assert_eq!(
            fma(b(0.1), b(0.1), b(1.0)),
            Some((b(0.1f32.mul_add(0.1, 1.0)), Flags::NX))
        );
        assert_eq!(from_i64(16_777_217), (b(16_777_216.0), Flags::NX));
        assert_eq!(
            from_u64(u64::MAX),
            (b(18_446_744_073_709_551_616.0), Flags::NX)
        );
    }

    #[test]
    fn hard_cases_decline() {
        assert_eq!(add(b(f32::MAX), b(f32::MAX)), None);
        assert_eq!(mul(b(1e-30), b(1e-10)), None);
        assert_eq!(div(b(1.0), b(0.0)), None);
        assert_eq!(sqrt(b(-1.0)), None);
        assert_eq!(fma(b(1e-30), b(1e-10), b(0.0)), None);
        assert_eq!(fma(b(f32::INFINITY), b(0.0), b(1.0)), None);
        assert_eq!(fma(b(0.0), b(1.0), b(f32::NAN)), None);
    }
}
