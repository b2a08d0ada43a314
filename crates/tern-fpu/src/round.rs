//! Rounding an exact intermediate result to a format: the one place where rounding
//! modes, overflow, underflow and the inexact flag are decided.
//!
//! RISC-V detects tininess *after rounding* (Unprivileged ISA, F chapter: "the
//! underflow exception is raised when the result is tiny after rounding and inexact";
//! IEEE 754-2019 §7.5): a non-zero result is tiny when rounding it to the format's
//! precision *with an unbounded exponent range* gives a magnitude below the smallest
//! normal number. That differs from "the stored result is subnormal" exactly when the
//! exact value lies just below the smallest normal number and rounds up to it.

use crate::flags::Flags;
use crate::format::Format;
use crate::rm::Rm;

/// Shifts `sig` right by `k` bits (`k` ≥ 1, any size) and rounds the kept part
/// according to `rm`, for a value of the given sign. Returns the rounded integer (which
/// may have carried into one more bit) and whether any non-zero bit was dropped.
pub(crate) fn round_shift(sig: u64, k: u32, negative: bool, rm: Rm) -> (u64, bool) {
    let (kept, round, sticky) = if k >= 65 {
        (0, false, sig != 0)
    } else if k == 64 {
        (0, sig >> 63 != 0, sig << 1 != 0)
    } else {
        let rest = sig << (64 - k);
        (sig >> k, rest >> 63 != 0, rest << 1 != 0)
    };
    let inexact = round || sticky;
    let up = match rm {
        Rm::Rne => round && (sticky || kept & 1 != 0),
        Rm::Rmm => round,
        Rm::Rtz => false,
        Rm::Rdn => inexact && negative,
        Rm::Rup => inexact && !negative,
    };
    (kept + up as u64, inexact)
}

/// The result of an overflow for a value of the given sign (IEEE 754-2019 §7.4): ∞
/// when rounding away from zero in that direction, else the largest finite number.
pub(crate) fn overflow<F: Format>(negative: bool, rm: Rm) -> (u64, Flags) {
    let to_inf = match rm {
        Rm::Rne | Rm::Rmm => true,
        Rm::Rtz => false,
        Rm::Rdn => negative,
        Rm::Rup => !negative,
    };
    let magnitude = if to_inf { F::INF } else { F::MAX_FINITE };
    let sign = if negative { F::SIGN } else { 0 };
    (sign | magnitude, Flags::OF | Flags::NX)
}

/// Rounds the exact value `(-1)^negative × sig × 2^exp` (with `sig` ≠ 0) to format `F`
/// under `rm`, returning its bits and the NX/UF/OF flags.
pub(crate) fn round_pack<F: Format>(negative: bool, exp: i32, sig: u64, rm: Rm) -> (u64, Flags) {
    debug_assert!(sig != 0);
    let lz = sig.leading_zeros();
    let sig = sig << lz;
    // The value lies in [2^e, 2^(e+1)).
    let e = exp + 63 - lz as i32;
    let sign = if negative { F::SIGN } else { 0 };
    let drop = 64 - F::PRECISION;
    if e >= F::EMIN {
        if e > F::EMAX {
            return overflow::<F>(negative, rm);
        }
        let (mut m, inexact) = round_shift(sig, drop, negative, rm);
        let mut e = e;
        if m >> F::PRECISION != 0 {
            m >>= 1;
            e += 1;
            if e > F::EMAX {
                return overflow::<F>(negative, rm);
            }
        }
        let biased = (e + F::BIAS) as u64;
        let bits = sign | biased << F::FRAC_BITS | (m & F::FRAC_MASK);
        return (bits, Flags::nx_if(inexact));
    }
    // Below the normal range before rounding. Tiny after rounding unless it is just
    // below 2^EMIN and rounding to full precision carries up to 2^EMIN.
    let tiny = e < F::EMIN - 1 || round_shift(sig, drop, negative, rm).0 >> F::PRECISION == 0;
    let (m, inexact) = round_shift(sig, drop + (F::EMIN - e) as u32, negative, rm);
    // `m` is a subnormal fraction; if rounding carried into the hidden bit it encodes
    // the smallest normal number (biased exponent 1) without further work.
    let mut flags = Flags::nx_if(inexact);
    if tiny && inexact {
        flags |= Flags::UF;
    }
    (sign | m, flags)
}

/// [`round_pack`] for a 128-bit significand: folds the low bits that cannot matter
/// into a sticky bit first.
pub(crate) fn round_pack_wide<F: Format>(
    negative: bool,
    exp: i32,
    sig: u128,
    rm: Rm,
) -> (u64, Flags) {
    debug_assert!(sig != 0);
    let bits = 128 - sig.leading_zeros();
    if bits <= 64 {
        return round_pack::<F>(negative, exp, sig as u64, rm);
    }
    let shift = bits - 64;
    let sticky = (sig & ((1u128 << shift) - 1) != 0) as u64;
    round_pack::<F>(
        negative,
        exp + shift as i32,
        (sig >> shift) as u64 | sticky,
        rm,
    )
}

/// Shifts `sig` right by `k` bits (any size), ORing every dropped bit into bit 0 (the
/// classic "jamming" that keeps the value strictly inside the same rounding interval
/// as long as the final rounding point lies at least two bits higher).
pub(crate) fn shift_right_jam(sig: u128, k: u32) -> u128 {
    if k == 0 {
        sig
    } else if k >= 128 {
        (sig != 0) as u128
    } else {
        (sig >> k) | ((sig << (128 - k) != 0) as u128)
    }
}

/// [`shift_right_jam`] for 64-bit values.
pub(crate) fn shift_right_jam64(sig: u64, k: u32) -> u64 {
    if k == 0 {
        sig
    } else if k >= 64 {
        (sig != 0) as u64
    } else {
        (sig >> k) | ((sig << (64 - k) != 0) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{F32, F64};

    #[test]
    fn round_shift_modes() {
        // 0b1011 >> 2 = 0b10.11
        assert_eq!(round_shift(0b1011, 2, false, Rm::Rne), (0b11, true));
        assert_eq!(round_shift(0b1011, 2, false, Rm::Rtz), (0b10, true));
        assert_eq!(round_shift(0b1011, 2, true, Rm::Rdn), (0b11, true));
        assert_eq!(round_shift(0b1011, 2, true, Rm::Rup), (0b10, true));
        // ties: 0b10.1 -> even 0b10 (Rne), away 0b11 (Rmm)
        assert_eq!(round_shift(0b101, 1, false, Rm::Rne), (0b10, true));
        assert_eq!(round_shift(0b101, 1, false, Rm::Rmm), (0b11, true));
        assert_eq!(round_shift(0b111, 1, false, Rm::Rne), (0b100, true));
        assert_eq!(round_shift(0b100, 2, false, Rm::Rup), (0b1, false));
        // huge shifts
        assert_eq!(round_shift(1 << 63, 64, false, Rm::Rne), (0, true));
        assert_eq!(round_shift((1 << 63) | 1, 64, false, Rm::Rne), (1, true));
        assert_eq!(round_shift(u64::MAX, 200, false, Rm::Rup), (1, true));
        assert_eq!(round_shift(u64::MAX, 200, false, Rm::Rmm), (0, true));
    }

    #[test]
    fn pack_normal_and_overflow() {
        assert_eq!(
            round_pack::<F64>(false, 0, 1, Rm::Rne),
            (1.0f64.to_bits(), Flags::NONE)
        );
        assert_eq!(
            round_pack::<F32>(true, -1, 3, Rm::Rne),
            ((-1.5f32).to_bits() as u64, Flags::NONE)
        );
        assert_eq!(round_pack::<F32>(false, 128, 1, Rm::Rne).0, F32::INF);
        assert_eq!(round_pack::<F32>(false, 128, 1, Rm::Rtz).0, F32::MAX_FINITE);
        assert_eq!(
            round_pack::<F32>(true, 128, 1, Rm::Rup).0,
            F32::SIGN | F32::MAX_FINITE
        );
        // 2^24 - 1 + 1/2 rounds (ties to even) to 2^24
        assert_eq!(
            round_pack::<F32>(false, -1, (1 << 25) - 1, Rm::Rne).0,
            (16777216.0f32).to_bits() as u64
        );
    }

    #[test]
    fn tininess_after_rounding() {
        // Just below 2^-126: (2^24 - 1/2) × 2^-150 = (2^25 - 1) × 2^-151 rounds to
        // 2^-126 with an unbounded exponent, so it is not tiny: NX only.
        let (bits, flags) = round_pack::<F32>(false, -151, (1 << 25) - 1, Rm::Rne);
        assert_eq!(bits, 0x0080_0000);
        assert_eq!(flags, Flags::NX);
        // (2^24 - 3/4) × 2^-150 = (2^26 - 3) × 2^-152: with full precision it rounds
        // to (2^24 - 1) × 2^-150 (tiny) but in the subnormal grid it rounds up to
        // 2^-126: UF and NX with a normal result.
        let (bits, flags) = round_pack::<F32>(false, -152, (1 << 26) - 3, Rm::Rne);
        assert_eq!(bits, 0x0080_0000);
        assert_eq!(flags, Flags::NX | Flags::UF);
        // Exact subnormals raise nothing.
        assert_eq!(
            round_pack::<F64>(false, -1074, 1, Rm::Rne),
            (1, Flags::NONE)
        );
        // Underflow to zero.
        assert_eq!(
            round_pack::<F64>(true, -1076, 1, Rm::Rne),
            (F64::SIGN, Flags::NX | Flags::UF)
        );
        assert_eq!(
            round_pack::<F64>(true, -1076, 1, Rm::Rdn),
            (F64::SIGN | 1, Flags::NX | Flags::UF)
        );
    }

    #[test]
    fn wide_and_jam() {
        let (bits, flags) = round_pack_wide::<F64>(false, -100, (1u128 << 100) | 1, Rm::Rne);
        assert_eq!((bits, flags), (1.0f64.to_bits(), Flags::NX));
        assert_eq!(shift_right_jam(0b1000, 3), 1);
        assert_eq!(shift_right_jam(0b1001, 3), 1);
        assert_eq!(shift_right_jam(0b10001, 3), 0b11);
        assert_eq!(shift_right_jam(5, 300), 1);
        assert_eq!(shift_right_jam(0, 300), 0);
        assert_eq!(shift_right_jam64(0b10001, 3), 0b11);
        assert_eq!(shift_right_jam64(0b10000, 3), 0b10);
        assert_eq!(shift_right_jam64(1 << 63, 64), 1);
        assert_eq!(shift_right_jam64(7, 0), 7);
    }
}
