//! M extension: integer multiply and divide (unprivileged spec, chapter 7). All
//! encodings are OP or OP-32 with funct7 = 0000001, selected by funct3.

use super::fields::{funct3, illegal, r_type};
use crate::{Inst, Op};

/// OP with funct7 = 0000001.
#[inline]
pub(super) fn op(bits: u32) -> Inst {
    let op = match funct3(bits) {
        0b000 => Op::Mul,
        0b001 => Op::Mulh,
        0b010 => Op::Mulhsu,
        0b011 => Op::Mulhu,
        0b100 => Op::Div,
        0b101 => Op::Divu,
        0b110 => Op::Rem,
        _ => Op::Remu,
    };
    r_type(op, bits)
}

/// OP-32 with funct7 = 0000001: the word forms; funct3 001, 010 and 011 are
/// reserved (there is no `mulhw`).
#[inline]
pub(super) fn op_32(bits: u32) -> Inst {
    let op = match funct3(bits) {
        0b000 => Op::Mulw,
        0b100 => Op::Divw,
        0b101 => Op::Divuw,
        0b110 => Op::Remw,
        0b111 => Op::Remuw,
        _ => return illegal(bits),
    };
    r_type(op, bits)
}

#[cfg(test)]
mod tests {
    use crate::{decode, Op};

    #[test]
    fn multiply_divide() {
        let i = decode(0x02b5_0533); // mul a0, a0, a1
        assert_eq!((i.op, i.rd, i.rs1, i.rs2), (Op::Mul, 10, 10, 11));
        assert_eq!(decode(0x02b5_7533).op, Op::Remu);
        assert_eq!(decode(0x02b5_753b).op, Op::Remuw);
        assert_eq!(decode(0x02b5_153b).op, Op::Illegal); // no mulhw
    }
}
