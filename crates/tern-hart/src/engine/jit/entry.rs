//! The boundary between translated code and the hart: the context a translation runs
//! with, the exit word it returns, and the memory-access helpers it calls.
//!
//! Helpers take the context pointer back and reach the hart through it, using the
//! interpreter's own access paths (`load_fast`/`store_fast`, then `load_slow`/
//! `store_slow`): TLB, PMP, MMIO, misaligned accesses, code-write and dirty tracking
//! are therefore exactly the interpreter's. An exception goes to `op_trap` and the
//! helper returns nonzero; the translation then exits with the instruction's index.

use crate::hart::Core;
use crate::mem::bus::Bus;
use crate::mmu::tlb::TlbEntry;

/// A memory helper: `(ctx, address, store value) -> 0 or nonzero on a trap`. A load
/// leaves its (already extended) value in `JitCtx::val`.
pub(crate) type Helper = extern "sysv64" fn(*mut JitCtx, u64, u64) -> u64;

/// Index of each helper in [`JitCtx::helpers`].
pub(crate) mod helper {
    pub const LB: usize = 0;
    pub const LH: usize = 1;
    pub const LW: usize = 2;
    pub const LD: usize = 3;
    pub const LBU: usize = 4;
    pub const LHU: usize = 5;
    pub const LWU: usize = 6;
    pub const SB: usize = 7;
    pub const SH: usize = 8;
    pub const SW: usize = 9;
    pub const SD: usize = 10;
    pub const COUNT: usize = 11;
}

/// Exit kinds, in bits 32.. of the exit word (bits 0..32: instruction index, in the
/// block whose pc is `JitCtx::pc`).
pub(crate) const EXIT_END: u64 = 0;
/// Jumped or took a branch to `JitCtx::target` at the index.
pub(crate) const EXIT_JUMP: u64 = 1;
/// The instruction at the index raised `op_trap`.
pub(crate) const EXIT_TRAP: u64 = 2;
/// Nothing ran (no code): the caller interprets the block.
pub(crate) const EXIT_NONE: u64 = 3 << 32;

/// What a translation runs with. `#[repr(C)]`: generated code addresses the fields at
/// the offsets below.
#[repr(C)]
pub(crate) struct JitCtx {
    /// The hart's integer registers (`state.x`).
    pub x: *mut u64,
    /// The virtual pc of the block running (on entry the first block's; each chained
    /// block sets its own).
    pub pc: u64,
    /// A load helper's result.
    pub val: u64,
    /// The hart (for the helpers).
    pub core: *mut Core,
    /// The bus (for the helpers: a `*mut B` of the `helpers`' `B`).
    pub bus: *mut (),
    /// The memory helpers, for the bus type in `bus`.
    pub helpers: [Helper; helper::COUNT],
    /// The load TLB of the current data context (`tlb::ENTRIES` entries).
    pub tlb_load: *const TlbEntry,
    /// The store TLB of the current data context: its entries map only pages that are
    /// already dirty and hold no decoded code, so a store through one needs no
    /// further bookkeeping (the interpreter's `store_fast` relies on the same).
    pub tlb_store: *const TlbEntry,
    /// On a jump exit, the target.
    pub target: u64,
    /// `generation << 8 | fetch context`: the key a [`JumpSlot`] must carry to be
    /// chained to.
    pub key: u64,
    /// The translator's jump cache ([`JUMP_SLOTS`] slots).
    pub jumps: *const JumpSlot,
    /// Instructions retired by the blocks chained past so far (0: still the first
    /// block).
    pub done: u64,
    /// Chaining stops before `done` would reach this (the caller's budget).
    pub limit: u64,
    /// The running block's `start | len << 32` (set by each chain).
    pub cur: u64,
    /// The hart's interrupt lines (`IrqLines::get`) and their value when the caller
    /// started: chaining stops when they change.
    pub lines: *const u64,
    pub lines_seen: u64,
    /// The hart's request word (`IrqLines::has_requests`): chaining stops when it is
    /// nonzero.
    pub requests: *const u64,
    /// Guest RAM's event counter (code writes, store epochs) and the value the hart
    /// has handled: chaining stops when they differ.
    pub events: *const u64,
    pub events_seen: u64,
    /// The hart's `bus_touched` flag (a device was accessed): chaining stops when set.
    pub bus_touched: *const u8,
}

/// Slots of the translator's jump cache (a power of two).
pub(crate) const JUMP_SLOTS: usize = 4096;

/// One slot of the translator's jump cache: guest virtual pc (and key) to the
/// translation of the block there. Generated code reads slots; the run loop fills
/// them when it enters a translation, and a generation change (in the key) empties
/// them all at once.
#[repr(C)]
#[derive(Default)]
pub(crate) struct JumpSlot {
    /// The block's virtual pc (odd, never a pc, when empty).
    pub vpc: std::cell::Cell<u64>,
    /// `generation << 8 | fetch context` when filled.
    pub key: std::cell::Cell<u64>,
    /// Host address of the translation's body (past its prologue).
    pub code: std::cell::Cell<u64>,
    /// The block's `start | len << 32` (for `JitCtx::cur`).
    pub cur: std::cell::Cell<u64>,
}

/// The slot of virtual pc `vpc` (generated code computes the same).
#[inline(always)]
pub(crate) fn jump_slot(vpc: u64) -> usize {
    ((vpc >> 1) ^ (vpc >> JUMP_HASH_SHIFT)) as usize & (JUMP_SLOTS - 1)
}

/// The second shift of [`jump_slot`]'s hash.
pub(crate) const JUMP_HASH_SHIFT: u32 = 13;

/// Offsets of [`JitCtx`] fields for generated code.
pub(crate) const OFF_X: i32 = 0;
pub(crate) const OFF_PC: i32 = 8;
pub(crate) const OFF_VAL: i32 = 16;
pub(crate) const OFF_HELPERS: i32 = 40;
pub(crate) const OFF_TLB_LOAD: i32 = OFF_HELPERS + 8 * helper::COUNT as i32;
pub(crate) const OFF_TLB_STORE: i32 = OFF_TLB_LOAD + 8;
pub(crate) const OFF_TARGET: i32 = OFF_TLB_STORE + 8;
pub(crate) const OFF_KEY: i32 = OFF_TARGET + 8;
pub(crate) const OFF_JUMPS: i32 = OFF_KEY + 8;
pub(crate) const OFF_DONE: i32 = OFF_JUMPS + 8;
pub(crate) const OFF_LIMIT: i32 = OFF_DONE + 8;
pub(crate) const OFF_CUR: i32 = OFF_LIMIT + 8;
pub(crate) const OFF_LINES: i32 = OFF_CUR + 8;
pub(crate) const OFF_LINES_SEEN: i32 = OFF_LINES + 8;
pub(crate) const OFF_REQUESTS: i32 = OFF_LINES_SEEN + 8;
pub(crate) const OFF_EVENTS: i32 = OFF_REQUESTS + 8;
pub(crate) const OFF_EVENTS_SEEN: i32 = OFF_EVENTS + 8;
pub(crate) const OFF_BUS_TOUCHED: i32 = OFF_EVENTS_SEEN + 8;

const _: () = {
    assert!(std::mem::offset_of!(JitCtx, x) == OFF_X as usize);
    assert!(std::mem::offset_of!(JitCtx, pc) == OFF_PC as usize);
    assert!(std::mem::offset_of!(JitCtx, val) == OFF_VAL as usize);
    assert!(std::mem::offset_of!(JitCtx, helpers) == OFF_HELPERS as usize);
    assert!(std::mem::offset_of!(JitCtx, tlb_load) == OFF_TLB_LOAD as usize);
    assert!(std::mem::offset_of!(JitCtx, tlb_store) == OFF_TLB_STORE as usize);
    assert!(std::mem::offset_of!(JitCtx, target) == OFF_TARGET as usize);
    assert!(std::mem::offset_of!(JitCtx, key) == OFF_KEY as usize);
    assert!(std::mem::offset_of!(JitCtx, jumps) == OFF_JUMPS as usize);
    assert!(std::mem::offset_of!(JitCtx, done) == OFF_DONE as usize);
    assert!(std::mem::offset_of!(JitCtx, limit) == OFF_LIMIT as usize);
    assert!(std::mem::offset_of!(JitCtx, cur) == OFF_CUR as usize);
    assert!(std::mem::offset_of!(JitCtx, lines) == OFF_LINES as usize);
    assert!(std::mem::offset_of!(JitCtx, lines_seen) == OFF_LINES_SEEN as usize);
    assert!(std::mem::offset_of!(JitCtx, requests) == OFF_REQUESTS as usize);
    assert!(std::mem::offset_of!(JitCtx, events) == OFF_EVENTS as usize);
    assert!(std::mem::offset_of!(JitCtx, events_seen) == OFF_EVENTS_SEEN as usize);
    assert!(std::mem::offset_of!(JitCtx, bus_touched) == OFF_BUS_TOUCHED as usize);
    assert!(std::mem::size_of::<JumpSlot>() == 32);
    assert!(std::mem::offset_of!(JumpSlot, vpc) == 0);
    assert!(std::mem::offset_of!(JumpSlot, key) == 8);
    assert!(std::mem::offset_of!(JumpSlot, code) == 16);
    assert!(std::mem::offset_of!(JumpSlot, cur) == 24);
    assert!(JUMP_SLOTS.is_power_of_two());
    assert!(std::mem::offset_of!(TlbEntry, vpage) == 0);
    assert!(std::mem::offset_of!(TlbEntry, addend) == 8);
    assert!(std::mem::size_of::<TlbEntry>() == 16);
    assert!(crate::mmu::tlb::ENTRIES == 256);
};

/// Runs `f` with the hart and bus of `ctx`.
#[inline(always)]
fn with<B: Bus, R>(ctx: *mut JitCtx, f: impl FnOnce(&mut JitCtx, &mut Core, &mut B) -> R) -> R {
    // SAFETY: generated code passes back the context it was called with, which
    // `Core::run_translation` built from live `&mut Core` and `&mut B` borrows that
    // it does not use while the translation runs; `bus` was made from a `&mut B` of
    // this very `B` (the helper table is chosen for the same `B`). The context, the
    // hart and the bus are distinct objects, so the three references do not overlap;
    // generated code touches `state.x` only between helper calls, and the helpers
    // never read or write `state.x` (the registers translated code keeps in host
    // registers are stale there until its epilogue).
    unsafe {
        let ctx = &mut *ctx;
        let core = &mut *ctx.core;
        let bus = &mut *ctx.bus.cast::<B>();
        f(ctx, core, bus)
    }
}

/// A load helper of `N` bytes; `SIGNED` sign-extends.
extern "sysv64" fn load<B: Bus, const N: usize, const SIGNED: bool>(
    ctx: *mut JitCtx,
    addr: u64,
    _: u64,
) -> u64 {
    with::<B, u64>(ctx, |ctx, core, bus| {
        let v = match core.load_fast::<N>(addr) {
            Some(v) => v,
            None => match core.load_slow(addr, N as u64, bus) {
                Ok(v) => v,
                Err(e) => {
                    core.op_trap = e;
                    return 1;
                }
            },
        };
        ctx.val = match (SIGNED, N) {
            (true, 1) => v as i8 as u64,
            (true, 2) => v as i16 as u64,
            (true, 4) => v as i32 as u64,
            _ => v,
        };
        0
    })
}

/// A store helper of the low `N` bytes of `value`.
extern "sysv64" fn store<B: Bus, const N: usize>(ctx: *mut JitCtx, addr: u64, value: u64) -> u64 {
    with::<B, u64>(ctx, |_, core, bus| {
        if core.store_fast::<N>(addr, value) {
            return 0;
        }
        match core.store_slow(addr, N as u64, value, bus) {
            Ok(()) => 0,
            Err(e) => {
                core.op_trap = e;
                1
            }
        }
    })
}

/// The helper table for bus type `B`.
pub(crate) fn helpers<B: Bus>() -> [Helper; helper::COUNT] {
    [
        load::<B, 1, true>,
        load::<B, 2, true>,
        load::<B, 4, true>,
        load::<B, 8, false>,
        load::<B, 1, false>,
        load::<B, 2, false>,
        load::<B, 4, false>,
        store::<B, 1>,
        store::<B, 2>,
        store::<B, 4>,
        store::<B, 8>,
    ]
}
