//! Bit manipulation (Zba, Zbb, Zbs; bit-manipulation spec 1.0.0) and integer
//! conditional operations (Zicond 1.0). They share the OP, OP-32, OP-IMM and
//! OP-IMM-32 opcodes with the base ISA: [`super::rvi`] hands over the words it
//! does not recognise.

use super::fields::{funct3, funct7, illegal, r_type, rs2, shift, unary};
use crate::{Inst, Op};

/// OP-IMM words that are not base instructions: Zbs single-bit immediates, Zbb
/// count/extend (imm\[11:0\] selects), `rori`, `orc.b` and the RV64 `rev8`.
#[inline]
pub(super) fn op_imm(bits: u32) -> Inst {
    let imm12 = bits >> 20;
    let funct6 = bits >> 26;
    match (funct3(bits), funct6) {
        (0b001, 0b001010) => shift(Op::Bseti, bits, 6),
        (0b001, 0b010010) => shift(Op::Bclri, bits, 6),
        (0b001, 0b011010) => shift(Op::Binvi, bits, 6),
        (0b101, 0b010010) => shift(Op::Bexti, bits, 6),
        (0b101, 0b011000) => shift(Op::Rori, bits, 6),
        (0b001, _) => match imm12 {
            0x600 => unary(Op::Clz, bits),
            0x601 => unary(Op::Ctz, bits),
            0x602 => unary(Op::Cpop, bits),
            0x604 => unary(Op::SextB, bits),
            0x605 => unary(Op::SextH, bits),
            _ => illegal(bits),
        },
        (0b101, _) => match imm12 {
            0x287 => unary(Op::OrcB, bits),
            0x6b8 => unary(Op::Rev8, bits),
            _ => illegal(bits),
        },
        _ => illegal(bits),
    }
}

/// OP-IMM-32 words that are not base instructions: `slli.uw` (6-bit shift
/// amount), the word counts and `roriw` (5-bit amount).
#[inline]
pub(super) fn op_imm_32(bits: u32) -> Inst {
    match funct3(bits) {
        0b001 if bits >> 26 == 0b000010 => shift(Op::SlliUw, bits, 6),
        0b001 => match bits >> 20 {
            0x600 => unary(Op::Clzw, bits),
            0x601 => unary(Op::Ctzw, bits),
            0x602 => unary(Op::Cpopw, bits),
            _ => illegal(bits),
        },
        0b101 if funct7(bits) == 0b0110000 => shift(Op::Roriw, bits, 5),
        _ => illegal(bits),
    }
}

/// OP words that are neither base nor M instructions.
#[inline]
pub(super) fn op(bits: u32) -> Inst {
    let op = match (funct7(bits), funct3(bits)) {
        (0b0100000, 0b111) => Op::Andn,
        (0b0100000, 0b110) => Op::Orn,
        (0b0100000, 0b100) => Op::Xnor,
        (0b0000101, 0b110) => Op::Max,
        (0b0000101, 0b111) => Op::Maxu,
        (0b0000101, 0b100) => Op::Min,
        (0b0000101, 0b101) => Op::Minu,
        (0b0110000, 0b001) => Op::Rol,
        (0b0110000, 0b101) => Op::Ror,
        (0b0010000, 0b010) => Op::Sh1add,
        (0b0010000, 0b100) => Op::Sh2add,
        (0b0010000, 0b110) => Op::Sh3add,
        (0b0100100, 0b001) => Op::Bclr,
        (0b0100100, 0b101) => Op::Bext,
        (0b0110100, 0b001) => Op::Binv,
        (0b0010100, 0b001) => Op::Bset,
        (0b0000111, 0b101) => Op::CzeroEqz,
        (0b0000111, 0b111) => Op::CzeroNez,
        _ => return illegal(bits),
    };
    r_type(op, bits)
}

/// OP-32 words that are neither base nor M instructions. `zext.h` on RV64 is the
/// `packw` encoding with rs2 = 0 (Zbkb's `packw` itself is not supported).
#[inline]
pub(super) fn op_32(bits: u32) -> Inst {
    let op = match (funct7(bits), funct3(bits)) {
        (0b0000100, 0b000) => Op::AddUw,
        (0b0000100, 0b100) if rs2(bits) == 0 => return unary(Op::ZextH, bits),
        (0b0010000, 0b010) => Op::Sh1addUw,
        (0b0010000, 0b100) => Op::Sh2addUw,
        (0b0010000, 0b110) => Op::Sh3addUw,
        (0b0110000, 0b001) => Op::Rolw,
        (0b0110000, 0b101) => Op::Rorw,
        _ => return illegal(bits),
    };
    r_type(op, bits)
}

#[cfg(test)]
mod tests {
    use crate::{decode, Op};

    #[test]
    fn zbb_unary_selected_by_imm() {
        assert_eq!(decode(0x6005_1513).op, Op::Clz);
        assert_eq!(decode(0x6025_1513).op, Op::Cpop);
        assert_eq!(decode(0x6035_1513).op, Op::Illegal); // 0x603 is not defined
        assert_eq!(decode(0x6045_1513).op, Op::SextB);
        assert_eq!(decode(0x2875_5513).op, Op::OrcB);
        assert_eq!(decode(0x6b85_5513).op, Op::Rev8);
        assert_eq!(decode(0x6985_5513).op, Op::Illegal); // rev8 of RV32
        assert_eq!(decode(0x6005_151b).op, Op::Clzw);
        let i = decode(0x0805_453b); // zext.h a0, a0
        assert_eq!((i.op, i.rd, i.rs1, i.rs2), (Op::ZextH, 10, 10, 0));
        assert_eq!(decode(0x08b5_453b).op, Op::Illegal); // packw (Zbkb)
        assert_eq!(decode(0x0805_4533).op, Op::Illegal); // zext.h of RV32 / pack
    }

    #[test]
    fn rotates_and_single_bit() {
        let i = decode(0x63f5_d513); // rori a0, a1, 63
        assert_eq!((i.op, i.imm), (Op::Rori, 63));
        let i = decode(0x61f5_d51b); // roriw a0, a1, 31
        assert_eq!((i.op, i.imm), (Op::Roriw, 31));
        assert_eq!(decode(0x63f5_d51b).op, Op::Illegal); // roriw with bit 25 set
        let i = decode(0x4bf5_9513); // bclri a0, a1, 63
        assert_eq!((i.op, i.imm), (Op::Bclri, 63));
        let i = decode(0x0bf5_951b); // slli.uw a0, a1, 63
        assert_eq!((i.op, i.imm), (Op::SlliUw, 63));
    }

    #[test]
    fn zba_and_zicond() {
        assert_eq!(decode(0x08b5_053b).op, Op::AddUw);
        assert_eq!(decode(0x20b5_6533).op, Op::Sh3add);
        assert_eq!(decode(0x20b5_253b).op, Op::Sh1addUw);
        let i = decode(0x0eb5_5533); // czero.eqz a0, a0, a1
        assert_eq!((i.op, i.rd, i.rs1, i.rs2), (Op::CzeroEqz, 10, 10, 11));
        assert_eq!(decode(0x0eb5_7533).op, Op::CzeroNez);
        assert_eq!(decode(0x0eb5_6533).op, Op::Illegal);
    }
}
