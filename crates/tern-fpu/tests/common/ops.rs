//! Every RISC-V F/D instruction by its assembler name, with operand generation and
//! evaluation through tern-fpu (the fast-path API or the exact path).

use super::gen::{self, nudge, Fmt, Rng, DOUBLE, SINGLE};
use tern_fpu::{exact, Flags, Rm};

/// What an instruction's operands and result are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// Two float operands, rounded float result (fadd, fsub, fmul, fdiv).
    Binary,
    /// One float operand (fsqrt).
    Sqrt,
    /// Three float operands (the four fused multiply-adds).
    Fused,
    /// Two float operands, no rounding (fmin, fmax).
    MinMax,
    /// Two float operands, boolean result (feq, flt, fle).
    Compare,
    /// fclass.
    Class,
    /// Float to integer.
    ToInt,
    /// Integer to float.
    FromInt,
    /// fcvt.d.s / fcvt.s.d.
    Convert,
}

/// One instruction: name, operand format (the source format for conversions) and shape.
#[derive(Clone, Copy, Debug)]
pub struct Op {
    pub name: &'static str,
    pub fmt: Fmt,
    pub shape: Shape,
}

const fn op(name: &'static str, fmt: Fmt, shape: Shape) -> Op {
    Op { name, fmt, shape }
}

/// All instructions the oracle program knows.
pub const OPS: &[Op] = &[
    op("fadd.s", SINGLE, Shape::Binary),
    op("fsub.s", SINGLE, Shape::Binary),
    op("fmul.s", SINGLE, Shape::Binary),
    op("fdiv.s", SINGLE, Shape::Binary),
    op("fsqrt.s", SINGLE, Shape::Sqrt),
    op("fmadd.s", SINGLE, Shape::Fused),
    op("fmsub.s", SINGLE, Shape::Fused),
    op("fnmsub.s", SINGLE, Shape::Fused),
    op("fnmadd.s", SINGLE, Shape::Fused),
    op("fmin.s", SINGLE, Shape::MinMax),
    op("fmax.s", SINGLE, Shape::MinMax),
    op("feq.s", SINGLE, Shape::Compare),
    op("flt.s", SINGLE, Shape::Compare),
    op("fle.s", SINGLE, Shape::Compare),
    op("fclass.s", SINGLE, Shape::Class),
    op("fcvt.w.s", SINGLE, Shape::ToInt),
    op("fcvt.wu.s", SINGLE, Shape::ToInt),
    op("fcvt.l.s", SINGLE, Shape::ToInt),
    op("fcvt.lu.s", SINGLE, Shape::ToInt),
    op("fcvt.s.w", SINGLE, Shape::FromInt),
    op("fcvt.s.wu", SINGLE, Shape::FromInt),
    op("fcvt.s.l", SINGLE, Shape::FromInt),
    op("fcvt.s.lu", SINGLE, Shape::FromInt),
    op("fadd.d", DOUBLE, Shape::Binary),
    op("fsub.d", DOUBLE, Shape::Binary),
    op("fmul.d", DOUBLE, Shape::Binary),
    op("fdiv.d", DOUBLE, Shape::Binary),
    op("fsqrt.d", DOUBLE, Shape::Sqrt),
    op("fmadd.d", DOUBLE, Shape::Fused),
    op("fmsub.d", DOUBLE, Shape::Fused),
    op("fnmsub.d", DOUBLE, Shape::Fused),
    op("fnmadd.d", DOUBLE, Shape::Fused),
    op("fmin.d", DOUBLE, Shape::MinMax),
    op("fmax.d", DOUBLE, Shape::MinMax),
    op("feq.d", DOUBLE, Shape::Compare),
    op("flt.d", DOUBLE, Shape::Compare),
    op("fle.d", DOUBLE, Shape::Compare),
    op("fclass.d", DOUBLE, Shape::Class),
    op("fcvt.w.d", DOUBLE, Shape::ToInt),
    op("fcvt.wu.d", DOUBLE, Shape::ToInt),
    op("fcvt.l.d", DOUBLE, Shape::ToInt),
    op("fcvt.lu.d", DOUBLE, Shape::ToInt),
    op("fcvt.d.w", DOUBLE, Shape::FromInt),
    op("fcvt.d.wu", DOUBLE, Shape::FromInt),
    op("fcvt.d.l", DOUBLE, Shape::FromInt),
    op("fcvt.d.lu", DOUBLE, Shape::FromInt),
    op("fcvt.d.s", SINGLE, Shape::Convert),
    op("fcvt.s.d", DOUBLE, Shape::Convert),
];

/// Whether the instruction has a rounding-mode field that matters.
pub fn has_rm(op: &Op) -> bool {
    !matches!(op.shape, Shape::MinMax | Shape::Compare | Shape::Class)
        && !matches!(op.name, "fcvt.d.s" | "fcvt.d.w" | "fcvt.d.wu")
}

/// Host-computed `x` in format `f`, nudged by a few ulps half the time.
fn near(f: Fmt, x: f64, rng: &mut Rng) -> u64 {
    let bits = f.bits_of(x);
    if rng.sign() {
        nudge(f, bits, rng)
    } else {
        bits
    }
}

/// A target magnitude for a result: the underflow and overflow thresholds, 1, or any.
fn target(f: Fmt, rng: &mut Rng) -> f64 {
    let min_normal = f.to_f64(f.hidden());
    let max = f.to_f64(f.inf() - 1);
    let t = rng.pick(&[
        min_normal,
        min_normal,
        min_normal * 2.0,
        f.to_f64(1),
        max,
        1.0,
        3.0,
    ]);
    if rng.sign() {
        -t
    } else {
        t
    }
}

/// Operands `(a, b, c)` for one execution of `op` (unused ones are 0).
pub fn operands(op: &Op, rng: &mut Rng) -> (u64, u64, u64) {
    let f = op.fmt;
    let a = gen::float(f, rng);
    let related = rng.chance(2, 5);
    match op.shape {
        Shape::Binary if related => {
            let x = f.to_f64(a);
            let b = match (op.name.as_bytes()[1], rng.below(2)) {
                // Cancellation or near-equal magnitudes.
                (b'a' | b's', 0) => near(f, if rng.sign() { x } else { -x }, rng),
                (b'a' | b's', _) => near(f, x * 2f64.powi(rng.below(60) as i32 - 30), rng),
                // Products and quotients that land on a threshold.
                (b'm', _) => near(f, target(f, rng) / x, rng),
                _ => near(f, x / target(f, rng), rng),
            };
            (a, b, 0)
        }
        Shape::Binary | Shape::MinMax | Shape::Compare => {
            let b = if rng.chance(1, 5) {
                nudge(f, a, rng) ^ (rng.below(2) << (f.width() - 1))
            } else {
                gen::float(f, rng)
            };
            (a, b, 0)
        }
        Shape::Sqrt if related => {
            let x = f.to_f64(a);
            (near(f, x * x, rng) & !f.sign(), 0, 0)
        }
        Shape::Sqrt | Shape::Class => (a, 0, 0),
        Shape::Fused => {
            let b = gen::float(f, rng);
            let c = if related {
                let p = f.to_f64(a) * f.to_f64(b);
                match rng.below(3) {
                    0 => near(f, -p, rng),
                    1 => near(f, -p * 2f64.powi(rng.below(60) as i32 - 30), rng),
                    _ => near(f, target(f, rng), rng),
                }
            } else {
                gen::float(f, rng)
            };
            (a, b, c)
        }
        Shape::ToInt => {
            let a = if related {
                gen::near_integer(f, rng) ^ (rng.below(2) << (f.width() - 1))
            } else {
                a
            };
            (a, 0, 0)
        }
        Shape::FromInt => {
            let v = gen::int(rng);
            // The .w/.wu forms read the low 32 bits; usually pass a sign-extended value.
            let v = if op.name.ends_with('w') || op.name.ends_with("wu") {
                if rng.chance(1, 8) {
                    v
                } else {
                    v as i32 as i64 as u64
                }
            } else {
                v
            };
            (v, 0, 0)
        }
        Shape::Convert => {
            if op.name == "fcvt.s.d" && related {
                // Doubles near singles' thresholds and rounding boundaries.
                let t = target(SINGLE, rng)
                    * if rng.sign() {
                        1.0
                    } else {
                        1.0 + 2f64.powi(-24)
                    };
                (near(DOUBLE, t, rng), 0, 0)
            } else {
                (a, 0, 0)
            }
        }
    }
}

/// Which implementation to evaluate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Path {
    /// The crate-root API (host fast paths for RNE where they apply).
    Main,
    /// `tern_fpu::exact` (integer arithmetic only).
    Exact,
}

fn s(r: (u32, Flags)) -> (u64, u8) {
    (r.0 as u64, r.1.bits())
}

fn d(r: (u64, Flags)) -> (u64, u8) {
    (r.0, r.1.bits())
}

fn b(r: (bool, Flags)) -> (u64, u8) {
    (r.0 as u64, r.1.bits())
}

/// Sign-extends a 32-bit result as RV64 writes it into an integer register.
fn w(v: u32, f: Flags) -> (u64, u8) {
    (v as i32 as i64 as u64, f.bits())
}

/// Evaluates `name` on `(a, b, c)` with rounding mode `rm` the way the instruction
/// writes its destination register; `None` for an unknown name.
pub fn eval(name: &str, rm: Rm, a: u64, b_: u64, c: u64, path: Path) -> Option<(u64, u8)> {
    const SS: u32 = 0x8000_0000;
    const SD: u64 = 1 << 63;
    let (a32, b32, c32) = (a as u32, b_ as u32, c as u32);
    let ex = path == Path::Exact;
    macro_rules! pick {
        ($main:path, $exact:path, $($arg:expr),*) => {
            if ex { $exact($($arg),*) } else { $main($($arg),*) }
        };
    }
    Some(match name {
        "fadd.s" => s(pick!(tern_fpu::add_s, exact::add_s, a32, b32, rm)),
        "fsub.s" => s(pick!(tern_fpu::sub_s, exact::sub_s, a32, b32, rm)),
        "fmul.s" => s(pick!(tern_fpu::mul_s, exact::mul_s, a32, b32, rm)),
        "fdiv.s" => s(pick!(tern_fpu::div_s, exact::div_s, a32, b32, rm)),
        "fsqrt.s" => s(pick!(tern_fpu::sqrt_s, exact::sqrt_s, a32, rm)),
        "fmadd.s" => s(pick!(tern_fpu::fma_s, exact::fma_s, a32, b32, c32, rm)),
        "fmsub.s" => s(pick!(tern_fpu::fma_s, exact::fma_s, a32, b32, c32 ^ SS, rm)),
        "fnmsub.s" => s(pick!(tern_fpu::fma_s, exact::fma_s, a32 ^ SS, b32, c32, rm)),
        "fnmadd.s" => s(pick!(
            tern_fpu::fma_s,
            exact::fma_s,
            a32 ^ SS,
            b32,
            c32 ^ SS,
            rm
        )),
        "fmin.s" => s(tern_fpu::min_s(a32, b32)),
        "fmax.s" => s(tern_fpu::max_s(a32, b32)),
        "feq.s" => b(tern_fpu::eq_s(a32, b32)),
        "flt.s" => b(tern_fpu::lt_s(a32, b32)),
        "fle.s" => b(tern_fpu::le_s(a32, b32)),
        "fclass.s" => (tern_fpu::class_s(a32), 0),
        "fcvt.w.s" => {
            let (v, f) = pick!(tern_fpu::to_i32_s, exact::to_i32_s, a32, rm);
            w(v as u32, f)
        }
        "fcvt.wu.s" => {
            let (v, f) = pick!(tern_fpu::to_u32_s, exact::to_u32_s, a32, rm);
            w(v, f)
        }
        "fcvt.l.s" => {
            let (v, f) = pick!(tern_fpu::to_i64_s, exact::to_i64_s, a32, rm);
            (v as u64, f.bits())
        }
        "fcvt.lu.s" => d(pick!(tern_fpu::to_u64_s, exact::to_u64_s, a32, rm)),
        "fcvt.s.w" => s(pick!(tern_fpu::from_i32_s, exact::from_i32_s, a as i32, rm)),
        "fcvt.s.wu" => s(pick!(tern_fpu::from_u32_s, exact::from_u32_s, a as u32, rm)),
        "fcvt.s.l" => s(pick!(tern_fpu::from_i64_s, exact::from_i64_s, a as i64, rm)),
        "fcvt.s.lu" => s(pick!(tern_fpu::from_u64_s, exact::from_u64_s, a, rm)),
        "fadd.d" => d(pick!(tern_fpu::add_d, exact::add_d, a, b_, rm)),
        "fsub.d" => d(pick!(tern_fpu::sub_d, exact::sub_d, a, b_, rm)),
        "fmul.d" => d(pick!(tern_fpu::mul_d, exact::mul_d, a, b_, rm)),
        "fdiv.d" => d(pick!(tern_fpu::div_d, exact::div_d, a, b_, rm)),
        "fsqrt.d" => d(pick!(tern_fpu::sqrt_d, exact::sqrt_d, a, rm)),
        "fmadd.d" => d(pick!(tern_fpu::fma_d, exact::fma_d, a, b_, c, rm)),
        "fmsub.d" => d(pick!(tern_fpu::fma_d, exact::fma_d, a, b_, c ^ SD, rm)),
        "fnmsub.d" => d(pick!(tern_fpu::fma_d, exact::fma_d, a ^ SD, b_, c, rm)),
        "fnmadd.d" => d(pick!(tern_fpu::fma_d, exact::fma_d, a ^ SD, b_, c ^ SD, rm)),
        "fmin.d" => d(tern_fpu::min_d(a, b_)),
        "fmax.d" => d(tern_fpu::max_d(a, b_)),
        "feq.d" => b(tern_fpu::eq_d(a, b_)),
        "flt.d" => b(tern_fpu::lt_d(a, b_)),
        "fle.d" => b(tern_fpu::le_d(a, b_)),
        "fclass.d" => (tern_fpu::class_d(a), 0),
        "fcvt.w.d" => {
            let (v, f) = pick!(tern_fpu::to_i32_d, exact::to_i32_d, a, rm);
            w(v as u32, f)
        }
        "fcvt.wu.d" => {
            let (v, f) = pick!(tern_fpu::to_u32_d, exact::to_u32_d, a, rm);
            w(v, f)
        }
        "fcvt.l.d" => {
            let (v, f) = pick!(tern_fpu::to_i64_d, exact::to_i64_d, a, rm);
            (v as u64, f.bits())
        }
        "fcvt.lu.d" => d(pick!(tern_fpu::to_u64_d, exact::to_u64_d, a, rm)),
        "fcvt.d.w" => d(pick!(tern_fpu::from_i32_d, exact::from_i32_d, a as i32, rm)),
        "fcvt.d.wu" => d(pick!(tern_fpu::from_u32_d, exact::from_u32_d, a as u32, rm)),
        "fcvt.d.l" => d(pick!(tern_fpu::from_i64_d, exact::from_i64_d, a as i64, rm)),
        "fcvt.d.lu" => d(pick!(tern_fpu::from_u64_d, exact::from_u64_d, a, rm)),
        "fcvt.d.s" => d(pick!(tern_fpu::s_to_d, exact::s_to_d, a32)),
        "fcvt.s.d" => s(pick!(tern_fpu::d_to_s, exact::d_to_s, a, rm)),
        _ => return None,
    })
}

/// Renders an operand or result for a failure message: hex and, for floats, value.
pub fn show(fmt: Fmt, bits: u64) -> String {
    format!("{bits:#x} ({:e})", fmt.to_f64(bits))
}

/// Names the flags in a failure message.
pub fn show_flags(bits: u8) -> String {
    let names = ["NX", "UF", "OF", "DZ", "NV"];
    let set: Vec<&str> = (0..5)
        .filter(|i| bits >> i & 1 != 0)
        .map(|i| names[i])
        .collect();
    if set.is_empty() {
        "-".to_string()
    } else {
        set.join("|")
    }
}

/// All rounding modes with their encodings.
pub fn rm_of(bits: u8) -> Rm {
    Rm::from_bits(bits).expect("rounding mode 0..=4")
}

/// Whether the op's first operand is an integer (for messages).
pub fn int_operand(op: &Op) -> bool {
    op.shape == Shape::FromInt
}

/// Looks an op up by name.
pub fn find(name: &str) -> Option<&'static Op> {
    OPS.iter().find(|o| o.name == name)
}

/// All-format helper: the format of an op's result.
pub fn result_fmt(op: &Op) -> Fmt {
    match op.name {
        "fcvt.d.s" => DOUBLE,
        "fcvt.s.d" => SINGLE,
        _ => op.fmt,
    }
}
