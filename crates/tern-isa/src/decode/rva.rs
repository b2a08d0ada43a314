//! A extension: load-reserved/store-conditional and atomic memory operations
//! (unprivileged spec, chapter 8). funct5 (bits \[31:27\]) selects the operation,
//! funct3 the width (010 word, 011 doubleword); `aq` and `rl` (bits 26 and 25)
//! go to [`Inst::rm`] as `aq << 1 | rl`.

use super::fields::{funct3, illegal, rd, rs1, rs2};
use crate::{Inst, Op};

/// The AMO major opcode.
#[inline]
pub(super) fn amo(bits: u32) -> Inst {
    let word = match funct3(bits) {
        0b010 => true,
        0b011 => false,
        _ => return illegal(bits),
    };
    let funct5 = bits >> 27;
    let op = match (funct5, word) {
        (0b00010, true) => Op::LrW,
        (0b00011, true) => Op::ScW,
        (0b00001, true) => Op::AmoswapW,
        (0b00000, true) => Op::AmoaddW,
        (0b00100, true) => Op::AmoxorW,
        (0b01100, true) => Op::AmoandW,
        (0b01000, true) => Op::AmoorW,
        (0b10000, true) => Op::AmominW,
        (0b10100, true) => Op::AmomaxW,
        (0b11000, true) => Op::AmominuW,
        (0b11100, true) => Op::AmomaxuW,
        (0b00010, false) => Op::LrD,
        (0b00011, false) => Op::ScD,
        (0b00001, false) => Op::AmoswapD,
        (0b00000, false) => Op::AmoaddD,
        (0b00100, false) => Op::AmoxorD,
        (0b01100, false) => Op::AmoandD,
        (0b01000, false) => Op::AmoorD,
        (0b10000, false) => Op::AmominD,
        (0b10100, false) => Op::AmomaxD,
        (0b11000, false) => Op::AmominuD,
        (0b11100, false) => Op::AmomaxuD,
        _ => return illegal(bits),
    };
    // LR has no data source: its rs2 field must be zero (section 8.2).
    if funct5 == 0b00010 && rs2(bits) != 0 {
        return illegal(bits);
    }
    Inst {
        imm: 0,
        raw: bits,
        op,
        rd: rd(bits),
        rs1: rs1(bits),
        rs2: rs2(bits),
        rs3: 0,
        rm: ((bits >> 25) & 0b11) as u8,
        len: 4,
    }
}

#[cfg(test)]
mod tests {
    use crate::{decode, Op};

    #[test]
    fn ordering_bits_go_to_rm() {
        let i = decode(0x06b5_a5af); // amoadd.w.aqrl a1, a1, (a1)
        assert_eq!(
            (i.op, i.rm, i.rd, i.rs1, i.rs2),
            (Op::AmoaddW, 3, 11, 11, 11)
        );
        let i = decode(0x1405_b5af); // lr.d.aq a1, (a1)
        assert_eq!((i.op, i.rm), (Op::LrD, 2));
    }

    #[test]
    fn reserved_forms() {
        assert_eq!(decode(0x1015_b5af).op, Op::Illegal); // lr.d with rs2 = 1
        assert_eq!(decode(0x0000_c02f).op, Op::Illegal); // funct3 100
        assert_eq!(decode(0x2800_a02f).op, Op::Illegal); // funct5 00101
    }
}
