//! The F extension's operations on binary32 bit patterns (Unprivileged ISA, chapter
//! "F" Standard Extension for Single-Precision Floating-Point).
//!
//! Each rounding operation tries the host fast path when rm = RNE and falls back to the
//! exact path ([`crate::exact`]) otherwise; both give identical bits and flags.

use crate::compare;
use crate::exact;
use crate::fast;
use crate::flags::Flags;
use crate::format::F32;
use crate::rm::Rm;

/// fadd.s: `a + b` rounded under `rm`. NV for ∞ − ∞ or a signaling NaN operand; any
/// NaN result is the canonical NaN.
#[inline]
pub fn add_s(a: u32, b: u32, rm: Rm) -> (u32, Flags) {
    if rm == Rm::Rne {
        if let Some(r) = fast::single::add(a, b) {
            return r;
        }
    }
    exact::add_s(a, b, rm)
}

/// fsub.s: `a − b` rounded under `rm`; see [`add_s`].
#[inline]
pub fn sub_s(a: u32, b: u32, rm: Rm) -> (u32, Flags) {
    if rm == Rm::Rne {
        if let Some(r) = fast::single::sub(a, b) {
            return r;
        }
    }
    exact::sub_s(a, b, rm)
}

/// fmul.s: `a × b` rounded under `rm`. NV for 0 × ∞.
#[inline]
pub fn mul_s(a: u32, b: u32, rm: Rm) -> (u32, Flags) {
    if rm == Rm::Rne {
        if let Some(r) = fast::single::mul(a, b) {
            return r;
        }
    }
    exact::mul_s(a, b, rm)
}

/// fdiv.s: `a ÷ b` rounded under `rm`. NV for 0/0 and ∞/∞; DZ for a finite non-zero
/// number divided by zero (result ±∞).
#[inline]
pub fn div_s(a: u32, b: u32, rm: Rm) -> (u32, Flags) {
    if rm == Rm::Rne {
        if let Some(r) = fast::single::div(a, b) {
            return r;
        }
    }
    exact::div_s(a, b, rm)
}

/// fsqrt.s: √a rounded under `rm`. √−0 = −0; NV for any other negative operand.
#[inline]
pub fn sqrt_s(a: u32, rm: Rm) -> (u32, Flags) {
    if rm == Rm::Rne {
        if let Some(r) = fast::single::sqrt(a) {
            return r;
        }
    }
    exact::sqrt_s(a, rm)
}

/// fmadd.s: `a × b + c` with a single rounding under `rm`. NV for ∞ × 0 even when `c`
/// is a quiet NaN, as the F chapter requires. The hart builds fmsub/fnmsub/fnmadd by
/// flipping the signs of `c` and/or `a` before the call.
#[inline]
pub fn fma_s(a: u32, b: u32, c: u32, rm: Rm) -> (u32, Flags) {
    if rm == Rm::Rne {
        if let Some(r) = fast::single::fma(a, b, c) {
            return r;
        }
    }
    exact::fma_s(a, b, c, rm)
}

/// fmin.s: IEEE 754-2019 minimumNumber (−0 < +0; a single NaN operand yields the other
/// operand; two NaNs yield the canonical NaN; NV if either is a signaling NaN).
#[inline]
pub fn min_s(a: u32, b: u32) -> (u32, Flags) {
    let (r, f) = compare::min::<F32>(a.into(), b.into());
    (r as u32, f)
}

/// fmax.s: IEEE 754-2019 maximumNumber; see [`min_s`].
#[inline]
pub fn max_s(a: u32, b: u32) -> (u32, Flags) {
    let (r, f) = compare::max::<F32>(a.into(), b.into());
    (r as u32, f)
}

/// feq.s: quiet comparison; NaN operands compare unequal, NV only for a signaling NaN.
#[inline]
pub fn eq_s(a: u32, b: u32) -> (bool, Flags) {
    compare::eq::<F32>(a.into(), b.into())
}

/// flt.s: signaling comparison; any NaN operand gives false with NV.
#[inline]
pub fn lt_s(a: u32, b: u32) -> (bool, Flags) {
    compare::lt::<F32>(a.into(), b.into())
}

/// fle.s: signaling comparison; any NaN operand gives false with NV.
#[inline]
pub fn le_s(a: u32, b: u32) -> (bool, Flags) {
    compare::le::<F32>(a.into(), b.into())
}

/// fclass.s: the one-hot 10-bit class mask written to the integer register (bit 0 −∞
/// … bit 7 +∞, bit 8 signaling NaN, bit 9 quiet NaN). Never raises flags.
#[inline]
pub fn class_s(a: u32) -> u64 {
    compare::class::<F32>(a.into())
}

/// fcvt.w.s: to i32 under `rm`. NaN and too-large values give `i32::MAX`, too-small
/// values `i32::MIN`, both with NV only; inexact in-range conversions raise NX.
#[inline]
pub fn to_i32_s(a: u32, rm: Rm) -> (i32, Flags) {
    match fast::int::to_range(
        f32::from_bits(a).into(),
        rm,
        i32::MIN.into(),
        i32::MAX.into(),
    ) {
        Some((v, f)) => (v as i32, f),
        None => exact::to_i32_s(a, rm),
    }
}

/// fcvt.wu.s: to u32 under `rm`. NaN and too-large values give `u32::MAX`; values that
/// round below zero give 0, with NV; a negative value that rounds to 0 gives 0 with NX
/// only. (The hart sign-extends the 32-bit result into the 64-bit register.)
#[inline]
pub fn to_u32_s(a: u32, rm: Rm) -> (u32, Flags) {
    match fast::int::to_range(f32::from_bits(a).into(), rm, 0, u32::MAX.into()) {
        Some((v, f)) => (v as u32, f),
        None => exact::to_u32_s(a, rm),
    }
}

/// fcvt.l.s: to i64 under `rm`, saturating like [`to_i32_s`].
#[inline]
pub fn to_i64_s(a: u32, rm: Rm) -> (i64, Flags) {
    match fast::int::to_range(f32::from_bits(a).into(), rm, i64::MIN, i64::MAX) {
        Some(r) => r,
        None => exact::to_i64_s(a, rm),
    }
}

/// fcvt.lu.s: to u64 under `rm`, saturating like [`to_u32_s`].
#[inline]
pub fn to_u64_s(a: u32, rm: Rm) -> (u64, Flags) {
    match fast::int::to_range(f32::from_bits(a).into(), rm, 0, i64::MAX) {
        Some((v, f)) => (v as u64, f),
        None => exact::to_u64_s(a, rm),
    }
}

/// fcvt.s.w: from i32, rounded under `rm` (NX when not representable).
#[inline]
pub fn from_i32_s(v: i32, rm: Rm) -> (u32, Flags) {
    if rm == Rm::Rne {
        return fast::single::from_i64(v.into());
    }
    exact::from_i32_s(v, rm)
}

/// fcvt.s.wu: from u32, rounded under `rm`.
#[inline]
pub fn from_u32_s(v: u32, rm: Rm) -> (u32, Flags) {
    if rm == Rm::Rne {
        return fast::single::from_i64(v.into());
    }
    exact::from_u32_s(v, rm)
}

/// fcvt.s.l: from i64, rounded under `rm`.
#[inline]
pub fn from_i64_s(v: i64, rm: Rm) -> (u32, Flags) {
    if rm == Rm::Rne {
        return fast::single::from_i64(v);
    }
    exact::from_i64_s(v, rm)
}

/// fcvt.s.lu: from u64, rounded under `rm`.
#[inline]
pub fn from_u64_s(v: u64, rm: Rm) -> (u32, Flags) {
    if rm == Rm::Rne {
        return fast::single::from_u64(v);
    }
    exact::from_u64_s(v, rm)
}
