//! Zba, Zbb and Zbs (enabled by default on QEMU 7.2's rv64 CPU).
//!
//! QEMU 7.2 bug worked around: `ctzw` of a value whose low 32 bits are zero returns
//! the trailing-zero count of the whole 64-bit value (60 for 0x1000_0000_0000_0000)
//! instead of 32 (fixed in later QEMU). `ctzw` is therefore always preceded by an
//! instruction that either sets a low bit or clears the upper half of its source.

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
            if op == "ctzw" {
                return Some(ctzw(g, a));
            }
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

/// `ctzw` on an operand QEMU 7.2 gets right (see the module comment).
fn ctzw(g: &mut Gen, a: u8) -> Item {
    let t = g.rd_nonzero();
    let fix = if g.rng.random() {
        format!("ori {}, {}, {}", x(t), x(a), 1 << g.rng.random_range(0..11))
    } else {
        format!("zext.w {}, {}", x(t), x(a))
    };
    let line = format!("ctzw {}, {}", x(g.rd()), x(t));
    Item::Seq(vec![fix, line])
}
