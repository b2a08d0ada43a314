//! The random program generator.
//!
//! A [`Program`] is an initial state (x and f registers, frm, scratch buffer) and a body
//! of [`Item`]s, each one or a few lines of GNU assembly that are valid in any state
//! the program can reach. Loads, stores and atomics address the scratch buffer through
//! two reserved base registers that the body never writes; everything else (all other x
//! registers, all f registers, fflags, frm) is fair game. Control flow only goes
//! forward, so every program terminates.
//!
//! Each instruction family has its own module; [`Gen`] holds what they share.

mod amo;
mod bitmanip;
mod branch;
mod compressed;
mod csr;
mod fp;
mod int;
mod mem;
mod smc;
mod trap;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::values::{self, Prec};

/// Bytes of each program's scratch buffer.
pub const BUF_BYTES: usize = 512;
/// Offset of `base_mid` from the buffer's start.
pub const MID_OFFSET: i32 = 256;

/// What the generator may emit.
#[derive(Clone, Debug)]
pub struct GenConfig {
    /// Fewest random instructions in a program body.
    pub min_len: usize,
    /// Most random instructions in a program body.
    pub max_len: usize,
    /// Also emit instructions that trap (ecall, ebreak, illegal encodings, misaligned
    /// LR); the trap handler prints mcause/mepc/mtval and skips them.
    pub traps: bool,
}

impl Default for GenConfig {
    fn default() -> Self {
        GenConfig {
            min_len: 20,
            max_len: 200,
            traps: true,
        }
    }
}

/// A piece of a program body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    /// Assembly lines that belong together (an address set-up and the atomic using it,
    /// an LR/SC pair, an explicit compressed instruction with its `.option` lines).
    Seq(Vec<String>),
    /// A forward jump over `body`: `head` jumps (always or conditionally) to a label
    /// placed right after `body`; `{L}` in `head` stands for that label.
    Skip {
        /// The jump, with `{L}` for the target label.
        head: Vec<String>,
        /// What the jump skips when taken.
        body: Vec<Item>,
    },
}

impl Item {
    /// One-line item.
    pub fn one(line: impl Into<String>) -> Item {
        Item::Seq(vec![line.into()])
    }

    /// Number of instruction lines in the item, bodies included.
    pub fn len(&self) -> usize {
        match self {
            Item::Seq(lines) => lines.iter().filter(|l| is_insn(l)).count(),
            Item::Skip { head, body } => {
                head.iter().filter(|l| is_insn(l)).count()
                    + body.iter().map(Item::len).sum::<usize>()
            }
        }
    }

    /// Whether the item holds no instruction.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// An upper bound of the item's size in bytes (pseudo-instructions expanded).
    pub fn max_bytes(&self) -> usize {
        let line_bytes = |l: &String| {
            if !is_insn(l) {
                0
            } else if l.starts_with("li ") {
                32
            } else if l.starts_with("la ") {
                8
            } else {
                4
            }
        };
        match self {
            Item::Seq(lines) => lines.iter().map(line_bytes).sum(),
            Item::Skip { head, body } => {
                head.iter().map(line_bytes).sum::<usize>()
                    + body.iter().map(Item::max_bytes).sum::<usize>()
            }
        }
    }
}

/// Whether an assembly line is an instruction (not a directive or a comment).
fn is_insn(line: &str) -> bool {
    let l = line.trim_start();
    !(l.is_empty() || l.starts_with('.') || l.starts_with("/*"))
}

/// One random program: initial state and body.
#[derive(Clone, Debug)]
pub struct Program {
    /// Global index of the program in its run (names it in reports).
    pub index: u64,
    /// The seed it was generated from.
    pub seed: u64,
    /// Whether the assembler may compress any eligible instruction (`.option rvc`).
    pub rvc: bool,
    /// Initial x registers (x0 unused; base registers are set from the buffer address).
    pub x: [u64; 32],
    /// Initial f registers, raw 64-bit.
    pub f: [u64; 32],
    /// Initial rounding mode (0..=4).
    pub frm: u8,
    /// Initial scratch buffer.
    pub mem: Vec<u8>,
    /// Register holding buffer + [`MID_OFFSET`] (one of x8..x15).
    pub base_mid: u8,
    /// Register holding the buffer's start (x2 for half the programs).
    pub base_low: u8,
    /// The random instructions.
    pub body: Vec<Item>,
}

impl Program {
    /// Number of random instructions in the body.
    pub fn len(&self) -> usize {
        self.body.iter().map(Item::len).sum()
    }

    /// Whether the body is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether register `r` is a reserved base register.
    pub fn is_base(&self, r: u8) -> bool {
        r == self.base_mid || r == self.base_low
    }
}

/// The seed of program `index` of a run seeded with `run_seed`.
pub fn program_seed(run_seed: u64, index: u64) -> u64 {
    // SplitMix64 of the pair: neighbouring indices get unrelated streams.
    let mut z = run_seed
        .wrapping_mul(0x9e37_79b9_7f4a_7c15)
        .wrapping_add(index)
        .wrapping_add(0x632b_e59b_d9b4_e019);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Generates program `index` of a run seeded with `run_seed`.
pub fn generate(run_seed: u64, index: u64, cfg: &GenConfig) -> Program {
    let seed = program_seed(run_seed, index);
    let mut rng = StdRng::seed_from_u64(seed);
    let base_mid = rng.random_range(8..16u8);
    let base_low = if rng.random() {
        2
    } else {
        loop {
            let r = rng.random_range(1..32u8);
            if r != base_mid {
                break r;
            }
        }
    };
    let mut x = [0u64; 32];
    for v in x.iter_mut().skip(1) {
        *v = values::int_value(&mut rng);
    }
    let mut ftype = [Prec::D; 32];
    let mut f = [0u64; 32];
    for (v, t) in f.iter_mut().zip(ftype.iter_mut()) {
        *t = if rng.random() { Prec::S } else { Prec::D };
        *v = if rng.random_range(0..20) == 0 {
            values::fp_unboxed(&mut rng)
        } else {
            values::fp_value(&mut rng, *t)
        };
    }
    let mut mem = vec![0u8; BUF_BYTES];
    rng.fill(&mut mem[..]);
    let frm = rng.random_range(0..5u8);
    let rvc = rng.random_range(0..3) == 0;
    let len = rng.random_range(cfg.min_len..=cfg.max_len.max(cfg.min_len));
    let mut g = Gen {
        rng: &mut rng,
        cfg,
        base_mid,
        base_low,
        ftype,
        recent: Vec::new(),
        depth: 0,
    };
    let body = g.items(len);
    Program {
        index,
        seed,
        rvc,
        x,
        f,
        frm,
        mem,
        base_mid,
        base_low,
        body,
    }
}

/// Generation context shared by the instruction families.
pub(crate) struct Gen<'a> {
    pub(crate) rng: &'a mut StdRng,
    pub(crate) cfg: &'a GenConfig,
    pub(crate) base_mid: u8,
    pub(crate) base_low: u8,
    /// Precision each f register last held (guides operand choice; not a rule).
    pub(crate) ftype: [Prec; 32],
    /// Recently written x registers, preferred as sources so results feed each other.
    recent: Vec<u8>,
    /// Nesting depth of forward jumps being generated.
    pub(crate) depth: usize,
}

/// Instruction families and their relative weights.
const FAMILIES: &[(Family, u32)] = &[
    (Family::Int, 26),
    (Family::Bitmanip, 8),
    (Family::Mem, 14),
    (Family::Amo, 6),
    (Family::Fp, 26),
    (Family::Csr, 3),
    (Family::Branch, 5),
    (Family::Compressed, 10),
    (Family::Trap, 1),
    (Family::Smc, 1),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Family {
    Int,
    Bitmanip,
    Mem,
    Amo,
    Fp,
    Csr,
    Branch,
    Compressed,
    Trap,
    Smc,
}

impl Gen<'_> {
    /// Items holding about `n` instructions in total.
    pub(crate) fn items(&mut self, n: usize) -> Vec<Item> {
        let mut out = Vec::new();
        let mut count = 0;
        while count < n {
            let item = self.item(n - count);
            count += item.len().max(1);
            out.push(item);
        }
        out
    }

    /// One random item; `room` is how many instructions are still wanted.
    fn item(&mut self, room: usize) -> Item {
        let total: u32 = FAMILIES.iter().map(|(_, w)| w).sum();
        loop {
            let mut pick = self.rng.random_range(0..total);
            let mut family = Family::Int;
            for &(f, w) in FAMILIES {
                if pick < w {
                    family = f;
                    break;
                }
                pick -= w;
            }
            let item = match family {
                Family::Int => int::item(self),
                Family::Bitmanip => bitmanip::item(self),
                Family::Mem => mem::item(self),
                Family::Amo => amo::item(self),
                Family::Fp => fp::item(self),
                Family::Csr => csr::item(self),
                Family::Branch if room >= 3 && self.depth < 2 => branch::item(self, room),
                Family::Compressed => compressed::item(self),
                Family::Trap if self.cfg.traps => trap::item(self),
                Family::Smc => smc::item(self),
                _ => continue,
            };
            if let Some(item) = item {
                return item;
            }
        }
    }

    /// Whether the body may write x register `r`.
    pub(crate) fn writable(&self, r: u8) -> bool {
        r != self.base_mid && r != self.base_low
    }

    /// A destination x register: any but the bases (x0 now and then).
    pub(crate) fn rd(&mut self) -> u8 {
        loop {
            let r = if self.rng.random_range(0..40) == 0 {
                0
            } else {
                self.rng.random_range(1..32u8)
            };
            if self.writable(r) {
                self.note_write(r);
                return r;
            }
        }
    }

    /// A destination x register that is not x0.
    pub(crate) fn rd_nonzero(&mut self) -> u8 {
        loop {
            let r = self.rd();
            if r != 0 {
                return r;
            }
        }
    }

    /// A destination among x8..x15 (compressed `rd'`), if one is writable.
    pub(crate) fn rd_c(&mut self) -> Option<u8> {
        let choices: Vec<u8> = (8..16).filter(|&r| self.writable(r)).collect();
        if choices.is_empty() {
            return None;
        }
        let r = *values::pick(self.rng, &choices);
        self.note_write(r);
        Some(r)
    }

    /// A source x register (any, recently written ones preferred).
    pub(crate) fn rs(&mut self) -> u8 {
        if !self.recent.is_empty() && self.rng.random_range(0..5) < 2 {
            let i = self.rng.random_range(0..self.recent.len());
            return self.recent[i];
        }
        match self.rng.random_range(0..30) {
            0 => 0,
            _ => self.rng.random_range(1..32u8),
        }
    }

    /// A source among x8..x15 (compressed `rs'`).
    pub(crate) fn rs_c(&mut self) -> u8 {
        self.rng.random_range(8..16u8)
    }

    fn note_write(&mut self, r: u8) {
        if r == 0 {
            return;
        }
        self.recent.push(r);
        if self.recent.len() > 6 {
            self.recent.remove(0);
        }
    }

    /// An f register to read, preferring ones holding values of precision `p`.
    pub(crate) fn frs(&mut self, p: Prec) -> u8 {
        for _ in 0..8 {
            let r = self.rng.random_range(0..32u8);
            if self.ftype[r as usize] == p || self.rng.random_range(0..8) == 0 {
                return r;
            }
        }
        self.rng.random_range(0..32u8)
    }

    /// An f register to write with a value of precision `p`.
    pub(crate) fn frd(&mut self, p: Prec) -> u8 {
        let r = self.rng.random_range(0..32u8);
        self.ftype[r as usize] = p;
        r
    }

    /// A random 12-bit immediate.
    pub(crate) fn imm12(&mut self) -> i32 {
        values::imm12(self.rng)
    }

    /// A base register and an offset such that `width` bytes at base+offset lie in the
    /// buffer; aligned to `width` some of the time, misaligned otherwise (if allowed).
    pub(crate) fn mem_operand(&mut self, width: i32, misaligned: bool) -> (u8, i32) {
        let aligned = !misaligned || self.rng.random_range(0..3) == 0;
        let (base, lo) = if self.rng.random() {
            (self.base_mid, -MID_OFFSET)
        } else {
            (self.base_low, 0)
        };
        let hi = lo + BUF_BYTES as i32 - width;
        let mut off = self.rng.random_range(lo..=hi);
        if aligned {
            off -= off.rem_euclid(width);
        }
        (base, off)
    }
}

/// ABI-neutral name of x register `r` (`x5`), as accepted by the assembler.
pub fn x(r: u8) -> String {
    format!("x{r}")
}

/// Name of f register `r`.
pub fn f(r: u8) -> String {
    format!("f{r}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_program() {
        let cfg = GenConfig::default();
        let (a, b) = (generate(5, 9, &cfg), generate(5, 9, &cfg));
        assert_eq!((a.x, a.f, &a.mem, &a.body), (b.x, b.f, &b.mem, &b.body));
        assert_ne!(generate(5, 10, &cfg).body, a.body);
    }

    #[test]
    fn bodies_never_write_base_registers() {
        let cfg = GenConfig::default();
        for i in 0..300 {
            let p = generate(1, i, &cfg);
            let text = crate::asm::render_body(&p);
            for line in text.lines() {
                let l = line.trim();
                let stores = [
                    "sb ", "sh ", "sw ", "sd ", "fs", "c.s", "c.fs", "b", "c.b", "c.j",
                ];
                if l.starts_with('.') || stores.iter().any(|s| l.starts_with(s)) {
                    continue;
                }
                let Some((op, rest)) = l.split_once(' ') else {
                    continue;
                };
                let rd = rest.split(',').next().unwrap().trim();
                for base in [p.base_mid, p.base_low] {
                    assert!(
                        rd != format!("x{base}") && !(base == 2 && op == "c.addi16sp"),
                        "program {i} writes base x{base}: {l}"
                    );
                }
            }
        }
    }
}
