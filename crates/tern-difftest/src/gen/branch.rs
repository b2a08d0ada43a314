//! Forward control flow: conditional branches, `jal`, `jalr` (through an address
//! formed with `la`, sometimes with an odd offset that the jump must clear) and the
//! compressed jumps, each over a random block.

use rand::Rng;

use super::{x, Gen, Item};
use crate::values::pick;

const BRANCH: &[&str] = &["beq", "bne", "blt", "bge", "bltu", "bgeu"];

/// Largest body (bytes) under a `c.beqz`/`c.bnez` (range ±256 bytes).
const CB_RANGE: usize = 200;

/// A random jump over a random block; `room` bounds the block's size.
pub(crate) fn item(g: &mut Gen, room: usize) -> Option<Item> {
    let kind = g.rng.random_range(0..12);
    let head = match kind {
        0..=5 => {
            let op = *pick(g.rng, BRANCH);
            let (a, b) = (g.rs(), g.rs());
            vec![format!("{op} {}, {}, {{L}}", x(a), x(b))]
        }
        6 => vec![format!("jal {}, {{L}}", x(g.rd()))],
        7 | 8 => {
            let t = g.rd_nonzero();
            let off = *pick(g.rng, &[0, 1]);
            let link = g.rd();
            vec![
                format!("la {}, {{L}}", x(t)),
                format!("jalr {}, {off}({})", x(link), x(t)),
            ]
        }
        9 => rvc(vec!["c.j {L}".to_string()]),
        10 => {
            let op = *pick(g.rng, &["c.beqz", "c.bnez"]);
            rvc(vec![format!("{op} {}, {{L}}", x(g.rs_c()))])
        }
        _ => {
            let t = g.rd_nonzero();
            // c.jalr writes x1.
            let op = if g.writable(1) && g.rng.random() {
                "c.jalr"
            } else {
                "c.jr"
            };
            let mut head = vec![format!("la {}, {{L}}", x(t))];
            head.extend(rvc(vec![format!("{op} {}", x(t))]));
            head
        }
    };
    let n = g.rng.random_range(0..=room.min(8));
    g.depth += 1;
    let mut body = g.items(n);
    g.depth -= 1;
    if kind == 10 {
        while body.iter().map(Item::max_bytes).sum::<usize>() > CB_RANGE {
            body.pop();
        }
    }
    Some(Item::Skip { head, body })
}

/// Lines wrapped so the assembler accepts explicit compressed instructions.
pub(crate) fn rvc(lines: Vec<String>) -> Vec<String> {
    let mut out = vec![".option push".to_string(), ".option rvc".to_string()];
    out.extend(lines);
    out.push(".option pop".to_string());
    out
}
