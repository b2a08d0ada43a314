//! The C extension for RV64 (unprivileged spec, chapter 16 "C" and its table
//! "RVC opcode map"): each 16-bit instruction decodes to the base [`Op`] it expands
//! to, with `len == 2` and `raw` holding the 16 bits.
//!
//! Reserved encodings are illegal: the all-zero halfword, `c.addi4spn` with
//! nzuimm = 0, `c.addi16sp` with nzimm = 0, `c.lui` with nzimm = 0, `c.lwsp` and
//! `c.ldsp` with rd = 0, `c.jr` with rs1 = 0, `c.addiw` with rd = 0, and the
//! unassigned slots (quadrant 0 funct3 100, `c.subw`/`c.addw`'s neighbours).
//! HINTs (section 16.7: `c.nop` with a nonzero immediate, `c.addi` with a zero
//! immediate, `c.li`/`c.lui`/`c.mv`/`c.add`/`c.slli` with rd = 0, shift amounts of
//! zero) decode to their base form. On RV64 funct3 001 of quadrant 1 is `c.addiw`
//! and funct3 011 of quadrants 0 and 2 is `c.ld`/`c.ldsp`/`c.sd`/`c.sdsp`; there is
//! no `c.flw`/`c.jal`.

use crate::{Inst, Op};

/// The stack pointer, implicit base of the `*sp` forms.
const SP: u8 = 2;
/// The return-address register, implicit link of `c.jalr`.
const RA: u8 = 1;

/// A decoded compressed instruction.
#[inline(always)]
const fn c(op: Op, h: u16, rd: u8, rs1: u8, rs2: u8, imm: i32) -> Inst {
    Inst {
        imm,
        raw: h as u32,
        op,
        rd,
        rs1,
        rs2,
        rs3: 0,
        rm: 0,
        len: 2,
    }
}

/// The illegal compressed instruction `h`.
#[inline(always)]
const fn illegal(h: u16) -> Inst {
    Inst::illegal(h as u32, 2)
}

/// Full register field at bits \[11:7\] (rd / rs1).
#[inline(always)]
const fn rd_full(h: u32) -> u8 {
    ((h >> 7) & 0x1f) as u8
}

/// Full register field at bits \[6:2\] (rs2).
#[inline(always)]
const fn rs2_full(h: u32) -> u8 {
    ((h >> 2) & 0x1f) as u8
}

/// Popular register (x8–x15) at bits \[9:7\] (rs1' / rd').
#[inline(always)]
const fn r_hi(h: u32) -> u8 {
    ((h >> 7) & 0x7) as u8 + 8
}

/// Popular register (x8–x15) at bits \[4:2\] (rs2' / rd').
#[inline(always)]
const fn r_lo(h: u32) -> u8 {
    ((h >> 2) & 0x7) as u8 + 8
}

/// Sign-extends the low `width` bits of `v`.
#[inline(always)]
const fn sext(v: u32, width: u32) -> i32 {
    ((v << (32 - width)) as i32) >> (32 - width)
}

/// The 6-bit CI immediate imm\[5\] = bit 12, imm\[4:0\] = bits \[6:2\], unsigned.
#[inline(always)]
const fn ci_raw(h: u32) -> u32 {
    ((h >> 7) & 0x20) | ((h >> 2) & 0x1f)
}

/// Decodes a 16-bit instruction.
#[inline]
pub(super) fn decode(h: u16) -> Inst {
    let w = h as u32;
    match (w & 0b11, w >> 13) {
        (0b00, f) => quadrant0(h, w, f),
        (0b01, f) => quadrant1(h, w, f),
        (_, f) => quadrant2(h, w, f),
    }
}

/// Quadrant 0: `c.addi4spn` and the register-based loads and stores.
#[inline]
fn quadrant0(h: u16, w: u32, funct3: u32) -> Inst {
    // Offsets: CL/CS doubleword uimm[5:3] = bits [12:10], uimm[7:6] = bits [6:5];
    // word uimm[5:3] = bits [12:10], uimm[2] = bit 6, uimm[6] = bit 5.
    let dword = (((w >> 7) & 0x38) | ((w << 1) & 0xc0)) as i32;
    let word = (((w >> 7) & 0x38) | ((w >> 4) & 0x4) | ((w << 1) & 0x40)) as i32;
    let (rs1, rd) = (r_hi(w), r_lo(w));
    match funct3 {
        0b000 => {
            // nzuimm[5:4] = bits [12:11], [9:6] = bits [10:7], [2] = bit 6, [3] = bit 5.
            let imm = ((w >> 7) & 0x30) | ((w >> 1) & 0x3c0) | ((w >> 4) & 0x4) | ((w >> 2) & 0x8);
            if imm == 0 {
                return illegal(h);
            }
            c(Op::Addi, h, rd, SP, 0, imm as i32)
        }
        0b001 => c(Op::Fld, h, rd, rs1, 0, dword),
        0b010 => c(Op::Lw, h, rd, rs1, 0, word),
        0b011 => c(Op::Ld, h, rd, rs1, 0, dword),
        0b101 => c(Op::Fsd, h, 0, rs1, rd, dword),
        0b110 => c(Op::Sw, h, 0, rs1, rd, word),
        0b111 => c(Op::Sd, h, 0, rs1, rd, dword),
        _ => illegal(h),
    }
}

/// Quadrant 1: immediates, the popular-register ALU group, jumps and branches.
#[inline]
fn quadrant1(h: u16, w: u32, funct3: u32) -> Inst {
    let rd = rd_full(w);
    let imm = sext(ci_raw(w), 6);
    match funct3 {
        0b000 => c(Op::Addi, h, rd, rd, 0, imm),
        0b001 if rd != 0 => c(Op::Addiw, h, rd, rd, 0, imm),
        0b010 => c(Op::Addi, h, rd, 0, 0, imm),
        0b011 if rd == SP => {
            // nzimm[9] = bit 12, [4] = bit 6, [6] = bit 5, [8:7] = bits [4:3], [5] = bit 2.
            let v = ((w >> 3) & 0x200)
                | ((w >> 2) & 0x10)
                | ((w << 1) & 0x40)
                | ((w << 4) & 0x180)
                | ((w << 3) & 0x20);
            if v == 0 {
                return illegal(h);
            }
            c(Op::Addi, h, SP, SP, 0, sext(v, 10))
        }
        0b011 if ci_raw(w) != 0 => c(Op::Lui, h, rd, 0, 0, imm << 12),
        0b100 => misc_alu(h, w),
        0b101 => {
            // offset[11|4|9:8|10|6|7|3:1|5] = bits [12:2].
            let v = ((w >> 1) & 0x800)
                | ((w >> 7) & 0x10)
                | ((w >> 1) & 0x300)
                | ((w << 2) & 0x400)
                | ((w >> 1) & 0x40)
                | ((w << 1) & 0x80)
                | ((w >> 2) & 0xe)
                | ((w << 3) & 0x20);
            c(Op::Jal, h, 0, 0, 0, sext(v, 12))
        }
        0b110 | 0b111 => {
            // offset[8|4:3] = bits [12:10], offset[7:6|2:1|5] = bits [6:2].
            let v = ((w >> 4) & 0x100)
                | ((w >> 7) & 0x18)
                | ((w << 1) & 0xc0)
                | ((w >> 2) & 0x6)
                | ((w << 3) & 0x20);
            let op = if funct3 == 0b110 { Op::Beq } else { Op::Bne };
            c(op, h, 0, r_hi(w), 0, sext(v, 9))
        }
        _ => illegal(h),
    }
}

/// Quadrant 1, funct3 100: shifts and `c.andi` on rd', and the CA-format
/// register-register group.
#[inline]
fn misc_alu(h: u16, w: u32) -> Inst {
    let rd = r_hi(w);
    match (w >> 10) & 0b11 {
        0b00 => c(Op::Srli, h, rd, rd, 0, ci_raw(w) as i32),
        0b01 => c(Op::Srai, h, rd, rd, 0, ci_raw(w) as i32),
        0b10 => c(Op::Andi, h, rd, rd, 0, sext(ci_raw(w), 6)),
        _ => {
            let op = match ((w >> 12) & 1, (w >> 5) & 0b11) {
                (0, 0b00) => Op::Sub,
                (0, 0b01) => Op::Xor,
                (0, 0b10) => Op::Or,
                (0, _) => Op::And,
                (_, 0b00) => Op::Subw,
                (_, 0b01) => Op::Addw,
                _ => return illegal(h),
            };
            c(op, h, rd, rd, r_lo(w), 0)
        }
    }
}

/// Quadrant 2: `c.slli`, the stack-pointer loads and stores, and the CR group
/// (`c.jr`, `c.mv`, `c.ebreak`, `c.jalr`, `c.add`).
#[inline]
fn quadrant2(h: u16, w: u32, funct3: u32) -> Inst {
    let rd = rd_full(w);
    let rs2 = rs2_full(w);
    // Doubleword loads: uimm[5] = bit 12, [4:3] = bits [6:5], [8:6] = bits [4:2].
    let ld_off = (((w >> 7) & 0x20) | ((w >> 2) & 0x18) | ((w << 4) & 0x1c0)) as i32;
    // Doubleword stores: uimm[5:3] = bits [12:10], [8:6] = bits [9:7].
    let sd_off = (((w >> 7) & 0x38) | ((w >> 1) & 0x1c0)) as i32;
    match funct3 {
        0b000 => c(Op::Slli, h, rd, rd, 0, ci_raw(w) as i32),
        0b001 => c(Op::Fld, h, rd, SP, 0, ld_off),
        0b010 if rd != 0 => {
            // uimm[5] = bit 12, [4:2] = bits [6:4], [7:6] = bits [3:2].
            let off = ((w >> 7) & 0x20) | ((w >> 2) & 0x1c) | ((w << 4) & 0xc0);
            c(Op::Lw, h, rd, SP, 0, off as i32)
        }
        0b011 if rd != 0 => c(Op::Ld, h, rd, SP, 0, ld_off),
        0b100 => match ((w >> 12) & 1, rd, rs2) {
            (0, 0, 0) => illegal(h),
            (0, _, 0) => c(Op::Jalr, h, 0, rd, 0, 0),
            (0, _, _) => c(Op::Add, h, rd, 0, rs2, 0),
            (_, 0, 0) => c(Op::Ebreak, h, 0, 0, 0, 0),
            (_, _, 0) => c(Op::Jalr, h, RA, rd, 0, 0),
            _ => c(Op::Add, h, rd, rd, rs2, 0),
        },
        0b101 => c(Op::Fsd, h, 0, SP, rs2, sd_off),
        0b110 => {
            // uimm[5:2] = bits [12:9], [7:6] = bits [8:7].
            let off = ((w >> 7) & 0x3c) | ((w >> 1) & 0xc0);
            c(Op::Sw, h, 0, SP, rs2, off as i32)
        }
        0b111 => c(Op::Sd, h, 0, SP, rs2, sd_off),
        _ => illegal(h),
    }
}

#[cfg(test)]
mod tests;
