//! IEEE 754 binary32 and binary64 arithmetic with the RISC-V F and D semantics.
//!
//! Values are passed as raw bits (`u32` for single, `u64` for double) so that the hart
//! keeps its floating-point registers as plain integers. Every operation takes a
//! [`Rm`] (already resolved from the dynamic mode by the caller) and returns the result
//! together with the exception [`Flags`] it raised, which the caller ORs into `fflags`.
//!
//! RISC-V specifics implemented here (Unprivileged ISA, chapter "F"):
//! - results that are NaN are the canonical NaN (`0x7fc00000` / `0x7ff8000000000000`);
//!   NaN payloads are never propagated;
//! - tininess is detected after rounding;
//! - float→integer conversions saturate, and NaN converts to the largest positive value;
//! - `fmin`/`fmax` follow IEEE 754-2019 minimumNumber/maximumNumber (−0 < +0; one NaN
//!   operand yields the other operand; signaling NaN operands raise NV).
//!
//! Where the specification leaves a choice, the behaviour is QEMU's (softfloat with the
//! RISC-V settings), against which tern is tested differentially; the test
//! `tests/qemu_oracle.rs` runs the real instructions under `qemu-riscv64` and compares.
//!
//! NaN-boxing of singles inside 64-bit registers is the hart's job, not this crate's.
//!
//! # Implementation
//!
//! [`exact`] computes every operation with integer arithmetic and one rounding step
//! (`round.rs`), for all rounding modes. The crate-root functions first try a host
//! fast path (`fast/`) when rm = RNE: host `f32`/`f64` arithmetic gives the right bits
//! for finite normal results, and the inexact flag is recovered exactly with
//! error-free transformations; every other case goes to [`exact`]. Float→integer
//! conversions have a fast path in every rounding mode.
//!
//! # Testing
//!
//! - unit tests beside the code and `tests/corner_cases.rs` for the rules above;
//! - `tests/fast_vs_exact.rs`: property tests that the API (fast paths) and [`exact`]
//!   agree, flags included, on biased random operands in every rounding mode;
//! - `tests/apfloat_reference.rs`: [`exact`] against `rustc_apfloat` on finite operands;
//! - `tests/qemu_oracle.rs`: every F/D instruction executed under `qemu-riscv64`
//!   against both paths (`TERN_FPU_ORACLE_COUNT` sets the number of random vectors);
//! - `examples/fpu_bench.rs`: ns/op of both paths.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod compare;
mod convert;
mod double;
pub mod exact;
mod fast;
mod flags;
mod format;
mod rm;
mod round;
mod single;
mod soft;

pub use convert::{d_to_s, s_to_d};
pub use double::{
    add_d, class_d, div_d, eq_d, fma_d, from_i32_d, from_i64_d, from_u32_d, from_u64_d, le_d, lt_d,
    max_d, min_d, mul_d, sqrt_d, sub_d, to_i32_d, to_i64_d, to_u32_d, to_u64_d,
};
pub use flags::Flags;
pub use rm::Rm;
pub use single::{
    add_s, class_s, div_s, eq_s, fma_s, from_i32_s, from_i64_s, from_u32_s, from_u64_s, le_s, lt_s,
    max_s, min_s, mul_s, sqrt_s, sub_s, to_i32_s, to_i64_s, to_u32_s, to_u64_s,
};

/// The canonical NaN of binary32 (Unprivileged ISA, F chapter, "NaN Generation and
/// Propagation"): every operation whose result is NaN returns exactly these bits.
pub const CANONICAL_NAN_S: u32 = 0x7fc0_0000;

/// The canonical NaN of binary64 (Unprivileged ISA, D chapter, "NaN Boxing of Narrower
/// Values" and the F chapter's NaN rules applied to doubles).
pub const CANONICAL_NAN_D: u64 = 0x7ff8_0000_0000_0000;
