//! fcvt.d.s and fcvt.s.d: conversions between the two formats (Unprivileged ISA, D
//! chapter, "Double-Precision Floating-Point Conversion and Move Instructions").

use crate::exact;
use crate::fast;
use crate::flags::Flags;
use crate::rm::Rm;

/// fcvt.d.s: widens a single to a double. Always exact; a NaN becomes the canonical
/// double NaN, with NV if it was signaling.
#[inline]
pub fn s_to_d(a: u32) -> (u64, Flags) {
    let x = f32::from_bits(a);
    if x.is_nan() {
        return exact::s_to_d(a);
    }
    (f64::from(x).to_bits(), Flags::NONE)
}

/// fcvt.s.d: narrows a double to a single, rounded under `rm` (NX, UF, OF as for any
/// rounding); a NaN becomes the canonical single NaN, with NV if it was signaling.
#[inline]
pub fn d_to_s(a: u64, rm: Rm) -> (u32, Flags) {
    if rm == Rm::Rne {
        if let Some(r) = fast::double::to_single(a) {
            return r;
        }
    }
    exact::d_to_s(a, rm)
}
