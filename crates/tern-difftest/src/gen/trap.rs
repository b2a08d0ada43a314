//! Instructions that trap synchronously. The runtime's handler prints mcause, mepc and
//! mtval and resumes after the instruction, so both emulators must agree on all three.
//!
//! Access faults use addresses in 0x4000_0000..0x7000_0000, where neither QEMU's nor
//! tern's spike board maps anything.
//!
//! Misaligned AMOs are left out: QEMU 7.2 reports them as load-address-misaligned
//! (cause 4) where the privileged spec says store/AMO-address-misaligned (cause 6).

use rand::Rng;

use super::branch::rvc;
use super::{x, Gen, Item};
use crate::values::pick;

/// A random trapping item.
pub(crate) fn item(g: &mut Gen) -> Option<Item> {
    Some(match g.rng.random_range(0..11) {
        0 => Item::one("ecall"),
        1 => Item::one("ebreak"),
        2 => Item::Seq(rvc(vec!["c.ebreak".to_string()])),
        3 => {
            let (bits, what) = *pick(g.rng, RESERVED_16);
            Item::one(format!(".half {bits:#06x} /* {what} */"))
        }
        4 => {
            let (bits, what) = *pick(g.rng, RESERVED_32);
            Item::one(format!(".word {bits:#010x} /* {what} */"))
        }
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
        8 | 9 => {
            // A load or store to unmapped physical memory: access fault, mtval = address.
            let addr = g.rd_nonzero();
            // Aligned: for a misaligned access QEMU 7.2 reports the aligned-down
            // address in mtval, not the address of the access.
            let target = g.rng.random_range(0x4000_0000u64..0x7000_0000) & !7;
            let (op, reg) = *pick(
                g.rng,
                &[
                    ("lb", 'x'),
                    ("lw", 'x'),
                    ("ld", 'x'),
                    ("sh", 'x'),
                    ("sd", 'x'),
                    ("flw", 'f'),
                    ("fsd", 'f'),
                ],
            );
            let data = if reg == 'x' {
                if op.starts_with('l') {
                    x(g.rd())
                } else {
                    x(g.rs())
                }
            } else {
                format!("f{}", g.rng.random_range(0..32))
            };
            Item::Seq(vec![
                format!("li {}, {target:#x}", x(addr)),
                format!("{op} {data}, 0({})", x(addr)),
            ])
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

/// Reserved 16-bit encodings (illegal instruction).
const RESERVED_16: &[(u16, &str)] = &[
    (0x0000, "c.unimp"),
    (0x0004, "c.addi4spn with nzuimm=0"),
    (0x6081, "c.lui x1 with imm=0"),
    (0x6101, "c.addi16sp with imm=0"),
    (0x8002, "c.jr x0"),
    (0x4002, "c.lwsp x0"),
    (0x6002, "c.ldsp x0"),
    (0x2001, "c.addiw x0"),
    (0x9c41, "reserved c.subw-group encoding"),
];

/// Illegal 32-bit encodings.
const RESERVED_32: &[(u32, &str)] = &[
    (0xc000_1073, "unimp: csrrw x0, cycle, x0"),
    (0x0000_000b, "custom-0"),
    (0x0202_929b, "slliw with shamt[5]=1"),
    (0x0620_8053, "fadd.q (no Q extension)"),
    (0x2862_a2af, "AMO with reserved funct5"),
    (0x0000_4073, "SYSTEM with reserved funct3=4"),
];
