//! A second, independent reference that needs no external tools: the exact path
//! against `rustc_apfloat` (a port of LLVM's APFloat) on finite operands, for the
//! operations APFloat implements (add, sub, mul, div, fused multiply-add, conversions
//! between the formats and from integers), in every rounding mode.
//!
//! APFloat decides underflow by whether the stored result is subnormal, RISC-V (and
//! IEEE 754 "after rounding") by whether the result rounded to full precision with an
//! unbounded exponent is below 2^emin. The two differ only when the result is exactly
//! the smallest normal number, so UF is not compared there; that case is checked
//! against QEMU in `qemu_oracle.rs` and by unit tests.
//!
//! APFloat also omits the overflow flag when an overflowing result rounds to the
//! largest finite number (RTZ, or RDN/RUP away from the infinity); IEEE 754-2019 §7.4
//! and RISC-V raise OF there, so OF is not compared when the result is ±max finite.

mod common;

use common::gen::{self, Fmt, Rng, DOUBLE, SINGLE};
use proptest::prelude::*;
use rustc_apfloat::ieee::{Double, Single};
use rustc_apfloat::{Float, FloatConvert, Round, Status, StatusAnd};
use tern_fpu::{exact, Flags, Rm};

fn round(rm: Rm) -> Round {
    match rm {
        Rm::Rne => Round::NearestTiesToEven,
        Rm::Rtz => Round::TowardZero,
        Rm::Rdn => Round::TowardNegative,
        Rm::Rup => Round::TowardPositive,
        Rm::Rmm => Round::NearestTiesToAway,
    }
}

fn flags(s: Status) -> u8 {
    let mut f = Flags::NONE;
    for (status, flag) in [
        (Status::INEXACT, Flags::NX),
        (Status::UNDERFLOW, Flags::UF),
        (Status::OVERFLOW, Flags::OF),
        (Status::DIV_BY_ZERO, Flags::DZ),
        (Status::INVALID_OP, Flags::NV),
    ] {
        if s.contains(status) {
            f |= flag;
        }
    }
    f.bits()
}

/// Compares one result, ignoring UF when the result is ±2^emin and OF when it is ±max
/// finite (see the module doc).
fn same(f: Fmt, ours: (u64, u8), theirs: (u64, u8)) -> bool {
    let magnitude = ours.0 & !f.sign();
    let ignored = if magnitude == f.hidden() {
        Flags::UF.bits()
    } else if magnitude == f.inf() - 1 {
        Flags::OF.bits()
    } else {
        0
    };
    ours.0 == theirs.0 && ours.1 & !ignored == theirs.1 & !ignored
}

fn s32(r: StatusAnd<Single>) -> (u64, u8) {
    (r.value.to_bits() as u64, flags(r.status))
}

fn s64(r: StatusAnd<Double>) -> (u64, u8) {
    (r.value.to_bits() as u64, flags(r.status))
}

/// A random finite operand (NaN and infinity handling is QEMU's business).
fn finite(f: Fmt, rng: &mut Rng) -> u64 {
    loop {
        let x = gen::float(f, rng);
        if x & f.inf() != f.inf() {
            return x;
        }
    }
}

/// Often −a moved by a few ulps (cancellation), else `b`; always finite.
fn near_negation(f: Fmt, a: u64, b: u64, rng: &mut Rng) -> u64 {
    let n = gen::nudge(f, a ^ f.sign(), rng);
    if rng.chance(1, 3) && n & f.inf() != f.inf() {
        n
    } else {
        b
    }
}

fn check_single(seed: u64, rm: Rm) -> Result<(), String> {
    let mut rng = Rng::new(seed);
    let r = round(rm);
    for _ in 0..32 {
        let (a, b, c) = (
            finite(SINGLE, &mut rng),
            finite(SINGLE, &mut rng),
            finite(SINGLE, &mut rng),
        );
        let b = near_negation(SINGLE, a, b, &mut rng);
        let (x, y, z) = (
            Single::from_bits(a as u128),
            Single::from_bits(b as u128),
            Single::from_bits(c as u128),
        );
        let (a32, b32, c32) = (a as u32, b as u32, c as u32);
        let cases: [(&str, (u32, Flags), StatusAnd<Single>); 5] = [
            ("add", exact::add_s(a32, b32, rm), x.add_r(y, r)),
            ("sub", exact::sub_s(a32, b32, rm), x.sub_r(y, r)),
            ("mul", exact::mul_s(a32, b32, rm), x.mul_r(y, r)),
            ("div", exact::div_s(a32, b32, rm), x.div_r(y, r)),
            ("fma", exact::fma_s(a32, b32, c32, rm), x.mul_add_r(y, z, r)),
        ];
        for (name, ours, theirs) in cases {
            let (ours, theirs) = ((ours.0 as u64, ours.1.bits()), s32(theirs));
            if !same(SINGLE, ours, theirs) {
                return Err(format!(
                    "{name}.s {rm:?} {a:#x} {b:#x} {c:#x}: {ours:x?} vs apfloat {theirs:x?}"
                ));
            }
        }
        let v = gen::int(&mut rng);
        let ours = exact::from_i64_s(v as i64, rm);
        let theirs = s32(Single::from_i128_r(v as i64 as i128, r));
        if (ours.0 as u64, ours.1.bits()) != theirs {
            return Err(format!(
                "from_i64_s {rm:?} {v:#x}: {ours:x?} vs apfloat {theirs:x?}"
            ));
        }
        let ours = exact::from_u64_s(v, rm);
        let theirs = s32(Single::from_u128_r(v as u128, r));
        if (ours.0 as u64, ours.1.bits()) != theirs {
            return Err(format!(
                "from_u64_s {rm:?} {v:#x}: {ours:x?} vs apfloat {theirs:x?}"
            ));
        }
    }
    Ok(())
}

fn check_double(seed: u64, rm: Rm) -> Result<(), String> {
    let mut rng = Rng::new(seed);
    let r = round(rm);
    for _ in 0..32 {
        let (a, b, c) = (
            finite(DOUBLE, &mut rng),
            finite(DOUBLE, &mut rng),
            finite(DOUBLE, &mut rng),
        );
        let b = near_negation(DOUBLE, a, b, &mut rng);
        let (x, y, z) = (
            Double::from_bits(a as u128),
            Double::from_bits(b as u128),
            Double::from_bits(c as u128),
        );
        let cases: [(&str, (u64, Flags), StatusAnd<Double>); 5] = [
            ("add", exact::add_d(a, b, rm), x.add_r(y, r)),
            ("sub", exact::sub_d(a, b, rm), x.sub_r(y, r)),
            ("mul", exact::mul_d(a, b, rm), x.mul_r(y, r)),
            ("div", exact::div_d(a, b, rm), x.div_r(y, r)),
            ("fma", exact::fma_d(a, b, c, rm), x.mul_add_r(y, z, r)),
        ];
        for (name, ours, theirs) in cases {
            let (ours, theirs) = ((ours.0, ours.1.bits()), s64(theirs));
            if !same(DOUBLE, ours, theirs) {
                return Err(format!(
                    "{name}.d {rm:?} {a:#x} {b:#x} {c:#x}: {ours:x?} vs apfloat {theirs:x?}"
                ));
            }
        }
        // Narrowing to single.
        let ours = exact::d_to_s(a, rm);
        let theirs = FloatConvert::<Single>::convert_r(x, r, &mut false);
        let (ours, theirs) = ((ours.0 as u64, ours.1.bits()), s32(theirs));
        if !same(SINGLE, ours, theirs) {
            return Err(format!(
                "d_to_s {rm:?} {a:#x}: {ours:x?} vs apfloat {theirs:x?}"
            ));
        }
        let v = gen::int(&mut rng);
        let ours = exact::from_i64_d(v as i64, rm);
        if (ours.0, ours.1.bits()) != s64(Double::from_i128_r(v as i64 as i128, r)) {
            return Err(format!("from_i64_d {rm:?} {v:#x}: {ours:x?}"));
        }
        let ours = exact::from_u64_d(v, rm);
        if (ours.0, ours.1.bits()) != s64(Double::from_u128_r(v as u128, r)) {
            return Err(format!("from_u64_d {rm:?} {v:#x}: {ours:x?}"));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn exact_single_matches_apfloat(seed in any::<u64>(), rm in 0u8..5) {
        prop_assert_eq!(check_single(seed, Rm::from_bits(rm).unwrap()), Ok(()));
    }

    #[test]
    fn exact_double_matches_apfloat(seed in any::<u64>(), rm in 0u8..5) {
        prop_assert_eq!(check_double(seed, Rm::from_bits(rm).unwrap()), Ok(()));
    }
}
