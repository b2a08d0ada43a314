//! F and D extensions: single- and double-precision floating point (unprivileged
//! spec, chapters 11 and 12).
//!
//! The `fmt` field (bits \[26:25\]) selects S (00) or D (01); H and Q (Zfh, Q) are not
//! supported. The rounding-mode field (funct3) is kept as-is in [`Inst::rm`] for
//! every operation that has one, including the reserved values 5 and 6: whether a
//! rounding mode is valid also depends on `frm` at run time (section 11.2), so the
//! executor checks it. Operations without a rounding mode (sign injection, min/max,
//! compares, moves, classify) use funct3 to select the operation and get `rm = 0`.

use super::fields::{funct3, i_type, illegal, rd, rs1, rs2, rs3, s_type};
use crate::{Inst, Op};

/// LOAD-FP: `flw` (width 010) and `fld` (width 011). The other widths belong to
/// Zfh, Q and V.
#[inline]
pub(super) fn load_fp(bits: u32) -> Inst {
    match funct3(bits) {
        0b010 => i_type(Op::Flw, bits),
        0b011 => i_type(Op::Fld, bits),
        _ => illegal(bits),
    }
}

/// STORE-FP: `fsw` and `fsd`.
#[inline]
pub(super) fn store_fp(bits: u32) -> Inst {
    match funct3(bits) {
        0b010 => s_type(Op::Fsw, bits),
        0b011 => s_type(Op::Fsd, bits),
        _ => illegal(bits),
    }
}

/// An F/D instruction with explicit operands and rounding mode.
const fn fp(op: Op, bits: u32, rs2: u8, rs3: u8, rm: u8) -> Inst {
    Inst {
        imm: 0,
        raw: bits,
        op,
        rd: rd(bits),
        rs1: rs1(bits),
        rs2,
        rs3,
        rm,
        len: 4,
    }
}

/// The rounding-mode field, as stored in [`Inst::rm`].
const fn rm(bits: u32) -> u8 {
    funct3(bits) as u8
}

/// The fused multiply-add opcodes (MADD, MSUB, NMSUB, NMADD; R4-type).
#[inline]
pub(super) fn fma(bits: u32) -> Inst {
    let double = match (bits >> 25) & 0b11 {
        0b00 => false,
        0b01 => true,
        _ => return illegal(bits),
    };
    let op = match ((bits >> 2) & 0b11, double) {
        (0b00, false) => Op::FmaddS,
        (0b01, false) => Op::FmsubS,
        (0b10, false) => Op::FnmsubS,
        (_, false) => Op::FnmaddS,
        (0b00, true) => Op::FmaddD,
        (0b01, true) => Op::FmsubD,
        (0b10, true) => Op::FnmsubD,
        (_, true) => Op::FnmaddD,
    };
    fp(op, bits, rs2(bits), rs3(bits), rm(bits))
}

/// OP-FP. funct5 (bits \[31:27\]) selects the operation; for conversions and moves
/// the rs2 field selects the integer type and must match exactly.
#[inline]
pub(super) fn op_fp(bits: u32) -> Inst {
    let double = match (bits >> 25) & 0b11 {
        0b00 => false,
        0b01 => true,
        _ => return illegal(bits),
    };
    let funct5 = bits >> 27;
    let f3 = funct3(bits);
    let src2 = rs2(bits);
    // Pick (single, double) variants by `double`.
    let pick = |s: Op, d: Op| if double { d } else { s };
    match funct5 {
        0b00000 => fp(pick(Op::FaddS, Op::FaddD), bits, src2, 0, rm(bits)),
        0b00001 => fp(pick(Op::FsubS, Op::FsubD), bits, src2, 0, rm(bits)),
        0b00010 => fp(pick(Op::FmulS, Op::FmulD), bits, src2, 0, rm(bits)),
        0b00011 => fp(pick(Op::FdivS, Op::FdivD), bits, src2, 0, rm(bits)),
        0b01011 if src2 == 0 => fp(pick(Op::FsqrtS, Op::FsqrtD), bits, 0, 0, rm(bits)),
        0b00100 => {
            let op = match f3 {
                0b000 => pick(Op::FsgnjS, Op::FsgnjD),
                0b001 => pick(Op::FsgnjnS, Op::FsgnjnD),
                0b010 => pick(Op::FsgnjxS, Op::FsgnjxD),
                _ => return illegal(bits),
            };
            fp(op, bits, src2, 0, 0)
        }
        0b00101 => {
            let op = match f3 {
                0b000 => pick(Op::FminS, Op::FminD),
                0b001 => pick(Op::FmaxS, Op::FmaxD),
                _ => return illegal(bits),
            };
            fp(op, bits, src2, 0, 0)
        }
        // fcvt.s.d (fmt S, source D) and fcvt.d.s (fmt D, source S).
        0b01000 => match (double, src2) {
            (false, 0b00001) => fp(Op::FcvtSD, bits, 0, 0, rm(bits)),
            (true, 0b00000) => fp(Op::FcvtDS, bits, 0, 0, rm(bits)),
            _ => illegal(bits),
        },
        0b10100 => {
            let op = match f3 {
                0b010 => pick(Op::FeqS, Op::FeqD),
                0b001 => pick(Op::FltS, Op::FltD),
                0b000 => pick(Op::FleS, Op::FleD),
                _ => return illegal(bits),
            };
            fp(op, bits, src2, 0, 0)
        }
        0b11000 => {
            let op = match src2 {
                0 => pick(Op::FcvtWS, Op::FcvtWD),
                1 => pick(Op::FcvtWuS, Op::FcvtWuD),
                2 => pick(Op::FcvtLS, Op::FcvtLD),
                3 => pick(Op::FcvtLuS, Op::FcvtLuD),
                _ => return illegal(bits),
            };
            fp(op, bits, 0, 0, rm(bits))
        }
        0b11010 => {
            let op = match src2 {
                0 => pick(Op::FcvtSW, Op::FcvtDW),
                1 => pick(Op::FcvtSWu, Op::FcvtDWu),
                2 => pick(Op::FcvtSL, Op::FcvtDL),
                3 => pick(Op::FcvtSLu, Op::FcvtDLu),
                _ => return illegal(bits),
            };
            fp(op, bits, 0, 0, rm(bits))
        }
        0b11100 if src2 == 0 => {
            let op = match f3 {
                0b000 => pick(Op::FmvXW, Op::FmvXD),
                0b001 => pick(Op::FclassS, Op::FclassD),
                _ => return illegal(bits),
            };
            fp(op, bits, 0, 0, 0)
        }
        0b11110 if src2 == 0 && f3 == 0 => fp(pick(Op::FmvWX, Op::FmvDX), bits, 0, 0, 0),
        _ => illegal(bits),
    }
}

#[cfg(test)]
mod tests {
    use crate::{decode, Op};

    #[test]
    fn rounding_mode_is_kept() {
        let i = decode(0x00b5_1553); // fadd.s fa0, fa0, fa1, rtz
        assert_eq!((i.op, i.rm, i.rd, i.rs1, i.rs2), (Op::FaddS, 1, 10, 10, 11));
        let i = decode(0x00b5_d553); // fadd.s with reserved rm 5: checked at run time
        assert_eq!((i.op, i.rm), (Op::FaddS, 5));
        let i = decode(0xc005_1553); // fcvt.w.s a0, fa0, rtz
        assert_eq!((i.op, i.rm, i.rs2), (Op::FcvtWS, 1, 0));
    }

    #[test]
    fn fused_multiply_add() {
        // fmadd.d fa0, fa1, fa2, fa3 (dynamic rounding)
        let i = decode(0x6ac5_f543);
        assert_eq!(
            (i.op, i.rd, i.rs1, i.rs2, i.rs3, i.rm),
            (Op::FmaddD, 10, 11, 12, 13, 7)
        );
        assert_eq!(decode(0x6cc5_f543).op, Op::Illegal); // fmt 10 (H)
        assert_eq!(decode(0x6ac5_f54f).op, Op::FnmaddD);
    }

    #[test]
    fn selector_fields_are_checked() {
        assert_eq!(decode(0x5805_7553).op, Op::FsqrtS);
        assert_eq!(decode(0x5815_7553).op, Op::Illegal); // fsqrt.s with rs2 = 1
        assert_eq!(decode(0xc045_7553).op, Op::Illegal); // fcvt with rs2 = 4
        assert_eq!(decode(0xe005_0553).op, Op::FmvXW);
        assert_eq!(decode(0xe005_1553).op, Op::FclassS);
        assert_eq!(decode(0xe005_2553).op, Op::Illegal);
        assert_eq!(decode(0xf005_1553).op, Op::Illegal); // fmv.w.x with funct3 001
        assert_eq!(decode(0x2ab5_2553).op, Op::Illegal); // fmin.d funct3 010 (Zfa)
        assert_eq!(decode(0x4205_8553).op, Op::FcvtDS);
        assert_eq!(decode(0x4215_8553).op, Op::Illegal); // fcvt.d.s from D
        assert_eq!(decode(0x4015_8553).op, Op::FcvtSD);
        assert_eq!(decode(0x0000_1007).op, Op::Illegal); // flh (Zfh)
    }
}
