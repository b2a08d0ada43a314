//! Float→integer conversion fast path, for every rounding mode.
//!
//! For |v| < 2^62 the host truncation `v as i64` is exact, and so is the fraction
//! `v − trunc(v)` (Sterbenz: for |v| ≥ 1 both have the same sign and
//! |trunc(v)| ≥ |v|/2). The rounding mode then only decides whether to step one
//! away from zero, from the sign and size of that fraction. Out-of-range results,
//! NaN and infinities decline to the exact path, which implements saturation.

use crate::flags::Flags;
use crate::rm::Rm;

/// Rounds `v` to an integer under `rm`; `None` unless |v| < 2^62 (and not NaN).
/// Returns the integer and whether it differs from `v` (NX).
#[inline]
pub(crate) fn round(v: f64, rm: Rm) -> Option<(i64, bool)> {
    // |v| < 2^62 as one integer comparison on the magnitude bits (NaN fails too).
    const LIMIT: u64 = 0x43d0_0000_0000_0000;
    if v.to_bits() & !(1 << 63) >= LIMIT {
        return None;
    }
    let t = v as i64;
    let frac = v - t as f64;
    if frac == 0.0 {
        return Some((t, false));
    }
    let away = if frac > 0.0 { 1 } else { -1 };
    let step = match rm {
        Rm::Rtz => 0,
        Rm::Rdn => -((frac < 0.0) as i64),
        Rm::Rup => (frac > 0.0) as i64,
        Rm::Rmm => {
            if frac.abs() >= 0.5 {
                away
            } else {
                0
            }
        }
        Rm::Rne => {
            let half = frac.abs();
            if half > 0.5 || (half == 0.5 && t & 1 != 0) {
                away
            } else {
                0
            }
        }
    };
    Some((t + step, true))
}

/// Converts with [`round`] and accepts the result if it lies in `[min, max]`.
#[inline]
pub(crate) fn to_range(v: f64, rm: Rm, min: i64, max: i64) -> Option<(i64, Flags)> {
    let (r, inexact) = round(v, rm)?;
    if r < min || r > max {
        return None;
    }
    Some((r, Flags::nx_if(inexact)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_steps() {
        assert_eq!(round(2.5, Rm::Rne), Some((2, true)));
        assert_eq!(round(3.5, Rm::Rne), Some((4, true)));
        assert_eq!(round(-2.5, Rm::Rne), Some((-2, true)));
        assert_eq!(round(-2.5, Rm::Rmm), Some((-3, true)));
        assert_eq!(round(-2.2, Rm::Rdn), Some((-3, true)));
        assert_eq!(round(2.2, Rm::Rup), Some((3, true)));
        assert_eq!(round(-2.7, Rm::Rtz), Some((-2, true)));
        assert_eq!(round(-0.3, Rm::Rtz), Some((0, true)));
        assert_eq!(round(7.0, Rm::Rup), Some((7, false)));
        assert_eq!(round(f64::NAN, Rm::Rne), None);
        assert_eq!(round(4_611_686_018_427_387_904.0, Rm::Rne), None);
        assert_eq!(to_range(-0.3, Rm::Rtz, 0, 10), Some((0, Flags::NX)));
        assert_eq!(to_range(-1.0, Rm::Rtz, 0, 10), None);
        assert_eq!(
            to_range(2147483648.0, Rm::Rtz, i32::MIN.into(), i32::MAX.into()),
            None
        );
    }
}
