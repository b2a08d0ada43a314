//! The engine's debug path: what runs instead of the block interpreter while a debug
//! trigger (Sdtrig) is armed or a host debugger (gdb) has set breakpoints, watchpoints
//! or single-stepping.
//!
//! Breakpoints alone keep the interpreter's blocks, one block at a time: a block that
//! holds no breakpoint address runs as usual. Watchpoints, triggers and stepping run
//! one instruction at a time: before it executes, its pc is checked against execute
//! triggers and breakpoints, and the address its load or store will use (computed
//! from its registers, as the instruction will) against load/store triggers and
//! watchpoints. Everything fires *before* the instruction: a trigger raises a
//! breakpoint exception at it (Sdtrig's "before" timing), a host breakpoint or
//! watchpoint stops the hart with the pc at it, which is what gdb expects of RISC-V
//! (its watchpoints are "non-steppable": gdb steps over the access itself).
//!
//! The host debugger's settings are not guest state: they are not saved in snapshots
//! and never change what the guest observes, except that the hart stops.

use tern_isa::{Inst, Op};

use crate::csr::trigger::TriggerAccess;
use crate::engine::cache::BlockCache;
use crate::engine::interp::BlockEnd;
use crate::engine::run::RunExit;
use crate::hart::{Core, Hart};
use crate::mem::bus::Bus;
use crate::trap::{cause, Exception};

/// Which accesses a host watchpoint stops at (gdb's `watch`, `rwatch`, `awatch`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WatchKind {
    /// Stores.
    Write,
    /// Loads.
    Read,
    /// Loads and stores.
    Access,
}

/// A host watchpoint: `len` bytes at virtual address `addr`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Watchpoint {
    /// First byte watched (virtual).
    pub addr: u64,
    /// Bytes watched (at least 1).
    pub len: u64,
    /// Which accesses stop the hart.
    pub kind: WatchKind,
}

/// What a host debugger asks of a hart: breakpoints (virtual pcs), watchpoints, and
/// whether to stop after one instruction.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostDebug {
    /// Stop before executing an instruction at one of these virtual addresses.
    pub breakpoints: Vec<u64>,
    /// Stop before an access that overlaps one of these.
    pub watchpoints: Vec<Watchpoint>,
    /// Stop after the next instruction (or trap entry).
    pub step: bool,
}

impl HostDebug {
    /// Whether anything is asked at all.
    pub fn active(&self) -> bool {
        !self.breakpoints.is_empty() || !self.watchpoints.is_empty() || self.step
    }

    /// The watchpoint an access of `len` bytes at `addr` hits, if any.
    fn watch_hit(&self, addr: u64, len: u64, load: bool, store: bool) -> Option<(u64, WatchKind)> {
        self.watchpoints.iter().find_map(|w| {
            let kind_ok = match w.kind {
                WatchKind::Write => store,
                WatchKind::Read => load,
                WatchKind::Access => load || store,
            };
            // Overlap of [addr, addr+len) and [w.addr, w.addr+w.len), without overflow.
            let overlap =
                w.addr.wrapping_sub(addr) < len || addr.wrapping_sub(w.addr) < w.len.max(1);
            (kind_ok && overlap).then(|| {
                let kind = match w.kind {
                    WatchKind::Access if store => WatchKind::Write,
                    WatchKind::Access => WatchKind::Read,
                    k => k,
                };
                (addr.max(w.addr), kind)
            })
        })
    }
}

/// Why a hart stopped for the host debugger ([`RunExit::Debug`]). The pc is at the
/// instruction that has not executed yet (breakpoint, watchpoint) or the next one
/// (step).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DebugStop {
    /// A host breakpoint at the pc.
    Breakpoint,
    /// The instruction at the pc is about to access `addr` as `kind` says.
    Watch {
        /// The watched address accessed.
        addr: u64,
        /// Read or write.
        kind: WatchKind,
    },
    /// One instruction was stepped.
    Step,
}

/// The data access `inst` will make with the current registers: (address, bytes,
/// loads, stores). AMOs both load and store; `cbo.zero` stores a whole cache block.
fn data_access(core: &Core, inst: &Inst) -> Option<(u64, u64, bool, bool)> {
    let base = core.state.x[usize::from(inst.rs1 & 31)];
    let offset = base.wrapping_add(inst.imm as i64 as u64);
    let op = inst.op;
    let width = |op: Op| -> u64 {
        match op {
            Op::Lb | Op::Lbu | Op::Sb => 1,
            Op::Lh | Op::Lhu | Op::Sh => 2,
            Op::Lw | Op::Lwu | Op::Flw | Op::Sw | Op::Fsw => 4,
            _ => 8,
        }
    };
    if op.is_load() {
        return Some((offset, width(op), true, false));
    }
    if op.is_store() {
        return Some((offset, width(op), false, true));
    }
    if op.is_atomic() {
        let len = if (op as u16) <= (Op::AmomaxuW as u16) {
            4
        } else {
            8
        };
        let (load, store) = match op {
            Op::LrW | Op::LrD => (true, false),
            Op::ScW | Op::ScD => (false, true),
            _ => (true, true),
        };
        return Some((base, len, load, store));
    }
    if op == Op::CboZero {
        return Some((base & !63, 64, false, true));
    }
    None
}

impl Core {
    /// Recomputes whether the debug path must run (after a trigger CSR write, a
    /// restore, or a change of the host debugger's settings).
    pub(crate) fn refresh_debug(&mut self) {
        self.debug_armed = self.state.triggers.armed() || self.host_debug.active();
    }

    /// Whether the debug path must check every instruction: a trigger is armed, or
    /// the host debugger watches memory or steps (breakpoints alone are checked per
    /// block).
    pub(crate) fn debug_per_instruction(&self) -> bool {
        let d = &self.host_debug;
        self.state.triggers.armed() || !d.watchpoints.is_empty() || d.step
    }

    /// Whether a whole decoded block starting at `pc` may run without checks: only
    /// host breakpoints are set, and none lies within the block.
    pub(crate) fn block_runs_unchecked(&self, pc: u64, block: (&[Inst], &[u16])) -> bool {
        if self.debug_per_instruction() {
            return false;
        }
        let d = &self.host_debug;
        let (insts, offs) = block;
        let bytes = match (insts.last(), offs.last()) {
            (Some(i), Some(&o)) => u64::from(o) + u64::from(i.len),
            _ => return false,
        };
        d.breakpoints.iter().all(|&b| b.wrapping_sub(pc) >= bytes)
    }

    /// Runs the instruction at the pc with every check of the debug path. Returns
    /// `Some` when the hart must stop for the host debugger; `executed` counts the
    /// instruction or trap.
    pub(crate) fn debug_step<B: Bus, const TRACE: bool>(
        &mut self,
        cache: &BlockCache,
        bus: &mut B,
        executed: &mut u64,
    ) -> Option<RunExit> {
        let pc = self.state.pc;
        let prv = self.state.prv;
        if self.host_debug.breakpoints.contains(&pc) {
            return Some(RunExit::Debug(DebugStop::Breakpoint));
        }
        let inst = match self.fetch_uncached(pc, bus) {
            Ok(inst) => inst,
            Err(e) => {
                self.raise(e, pc);
                *executed += 1;
                return self
                    .host_debug
                    .step
                    .then_some(RunExit::Debug(DebugStop::Step));
            }
        };
        let len = u64::from(inst.len);
        let mut fired = self
            .state
            .triggers
            .fire(TriggerAccess::Execute, pc, len, prv)
            .map(|_| pc);
        if fired.is_none() {
            if let Some((addr, bytes, load, store)) = data_access(self, &inst) {
                if let Some((hit, kind)) = self.host_debug.watch_hit(addr, bytes, load, store) {
                    return Some(RunExit::Debug(DebugStop::Watch { addr: hit, kind }));
                }
                let t = &mut self.state.triggers;
                let by_load = load && t.fire(TriggerAccess::Load, addr, bytes, prv).is_some();
                if by_load || (store && t.fire(TriggerAccess::Store, addr, bytes, prv).is_some()) {
                    fired = Some(addr);
                }
            }
        }
        if let Some(tval) = fired {
            self.raise(Exception::new(cause::BREAKPOINT, tval), pc);
            *executed += 1;
        } else {
            let (n, end) = self.exec_block::<B, TRACE>(
                cache,
                (&[inst], &[0]),
                crate::engine::run::NOT_CACHED,
                pc,
                1,
                bus,
            );
            *executed += n.max(1);
            if let BlockEnd::Wait = end {
                self.state.waiting = true;
            }
        }
        self.host_debug
            .step
            .then_some(RunExit::Debug(DebugStop::Step))
    }
}

impl Hart {
    /// Sets what a host debugger asks of this hart (breakpoints, watchpoints,
    /// stepping); [`HostDebug::default`] turns it all off. Takes effect at the next
    /// [`Hart::run`].
    pub fn set_host_debug(&mut self, debug: HostDebug) {
        self.core.host_debug = debug;
        self.core.refresh_debug();
    }

    /// What a host debugger asks of this hart.
    pub fn host_debug(&self) -> &HostDebug {
        &self.core.host_debug
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watchpoints_overlap_by_byte_and_kind() {
        let d = HostDebug {
            watchpoints: vec![Watchpoint {
                addr: 0x1004,
                len: 4,
                kind: WatchKind::Write,
            }],
            ..HostDebug::default()
        };
        assert_eq!(
            d.watch_hit(0x1000, 8, false, true),
            Some((0x1004, WatchKind::Write))
        );
        assert_eq!(
            d.watch_hit(0x1007, 1, false, true),
            Some((0x1007, WatchKind::Write))
        );
        assert_eq!(d.watch_hit(0x1000, 4, false, true), None);
        assert_eq!(d.watch_hit(0x1008, 4, false, true), None);
        assert_eq!(
            d.watch_hit(0x1004, 4, true, false),
            None,
            "a load does not hit `watch`"
        );
        let a = HostDebug {
            watchpoints: vec![Watchpoint {
                addr: u64::MAX - 1,
                len: 2,
                kind: WatchKind::Access,
            }],
            ..HostDebug::default()
        };
        assert_eq!(
            a.watch_hit(u64::MAX, 1, true, false),
            Some((u64::MAX, WatchKind::Read))
        );
        assert_eq!(a.watch_hit(0, 8, true, true), None, "no wrap-around");
    }
}
