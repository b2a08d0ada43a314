//! The hart: architectural state plus the machinery that runs it.

use std::io::Write;
use std::sync::Arc;

use crate::clock::VirtualClock;
use crate::engine::cache::BlockCache;
use crate::irq::IrqLines;
use crate::mem::ram::GuestRam;
use crate::mmu::tlb::{self, Tlb};
use crate::state::{HartState, Priv};

/// Optional architecture features of a hart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HartConfig {
    /// Sstc (`stimecmp`).
    pub sstc: bool,
    /// Exceptions raised in U-mode do not enter a guest trap handler: the hart stops
    /// and [`Hart::run`] returns them (`RunExit::Trap`) for the host to handle. This is
    /// how a process VM emulates the kernel: `ecall`, page faults and illegal
    /// instructions come to the host.
    pub user_traps_exit: bool,
    /// `ecall` from S-mode does not enter M-mode: [`Hart::run`] returns it
    /// (`RunExit::Trap`) so that the host implements the SBI, as firmware would.
    pub sbi_ecalls_exit: bool,
    /// No other hart shares this hart's RAM. Then every write to a page holding
    /// decoded code is logged before this hart can fetch from the page again: the
    /// hart drops its own writable TLB entries for a page when it first decodes code
    /// there, and everything else (devices, loaders, debuggers) writes RAM through
    /// logged paths. Its decoded blocks therefore always match memory, and `fence.i`
    /// need not drop them. With several harts, another hart may still hold a writable
    /// TLB entry for a page this one just decoded (until its current block ends), so
    /// `fence.i` drops every block.
    pub sole_hart: bool,
    /// The engine: the interpreter, or the translator for hot blocks.
    pub engine: crate::engine::jit::Engine,
    /// Runs of a block in the interpreter before the translator takes it (with
    /// [`crate::engine::jit::Engine::Jit`]; 0 translates blocks on first sight).
    pub jit_hot: u32,
}

impl Default for HartConfig {
    fn default() -> HartConfig {
        HartConfig {
            sstc: true,
            user_traps_exit: false,
            sbi_ecalls_exit: false,
            sole_hart: false,
            engine: crate::engine::jit::default_engine(),
            jit_hot: crate::engine::jit::default_jit_hot(),
        }
    }
}

/// Everything of a hart except its decoded-block cache: architectural state, the
/// memory it reaches, its TLB, and bookkeeping derived from the state.
///
/// Split from [`Hart`] so that the interpreter can borrow a decoded block while the
/// instructions in it mutate the rest.
pub struct Core {
    /// Architectural state (plain data).
    pub(crate) state: HartState,
    /// Guest RAM.
    pub(crate) ram: Arc<GuestRam>,
    /// Device-driven interrupt lines.
    pub(crate) lines: Arc<IrqLines>,
    /// The VM's clock (`time` CSR, Sstc).
    pub(crate) clock: Arc<VirtualClock>,
    /// Feature set.
    pub(crate) config: HartConfig,
    /// Software TLB.
    pub(crate) tlb: Tlb,
    /// TLB context for data accesses (depends on privilege, MPRV/MPP, SUM, satp).
    pub(crate) data_ctx: usize,
    /// TLB context for instruction fetch.
    pub(crate) fetch_ctx: usize,
    /// Virtual ranges (base, size) of superpages whose pieces the TLB holds: an
    /// `sfence.vma addr` inside one of them must flush everything, elsewhere only that
    /// page. `None` when there were too many to track.
    pub(crate) tlb_superpages: Option<Vec<(u64, u64)>>,
    /// Set when a block touched the bus, so the run loop asks the bus about stopping.
    pub(crate) bus_touched: bool,
    /// Set when the decoded-block cache must be dropped (fence.i, translation change).
    pub(crate) flush_blocks: bool,
    /// Set when the jump cache must be dropped (translation or privilege change).
    pub(crate) flush_jumps: bool,
    /// A virtual page whose translation an `sfence.vma` dropped: the run loop drops
    /// the jump cache if it may hold entries for that page.
    pub(crate) flush_jump_page: Option<u64>,
    /// `pause` hints seen (the host yields every few of them).
    pub(crate) pauses: u32,
    /// A U-mode exception waiting for the host (see [`HartConfig::user_traps_exit`]).
    pub(crate) host_trap: Option<crate::trap::Exception>,
    /// The exception an operation handler ended its block with (see
    /// [`crate::engine::ops`]): handlers return only where they stopped, in registers.
    pub(crate) op_trap: crate::trap::Exception,
    /// The code-write log position this hart has applied.
    pub(crate) code_seq_seen: u64,
    /// The writable-TLB epoch this hart has applied.
    pub(crate) store_epoch_seen: u64,
    /// `GuestRam::events` when this hart last applied code writes and the epoch.
    pub(crate) ram_events_seen: u64,
    /// Sstc's comparator fired (`time >= stimecmp`), as of the last refresh.
    pub(crate) stimer_fired: bool,
    /// Instruction trace output.
    pub(crate) trace: Option<Box<dyn Write + Send>>,
    /// Instruction and memory callbacks (see [`crate::observer`]).
    pub(crate) observer: Option<Box<dyn crate::observer::ExecObserver>>,
    /// The observer wants memory accesses.
    pub(crate) observe_mem: bool,
    /// The run loop takes its instrumented form: a trace or an observer is set.
    pub(crate) instrumented: bool,
    /// What a host debugger asks of this hart (see [`crate::engine::debug`]).
    pub(crate) host_debug: crate::engine::debug::HostDebug,
    /// The run loop takes the debug path: a trigger is armed or `host_debug` is
    /// active (kept by [`Core::refresh_debug`]).
    pub(crate) debug_armed: bool,
    /// Slow-path events (see [`HartCounters`]).
    pub(crate) counters: HartCounters,
}

/// Events of a hart's slow paths, counted where they already cost far more than an
/// increment, so that counting is free: the fast paths (a TLB hit, a jump-cache
/// hit) are not counted. Not architectural state: they start at zero in each host
/// process.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HartCounters {
    /// Software-TLB misses that walked the page tables.
    pub tlb_walks: u64,
    /// Block lookups the jump cache (virtual pc to block) did not answer.
    pub jump_cache_misses: u64,
    /// Blocks decoded because the block cache (by physical address) had none.
    pub blocks_decoded: u64,
}

/// [`HartCounters`] published by the thread that runs a hart (once per run slice)
/// for status and metrics readers on other threads.
#[derive(Debug, Default)]
pub struct SharedCounters {
    tlb_walks: std::sync::atomic::AtomicU64,
    jump_cache_misses: std::sync::atomic::AtomicU64,
    blocks_decoded: std::sync::atomic::AtomicU64,
}

impl SharedCounters {
    /// Publishes the hart's counts.
    pub fn publish(&self, c: HartCounters) {
        use std::sync::atomic::Ordering::Relaxed;
        self.tlb_walks.store(c.tlb_walks, Relaxed);
        self.jump_cache_misses.store(c.jump_cache_misses, Relaxed);
        self.blocks_decoded.store(c.blocks_decoded, Relaxed);
    }

    /// The counts last published.
    pub fn load(&self) -> HartCounters {
        use std::sync::atomic::Ordering::Relaxed;
        HartCounters {
            tlb_walks: self.tlb_walks.load(Relaxed),
            jump_cache_misses: self.jump_cache_misses.load(Relaxed),
            blocks_decoded: self.blocks_decoded.load(Relaxed),
        }
    }
}

/// One RISC-V hardware thread.
pub struct Hart {
    /// State and memory access. Private: the TLB holds host addresses into `core.ram`,
    /// so nothing outside this crate may replace the RAM under it.
    pub(crate) core: Core,
    /// Decoded blocks.
    pub(crate) cache: BlockCache,
}

impl Hart {
    /// A hart in its reset state (M-mode at `pc`).
    pub fn new(
        hartid: u64,
        pc: u64,
        ram: Arc<GuestRam>,
        lines: Arc<IrqLines>,
        clock: Arc<VirtualClock>,
    ) -> Hart {
        let mut core = Core {
            state: HartState::new(hartid, pc),
            ram,
            lines,
            clock,
            config: HartConfig::default(),
            tlb: Tlb::default(),
            data_ctx: tlb::CTX_M,
            fetch_ctx: tlb::CTX_M,
            tlb_superpages: Some(Vec::new()),
            bus_touched: false,
            flush_blocks: false,
            flush_jumps: false,
            flush_jump_page: None,
            stimer_fired: false,
            pauses: 0,
            host_trap: None,
            op_trap: crate::trap::Exception::new(0, 0),
            code_seq_seen: 0,
            store_epoch_seen: 0,
            ram_events_seen: 0,
            trace: None,
            observer: None,
            observe_mem: false,
            instrumented: false,
            host_debug: Default::default(),
            debug_armed: false,
            counters: HartCounters::default(),
        };
        core.code_seq_seen = core.ram.code_seq();
        core.store_epoch_seen = core.ram.store_epoch();
        core.ram_events_seen = core.ram.events();
        core.update_contexts();
        let mut cache = BlockCache::new();
        cache.jit.configure(core.config.engine, core.config.jit_hot);
        Hart { core, cache }
    }

    /// The slow-path event counts since this hart was made.
    #[inline]
    pub fn counters(&self) -> HartCounters {
        self.core.counters
    }

    /// What the translator did so far (all zero with the interpreter).
    pub fn jit_stats(&self) -> crate::engine::jit::JitStats {
        self.cache.jit.stats()
    }

    /// The architectural state.
    pub fn state(&self) -> &HartState {
        &self.core.state
    }

    /// Replaces the architectural state (restore); derived caches are dropped.
    pub fn set_state(&mut self, mut state: HartState) {
        state.csr.pmp.sanitize();
        state.triggers.sanitize();
        state.fflags &= 0x1f;
        state.frm &= 7;
        self.core.state = state;
        self.core.state.x[0] = 0;
        self.core.translation_changed();
        self.core.refresh_debug();
        self.cache.clear();
    }

    /// Mutable access to the architectural state. Callers that change privilege,
    /// `satp`, `mstatus` or PMP must call [`Hart::state_changed`] afterwards.
    pub fn state_mut(&mut self) -> &mut HartState {
        &mut self.core.state
    }

    /// Drops everything derived from the state after an outside change.
    pub fn state_changed(&mut self) {
        self.core.translation_changed();
        self.core.refresh_debug();
    }

    /// Sends a disassembled trace of every executed instruction to `out`.
    pub fn set_trace(&mut self, out: Option<Box<dyn Write + Send>>) {
        self.core.trace = out;
        self.core.instrumented = self.core.trace.is_some() || self.core.observer.is_some();
    }

    /// Installs instruction and memory callbacks (`None` removes them); returns the
    /// observer that was installed before. With none installed (and no trace) the
    /// hart runs its uninstrumented code.
    pub fn set_observer(
        &mut self,
        observer: Option<Box<dyn crate::observer::ExecObserver>>,
    ) -> Option<Box<dyn crate::observer::ExecObserver>> {
        let old = std::mem::replace(&mut self.core.observer, observer);
        self.core.observe_mem = self.core.observer.as_ref().is_some_and(|o| o.wants_mem());
        self.core.instrumented = self.core.trace.is_some() || self.core.observer.is_some();
        old
    }

    /// The installed observer, if any (to flush it or read it).
    pub fn observer_mut(&mut self) -> Option<&mut (dyn crate::observer::ExecObserver + 'static)> {
        self.core.observer.as_deref_mut()
    }

    /// Drops writable TLB entries, so that every later guest store marks its page
    /// dirty again (call before [`GuestRam::take_dirty`]).
    pub fn flush_store_tlb(&mut self) {
        self.core.tlb.flush_store();
    }

    /// Sets the feature set.
    pub fn set_config(&mut self, config: HartConfig) {
        self.core.config = config;
        self.cache.jit.configure(config.engine, config.jit_hot);
    }

    /// The feature set.
    pub fn config(&self) -> HartConfig {
        self.core.config
    }

    /// The guest RAM this hart reaches.
    pub fn ram(&self) -> &Arc<GuestRam> {
        &self.core.ram
    }
}

/// Superpage ranges tracked for `sfence.vma addr` before giving up.
const MAX_SUPERPAGES: usize = 32;

impl Core {
    /// Notes that the TLB holds a piece of the superpage of `size` bytes at `vaddr`.
    pub(crate) fn note_superpage(&mut self, vaddr: u64, size: u64) {
        let base = vaddr & !(size - 1);
        if let Some(list) = &mut self.tlb_superpages {
            if !list.contains(&(base, size)) {
                if list.len() >= MAX_SUPERPAGES {
                    self.tlb_superpages = None;
                } else {
                    list.push((base, size));
                }
            }
        }
    }

    /// Whether a cached translation may come from a superpage covering `vaddr`.
    pub(crate) fn in_cached_superpage(&self, vaddr: u64) -> bool {
        match &self.tlb_superpages {
            Some(list) => list
                .iter()
                .any(|&(base, size)| vaddr.wrapping_sub(base) < size),
            None => true,
        }
    }

    /// `mstatus` bit positions used by the TLB context logic.
    const MPRV: u64 = 1 << 17;
    const SUM: u64 = 1 << 18;

    /// Recomputes the TLB contexts after a change of privilege, `mstatus` or `satp`.
    pub(crate) fn update_contexts(&mut self) {
        let s = &self.state;
        let translated = s.csr.satp >> 60 != 0;
        let sum = translated && s.csr.mstatus & Self::SUM != 0;
        // Without translation, contexts still separate M from S/U because PMP does.
        self.data_ctx = tlb::context(self.data_priv(), sum);
        self.fetch_ctx = tlb::context(self.state.prv, false);
    }

    /// Effective privilege of data accesses (`mstatus.MPRV` applies MPP in M-mode).
    pub(crate) fn data_priv(&self) -> Priv {
        let s = &self.state;
        if s.prv == Priv::M && s.csr.mstatus & Self::MPRV != 0 {
            Priv::from_bits(s.csr.mstatus >> 11)
        } else {
            s.prv
        }
    }

    /// Drops every cached translation (satp, sfence.vma, PMP, MXR changed).
    pub(crate) fn translation_changed(&mut self) {
        self.tlb.flush();
        self.tlb_superpages = Some(Vec::new());
        self.flush_jumps = true;
        self.update_contexts();
    }

    /// Switches privilege level.
    pub(crate) fn set_priv(&mut self, prv: Priv) {
        self.state.prv = prv;
        self.update_contexts();
    }
}
