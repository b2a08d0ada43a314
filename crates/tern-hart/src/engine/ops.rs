//! The interpreter's operations: one handler function per operation, threaded.
//!
//! Each handler executes its instruction and then calls the handler of the next
//! instruction of the block itself, through [`dispatch`], in tail position. Rust
//! compiles those calls to jumps, so every handler ends in its own indirect jump: the
//! host's branch predictor then learns "what follows an `add`" separately from "what
//! follows a `beq`", which a single `match` in a loop (one shared indirect jump for
//! every guest instruction) cannot give it. On a Linux boot this halves the host's
//! mispredicted branches. Should a call not become a jump, the depth is still bounded:
//! a block has at most [`crate::engine::cache::MAX_BLOCK`] instructions.
//!
//! A handler returns only to end the block: at its end, on a jump or taken branch, on
//! a trap, or at a system instruction, which [`Core::exec_block`] runs itself (it needs
//! the retired-instruction count, kept there). What a handler returns is where it
//! stopped and why; the target pc goes to `state.pc` and an exception to `op_trap`.

use tern_isa::{Inst, Op};

use crate::exec::alu::{self, sext32};
use crate::hart::Core;
use crate::mem::bus::Bus;
use crate::trap::Exception;

/// Bits [31:20] of the `pause` instruction.
const PAUSE_BITS: i32 = 0x010;
/// `R` in a fence's predecessor or successor set (bits [7:4] and [3:0] of its
/// immediate: I, O, R, W from the top).
const FENCE_R: i32 = 0b0010;
/// `W` in a fence's predecessor or successor set.
const FENCE_W: i32 = 0b0001;

/// The block being run: where it starts and its instructions.
pub(crate) struct Ctx<'a> {
    /// Virtual pc of the block's first instruction.
    pub pc: u64,
    /// The block's instructions.
    pub insts: &'a [Inst],
    /// Byte offset of each instruction from the block's start.
    pub offs: &'a [u16],
}

impl Ctx<'_> {
    /// Index in the block of the instruction `rest` starts with.
    #[inline(always)]
    fn index(&self, rest: &[Inst]) -> usize {
        self.insts.len() - rest.len()
    }

    /// The virtual pc of instruction `k` of the block.
    #[inline(always)]
    pub fn pc_at(&self, k: usize) -> u64 {
        self.pc
            .wrapping_add(u64::from(self.offs.get(k).copied().unwrap_or(0)))
    }

    /// The virtual pc after instruction `k` of the block.
    #[inline(always)]
    pub fn next_pc(&self, k: usize) -> u64 {
        let len = self.insts.get(k).map_or(4, |i| i.len);
        self.pc_at(k).wrapping_add(u64::from(len))
    }

    /// The pc of the instruction `rest` starts with.
    #[inline(always)]
    fn here(&self, rest: &[Inst]) -> u64 {
        self.pc_at(self.index(rest))
    }
}

/// Why a block stopped.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Stop {
    /// Ran past its last instruction.
    End,
    /// Jumped (or took a branch) to `state.pc`.
    Jump,
    /// Instruction `at` raised `op_trap`.
    Trap,
    /// Instruction `at` is a system instruction for the caller to run.
    System,
}

/// Where and why a block stopped (two words: returned in registers).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Exit {
    /// Why.
    pub stop: Stop,
    /// Index of the instruction that stopped it (the block's length for `End`).
    pub at: usize,
}

/// A handler: runs the first instruction of `rest`, then the rest of the block.
pub(crate) type Handler<B> = fn(&mut Core, &mut B, &[Inst], &Ctx) -> Exit;

/// Runs the instructions of `rest` (a tail of `ctx.insts`) until the block stops.
#[inline(always)]
pub(crate) fn dispatch<B: Bus, const TRACE: bool>(
    c: &mut Core,
    bus: &mut B,
    rest: &[Inst],
    ctx: &Ctx,
) -> Exit {
    match rest.first() {
        Some(i) => Table::<B, TRACE>::OPS[usize::from(i.op as u8)](c, bus, rest, ctx),
        None => Exit {
            stop: Stop::End,
            at: ctx.insts.len(),
        },
    }
}

#[inline(always)]
fn x(c: &Core, r: u8) -> u64 {
    c.state.x[usize::from(r & 31)]
}

/// Ends the block with exception `e` raised by the first instruction of `rest`.
#[cold]
#[inline(never)]
fn trap(c: &mut Core, e: Exception, rest: &[Inst], ctx: &Ctx) -> Exit {
    c.op_trap = e;
    Exit {
        stop: Stop::Trap,
        at: ctx.index(rest),
    }
}

/// Ends the block with a jump to `target` by the first instruction of `rest`.
#[inline(always)]
fn jump(c: &mut Core, target: u64, rest: &[Inst], ctx: &Ctx) -> Exit {
    c.state.pc = target;
    Exit {
        stop: Stop::Jump,
        at: ctx.index(rest),
    }
}

/// Defines a handler (generic over the bus and tracing) with the given parameter names.
macro_rules! handler {
    ($(#[$m:meta])* $name:ident, |$c:ident, $bus:ident, $rest:ident, $ctx:ident| $body:block) => {
        $(#[$m])*
        fn $name<B: Bus, const TRACE: bool>(
            $c: &mut Core,
            $bus: &mut B,
            $rest: &[Inst],
            $ctx: &Ctx,
        ) -> Exit $body
    };
}

/// Defines `slow`, the cold miss path of a memory handler, entered by a tail call once
/// the TLB hit path has failed (so it goes to `load_slow`/`store_slow` directly).
macro_rules! slow_path {
    (|$c:ident, $bus:ident, $rest:ident, $ctx:ident| $body:block) => {
        handler!(
            #[cold]
            #[inline(never)]
            slow,
            |$c, $bus, $rest, $ctx| $body
        );
    };
}

/// Splits the rest of the block into the instruction to run and the ones after it.
macro_rules! split {
    ($rest:ident, $ctx:ident, $i:ident, $next:ident) => {
        let [$i, $next @ ..] = $rest else {
            return Exit {
                stop: Stop::End,
                at: $ctx.insts.len(),
            };
        };
    };
}

/// The head of every handler: splits off the instruction and traces it.
macro_rules! head {
    ($c:ident, $rest:ident, $ctx:ident, $i:ident, $next:ident) => {
        split!($rest, $ctx, $i, $next);
        // The instrumented form also serves observers: the trace is tested here,
        // not in a call per instruction.
        if TRACE && $c.trace.is_some() {
            $c.trace_inst($ctx.here($rest), $i);
        }
    };
}

/// A handler writing rd with a value computed from the instruction (`rd` = x0 never
/// reaches these: the block builder turned such instructions into no-ops).
macro_rules! alu {
    ($name:ident, |$c:ident, $i:ident| $value:expr) => {
        handler!($name, |c, bus, rest, ctx| {
            head!(c, rest, ctx, i, next);
            let v = {
                let $c: &Core = c;
                let $i: &Inst = i;
                $value
            };
            c.state.x[usize::from(i.rd & 31)] = v;
            dispatch::<B, TRACE>(c, bus, next, ctx)
        });
    };
}

/// Shorthands for operands inside `alu!` expressions.
macro_rules! rs1 {
    ($c:ident, $i:ident) => {
        x($c, $i.rs1)
    };
}
macro_rules! rs2 {
    ($c:ident, $i:ident) => {
        x($c, $i.rs2)
    };
}
macro_rules! imm {
    ($i:ident) => {
        $i.imm as i64 as u64
    };
}

alu!(lui, |_c, i| imm!(i));
alu!(addi, |c, i| rs1!(c, i).wrapping_add(imm!(i)));
alu!(slti, |c, i| u64::from(
    (rs1!(c, i) as i64) < i64::from(i.imm)
));
alu!(sltiu, |c, i| u64::from(rs1!(c, i) < imm!(i)));
alu!(xori, |c, i| rs1!(c, i) ^ imm!(i));
alu!(ori, |c, i| rs1!(c, i) | imm!(i));
alu!(andi, |c, i| rs1!(c, i) & imm!(i));
alu!(slli, |c, i| rs1!(c, i) << (i.imm & 63));
alu!(srli, |c, i| rs1!(c, i) >> (i.imm & 63));
alu!(srai, |c, i| ((rs1!(c, i) as i64) >> (i.imm & 63)) as u64);
alu!(add, |c, i| rs1!(c, i).wrapping_add(rs2!(c, i)));
alu!(sub, |c, i| rs1!(c, i).wrapping_sub(rs2!(c, i)));
alu!(sll, |c, i| rs1!(c, i) << (rs2!(c, i) & 63));
alu!(slt, |c, i| u64::from(
    (rs1!(c, i) as i64) < (rs2!(c, i) as i64)
));
alu!(sltu, |c, i| u64::from(rs1!(c, i) < rs2!(c, i)));
alu!(xor, |c, i| rs1!(c, i) ^ rs2!(c, i));
alu!(srl, |c, i| rs1!(c, i) >> (rs2!(c, i) & 63));
alu!(sra, |c, i| ((rs1!(c, i) as i64) >> (rs2!(c, i) & 63))
    as u64);
alu!(or, |c, i| rs1!(c, i) | rs2!(c, i));
alu!(and, |c, i| rs1!(c, i) & rs2!(c, i));
alu!(addiw, |c, i| sext32(rs1!(c, i).wrapping_add(imm!(i))));
alu!(slliw, |c, i| sext32(rs1!(c, i) << (i.imm & 31)));
alu!(srliw, |c, i| sext32(u64::from(
    (rs1!(c, i) as u32) >> (i.imm & 31)
)));
alu!(sraiw, |c, i| ((rs1!(c, i) as i32) >> (i.imm & 31)) as i64
    as u64);
alu!(addw, |c, i| sext32(rs1!(c, i).wrapping_add(rs2!(c, i))));
alu!(subw, |c, i| sext32(rs1!(c, i).wrapping_sub(rs2!(c, i))));
alu!(sllw, |c, i| sext32(rs1!(c, i) << (rs2!(c, i) & 31)));
alu!(srlw, |c, i| sext32(u64::from(
    (rs1!(c, i) as u32) >> (rs2!(c, i) & 31)
)));
alu!(
    sraw,
    |c, i| ((rs1!(c, i) as i32) >> (rs2!(c, i) & 31)) as i64 as u64
);
alu!(mul, |c, i| rs1!(c, i).wrapping_mul(rs2!(c, i)));
alu!(mulh, |c, i| alu::mulh(rs1!(c, i), rs2!(c, i)));
alu!(mulhsu, |c, i| alu::mulhsu(rs1!(c, i), rs2!(c, i)));
alu!(mulhu, |c, i| alu::mulhu(rs1!(c, i), rs2!(c, i)));
alu!(div, |c, i| alu::div(rs1!(c, i), rs2!(c, i)));
alu!(divu, |c, i| alu::divu(rs1!(c, i), rs2!(c, i)));
alu!(rem, |c, i| alu::rem(rs1!(c, i), rs2!(c, i)));
alu!(remu, |c, i| alu::remu(rs1!(c, i), rs2!(c, i)));
alu!(mulw, |c, i| sext32(rs1!(c, i).wrapping_mul(rs2!(c, i))));
alu!(divw, |c, i| alu::divw(rs1!(c, i), rs2!(c, i)));
alu!(divuw, |c, i| alu::divuw(rs1!(c, i), rs2!(c, i)));
alu!(remw, |c, i| alu::remw(rs1!(c, i), rs2!(c, i)));
alu!(remuw, |c, i| alu::remuw(rs1!(c, i), rs2!(c, i)));
alu!(add_uw, |c, i| (rs1!(c, i) & 0xffff_ffff)
    .wrapping_add(rs2!(c, i)));
alu!(sh1add, |c, i| (rs1!(c, i) << 1).wrapping_add(rs2!(c, i)));
alu!(sh2add, |c, i| (rs1!(c, i) << 2).wrapping_add(rs2!(c, i)));
alu!(sh3add, |c, i| (rs1!(c, i) << 3).wrapping_add(rs2!(c, i)));
alu!(sh1add_uw, |c, i| ((rs1!(c, i) & 0xffff_ffff) << 1)
    .wrapping_add(rs2!(c, i)));
alu!(sh2add_uw, |c, i| ((rs1!(c, i) & 0xffff_ffff) << 2)
    .wrapping_add(rs2!(c, i)));
alu!(sh3add_uw, |c, i| ((rs1!(c, i) & 0xffff_ffff) << 3)
    .wrapping_add(rs2!(c, i)));
alu!(slli_uw, |c, i| (rs1!(c, i) & 0xffff_ffff) << (i.imm & 63));
alu!(andn, |c, i| rs1!(c, i) & !rs2!(c, i));
alu!(orn, |c, i| rs1!(c, i) | !rs2!(c, i));
alu!(xnor, |c, i| !(rs1!(c, i) ^ rs2!(c, i)));
alu!(clz, |c, i| u64::from(rs1!(c, i).leading_zeros()));
alu!(clzw, |c, i| u64::from((rs1!(c, i) as u32).leading_zeros()));
alu!(ctz, |c, i| u64::from(rs1!(c, i).trailing_zeros()));
alu!(ctzw, |c, i| u64::from((rs1!(c, i) as u32).trailing_zeros()));
alu!(cpop, |c, i| u64::from(rs1!(c, i).count_ones()));
alu!(cpopw, |c, i| u64::from((rs1!(c, i) as u32).count_ones()));
alu!(max, |c, i| (rs1!(c, i) as i64).max(rs2!(c, i) as i64)
    as u64);
alu!(maxu, |c, i| rs1!(c, i).max(rs2!(c, i)));
alu!(min, |c, i| (rs1!(c, i) as i64).min(rs2!(c, i) as i64)
    as u64);
alu!(minu, |c, i| rs1!(c, i).min(rs2!(c, i)));
alu!(sext_b, |c, i| rs1!(c, i) as i8 as u64);
alu!(sext_h, |c, i| rs1!(c, i) as i16 as u64);
alu!(zext_h, |c, i| rs1!(c, i) & 0xffff);
alu!(rol, |c, i| rs1!(c, i).rotate_left((rs2!(c, i) & 63) as u32));
alu!(rolw, |c, i| sext32(u64::from(
    (rs1!(c, i) as u32).rotate_left((rs2!(c, i) & 31) as u32)
)));
alu!(ror, |c, i| rs1!(c, i)
    .rotate_right((rs2!(c, i) & 63) as u32));
alu!(rorw, |c, i| sext32(u64::from(
    (rs1!(c, i) as u32).rotate_right((rs2!(c, i) & 31) as u32)
)));
alu!(rori, |c, i| rs1!(c, i).rotate_right((i.imm & 63) as u32));
alu!(roriw, |c, i| sext32(u64::from(
    (rs1!(c, i) as u32).rotate_right((i.imm & 31) as u32)
)));
alu!(orc_b, |c, i| alu::orc_b(rs1!(c, i)));
alu!(rev8, |c, i| rs1!(c, i).swap_bytes());
alu!(bclr, |c, i| rs1!(c, i) & !(1 << (rs2!(c, i) & 63)));
alu!(bclri, |c, i| rs1!(c, i) & !(1 << (i.imm & 63)));
alu!(bext, |c, i| (rs1!(c, i) >> (rs2!(c, i) & 63)) & 1);
alu!(bexti, |c, i| (rs1!(c, i) >> (i.imm & 63)) & 1);
alu!(binv, |c, i| rs1!(c, i) ^ (1 << (rs2!(c, i) & 63)));
alu!(binvi, |c, i| rs1!(c, i) ^ (1 << (i.imm & 63)));
alu!(bset, |c, i| rs1!(c, i) | (1 << (rs2!(c, i) & 63)));
alu!(bseti, |c, i| rs1!(c, i) | (1 << (i.imm & 63)));
alu!(czero_eqz, |c, i| if rs2!(c, i) == 0 {
    0
} else {
    rs1!(c, i)
});
alu!(czero_nez, |c, i| if rs2!(c, i) != 0 {
    0
} else {
    rs1!(c, i)
});

fn auipc<B: Bus, const TRACE: bool>(c: &mut Core, bus: &mut B, rest: &[Inst], ctx: &Ctx) -> Exit {
    head!(c, rest, ctx, i, next);
    c.state.x[usize::from(i.rd & 31)] = ctx.here(rest).wrapping_add(imm!(i));
    dispatch::<B, TRACE>(c, bus, next, ctx)
}

fn jal<B: Bus, const TRACE: bool>(c: &mut Core, _bus: &mut B, rest: &[Inst], ctx: &Ctx) -> Exit {
    head!(c, rest, ctx, i, _next);
    let pc = ctx.here(rest);
    c.state.x[usize::from(i.rd & 31)] = pc.wrapping_add(u64::from(i.len));
    c.state.x[0] = 0;
    jump(c, pc.wrapping_add(imm!(i)), rest, ctx)
}

fn jalr<B: Bus, const TRACE: bool>(c: &mut Core, _bus: &mut B, rest: &[Inst], ctx: &Ctx) -> Exit {
    head!(c, rest, ctx, i, _next);
    let target = x(c, i.rs1).wrapping_add(imm!(i)) & !1;
    c.state.x[usize::from(i.rd & 31)] = ctx.here(rest).wrapping_add(u64::from(i.len));
    c.state.x[0] = 0;
    jump(c, target, rest, ctx)
}

/// A conditional branch: taken ends the block, not taken goes on.
macro_rules! branch {
    ($name:ident, |$a:ident, $b:ident| $taken:expr) => {
        handler!($name, |c, bus, rest, ctx| {
            head!(c, rest, ctx, i, next);
            let ($a, $b) = (x(c, i.rs1), x(c, i.rs2));
            if $taken {
                return jump(c, ctx.here(rest).wrapping_add(imm!(i)), rest, ctx);
            }
            dispatch::<B, TRACE>(c, bus, next, ctx)
        });
    };
}

branch!(beq, |a, b| a == b);
branch!(bne, |a, b| a != b);
branch!(blt, |a, b| (a as i64) < (b as i64));
branch!(bge, |a, b| (a as i64) >= (b as i64));
branch!(bltu, |a, b| a < b);
branch!(bgeu, |a, b| a >= b);

/// A load of `$n` bytes, extended by `$ext` (a cast chain from the loaded `u64`). The
/// TLB miss path is a separate handler, entered by a tail call, so that the hit path
/// saves no registers.
macro_rules! load {
    ($name:ident, $n:literal, |$v:ident| $ext:expr) => {
        handler!($name, |c, bus, rest, ctx| {
            slow_path!(|c, bus, rest, ctx| {
                split!(rest, ctx, i, next);
                let addr = x(c, i.rs1).wrapping_add(imm!(i));
                let $v = match c.load_slow(addr, $n, bus) {
                    Ok(v) => v,
                    Err(e) => return trap(c, e, rest, ctx),
                };
                if TRACE {
                    c.observe_mem(ctx.here(rest), addr, $n, false);
                }
                c.state.x[usize::from(i.rd & 31)] = $ext;
                c.state.x[0] = 0;
                dispatch::<B, TRACE>(c, bus, next, ctx)
            });
            head!(c, rest, ctx, i, next);
            let addr = x(c, i.rs1).wrapping_add(imm!(i));
            let Some($v) = c.load_fast::<$n>(addr) else {
                return slow::<B, TRACE>(c, bus, rest, ctx);
            };
            if TRACE {
                c.observe_mem(ctx.here(rest), addr, $n, false);
            }
            c.state.x[usize::from(i.rd & 31)] = $ext;
            c.state.x[0] = 0;
            dispatch::<B, TRACE>(c, bus, next, ctx)
        });
    };
}

load!(lb, 1, |v| v as i8 as u64);
load!(lh, 2, |v| v as i16 as u64);
load!(lw, 4, |v| v as i32 as u64);
load!(ld, 8, |v| v);
load!(lbu, 1, |v| v);
load!(lhu, 2, |v| v);
load!(lwu, 4, |v| v);

/// A store of the low `$n` bytes of rs2 (the TLB miss path apart, as for loads).
macro_rules! store {
    ($name:ident, $n:literal) => {
        handler!($name, |c, bus, rest, ctx| {
            slow_path!(|c, bus, rest, ctx| {
                split!(rest, ctx, i, next);
                let addr = x(c, i.rs1).wrapping_add(imm!(i));
                if let Err(e) = c.store_slow(addr, $n, x(c, i.rs2), bus) {
                    return trap(c, e, rest, ctx);
                }
                if TRACE {
                    c.observe_mem(ctx.here(rest), addr, $n, true);
                }
                dispatch::<B, TRACE>(c, bus, next, ctx)
            });
            head!(c, rest, ctx, i, next);
            let addr = x(c, i.rs1).wrapping_add(imm!(i));
            if !c.store_fast::<$n>(addr, x(c, i.rs2)) {
                return slow::<B, TRACE>(c, bus, rest, ctx);
            }
            if TRACE {
                c.observe_mem(ctx.here(rest), addr, $n, true);
            }
            dispatch::<B, TRACE>(c, bus, next, ctx)
        });
    };
}

store!(sb, 1);
store!(sh, 2);
store!(sw, 4);
store!(sd, 8);

/// `fence` (also what the builder turns ALU operations writing x0 into, with no
/// predecessor or successor set: a no-op), and `pause`.
///
/// Guest loads and stores are relaxed host atomics (see `mem::atomic`), so a fence
/// must be a host fence for other harts to see the order RVWMO promises. Ordering
/// earlier stores before later loads (`W` in the predecessor set, `R` in the
/// successor set: `fence rw,rw`, Linux's `smp_mb`) needs a sequentially consistent
/// host fence, the only one that keeps an x86-64 store buffer from reordering them
/// (an `mfence`); every other fence is an acquire-release fence, which costs nothing
/// on x86-64 and is a barrier on weaker hosts.
fn fence<B: Bus, const TRACE: bool>(c: &mut Core, bus: &mut B, rest: &[Inst], ctx: &Ctx) -> Exit {
    head!(c, rest, ctx, i, next);
    // `pause` (Zihintpause: fence with pred = W, succ = 0) marks a spin-wait loop.
    if i.imm == PAUSE_BITS {
        c.pause_hint();
    }
    let (pred, succ) = ((i.imm >> 4) & 0xf, i.imm & 0xf);
    if c.config.sole_hart {
        // No other hart to order against (devices see guest memory after an MMIO
        // access, which goes through a lock).
    } else if pred & FENCE_W != 0 && succ & FENCE_R != 0 {
        std::sync::atomic::fence(std::sync::atomic::Ordering::SeqCst);
    } else if pred != 0 && succ != 0 {
        std::sync::atomic::fence(std::sync::atomic::Ordering::AcqRel);
    }
    dispatch::<B, TRACE>(c, bus, next, ctx)
}

fn amo<B: Bus, const TRACE: bool>(c: &mut Core, bus: &mut B, rest: &[Inst], ctx: &Ctx) -> Exit {
    head!(c, rest, ctx, i, next);
    let addr = x(c, i.rs1);
    match c.exec_amo(i, bus) {
        Ok(v) => {
            c.state.x[usize::from(i.rd & 31)] = v;
            c.state.x[0] = 0;
        }
        Err(e) => return trap(c, e, rest, ctx),
    }
    if TRACE {
        let size = if (i.op as u8) >= (Op::LrD as u8) {
            8
        } else {
            4
        };
        let load_only = matches!(i.op, Op::LrW | Op::LrD);
        c.observe_mem(ctx.here(rest), addr, size, !load_only);
    }
    dispatch::<B, TRACE>(c, bus, next, ctx)
}

/// A floating-point load (the TLB miss path and the FPU-off trap apart, as for loads).
macro_rules! fload {
    ($name:ident, $n:literal, |$c:ident, $rd:ident, $v:ident| $set:expr) => {
        handler!($name, |c, bus, rest, ctx| {
            slow_path!(|c, bus, rest, ctx| {
                split!(rest, ctx, i, next);
                if !c.fpu_on() {
                    return trap(c, Exception::illegal(i.raw), rest, ctx);
                }
                let addr = x(c, i.rs1).wrapping_add(imm!(i));
                let $v = match c.load_slow(addr, $n, bus) {
                    Ok(v) => v,
                    Err(e) => return trap(c, e, rest, ctx),
                };
                if TRACE {
                    c.observe_mem(ctx.here(rest), addr, $n, false);
                }
                {
                    let $c: &mut Core = c;
                    let $rd = i.rd;
                    $set;
                }
                dispatch::<B, TRACE>(c, bus, next, ctx)
            });
            head!(c, rest, ctx, i, next);
            let addr = x(c, i.rs1).wrapping_add(imm!(i));
            let Some($v) = c.load_fast::<$n>(addr).filter(|_| c.fpu_on()) else {
                return slow::<B, TRACE>(c, bus, rest, ctx);
            };
            if TRACE {
                c.observe_mem(ctx.here(rest), addr, $n, false);
            }
            {
                let $c: &mut Core = c;
                let $rd = i.rd;
                $set;
            }
            dispatch::<B, TRACE>(c, bus, next, ctx)
        });
    };
}

fload!(flw, 4, |c, rd, v| c.set_fs(rd, v as u32));
fload!(fld, 8, |c, rd, v| c.set_fd(rd, v));

/// A floating-point store of the low `$n` bytes of f[rs2] (slow path apart).
macro_rules! fstore {
    ($name:ident, $n:literal) => {
        handler!($name, |c, bus, rest, ctx| {
            slow_path!(|c, bus, rest, ctx| {
                split!(rest, ctx, i, next);
                if !c.fpu_on() {
                    return trap(c, Exception::illegal(i.raw), rest, ctx);
                }
                let addr = x(c, i.rs1).wrapping_add(imm!(i));
                let v = c.state.f[usize::from(i.rs2 & 31)];
                if let Err(e) = c.store_slow(addr, $n, v, bus) {
                    return trap(c, e, rest, ctx);
                }
                if TRACE {
                    c.observe_mem(ctx.here(rest), addr, $n, true);
                }
                dispatch::<B, TRACE>(c, bus, next, ctx)
            });
            head!(c, rest, ctx, i, next);
            let addr = x(c, i.rs1).wrapping_add(imm!(i));
            let v = c.state.f[usize::from(i.rs2 & 31)];
            if !c.fpu_on() || !c.store_fast::<$n>(addr, v) {
                return slow::<B, TRACE>(c, bus, rest, ctx);
            }
            if TRACE {
                c.observe_mem(ctx.here(rest), addr, $n, true);
            }
            dispatch::<B, TRACE>(c, bus, next, ctx)
        });
    };
}

fstore!(fsw, 4);
fstore!(fsd, 8);

/// Every other floating-point operation.
fn fp<B: Bus, const TRACE: bool>(c: &mut Core, bus: &mut B, rest: &[Inst], ctx: &Ctx) -> Exit {
    head!(c, rest, ctx, i, next);
    if let Err(e) = c.exec_fp(i) {
        return trap(c, e, rest, ctx);
    }
    dispatch::<B, TRACE>(c, bus, next, ctx)
}

/// CSR access, environment calls, returns, fences of translations and code: handed to
/// the caller, which keeps the retired-instruction count they may read.
fn system<B: Bus, const TRACE: bool>(c: &mut Core, _bus: &mut B, rest: &[Inst], ctx: &Ctx) -> Exit {
    head!(c, rest, ctx, _i, _next);
    Exit {
        stop: Stop::System,
        at: ctx.index(rest),
    }
}

fn illegal<B: Bus, const TRACE: bool>(
    c: &mut Core,
    _bus: &mut B,
    rest: &[Inst],
    ctx: &Ctx,
) -> Exit {
    head!(c, rest, ctx, i, _next);
    trap(c, Exception::illegal(i.raw), rest, ctx)
}

/// The handler of each operation, indexed by `Op as u8`.
pub(crate) struct Table<B, const TRACE: bool>(std::marker::PhantomData<B>);

impl<B: Bus, const TRACE: bool> Table<B, TRACE> {
    /// Operations not listed are floating point (or never decoded: then `exec_fp`
    /// answers illegal instruction).
    pub(crate) const OPS: [Handler<B>; 256] = {
        let mut t = [fp::<B, TRACE> as Handler<B>; 256];
        macro_rules! set {
            ($($op:ident => $h:ident),* $(,)?) => {
                $(t[Op::$op as usize] = $h::<B, TRACE>;)*
            };
        }
        set!(
            Illegal => illegal,
            Lui => lui, Auipc => auipc, Jal => jal, Jalr => jalr,
            Beq => beq, Bne => bne, Blt => blt, Bge => bge, Bltu => bltu, Bgeu => bgeu,
            Lb => lb, Lh => lh, Lw => lw, Ld => ld, Lbu => lbu, Lhu => lhu, Lwu => lwu,
            Sb => sb, Sh => sh, Sw => sw, Sd => sd,
            Addi => addi, Slti => slti, Sltiu => sltiu, Xori => xori, Ori => ori,
            Andi => andi, Slli => slli, Srli => srli, Srai => srai,
            Add => add, Sub => sub, Sll => sll, Slt => slt, Sltu => sltu, Xor => xor,
            Srl => srl, Sra => sra, Or => or, And => and,
            Addiw => addiw, Slliw => slliw, Srliw => srliw, Sraiw => sraiw,
            Addw => addw, Subw => subw, Sllw => sllw, Srlw => srlw, Sraw => sraw,
            Fence => fence,
            Mul => mul, Mulh => mulh, Mulhsu => mulhsu, Mulhu => mulhu,
            Div => div, Divu => divu, Rem => rem, Remu => remu,
            Mulw => mulw, Divw => divw, Divuw => divuw, Remw => remw, Remuw => remuw,
            AddUw => add_uw, Sh1add => sh1add, Sh2add => sh2add, Sh3add => sh3add,
            Sh1addUw => sh1add_uw, Sh2addUw => sh2add_uw, Sh3addUw => sh3add_uw,
            SlliUw => slli_uw, Andn => andn, Orn => orn, Xnor => xnor,
            Clz => clz, Clzw => clzw, Ctz => ctz, Ctzw => ctzw, Cpop => cpop, Cpopw => cpopw,
            Max => max, Maxu => maxu, Min => min, Minu => minu,
            SextB => sext_b, SextH => sext_h, ZextH => zext_h,
            Rol => rol, Rolw => rolw, Ror => ror, Rorw => rorw, Rori => rori, Roriw => roriw,
            OrcB => orc_b, Rev8 => rev8,
            Bclr => bclr, Bclri => bclri, Bext => bext, Bexti => bexti,
            Binv => binv, Binvi => binvi, Bset => bset, Bseti => bseti,
            CzeroEqz => czero_eqz, CzeroNez => czero_nez,
            LrW => amo, ScW => amo, AmoswapW => amo, AmoaddW => amo, AmoxorW => amo,
            AmoandW => amo, AmoorW => amo, AmominW => amo, AmomaxW => amo,
            AmominuW => amo, AmomaxuW => amo,
            LrD => amo, ScD => amo, AmoswapD => amo, AmoaddD => amo, AmoxorD => amo,
            AmoandD => amo, AmoorD => amo, AmominD => amo, AmomaxD => amo,
            AmominuD => amo, AmomaxuD => amo,
            Flw => flw, Fld => fld, Fsw => fsw, Fsd => fsd,
            Csrrw => system, Csrrs => system, Csrrc => system,
            Csrrwi => system, Csrrsi => system, Csrrci => system,
            Ecall => system, Ebreak => system, Mret => system, Sret => system,
            Wfi => system, SfenceVma => system, FenceI => system, CboZero => system,
        );
        t
    };
}
