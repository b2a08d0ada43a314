//! Reads and writes of the floating-point CSRs fflags, frm and fcsr, in register and
//! immediate forms. Writes keep frm valid (0..=4) unless traps are enabled: an invalid
//! frm makes every later dynamic-rounding instruction illegal.

use rand::Rng;

use super::{x, Gen, Item};
use crate::values::pick;

/// A random FP CSR item.
pub(crate) fn item(g: &mut Gen) -> Option<Item> {
    Some(match g.rng.random_range(0..12) {
        0 => Item::one(format!("frflags {}", x(g.rd()))),
        1 => Item::one(format!("frrm {}", x(g.rd()))),
        2 => Item::one(format!("frcsr {}", x(g.rd()))),
        3 => {
            let a = g.rs();
            Item::one(format!("fsflags {}, {}", x(g.rd()), x(a)))
        }
        4 => {
            let imm = g.rng.random_range(0..32);
            Item::one(format!("fsflagsi {}, {imm}", x(g.rd())))
        }
        5 => {
            let imm = g.rng.random_range(0..5);
            Item::one(format!("fsrmi {}, {imm}", x(g.rd())))
        }
        6 => {
            // frm from a register, masked to 0..=3 first.
            let (a, t) = (g.rs(), g.rd_nonzero());
            Item::Seq(vec![
                format!("andi {}, {}, 3", x(t), x(a)),
                format!("fsrm {}, {}", x(g.rd()), x(t)),
            ])
        }
        7 => {
            // Whole fcsr from a register: flags random, frm 0..=3.
            let (a, t) = (g.rs(), g.rd_nonzero());
            Item::Seq(vec![
                format!("andi {}, {}, 0x7f", x(t), x(a)),
                format!("fscsr {}, {}", x(g.rd()), x(t)),
            ])
        }
        8 => {
            // Clearing bits of a valid frm leaves it valid.
            let csr = *pick(g.rng, &["fflags", "frm", "fcsr"]);
            let a = g.rs();
            Item::one(format!("csrrc {}, {csr}, {}", x(g.rd()), x(a)))
        }
        9 => {
            let csr = *pick(g.rng, &["fflags", "fcsr"]);
            let imm = g.rng.random_range(0..32);
            let op = *pick(g.rng, &["csrrsi", "csrrci", "csrrwi"]);
            Item::one(format!("{op} {}, {csr}, {imm}", x(g.rd())))
        }
        10 => {
            let a = g.rs();
            Item::one(format!("csrrs {}, fflags, {}", x(g.rd()), x(a)))
        }
        _ => {
            if !g.cfg.traps {
                return None;
            }
            // Unrestricted: may leave frm at 5..=7 (later dyn ops trap).
            let csr = *pick(g.rng, &["frm", "fcsr"]);
            let a = g.rs();
            Item::one(format!("csrrw {}, {csr}, {}", x(g.rd()), x(a)))
        }
    })
}
