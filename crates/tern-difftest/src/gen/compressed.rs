//! Explicit RVC instructions (`c.*`), so the compressed decoder is exercised even in
//! programs assembled with `.option norvc`. Loads and stores go through the base
//! registers: `c.lw`-style through `base_mid` (one of x8..x15, pointing at the middle
//! of the buffer, so every unsigned offset stays inside), the `*sp` forms only when
//! `base_low` is x2 (pointing at the buffer's start).

use rand::Rng;

use super::branch::rvc;
use super::{f, x, Gen, Item};
use crate::values::{pick, Prec};

/// A nonzero value in `lo..=hi`.
fn nonzero(g: &mut Gen, lo: i32, hi: i32) -> i32 {
    loop {
        let v = g.rng.random_range(lo..=hi);
        if v != 0 {
            return v;
        }
    }
}

/// A random compressed item.
pub(crate) fn item(g: &mut Gen) -> Option<Item> {
    let sp_base = g.base_low == 2;
    let line = match g.rng.random_range(0..23) {
        22 => {
            let (bits, what) = *pick(g.rng, HINTS);
            format!(".half {bits:#06x} /* {what} (HINT: no effect) */")
        }
        0 => format!(
            "c.li {}, {}",
            x(g.rd_nonzero()),
            g.rng.random_range(-32..32)
        ),
        1 => {
            let rd = loop {
                let r = g.rd_nonzero();
                if r != 2 {
                    break r;
                }
            };
            let imm = if g.rng.random() {
                g.rng.random_range(1..32)
            } else {
                g.rng.random_range(0xfffe0..0x100000)
            };
            format!("c.lui {}, {imm:#x}", x(rd))
        }
        2 => format!("c.addi {}, {}", x(g.rd_nonzero()), nonzero(g, -32, 31)),
        3 => format!(
            "c.addiw {}, {}",
            x(g.rd_nonzero()),
            g.rng.random_range(-32..32)
        ),
        4 => {
            if !g.writable(2) {
                return None;
            }
            format!("c.addi16sp sp, {}", nonzero(g, -32, 31) * 16)
        }
        5 => {
            let rd = g.rd_c()?;
            format!(
                "c.addi4spn {}, sp, {}",
                x(rd),
                g.rng.random_range(1..256) * 4
            )
        }
        6 => format!(
            "c.slli {}, {}",
            x(g.rd_nonzero()),
            g.rng.random_range(1..64)
        ),
        7 => {
            let op = *pick(g.rng, &["c.srli", "c.srai"]);
            let rd = g.rd_c()?;
            format!("{op} {}, {}", x(rd), g.rng.random_range(1..64))
        }
        8 => {
            let rd = g.rd_c()?;
            format!("c.andi {}, {}", x(rd), g.rng.random_range(-32..32))
        }
        9 | 10 => {
            let op = *pick(g.rng, &["c.mv", "c.add"]);
            let rs = loop {
                let r = g.rs();
                if r != 0 {
                    break r;
                }
            };
            format!("{op} {}, {}", x(g.rd_nonzero()), x(rs))
        }
        11 | 12 => {
            let op = *pick(
                g.rng,
                &["c.and", "c.or", "c.xor", "c.sub", "c.addw", "c.subw"],
            );
            let rs = g.rs_c();
            let rd = g.rd_c()?;
            format!("{op} {}, {}", x(rd), x(rs))
        }
        13 => "c.nop".to_string(),
        14 | 15 => {
            // c.lw/c.ld/c.fld through base_mid (unsigned scaled offsets).
            let (op, scale, max) =
                *pick(g.rng, &[("c.lw", 4, 31), ("c.ld", 8, 31), ("c.fld", 8, 31)]);
            let off = g.rng.random_range(0..=max) * scale;
            let base = x(g.base_mid);
            if op == "c.fld" {
                let fd = 8 + g.rng.random_range(0..8u8);
                g.ftype[fd as usize] = Prec::D;
                format!("{op} {}, {off}({base})", f(fd))
            } else {
                let rd = g.rd_c()?;
                format!("{op} {}, {off}({base})", x(rd))
            }
        }
        16 | 17 => {
            let (op, scale) = *pick(g.rng, &[("c.sw", 4), ("c.sd", 8), ("c.fsd", 8)]);
            let off = g.rng.random_range(0..32) * scale;
            let base = x(g.base_mid);
            if op == "c.fsd" {
                format!("{op} {}, {off}({base})", f(8 + g.rng.random_range(0..8u8)))
            } else {
                format!("{op} {}, {off}({base})", x(g.rs_c()))
            }
        }
        18 | 19 => {
            if !sp_base {
                return None;
            }
            let (op, scale) = *pick(g.rng, &[("c.lwsp", 4), ("c.ldsp", 8), ("c.fldsp", 8)]);
            let off = g.rng.random_range(0..64) * scale;
            if op == "c.fldsp" {
                format!("{op} {}, {off}(sp)", f(g.frd(Prec::D)))
            } else {
                format!("{op} {}, {off}(sp)", x(g.rd_nonzero()))
            }
        }
        _ => {
            if !sp_base {
                return None;
            }
            let (op, scale) = *pick(g.rng, &[("c.swsp", 4), ("c.sdsp", 8), ("c.fsdsp", 8)]);
            let off = g.rng.random_range(0..64) * scale;
            if op == "c.fsdsp" {
                format!("{op} {}, {off}(sp)", f(g.frs(Prec::D)))
            } else {
                format!("{op} {}, {off}(sp)", x(g.rs()))
            }
        }
    };
    Some(Item::Seq(rvc(vec![line])))
}

/// Compressed HINT encodings: legal, and they must change nothing.
const HINTS: &[(u16, &str)] = &[
    (0x0005, "c.addi x0, 1"),
    (0x0081, "c.addi x1, 0"),
    (0x4015, "c.li x0, 5"),
    (0x8016, "c.mv x0, x5"),
    (0x9016, "c.add x0, x5"),
    (0x0002, "c.slli x0, 0"),
    (0x8001, "c.srli x8, 0"),
    (0x8401, "c.srai x8, 0"),
];
