//! The interpreter: runs decoded blocks.
//!
//! One `match` over the operation per instruction, operands already decoded; the pc is
//! a local and retired instructions are counted per block. A block ends early on a
//! trap; the trapping instruction does not retire.

use std::io::Write;

use tern_isa::{Inst, Op};

use crate::engine::build::csr_read_only;
use crate::engine::cache::BlockCache;
use crate::exec::alu::{self, sext32};
use crate::exec::system::Flow;
use crate::hart::Core;
use crate::mem::bus::Bus;
use crate::trap::Exception;

/// Bits [31:20] of the `pause` instruction.
const PAUSE_BITS: i32 = 0x010;
/// Yield the host thread once per this many `pause` hints.
const PAUSES_PER_YIELD: u32 = 8;

/// How a block ended.
pub(crate) enum BlockEnd {
    /// Control continues at `state.pc`.
    Continue,
    /// The hart stalls in `wfi`.
    Wait,
}

impl Core {
    /// A spin-wait hint: yields the host thread every few calls.
    #[cold]
    fn pause_hint(&mut self) {
        self.pauses = self.pauses.wrapping_add(1);
        if self.pauses.is_multiple_of(PAUSES_PER_YIELD) {
            std::thread::yield_now();
        }
    }

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
            // Print the instruction as fetched, not as lowered for the interpreter.
            let shown = tern_isa::decode(inst.raw);
            // A broken trace sink must not stop the guest; drop the trace instead.
            if writeln!(out, "{prv} 0x{pc:016x} ({bits}) {shown}").is_err() {
                self.trace = None;
            }
        }
    }

    /// Runs the block `first` (starting at virtual `start_pc`), then the blocks that
    /// follow it as long as the jump cache knows them, nothing needs the run loop's
    /// attention, and fewer than `budget` instructions retired. Returns the number of
    /// retired instructions and how execution ended; `state.pc` holds the next pc.
    ///
    /// Chaining blocks here, rather than returning to the run loop after each one,
    /// removes most of the per-block cost; the run loop still handles everything
    /// else (interrupts, invalidations, decoding, the bus asking to stop).
    #[inline(never)]
    pub(crate) fn exec_block<B: Bus, const TRACE: bool>(
        &mut self,
        cache: &BlockCache,
        first: (&[Inst], &[u16]),
        start_pc: u64,
        budget: u64,
        bus: &mut B,
    ) -> (u64, BlockEnd) {
        // `pc` is where execution continues when the current block ends; `block_pc` is
        // where the current block starts. An instruction's own pc is computed from its
        // offset only when needed (pc-relative operations, jumps, traps), which keeps
        // pc bookkeeping out of the hot loop.
        let mut pc = start_pc;
        let mut block_pc = start_pc;
        // Instructions counted into mcycle/minstret so far, and retired in the blocks
        // finished so far (both since this call started).
        let mut committed = 0u64;
        let mut done = 0u64;
        let lines_at_entry = self.lines.get();
        let (mut insts, mut offs) = first;
        let mut base = insts.as_ptr() as usize;
        // Position of an instruction in this call's instruction stream, from its
        // address (cheaper than keeping a counter in the hot loop).
        macro_rules! index {
            ($inst:expr) => {
                done as usize + ($inst as *const Inst as usize - base) / std::mem::size_of::<Inst>()
            };
        }
        // The pc of an instruction of the current block, and the pc after it.
        macro_rules! here {
            ($inst:expr) => {{
                let k = ($inst as *const Inst as usize - base) / std::mem::size_of::<Inst>();
                block_pc.wrapping_add(u64::from(offs.get(k).copied().unwrap_or(0)))
            }};
        }
        macro_rules! next {
            ($inst:expr) => {
                here!($inst).wrapping_add(u64::from($inst.len))
            };
        }
        macro_rules! x {
            ($r:expr) => {
                self.state.x[usize::from($r & 31)]
            };
        }
        // Writes rd of a plain ALU operation: the block builder has already turned those
        // with rd = x0 into no-ops (see `engine::build::lower`), so x0 stays zero.
        macro_rules! wx {
            ($r:expr, $v:expr) => {{
                let v = $v;
                self.state.x[usize::from($r & 31)] = v;
            }};
        }
        // Writes rd of an operation that must run even when rd = x0 (loads, jumps,
        // atomics), and keeps x0 zero.
        macro_rules! wx0 {
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
                    Err(e) => return self.block_trap(e, here!($i), index!($i) as u64, committed),
                }
            };
        }
        loop {
            let mut leave = false;
            let retired_here: u64 = 'block: {
                // Ends this block: continue at `$target`; `$leave` forces a return to the run loop.
                macro_rules! jump {
                    ($target:expr, $inst:expr, $leave:expr) => {{
                        pc = $target;
                        leave = $leave;
                        break 'block (index!($inst) as u64 + 1 - done);
                    }};
                }
                // A conditional branch: taken ends the block, not taken falls through.
                macro_rules! branch {
                    ($taken:expr, $inst:expr, $imm:expr) => {
                        if $taken {
                            jump!(here!($inst).wrapping_add($imm), $inst, false);
                        }
                    };
                }
                for inst in insts {
                    if TRACE {
                        let pc = here!(inst);
                        self.trace_inst(pc, inst);
                    }
                    let rd = inst.rd;
                    let imm = inst.imm as i64 as u64;
                    match inst.op {
                        Op::Lui => wx!(rd, imm),
                        Op::Auipc => wx!(rd, here!(inst).wrapping_add(imm)),
                        Op::Jal => {
                            wx0!(rd, next!(inst));
                            jump!(here!(inst).wrapping_add(imm), inst, false);
                        }
                        Op::Jalr => {
                            let target = x!(inst.rs1).wrapping_add(imm) & !1;
                            wx0!(rd, next!(inst));
                            jump!(target, inst, false);
                        }
                        // One arm per condition: a shared arm would dispatch a
                        // second time on the condition (a second indirect jump).
                        Op::Beq => branch!(x!(inst.rs1) == x!(inst.rs2), inst, imm),
                        Op::Bne => branch!(x!(inst.rs1) != x!(inst.rs2), inst, imm),
                        Op::Blt => {
                            branch!((x!(inst.rs1) as i64) < (x!(inst.rs2) as i64), inst, imm)
                        }
                        Op::Bge => {
                            branch!((x!(inst.rs1) as i64) >= (x!(inst.rs2) as i64), inst, imm)
                        }
                        Op::Bltu => branch!(x!(inst.rs1) < x!(inst.rs2), inst, imm),
                        Op::Bgeu => branch!(x!(inst.rs1) >= x!(inst.rs2), inst, imm),
                        Op::Lb => wx0!(
                            rd,
                            try_mem!(self.load::<B, 1>(x!(inst.rs1).wrapping_add(imm), bus), inst)
                                as i8 as u64
                        ),
                        Op::Lh => wx0!(
                            rd,
                            try_mem!(self.load::<B, 2>(x!(inst.rs1).wrapping_add(imm), bus), inst)
                                as i16 as u64
                        ),
                        Op::Lw => wx0!(
                            rd,
                            try_mem!(self.load::<B, 4>(x!(inst.rs1).wrapping_add(imm), bus), inst)
                                as i32 as u64
                        ),
                        Op::Ld => wx0!(
                            rd,
                            try_mem!(self.load::<B, 8>(x!(inst.rs1).wrapping_add(imm), bus), inst)
                        ),
                        Op::Lbu => wx0!(
                            rd,
                            try_mem!(self.load::<B, 1>(x!(inst.rs1).wrapping_add(imm), bus), inst)
                        ),
                        Op::Lhu => wx0!(
                            rd,
                            try_mem!(self.load::<B, 2>(x!(inst.rs1).wrapping_add(imm), bus), inst)
                        ),
                        Op::Lwu => wx0!(
                            rd,
                            try_mem!(self.load::<B, 4>(x!(inst.rs1).wrapping_add(imm), bus), inst)
                        ),
                        Op::Sb => try_mem!(
                            self.store::<B, 1>(x!(inst.rs1).wrapping_add(imm), x!(inst.rs2), bus),
                            inst
                        ),
                        Op::Sh => try_mem!(
                            self.store::<B, 2>(x!(inst.rs1).wrapping_add(imm), x!(inst.rs2), bus),
                            inst
                        ),
                        Op::Sw => try_mem!(
                            self.store::<B, 4>(x!(inst.rs1).wrapping_add(imm), x!(inst.rs2), bus),
                            inst
                        ),
                        Op::Sd => try_mem!(
                            self.store::<B, 8>(x!(inst.rs1).wrapping_add(imm), x!(inst.rs2), bus),
                            inst
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
                        Op::Slt => {
                            wx!(rd, u64::from((x!(inst.rs1) as i64) < (x!(inst.rs2) as i64)))
                        }
                        Op::Sltu => wx!(rd, u64::from(x!(inst.rs1) < x!(inst.rs2))),
                        Op::Xor => wx!(rd, x!(inst.rs1) ^ x!(inst.rs2)),
                        Op::Srl => wx!(rd, x!(inst.rs1) >> (x!(inst.rs2) & 63)),
                        Op::Sra => wx!(rd, ((x!(inst.rs1) as i64) >> (x!(inst.rs2) & 63)) as u64),
                        Op::Or => wx!(rd, x!(inst.rs1) | x!(inst.rs2)),
                        Op::And => wx!(rd, x!(inst.rs1) & x!(inst.rs2)),
                        Op::Addiw => wx!(rd, sext32(x!(inst.rs1).wrapping_add(imm))),
                        Op::Slliw => wx!(rd, sext32(x!(inst.rs1) << (imm & 31))),
                        Op::Srliw => {
                            wx!(rd, sext32(u64::from((x!(inst.rs1) as u32) >> (imm & 31))))
                        }
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
                        // `pause` (Zihintpause: fence with pred = W, succ = 0) marks a
                        // spin-wait loop: let the host run other threads now and
                        // then, so that the hart being waited for gets a CPU (like
                        // pause-loop exiting under KVM).
                        Op::Fence if inst.imm == PAUSE_BITS => self.pause_hint(),
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
                        Op::AddUw => {
                            wx!(rd, (x!(inst.rs1) & 0xffff_ffff).wrapping_add(x!(inst.rs2)))
                        }
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
                        | Op::AmomaxuD => wx0!(rd, try_mem!(self.exec_amo(inst, bus), inst)),
                        Op::Flw => {
                            if !self.fpu_on() {
                                return self.block_trap(
                                    Exception::illegal(inst.raw),
                                    here!(inst),
                                    index!(inst) as u64,
                                    committed,
                                );
                            }
                            let v = try_mem!(
                                self.load::<B, 4>(x!(inst.rs1).wrapping_add(imm), bus),
                                inst
                            );
                            self.set_fs(rd, v as u32);
                        }
                        Op::Fld => {
                            if !self.fpu_on() {
                                return self.block_trap(
                                    Exception::illegal(inst.raw),
                                    here!(inst),
                                    index!(inst) as u64,
                                    committed,
                                );
                            }
                            let v = try_mem!(
                                self.load::<B, 8>(x!(inst.rs1).wrapping_add(imm), bus),
                                inst
                            );
                            self.set_fd(rd, v);
                        }
                        Op::Fsw => {
                            if !self.fpu_on() {
                                return self.block_trap(
                                    Exception::illegal(inst.raw),
                                    here!(inst),
                                    index!(inst) as u64,
                                    committed,
                                );
                            }
                            let v = self.state.f[usize::from(inst.rs2 & 31)];
                            try_mem!(
                                self.store::<B, 4>(x!(inst.rs1).wrapping_add(imm), v, bus),
                                inst
                            );
                        }
                        Op::Fsd => {
                            if !self.fpu_on() {
                                return self.block_trap(
                                    Exception::illegal(inst.raw),
                                    here!(inst),
                                    index!(inst) as u64,
                                    committed,
                                );
                            }
                            let v = self.state.f[usize::from(inst.rs2 & 31)];
                            try_mem!(
                                self.store::<B, 8>(x!(inst.rs1).wrapping_add(imm), v, bus),
                                inst
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
                            self.retire(index!(inst) as u64 - committed);
                            committed = index!(inst) as u64;
                            match self.exec_system(inst, bus) {
                                Ok(Flow::Next) => {
                                    if inst.op != Op::CboZero && !csr_read_only(inst) {
                                        jump!(next!(inst), inst, true);
                                    }
                                }
                                Ok(Flow::Jump(target)) => jump!(target, inst, true),
                                Ok(Flow::Wait) => {
                                    self.state.pc = next!(inst);
                                    self.retire(1);
                                    return (index!(inst) as u64 + 1, BlockEnd::Wait);
                                }
                                Err(e) => {
                                    return self.block_trap(
                                        e,
                                        here!(inst),
                                        index!(inst) as u64,
                                        committed,
                                    )
                                }
                            }
                        }
                        Op::Illegal => {
                            return self.block_trap(
                                Exception::illegal(inst.raw),
                                here!(inst),
                                index!(inst) as u64,
                                committed,
                            )
                        }
                        _ => try_mem!(self.exec_fp(inst), inst),
                    }
                }
                if let Some(last) = insts.last() {
                    pc = next!(last);
                }
                insts.len() as u64
            };
            done += retired_here;
            if leave
                || done >= budget
                || self.bus_touched
                || self.lines.get() != lines_at_entry
                || self.lines.has_requests()
                || self.ram.events() != self.ram_events_seen
            {
                break;
            }
            match cache.lookup_jump(pc, self.fetch_ctx) {
                Some(i) => {
                    (insts, offs) = cache.block(i);
                    base = insts.as_ptr() as usize;
                    block_pc = pc;
                }
                None => break,
            }
        }
        self.state.pc = pc;
        self.retire(done - committed);
        (done, BlockEnd::Continue)
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
