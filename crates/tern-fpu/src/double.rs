//! The D extension's operations on binary64 bit patterns (Unprivileged ISA, chapter
//! "D" Standard Extension for Double-Precision Floating-Point).
//!
//! Each rounding operation tries the host fast path when rm = RNE and falls back to the
//! exact path ([`crate::exact`]) otherwise; both give identical bits and flags.

use crate::compare;
use crate::exact;
use crate::fast;
use crate::flags::Flags;
use crate::format::F64;
use crate::rm::Rm;

/// fadd.d: `a + b` rounded under `rm`. NV for ∞ − ∞ or a signaling NaN operand; any
/// NaN result is the canonical NaN.
#[inline]
pub fn add_d(a: u64, b: u64, rm: Rm) -> (u64, Flags) {
    if rm == Rm::Rne {
        if let Some(r) = fast::double::add(a, b) {
            return r;
        }
    }
    exact::add_d(a, b, rm)
}

/// fsub.d: `a − b` rounded under `rm`; see [`add_d`].
#[inline]
pub fn sub_d(a: u64, b: u64, rm: Rm) -> (u64, Flags) {
    if rm == Rm::Rne {
        if let Some(r) = fast::double::sub(a, b) {
            return r;
        }
    }
    exact::sub_d(a, b, rm)
}

/// fmul.d: `a × b` rounded under `rm`. NV for 0 × ∞.
#[inline]
pub fn mul_d(a: u64, b: u64, rm: Rm) -> (u64, Flags) {
    if rm == Rm::Rne {
        if let Some(r) = fast::double::mul(a, b) {
            return r;
        }
    }
    exact::mul_d(a, b, rm)
}

/// fdiv.d: `a ÷ b` rounded under `rm`. NV for 0/0 and ∞/∞; DZ for a finite non-zero
/// number divided by zero (result ±∞).
#[inline]
pub fn div_d(a: u64, b: u64, rm: Rm) -> (u64, Flags) {
    if rm == Rm::Rne {
        if let Some(r) = fast::double::div(a, b) {
            return r;
        }
    }
    exact::div_d(a, b, rm)
}

/// fsqrt.d: √a rounded under `rm`. √−0 = −0; NV for any other negative operand.
#[inline]
pub fn sqrt_d(a: u64, rm: Rm) -> (u64, Flags) {
    if rm == Rm::Rne {
        if let Some(r) = fast::double::sqrt(a) {
            return r;
        }
    }
    exact::sqrt_d(a, rm)
}

/// fmadd.d: `a × b + c` with a single rounding under `rm`. NV for ∞ × 0 even when `c`
/// is a quiet NaN, as the F chapter requires. The hart builds fmsub/fnmsub/fnmadd by
/// flipping the signs of `c` and/or `a` before the call.
#[inline]
pub fn fma_d(a: u64, b: u64, c: u64, rm: Rm) -> (u64, Flags) {
    if rm == Rm::Rne {
        if let Some(r) = fast::double::fma(a, b, c) {
            return r;
        }
    }
    exact::fma_d(a, b, c, rm)
}

/// fmin.d: IEEE 754-2019 minimumNumber (−0 < +0; a single NaN operand yields the other
/// operand; two NaNs yield the canonical NaN; NV if either is a signaling NaN).
#[inline]
pub fn min_d(a: u64, b: u64) -> (u64, Flags) {
    compare::min::<F64>(a, b)
}

/// fmax.d: IEEE 754-2019 maximumNumber; see [`min_d`].
#[inline]
pub fn max_d(a: u64, b: u64) -> (u64, Flags) {
    compare::max::<F64>(a, b)
}

/// feq.d: quiet comparison; NaN operands compare unequal, NV only for a signaling NaN.
#[inline]
pub fn eq_d(a: u64, b: u64) -> (bool, Flags) {
    compare::eq::<F64>(a, b)
}

/// flt.d: signaling comparison; any NaN operand gives false with NV.
#[inline]
pub fn lt_d(a: u64, b: u64) -> (bool, Flags) {
    compare::lt::<F64>(a, b)
}

/// fle.d: signaling comparison; any NaN operand gives false with NV.
#[inline]
pub fn le_d(a: u64, b: u64) -> (bool, Flags) {
    compare::le::<F64>(a, b)
}

/// fclass.d: the one-hot 10-bit class mask written to the integer register (bit 0 −∞
/// … bit 7 +∞, bit 8 signaling NaN, bit 9 quiet NaN). Never raises flags.
#[inline]
pub fn class_d(a: u64) -> u64 {
    compare::class::<F64>(a)
}

/// fcvt.w.d: to i32 under `rm`. NaN and too-large values give `i32::MAX`, too-small
/// values `i32::MIN`, both with NV only; inexact in-range conversions raise NX.
#[inline]
pub fn to_i32_d(a: u64, rm: Rm) -> (i32, Flags) {
    match fast::int::to_range(f64::from_bits(a), rm, i32::MIN.into(), i32::MAX.into()) {
        Some((v, f)) => (v as i32, f),
        None => exact::to_i32_d(a, rm),
    }
}

/// fcvt.wu.d: to u32 under `rm`. NaN and too-large values give `u32::MAX`; values that
/// round below zero give 0, with NV; a negative value that rounds to 0 gives 0 with NX
/// only. (The hart sign-extends the 32-bit result into the 64-bit register.)
#[inline]
pub fn to_u32_d(a: u64, rm: Rm) -> (u32, Flags) {
    match fast::int::to_range(f64::from_bits(a), rm, 0, u32::MAX.into()) {
        Some((v, f)) => (v as u32, f),
        None => exact::to_u32_d(a, rm),
    }
}

/// fcvt.l.d: to i64 under `rm`, saturating like [`to_i32_d`].
#[inline]
pub fn to_i64_d(a: u64, rm: Rm) -> (i64, Flags) {
    match fast::int::to_range(f64::from_bits(a), rm, i64::MIN, i64::MAX) {
        Some(r) => r,
        None => exact::to_i64_d(a, rm),
    }
}

/// fcvt.lu.d: to u64 under `rm`, saturating like [`to_u32_d`].
#[inline]
pub fn to_u64_d(a: u64, rm: Rm) -> (u64, Flags) {
    match fast::int::to_range(f64::from_bits(a), rm, 0, i64::MAX) {
        Some((v, f)) => (v as u64, f),
        None => exact::to_u64_d(a, rm),
    }
}

/// fcvt.d.w: from i32; always exact (every i32 is a binary64), so `rm` is moot.
#[inline]
pub fn from_i32_d(v: i32, _rm: Rm) -> (u64, Flags) {
    (f64::from(v).to_bits(), Flags::NONE)
}

/// fcvt.d.wu: from u32; always exact (every u32 is a binary64), so `rm` is moot.
#[inline]
pub fn from_u32_d(v: u32, _rm: Rm) -> (u64, Flags) {
    (f64::from(v).to_bits(), Flags::NONE)
}

/// fcvt.d.l: from i64, rounded under `rm`.
#[inline]
pub fn from_i64_d(v: i64, rm: Rm) -> (u64, Flags) {
    if rm == Rm::Rne {
        return fast::double::from_i64(v);
    }
    exact::from_i64_d(v, rm)
}

/// fcvt.d.lu: from u64, rounded under `rm`.
#[inline]
pub fn from_u64_d(v: u64, rm: Rm) -> (u64, Flags) {
    if rm == Rm::Rne {
        return fast::double::from_u64(v);
    }
    exact::from_u64_d(v, rm)
}
