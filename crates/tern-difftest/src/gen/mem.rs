//! Loads and stores of every width, integer and floating point, at random (often
//! misaligned) offsets inside the scratch buffer, through the reserved base registers.

use rand::Rng;

use super::{f, x, Gen, Item};
use crate::values::{pick, Prec};

/// A random load or store item.
pub(crate) fn item(g: &mut Gen) -> Option<Item> {
    let line = match g.rng.random_range(0..10) {
        0..=3 => {
            let (op, w) = *pick(
                g.rng,
                &[
                    ("lb", 1),
                    ("lh", 2),
                    ("lw", 4),
                    ("ld", 8),
                    ("lbu", 1),
                    ("lhu", 2),
                    ("lwu", 4),
                ],
            );
            let (base, off) = g.mem_operand(w, true);
            format!("{op} {}, {off}({})", x(g.rd()), x(base))
        }
        4..=6 => {
            let (op, w) = *pick(g.rng, &[("sb", 1), ("sh", 2), ("sw", 4), ("sd", 8)]);
            let (base, off) = g.mem_operand(w, true);
            format!("{op} {}, {off}({})", x(g.rs()), x(base))
        }
        7 | 8 => {
            let p = if g.rng.random() { Prec::S } else { Prec::D };
            let (op, w) = if p == Prec::S { ("flw", 4) } else { ("fld", 8) };
            let (base, off) = g.mem_operand(w, true);
            format!("{op} {}, {off}({})", f(g.frd(p)), x(base))
        }
        _ => {
            let p = if g.rng.random() { Prec::S } else { Prec::D };
            let (op, w) = if p == Prec::S { ("fsw", 4) } else { ("fsd", 8) };
            let (base, off) = g.mem_operand(w, true);
            format!("{op} {}, {off}({})", f(g.frs(p)), x(base))
        }
    };
    Some(Item::one(line))
}
