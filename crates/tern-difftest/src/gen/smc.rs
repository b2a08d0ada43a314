//! Self-modifying code: a tiny subroutine is called once (so the emulator caches its
//! decoded form), then its first instruction is overwritten with a random ALU
//! instruction copied from a never-executed spot, `fence.i` makes the store visible
//! to instruction fetch, and the subroutine is called again; it must now run the new
//! instruction. This checks that stores invalidate decoded or translated code.
//!
//! GNU numeric local labels (`7:`/`7b`) keep the item self-contained.

use super::{int, x, Gen, Item};

/// A random self-modifying-code item.
pub(crate) fn item(g: &mut Gen) -> Option<Item> {
    let link = g.rd_nonzero();
    let addr = distinct(g, &[link]);
    let word = distinct(g, &[link, addr]);
    let patch = int::alu_rr(g, Some(link));
    let lines = [
        ".option push",
        ".option norvc",
        "j 9f",
        "7: nop",
        &format!("jalr x0, 0({})", x(link)),
        &format!("8: {patch}"),
        &format!("9: jal {}, 7b", x(link)),
        &format!("la {}, 8b", x(addr)),
        &format!("lw {}, 0({})", x(word), x(addr)),
        &format!("la {}, 7b", x(addr)),
        &format!("sw {}, 0({})", x(word), x(addr)),
        "fence.i",
        &format!("jal {}, 7b", x(link)),
        ".option pop",
    ];
    Some(Item::Seq(lines.iter().map(|l| l.to_string()).collect()))
}

/// A nonzero destination register other than those in `taken`.
fn distinct(g: &mut Gen, taken: &[u8]) -> u8 {
    loop {
        let r = g.rd_nonzero();
        if !taken.contains(&r) {
            return r;
        }
    }
}
