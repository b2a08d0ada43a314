//! The translator: a decoded block to x86-64 code, with `iced-x86`'s code assembler.
//!
//! Guest registers live in memory (`state.x`, addressed off `rbx`), except four
//! ([`GUEST_REGS`]) that live in callee-saved host registers from the prologue to the
//! epilogue, across chained translations; each instruction loads its operands into
//! `rax`/`rcx`, computes and stores `rd`. Loads and stores call the helpers of [`super::entry`]. The
//! translation covers the block's longest prefix of supported instructions and ends
//! with an exit word (see [`super::entry`]): at the end of the prefix the interpreter
//! goes on with the rest of the block, so counts and traps stay exact. A translation
//! of a whole block ends with a jump to the next pc, and every jump goes through the
//! chaining exit ([`Emitter::chain_tail`]).
//!
//! The code depends on nothing but the instructions and their byte offsets: the
//! block's virtual pc comes in the context (the same physical block may run at several
//! virtual addresses) and helpers come from the context's table.

use iced_x86::code_asm::*;
use iced_x86::BlockEncoderOptions;
use tern_isa::{Inst, Op};

use super::entry::{
    helper, EXIT_END, EXIT_JUMP, EXIT_TRAP, JUMP_HASH_SHIFT, JUMP_SLOTS, OFF_BUS_TOUCHED, OFF_CUR,
    OFF_DONE, OFF_EVENTS, OFF_EVENTS_SEEN, OFF_HELPERS, OFF_JUMPS, OFF_KEY, OFF_LIMIT, OFF_LINES,
    OFF_LINES_SEEN, OFF_PC, OFF_REQUESTS, OFF_TARGET, OFF_TLB_LOAD, OFF_TLB_STORE, OFF_VAL, OFF_X,
};
use crate::exec::alu;

/// A pure two-operand operation done by a Rust function (`rs1`, `rs2` or the
/// immediate).
type PureFn = extern "sysv64" fn(u64, u64) -> u64;

macro_rules! pure {
    ($($name:ident = |$a:ident, $b:ident| $e:expr;)*) => {
        $(extern "sysv64" fn $name($a: u64, $b: u64) -> u64 { $e })*
    };
}

pure! {
    p_mulhsu = |a, b| alu::mulhsu(a, b);
    p_div = |a, b| alu::div(a, b);
    p_divu = |a, b| alu::divu(a, b);
    p_rem = |a, b| alu::rem(a, b);
    p_remu = |a, b| alu::remu(a, b);
    p_divw = |a, b| alu::divw(a, b);
    p_divuw = |a, b| alu::divuw(a, b);
    p_remw = |a, b| alu::remw(a, b);
    p_remuw = |a, b| alu::remuw(a, b);
    p_add_uw = |a, b| (a & 0xffff_ffff).wrapping_add(b);
    p_sh1add = |a, b| (a << 1).wrapping_add(b);
    p_sh2add = |a, b| (a << 2).wrapping_add(b);
    p_sh3add = |a, b| (a << 3).wrapping_add(b);
    p_sh1add_uw = |a, b| ((a & 0xffff_ffff) << 1).wrapping_add(b);
    p_sh2add_uw = |a, b| ((a & 0xffff_ffff) << 2).wrapping_add(b);
    p_sh3add_uw = |a, b| ((a & 0xffff_ffff) << 3).wrapping_add(b);
    p_slli_uw = |a, b| (a & 0xffff_ffff) << (b & 63);
    p_andn = |a, b| a & !b;
    p_orn = |a, b| a | !b;
    p_xnor = |a, b| !(a ^ b);
    p_clz = |a, _b| u64::from(a.leading_zeros());
    p_clzw = |a, _b| u64::from((a as u32).leading_zeros());
    p_ctz = |a, _b| u64::from(a.trailing_zeros());
    p_ctzw = |a, _b| u64::from((a as u32).trailing_zeros());
    p_cpop = |a, _b| u64::from(a.count_ones());
    p_cpopw = |a, _b| u64::from((a as u32).count_ones());
    p_max = |a, b| (a as i64).max(b as i64) as u64;
    p_maxu = |a, b| a.max(b);
    p_min = |a, b| (a as i64).min(b as i64) as u64;
    p_minu = |a, b| a.min(b);
    p_sext_b = |a, _b| a as i8 as u64;
    p_sext_h = |a, _b| a as i16 as u64;
    p_zext_h = |a, _b| a & 0xffff;
    p_rol = |a, b| a.rotate_left((b & 63) as u32);
    p_rolw = |a, b| alu::sext32(u64::from((a as u32).rotate_left((b & 31) as u32)));
    p_ror = |a, b| a.rotate_right((b & 63) as u32);
    p_rorw = |a, b| alu::sext32(u64::from((a as u32).rotate_right((b & 31) as u32)));
    p_orc_b = |a, _b| alu::orc_b(a);
    p_rev8 = |a, _b| a.swap_bytes();
    p_bclr = |a, b| a & !(1 << (b & 63));
    p_bext = |a, b| (a >> (b & 63)) & 1;
    p_binv = |a, b| a ^ (1 << (b & 63));
    p_bset = |a, b| a | (1 << (b & 63));
    p_czero_eqz = |a, b| if b == 0 { 0 } else { a };
    p_czero_nez = |a, b| if b != 0 { 0 } else { a };
}

/// Operations done by a call to a pure function, and whether the second operand is
/// the immediate (else `rs2`).
fn pure_op(op: Op) -> Option<(PureFn, bool)> {
    use Op::*;
    Some(match op {
        Mulhsu => (p_mulhsu, false),
        Div => (p_div, false),
        Divu => (p_divu, false),
        Rem => (p_rem, false),
        Remu => (p_remu, false),
        Divw => (p_divw, false),
        Divuw => (p_divuw, false),
        Remw => (p_remw, false),
        Remuw => (p_remuw, false),
        AddUw => (p_add_uw, false),
        Sh1add => (p_sh1add, false),
        Sh2add => (p_sh2add, false),
        Sh3add => (p_sh3add, false),
        Sh1addUw => (p_sh1add_uw, false),
        Sh2addUw => (p_sh2add_uw, false),
        Sh3addUw => (p_sh3add_uw, false),
        SlliUw => (p_slli_uw, true),
        Andn => (p_andn, false),
        Orn => (p_orn, false),
        Xnor => (p_xnor, false),
        Clz => (p_clz, false),
        Clzw => (p_clzw, false),
        Ctz => (p_ctz, false),
        Ctzw => (p_ctzw, false),
        Cpop => (p_cpop, false),
        Cpopw => (p_cpopw, false),
        Max => (p_max, false),
        Maxu => (p_maxu, false),
        Min => (p_min, false),
        Minu => (p_minu, false),
        SextB => (p_sext_b, false),
        SextH => (p_sext_h, false),
        ZextH => (p_zext_h, false),
        Rol => (p_rol, false),
        Rolw => (p_rolw, false),
        Ror => (p_ror, false),
        Rorw => (p_rorw, false),
        Rori => (p_ror, true),
        Roriw => (p_rorw, true),
        OrcB => (p_orc_b, false),
        Rev8 => (p_rev8, false),
        Bclr => (p_bclr, false),
        Bclri => (p_bclr, true),
        Bext => (p_bext, false),
        Bexti => (p_bext, true),
        Binv => (p_binv, false),
        Binvi => (p_binv, true),
        Bset => (p_bset, false),
        Bseti => (p_bset, true),
        CzeroEqz => (p_czero_eqz, false),
        CzeroNez => (p_czero_nez, false),
        _ => return None,
    })
}

/// Whether the translator handles `inst`.
pub(crate) fn supported(inst: &Inst) -> bool {
    use Op::*;
    match inst.op {
        // The builder's no-op (an ALU operation on x0) is a `fence` with no sets;
        // real fences and `pause` stay with the interpreter.
        Fence => inst.imm == 0,
        Lui | Auipc | Jal | Jalr | Beq | Bne | Blt | Bge | Bltu | Bgeu | Lb | Lh | Lw | Ld
        | Lbu | Lhu | Lwu | Sb | Sh | Sw | Sd | Addi | Slti | Sltiu | Xori | Ori | Andi | Slli
        | Srli | Srai | Add | Sub | Sll | Slt | Sltu | Xor | Srl | Sra | Or | And | Addiw
        | Slliw | Srliw | Sraiw | Addw | Subw | Sllw | Srlw | Sraw | Mul | Mulh | Mulhu | Mulw => {
            true
        }
        op => pure_op(op).is_some(),
    }
}

/// Memory operand of guest register `r` (never x0 for writes).
fn xreg(r: u8) -> AsmMemoryOperand {
    qword_ptr(rbx + i32::from(r & 31) * 8)
}

/// A translation in progress.
struct Emitter {
    a: CodeAssembler,
    epilogue: CodeLabel,
    /// The chaining exit (see [`Emitter::chain_tail`]), used only if some jump
    /// reaches it.
    chain: CodeLabel,
    chained: bool,
    /// Guest registers kept in host registers: `(guest, host)`, loaded by the
    /// prologue and stored back by the epilogue.
    regs: Vec<(u8, AsmRegister64)>,
    /// Trap exits, placed after the block's code (label, instruction index).
    traps: Vec<(CodeLabel, usize)>,
}

/// Host registers that hold guest registers (callee-saved: helper calls keep them).
const HOST_REGS: [AsmRegister64; 4] = [rbp, r13, r14, r15];

/// The guest registers every translation keeps in [`HOST_REGS`]: the same in all
/// of them, so that chained translations go on with them live (loaded once on entry
/// from the run loop, stored back once at the exit to it). The stack pointer and
/// the registers compiled code uses most (a0, a4, a5).
const GUEST_REGS: [u8; 4] = [2, 10, 14, 15];

impl Emitter {
    /// The host register holding guest register `r`, if any.
    fn host(&self, r: u8) -> Option<AsmRegister64> {
        self.regs
            .iter()
            .find(|&&(g, _)| g == r & 31)
            .map(|&(_, h)| h)
    }

    /// Loads the allocated guest registers (in the prologue).
    fn load_regs(&mut self) -> Result<(), IcedError> {
        for &(g, h) in &self.regs {
            self.a.mov(h, xreg(g))?;
        }
        Ok(())
    }

    /// Stores the allocated guest registers back (in the epilogue, which every exit
    /// to the run loop goes through).
    fn store_regs(&mut self) -> Result<(), IcedError> {
        for &(g, h) in &self.regs {
            self.a.mov(xreg(g), h)?;
        }
        Ok(())
    }

    /// `dst = x[r]` (x0 reads as zero; it is zero in memory too, but this is shorter).
    fn get(&mut self, dst: AsmRegister64, r: u8) -> Result<(), IcedError> {
        if let Some(h) = self.host(r) {
            return self.a.mov(dst, h);
        }
        if r & 31 == 0 {
            let d32 = if dst == rax {
                eax
            } else if dst == rcx {
                ecx
            } else {
                esi
            };
            self.a.xor(d32, d32)
        } else {
            self.a.mov(dst, xreg(r))
        }
    }

    /// `x[rd] = rax`, unless rd is x0.
    fn put(&mut self, rd: u8) -> Result<(), IcedError> {
        if let Some(h) = self.host(rd) {
            return self.a.mov(h, rax);
        }
        if rd & 31 != 0 {
            self.a.mov(xreg(rd), rax)?;
        }
        Ok(())
    }

    /// `rax = block pc + delta`.
    fn pc_plus(&mut self, delta: i64) -> Result<(), IcedError> {
        self.a.mov(rax, qword_ptr(r12 + OFF_PC))?;
        if delta != 0 {
            self.a.mov(rdx, delta)?;
            self.a.add(rax, rdx)?;
        }
        Ok(())
    }

    /// Returns exit word `kind << 32 | at`.
    fn exit(&mut self, kind: u64, at: usize) -> Result<(), IcedError> {
        self.a.mov(rax, (kind << 32) | at as u64)?;
        self.a.jmp(self.epilogue)
    }

    /// Jumps to `rax` (the target) at instruction `k`: on to the target's
    /// translation if the chaining exit allows, else back to the caller.
    fn jump_exit(&mut self, k: usize) -> Result<(), IcedError> {
        self.a.mov(qword_ptr(r12 + OFF_TARGET), rax)?;
        self.a.mov(ecx, k as u32)?;
        self.chained = true;
        self.a.jmp(self.chain)
    }

    /// The chaining exit, shared by a translation's jumps (`rax` = target, `rcx` =
    /// index of the jump). It goes on into the target's translation, as the
    /// interpreter's `exec_block` goes on to the next block, only if the retired
    /// count stays below the caller's limit, no device was accessed, the interrupt
    /// lines and RAM events did not change, no request is pending, and the
    /// translator's jump cache holds the target under the current key (generation and
    /// fetch context: a flush of translations or of the jump cache changes the
    /// generation, so a dead translation is never entered). Otherwise it returns a
    /// jump exit.
    fn chain_tail(&mut self, mut out: CodeLabel) -> Result<(), IcedError> {
        let a = &mut self.a;
        a.lea(rdx, qword_ptr(rcx + 1))?;
        a.add(rdx, qword_ptr(r12 + OFF_DONE))?;
        a.cmp(rdx, qword_ptr(r12 + OFF_LIMIT))?;
        a.jae(out)?;
        a.mov(rsi, qword_ptr(r12 + OFF_BUS_TOUCHED))?;
        a.cmp(byte_ptr(rsi), 0)?;
        a.jne(out)?;
        a.mov(rsi, qword_ptr(r12 + OFF_LINES))?;
        a.mov(rsi, qword_ptr(rsi))?;
        a.cmp(rsi, qword_ptr(r12 + OFF_LINES_SEEN))?;
        a.jne(out)?;
        a.mov(rsi, qword_ptr(r12 + OFF_REQUESTS))?;
        a.cmp(qword_ptr(rsi), 0)?;
        a.jne(out)?;
        a.mov(rsi, qword_ptr(r12 + OFF_EVENTS))?;
        a.mov(rsi, qword_ptr(rsi))?;
        a.cmp(rsi, qword_ptr(r12 + OFF_EVENTS_SEEN))?;
        a.jne(out)?;
        // The slot: `entry::jump_slot`, 32 bytes each.
        a.mov(rsi, rax)?;
        a.shr(rsi, 1u32)?;
        a.mov(rdi, rax)?;
        a.shr(rdi, JUMP_HASH_SHIFT)?;
        a.xor(rsi, rdi)?;
        a.and(esi, (JUMP_SLOTS - 1) as u32)?;
        a.shl(esi, 5u32)?;
        a.add(rsi, qword_ptr(r12 + OFF_JUMPS))?;
        a.cmp(rax, qword_ptr(rsi))?;
        a.jne(out)?;
        a.mov(rdi, qword_ptr(rsi + 8))?;
        a.cmp(rdi, qword_ptr(r12 + OFF_KEY))?;
        a.jne(out)?;
        a.mov(qword_ptr(r12 + OFF_DONE), rdx)?;
        a.mov(qword_ptr(r12 + OFF_PC), rax)?;
        a.mov(rdi, qword_ptr(rsi + 24))?;
        a.mov(qword_ptr(r12 + OFF_CUR), rdi)?;
        a.jmp(qword_ptr(rsi + 16))?;
        a.set_label(&mut out)?;
        a.mov(rax, EXIT_JUMP << 32)?;
        a.or(rax, rcx)?;
        a.jmp(self.epilogue)
    }

    /// Calls memory helper `h` (rsi = address, rdx = value already set); traps exit.
    fn call_helper(&mut self, h: usize, k: usize) -> Result<(), IcedError> {
        self.a.mov(rdi, r12)?;
        self.a.call(qword_ptr(r12 + OFF_HELPERS + (h as i32) * 8))?;
        let trap = self.a.create_label();
        self.a.test(rax, rax)?;
        self.a.jnz(trap)?;
        self.traps.push((trap, k));
        Ok(())
    }

    /// The TLB fast path's check for an `n`-byte access at `rsi` in the table at
    /// `table` of the context: jumps to `miss` unless the entry maps the page and the
    /// access is naturally aligned (the interpreter's one compare); on a hit `rax`
    /// is the host address.
    fn tlb_check(&mut self, table: i32, n: i32, miss: CodeLabel) -> Result<(), IcedError> {
        let a = &mut self.a;
        a.mov(rax, rsi)?;
        a.shr(rax, 12u32)?;
        a.and(eax, 255)?;
        a.shl(eax, 4u32)?;
        a.add(rax, qword_ptr(r12 + table))?;
        a.mov(rdx, rsi)?;
        a.and(rdx, -4096 | (n - 1))?;
        a.cmp(rdx, qword_ptr(rax))?;
        a.jne(miss)?;
        a.mov(rax, qword_ptr(rax + 8))?;
        a.add(rax, rsi)
    }

    /// `rsi = x[rs1] + imm`.
    fn address(&mut self, i: &Inst) -> Result<(), IcedError> {
        self.get(rsi, i.rs1)?;
        if i.imm != 0 {
            self.a.add(rsi, i.imm)?;
        }
        Ok(())
    }

    /// Emits instruction `k` at byte offset `off`; returns true if it ends the block.
    fn inst(&mut self, i: &Inst, k: usize, off: u16) -> Result<bool, IcedError> {
        use Op::*;
        let imm = i.imm;
        let here = i64::from(off);
        match i.op {
            Fence => {}
            Lui => {
                self.a.mov(rax, i64::from(imm))?;
                self.put(i.rd)?;
            }
            Auipc => {
                self.pc_plus(here + i64::from(imm))?;
                self.put(i.rd)?;
            }
            Jal => {
                self.pc_plus(here + i64::from(i.len))?;
                self.put(i.rd)?;
                self.pc_plus(here + i64::from(imm))?;
                self.jump_exit(k)?;
                return Ok(true);
            }
            Jalr => {
                self.get(rcx, i.rs1)?;
                if imm != 0 {
                    self.a.add(rcx, imm)?;
                }
                self.a.and(rcx, -2)?;
                self.pc_plus(here + i64::from(i.len))?;
                self.put(i.rd)?;
                self.a.mov(rax, rcx)?;
                self.jump_exit(k)?;
                return Ok(true);
            }
            Beq | Bne | Blt | Bge | Bltu | Bgeu => {
                self.get(rax, i.rs1)?;
                self.get(rcx, i.rs2)?;
                self.a.cmp(rax, rcx)?;
                let mut not_taken = self.a.create_label();
                match i.op {
                    Beq => self.a.jne(not_taken)?,
                    Bne => self.a.je(not_taken)?,
                    Blt => self.a.jge(not_taken)?,
                    Bge => self.a.jl(not_taken)?,
                    Bltu => self.a.jae(not_taken)?,
                    _ => self.a.jb(not_taken)?,
                }
                self.pc_plus(here + i64::from(imm))?;
                self.jump_exit(k)?;
                self.a.set_label(&mut not_taken)?;
            }
            Lb | Lh | Lw | Ld | Lbu | Lhu | Lwu => {
                let h = match i.op {
                    Lb => helper::LB,
                    Lh => helper::LH,
                    Lw => helper::LW,
                    Ld => helper::LD,
                    Lbu => helper::LBU,
                    Lhu => helper::LHU,
                    _ => helper::LWU,
                };
                let n = match i.op {
                    Lb | Lbu => 1,
                    Lh | Lhu => 2,
                    Lw | Lwu => 4,
                    _ => 8,
                };
                self.address(i)?;
                let mut miss = self.a.create_label();
                let mut join = self.a.create_label();
                self.tlb_check(OFF_TLB_LOAD, n, miss)?;
                let a = &mut self.a;
                match i.op {
                    Lb => a.movsx(rax, byte_ptr(rax))?,
                    Lh => a.movsx(rax, word_ptr(rax))?,
                    Lw => a.movsxd(rax, dword_ptr(rax))?,
                    Ld => a.mov(rax, qword_ptr(rax))?,
                    Lbu => a.movzx(eax, byte_ptr(rax))?,
                    Lhu => a.movzx(eax, word_ptr(rax))?,
                    _ => a.mov(eax, dword_ptr(rax))?,
                }
                a.jmp(join)?;
                self.a.set_label(&mut miss)?;
                self.call_helper(h, k)?;
                self.a.mov(rax, qword_ptr(r12 + OFF_VAL))?;
                self.a.set_label(&mut join)?;
                self.put(i.rd)?;
            }
            Sb | Sh | Sw | Sd => {
                let h = match i.op {
                    Sb => helper::SB,
                    Sh => helper::SH,
                    Sw => helper::SW,
                    _ => helper::SD,
                };
                let n = match i.op {
                    Sb => 1,
                    Sh => 2,
                    Sw => 4,
                    _ => 8,
                };
                self.address(i)?;
                self.get(rcx, i.rs2)?;
                let mut miss = self.a.create_label();
                let mut join = self.a.create_label();
                self.tlb_check(OFF_TLB_STORE, n, miss)?;
                let a = &mut self.a;
                match n {
                    1 => a.mov(byte_ptr(rax), cl)?,
                    2 => a.mov(word_ptr(rax), cx)?,
                    4 => a.mov(dword_ptr(rax), ecx)?,
                    _ => a.mov(qword_ptr(rax), rcx)?,
                }
                a.jmp(join)?;
                self.a.set_label(&mut miss)?;
                self.a.mov(rdx, rcx)?;
                self.call_helper(h, k)?;
                self.a.set_label(&mut join)?;
            }
            Addi | Xori | Ori | Andi | Slti | Sltiu | Addiw => {
                self.get(rax, i.rs1)?;
                let a = &mut self.a;
                match i.op {
                    Addi => a.add(rax, imm)?,
                    Xori => a.xor(rax, imm)?,
                    Ori => a.or(rax, imm)?,
                    Andi => a.and(rax, imm)?,
                    Slti | Sltiu => {
                        a.cmp(rax, imm)?;
                        if i.op == Slti {
                            a.setl(cl)?;
                        } else {
                            a.setb(cl)?;
                        }
                        a.movzx(eax, cl)?;
                    }
                    _ => {
                        a.add(eax, imm)?;
                        a.movsxd(rax, eax)?;
                    }
                }
                self.put(i.rd)?;
            }
            Slli | Srli | Srai => {
                self.get(rax, i.rs1)?;
                let sh = (imm & 63) as u32;
                match i.op {
                    Slli => self.a.shl(rax, sh)?,
                    Srli => self.a.shr(rax, sh)?,
                    _ => self.a.sar(rax, sh)?,
                }
                self.put(i.rd)?;
            }
            Slliw | Srliw | Sraiw => {
                self.get(rax, i.rs1)?;
                let sh = (imm & 31) as u32;
                match i.op {
                    Slliw => self.a.shl(eax, sh)?,
                    Srliw => self.a.shr(eax, sh)?,
                    _ => self.a.sar(eax, sh)?,
                }
                self.a.movsxd(rax, eax)?;
                self.put(i.rd)?;
            }
            Add | Sub | Xor | Or | And | Sll | Srl | Sra | Slt | Sltu | Mul | Mulh | Mulhu
            | Addw | Subw | Sllw | Srlw | Sraw | Mulw => {
                self.get(rax, i.rs1)?;
                self.get(rcx, i.rs2)?;
                let a = &mut self.a;
                match i.op {
                    Add => a.add(rax, rcx)?,
                    Sub => a.sub(rax, rcx)?,
                    Xor => a.xor(rax, rcx)?,
                    Or => a.or(rax, rcx)?,
                    And => a.and(rax, rcx)?,
                    Sll => a.shl(rax, cl)?,
                    Srl => a.shr(rax, cl)?,
                    Sra => a.sar(rax, cl)?,
                    Slt | Sltu => {
                        a.cmp(rax, rcx)?;
                        if i.op == Slt {
                            a.setl(cl)?;
                        } else {
                            a.setb(cl)?;
                        }
                        a.movzx(eax, cl)?;
                    }
                    Mul => a.imul_2(rax, rcx)?,
                    Mulh | Mulhu => {
                        if i.op == Mulh {
                            a.imul(rcx)?;
                        } else {
                            a.mul(rcx)?;
                        }
                        a.mov(rax, rdx)?;
                    }
                    _ => {
                        match i.op {
                            Addw => a.add(eax, ecx)?,
                            Subw => a.sub(eax, ecx)?,
                            Sllw => a.shl(eax, cl)?,
                            Srlw => a.shr(eax, cl)?,
                            Sraw => a.sar(eax, cl)?,
                            _ => a.imul_2(eax, ecx)?,
                        }
                        a.movsxd(rax, eax)?;
                    }
                }
                self.put(i.rd)?;
            }
            op => {
                let Some((f, with_imm)) = pure_op(op) else {
                    return Ok(false);
                };
                self.get(rcx, i.rs1)?;
                self.a.mov(rdi, rcx)?;
                if with_imm {
                    self.a.mov(rsi, i64::from(imm))?;
                } else {
                    self.get(rsi, i.rs2)?;
                }
                self.a.mov(rax, f as usize as u64)?;
                self.a.call(rax)?;
                self.put(i.rd)?;
            }
        }
        Ok(false)
    }
}

/// A block's host code.
pub(crate) struct Translation {
    /// The code, assembled for the address given to [`translate`].
    pub code: Vec<u8>,
    /// Guest instructions covered (a prefix of the block).
    pub insts: usize,
    /// Offset of the body, past the prologue: where chained blocks jump in.
    pub body: u32,
}

/// Translates the longest supported prefix of a block for code address `ip`. Returns
/// the code and how many instructions it covers, or `None` if not even the first
/// instruction is supported (or the assembler failed).
pub(crate) fn translate(insts: &[Inst], offs: &[u16], ip: u64) -> Option<Translation> {
    let n = insts.iter().take_while(|i| supported(i)).count();
    if n == 0 {
        return None;
    }
    let body = || -> Result<Translation, IcedError> {
        let mut a = CodeAssembler::new(64)?;
        let epilogue = a.create_label();
        let chain = a.create_label();
        let mut e = Emitter {
            a,
            epilogue,
            chain,
            chained: false,
            regs: GUEST_REGS.into_iter().zip(HOST_REGS).collect(),
            traps: Vec::new(),
        };
        // rbx: guest registers, r12: the context, HOST_REGS: allocated guest
        // registers; six pushes and the return address leave rsp 8 off 16-alignment.
        e.a.push(rbx)?;
        e.a.push(r12)?;
        e.a.push(rbp)?;
        e.a.push(r13)?;
        e.a.push(r14)?;
        e.a.push(r15)?;
        e.a.sub(rsp, 8)?;
        e.a.mov(r12, rdi)?;
        e.a.mov(rbx, qword_ptr(rdi + OFF_X))?;
        // Chained blocks enter here, with rbx, r12 and the stack already set up.
        e.load_regs()?;
        let mut body = e.a.create_label();
        e.a.set_label(&mut body)?;
        let mut ended = false;
        for (k, (i, &off)) in insts.iter().zip(offs).take(n).enumerate() {
            if e.inst(i, k, off)? {
                ended = true;
                break;
            }
        }
        if !ended {
            match (insts.len() == n, insts.last(), offs.get(n.wrapping_sub(1))) {
                // The whole block: its end is a jump to the next pc, which may chain.
                (true, Some(last), Some(&off)) => {
                    e.pc_plus(i64::from(off) + i64::from(last.len))?;
                    e.jump_exit(n - 1)?;
                }
                // A prefix: the interpreter runs the rest.
                _ => e.exit(EXIT_END, n)?,
            }
        }
        if e.chained {
            let out = e.a.create_label();
            let mut chain = e.chain;
            e.a.set_label(&mut chain)?;
            e.chain_tail(out)?;
        }
        for (mut label, k) in std::mem::take(&mut e.traps) {
            e.a.set_label(&mut label)?;
            e.exit(EXIT_TRAP, k)?;
        }
        let mut epilogue = e.epilogue;
        e.a.set_label(&mut epilogue)?;
        e.store_regs()?;
        e.a.add(rsp, 8)?;
        e.a.pop(r15)?;
        e.a.pop(r14)?;
        e.a.pop(r13)?;
        e.a.pop(rbp)?;
        e.a.pop(r12)?;
        e.a.pop(rbx)?;
        e.a.ret()?;
        let result =
            e.a.assemble_options(ip, BlockEncoderOptions::RETURN_NEW_INSTRUCTION_OFFSETS)?;
        let body = result.label_ip(&body)?.wrapping_sub(ip) as u32;
        Ok(Translation {
            code: result.inner.code_buffer,
            insts: n,
            body,
        })
    };
    body().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tern_isa::decode;

    /// Every supported operation assembles (an assembler error would silently leave
    /// blocks untranslated), alone and after every other one (labels of one
    /// instruction must not collide with the next).
    #[test]
    fn every_supported_instruction_translates() {
        let words: [u32; 24] = [
            0x0000_0093,
            0x0020_81b3,
            0x4020_81b3,
            0x0020_91b3,
            0x0000_8183,
            0x0000_b183,
            0x0030_8023,
            0x0030_b023,
            0x0030_9023,
            0x0030_a023,
            0x0010_8463,
            0x0010_9463,
            0x0010_c463,
            0x0010_d463,
            0x0010_e463,
            0x0010_f463,
            0x0220_81b3,
            0x0220_c1b3,
            0x0000_0197,
            0x1234_51b7,
            0x0000_e183,
            0x0000_0013,
            0x0820_81bb,
            0x6000_9193,
        ];
        let insts: Vec<Inst> = words.iter().map(|&w| decode(w)).collect();
        assert!(insts.iter().all(supported), "{insts:?}");
        let offs: Vec<u16> = (0..insts.len() as u16).map(|k| k * 4).collect();
        let t = translate(&insts, &offs, 0x1000).expect("translates");
        assert_eq!(t.insts, insts.len());
        assert!(!t.code.is_empty());
        assert!((t.body as usize) < t.code.len());
        for k in 0..insts.len() {
            let one = [insts[k], insts[(k + 1) % insts.len()]];
            assert!(
                translate(&one, &[0, 4], 0x1000).is_some(),
                "{:?}",
                one[0].op
            );
        }
    }
}
