//! The A extension: AMOs of both widths with every ordering suffix, and LR/SC pairs,
//! always on aligned addresses in the scratch buffer. The address is formed in a
//! non-base register by an `addi` from a base (AMOs take no offset).
//!
//! An LR/SC pair is one item (so no jump lands between them) with only ALU operations
//! in between that leave the address register alone; a lone SC (no reservation) must
//! fail on both emulators.

use rand::Rng;

use super::{int, x, Gen, Item};
use crate::values::pick;

const AMO: &[&str] = &[
    "amoswap", "amoadd", "amoxor", "amoand", "amoor", "amomin", "amomax", "amominu", "amomaxu",
];

const ORDER: &[&str] = &["", ".aq", ".rl", ".aqrl"];

/// A random atomic item.
pub(crate) fn item(g: &mut Gen) -> Option<Item> {
    let width = *pick(g.rng, &["w", "d"]);
    let bytes = if width == "w" { 4 } else { 8 };
    let (base, off) = g.mem_operand(bytes, false);
    let addr = g.rd_nonzero();
    let setup = format!("addi {}, {}, {off}", x(addr), x(base));
    let ord = *pick(g.rng, ORDER);
    Some(match g.rng.random_range(0..10) {
        0..=5 => {
            let op = *pick(g.rng, AMO);
            let src = g.rs();
            let line = format!("{op}.{width}{ord} {}, {}, ({})", x(g.rd()), x(src), x(addr));
            Item::Seq(vec![setup, line])
        }
        6..=8 => {
            let mut lines = vec![setup];
            let loaded = loop {
                let r = g.rd();
                if r != addr {
                    break r;
                }
            };
            lines.push(format!("lr.{width}{ord} {}, ({})", x(loaded), x(addr)));
            for _ in 0..g.rng.random_range(0..3) {
                lines.push(int::alu_rr(g, Some(addr)));
            }
            let ord = *pick(g.rng, ORDER);
            let src = g.rs();
            lines.push(format!(
                "sc.{width}{ord} {}, {}, ({})",
                x(g.rd()),
                x(src),
                x(addr)
            ));
            Item::Seq(lines)
        }
        _ => {
            let src = g.rs();
            let line = format!("sc.{width}{ord} {}, {}, ({})", x(g.rd()), x(src), x(addr));
            Item::Seq(vec![setup, line])
        }
    })
}
