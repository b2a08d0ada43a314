//! Random register values biased towards the ones that find bugs: zero, ±1, small
//! numbers, powers of two and their neighbours, the integer extremes, and for floating
//! point the special encodings (signed zeros, subnormals, extremes, infinities, NaNs)
//! and values next to integers, where rounding modes and conversions differ.

use rand::Rng;

/// A random 64-bit integer register value.
pub fn int_value<R: Rng + ?Sized>(rng: &mut R) -> u64 {
    match rng.random_range(0..12) {
        0 => 0,
        1 => 1,
        2 => u64::MAX,
        3 => rng.random_range(0..32u64),
        4 => (rng.random_range(-32..0i64)) as u64,
        5 => 1u64 << rng.random_range(0..64),
        6 => {
            (1u64 << rng.random_range(0..64)).wrapping_add(if rng.random() { 1 } else { u64::MAX })
        }
        7 => *pick(
            rng,
            &[
                i64::MIN as u64,
                i64::MAX as u64,
                i32::MIN as i64 as u64,
                i32::MAX as u64,
                u32::MAX as u64,
                0x8000_0000,
                0xffff_ffff_0000_0000,
                0x0000_0001_0000_0000,
            ],
        ),
        8 => rng.random::<i32>() as i64 as u64,
        9 => rng.random::<u32>() as u64,
        10 => rng.random::<i16>() as i64 as u64,
        _ => rng.random(),
    }
}

/// A random 12-bit signed immediate, biased to the edges.
pub fn imm12<R: Rng + ?Sized>(rng: &mut R) -> i32 {
    match rng.random_range(0..6) {
        0 => *pick(rng, &[0, 1, -1, 2047, -2048, 31, 32, 63, 64]),
        1 => rng.random_range(-16..16),
        2 => 1 << rng.random_range(0..11),
        _ => rng.random_range(-2048..2048),
    }
}

/// Precision of a floating-point value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prec {
    /// Binary32, NaN-boxed in the 64-bit register.
    S,
    /// Binary64.
    D,
}

impl Prec {
    /// Instruction suffix: `s` or `d`.
    pub fn suffix(self) -> &'static str {
        match self {
            Prec::S => "s",
            Prec::D => "d",
        }
    }
}

/// A random f register value of precision `prec` (singles are NaN-boxed).
pub fn fp_value<R: Rng + ?Sized>(rng: &mut R, prec: Prec) -> u64 {
    match prec {
        Prec::S => 0xffff_ffff_0000_0000 | single_bits(rng) as u64,
        Prec::D => double_bits(rng),
    }
}

/// A random f register value that is not a NaN-boxed single: single-precision
/// operations must read it as the canonical NaN.
pub fn fp_unboxed<R: Rng + ?Sized>(rng: &mut R) -> u64 {
    match rng.random_range(0..3) {
        0 => single_bits(rng) as u64,
        1 => 0x7fff_ffff_0000_0000 | single_bits(rng) as u64,
        _ => rng.random(),
    }
}

fn sign<R: Rng + ?Sized>(rng: &mut R) -> bool {
    rng.random()
}

/// Raw binary32 bits.
pub fn single_bits<R: Rng + ?Sized>(rng: &mut R) -> u32 {
    let s = if sign(rng) { 0x8000_0000u32 } else { 0 };
    let mag = match rng.random_range(0..16) {
        0 => 0,                                                                       // zero
        1 => rng.random_range(1..0x80_0000),                                          // subnormal
        2 => *pick(rng, &[1, 0x7f_ffff]), // smallest / largest subnormal
        3 => 0x80_0000,                   // min normal
        4 => 0x7f7f_ffff,                 // max finite
        5 => 0x7f80_0000,                 // infinity
        6 => 0x7fc0_0000 | (rng.random_range(0..0x40_0000) * rng.random_range(0..2)), // qNaN
        7 => 0x7f80_0000 | rng.random_range(1..0x40_0000), // sNaN
        8 => 0x3f80_0000,                 // 1.0
        9 | 10 => near_integer_f32(rng),
        11 => {
            // 2^k boundaries that matter for conversions to 32/64-bit integers.
            let e: u32 = *pick(rng, &[23, 31, 32, 52, 63, 64]);
            let bits = (127 + e) << 23;
            bits.wrapping_add(*pick(rng, &[0u32, 1, u32::MAX]))
        }
        _ => rng.random::<u32>() & 0x7fff_ffff,
    };
    s | mag
}

/// Raw binary64 bits.
pub fn double_bits<R: Rng + ?Sized>(rng: &mut R) -> u64 {
    let s = if sign(rng) { 1u64 << 63 } else { 0 };
    let mag = match rng.random_range(0..16) {
        0 => 0,
        1 => rng.random_range(1..1u64 << 52),
        2 => *pick(rng, &[1, (1u64 << 52) - 1]),
        3 => 1u64 << 52,
        4 => 0x7fef_ffff_ffff_ffff,
        5 => 0x7ff0_0000_0000_0000,
        6 => 0x7ff8_0000_0000_0000 | (rng.random_range(0..1u64 << 51) * rng.random_range(0..2)),
        7 => 0x7ff0_0000_0000_0000 | rng.random_range(1..1u64 << 51),
        8 => 0x3ff0_0000_0000_0000,
        9 | 10 => near_integer_f64(rng),
        11 => {
            let e: u64 = *pick(rng, &[31, 32, 52, 53, 63, 64]);
            let bits = (1023 + e) << 52;
            bits.wrapping_add(*pick(rng, &[0u64, 1, u64::MAX]))
        }
        12 => single_bits(rng) as u64 & 0x7fff_ffff, // a double holding float-like junk
        _ => rng.random::<u64>() & 0x7fff_ffff_ffff_ffff,
    };
    s | mag
}

/// A value at or next to an integer or a half-integer (ties), positive magnitude.
fn near_integer_f32<R: Rng + ?Sized>(rng: &mut R) -> u32 {
    let n = rng.random_range(0..40) as f32;
    let v = match rng.random_range(0..3) {
        0 => n,
        1 => n + 0.5,
        _ => n,
    };
    let bits = v.to_bits();
    match rng.random_range(0..3) {
        0 => bits,
        1 => bits.wrapping_add(1),
        _ => bits.wrapping_sub(if bits > 0 { 1 } else { 0 }),
    }
}

fn near_integer_f64<R: Rng + ?Sized>(rng: &mut R) -> u64 {
    let n = rng.random_range(0..40) as f64;
    let v = if rng.random() { n } else { n + 0.5 };
    let bits = v.to_bits();
    match rng.random_range(0..3) {
        0 => bits,
        1 => bits.wrapping_add(1),
        _ => bits.wrapping_sub(if bits > 0 { 1 } else { 0 }),
    }
}

/// One element of `items`, uniformly.
pub fn pick<'a, T, R: Rng + ?Sized>(rng: &mut R, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}
