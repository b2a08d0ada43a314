//! Property tests: the crate-root API (which takes host fast paths for RNE and for
//! float→integer conversions) agrees bit for bit, flags included, with the exact
//! integer path on biased random operands, for every instruction and rounding mode;
//! and no input makes either panic.

mod common;

use common::gen::{self, Rng};
use common::ops::{self, Path, OPS};
use proptest::prelude::*;

/// Runs `count` vectors of op `index` in mode `rm` from `seed`, returning the first
/// disagreement as a message.
fn check(seed: u64, index: usize, rm: u8, count: usize) -> Result<(), String> {
    let op = &OPS[index];
    let mut rng = Rng::new(seed);
    let mode = ops::rm_of(rm);
    for _ in 0..count {
        let (a, b, c) = ops::operands(op, &mut rng);
        let fast = ops::eval(op.name, mode, a, b, c, Path::Main).expect("known op");
        let exact = ops::eval(op.name, mode, a, b, c, Path::Exact).expect("known op");
        if fast != exact {
            return Err(format!(
                "{} {mode:?} a={a:#x} b={b:#x} c={c:#x}: api {:#x} {} / exact {:#x} {}",
                op.name,
                fast.0,
                ops::show_flags(fast.1),
                exact.0,
                ops::show_flags(exact.1)
            ));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Every instruction in every rounding mode, biased operands.
    #[test]
    fn api_matches_exact_path(seed in any::<u64>(), index in 0..OPS.len(), rm in 0u8..5) {
        prop_assert_eq!(check(seed, index, rm, 64), Ok(()));
    }

    /// Round-to-nearest-even only, where the host fast paths are taken.
    #[test]
    fn fast_paths_match_exact_path(seed in any::<u64>(), index in 0..OPS.len()) {
        prop_assert_eq!(check(seed, index, 0, 64), Ok(()));
    }

    /// Uniformly random bit patterns (mostly ordinary numbers, the fast paths' bread
    /// and butter) for the rounding arithmetic.
    #[test]
    fn raw_bits_double(a in any::<u64>(), b in any::<u64>(), c in any::<u64>(), rm in 0u8..5) {
        let mode = ops::rm_of(rm);
        for name in ["fadd.d", "fsub.d", "fmul.d", "fdiv.d", "fsqrt.d", "fmadd.d", "fnmsub.d",
                     "fcvt.s.d", "fcvt.l.d", "fcvt.w.d", "fcvt.lu.d", "fcvt.d.l", "fcvt.d.lu"] {
            let fast = ops::eval(name, mode, a, b, c, Path::Main);
            let exact = ops::eval(name, mode, a, b, c, Path::Exact);
            prop_assert_eq!(fast, exact, "{} {:?} {:#x} {:#x} {:#x}", name, mode, a, b, c);
        }
    }

    /// Uniformly random bit patterns for single precision.
    #[test]
    fn raw_bits_single(a in any::<u32>(), b in any::<u32>(), c in any::<u32>(), rm in 0u8..5) {
        let mode = ops::rm_of(rm);
        let (a, b, c) = (a as u64, b as u64, c as u64);
        for name in ["fadd.s", "fsub.s", "fmul.s", "fdiv.s", "fsqrt.s", "fmadd.s", "fnmadd.s",
                     "fcvt.w.s", "fcvt.wu.s", "fcvt.l.s", "fcvt.s.w", "fcvt.s.l", "fcvt.d.s"] {
            let fast = ops::eval(name, mode, a, b, c, Path::Main);
            let exact = ops::eval(name, mode, a, b, c, Path::Exact);
            prop_assert_eq!(fast, exact, "{} {:?} {:#x} {:#x} {:#x}", name, mode, a, b, c);
        }
    }
}

/// Every special value (both signs) through every instruction, every rounding mode:
/// agreement, and no panic.
#[test]
fn specials_everywhere() {
    for op in OPS {
        let f = op.fmt;
        let specials: Vec<u64> = gen::specials(f)
            .into_iter()
            .flat_map(|x| [x, x | f.sign()])
            .collect();
        for rm in 0..5 {
            let mode = ops::rm_of(rm);
            for &a in &specials {
                for &b in &specials {
                    let c = specials[(a ^ b) as usize % specials.len()];
                    let fast = ops::eval(op.name, mode, a, b, c, Path::Main);
                    let exact = ops::eval(op.name, mode, a, b, c, Path::Exact);
                    assert_eq!(fast, exact, "{} {mode:?} {a:#x} {b:#x} {c:#x}", op.name);
                }
            }
        }
    }
}

/// A normal double with a random significand and an exponent in `lo..hi`.
fn normal(rng: &mut Rng, lo: i64, hi: i64) -> f64 {
    let e = lo + rng.below((hi - lo) as u64) as i64;
    let frac = rng.next() >> 12;
    let sign = rng.next() << 63;
    f64::from_bits(sign | (((1023 + e) as u64) << 52) | frac)
}

/// Compares the API with the exact path for one RNE double vector.
fn agree(name: &str, a: f64, b: f64, c: f64) {
    let (a, b, c) = (a.to_bits(), b.to_bits(), c.to_bits());
    let fast = ops::eval(name, tern_fpu::Rm::Rne, a, b, c, Path::Main);
    let exact = ops::eval(name, tern_fpu::Rm::Rne, a, b, c, Path::Exact);
    assert_eq!(fast, exact, "{name} {a:#x} {b:#x} {c:#x}");
}

/// The fused multiply-add fast path rests on the ErrFma theorem (the error of an FMA
/// is exactly γ + z); hammer it where it is hardest: heavy cancellation between the
/// product and the addend, and addends far smaller or larger than the product.
#[test]
fn fma_fast_path_under_cancellation() {
    let mut rng = Rng::new(0xf3a);
    for _ in 0..400_000 {
        let x = normal(&mut rng, -40, 40);
        let y = normal(&mut rng, -40, 40);
        let p = x * y;
        let c = match rng.below(4) {
            0 => -p,
            1 => f64::from_bits((-p).to_bits().wrapping_add(rng.below(9)).wrapping_sub(4)),
            2 => -p * 2f64.powi(rng.below(120) as i32 - 60),
            _ => -(p + x.mul_add(y, -p) * rng.below(3) as f64),
        };
        for name in ["fmadd.d", "fmsub.d", "fnmadd.d", "fnmsub.d"] {
            agree(name, x, y, c);
        }
    }
}

/// Results around the fast paths' magnitude guards (2^-960 for the residual checks,
/// 2^-1022 for tininess, 2^1000 and the overflow threshold).
#[test]
fn fast_path_guards() {
    let mut rng = Rng::new(0x9a7d);
    for _ in 0..200_000 {
        let target =
            2f64.powi(rng.pick(&[-1023, -1022, -1021, -961, -960, -959, 999, 1000, 1001, 1023]));
        let x = normal(&mut rng, -30, 30);
        let nudge = |v: f64, rng: &mut Rng| {
            f64::from_bits(v.to_bits().wrapping_add(rng.below(7)).wrapping_sub(3))
        };
        let y = nudge(target / x, &mut rng);
        agree("fmul.d", x, y, 0.0);
        let y = nudge(x / target, &mut rng);
        agree("fdiv.d", x, y, 0.0);
        let t = nudge(target, &mut rng);
        agree("fsqrt.d", t.abs(), 0.0, 0.0);
        agree("fdiv.d", t, x, 0.0);
        agree(
            "fmadd.d",
            x,
            nudge(target / x, &mut rng),
            nudge(target, &mut rng),
        );
        agree("fmadd.d", t, x, -t * x);
        agree("fadd.d", t, nudge(-t, &mut rng), 0.0);
        agree(
            "fcvt.s.d",
            nudge(target * 2f64.powi(rng.below(200) as i32 - 100), &mut rng),
            0.0,
            0.0,
        );
    }
}
