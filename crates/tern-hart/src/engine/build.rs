//! Decoding a block from guest memory.

use tern_isa::{decode, inst_len, Inst, Op};

use crate::engine::cache::MAX_BLOCK;
use crate::hart::Core;
use crate::mem::bus::Bus;
use crate::trap::{Access, Exception};

/// Whether `op` must be the last instruction of a block: it changes control flow
/// unconditionally, traps by design, or changes state that the engine caches (CSRs,
/// translations, code). Conditional branches do not end a block: when not taken,
/// execution continues with the next decoded instruction (a block is a superblock
/// with side exits), which halves the number of block transitions in typical code.
pub(crate) fn ends_block(inst: &Inst) -> bool {
    if csr_read_only(inst) {
        return false;
    }
    matches!(
        inst.op,
        Op::Jal
            | Op::Jalr
            | Op::Ecall
            | Op::Ebreak
            | Op::Mret
            | Op::Sret
            | Op::Wfi
            | Op::SfenceVma
            | Op::FenceI
            | Op::Csrrw
            | Op::Csrrs
            | Op::Csrrc
            | Op::Csrrwi
            | Op::Csrrsi
            | Op::Csrrci
            | Op::Illegal
    )
}

/// Whether `inst` only reads a CSR (`csrrs`/`csrrc` with x0, or a zero immediate): it
/// changes no state the engine caches, so it need not end a block.
pub(crate) fn csr_read_only(inst: &Inst) -> bool {
    matches!(inst.op, Op::Csrrs | Op::Csrrc | Op::Csrrsi | Op::Csrrci) && inst.rs1 == 0
}

/// Whether `op` only computes a value into `rd` from registers and immediates (no
/// memory access, no trap, no other state): with `rd = x0` it does nothing at all.
fn pure_alu(op: Op) -> bool {
    use Op::*;
    matches!(
        op,
        Lui | Auipc
            | Addi
            | Slti
            | Sltiu
            | Xori
            | Ori
            | Andi
            | Slli
            | Srli
            | Srai
            | Add
            | Sub
            | Sll
            | Slt
            | Sltu
            | Xor
            | Srl
            | Sra
            | Or
            | And
            | Addiw
            | Slliw
            | Srliw
            | Sraiw
            | Addw
            | Subw
            | Sllw
            | Srlw
            | Sraw
            | Mul
            | Mulh
            | Mulhsu
            | Mulhu
            | Div
            | Divu
            | Rem
            | Remu
            | Mulw
            | Divw
            | Divuw
            | Remw
            | Remuw
            | AddUw
            | Sh1add
            | Sh2add
            | Sh3add
            | Sh1addUw
            | Sh2addUw
            | Sh3addUw
            | SlliUw
            | Andn
            | Orn
            | Xnor
            | Clz
            | Clzw
            | Ctz
            | Ctzw
            | Cpop
            | Cpopw
            | Max
            | Maxu
            | Min
            | Minu
            | SextB
            | SextH
            | ZextH
            | Rol
            | Rolw
            | Ror
            | Rorw
            | Rori
            | Roriw
            | OrcB
            | Rev8
            | Bclr
            | Bclri
            | Bext
            | Bexti
            | Binv
            | Binvi
            | Bset
            | Bseti
            | CzeroEqz
            | CzeroNez
    )
}

/// Rewrites a decoded instruction for the interpreter: pure ALU operations that write
/// x0 (HINTs such as `nop`) become a plain `fence` with no effect, so the interpreter's
/// ALU cases never need to restore x0. `raw` keeps the original bits for traces.
pub(crate) fn lower(inst: Inst) -> Inst {
    if inst.rd == 0 && pure_alu(inst.op) {
        Inst {
            op: Op::Fence,
            imm: 0,
            rs1: 0,
            rs2: 0,
            ..inst
        }
    } else {
        inst
    }
}

impl Core {
    /// Decodes the block at physical `paddr` (a direct RAM page). Returns an empty list
    /// when the first instruction crosses the page end.
    pub(crate) fn decode_block(&self, paddr: u64) -> Vec<Inst> {
        let page_end = (paddr | 0xfff) + 1;
        let mut insts = Vec::with_capacity(16);
        let mut a = paddr;
        while insts.len() < MAX_BLOCK && a + 2 <= page_end {
            // Instructions are read in 16-bit parcels, each one atomic access (another
            // hart may be writing the code: a parcel is seen whole or not at all).
            let Ok(lo) = self.ram.load(a, 2) else {
                break;
            };
            let len = u64::from(inst_len(lo as u16));
            if a + len > page_end {
                break;
            }
            let hi = match len {
                4 => match self.ram.load(a + 2, 2) {
                    Ok(hi) => hi,
                    Err(_) => break,
                },
                _ => 0,
            };
            let inst = lower(decode((lo | hi << 16) as u32));
            insts.push(inst);
            a += len;
            if ends_block(&inst) {
                break;
            }
        }
        insts
    }

    /// Fetches and decodes the single instruction at virtual `vpc` without caching it:
    /// for instructions that cross a page, or code outside plain RAM.
    pub(crate) fn fetch_uncached<B: Bus>(
        &mut self,
        vpc: u64,
        bus: &mut B,
    ) -> Result<Inst, Exception> {
        let p1 = self.translate_fetch(vpc, 2)?;
        let lo = self
            .phys_read(p1, 2, bus)
            .map_err(|_| Access::Fetch.access_fault(vpc))?;
        let mut bits = lo as u32;
        if inst_len(lo as u16) == 4 {
            let v2 = vpc.wrapping_add(2);
            let p2 = self.translate_fetch(v2, 2)?;
            let hi = self
                .phys_read(p2, 2, bus)
                .map_err(|_| Access::Fetch.access_fault(v2))?;
            bits |= (hi as u32) << 16;
        }
        Ok(lower(decode(bits)))
    }
}
