//! The decoded form of one instruction.

use crate::Op;

/// One decoded instruction: what the execution engines run, so that no engine ever
/// re-parses instruction bits ("decode once, execute many").
///
/// Field use by operation group (see [`Op`] for the semantics):
///
/// | field | meaning |
/// |---|---|
/// | `rd`, `rs1`, `rs2`, `rs3` | register numbers 0–31 (x or f registers by operation); unused fields are 0 |
/// | `imm` | sign-extended immediate, branch/jump offset, shift amount, CSR number, or `fence` bits \[31:20\] |
/// | `rm` | floating-point rounding mode field (0–7, 7 = dynamic); for AMOs `aq << 1 \| rl` |
/// | `len` | 2 for a compressed instruction, 4 otherwise |
/// | `raw` | the instruction bits as fetched (16 significant bits when `len == 2`) |
///
/// The layout is fixed (`#[repr(C)]`, 16 bytes) so that a JIT could read it too.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(C)]
pub struct Inst {
    /// Immediate operand; see the table above.
    pub imm: i32,
    /// The instruction bits as fetched.
    pub raw: u32,
    /// The operation.
    pub op: Op,
    /// Destination register.
    pub rd: u8,
    /// First source register (or zimm for `csrr*i`).
    pub rs1: u8,
    /// Second source register.
    pub rs2: u8,
    /// Third source register (fused multiply-add only).
    pub rs3: u8,
    /// Rounding mode (F/D) or ordering bits (A).
    pub rm: u8,
    /// Length in bytes: 2 or 4.
    pub len: u8,
}

impl Inst {
    /// An illegal instruction carrying `raw` bits of length `len`.
    pub const fn illegal(raw: u32, len: u8) -> Inst {
        Inst {
            imm: 0,
            raw,
            op: Op::Illegal,
            rd: 0,
            rs1: 0,
            rs2: 0,
            rs3: 0,
            rm: 0,
            len,
        }
    }
}

/// Length in bytes of the instruction whose first 16-bit parcel is `parcel`:
/// 2 for compressed encodings (low bits != 0b11), 4 otherwise.
///
/// Encodings longer than 32 bits are not defined by any extension this hart
/// implements; they are reported as 4 bytes and decode as [`Op::Illegal`].
pub const fn inst_len(parcel: u16) -> u8 {
    if parcel & 0b11 == 0b11 {
        4
    } else {
        2
    }
}
