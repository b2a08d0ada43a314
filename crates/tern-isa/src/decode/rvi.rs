//! RV64I base integer instructions (unprivileged spec, chapter 2 "RV32I" and
//! chapter 4 "RV64I"). The OP, OP-32, OP-IMM and OP-IMM-32 opcodes are shared with
//! M and the bit-manipulation extensions; this file hands those encodings on.

use super::fields::{
    funct3, funct7, i_type, illegal, imm_b, imm_j, imm_u, inst, r_type, rd, rs1, rs2, s_type, shift,
};
use super::{rvm, zb};
use crate::{Inst, Op};

/// LUI: `rd = imm` with the U-immediate already shifted into place.
#[inline]
pub(super) fn lui(bits: u32) -> Inst {
    inst(Op::Lui, bits, rd(bits), 0, 0, imm_u(bits))
}

/// AUIPC: `rd = pc + imm`.
#[inline]
pub(super) fn auipc(bits: u32) -> Inst {
    inst(Op::Auipc, bits, rd(bits), 0, 0, imm_u(bits))
}

/// JAL with its J-type byte offset.
#[inline]
pub(super) fn jal(bits: u32) -> Inst {
    inst(Op::Jal, bits, rd(bits), 0, 0, imm_j(bits))
}

/// JALR: funct3 must be 000 (section 2.5.1).
#[inline]
pub(super) fn jalr(bits: u32) -> Inst {
    if funct3(bits) != 0 {
        return illegal(bits);
    }
    i_type(Op::Jalr, bits)
}

/// BRANCH: funct3 010 and 011 are reserved.
#[inline]
pub(super) fn branch(bits: u32) -> Inst {
    let op = match funct3(bits) {
        0b000 => Op::Beq,
        0b001 => Op::Bne,
        0b100 => Op::Blt,
        0b101 => Op::Bge,
        0b110 => Op::Bltu,
        0b111 => Op::Bgeu,
        _ => return illegal(bits),
    };
    inst(op, bits, 0, rs1(bits), rs2(bits), imm_b(bits))
}

/// LOAD: funct3 111 (would be `ldu`, RV128 only) is reserved on RV64.
#[inline]
pub(super) fn load(bits: u32) -> Inst {
    let op = match funct3(bits) {
        0b000 => Op::Lb,
        0b001 => Op::Lh,
        0b010 => Op::Lw,
        0b011 => Op::Ld,
        0b100 => Op::Lbu,
        0b101 => Op::Lhu,
        0b110 => Op::Lwu,
        _ => return illegal(bits),
    };
    i_type(op, bits)
}

/// STORE: only byte to doubleword widths exist on RV64.
#[inline]
pub(super) fn store(bits: u32) -> Inst {
    let op = match funct3(bits) {
        0b000 => Op::Sb,
        0b001 => Op::Sh,
        0b010 => Op::Sw,
        0b011 => Op::Sd,
        _ => return illegal(bits),
    };
    s_type(op, bits)
}

/// OP-IMM. On RV64 the shifts take a 6-bit shift amount and the six bits above it
/// must be 000000 (`slli`, `srli`) or 010000 (`srai`) (section 4.2.1); other values
/// of those bits select Zbb/Zbs operations.
#[inline]
pub(super) fn op_imm(bits: u32) -> Inst {
    match funct3(bits) {
        0b000 => i_type(Op::Addi, bits),
        0b010 => i_type(Op::Slti, bits),
        0b011 => i_type(Op::Sltiu, bits),
        0b100 => i_type(Op::Xori, bits),
        0b110 => i_type(Op::Ori, bits),
        0b111 => i_type(Op::Andi, bits),
        0b001 if bits >> 26 == 0 => shift(Op::Slli, bits, 6),
        0b101 if bits >> 26 == 0 => shift(Op::Srli, bits, 6),
        0b101 if bits >> 26 == 0b010000 => shift(Op::Srai, bits, 6),
        _ => zb::op_imm(bits),
    }
}

/// OP-IMM-32 (section 4.2.1): the word shifts take a 5-bit shift amount; an
/// encoding with bit 25 set is reserved.
#[inline]
pub(super) fn op_imm_32(bits: u32) -> Inst {
    match (funct3(bits), funct7(bits)) {
        (0b000, _) => i_type(Op::Addiw, bits),
        (0b001, 0b0000000) => shift(Op::Slliw, bits, 5),
        (0b101, 0b0000000) => shift(Op::Srliw, bits, 5),
        (0b101, 0b0100000) => shift(Op::Sraiw, bits, 5),
        _ => zb::op_imm_32(bits),
    }
}

/// OP: register-register ALU operations.
#[inline]
pub(super) fn op(bits: u32) -> Inst {
    let op = match (funct7(bits), funct3(bits)) {
        (0b0000000, 0b000) => Op::Add,
        (0b0100000, 0b000) => Op::Sub,
        (0b0000000, 0b001) => Op::Sll,
        (0b0000000, 0b010) => Op::Slt,
        (0b0000000, 0b011) => Op::Sltu,
        (0b0000000, 0b100) => Op::Xor,
        (0b0000000, 0b101) => Op::Srl,
        (0b0100000, 0b101) => Op::Sra,
        (0b0000000, 0b110) => Op::Or,
        (0b0000000, 0b111) => Op::And,
        (0b0000001, _) => return rvm::op(bits),
        _ => return zb::op(bits),
    };
    r_type(op, bits)
}

/// OP-32: word-sized register-register operations.
#[inline]
pub(super) fn op_32(bits: u32) -> Inst {
    let op = match (funct7(bits), funct3(bits)) {
        (0b0000000, 0b000) => Op::Addw,
        (0b0100000, 0b000) => Op::Subw,
        (0b0000000, 0b001) => Op::Sllw,
        (0b0000000, 0b101) => Op::Srlw,
        (0b0100000, 0b101) => Op::Sraw,
        (0b0000001, _) => return rvm::op_32(bits),
        _ => return zb::op_32(bits),
    };
    r_type(op, bits)
}

#[cfg(test)]
mod tests {
    use crate::{decode, Op};

    #[test]
    fn upper_immediates_are_shifted() {
        let i = decode(0x1234_5537); // lui a0, 0x12345
        assert_eq!((i.op, i.rd, i.imm), (Op::Lui, 10, 0x1234_5000));
        let i = decode(0xffff_f517); // auipc a0, 0xfffff
        assert_eq!((i.op, i.imm), (Op::Auipc, -4096));
    }

    #[test]
    fn branch_and_jump_offsets_are_bytes() {
        let i = decode(0xfeb5_0ee3); // beq a0, a1, -4
        assert_eq!((i.op, i.rs1, i.rs2, i.imm), (Op::Beq, 10, 11, -4));
        let i = decode(0x0080_00ef); // jal ra, 8
        assert_eq!((i.op, i.rd, i.imm), (Op::Jal, 1, 8));
        assert_eq!(decode(0x0000_2063).op, Op::Illegal); // branch funct3 010
        assert_eq!(decode(0x0000_1067).op, Op::Illegal); // jalr funct3 001
    }

    #[test]
    fn loads_and_stores() {
        let i = decode(0x0081_3783); // ld a5, 8(sp)
        assert_eq!((i.op, i.rd, i.rs1, i.imm), (Op::Ld, 15, 2, 8));
        let i = decode(0xfef1_3c23); // sd a5, -8(sp)
        assert_eq!((i.op, i.rs1, i.rs2, i.imm), (Op::Sd, 2, 15, -8));
        assert_eq!(decode(0x0000_7003).op, Op::Illegal); // ldu is RV128
        assert_eq!(decode(0x0000_4023).op, Op::Illegal); // sq is RV128
    }

    #[test]
    fn shifts() {
        let i = decode(0x03f5_9513); // slli a0, a1, 63
        assert_eq!((i.op, i.imm), (Op::Slli, 63));
        let i = decode(0x43f5_d513); // srai a0, a1, 63
        assert_eq!((i.op, i.imm), (Op::Srai, 63));
        assert_eq!(decode(0x0205_951b).op, Op::Illegal); // slliw with shamt[5] set
        assert_eq!(decode(0x4205_d51b).op, Op::Illegal); // sraiw with shamt[5] set
        let i = decode(0x41f5_d51b); // sraiw a0, a1, 31
        assert_eq!((i.op, i.imm), (Op::Sraiw, 31));
        assert_eq!(decode(0x2005_9513).op, Op::Illegal); // slli with funct6 001000
    }

    #[test]
    fn hints_decode_normally() {
        // prefetch.i 0(a1) is `ori zero, a1, 0`; addi zero, zero, 1 is a HINT.
        assert_eq!(decode(0x0005_e013).op, Op::Ori);
        assert_eq!(decode(0x0010_0013).op, Op::Addi);
    }
}
