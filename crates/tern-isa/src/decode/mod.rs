//! The decoder: instruction bits to [`Inst`].
//!
//! [`decode`] splits on the instruction length (unprivileged spec, section 1.5
//! "Base Instruction-Length Encoding") and then on the major opcode, bits \[6:2\]
//! (table "RISC-V base opcode map"). Each extension's encodings live in their own
//! file; a file's functions only see words whose major opcode is theirs.
//!
//! Decoding is strict: any bit that selects an operation must match a defined
//! encoding exactly, otherwise the result is [`crate::Op::Illegal`] (so the hart raises an
//! illegal-instruction exception, as QEMU does). Fields that the specification
//! says implementations must ignore (HINT encodings, the reserved `fence` fields)
//! decode normally. The decoder uses only matches on bit fields: no tables, no
//! allocation, and no panics for any input.

mod fields;
mod rva;
mod rvc;
mod rvfd;
mod rvi;
mod rvm;
mod system;
mod zb;

use crate::Inst;

/// Decodes one instruction.
///
/// If the two low bits of `bits` are not `0b11`, the instruction is a 16-bit
/// compressed one held in the low 16 bits (the upper 16 bits are ignored, so a
/// fetcher may pass a full 32-bit window): it decodes to the base [`crate::Op`] it expands
/// to, with `len == 2` and `raw` holding the 16 bits. Otherwise it is a 32-bit
/// instruction with `len == 4`.
///
/// Unsupported or reserved encodings decode to [`crate::Op::Illegal`] with the same `raw`
/// and `len`. Encodings longer than 32 bits (low five bits `0b11111`) are illegal
/// with `len == 4`, consistent with [`crate::inst_len`].
#[inline]
pub fn decode(bits: u32) -> Inst {
    if bits & 0b11 != 0b11 {
        return rvc::decode(bits as u16);
    }
    match (bits >> 2) & 0x1f {
        0b00000 => rvi::load(bits),
        0b00001 => rvfd::load_fp(bits),
        0b00011 => system::misc_mem(bits),
        0b00100 => rvi::op_imm(bits),
        0b00101 => rvi::auipc(bits),
        0b00110 => rvi::op_imm_32(bits),
        0b01000 => rvi::store(bits),
        0b01001 => rvfd::store_fp(bits),
        0b01011 => rva::amo(bits),
        0b01100 => rvi::op(bits),
        0b01101 => rvi::lui(bits),
        0b01110 => rvi::op_32(bits),
        0b10000..=0b10011 => rvfd::fma(bits),
        0b10100 => rvfd::op_fp(bits),
        0b11000 => rvi::branch(bits),
        0b11001 => rvi::jalr(bits),
        0b11011 => rvi::jal(bits),
        0b11100 => system::system(bits),
        _ => Inst::illegal(bits, 4),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Op;

    #[test]
    fn long_encodings_are_illegal_32_bit() {
        for bits in [0x0000_001f_u32, 0x0000_003f, 0x0000_007f, 0xffff_ffff] {
            let i = decode(bits);
            assert_eq!((i.op, i.len, i.raw), (Op::Illegal, 4, bits));
        }
    }

    #[test]
    fn compressed_ignores_upper_half() {
        // c.addi a0, 1 followed by garbage in the upper half.
        let i = decode(0xdead_0505);
        assert_eq!(
            (i.op, i.len, i.raw, i.rd, i.rs1, i.imm),
            (Op::Addi, 2, 0x0505, 10, 10, 1)
        );
    }

    #[test]
    fn unassigned_major_opcodes_are_illegal() {
        // custom-0, custom-1, OP-V, OP-P style slots and reserved ones.
        for opcode in [0x0b_u32, 0x2b, 0x57, 0x5b, 0x6b, 0x77, 0x7b] {
            assert_eq!(decode(opcode).op, Op::Illegal, "{opcode:#x}");
        }
    }
}
