//! The platform-level interrupt controller (SiFive PLIC, as QEMU's `virt` board has it).
//!
//! Register map (RISC-V PLIC specification 1.0.0, chapter 3, with SiFive's offsets):
//!
//! | offset | register |
//! |---|---|
//! | `0x000000 + 4*id` | priority of source `id` (3 bits, 0 = never interrupts) |
//! | `0x001000` | pending bits, 32 sources per word (read-only) |
//! | `0x002000 + 0x80*ctx` | enable bits of context `ctx` |
//! | `0x200000 + 0x1000*ctx` | priority threshold of context `ctx` |
//! | `0x200004 + 0x1000*ctx` | claim (read) / complete (write) of context `ctx` |
//!
//! Contexts follow QEMU's `virt` layout: context `2*h` is hart `h`'s M-mode (drives
//! `MEIP`), context `2*h + 1` its S-mode (drives `SEIP`).
//!
//! Sources are level-triggered (PLIC spec §3.3, "interrupt gateways"): while a source's
//! line is high and the source is not claimed, it is pending. A claim returns the
//! highest-priority pending source enabled for the context with a priority above the
//! context's threshold (ties go to the lowest id), clears its pending bit and marks it
//! claimed; no further request comes from that source until the claim is completed. A
//! completion of a source enabled for the context releases it, and if its line is still
//! high it is pending again at once. As in QEMU, the threshold also applies to claims.
//!
//! Harts on other threads claim and complete concurrently and devices drive lines from
//! any thread: all state sits behind one internal mutex, and [`Plic`] is a cheap handle.

use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use tern_hart::trap::irq;
use tern_hart::{BusFault, IrqLines};

use crate::irq::{IrqLine, IrqSink};
use tern_state::{Decoder, Encoder, Persist, StateError, Versioned};

use crate::MmioDevice;

/// Number of sources of QEMU's `virt` PLIC (`VIRT_IRQCHIP_NUM_SOURCES`): ids 1..=95 are
/// usable, 0 means "no interrupt". The device tree's `riscv,ndev` is one less.
pub const VIRT_NUM_SOURCES: u32 = 96;
/// Largest priority (QEMU's `virt` has 7 priority levels).
pub const MAX_PRIORITY: u32 = 7;
const PENDING_BASE: u64 = 0x1000;
const ENABLE_BASE: u64 = 0x2000;
const ENABLE_STRIDE: u64 = 0x80;
const CONTEXT_BASE: u64 = 0x20_0000;
const CONTEXT_STRIDE: u64 = 0x1000;
/// Largest number of sources the register layout allows.
pub const MAX_SOURCES: u32 = 1024;
/// Largest number of contexts the register layout allows.
pub const MAX_CONTEXTS: usize = 15872;

/// Size of the register window for `contexts` contexts (QEMU's `VIRT_PLIC_SIZE`).
pub fn window_size(contexts: usize) -> u64 {
    CONTEXT_BASE + CONTEXT_STRIDE * contexts as u64
}

/// Saved state of one context.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContextState {
    /// Enable bits, 32 sources per word.
    pub enable: Vec<u32>,
    /// Priority threshold.
    pub threshold: u32,
}

/// Saved PLIC registers and gateway state.
///
/// Encoded (version 1) as a base (sources, priorities, levels, pending bits,
/// contexts) and a part `claimed`, written only while some source is in service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlicState {
    /// Number of sources including the reserved source 0.
    pub num_sources: u32,
    /// Priority per source.
    pub priority: Vec<u32>,
    /// Current line level per source, 32 per word.
    pub level: Vec<u32>,
    /// Pending bits, 32 per word.
    pub pending: Vec<u32>,
    /// Claimed (in service) bits, 32 per word.
    pub claimed: Vec<u32>,
    /// Per-context registers.
    pub contexts: Vec<ContextState>,
}

/// Where a context's notification goes.
#[derive(Clone, Debug)]
pub struct PlicContext {
    /// The hart's interrupt lines.
    pub lines: Arc<IrqLines>,
    /// The `mip` bit driven (`irq::MEIP` or `irq::SEIP`).
    pub mip_bit: u64,
}

struct Shared {
    contexts: Vec<PlicContext>,
    state: Mutex<PlicState>,
}

/// A PLIC handle: clones share the same controller.
#[derive(Clone)]
pub struct Plic {
    shared: Arc<Shared>,
}

fn bit(words: &[u32], id: u32) -> bool {
    words[(id / 32) as usize] & (1 << (id % 32)) != 0
}

fn set_bit(words: &mut [u32], id: u32, value: bool) {
    let w = &mut words[(id / 32) as usize];
    if value {
        *w |= 1 << (id % 32);
    } else {
        *w &= !(1 << (id % 32));
    }
}

impl Plic {
    /// A PLIC with `num_sources` sources (including the reserved 0; clamped to
    /// 2..=1024) and two contexts per hart (M then S), as on QEMU's `virt` board.
    pub fn new(num_sources: u32, harts: &[Arc<IrqLines>]) -> Plic {
        let contexts = harts
            .iter()
            .flat_map(|lines| {
                [irq::MEIP, irq::SEIP].map(|mip_bit| PlicContext {
                    lines: lines.clone(),
                    mip_bit,
                })
            })
            .collect();
        Plic::with_contexts(num_sources, contexts)
    }

    /// A PLIC with an explicit list of contexts (at most [`MAX_CONTEXTS`]; extra ones
    /// are dropped).
    pub fn with_contexts(num_sources: u32, mut contexts: Vec<PlicContext>) -> Plic {
        let num_sources = num_sources.clamp(2, MAX_SOURCES);
        contexts.truncate(MAX_CONTEXTS);
        let words = num_sources.div_ceil(32) as usize;
        let state = PlicState {
            num_sources,
            priority: vec![0; num_sources as usize],
            level: vec![0; words],
            pending: vec![0; words],
            claimed: vec![0; words],
            contexts: vec![
                ContextState {
                    enable: vec![0; words],
                    threshold: 0,
                };
                contexts.len()
            ],
        };
        Plic {
            shared: Arc::new(Shared {
                contexts,
                state: Mutex::new(state),
            }),
        }
    }

    /// Number of sources including the reserved source 0.
    pub fn num_sources(&self) -> u32 {
        self.lock().num_sources
    }

    /// Number of contexts.
    pub fn num_contexts(&self) -> usize {
        self.shared.contexts.len()
    }

    /// Size of this PLIC's register window.
    pub fn window_size(&self) -> u64 {
        window_size(self.num_contexts())
    }

    /// The interrupt line of source `source` (1..num_sources), for a device.
    /// Out-of-range sources give a line that does nothing.
    pub fn irq_line(&self, source: u32) -> IrqLine {
        IrqLine::new(self.shared.clone(), source)
    }

    /// Drives source `source` to `level` (what an [`IrqLine`] does).
    pub fn set_source_level(&self, source: u32, level: bool) {
        self.shared.set_source_level(source, level);
    }

    fn lock(&self) -> MutexGuard<'_, PlicState> {
        self.shared.lock()
    }

    /// Reads the 32-bit register at `offset`.
    fn read_reg(&self, offset: u64) -> u32 {
        let mut st = self.lock();
        let words = st.level.len() as u64;
        let nctx = st.contexts.len() as u64;
        match offset {
            o if o < 4 * u64::from(st.num_sources) => st.priority[(o / 4) as usize],
            o if (PENDING_BASE..PENDING_BASE + 4 * words).contains(&o) => {
                st.pending[((o - PENDING_BASE) / 4) as usize]
            }
            o if (ENABLE_BASE..ENABLE_BASE + ENABLE_STRIDE * nctx).contains(&o) => {
                let ctx = ((o - ENABLE_BASE) / ENABLE_STRIDE) as usize;
                let word = ((o - ENABLE_BASE) % ENABLE_STRIDE / 4) as usize;
                st.contexts[ctx].enable.get(word).copied().unwrap_or(0)
            }
            o if (CONTEXT_BASE..CONTEXT_BASE + CONTEXT_STRIDE * nctx).contains(&o) => {
                let ctx = ((o - CONTEXT_BASE) / CONTEXT_STRIDE) as usize;
                match (o - CONTEXT_BASE) % CONTEXT_STRIDE {
                    0 => st.contexts[ctx].threshold,
                    4 => {
                        let id = Shared::claim(&mut st, ctx);
                        self.shared.update(&st);
                        id
                    }
                    _ => 0,
                }
            }
            _ => 0,
        }
    }

    /// Writes the 32-bit register at `offset`.
    fn write_reg(&self, offset: u64, value: u32) {
        let mut st = self.lock();
        let words = st.level.len() as u64;
        let nctx = st.contexts.len() as u64;
        match offset {
            // Source 0 does not exist: its priority stays 0.
            0 => {}
            o if o < 4 * u64::from(st.num_sources) => {
                st.priority[(o / 4) as usize] = value & MAX_PRIORITY;
            }
            o if (ENABLE_BASE..ENABLE_BASE + ENABLE_STRIDE * nctx).contains(&o) => {
                let ctx = ((o - ENABLE_BASE) / ENABLE_STRIDE) as usize;
                let word = (o - ENABLE_BASE) % ENABLE_STRIDE / 4;
                if word < words {
                    let mut v = value;
                    if word == 0 {
                        v &= !1;
                    }
                    if word == words - 1 && !st.num_sources.is_multiple_of(32) {
                        v &= (1 << (st.num_sources % 32)) - 1;
                    }
                    st.contexts[ctx].enable[word as usize] = v;
                }
            }
            o if (CONTEXT_BASE..CONTEXT_BASE + CONTEXT_STRIDE * nctx).contains(&o) => {
                let ctx = ((o - CONTEXT_BASE) / CONTEXT_STRIDE) as usize;
                match (o - CONTEXT_BASE) % CONTEXT_STRIDE {
                    0 => st.contexts[ctx].threshold = value & MAX_PRIORITY,
                    4 => Shared::complete(&mut st, ctx, value),
                    _ => {}
                }
            }
            // Pending bits are read-only; everything else is reserved.
            _ => {}
        }
        self.shared.update(&st);
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, PlicState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The best source context `ctx` may claim now, if any.
    fn best(st: &PlicState, ctx: usize) -> Option<u32> {
        let c = &st.contexts[ctx];
        let mut best: Option<(u32, u32)> = None;
        for (w, ((&p, &cl), &en)) in st
            .pending
            .iter()
            .zip(&st.claimed)
            .zip(&c.enable)
            .enumerate()
        {
            let mut bits = p & !cl & en;
            while bits != 0 {
                let id = w as u32 * 32 + bits.trailing_zeros();
                bits &= bits - 1;
                let prio = st.priority[id as usize];
                if prio > c.threshold && best.is_none_or(|(_, bp)| prio > bp) {
                    best = Some((id, prio));
                }
            }
        }
        best.map(|(id, _)| id)
    }

    fn claim(st: &mut PlicState, ctx: usize) -> u32 {
        match Shared::best(st, ctx) {
            Some(id) => {
                set_bit(&mut st.pending, id, false);
                set_bit(&mut st.claimed, id, true);
                id
            }
            None => 0,
        }
    }

    fn complete(st: &mut PlicState, ctx: usize, id: u32) {
        if id == 0 || id >= st.num_sources || !bit(&st.contexts[ctx].enable, id) {
            return;
        }
        set_bit(&mut st.claimed, id, false);
        if bit(&st.level, id) {
            set_bit(&mut st.pending, id, true);
        }
    }

    /// Drives each context's `mip` bit from whether it has a claimable source.
    fn update(&self, st: &PlicState) {
        for (ctx, target) in self.contexts.iter().enumerate() {
            let level = Shared::best(st, ctx).is_some();
            target.lines.set_level(target.mip_bit, level);
        }
    }
}

impl IrqSink for Shared {
    fn set_source_level(&self, source: u32, level: bool) {
        let mut st = self.lock();
        if source == 0 || source >= st.num_sources || bit(&st.level, source) == level {
            return;
        }
        set_bit(&mut st.level, source, level);
        if level {
            if !bit(&st.claimed, source) {
                set_bit(&mut st.pending, source, true);
            }
        } else {
            // A level-triggered request disappears with its line.
            set_bit(&mut st.pending, source, false);
        }
        self.update(&st);
    }
}

impl MmioDevice for Plic {
    fn read(&mut self, offset: u64, size: u8) -> Result<u64, BusFault> {
        if size != 4 || !offset.is_multiple_of(4) || offset >= self.window_size() {
            return Err(BusFault);
        }
        Ok(u64::from(self.read_reg(offset)))
    }

    fn write(&mut self, offset: u64, size: u8, value: u64) -> Result<(), BusFault> {
        if size != 4 || !offset.is_multiple_of(4) || offset >= self.window_size() {
            return Err(BusFault);
        }
        self.write_reg(offset, value as u32);
        Ok(())
    }
}

#[derive(Serialize, Deserialize)]
struct PlicBase {
    num_sources: u32,
    priority: Vec<u32>,
    level: Vec<u32>,
    pending: Vec<u32>,
    contexts: Vec<ContextState>,
}

impl Versioned for PlicState {
    const KIND: &'static str = "plic";
    const VERSION: u32 = 1;

    fn encode(&self, out: &mut Encoder) {
        out.base(&PlicBase {
            num_sources: self.num_sources,
            priority: self.priority.clone(),
            level: self.level.clone(),
            pending: self.pending.clone(),
            contexts: self.contexts.clone(),
        });
        out.part(
            "claimed",
            self.claimed.iter().any(|&w| w != 0),
            &self.claimed,
        );
    }

    fn decode(input: &mut Decoder<'_>) -> Result<Self, StateError> {
        let b: PlicBase = input.base()?;
        let claimed = match input.part::<Vec<u32>>("claimed")? {
            Some(c) => c,
            None => vec![0; b.level.len()],
        };
        Ok(PlicState {
            num_sources: b.num_sources,
            priority: b.priority,
            level: b.level,
            pending: b.pending,
            claimed,
            contexts: b.contexts,
        })
    }
}

impl Persist for Plic {
    type State = PlicState;

    fn save(&self) -> Result<PlicState, StateError> {
        Ok(self.lock().clone())
    }

    /// Restores saved registers (same number of sources and contexts) and re-drives
    /// every context's line.
    fn restore(&mut self, state: &PlicState) -> Result<(), StateError> {
        let mut st = self.lock();
        if state.num_sources != st.num_sources {
            return Err(StateError::mismatch(format!(
                "{} sources saved, this PLIC has {}",
                state.num_sources, st.num_sources
            )));
        }
        if state.contexts.len() != st.contexts.len() {
            return Err(StateError::mismatch(format!(
                "{} contexts saved, this PLIC has {}",
                state.contexts.len(),
                st.contexts.len()
            )));
        }
        let words = st.level.len();
        let bad_words = [&state.level, &state.pending, &state.claimed]
            .iter()
            .any(|v| v.len() != words)
            || state.contexts.iter().any(|c| c.enable.len() != words);
        if bad_words || state.priority.len() != st.priority.len() {
            return Err(StateError::mismatch(
                "register arrays have the wrong length",
            ));
        }
        *st = state.clone();
        self.shared.update(&st);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plic(harts: usize) -> (Plic, Vec<Arc<IrqLines>>) {
        let lines: Vec<_> = (0..harts).map(|_| Arc::new(IrqLines::new())).collect();
        (Plic::new(VIRT_NUM_SOURCES, &lines), lines)
    }

    #[test]
    fn claim_complete_level() {
        let (mut p, lines) = plic(1);
        p.write(4 * 10, 4, 3).unwrap();
        p.write(ENABLE_BASE, 4, 1 << 10).unwrap();
        let line = p.irq_line(10);
        line.raise();
        assert_eq!(lines[0].get() & irq::MEIP, irq::MEIP);
        assert_eq!(p.read(PENDING_BASE, 4).unwrap(), 1 << 10);
        assert_eq!(p.read(CONTEXT_BASE + 4, 4).unwrap(), 10);
        assert_eq!(lines[0].get() & irq::MEIP, 0);
        assert_eq!(p.read(CONTEXT_BASE + 4, 4).unwrap(), 0);
        // Still high at completion: pending again.
        p.write(CONTEXT_BASE + 4, 4, 10).unwrap();
        assert_eq!(lines[0].get() & irq::MEIP, irq::MEIP);
        assert_eq!(p.read(CONTEXT_BASE + 4, 4).unwrap(), 10);
        line.lower();
        p.write(CONTEXT_BASE + 4, 4, 10).unwrap();
        assert_eq!(lines[0].get() & irq::MEIP, 0);
        assert_eq!(p.read(PENDING_BASE, 4).unwrap(), 0);
    }

    #[test]
    fn bad_accesses_fault() {
        let (mut p, _) = plic(1);
        assert!(p.read(0, 1).is_err());
        assert!(p.read(2, 4).is_err());
        assert!(p.read(window_size(2), 4).is_err());
        assert_eq!(p.read(0, 4).unwrap(), 0);
        p.write(0, 4, 7).unwrap();
        assert_eq!(p.read(0, 4).unwrap(), 0);
    }

    #[test]
    fn a_state_without_claims_decodes() {
        let (mut p, _) = plic(1);
        p.write(4 * 10, 4, 3).unwrap();
        p.write(ENABLE_BASE, 4, 1 << 10).unwrap();
        p.irq_line(10).raise();
        let plain = tern_state::to_bytes(&p.save().unwrap()).unwrap();
        assert_eq!(p.read(CONTEXT_BASE + 4, 4).unwrap(), 10);
        let claimed = tern_state::to_bytes(&p.save().unwrap()).unwrap();
        assert!(
            plain.len() < claimed.len(),
            "`claimed` is written only when needed"
        );
        let back: PlicState = tern_state::from_bytes(&plain).unwrap();
        assert_eq!(back.claimed, vec![0; 3]);
        let (mut q, lines) = plic(1);
        q.restore(&back).unwrap();
        assert_eq!(
            lines[0].get() & irq::MEIP,
            irq::MEIP,
            "the line is driven again"
        );
        assert_eq!(q.read(CONTEXT_BASE + 4, 4).unwrap(), 10);
    }
}
