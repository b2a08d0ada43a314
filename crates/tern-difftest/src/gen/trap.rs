//! Instructions that trap synchronously. The runtime's handler prints mcause, mepc and
//! mtval and resumes after the instruction, so both emulators must agree on all three.
//!
//! Misaligned AMOs are left out: QEMU 7.2 reports them as load-address-misaligned
//! (cause 4) where the privileged spec says store/AMO-address-misaligned (cause 6).

use rand::Rng;

use super::branch::rvc;
use super::{x, Gen, Item};
use crate::values::pick;

/// A random trapping item.
pub(crate) fn item(g: &mut Gen) -> Option<Item> {
    Some(match g.rng.random_range(0..8) {
        0 => Item::one("ecall"),
        1 => Item::one("ebreak"),
        2 => Item::Seq(rvc(vec!["c.ebreak".to_string()])),
        3 => Item::one(".half 0x0000 /* c.unimp */"),
        4 => Item::one(".word 0xc0001073 /* unimp: csrrw x0, cycle, x0 */"),
        5 => {
            // An F/D operation with a reserved static rounding mode (5 or 6).
            let rm = g.rng.random_range(5..7);
            let (op, funct7) = *pick(g.rng, &[("fadd.s", 0), ("fmul.d", 9), ("fsqrt.d", 0x2d)]);
            let (d, a, b) = (
                g.rng.random_range(0..32),
                g.rng.random_range(0..32),
                if op.starts_with("fsqrt") {
                    0
                } else {
                    g.rng.random_range(0..32)
                },
            );
            Item::one(format!(
                ".insn r 0x53, {rm}, {funct7}, f{d}, f{a}, f{b} /* {op} rm={rm} */"
            ))
        }
        _ => {
            // A misaligned LR: load-address-misaligned.
            let width = *pick(g.rng, &["w", "d"]);
            let bytes = if width == "w" { 4 } else { 8 };
            let (base, mut off) = g.mem_operand(bytes, true);
            if off % bytes == 0 {
                off += 1;
            }
            let addr = g.rd_nonzero();
            Item::Seq(vec![
                format!("addi {}, {}, {off}", x(addr), x(base)),
                format!("lr.{width} {}, ({})", x(g.rd()), x(addr)),
            ])
        }
    })
}
