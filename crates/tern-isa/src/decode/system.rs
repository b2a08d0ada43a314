//! The MISC-MEM and SYSTEM major opcodes: `fence` and its variants, Zifencei,
//! Zicboz, the environment calls, Zicsr and the privileged instructions.

use super::fields::{funct3, funct7, illegal, inst, rd, rs1, rs2};
use crate::{Inst, Op};

/// MISC-MEM.
///
/// - `fence` (funct3 000): `imm` holds bits \[31:20\] (fm, pred, succ) unsigned. The
///   unprivileged spec (section 2.7) says base implementations must ignore rs1 and
///   rd and treat reserved fm/pred/succ combinations as a plain fence, so every
///   such word is a [`Op::Fence`]; `pause` (Zihintpause, pred = W, succ = 0) and
///   `fence.tso` are fences too.
/// - `fence.i` (funct3 001, Zifencei, chapter 6): imm, rs1 and rd are likewise
///   reserved and ignored.
/// - funct3 010 is the cache-block operations (CMO spec): only `cbo.zero`
///   (Zicboz, imm = 4, rd = 0) is supported.
#[inline]
pub(super) fn misc_mem(bits: u32) -> Inst {
    match funct3(bits) {
        0b000 => inst(Op::Fence, bits, 0, 0, 0, (bits >> 20) as i32),
        0b001 => inst(Op::FenceI, bits, 0, 0, 0, 0),
        0b010 if bits >> 20 == 0b100 && rd(bits) == 0 => {
            inst(Op::CboZero, bits, 0, rs1(bits), 0, 0)
        }
        _ => illegal(bits),
    }
}

/// `ecall`, encoded with every other field zero.
const ECALL: u32 = 0x0000_0073;
/// `ebreak`.
const EBREAK: u32 = 0x0010_0073;
/// `sret` (privileged spec, section 3.3.2).
const SRET: u32 = 0x1020_0073;
/// `mret`.
const MRET: u32 = 0x3020_0073;
/// `wfi` (privileged spec, section 3.3.3).
const WFI: u32 = 0x1050_0073;
/// funct7 of `sfence.vma` (privileged spec, section 10.2.1).
const SFENCE_VMA_FUNCT7: u32 = 0b0001001;

/// SYSTEM: privileged instructions (funct3 000) and Zicsr (chapter 9).
///
/// The privileged instructions need their exact encodings; `sfence.vma` needs rd = 0
/// and funct3 = 0. The CSR number goes to `imm` unsigned (0..4095); for the
/// immediate forms the 5-bit zimm stays in `rs1`.
#[inline]
pub(super) fn system(bits: u32) -> Inst {
    let op = match funct3(bits) {
        0b000 => {
            return match bits {
                ECALL => inst(Op::Ecall, bits, 0, 0, 0, 0),
                EBREAK => inst(Op::Ebreak, bits, 0, 0, 0, 0),
                SRET => inst(Op::Sret, bits, 0, 0, 0, 0),
                MRET => inst(Op::Mret, bits, 0, 0, 0, 0),
                WFI => inst(Op::Wfi, bits, 0, 0, 0, 0),
                _ if funct7(bits) == SFENCE_VMA_FUNCT7 && rd(bits) == 0 => {
                    inst(Op::SfenceVma, bits, 0, rs1(bits), rs2(bits), 0)
                }
                _ => illegal(bits),
            }
        }
        0b001 => Op::Csrrw,
        0b010 => Op::Csrrs,
        0b011 => Op::Csrrc,
        0b101 => Op::Csrrwi,
        0b110 => Op::Csrrsi,
        0b111 => Op::Csrrci,
        _ => return illegal(bits),
    };
    inst(op, bits, rd(bits), rs1(bits), 0, (bits >> 20) as i32)
}

#[cfg(test)]
mod tests {
    use crate::{decode, Op};

    #[test]
    fn fences() {
        let i = decode(0x0ff0_000f); // fence iorw, iorw
        assert_eq!((i.op, i.imm), (Op::Fence, 0x0ff));
        let i = decode(0x8330_000f); // fence.tso
        assert_eq!((i.op, i.imm), (Op::Fence, 0x833));
        let i = decode(0x0100_000f); // pause
        assert_eq!((i.op, i.imm), (Op::Fence, 0x010));
        // Reserved rs1/rd fields are ignored.
        let i = decode(0x0ff5_850f);
        assert_eq!((i.op, i.imm, i.rd, i.rs1), (Op::Fence, 0x0ff, 0, 0));
        assert_eq!(decode(0x0000_100f).op, Op::FenceI);
        assert_eq!(decode(0x0045_200f).op, Op::CboZero);
        assert_eq!(decode(0x0015_200f).op, Op::Illegal); // cbo.clean (Zicbom)
        assert_eq!(decode(0x0045_208f).op, Op::Illegal); // cbo.zero with rd = 1
        assert_eq!(decode(0x0000_300f).op, Op::Illegal);
    }

    #[test]
    fn privileged_need_exact_encodings() {
        assert_eq!(decode(0x3020_0073).op, Op::Mret);
        assert_eq!(decode(0x1020_0073).op, Op::Sret);
        assert_eq!(decode(0x1050_0073).op, Op::Wfi);
        assert_eq!(decode(0x3020_00f3).op, Op::Illegal); // mret with rd = 1
        assert_eq!(decode(0x1050_8073).op, Op::Illegal); // wfi with rs1 = 1
        assert_eq!(decode(0x0000_0173).op, Op::Illegal); // ecall with rd = 2
        let i = decode(0x12b5_0073); // sfence.vma a0, a1
        assert_eq!((i.op, i.rs1, i.rs2), (Op::SfenceVma, 10, 11));
        assert_eq!(decode(0x12b5_00f3).op, Op::Illegal); // rd = 1
        assert_eq!(decode(0x2200_0073).op, Op::Illegal); // hfence.vvma (H)
    }

    #[test]
    fn csr_number_is_unsigned() {
        let i = decode(0xfff0_2573); // csrrs a0, 0xfff, zero
        assert_eq!((i.op, i.imm, i.rd), (Op::Csrrs, 0xfff, 10));
        let i = decode(0x3002_d573); // csrrwi a0, mstatus, 5
        assert_eq!((i.op, i.imm, i.rs1), (Op::Csrrwi, 0x300, 5));
        assert_eq!(decode(0x3000_4573).op, Op::Illegal); // funct3 100
    }
}
