//! Host fast paths for round-to-nearest-even.
//!
//! Rust's `f32`/`f64` arithmetic is IEEE 754 roundTiesToEven on every supported host
//! (x86-64 SSE2, AArch64), so for rm = RNE the host computes the right result bits
//! whenever the result is a finite normal number. What the host does not report is the
//! exception flags; each function here recovers NX exactly with an error-free
//! transformation and declines (returns `None`) whenever the case could involve
//! anything else — NaN, infinity, overflow, a result that may be tiny, or an
//! intermediate that could lose the exactness the transformation relies on. The caller
//! then runs the exact path in [`crate::soft`]. Declining is always correct; the
//! property tests check that every accepted case matches the exact path bit for bit.
//!
//! Float→integer conversions have a fast path for every rounding mode, since they only
//! need truncation (exact on the host) and a comparison of the fraction.

pub(crate) mod double;
pub(crate) mod int;
pub(crate) mod single;

/// TwoSum (Knuth, TAOCP vol. 2 §4.2.2; Møller 1965): for `s = RN(x + y)`, returns the
/// exact rounding error `x + y − s`, which is itself a double, provided nothing
/// overflows. A non-finite return means an intermediate overflowed and the caller must
/// decline.
#[inline]
pub(crate) fn two_sum_err(x: f64, y: f64, s: f64) -> f64 {
    let y_virtual = s - x;
    let x_virtual = s - y_virtual;
    (x - x_virtual) + (y - y_virtual)
}

/// [`two_sum_err`] in binary32.
#[inline]
pub(crate) fn two_sum_err_f32(x: f32, y: f32, s: f32) -> f32 {
    let y_virtual = s - x;
    let x_virtual = s - y_virtual;
    (x - x_virtual) + (y - y_virtual)
}

/// Whether the magnitude bits `m` (sign cleared) lie strictly between `lo` and `hi`:
/// one unsigned comparison.
#[inline]
pub(crate) fn in_open_range(m: u64, lo: u64, hi: u64) -> bool {
    m.wrapping_sub(lo + 1) < hi - lo - 1
}
