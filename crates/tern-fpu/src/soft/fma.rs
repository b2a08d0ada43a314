//! Fused multiply-add.

use super::{invalid, nan_result};
use crate::flags::Flags;
use crate::format::{inf, is_finite_nonzero, kind, sign, unpack, zero, Format, Kind};
use crate::rm::Rm;
use crate::round::{round_pack_wide, shift_right_jam};

/// `a × b + c` in format `F` with a single rounding under `rm` (IEEE 754-2019 §5.4.1
/// fusedMultiplyAdd).
///
/// RISC-V raises NV for ∞ × 0 even when `c` is a quiet NaN (Unprivileged ISA, F
/// chapter, "Single-Precision Floating-Point Computational Instructions": "the fused
/// multiply-add instructions must set the invalid operation exception flag when the
/// multiplicands are ∞ and zero, even when the addend is a quiet NaN"), which IEEE 754
/// leaves implementation-defined.
pub(crate) fn fma<F: Format>(a: u64, b: u64, c: u64, rm: Rm) -> (u64, Flags) {
    if is_finite_nonzero::<F>(a) && is_finite_nonzero::<F>(b) && is_finite_nonzero::<F>(c) {
        finite::<F>(a, b, c, rm)
    } else {
        special::<F>(a, b, c, rm)
    }
}

/// [`fma`] when an operand is zero, infinite or NaN.
#[cold]
fn special<F: Format>(a: u64, b: u64, c: u64, rm: Rm) -> (u64, Flags) {
    let (ka, kb, kc) = (kind::<F>(a), kind::<F>(b), kind::<F>(c));
    let inf_times_zero = matches!((ka, kb), (Kind::Inf, Kind::Zero) | (Kind::Zero, Kind::Inf));
    if ka.is_nan() || kb.is_nan() || kc.is_nan() {
        let (nan, flags) = nan_result::<F>(&[a, b, c]);
        return (nan, flags | Flags::nv_if(inf_times_zero));
    }
    if inf_times_zero {
        return invalid::<F>();
    }
    let product_negative = sign::<F>(a) != sign::<F>(b);
    let c_negative = sign::<F>(c);
    if ka == Kind::Inf || kb == Kind::Inf {
        if kc == Kind::Inf && c_negative != product_negative {
            return invalid::<F>();
        }
        return (inf::<F>(product_negative), Flags::NONE);
    }
    if kc == Kind::Inf {
        return (c, Flags::NONE);
    }
    if ka == Kind::Zero || kb == Kind::Zero {
        if kc == Kind::Zero {
            // An exact zero sum: same signs keep the sign, else +0 but for RDN (§6.3).
            let negative = if product_negative == c_negative {
                c_negative
            } else {
                rm == Rm::Rdn
            };
            return (zero::<F>(negative), Flags::NONE);
        }
        return (c, Flags::NONE);
    }
    if kc == Kind::Zero {
        // A non-zero product plus zero is the rounded product.
        let (x, y) = (unpack::<F>(a), unpack::<F>(b));
        let product = x.sig as u128 * y.sig as u128;
        return round_pack_wide::<F>(product_negative, x.exp + y.exp, product, rm);
    }
    finite::<F>(a, b, c, rm)
}

/// [`fma`] of three finite non-zero numbers: the exact product plus the addend,
/// rounded once.
fn finite<F: Format>(a: u64, b: u64, c: u64, rm: Rm) -> (u64, Flags) {
    let product_negative = sign::<F>(a) != sign::<F>(b);
    let c_negative = sign::<F>(c);
    let (x, y, z) = (unpack::<F>(a), unpack::<F>(b), unpack::<F>(c));
    let product = x.sig as u128 * y.sig as u128;
    let product_exp = x.exp + y.exp;
    // Put both terms' leading one at bit 125, leaving two bits of headroom for the
    // carry of an addition.
    let p_shift = product.leading_zeros() - 2;
    let (p_sig, p_exp) = (product << p_shift, product_exp - p_shift as i32);
    let c_shift = 125 - (F::PRECISION - 1);
    let (c_sig, c_exp) = ((z.sig as u128) << c_shift, z.exp - c_shift as i32);
    // Align the smaller term to the bigger one. A shift of 0 or 1 is exact (both terms
    // have at least 19 zero low bits); for 2 or more, jamming keeps the value in the
    // same rounding interval since the result keeps its leading one at bit 124 or up.
    let ((big_sig, big_exp, big_neg), (small_sig, small_neg)) = if (p_exp, p_sig) >= (c_exp, c_sig)
    {
        let shifted = shift_right_jam(c_sig, (p_exp - c_exp) as u32);
        ((p_sig, p_exp, product_negative), (shifted, c_negative))
    } else {
        let shifted = shift_right_jam(p_sig, (c_exp - p_exp) as u32);
        ((c_sig, c_exp, c_negative), (shifted, product_negative))
    };
    let sum = if big_neg == small_neg {
        big_sig + small_sig
    } else {
        big_sig - small_sig
    };
    if sum == 0 {
        return (zero::<F>(rm == Rm::Rdn), Flags::NONE);
    }
    round_pack_wide::<F>(big_neg, big_exp, sum, rm)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{F32, F64};

    fn fma64(a: f64, b: f64, c: f64, rm: Rm) -> (f64, Flags) {
        let (r, f) = fma::<F64>(a.to_bits(), b.to_bits(), c.to_bits(), rm);
        (f64::from_bits(r), f)
    }

    #[test]
    fn single_rounding() {
        let a = 1.0 + f64::EPSILON;
        // (1+e)^2 - 1 = 2e + e^2 needs 54 bits: rounds to 2e, but is not lost entirely
        // as it would be without fusion.
        assert_eq!(fma64(a, a, -1.0, Rm::Rne), (2.0 * f64::EPSILON, Flags::NX));
        assert_eq!(
            fma64(a, a, -1.0, Rm::Rup).0,
            f64::from_bits((2.0 * f64::EPSILON).to_bits() + 1)
        );
        let b = 1.0 + 2f64.powi(-26);
        assert_eq!(
            fma64(b, b, -1.0, Rm::Rne),
            (2f64.powi(-25) + 2f64.powi(-52), Flags::NONE)
        );
        assert_eq!(
            fma64(0.1, 10.0, -1.0, Rm::Rne),
            (0.1f64.mul_add(10.0, -1.0), Flags::NONE)
        );
        assert_eq!(
            fma64(0.1, 0.1, 1.0, Rm::Rne),
            (0.1f64.mul_add(0.1, 1.0), Flags::NX)
        );
        assert_eq!(fma64(2.0, 3.0, 4.0, Rm::Rne), (10.0, Flags::NONE));
        assert_eq!(
            fma64(1.0, 1.0, 1e-300, Rm::Rup),
            (1.0 + f64::EPSILON, Flags::NX)
        );
        assert_eq!(
            fma64(1.0, -1.0, 1e-300, Rm::Rtz),
            (-1.0 + f64::EPSILON / 2.0, Flags::NX)
        );
        assert_eq!(fma64(1e-300, 1e-300, 1.0, Rm::Rne), (1.0, Flags::NX));
        assert_eq!(fma64(2.0, 3.0, -6.0, Rm::Rne).0.to_bits(), 0);
        assert_eq!(fma64(2.0, 3.0, -6.0, Rm::Rdn).0.to_bits(), F64::SIGN);
        assert_eq!(fma64(0.0, -3.0, 0.0, Rm::Rne).0.to_bits(), 0);
        assert_eq!(fma64(-0.0, 3.0, -0.0, Rm::Rne).0.to_bits(), F64::SIGN);
        assert_eq!(fma64(0.0, 3.0, -0.0, Rm::Rdn).0.to_bits(), F64::SIGN);
        assert_eq!(
            fma64(f64::MAX, 2.0, -f64::MAX, Rm::Rne),
            (f64::MAX, Flags::NONE)
        );
    }

    #[test]
    fn invalid_cases() {
        let qnan = F32::CANONICAL_NAN;
        assert_eq!(fma::<F32>(F32::INF, 0, qnan, Rm::Rne), (qnan, Flags::NV));
        assert_eq!(fma::<F32>(0, F32::INF, 0, Rm::Rne), (qnan, Flags::NV));
        assert_eq!(
            fma::<F32>(F32::INF, 1, F32::INF | F32::SIGN, Rm::Rne),
            (qnan, Flags::NV)
        );
        assert_eq!(fma::<F32>(1, 1, qnan, Rm::Rne), (qnan, Flags::NONE));
        assert_eq!(fma::<F32>(1, 1, 0x7f80_0001, Rm::Rne), (qnan, Flags::NV));
        assert_eq!(
            fma::<F32>(F32::INF, 1, F32::INF, Rm::Rne),
            (F32::INF, Flags::NONE)
        );
    }
}
