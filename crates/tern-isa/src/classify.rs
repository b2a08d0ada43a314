//! Questions the execution engines ask about an operation without re-reading its
//! bits: does it end a basic block, touch memory, need the FPU?

use crate::{Inst, Op};

impl Op {
    /// A conditional branch (`beq` ... `bgeu`, and `c.beqz`/`c.bnez`).
    pub const fn is_branch(self) -> bool {
        matches!(
            self,
            Op::Beq | Op::Bne | Op::Blt | Op::Bge | Op::Bltu | Op::Bgeu
        )
    }

    /// An unconditional jump (`jal`, `jalr`, and the compressed jumps).
    pub const fn is_jump(self) -> bool {
        matches!(self, Op::Jal | Op::Jalr)
    }

    /// A load into an x or f register (not LR, see [`Op::is_atomic`]).
    pub const fn is_load(self) -> bool {
        matches!(
            self,
            Op::Lb | Op::Lh | Op::Lw | Op::Ld | Op::Lbu | Op::Lhu | Op::Lwu | Op::Flw | Op::Fld
        )
    }

    /// A store from an x or f register (not SC, see [`Op::is_atomic`]).
    pub const fn is_store(self) -> bool {
        matches!(self, Op::Sb | Op::Sh | Op::Sw | Op::Sd | Op::Fsw | Op::Fsd)
    }

    /// An A-extension instruction (LR, SC or AMO): `rm` holds `aq << 1 | rl`.
    pub const fn is_atomic(self) -> bool {
        (self as u16) >= (Op::LrW as u16) && (self as u16) <= (Op::AmomaxuD as u16)
    }

    /// An F or D instruction, including loads, stores and moves: it raises an
    /// illegal-instruction exception when `mstatus.FS` is Off (privileged spec,
    /// section 3.1.6.6).
    pub const fn is_fp(self) -> bool {
        (self as u16) >= (Op::Flw as u16) && (self as u16) <= (Op::FmvDX as u16)
    }

    /// A Zicsr instruction: `imm` holds the CSR number.
    pub const fn is_csr(self) -> bool {
        matches!(
            self,
            Op::Csrrw | Op::Csrrs | Op::Csrrc | Op::Csrrwi | Op::Csrrsi | Op::Csrrci
        )
    }
}

impl Inst {
    /// Whether this is a 16-bit (RVC) instruction.
    pub const fn is_compressed(&self) -> bool {
        self.len == 2
    }

    /// The target of a conditional branch or `jal` at `pc` (`pc + imm`), or `None`
    /// for every other operation (`jalr`'s target depends on a register).
    pub const fn target(&self, pc: u64) -> Option<u64> {
        if self.op.is_branch() || matches!(self.op, Op::Jal) {
            Some(pc.wrapping_add(self.imm as i64 as u64))
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{decode, Op};

    #[test]
    fn ranges_cover_whole_groups() {
        assert!(Op::LrW.is_atomic() && Op::AmomaxuD.is_atomic() && Op::ScD.is_atomic());
        assert!(!Op::Remuw.is_atomic() && !Op::Flw.is_atomic());
        assert!(Op::Flw.is_fp() && Op::FmvDX.is_fp() && Op::FcvtSD.is_fp());
        assert!(!Op::AmomaxuD.is_fp() && !Op::Csrrw.is_fp());
    }

    #[test]
    fn targets() {
        let i = decode(0xfeb5_0ee3); // beq a0, a1, -4
        assert_eq!(i.target(0x1000), Some(0xffc));
        assert_eq!(decode(0x0005_00e7).target(0x1000), None); // jalr
        assert!(decode(0x0505).is_compressed());
    }
}
