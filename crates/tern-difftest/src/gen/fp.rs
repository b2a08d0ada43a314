//! F and D: arithmetic, fused multiply-add, square root, min/max, sign injection,
//! comparisons, classification, conversions in every direction and raw moves, with
//! random static rounding modes or the dynamic one.

use rand::Rng;

use super::{f, x, Gen, Item};
use crate::values::{pick, Prec};

const RM: &[&str] = &["rne", "rtz", "rdn", "rup", "rmm", "dyn"];

/// A rounding-mode operand suffix (`, rtz`), or nothing (the assembler's default, dyn).
fn rm(g: &mut Gen) -> String {
    if g.rng.random_range(0..5) < 2 {
        String::new()
    } else {
        format!(", {}", pick(g.rng, RM))
    }
}

fn prec(g: &mut Gen) -> Prec {
    if g.rng.random() {
        Prec::S
    } else {
        Prec::D
    }
}

/// A random floating-point item.
pub(crate) fn item(g: &mut Gen) -> Option<Item> {
    let p = prec(g);
    let s = p.suffix();
    let line = match g.rng.random_range(0..16) {
        0..=2 => {
            let op = *pick(g.rng, &["fadd", "fsub", "fmul", "fdiv"]);
            let (a, b, r) = (g.frs(p), g.frs(p), rm(g));
            format!("{op}.{s} {}, {}, {}{r}", f(g.frd(p)), f(a), f(b))
        }
        3 | 4 => {
            let op = *pick(g.rng, &["fmadd", "fmsub", "fnmsub", "fnmadd"]);
            let (a, b, c, r) = (g.frs(p), g.frs(p), g.frs(p), rm(g));
            format!("{op}.{s} {}, {}, {}, {}{r}", f(g.frd(p)), f(a), f(b), f(c))
        }
        5 => {
            let (a, r) = (g.frs(p), rm(g));
            format!("fsqrt.{s} {}, {}{r}", f(g.frd(p)), f(a))
        }
        6 | 7 => {
            let op = *pick(g.rng, &["fsgnj", "fsgnjn", "fsgnjx", "fmin", "fmax"]);
            let (a, b) = (g.frs(p), g.frs(p));
            format!("{op}.{s} {}, {}, {}", f(g.frd(p)), f(a), f(b))
        }
        8 => {
            let op = *pick(g.rng, &["feq", "flt", "fle"]);
            let (a, b) = (g.frs(p), g.frs(p));
            format!("{op}.{s} {}, {}, {}", x(g.rd()), f(a), f(b))
        }
        9 => {
            let a = g.frs(p);
            format!("fclass.{s} {}, {}", x(g.rd()), f(a))
        }
        10 | 11 => {
            // Float to integer.
            let int = *pick(g.rng, &["w", "wu", "l", "lu"]);
            let (a, r) = (g.frs(p), rm(g));
            format!("fcvt.{int}.{s} {}, {}{r}", x(g.rd()), f(a))
        }
        12 | 13 => {
            // Integer to float; conversions from 32-bit integers to double are exact
            // and the assembler takes no rounding mode for them.
            let int = *pick(g.rng, &["w", "wu", "l", "lu"]);
            let exact = p == Prec::D && int.starts_with('w');
            let r = if exact { String::new() } else { rm(g) };
            let a = g.rs();
            format!("fcvt.{s}.{int} {}, {}{r}", f(g.frd(p)), x(a))
        }
        14 => {
            if p == Prec::S {
                let (a, r) = (g.frs(Prec::D), rm(g));
                format!("fcvt.s.d {}, {}{r}", f(g.frd(Prec::S)), f(a))
            } else {
                let a = g.frs(Prec::S);
                format!("fcvt.d.s {}, {}", f(g.frd(Prec::D)), f(a))
            }
        }
        _ => {
            let w = if p == Prec::S { "w" } else { "d" };
            if g.rng.random() {
                let a = g.frs(p);
                format!("fmv.x.{w} {}, {}", x(g.rd()), f(a))
            } else {
                let a = g.rs();
                format!("fmv.{w}.x {}, {}", f(g.frd(p)), x(a))
            }
        }
    };
    Some(Item::one(line))
}
