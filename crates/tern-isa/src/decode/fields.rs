//! Bit-field extraction for the 32-bit base formats (unprivileged spec, chapter 2.2/2.3
//! "Base Instruction Formats" and "Immediate Encoding Variants") and small
//! constructors for [`Inst`] values, shared by every extension's decoder.

use crate::{Inst, Op};

/// Destination register, bits \[11:7\].
#[inline(always)]
pub(crate) const fn rd(bits: u32) -> u8 {
    ((bits >> 7) & 0x1f) as u8
}

/// First source register, bits \[19:15\].
#[inline(always)]
pub(crate) const fn rs1(bits: u32) -> u8 {
    ((bits >> 15) & 0x1f) as u8
}

/// Second source register, bits \[24:20\].
#[inline(always)]
pub(crate) const fn rs2(bits: u32) -> u8 {
    ((bits >> 20) & 0x1f) as u8
}

/// Third source register (R4-type), bits \[31:27\].
#[inline(always)]
pub(crate) const fn rs3(bits: u32) -> u8 {
    (bits >> 27) as u8
}

/// `funct3`, bits \[14:12\] (also the floating-point `rm` field).
#[inline(always)]
pub(crate) const fn funct3(bits: u32) -> u32 {
    (bits >> 12) & 0x7
}

/// `funct7`, bits \[31:25\].
#[inline(always)]
pub(crate) const fn funct7(bits: u32) -> u32 {
    bits >> 25
}

/// I-type immediate: bits \[31:20\], sign-extended.
#[inline(always)]
pub(crate) const fn imm_i(bits: u32) -> i32 {
    (bits as i32) >> 20
}

/// S-type immediate: bits \[31:25\] and \[11:7\], sign-extended.
#[inline(always)]
pub(crate) const fn imm_s(bits: u32) -> i32 {
    (((bits & 0xfe00_0000) as i32) >> 20) | (((bits >> 7) & 0x1f) as i32)
}

/// B-type immediate: a signed byte offset, multiple of 2, range ±4 KiB.
#[inline(always)]
pub(crate) const fn imm_b(bits: u32) -> i32 {
    (((bits & 0x8000_0000) as i32) >> 19)
        | (((bits >> 7) & 0x1) << 11) as i32
        | (((bits >> 25) & 0x3f) << 5) as i32
        | (((bits >> 8) & 0xf) << 1) as i32
}

/// U-type immediate: bits \[31:12\] in place, low 12 bits zero.
#[inline(always)]
pub(crate) const fn imm_u(bits: u32) -> i32 {
    (bits & 0xffff_f000) as i32
}

/// J-type immediate: a signed byte offset, multiple of 2, range ±1 MiB.
#[inline(always)]
pub(crate) const fn imm_j(bits: u32) -> i32 {
    (((bits & 0x8000_0000) as i32) >> 11)
        | (bits & 0x000f_f000) as i32
        | (((bits >> 20) & 0x1) << 11) as i32
        | (((bits >> 21) & 0x3ff) << 1) as i32
}

/// An instruction with every operand given; `len` is 4 (32-bit encoding).
#[inline(always)]
pub(crate) const fn inst(op: Op, raw: u32, rd: u8, rs1: u8, rs2: u8, imm: i32) -> Inst {
    Inst {
        imm,
        raw,
        op,
        rd,
        rs1,
        rs2,
        rs3: 0,
        rm: 0,
        len: 4,
    }
}

/// R-type: `op rd, rs1, rs2`.
#[inline(always)]
pub(crate) const fn r_type(op: Op, bits: u32) -> Inst {
    inst(op, bits, rd(bits), rs1(bits), rs2(bits), 0)
}

/// R-type with one source (`clz`, `sext.b`, ...): `op rd, rs1`.
#[inline(always)]
pub(crate) const fn unary(op: Op, bits: u32) -> Inst {
    inst(op, bits, rd(bits), rs1(bits), 0, 0)
}

/// I-type: `op rd, rs1, imm`.
#[inline(always)]
pub(crate) const fn i_type(op: Op, bits: u32) -> Inst {
    inst(op, bits, rd(bits), rs1(bits), 0, imm_i(bits))
}

/// Shift by immediate: `op rd, rs1, shamt` with a shift amount of `width` bits.
#[inline(always)]
pub(crate) const fn shift(op: Op, bits: u32, width: u32) -> Inst {
    let shamt = (bits >> 20) & ((1 << width) - 1);
    inst(op, bits, rd(bits), rs1(bits), 0, shamt as i32)
}

/// S-type: `op rs2, imm(rs1)`.
#[inline(always)]
pub(crate) const fn s_type(op: Op, bits: u32) -> Inst {
    inst(op, bits, 0, rs1(bits), rs2(bits), imm_s(bits))
}

/// The illegal instruction for a 32-bit word.
#[inline(always)]
pub(crate) const fn illegal(bits: u32) -> Inst {
    Inst::illegal(bits, 4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn immediates_sign_extend() {
        // addi a0, a0, -1
        assert_eq!(imm_i(0xfff5_0513), -1);
        // sd a5, -8(sp) = 0xfef13c23
        assert_eq!(imm_s(0xfef1_3c23), -8);
        // beq a0, a1, -4 = 0xfeb50ee3
        assert_eq!(imm_b(0xfeb5_0ee3), -4);
        // beq with the largest forward offset 4094 = 0x7eb50fe3
        assert_eq!(imm_b(0x7eb5_0fe3), 4094);
        // jal zero, -1 MiB = 0x8000006f
        assert_eq!(imm_j(0x8000_006f), -(1 << 20));
        // jal zero, 1 MiB - 2 = 0x7ffff06f
        assert_eq!(imm_j(0x7fff_f06f), (1 << 20) - 2);
        // lui a0, 0x80000
        assert_eq!(imm_u(0x8000_0537), i32::MIN);
    }

    #[test]
    fn register_fields() {
        // fmadd.s ft0, ft1, ft2, ft3 with rs3 = 3: 0x18208043
        let bits = 0x1820_8043;
        assert_eq!((rd(bits), rs1(bits), rs2(bits), rs3(bits)), (0, 1, 2, 3));
    }
}
