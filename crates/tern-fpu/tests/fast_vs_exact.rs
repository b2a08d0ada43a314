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
