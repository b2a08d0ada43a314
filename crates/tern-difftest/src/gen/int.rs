//! RV64I and M: register-register and register-immediate ALU operations (including
//! the W forms), shifts, LUI/AUIPC, `li` expansions, multiply/divide, and fences.

use rand::Rng;

use super::{x, Gen, Item};
use crate::values::{self, pick};

/// Register-register operations of RV64I and M.
pub(crate) const ALU_RR: &[&str] = &[
    "add", "sub", "sll", "slt", "sltu", "xor", "srl", "sra", "or", "and", "addw", "subw", "sllw",
    "srlw", "sraw", "mul", "mulh", "mulhsu", "mulhu", "div", "divu", "rem", "remu", "mulw", "divw",
    "divuw", "remw", "remuw",
];

/// Register-immediate operations taking a 12-bit signed immediate.
const ALU_RI: &[&str] = &["addi", "slti", "sltiu", "xori", "ori", "andi", "addiw"];

/// A random integer item.
pub(crate) fn item(g: &mut Gen) -> Option<Item> {
    Some(match g.rng.random_range(0..20) {
        0..=8 => Item::one(alu_rr(g, None)),
        9..=13 => {
            let op = *pick(g.rng, ALU_RI);
            let (rs, imm) = (g.rs(), g.imm12());
            Item::one(format!("{op} {}, {}, {imm}", x(g.rd()), x(rs)))
        }
        14 | 15 => {
            let (op, max) = *pick(
                g.rng,
                &[
                    ("slli", 64),
                    ("srli", 64),
                    ("srai", 64),
                    ("slliw", 32),
                    ("srliw", 32),
                    ("sraiw", 32),
                ],
            );
            let (rs, sh) = (g.rs(), g.rng.random_range(0..max));
            Item::one(format!("{op} {}, {}, {sh}", x(g.rd()), x(rs)))
        }
        16 => {
            let op = *pick(g.rng, &["lui", "auipc"]);
            let imm = match g.rng.random_range(0..3) {
                0 => *pick(g.rng, &[0u32, 1, 0x7ffff, 0x80000, 0xfffff]),
                _ => g.rng.random_range(0..0x10_0000u32),
            };
            Item::one(format!("{op} {}, {imm:#x}", x(g.rd())))
        }
        17 => {
            let v = values::int_value(g.rng) as i64;
            Item::one(format!("li {}, {v}", x(g.rd())))
        }
        18 => Item::one(*pick(
            g.rng,
            &[
                "nop",
                "fence",
                "fence rw, rw",
                "fence r, w",
                "fence.tso",
                "fence.i",
                "fence iorw, iorw",
            ],
        )),
        _ => {
            // A chain: the result of one op feeds the next.
            let a = g.rd_nonzero();
            let rs = g.rs();
            let l1 = format!("{} {}, {}, {}", pick(g.rng, ALU_RR), x(a), x(rs), x(g.rs()));
            let rs2 = g.rs();
            let l2 = format!(
                "{} {}, {}, {}",
                pick(g.rng, ALU_RR),
                x(g.rd()),
                x(a),
                x(rs2)
            );
            Item::Seq(vec![l1, l2])
        }
    })
}

/// One register-register ALU line; `avoid` is an x register the result must not go to.
pub(crate) fn alu_rr(g: &mut Gen, avoid: Option<u8>) -> String {
    let op = *pick(g.rng, ALU_RR);
    let (a, b) = (g.rs(), g.rs());
    let rd = loop {
        let r = g.rd();
        if Some(r) != avoid {
            break r;
        }
    };
    format!("{op} {}, {}, {}", x(rd), x(a), x(b))
}
