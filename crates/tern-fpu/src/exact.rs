//! The exact path on its own: every arithmetic operation and conversion of the crate
//! root decided by integer arithmetic. (The only host floating-point operations are
//! first guesses of binary64 quotients and of square roots, which integer arithmetic
//! then corrects.)
//!
//! The crate-root functions give identical results (they take a host fast path for
//! rm = RNE when it provably agrees, and call these otherwise). This module is public
//! so that differential tests can check both paths against a reference, and so that
//! benchmarks can measure the exact path. Comparisons, fmin/fmax and fclass have no
//! separate exact version: they never round.

use crate::flags::Flags;
use crate::format::{F32, F64};
use crate::rm::Rm;
use crate::soft;

#[inline]
fn s(r: (u64, Flags)) -> (u32, Flags) {
    (r.0 as u32, r.1)
}

/// Exact fadd.s; see [`crate::add_s`].
pub fn add_s(a: u32, b: u32, rm: Rm) -> (u32, Flags) {
    s(soft::add::<F32>(a.into(), b.into(), rm))
}

/// Exact fsub.s; see [`crate::sub_s`].
pub fn sub_s(a: u32, b: u32, rm: Rm) -> (u32, Flags) {
    s(soft::add::<F32>(a.into(), (b ^ 0x8000_0000).into(), rm))
}

/// Exact fmul.s; see [`crate::mul_s`].
pub fn mul_s(a: u32, b: u32, rm: Rm) -> (u32, Flags) {
    s(soft::mul::<F32>(a.into(), b.into(), rm))
}

/// Exact fdiv.s; see [`crate::div_s`].
pub fn div_s(a: u32, b: u32, rm: Rm) -> (u32, Flags) {
    s(soft::div::<F32>(a.into(), b.into(), rm))
}

/// Exact fsqrt.s; see [`crate::sqrt_s`].
pub fn sqrt_s(a: u32, rm: Rm) -> (u32, Flags) {
    s(soft::sqrt::<F32>(a.into(), rm))
}

/// Exact fmadd.s; see [`crate::fma_s`].
pub fn fma_s(a: u32, b: u32, c: u32, rm: Rm) -> (u32, Flags) {
    s(soft::fma::<F32>(a.into(), b.into(), c.into(), rm))
}

/// Exact fcvt.w.s; see [`crate::to_i32_s`].
pub fn to_i32_s(a: u32, rm: Rm) -> (i32, Flags) {
    let (v, f) = soft::to_int::<F32>(a.into(), rm, i32::MIN.into(), i32::MAX.into());
    (v as i32, f)
}

/// Exact fcvt.wu.s; see [`crate::to_u32_s`].
pub fn to_u32_s(a: u32, rm: Rm) -> (u32, Flags) {
    let (v, f) = soft::to_int::<F32>(a.into(), rm, 0, u32::MAX.into());
    (v as u32, f)
}

/// Exact fcvt.l.s; see [`crate::to_i64_s`].
pub fn to_i64_s(a: u32, rm: Rm) -> (i64, Flags) {
    let (v, f) = soft::to_int::<F32>(a.into(), rm, i64::MIN.into(), i64::MAX.into());
    (v as i64, f)
}

/// Exact fcvt.lu.s; see [`crate::to_u64_s`].
pub fn to_u64_s(a: u32, rm: Rm) -> (u64, Flags) {
    let (v, f) = soft::to_int::<F32>(a.into(), rm, 0, u64::MAX.into());
    (v as u64, f)
}

/// Exact fcvt.s.w; see [`crate::from_i32_s`].
pub fn from_i32_s(v: i32, rm: Rm) -> (u32, Flags) {
    s(soft::from_int::<F32>(v < 0, v.unsigned_abs().into(), rm))
}

/// Exact fcvt.s.wu; see [`crate::from_u32_s`].
pub fn from_u32_s(v: u32, rm: Rm) -> (u32, Flags) {
    s(soft::from_int::<F32>(false, v.into(), rm))
}

/// Exact fcvt.s.l; see [`crate::from_i64_s`].
pub fn from_i64_s(v: i64, rm: Rm) -> (u32, Flags) {
    s(soft::from_int::<F32>(v < 0, v.unsigned_abs(), rm))
}

/// Exact fcvt.s.lu; see [`crate::from_u64_s`].
pub fn from_u64_s(v: u64, rm: Rm) -> (u32, Flags) {
    s(soft::from_int::<F32>(false, v, rm))
}

/// Exact fadd.d; see [`crate::add_d`].
pub fn add_d(a: u64, b: u64, rm: Rm) -> (u64, Flags) {
    soft::add::<F64>(a, b, rm)
}

/// Exact fsub.d; see [`crate::sub_d`].
pub fn sub_d(a: u64, b: u64, rm: Rm) -> (u64, Flags) {
    soft::add::<F64>(a, b ^ (1 << 63), rm)
}

/// Exact fmul.d; see [`crate::mul_d`].
pub fn mul_d(a: u64, b: u64, rm: Rm) -> (u64, Flags) {
    soft::mul::<F64>(a, b, rm)
}

/// Exact fdiv.d; see [`crate::div_d`].
pub fn div_d(a: u64, b: u64, rm: Rm) -> (u64, Flags) {
    soft::div::<F64>(a, b, rm)
}

/// Exact fsqrt.d; see [`crate::sqrt_d`].
pub fn sqrt_d(a: u64, rm: Rm) -> (u64, Flags) {
    soft::sqrt::<F64>(a, rm)
}

/// Exact fmadd.d; see [`crate::fma_d`].
pub fn fma_d(a: u64, b: u64, c: u64, rm: Rm) -> (u64, Flags) {
    soft::fma::<F64>(a, b, c, rm)
}

/// Exact fcvt.w.d; see [`crate::to_i32_d`].
pub fn to_i32_d(a: u64, rm: Rm) -> (i32, Flags) {
    let (v, f) = soft::to_int::<F64>(a, rm, i32::MIN.into(), i32::MAX.into());
    (v as i32, f)
}

/// Exact fcvt.wu.d; see [`crate::to_u32_d`].
pub fn to_u32_d(a: u64, rm: Rm) -> (u32, Flags) {
    let (v, f) = soft::to_int::<F64>(a, rm, 0, u32::MAX.into());
    (v as u32, f)
}

/// Exact fcvt.l.d; see [`crate::to_i64_d`].
pub fn to_i64_d(a: u64, rm: Rm) -> (i64, Flags) {
    let (v, f) = soft::to_int::<F64>(a, rm, i64::MIN.into(), i64::MAX.into());
    (v as i64, f)
}

/// Exact fcvt.lu.d; see [`crate::to_u64_d`].
pub fn to_u64_d(a: u64, rm: Rm) -> (u64, Flags) {
    let (v, f) = soft::to_int::<F64>(a, rm, 0, u64::MAX.into());
    (v as u64, f)
}

/// Exact fcvt.d.w; see [`crate::from_i32_d`].
pub fn from_i32_d(v: i32, rm: Rm) -> (u64, Flags) {
    soft::from_int::<F64>(v < 0, v.unsigned_abs().into(), rm)
}

/// Exact fcvt.d.wu; see [`crate::from_u32_d`].
pub fn from_u32_d(v: u32, rm: Rm) -> (u64, Flags) {
    soft::from_int::<F64>(false, v.into(), rm)
}

/// Exact fcvt.d.l; see [`crate::from_i64_d`].
pub fn from_i64_d(v: i64, rm: Rm) -> (u64, Flags) {
    soft::from_int::<F64>(v < 0, v.unsigned_abs(), rm)
}

/// Exact fcvt.d.lu; see [`crate::from_u64_d`].
pub fn from_u64_d(v: u64, rm: Rm) -> (u64, Flags) {
    soft::from_int::<F64>(false, v, rm)
}

/// Exact fcvt.d.s; see [`crate::s_to_d`].
pub fn s_to_d(a: u32) -> (u64, Flags) {
    soft::f32_to_f64(a.into())
}

/// Exact fcvt.s.d; see [`crate::d_to_s`].
pub fn d_to_s(a: u64, rm: Rm) -> (u32, Flags) {
    s(soft::f64_to_f32(a, rm))
}
