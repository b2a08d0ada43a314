//! The run loop: finds the block for the pc, runs it, and between blocks takes
//! interrupts, applies invalidations and asks the bus whether to stop.

use crate::engine::cache::BlockCache;
use crate::engine::debug::DebugStop;
use crate::engine::interp::BlockEnd;
use crate::hart::{Core, Hart};
use crate::irq::{REQ_FLUSH_CODE, REQ_FLUSH_TLB, REQ_STOP};
use crate::mem::bus::Bus;
use crate::mem::ram::CodeWrites;
use crate::trap::{irq, Exception};

/// The arena index given to `exec_block` for an instruction outside the block cache.
pub(crate) const NOT_CACHED: u32 = u32::MAX;

/// Why [`Hart::run`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunExit {
    /// The instruction budget is used up.
    Budget,
    /// The hart waits in `wfi` for an interrupt.
    Wait,
    /// The bus asked to stop (for example, the guest powered off), or guest RAM is
    /// lost ([`crate::GuestRam::lost`]).
    Stop,
    /// A U-mode exception for the host to handle (with
    /// [`crate::HartConfig::user_traps_exit`]); `state.pc` is the trapping instruction.
    Trap(Exception),
    /// The host debugger's breakpoint, watchpoint or single step stopped the hart
    /// (see [`crate::Hart::set_host_debug`]).
    Debug(DebugStop),
}

impl Hart {
    /// Runs until about `budget` instructions have retired (whole blocks, so up to one
    /// block more), the hart waits for an interrupt, or the bus asks to stop. Returns
    /// why it stopped and the number of retired instructions. Interrupts are checked
    /// between blocks.
    pub fn run<B: Bus>(&mut self, bus: &mut B, budget: u64) -> (RunExit, u64) {
        let mut executed = 0u64;
        let Hart { core, cache } = self;
        core.refresh_timer();
        core.lines.set_running(true);
        let result = run_loop(core, cache, bus, budget, &mut executed);
        core.lines.set_running(false);
        (result, executed)
    }
}

/// The body of [`Hart::run`]: between blocks, applies requests from other threads and
/// invalidations, takes interrupts and checks the budget; then finds and runs blocks.
fn run_loop<B: Bus>(
    core: &mut Core,
    cache: &mut BlockCache,
    bus: &mut B,
    budget: u64,
    executed: &mut u64,
) -> RunExit {
    loop {
        if core.lines.has_requests() {
            let (flags, posted, seq) = core.lines.take_requests();
            core.state.csr.mip |= posted & (irq::SSIP | irq::STIP | irq::SEIP);
            if flags & REQ_FLUSH_TLB != 0 {
                core.translation_changed();
            }
            // A remote `fence.i` (SBI): as for the instruction (see `HartConfig::sole_hart`).
            if flags & REQ_FLUSH_CODE != 0 && !core.config.sole_hart {
                core.flush_blocks = true;
            }
            core.lines.ack(seq);
            if flags & REQ_STOP != 0 {
                // A trap raised by the last block must not wait for the next `run`:
                // by then the host may have moved the pc (a process VM delivering a
                // signal), and the trap would be taken at the wrong instruction.
                if let Some(e) = core.host_trap.take() {
                    return RunExit::Trap(e);
                }
                return RunExit::Budget;
            }
        }
        if let Some(e) = core.host_trap.take() {
            return RunExit::Trap(e);
        }
        let events = core.ram.events();
        if events != core.ram_events_seen {
            if core.ram.lost().is_some() {
                // A page restored lazily could not be read: the VM cannot go on (the
                // events stay unseen, so every later `run` stops here again).
                return RunExit::Stop;
            }
            core.ram_events_seen = events;
            if core.ram.code_seq() != core.code_seq_seen {
                let (writes, now) = core.ram.code_writes_since(core.code_seq_seen);
                core.code_seq_seen = now;
                match writes {
                    CodeWrites::Pages(pages) => cache.invalidate_pages(&pages),
                    CodeWrites::All => cache.clear(),
                }
            }
            let epoch = core.ram.store_epoch();
            if epoch != core.store_epoch_seen {
                core.store_epoch_seen = epoch;
                core.tlb.flush_store();
            }
        }
        if core.flush_blocks {
            core.flush_blocks = false;
            core.flush_jumps = false;
            cache.clear();
        }
        if let Some(page) = core.flush_jump_page.take() {
            cache.flush_jumps_for_page(page);
        }
        if core.flush_jumps {
            core.flush_jumps = false;
            cache.flush_jumps();
        }
        if core.bus_touched {
            core.bus_touched = false;
            if bus.stop_requested() {
                return RunExit::Stop;
            }
        }
        let quick = (core.state.csr.mip | core.lines.get() | core.stip_bit()) & core.state.csr.mie;
        // A host debugger's single step does not wander into an interrupt handler
        // (as QEMU's gdb stub steps with interrupts masked), unless the hart waits in
        // `wfi`, where only an interrupt moves it on.
        let stepping = core.debug_armed && core.host_debug.step && !core.state.waiting;
        if quick != 0 && !stepping {
            core.state.waiting = false;
            if let Some(i) = core.pending_interrupt() {
                let pc = core.state.pc;
                core.take_interrupt(i, pc);
                *executed += 1;
            }
        } else if core.state.waiting {
            return RunExit::Wait;
        }
        if *executed >= budget {
            return RunExit::Budget;
        }
        if core.debug_armed && core.debug_per_instruction() {
            let stop = if core.instrumented {
                core.debug_step::<B, true>(cache, bus, executed)
            } else {
                core.debug_step::<B, false>(cache, bus, executed)
            };
            match stop {
                Some(exit) => return exit,
                None => continue,
            }
        }
        let pc = core.state.pc;
        let block = match cache.lookup_jump(pc, core.fetch_ctx) {
            Some(i) => i,
            None => {
                core.counters.jump_cache_misses += 1;
                let paddr = match core.translate_fetch(pc, 2) {
                    Ok(p) => p,
                    Err(e) => {
                        // A trap counts as progress, so that a fetch fault that
                        // traps to an unfetchable handler still ends the budget.
                        core.raise(e, pc);
                        *executed += 1;
                        continue;
                    }
                };
                let found = if core.ram.is_direct_page(paddr & !0xfff) {
                    match cache.lookup(paddr) {
                        Some(i) => Some(i),
                        None => {
                            if core.ram.mark_code(paddr) {
                                let host = core.ram.host_page(paddr & !0xfff) as u64;
                                core.tlb.flush_store_host_page(host);
                            }
                            core.counters.blocks_decoded += 1;
                            let insts = core.decode_block(paddr);
                            (!insts.is_empty()).then(|| cache.insert(paddr, insts))
                        }
                    }
                } else {
                    None
                };
                match found {
                    Some(i) => {
                        cache.remember_jump(pc, core.fetch_ctx, i);
                        i
                    }
                    None if core.debug_armed => {
                        let stop = core.debug_step::<B, false>(cache, bus, executed);
                        match stop {
                            Some(exit) => return exit,
                            None => continue,
                        }
                    }
                    None => {
                        // Not cacheable: crosses a page, or outside plain RAM.
                        let inst = match core.fetch_uncached(pc, bus) {
                            Ok(inst) => inst,
                            Err(e) => {
                                core.raise(e, pc);
                                *executed += 1;
                                continue;
                            }
                        };
                        let left = budget.saturating_sub(*executed);
                        let (n, end) = if core.instrumented {
                            core.exec_block::<B, true>(
                                cache,
                                (&[inst], &[0]),
                                NOT_CACHED,
                                pc,
                                left,
                                bus,
                            )
                        } else {
                            core.exec_block::<B, false>(
                                cache,
                                (&[inst], &[0]),
                                NOT_CACHED,
                                pc,
                                left,
                                bus,
                            )
                        };
                        *executed += n.max(1);
                        if let BlockEnd::Wait = end {
                            core.state.waiting = true;
                        }
                        continue;
                    }
                }
            }
        };
        let insts = cache.block(block);
        let mut left = budget.saturating_sub(*executed);
        if core.debug_armed {
            // Only host breakpoints are set (see above): a block without one runs
            // alone, not chained to the next; one with one goes instruction by
            // instruction.
            if !core.block_runs_unchecked(pc, insts) {
                match core.debug_step::<B, false>(cache, bus, executed) {
                    Some(exit) => return exit,
                    None => continue,
                }
            }
            left = 1;
        }
        let (n, end) = if core.instrumented {
            core.exec_block::<B, true>(cache, insts, block.start(), pc, left, bus)
        } else {
            core.exec_block::<B, false>(cache, insts, block.start(), pc, left, bus)
        };
        *executed += n.max(1);
        if let BlockEnd::Wait = end {
            core.state.waiting = true;
        }
    }
}

impl Hart {
    /// Whether an interrupt would wake this hart from `wfi` now (pending and enabled in
    /// `mie`, regardless of the global enables).
    pub fn interrupt_pending(&mut self) -> bool {
        self.core.refresh_timer();
        self.core.mip() & self.core.state.csr.mie & irq::ALL != 0
    }
}
