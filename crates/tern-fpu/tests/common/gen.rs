//! Biased random operands: zeros, subnormals, the smallest-normal neighbourhood, the
//! largest finite numbers, infinities, quiet and signaling NaNs, ±1, integer
//! boundaries of i32/u32/i64/u64, rounding ties, and operand pairs built to land
//! results on the underflow and overflow thresholds or to cancel.

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast and good enough to spread tests.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// True with probability `num / den`.
    pub fn chance(&mut self, num: u64, den: u64) -> bool {
        self.below(den) < num
    }

    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    pub fn sign(&mut self) -> bool {
        self.next() & 1 != 0
    }
}

/// A binary format seen from the tests: field widths only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fmt {
    pub frac_bits: u32,
    pub exp_bits: u32,
}

pub const SINGLE: Fmt = Fmt {
    frac_bits: 23,
    exp_bits: 8,
};
pub const DOUBLE: Fmt = Fmt {
    frac_bits: 52,
    exp_bits: 11,
};

impl Fmt {
    pub fn width(self) -> u32 {
        self.frac_bits + self.exp_bits + 1
    }
    pub fn sign(self) -> u64 {
        1 << (self.width() - 1)
    }
    pub fn hidden(self) -> u64 {
        1 << self.frac_bits
    }
    pub fn inf(self) -> u64 {
        ((1 << self.exp_bits) - 1) << self.frac_bits
    }
    pub fn quiet(self) -> u64 {
        1 << (self.frac_bits - 1)
    }
    pub fn bias(self) -> u64 {
        (1 << (self.exp_bits - 1)) - 1
    }
    /// The bits of 2^e (e within the normal range).
    pub fn pow2(self, e: i64) -> u64 {
        ((self.bias() as i64 + e) as u64) << self.frac_bits
    }
    /// Host value to bits in this format (rounding to nearest for singles).
    pub fn bits_of(self, x: f64) -> u64 {
        if self == SINGLE {
            (x as f32).to_bits() as u64
        } else {
            x.to_bits()
        }
    }
    /// Bits to host value (exact).
    pub fn to_f64(self, bits: u64) -> f64 {
        if self == SINGLE {
            f32::from_bits(bits as u32) as f64
        } else {
            f64::from_bits(bits)
        }
    }
    pub fn is_nan(self, bits: u64) -> bool {
        bits & !self.sign() > self.inf()
    }
}

/// Magnitudes (sign added at random) where things happen.
pub fn specials(f: Fmt) -> Vec<u64> {
    let h = f.hidden();
    let one = f.pow2(0);
    let mut v = vec![
        0,
        1,
        2,
        3,
        h - 1,
        h - 2,
        h >> 1,
        (h >> 1) + 1,
        h,
        h + 1,
        h + 2,
        2 * h - 1,
        2 * h,
        f.inf() - 1,
        f.inf() - 2,
        f.inf() - h,
        f.inf(),
        f.inf() | f.quiet(),
        f.inf() | f.quiet() | 1,
        f.inf() | 1,
        f.inf() | (f.quiet() - 1),
        f.inf() | (f.quiet() >> 1),
        one,
        one + 1,
        one - 1,
        f.pow2(-1),
        f.pow2(-1) - 1,
        f.pow2(-1) + 1,
        f.pow2(1),
        one | (f.quiet()),            // 1.5
        f.pow2(1) | f.quiet(),        // 3
        f.pow2(1) | (f.quiet() >> 1), // 2.5
        f.pow2(-2) | f.quiet(),       // 0.375
    ];
    for e in [23i64, 24, 31, 32, 52, 53, 62, 63, 64, 65] {
        v.extend([f.pow2(e), f.pow2(e) - 1, f.pow2(e) + 1]);
    }
    // Half-integers and integers around the 32-bit boundaries that the format holds.
    for x in [
        2147483647.0f64,
        2147483647.5,
        2147483648.5,
        -2147483648.5,
        -2147483649.0,
        4294967295.0,
        4294967295.5,
        4294967296.5,
        9_223_372_036_854_774_784.0,  // the largest double below 2^63
        18_446_744_073_709_549_568.0, // the largest double below 2^64
        0.5,
        0.49999999999999994,
        -0.3,
        1e-3,
    ] {
        v.push(f.bits_of(x.abs()));
    }
    v
}

/// A float bit pattern built field by field from interesting pieces.
fn structured(f: Fmt, rng: &mut Rng) -> u64 {
    let emax = (1u64 << f.exp_bits) - 1;
    let p = f.frac_bits as u64;
    let exp = match rng.below(5) {
        0 => rng.below(emax + 1),
        1 => f.bias() - (p + 12) + rng.below(2 * (p + 12)), // around 1.0
        2 => rng.below(p + 3),                              // subnormal, smallest normals
        3 => emax - 1 - rng.below(p + 3),                   // largest finite
        _ => f.bias() + rng.below(70),                      // integer boundaries
    };
    let mask = f.hidden() - 1;
    let frac = match rng.below(7) {
        0 | 1 => rng.next() & mask,
        2 => 0,
        3 => mask,
        4 => 1 << rng.below(p),
        5 => rng.next() & 0xff,
        _ => mask ^ (mask >> rng.below(p + 1)),
    };
    (exp << f.frac_bits) | frac
}

/// Moves `x` by a few units in the last place (staying within the format's width).
pub fn nudge(f: Fmt, x: u64, rng: &mut Rng) -> u64 {
    let d = rng.below(7) as i64 - 3;
    let mag = x & !f.sign();
    let moved = (mag as i128 + d as i128).clamp(0, (f.sign() - 1) as i128) as u64;
    (x & f.sign()) | moved
}

/// A random float operand, biased towards special values.
pub fn float(f: Fmt, rng: &mut Rng) -> u64 {
    let mag = match rng.below(10) {
        0..=2 => rng.pick(&specials(f)),
        3..=7 => structured(f, rng),
        8 => rng.next() & (f.sign() - 1),
        _ => near_integer(f, rng),
    };
    let sign = if rng.sign() { f.sign() } else { 0 };
    sign | mag
}

/// A float near an integer or a half-integer of any magnitude up to 2^66.
pub fn near_integer(f: Fmt, rng: &mut Rng) -> u64 {
    let n = int(rng) as i64 as f64;
    let n = if rng.chance(1, 4) { n.abs() * 4.0 } else { n };
    let offset = rng.pick(&[0.0, 0.5, -0.5, 0.25, -0.75, 0.999, 1e-9]);
    let bits = f.bits_of(n + offset);
    if rng.chance(1, 3) {
        nudge(f, bits, rng)
    } else {
        bits
    }
}

/// A random 64-bit integer register value, biased to boundaries, powers of two and
/// values with just a few more significant bits than a format holds.
pub fn int(rng: &mut Rng) -> u64 {
    let v = match rng.below(8) {
        0 => rng.pick(&[
            0u64,
            1,
            u64::MAX,
            i32::MAX as u64,
            i32::MIN as i64 as u64,
            u32::MAX as u64,
            i64::MAX as u64,
            i64::MIN as u64,
            1 << 24,
            (1 << 24) + 1,
            (1 << 53) + 1,
        ]),
        1 => (1u64 << rng.below(64))
            .wrapping_add(rng.below(7))
            .wrapping_sub(3),
        2 => rng.next() >> rng.below(64),
        3 => {
            // 24..=26 or 53..=55 significant bits, shifted: exercises ties.
            let bits = rng.pick(&[24u64, 25, 26, 53, 54, 55]);
            let m = (rng.next() >> (64 - bits)) | (1 << (bits - 1));
            m << rng.below(64 - bits + 1)
        }
        4 => rng.next() as i32 as i64 as u64,
        5 => rng.below(1 << 20),
        _ => rng.next(),
    };
    if rng.chance(1, 3) {
        v.wrapping_neg()
    } else {
        v
    }
}

/// A random rounding mode encoding 0..=4.
pub fn rm(rng: &mut Rng) -> u8 {
    rng.below(5) as u8
}
