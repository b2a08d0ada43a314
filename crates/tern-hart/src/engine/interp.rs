//! The interpreter: runs decoded blocks.
//!
//! One `match` over the operation per instruction, operands already decoded; the pc is
//! a local and retired instructions are counted per block. A block ends early on a
//! trap; the trapping instruction does not retire.

use std::io::Write;

use tern_isa::{Inst, Op};

use crate::exec::alu::{self, sext32};
use crate::exec::system::Flow;
use crate::hart::Core;
use crate::mem::bus::Bus;
use crate::trap::Exception;

/// How a block ended.
pub(crate) enum BlockEnd {
    /// Control continues at `state.pc`.
    Continue,
    /// The hart stalls in `wfi`.
    Wait,
}

impl Core {
    /// Adds `n` retired instructions to `mcycle`/`minstret` (unless inhibited).
    #[inline(always)]
    pub(crate) fn retire(&mut self, n: u64) {
        let c = &mut self.state.csr;
        if c.mcountinhibit & 1 == 0 {
            c.cycle = c.cycle.wrapping_add(n);
        }
        if c.mcountinhibit & 4 == 0 {
            c.instret = c.instret.wrapping_add(n);
        }
    }

    fn trace_inst(&mut self, pc: u64, inst: &Inst) {
        let prv = self.state.prv as u8;
        if let Some(out) = self.trace.as_mut() {
            let bits = if inst.len == 2 {
                format!("0x{:04x}    ", inst.raw)
            } else {
                format!("0x{:08x}", inst.raw)
            };
            // A broken trace sink must not stop the guest; drop the trace instead.
            if writeln!(out, "{prv} 0x{pc:016x} ({bits}) {inst}").is_err() {
                self.trace = None;
            }
        }
    }

    /// Runs `insts` (a block starting at virtual `pc`). Returns the number of retired
    /// instructions and how the block ended; `state.pc` holds the next pc.
    #[inline(never)]
    pub(crate) fn exec_block<B: Bus, const TRACE: bool>(
        &mut self,
        insts: &[Inst],
        start_pc: u64,
        bus: &mut B,
    ) -> (u64, BlockEnd) {
        let mut pc = start_pc;
        let mut committed = 0u64;
        macro_rules! x {
            ($r:expr) => {
                self.state.x[usize::from($r & 31)]
            };
        }
        macro_rules! wx {
            ($r:expr, $v:expr) => {{
                let v = $v;
                self.state.x[usize::from($r & 31)] = v;
                self.state.x[0] = 0;
            }};
        }
        macro_rules! try_mem {
            ($e:expr, $i:expr) => {
                match $e {
                    Ok(v) => v,
                    Err(e) => return self.block_trap(e, pc, $i as u64, committed),
                }
            };
        }
        for (i, inst) in insts.iter().enumerate() {
            if TRACE {
                self.trace_inst(pc, inst);
            }
            let rd = inst.rd;
            let imm = inst.imm as i64 as u64;
            let next = pc.wrapping_add(u64::from(inst.len));
            match inst.op {
                Op::Lui => wx!(rd, imm),
                Op::Auipc => wx!(rd, pc.wrapping_add(imm)),
                Op::Jal => {
                    wx!(rd, next);
                    return self.block_jump(pc.wrapping_add(imm), i as u64 + 1, committed);
                }
                Op::Jalr => {
                    let target = x!(inst.rs1).wrapping_add(imm) & !1;
                    wx!(rd, next);
                    return self.block_jump(target, i as u64 + 1, committed);
                }
                Op::Beq | Op::Bne | Op::Blt | Op::Bge | Op::Bltu | Op::Bgeu => {
                    let (a, b) = (x!(inst.rs1), x!(inst.rs2));
                    let taken = match inst.op {
                        Op::Beq => a == b,
                        Op::Bne => a != b,
                        Op::Blt => (a as i64) < (b as i64),
                        Op::Bge => (a as i64) >= (b as i64),
                        Op::Bltu => a < b,
                        _ => a >= b,
                    };
                    let target = if taken { pc.wrapping_add(imm) } else { next };
                    return self.block_jump(target, i as u64 + 1, committed);
                }
                Op::Lb => wx!(
                    rd,
                    try_mem!(self.load::<B, 1>(x!(inst.rs1).wrapping_add(imm), bus), i) as i8
                        as u64
                ),
                Op::Lh => wx!(
                    rd,
                    try_mem!(self.load::<B, 2>(x!(inst.rs1).wrapping_add(imm), bus), i) as i16
                        as u64
                ),
                Op::Lw => wx!(
                    rd,
                    try_mem!(self.load::<B, 4>(x!(inst.rs1).wrapping_add(imm), bus), i) as i32
                        as u64
                ),
                Op::Ld => wx!(
                    rd,
                    try_mem!(self.load::<B, 8>(x!(inst.rs1).wrapping_add(imm), bus), i)
                ),
                Op::Lbu => wx!(
                    rd,
                    try_mem!(self.load::<B, 1>(x!(inst.rs1).wrapping_add(imm), bus), i)
                ),
                Op::Lhu => wx!(
                    rd,
                    try_mem!(self.load::<B, 2>(x!(inst.rs1).wrapping_add(imm), bus), i)
                ),
                Op::Lwu => wx!(
                    rd,
                    try_mem!(self.load::<B, 4>(x!(inst.rs1).wrapping_add(imm), bus), i)
                ),
                Op::Sb => try_mem!(
                    self.store::<B, 1>(x!(inst.rs1).wrapping_add(imm), x!(inst.rs2), bus),
                    i
                ),
                Op::Sh => try_mem!(
                    self.store::<B, 2>(x!(inst.rs1).wrapping_add(imm), x!(inst.rs2), bus),
                    i
                ),
                Op::Sw => try_mem!(
                    self.store::<B, 4>(x!(inst.rs1).wrapping_add(imm), x!(inst.rs2), bus),
                    i
                ),
                Op::Sd => try_mem!(
                    self.store::<B, 8>(x!(inst.rs1).wrapping_add(imm), x!(inst.rs2), bus),
                    i
                ),
                Op::Addi => wx!(rd, x!(inst.rs1).wrapping_add(imm)),
                Op::Slti => wx!(rd, u64::from((x!(inst.rs1) as i64) < imm as i64)),
                Op::Sltiu => wx!(rd, u64::from(x!(inst.rs1) < imm)),
                Op::Xori => wx!(rd, x!(inst.rs1) ^ imm),
                Op::Ori => wx!(rd, x!(inst.rs1) | imm),
                Op::Andi => wx!(rd, x!(inst.rs1) & imm),
                Op::Slli => wx!(rd, x!(inst.rs1) << (imm & 63)),
                Op::Srli => wx!(rd, x!(inst.rs1) >> (imm & 63)),
                Op::Srai => wx!(rd, ((x!(inst.rs1) as i64) >> (imm & 63)) as u64),
                Op::Add => wx!(rd, x!(inst.rs1).wrapping_add(x!(inst.rs2))),
                Op::Sub => wx!(rd, x!(inst.rs1).wrapping_sub(x!(inst.rs2))),
                Op::Sll => wx!(rd, x!(inst.rs1) << (x!(inst.rs2) & 63)),
                Op::Slt => wx!(rd, u64::from((x!(inst.rs1) as i64) < (x!(inst.rs2) as i64))),
                Op::Sltu => wx!(rd, u64::from(x!(inst.rs1) < x!(inst.rs2))),
                Op::Xor => wx!(rd, x!(inst.rs1) ^ x!(inst.rs2)),
                Op::Srl => wx!(rd, x!(inst.rs1) >> (x!(inst.rs2) & 63)),
                Op::Sra => wx!(rd, ((x!(inst.rs1) as i64) >> (x!(inst.rs2) & 63)) as u64),
                Op::Or => wx!(rd, x!(inst.rs1) | x!(inst.rs2)),
                Op::And => wx!(rd, x!(inst.rs1) & x!(inst.rs2)),
                Op::Addiw => wx!(rd, sext32(x!(inst.rs1).wrapping_add(imm))),
                Op::Slliw => wx!(rd, sext32(x!(inst.rs1) << (imm & 31))),
                Op::Srliw => wx!(rd, sext32(u64::from((x!(inst.rs1) as u32) >> (imm & 31)))),
                Op::Sraiw => wx!(rd, ((x!(inst.rs1) as i32) >> (imm & 31)) as i64 as u64),
                Op::Addw => wx!(rd, sext32(x!(inst.rs1).wrapping_add(x!(inst.rs2)))),
                Op::Subw => wx!(rd, sext32(x!(inst.rs1).wrapping_sub(x!(inst.rs2)))),
                Op::Sllw => wx!(rd, sext32(x!(inst.rs1) << (x!(inst.rs2) & 31))),
                Op::Srlw => wx!(
                    rd,
                    sext32(u64::from((x!(inst.rs1) as u32) >> (x!(inst.rs2) & 31)))
                ),
                Op::Sraw => wx!(
                    rd,
                    ((x!(inst.rs1) as i32) >> (x!(inst.rs2) & 31)) as i64 as u64
                ),
                Op::Fence => {}
                Op::Mul => wx!(rd, x!(inst.rs1).wrapping_mul(x!(inst.rs2))),
                Op::Mulh => wx!(rd, alu::mulh(x!(inst.rs1), x!(inst.rs2))),
                Op::Mulhsu => wx!(rd, alu::mulhsu(x!(inst.rs1), x!(inst.rs2))),
                Op::Mulhu => wx!(rd, alu::mulhu(x!(inst.rs1), x!(inst.rs2))),
                Op::Div => wx!(rd, alu::div(x!(inst.rs1), x!(inst.rs2))),
                Op::Divu => wx!(rd, alu::divu(x!(inst.rs1), x!(inst.rs2))),
                Op::Rem => wx!(rd, alu::rem(x!(inst.rs1), x!(inst.rs2))),
                Op::Remu => wx!(rd, alu::remu(x!(inst.rs1), x!(inst.rs2))),
                Op::Mulw => wx!(rd, sext32(x!(inst.rs1).wrapping_mul(x!(inst.rs2)))),
                Op::Divw => wx!(rd, alu::divw(x!(inst.rs1), x!(inst.rs2))),
                Op::Divuw => wx!(rd, alu::divuw(x!(inst.rs1), x!(inst.rs2))),
                Op::Remw => wx!(rd, alu::remw(x!(inst.rs1), x!(inst.rs2))),
                Op::Remuw => wx!(rd, alu::remuw(x!(inst.rs1), x!(inst.rs2))),
                Op::AddUw => wx!(rd, (x!(inst.rs1) & 0xffff_ffff).wrapping_add(x!(inst.rs2))),
                Op::Sh1add => wx!(rd, (x!(inst.rs1) << 1).wrapping_add(x!(inst.rs2))),
                Op::Sh2add => wx!(rd, (x!(inst.rs1) << 2).wrapping_add(x!(inst.rs2))),
                Op::Sh3add => wx!(rd, (x!(inst.rs1) << 3).wrapping_add(x!(inst.rs2))),
                Op::Sh1addUw => wx!(
                    rd,
                    ((x!(inst.rs1) & 0xffff_ffff) << 1).wrapping_add(x!(inst.rs2))
                ),
                Op::Sh2addUw => wx!(
                    rd,
                    ((x!(inst.rs1) & 0xffff_ffff) << 2).wrapping_add(x!(inst.rs2))
                ),
                Op::Sh3addUw => wx!(
                    rd,
                    ((x!(inst.rs1) & 0xffff_ffff) << 3).wrapping_add(x!(inst.rs2))
                ),
                Op::SlliUw => wx!(rd, (x!(inst.rs1) & 0xffff_ffff) << (imm & 63)),
                Op::Andn => wx!(rd, x!(inst.rs1) & !x!(inst.rs2)),
                Op::Orn => wx!(rd, x!(inst.rs1) | !x!(inst.rs2)),
                Op::Xnor => wx!(rd, !(x!(inst.rs1) ^ x!(inst.rs2))),
                Op::Clz => wx!(rd, u64::from(x!(inst.rs1).leading_zeros())),
                Op::Clzw => wx!(rd, u64::from((x!(inst.rs1) as u32).leading_zeros())),
                Op::Ctz => wx!(rd, u64::from(x!(inst.rs1).trailing_zeros())),
                Op::Ctzw => wx!(rd, u64::from((x!(inst.rs1) as u32).trailing_zeros())),
                Op::Cpop => wx!(rd, u64::from(x!(inst.rs1).count_ones())),
                Op::Cpopw => wx!(rd, u64::from((x!(inst.rs1) as u32).count_ones())),
                Op::Max => wx!(rd, (x!(inst.rs1) as i64).max(x!(inst.rs2) as i64) as u64),
                Op::Maxu => wx!(rd, x!(inst.rs1).max(x!(inst.rs2))),
                Op::Min => wx!(rd, (x!(inst.rs1) as i64).min(x!(inst.rs2) as i64) as u64),
                Op::Minu => wx!(rd, x!(inst.rs1).min(x!(inst.rs2))),
                Op::SextB => wx!(rd, x!(inst.rs1) as i8 as u64),
                Op::SextH => wx!(rd, x!(inst.rs1) as i16 as u64),
                Op::ZextH => wx!(rd, x!(inst.rs1) & 0xffff),
                Op::Rol => wx!(rd, x!(inst.rs1).rotate_left((x!(inst.rs2) & 63) as u32)),
                Op::Rolw => wx!(
                    rd,
                    sext32(u64::from(
                        (x!(inst.rs1) as u32).rotate_left((x!(inst.rs2) & 31) as u32)
                    ))
                ),
                Op::Ror => wx!(rd, x!(inst.rs1).rotate_right((x!(inst.rs2) & 63) as u32)),
                Op::Rorw => wx!(
                    rd,
                    sext32(u64::from(
                        (x!(inst.rs1) as u32).rotate_right((x!(inst.rs2) & 31) as u32)
                    ))
                ),
                Op::Rori => wx!(rd, x!(inst.rs1).rotate_right((imm & 63) as u32)),
                Op::Roriw => wx!(
                    rd,
                    sext32(u64::from(
                        (x!(inst.rs1) as u32).rotate_right((imm & 31) as u32)
                    ))
                ),
                Op::OrcB => wx!(rd, alu::orc_b(x!(inst.rs1))),
                Op::Rev8 => wx!(rd, x!(inst.rs1).swap_bytes()),
                Op::Bclr => wx!(rd, x!(inst.rs1) & !(1 << (x!(inst.rs2) & 63))),
                Op::Bclri => wx!(rd, x!(inst.rs1) & !(1 << (imm & 63))),
                Op::Bext => wx!(rd, (x!(inst.rs1) >> (x!(inst.rs2) & 63)) & 1),
                Op::Bexti => wx!(rd, (x!(inst.rs1) >> (imm & 63)) & 1),
                Op::Binv => wx!(rd, x!(inst.rs1) ^ (1 << (x!(inst.rs2) & 63))),
                Op::Binvi => wx!(rd, x!(inst.rs1) ^ (1 << (imm & 63))),
                Op::Bset => wx!(rd, x!(inst.rs1) | (1 << (x!(inst.rs2) & 63))),
                Op::Bseti => wx!(rd, x!(inst.rs1) | (1 << (imm & 63))),
                Op::CzeroEqz => wx!(rd, if x!(inst.rs2) == 0 { 0 } else { x!(inst.rs1) }),
                Op::CzeroNez => wx!(rd, if x!(inst.rs2) != 0 { 0 } else { x!(inst.rs1) }),
                Op::LrW
                | Op::ScW
                | Op::AmoswapW
                | Op::AmoaddW
                | Op::AmoxorW
                | Op::AmoandW
                | Op::AmoorW
                | Op::AmominW
                | Op::AmomaxW
                | Op::AmominuW
                | Op::AmomaxuW
                | Op::LrD
                | Op::ScD
                | Op::AmoswapD
                | Op::AmoaddD
                | Op::AmoxorD
                | Op::AmoandD
                | Op::AmoorD
                | Op::AmominD
                | Op::AmomaxD
                | Op::AmominuD
                | Op::AmomaxuD => wx!(rd, try_mem!(self.exec_amo(inst, bus), i)),
                Op::Flw => {
                    if !self.fpu_on() {
                        return self.block_trap(
                            Exception::illegal(inst.raw),
                            pc,
                            i as u64,
                            committed,
                        );
                    }
                    let v = try_mem!(self.load::<B, 4>(x!(inst.rs1).wrapping_add(imm), bus), i);
                    self.set_fs(rd, v as u32);
                }
                Op::Fld => {
                    if !self.fpu_on() {
                        return self.block_trap(
                            Exception::illegal(inst.raw),
                            pc,
                            i as u64,
                            committed,
                        );
                    }
                    let v = try_mem!(self.load::<B, 8>(x!(inst.rs1).wrapping_add(imm), bus), i);
                    self.set_fd(rd, v);
                }
                Op::Fsw => {
                    if !self.fpu_on() {
                        return self.block_trap(
                            Exception::illegal(inst.raw),
                            pc,
                            i as u64,
                            committed,
                        );
                    }
                    let v = self.state.f[usize::from(inst.rs2 & 31)];
                    try_mem!(
                        self.store::<B, 4>(x!(inst.rs1).wrapping_add(imm), v, bus),
                        i
                    );
                }
                Op::Fsd => {
                    if !self.fpu_on() {
                        return self.block_trap(
                            Exception::illegal(inst.raw),
                            pc,
                            i as u64,
                            committed,
                        );
                    }
                    let v = self.state.f[usize::from(inst.rs2 & 31)];
                    try_mem!(
                        self.store::<B, 8>(x!(inst.rs1).wrapping_add(imm), v, bus),
                        i
                    );
                }
                Op::Csrrw
                | Op::Csrrs
                | Op::Csrrc
                | Op::Csrrwi
                | Op::Csrrsi
                | Op::Csrrci
                | Op::Ecall
                | Op::Ebreak
                | Op::Mret
                | Op::Sret
                | Op::Wfi
                | Op::SfenceVma
                | Op::FenceI
                | Op::CboZero => {
                    // Counters read by this instruction must include everything before it.
                    self.retire(i as u64 - committed);
                    committed = i as u64;
                    match self.exec_system(inst, bus) {
                        Ok(Flow::Next) => {
                            if inst.op != Op::CboZero {
                                return self.block_jump(next, i as u64 + 1, committed);
                            }
                        }
                        Ok(Flow::Jump(target)) => {
                            return self.block_jump(target, i as u64 + 1, committed)
                        }
                        Ok(Flow::Wait) => {
                            self.state.pc = next;
                            self.retire(1);
                            return (i as u64 + 1, BlockEnd::Wait);
                        }
                        Err(e) => return self.block_trap(e, pc, i as u64, committed),
                    }
                }
                Op::Illegal => {
                    return self.block_trap(Exception::illegal(inst.raw), pc, i as u64, committed)
                }
                _ => try_mem!(self.exec_fp(inst), i),
            }
            pc = next;
        }
        self.state.pc = pc;
        let n = insts.len() as u64;
        self.retire(n - committed);
        (n, BlockEnd::Continue)
    }

    /// Ends a block with a jump to `target` after `retired` instructions, of which
    /// `committed` were already counted.
    #[inline(always)]
    fn block_jump(&mut self, target: u64, retired: u64, committed: u64) -> (u64, BlockEnd) {
        self.state.pc = target;
        self.retire(retired - committed);
        (retired, BlockEnd::Continue)
    }

    /// Ends a block with exception `e` raised by the instruction at `pc`, after
    /// `retired` instructions, of which `committed` were already counted.
    #[cold]
    fn block_trap(
        &mut self,
        e: Exception,
        pc: u64,
        retired: u64,
        committed: u64,
    ) -> (u64, BlockEnd) {
        self.retire(retired - committed);
        self.raise(e, pc);
        (retired, BlockEnd::Continue)
    }
}
