//! The RISC-V F/D rules that are easy to get wrong, checked through the public API
//! (each case also through `exact` where it has a counterpart).

use tern_fpu::*;

const QNAN_S: u32 = CANONICAL_NAN_S;
const SNAN_S: u32 = 0x7f80_0001;
const QNAN_D: u64 = CANONICAL_NAN_D;
const SNAN_D: u64 = 0x7ff0_0000_0000_0001;
const MIN_NORMAL_S: u32 = 0x0080_0000;

fn s(x: f32) -> u32 {
    x.to_bits()
}

fn d(x: f64) -> u64 {
    x.to_bits()
}

#[test]
fn nan_results_are_canonical() {
    // A quiet NaN with a payload and the sign set does not propagate.
    assert_eq!(add_s(0xffc1_2345, s(1.0), Rm::Rne), (QNAN_S, Flags::NONE));
    assert_eq!(
        mul_d(0xfff8_0000_dead_beef, d(2.0), Rm::Rtz),
        (QNAN_D, Flags::NONE)
    );
    assert_eq!(sqrt_s(s(-1.0), Rm::Rne), (QNAN_S, Flags::NV));
    assert_eq!(
        sub_d(d(f64::INFINITY), d(f64::INFINITY), Rm::Rne),
        (QNAN_D, Flags::NV)
    );
    assert_eq!(div_s(0, 0x8000_0000, Rm::Rne), (QNAN_S, Flags::NV));
    assert_eq!(
        d_to_s(0xfff8_0000_0000_0001, Rm::Rne),
        (QNAN_S, Flags::NONE)
    );
    assert_eq!(s_to_d(0xffc0_0001), (QNAN_D, Flags::NONE));
}

#[test]
fn signaling_nans_raise_invalid() {
    assert_eq!(add_s(SNAN_S, s(1.0), Rm::Rne), (QNAN_S, Flags::NV));
    assert_eq!(fma_d(d(1.0), d(1.0), SNAN_D, Rm::Rne), (QNAN_D, Flags::NV));
    assert_eq!(s_to_d(SNAN_S), (QNAN_D, Flags::NV));
    assert_eq!(exact::s_to_d(SNAN_S), (QNAN_D, Flags::NV));
    assert_eq!(d_to_s(SNAN_D, Rm::Rne), (QNAN_S, Flags::NV));
}

#[test]
fn fma_inf_times_zero_plus_quiet_nan_is_invalid() {
    assert_eq!(
        fma_s(s(f32::INFINITY), 0, QNAN_S, Rm::Rne),
        (QNAN_S, Flags::NV)
    );
    assert_eq!(
        fma_d(0, d(f64::NEG_INFINITY), QNAN_D, Rm::Rup),
        (QNAN_D, Flags::NV)
    );
    assert_eq!(
        fma_d(d(2.0), d(f64::INFINITY), QNAN_D, Rm::Rne),
        (QNAN_D, Flags::NONE)
    );
}

#[test]
fn underflow_is_detected_after_rounding() {
    // 2^-126 × (1 − 2^-24) = 2^-126 − 2^-150 is representable with 24 bits and an
    // unbounded exponent, so it is tiny after rounding; the subnormal grid rounds it
    // (a tie, to even) up to 2^-126, inexactly: UF with a normal result. A check of
    // "is the stored result subnormal" would miss this UF.
    let below = s(1.0 - f32::EPSILON / 2.0); // 1 − 2^-24
    let uf_nx = Flags::NX | Flags::UF;
    assert_eq!(mul_s(MIN_NORMAL_S, below, Rm::Rne), (MIN_NORMAL_S, uf_nx));
    assert_eq!(
        exact::mul_s(MIN_NORMAL_S, below, Rm::Rne),
        (MIN_NORMAL_S, uf_nx)
    );
    assert_eq!(mul_s(MIN_NORMAL_S, below, Rm::Rup), (MIN_NORMAL_S, uf_nx));
    assert_eq!(
        mul_s(MIN_NORMAL_S, below, Rm::Rtz),
        (MIN_NORMAL_S - 1, uf_nx)
    );
    // 2^-126 × (1 − 2^-25) lies halfway between 2^-126 − 2^-150 and 2^-126 at full
    // precision and rounds (to even) to 2^-126: not tiny, NX only.
    let not_tiny = f32::MIN_POSITIVE as f64 * (1.0 - 2f64.powi(-25));
    assert_eq!(d_to_s(d(not_tiny), Rm::Rne), (MIN_NORMAL_S, Flags::NX));
    assert_eq!(
        exact::d_to_s(d(not_tiny), Rm::Rne),
        (MIN_NORMAL_S, Flags::NX)
    );
    assert_eq!(d_to_s(d(not_tiny), Rm::Rtz), (MIN_NORMAL_S - 1, uf_nx));
    // The same in binary64: (2^27 + 1)(2^27 − 1) × 2^-1076 = 2^-1022 − 2^-1076.
    let a = d((134_217_729.0f64) * 2f64.powi(-538));
    let b = d((134_217_727.0f64) * 2f64.powi(-538));
    assert_eq!(mul_d(a, b, Rm::Rne), (d(f64::MIN_POSITIVE), Flags::NX));
    assert_eq!(mul_d(a, b, Rm::Rtz), (d(f64::MIN_POSITIVE) - 1, uf_nx));
    // Exact subnormal results raise nothing; underflow to zero raises UF and NX.
    assert_eq!(
        mul_s(MIN_NORMAL_S, s(0.5), Rm::Rne),
        (MIN_NORMAL_S / 2, Flags::NONE)
    );
    assert_eq!(mul_d(d(1e-300), d(1e-300), Rm::Rne), (0, uf_nx));
}

#[test]
fn overflow_depends_on_rounding_direction() {
    let max = d(f64::MAX);
    assert_eq!(
        add_d(max, max, Rm::Rne),
        (d(f64::INFINITY), Flags::OF | Flags::NX)
    );
    assert_eq!(add_d(max, max, Rm::Rtz), (max, Flags::OF | Flags::NX));
    assert_eq!(add_d(max, max, Rm::Rdn), (max, Flags::OF | Flags::NX));
    assert_eq!(
        mul_s(s(-f32::MAX), s(2.0), Rm::Rup),
        (s(-f32::MAX), Flags::OF | Flags::NX)
    );
    assert_eq!(
        mul_s(s(-f32::MAX), s(2.0), Rm::Rdn),
        (s(f32::NEG_INFINITY), Flags::OF | Flags::NX)
    );
}

#[test]
fn divide_by_zero() {
    assert_eq!(
        div_d(d(-1.0), 0, Rm::Rne),
        (d(f64::NEG_INFINITY), Flags::DZ)
    );
    assert_eq!(
        div_s(s(1.0), 0x8000_0000, Rm::Rne),
        (s(f32::NEG_INFINITY), Flags::DZ)
    );
    assert_eq!(
        div_s(s(f32::INFINITY), 0, Rm::Rne),
        (s(f32::INFINITY), Flags::NONE)
    );
}

#[test]
fn zero_sums_take_the_sign_of_the_rounding_direction() {
    assert_eq!(sub_s(s(1.0), s(1.0), Rm::Rne), (0, Flags::NONE));
    assert_eq!(sub_s(s(1.0), s(1.0), Rm::Rdn), (0x8000_0000, Flags::NONE));
    assert_eq!(add_d(d(-0.0), d(-0.0), Rm::Rne), (d(-0.0), Flags::NONE));
    assert_eq!(
        fma_d(d(2.0), d(-3.0), d(6.0), Rm::Rdn),
        (d(-0.0), Flags::NONE)
    );
}

#[test]
fn float_to_int_saturates() {
    assert_eq!(to_i32_s(QNAN_S, Rm::Rne), (i32::MAX, Flags::NV));
    assert_eq!(to_i32_s(0xffc0_0000, Rm::Rne), (i32::MAX, Flags::NV));
    assert_eq!(to_u32_d(QNAN_D, Rm::Rne), (u32::MAX, Flags::NV));
    assert_eq!(
        to_i64_d(d(f64::NEG_INFINITY), Rm::Rne),
        (i64::MIN, Flags::NV)
    );
    assert_eq!(to_u64_s(s(f32::INFINITY), Rm::Rne), (u64::MAX, Flags::NV));
    assert_eq!(to_i32_d(d(3e9), Rm::Rtz), (i32::MAX, Flags::NV));
    assert_eq!(to_i32_d(d(-3e9), Rm::Rtz), (i32::MIN, Flags::NV));
    assert_eq!(to_i32_d(d(-2147483648.75), Rm::Rtz), (i32::MIN, Flags::NX));
    assert_eq!(to_i32_d(d(-2147483648.75), Rm::Rne), (i32::MIN, Flags::NV));
    assert_eq!(to_u64_d(d(1.9e19), Rm::Rtz), (u64::MAX, Flags::NV));
    assert_eq!(to_i64_s(s(9.223_372e18), Rm::Rtz), (i64::MAX, Flags::NV));
}

#[test]
fn unsigned_conversion_of_negative_values() {
    // Rounds to zero: in range, just inexact.
    assert_eq!(to_u32_s(s(-0.3), Rm::Rtz), (0, Flags::NX));
    assert_eq!(to_u64_d(d(-0.3), Rm::Rne), (0, Flags::NX));
    assert_eq!(to_u64_d(d(-0.5), Rm::Rne), (0, Flags::NX));
    assert_eq!(to_u32_d(d(-0.0), Rm::Rne), (0, Flags::NONE));
    // Rounds to −1 or below: invalid, 0.
    assert_eq!(to_u32_s(s(-0.3), Rm::Rdn), (0, Flags::NV));
    assert_eq!(to_u64_d(d(-0.5), Rm::Rmm), (0, Flags::NV));
    assert_eq!(to_u32_s(s(-1.0), Rm::Rtz), (0, Flags::NV));
}

#[test]
fn conversions_are_inexact_when_not_exact() {
    assert_eq!(to_i32_d(d(2.5), Rm::Rne), (2, Flags::NX));
    assert_eq!(to_i32_d(d(2.5), Rm::Rmm), (3, Flags::NX));
    assert_eq!(to_i64_s(s(-7.0), Rm::Rup), (-7, Flags::NONE));
    assert_eq!(
        from_i32_s(16_777_217, Rm::Rne),
        (s(16_777_216.0), Flags::NX)
    );
    assert_eq!(
        from_i32_s(16_777_217, Rm::Rup),
        (s(16_777_218.0), Flags::NX)
    );
    assert_eq!(
        from_u64_d(u64::MAX, Rm::Rtz),
        (d(18_446_744_073_709_549_568.0), Flags::NX)
    );
    assert_eq!(
        from_i64_d(i64::MIN, Rm::Rne),
        (d(-9_223_372_036_854_775_808.0), Flags::NONE)
    );
    assert_eq!(
        from_i32_d(i32::MIN, Rm::Rtz),
        (d(-2147483648.0), Flags::NONE)
    );
    assert_eq!(d_to_s(d(0.1), Rm::Rne), (s(0.1), Flags::NX));
    assert_eq!(d_to_s(d(1e-300), Rm::Rup), (1, Flags::NX | Flags::UF));
    assert_eq!(
        d_to_s(d(1e300), Rm::Rne),
        (s(f32::INFINITY), Flags::OF | Flags::NX)
    );
}

#[test]
fn min_max_are_minimum_number_and_maximum_number() {
    assert_eq!(min_s(0, 0x8000_0000), (0x8000_0000, Flags::NONE));
    assert_eq!(max_s(0x8000_0000, 0), (0, Flags::NONE));
    assert_eq!(min_d(QNAN_D, d(-5.0)), (d(-5.0), Flags::NONE));
    assert_eq!(max_d(d(-5.0), SNAN_D), (d(-5.0), Flags::NV));
    assert_eq!(max_s(SNAN_S, QNAN_S), (QNAN_S, Flags::NV));
    assert_eq!(min_s(0xffc0_1234, 0x7fc0_0001), (QNAN_S, Flags::NONE));
}

#[test]
fn comparisons_quiet_and_signaling() {
    assert_eq!(eq_s(QNAN_S, QNAN_S), (false, Flags::NONE));
    assert_eq!(eq_d(SNAN_D, d(1.0)), (false, Flags::NV));
    assert_eq!(lt_s(QNAN_S, s(1.0)), (false, Flags::NV));
    assert_eq!(le_d(d(1.0), QNAN_D), (false, Flags::NV));
    assert_eq!(eq_d(0, d(-0.0)), (true, Flags::NONE));
    assert_eq!(lt_d(d(-0.0), 0), (false, Flags::NONE));
    assert_eq!(le_s(0, 0x8000_0000), (true, Flags::NONE));
}

#[test]
fn fclass_bits() {
    assert_eq!(class_s(s(f32::NEG_INFINITY)), 1 << 0);
    assert_eq!(class_d(d(-1.0)), 1 << 1);
    assert_eq!(class_s(0x8000_0001), 1 << 2);
    assert_eq!(class_d(d(-0.0)), 1 << 3);
    assert_eq!(class_s(0), 1 << 4);
    assert_eq!(class_d(1), 1 << 5);
    assert_eq!(class_s(s(1.0)), 1 << 6);
    assert_eq!(class_d(d(f64::INFINITY)), 1 << 7);
    assert_eq!(class_s(SNAN_S), 1 << 8);
    assert_eq!(class_d(QNAN_D), 1 << 9);
}

#[test]
fn rounding_modes_decode() {
    assert_eq!(Rm::from_bits(4), Some(Rm::Rmm));
    assert_eq!(Rm::from_bits(7), None);
    assert_eq!(Flags::NV.bits() | Flags::NX.bits(), 0x11);
}
