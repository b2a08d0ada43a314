//! The interpreter: runs decoded blocks and chains them.
//!
//! The instructions of a block run through the threaded operation handlers of
//! [`crate::engine::ops`], operands already decoded; retired instructions are counted
//! per block. A block ends early on a trap; the trapping instruction does not retire.

use std::io::Write;

use tern_isa::{Inst, Op};

use crate::engine::build::csr_read_only;
use crate::engine::cache::{BlockCache, BlockRef};
use crate::engine::ops::{dispatch, Ctx, Stop};
use crate::exec::system::Flow;
use crate::hart::Core;
use crate::mem::bus::Bus;
use crate::trap::Exception;
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
    pub(crate) fn pause_hint(&mut self) {
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

    /// Writes instruction `inst` at `pc` to the trace.
    pub(crate) fn trace_inst(&mut self, pc: u64, inst: &Inst) {
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

    /// Tells the observer (if any) that `n` instructions of the block at `pc` retired.
    pub(crate) fn observe_block(&mut self, pc: u64, n: usize) {
        if n != 0 {
            if let Some(o) = self.observer.as_mut() {
                o.on_block(pc, n as u64);
            }
        }
    }

    /// Tells the observer (if it wants them) of a memory access by the instruction
    /// at `pc`.
    #[inline]
    pub(crate) fn observe_mem(&mut self, pc: u64, vaddr: u64, size: u8, store: bool) {
        if self.observe_mem {
            if let Some(o) = self.observer.as_mut() {
                o.on_mem(pc, vaddr, size, store);
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
    /// else (interrupts, invalidations, decoding, the bus asking to stop). Within a
    /// block the operation handlers run one another (see [`crate::engine::ops`]);
    /// system instructions come back here.
    #[inline(never)]
    pub(crate) fn exec_block<B: Bus, const TRACE: bool>(
        &mut self,
        cache: &BlockCache,
        first: (&[Inst], &[u16]),
        first_start: u32,
        start_pc: u64,
        budget: u64,
        bus: &mut B,
    ) -> (u64, BlockEnd) {
        // `pc` is where execution continues when the current block ends.
        let mut pc = start_pc;
        // Instructions counted into mcycle/minstret so far, and retired in the blocks
        // finished so far (both since this call started).
        let mut committed = 0u64;
        let mut done = 0u64;
        let lines_at_entry = self.lines.get();
        let (mut insts, mut offs) = first;
        let mut start = first_start;
        // Translated code runs unless instructions are traced or a debugger watches.
        // (With the interpreter engine this one test is all the translator costs.)
        let jit = !TRACE && !self.debug_armed && cache.jit.is_on();
        loop {
            let mut ctx = Ctx { pc, insts, offs };
            let mut from = 0;
            let mut leave = false;
            let mut translation = None;
            if jit {
                if cache.jit.wants(start) {
                    cache.jit.translate(start, insts, offs);
                }
                translation = cache.jit.enter(start);
                if let Some(t) = translation {
                    cache
                        .jit
                        .remember(pc, self.fetch_ctx, start, insts.len() as u16, t);
                }
            }
            // Instructions of this block that retired.
            let retired_here = loop {
                let limit = budget.saturating_sub(done);
                let exit = match translation.take().and_then(|t| {
                    self.run_translation(&cache.jit, t, pc, limit, lines_at_entry, bus)
                }) {
                    Some((e, chained)) => {
                        // The translation went on into others: the exit is in the
                        // last one, and the blocks before it retired.
                        if let Some(c) = chained {
                            done += c.retired;
                            pc = c.pc;
                            (insts, offs) = cache.block(BlockRef::at(c.start, c.len));
                            ctx = Ctx { pc, insts, offs };
                        }
                        // The translated prefix ended inside the block: interpret
                        // the rest.
                        if e.stop == Stop::End && e.at < insts.len() {
                            from = e.at;
                            continue;
                        }
                        e
                    }
                    None => dispatch::<B, TRACE>(self, bus, insts.get(from..).unwrap_or(&[]), &ctx),
                };
                let k = exit.at;
                // Tests in order of frequency, and no more than three: a `match` here
                // becomes a jump table, one more indirect jump to mispredict per block.
                if exit.stop == Stop::Jump {
                    pc = self.state.pc;
                    break k + 1;
                }
                if exit.stop == Stop::End {
                    if let Some(last) = insts.len().checked_sub(1) {
                        pc = ctx.next_pc(last);
                    }
                    break insts.len();
                }
                if exit.stop == Stop::Trap {
                    if TRACE {
                        self.observe_block(ctx.pc, k);
                    }
                    let e = self.op_trap;
                    return self.block_trap(e, ctx.pc_at(k), done + k as u64, committed);
                }
                // A system instruction.
                let Some(inst) = insts.get(k) else {
                    break insts.len();
                };
                // Counters read by this instruction must include everything
                // before it.
                let index = done + k as u64;
                self.retire(index - committed);
                committed = index;
                match self.exec_system(inst, bus) {
                    Ok(Flow::Next) => {
                        if inst.op != Op::CboZero && !csr_read_only(inst) {
                            pc = ctx.next_pc(k);
                            leave = true;
                            break k + 1;
                        }
                        from = k + 1;
                    }
                    Ok(Flow::Jump(target)) => {
                        pc = target;
                        leave = true;
                        break k + 1;
                    }
                    Ok(Flow::Wait) => {
                        if TRACE {
                            self.observe_block(ctx.pc, k + 1);
                        }
                        self.state.pc = ctx.next_pc(k);
                        self.retire(1);
                        return (index + 1, BlockEnd::Wait);
                    }
                    Err(e) => {
                        if TRACE {
                            self.observe_block(ctx.pc, k);
                        }
                        return self.block_trap(e, ctx.pc_at(k), index, committed);
                    }
                }
            };
            done += retired_here as u64;
            if TRACE {
                self.observe_block(ctx.pc, retired_here);
            }
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
                    start = i.start();
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
