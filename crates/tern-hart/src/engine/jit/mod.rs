//! The translator, first tier: hot decoded blocks become x86-64 host code.
//!
//! A block runs in the interpreter until it has run [`crate::HartConfig::jit_hot`]
//! times; then the run loop translates the block's longest prefix of supported
//! instructions ([`emit`]) into the hart's code buffer ([`code_buf`]) and later runs of
//! the block call the translation, the interpreter going on after the prefix.
//! Translations live exactly as long as their block: they are indexed by the block's
//! place in the instruction arena, so whatever drops or replaces a block (a code
//! write, `fence.i`, a flush) makes its translation unreachable, and clearing the
//! arena clears them all. When the code buffer is full every translation is dropped.
//!
//! Translations chain: a jump or branch at the end of a translation (direct or
//! indirect alike) looks its target up in the translator's jump cache (virtual pc and
//! fetch context to translation, filled by the run loop as it enters translations)
//! and goes straight on into the target's translation, under the very conditions on
//! which the interpreter's `exec_block` goes on to the next block (budget, interrupt
//! lines, requests, RAM events, device accesses), so instruction counts and interrupt
//! points stay exactly the interpreter's. The jump cache is emptied (a generation in
//! its key) whenever a translation dies or the block cache's jump cache is dropped.
//!
//! On hosts other than x86-64 the engine is always the interpreter.

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::time::Instant;

use tern_isa::Inst;

#[cfg(target_arch = "x86_64")]
mod code_buf;
#[cfg(target_arch = "x86_64")]
mod emit;
#[cfg(target_arch = "x86_64")]
mod entry;

use crate::engine::ops::Exit;
#[cfg(target_arch = "x86_64")]
use crate::engine::ops::Stop;
use crate::hart::Core;
use crate::mem::bus::Bus;

/// Which engine runs a hart's code.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Engine {
    /// The threaded interpreter only (every host).
    #[default]
    Interp,
    /// Hot blocks are translated to host code (x86-64 hosts; elsewhere the
    /// interpreter runs).
    Jit,
}

impl Engine {
    /// Whether the translator can run on this host.
    pub const AVAILABLE: bool = cfg!(target_arch = "x86_64");
}

/// Runs of a block in the interpreter before it is translated (default). Translating
/// costs about 100-200 µs a block with this first tier's assembler, which a block
/// earns back only after thousands of runs: with 16, a one-hart Linux boot spent 1 s
/// of its 5.3 s translating 10,000 blocks and was no faster than the interpreter;
/// with 1000 it took 4.5 s (1,300 blocks, 0.24 s translating).
pub const DEFAULT_HOT: u32 = 1000;

/// The engine of harts made from now on in this process (`HartConfig::default()`):
/// a front end's `--engine` sets it once, before building machines.
static DEFAULT_ENGINE: AtomicU8 = AtomicU8::new(0);

/// Sets the engine [`crate::HartConfig::default`] gives (for the whole process).
pub fn set_default_engine(engine: Engine) {
    DEFAULT_ENGINE.store(engine as u8, Ordering::Relaxed);
}

/// The hot threshold [`crate::HartConfig::default`] gives.
static DEFAULT_JIT_HOT: AtomicU32 = AtomicU32::new(DEFAULT_HOT);

/// Sets the hot threshold [`crate::HartConfig::default`] gives (for the whole
/// process; 0 translates every block on first sight, which tests use).
pub fn set_default_jit_hot(hot: u32) {
    DEFAULT_JIT_HOT.store(hot, Ordering::Relaxed);
}

/// The hot threshold [`crate::HartConfig::default`] gives.
pub fn default_jit_hot() -> u32 {
    DEFAULT_JIT_HOT.load(Ordering::Relaxed)
}

/// The engine [`crate::HartConfig::default`] gives.
pub fn default_engine() -> Engine {
    match DEFAULT_ENGINE.load(Ordering::Relaxed) {
        1 => Engine::Jit,
        _ => Engine::Interp,
    }
}

/// Process-wide sums of every hart's translator figures (for `--stats`, where harts
/// live inside a machine or a process VM).
static TOTAL_TRANSLATIONS: AtomicU64 = AtomicU64::new(0);
static TOTAL_INSTS: AtomicU64 = AtomicU64::new(0);
static TOTAL_BYTES: AtomicU64 = AtomicU64::new(0);
static TOTAL_NS: AtomicU64 = AtomicU64::new(0);
static TOTAL_FLUSHES: AtomicU64 = AtomicU64::new(0);

/// The translator's figures summed over every hart of this process; `code_bytes` is
/// the host code emitted in total (each hart's buffer holds at most
/// `code_buf::CODE_BYTES`).
pub fn jit_totals() -> JitStats {
    JitStats {
        translations: TOTAL_TRANSLATIONS.load(Ordering::Relaxed),
        translated_insts: TOTAL_INSTS.load(Ordering::Relaxed),
        code_bytes: TOTAL_BYTES.load(Ordering::Relaxed),
        translate_ns: TOTAL_NS.load(Ordering::Relaxed),
        buffer_flushes: TOTAL_FLUSHES.load(Ordering::Relaxed),
    }
}

/// What the translator did, for `--stats`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JitStats {
    /// Blocks translated.
    pub translations: u64,
    /// Guest instructions covered by those translations.
    pub translated_insts: u64,
    /// Bytes of host code held now.
    pub code_bytes: u64,
    /// Time spent translating, in nanoseconds.
    pub translate_ns: u64,
    /// Times the full code buffer was emptied.
    pub buffer_flushes: u64,
}

/// `heat` value of a block that is not to be translated (its first instruction is not
/// supported).
const NEVER: u32 = u32::MAX;
/// `heat` bit of a translated block; the low bits index `entries`.
const TRANSLATED: u32 = 1 << 31;

/// A translation: where it starts in the code buffer and its body's offset from
/// there (where chained blocks enter).
#[cfg(target_arch = "x86_64")]
type Entry = (code_buf::Entry, u32);
#[cfg(not(target_arch = "x86_64"))]
type Entry = ();

/// A hart's translations, kept beside its block cache.
///
/// Blocks are counted and translated by the interpreter between two blocks, where it
/// holds the block cache shared: the counters are cells and the code is behind a
/// `RefCell` (never borrowed while translated code runs).
pub(crate) struct Jit {
    on: bool,
    hot: u32,
    /// Per arena index (meaningful at block starts): the runs so far, or
    /// `TRANSLATED | index`, or `NEVER`.
    heat: Vec<Cell<u32>>,
    code: RefCell<Code>,
    /// The translator's jump cache, read by generated code when it chains (see
    /// `emit::Emitter::chain_tail`).
    #[cfg(target_arch = "x86_64")]
    jumps: Box<[entry::JumpSlot]>,
    /// Slots filled under an older generation never match: bumped whenever a
    /// translation dies or the block cache's jump cache is dropped.
    generation: Cell<u64>,
}

/// Where chained translations stopped: the block that was running when the exit was
/// taken (the exit's index is in this block) and what the blocks before it retired.
pub(crate) struct Chained {
    /// Instructions retired by the blocks chained past.
    pub retired: u64,
    /// The running block's arena start and length.
    pub start: u32,
    pub len: u16,
    /// The running block's virtual pc.
    pub pc: u64,
}

/// The translations themselves.
struct Code {
    entries: Vec<Entry>,
    #[cfg(target_arch = "x86_64")]
    buf: code_buf::CodeBuf,
    stats: JitStats,
}

impl Jit {
    pub fn new() -> Jit {
        Jit {
            on: false,
            hot: DEFAULT_HOT,
            heat: Vec::new(),
            code: RefCell::new(Code {
                entries: Vec::new(),
                #[cfg(target_arch = "x86_64")]
                buf: code_buf::CodeBuf::new(),
                stats: JitStats::default(),
            }),
            #[cfg(target_arch = "x86_64")]
            jumps: std::iter::repeat_with(|| {
                let s = entry::JumpSlot::default();
                s.vpc.set(1);
                s
            })
            .take(entry::JUMP_SLOTS)
            .collect(),
            generation: Cell::new(1),
        }
    }

    /// Empties the translator's jump cache (translations died, or virtual to physical
    /// code mappings may have changed).
    #[inline]
    pub fn flush_jumps(&self) {
        self.generation.set(self.generation.get().wrapping_add(1));
    }

    /// The key of slots filled now for fetch context `fetch_ctx`.
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    fn key(&self, fetch_ctx: usize) -> u64 {
        (self.generation.get() << 8) | (fetch_ctx as u64 & 0xff)
    }

    /// Notes that virtual `pc` in fetch context `fetch_ctx` runs translation `entry` of
    /// the block at arena `start` (`len` instructions), so that translations jumping
    /// to `pc` chain to it.
    #[inline]
    pub fn remember(&self, pc: u64, fetch_ctx: usize, start: u32, len: u16, entry: Entry) {
        #[cfg(target_arch = "x86_64")]
        {
            let Some(code) = self.code.borrow().buf.addr(entry.0, entry.1) else {
                return;
            };
            if let Some(slot) = self.jumps.get(entry::jump_slot(pc)) {
                slot.vpc.set(pc);
                slot.key.set(self.key(fetch_ctx));
                slot.code.set(code);
                slot.cur.set(u64::from(start) | (u64::from(len) << 32));
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = (pc, fetch_ctx, start, len, entry);
    }

    /// Turns translation on or off and sets the hot threshold.
    pub fn configure(&mut self, engine: Engine, hot: u32) {
        self.on = engine == Engine::Jit && Engine::AVAILABLE;
        self.hot = hot.min(TRANSLATED - 1);
    }

    /// Whether blocks are translated at all.
    #[inline(always)]
    pub fn is_on(&self) -> bool {
        self.on
    }

    /// The statistics so far.
    pub fn stats(&self) -> JitStats {
        let code = self.code.borrow();
        JitStats {
            #[cfg(target_arch = "x86_64")]
            code_bytes: code.buf.used() as u64,
            ..code.stats
        }
    }

    /// Notes `n` instructions appended to the arena.
    pub fn grow(&mut self, n: usize) {
        self.heat
            .extend(std::iter::repeat_with(|| Cell::new(0)).take(n));
    }

    /// Drops every translation (the arena was cleared).
    pub fn clear(&mut self) {
        self.heat.clear();
        self.code.get_mut().drop_all();
        self.flush_jumps();
    }

    /// The translation of the block starting at arena index `start`, if any; counts a
    /// run of the block otherwise.
    #[inline(always)]
    pub fn enter(&self, start: u32) -> Option<Entry> {
        if !self.on {
            return None;
        }
        let c = self.heat.get(start as usize)?;
        let v = c.get();
        if v < self.hot {
            c.set(v + 1);
            return None;
        }
        if v != NEVER && v & TRANSLATED != 0 {
            return self
                .code
                .borrow()
                .entries
                .get((v & !TRANSLATED) as usize)
                .copied();
        }
        None
    }

    /// Whether the block at arena index `start` is hot and not yet translated.
    #[inline(always)]
    pub fn wants(&self, start: u32) -> bool {
        self.on
            && self
                .heat
                .get(start as usize)
                .is_some_and(|c| c.get() == self.hot)
    }

    /// Translates the block at arena index `start` (`insts`, `offs`).
    pub fn translate(&self, start: u32, insts: &[Inst], offs: &[u16]) {
        let Some(cell) = self.heat.get(start as usize) else {
            return;
        };
        cell.set(NEVER);
        let Ok(mut code) = self.code.try_borrow_mut() else {
            return;
        };
        #[cfg(target_arch = "x86_64")]
        {
            // A block whose first instruction is not supported stays interpreted (and
            // must not look like a full buffer below).
            if !insts.first().is_some_and(emit::supported) {
                return;
            }
            let t0 = Instant::now();
            let used = code.buf.used();
            let done = code.emit(insts, offs).or_else(|| {
                // Full (or the host refused the protection change): drop every
                // translation and start again.
                code.stats.buffer_flushes += 1;
                TOTAL_FLUSHES.fetch_add(1, Ordering::Relaxed);
                code.drop_all();
                self.flush_jumps();
                for c in &self.heat {
                    if c.get() != NEVER {
                        c.set(0);
                    }
                }
                code.emit(insts, offs)
            });
            let ns = t0.elapsed().as_nanos() as u64;
            code.stats.translate_ns += ns;
            TOTAL_NS.fetch_add(ns, Ordering::Relaxed);
            if let Some((entry, n)) = done {
                TOTAL_TRANSLATIONS.fetch_add(1, Ordering::Relaxed);
                TOTAL_INSTS.fetch_add(n as u64, Ordering::Relaxed);
                let grown = code.buf.used().checked_sub(used).unwrap_or(code.buf.used());
                TOTAL_BYTES.fetch_add(grown as u64, Ordering::Relaxed);
                cell.set(TRANSLATED | code.entries.len() as u32);
                code.entries.push(entry);
                code.stats.translations += 1;
                code.stats.translated_insts += n as u64;
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = (insts, offs, Instant::now(), &mut code);
        }
    }
}

impl Code {
    /// Drops every translation.
    fn drop_all(&mut self) {
        self.entries.clear();
        #[cfg(target_arch = "x86_64")]
        self.buf.reset();
    }

    #[cfg(target_arch = "x86_64")]
    fn emit(&mut self, insts: &[Inst], offs: &[u16]) -> Option<(Entry, usize)> {
        let ip = self.buf.next_addr()?;
        let t = emit::translate(insts, offs, ip)?;
        let entry = self.buf.emit(&t.code)?;
        Some(((entry, t.body), t.insts))
    }
}

impl Core {
    /// Runs translation `entry` of the block at virtual `pc`, and the translations it
    /// chains to while fewer than `limit` instructions retire and nothing needs the
    /// caller (the interrupt lines stay `lines_seen`); returns where and why it
    /// stopped, as the interpreter's handlers do (a jump target in `state.pc`, an
    /// exception in `op_trap`), and, if it chained, the block it stopped in. `None`:
    /// nothing ran.
    #[inline]
    pub(crate) fn run_translation<B: Bus>(
        &mut self,
        jit: &Jit,
        entry: Entry,
        pc: u64,
        limit: u64,
        lines_seen: u64,
        bus: &mut B,
    ) -> Option<(Exit, Option<Chained>)> {
        #[cfg(target_arch = "x86_64")]
        {
            let ctx_index = self.data_ctx % crate::mmu::tlb::CONTEXTS;
            let tlb_load = self
                .tlb
                .load
                .get(ctx_index)
                .map_or(std::ptr::null(), |t| t.as_ptr());
            let tlb_store = self
                .tlb
                .store
                .get(ctx_index)
                .map_or(std::ptr::null(), |t| t.as_ptr());
            let core: *mut Core = self;
            let x_off = std::mem::offset_of!(Core, state)
                + std::mem::offset_of!(crate::state::HartState, x);
            let touched_off = std::mem::offset_of!(Core, bus_touched);
            let mut ctx = entry::JitCtx {
                x: core.cast::<u8>().wrapping_add(x_off).cast::<u64>(),
                pc,
                val: 0,
                core,
                bus: (bus as *mut B).cast::<()>(),
                helpers: entry::helpers::<B>(),
                tlb_load,
                tlb_store,
                target: 0,
                key: jit.key(self.fetch_ctx),
                jumps: jit.jumps.as_ptr(),
                done: 0,
                limit,
                cur: 0,
                lines: self.lines.bits_ptr(),
                lines_seen,
                requests: self.lines.requests_ptr(),
                events: self.ram.events_ptr(),
                events_seen: self.ram_events_seen,
                bus_touched: core.cast::<u8>().wrapping_add(touched_off).cast_const(),
            };
            let word = jit.code.borrow().buf.call(entry.0, &mut ctx);
            let at = (word & 0xffff_ffff) as usize;
            let stop = match word >> 32 {
                entry::EXIT_END => Stop::End,
                entry::EXIT_JUMP => {
                    self.state.pc = ctx.target;
                    Stop::Jump
                }
                entry::EXIT_TRAP => Stop::Trap,
                _ => return None,
            };
            let chained = (ctx.done != 0).then_some(Chained {
                retired: ctx.done,
                start: ctx.cur as u32,
                len: (ctx.cur >> 32) as u16,
                pc: ctx.pc,
            });
            Some((Exit { stop, at }, chained))
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = (jit, entry, pc, limit, lines_seen, bus);
            None
        }
    }
}
