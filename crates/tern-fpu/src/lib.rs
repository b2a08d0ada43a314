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
//! NaN-boxing of singles inside 64-bit registers is the hart's job, not this crate's.

// The implementation modules are filled in below this line.
