//! The exact path: every operation computed with integer arithmetic on the unpacked
//! significands, then rounded once by [`crate::round`]. It handles every input and
//! every rounding mode; the host fast paths in [`crate::fast`] only take over cases they
//! can prove give the same bits and flags.
//!
//! All functions take and return bit patterns of format `F` in a `u64`.

mod add;
mod convert;
mod div;
mod fma;
mod mul;
mod sqrt;

pub(crate) use add::add;
pub(crate) use convert::{f32_to_f64, f64_to_f32, from_int, to_int};
pub(crate) use div::div;
pub(crate) use fma::fma;
pub(crate) use mul::mul;
pub(crate) use sqrt::sqrt;

use crate::flags::Flags;
use crate::format::{is_snan, Format};

/// The result of an operation with a NaN operand: the canonical NaN, with NV if any
/// operand is a signaling NaN (Unprivileged ISA, F chapter, "NaN Generation and
/// Propagation": RISC-V never propagates payloads).
pub(crate) fn nan_result<F: Format>(operands: &[u64]) -> (u64, Flags) {
    let signaling = operands.iter().any(|&x| is_snan::<F>(x));
    (F::CANONICAL_NAN, Flags::nv_if(signaling))
}

/// The result of an invalid operation (inf − inf, 0 × inf, 0/0, inf/inf, sqrt of a
/// negative number): the canonical NaN with NV (IEEE 754-2019 §7.2).
pub(crate) fn invalid<F: Format>() -> (u64, Flags) {
    (F::CANONICAL_NAN, Flags::NV)
}
