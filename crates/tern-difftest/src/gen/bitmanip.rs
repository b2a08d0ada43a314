//! Zba, Zbb and Zbs (enabled by default on QEMU 7.2's rv64 CPU).

use rand::Rng;

use super::{x, Gen, Item};
use crate::values::pick;

const RR: &[&str] = &[
    // Zba
    "add.uw",
    "sh1add",
    "sh2add",
    "sh3add",
    "sh1add.uw",
    "sh2add.uw",
    "sh3add.uw",
    // Zbb
    "andn",
    "orn",
    "xnor",
    "max",
    "maxu",
    "min",
    "minu",
    "rol",
    "rolw",
    "ror",
    "rorw",
    // Zbs
    "bclr",
    "bext",
    "binv",
    "bset",
];

const UNARY: &[&str] = &[
    "clz", "clzw", "ctz", "ctzw", "cpop", "cpopw", "sext.b", "sext.h", "zext.h", "orc.b", "rev8",
];

/// Immediate forms and their shift-amount range.
const RI: &[(&str, u32)] = &[
    ("slli.uw", 64),
    ("rori", 64),
    ("roriw", 32),
    ("bclri", 64),
    ("bexti", 64),
    ("binvi", 64),
    ("bseti", 64),
];

/// A random bit-manipulation item.
pub(crate) fn item(g: &mut Gen) -> Option<Item> {
    let line = match g.rng.random_range(0..3) {
        0 => {
            let op = *pick(g.rng, RR);
            let (a, b) = (g.rs(), g.rs());
            format!("{op} {}, {}, {}", x(g.rd()), x(a), x(b))
        }
        1 => {
            let op = *pick(g.rng, UNARY);
            let a = g.rs();
            format!("{op} {}, {}", x(g.rd()), x(a))
        }
        _ => {
            let (op, max) = *pick(g.rng, RI);
            let (a, sh) = (g.rs(), g.rng.random_range(0..max));
            format!("{op} {}, {}, {sh}", x(g.rd()), x(a))
        }
    };
    Some(Item::one(line))
}
