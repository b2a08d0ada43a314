//! Decoded basic blocks, keyed by guest physical address, and the jump cache.
//!
//! A block is decoded once and run many times ("decode once, execute many"). Blocks
//! never cross a 4 KiB page, so a write to a page invalidates exactly the blocks that
//! start on it. The jump cache maps a virtual pc (and the fetch context) straight to a
//! block, skipping translation; it is dropped whenever translations change, like
//! QEMU's `tb_jmp_cache`.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use tern_isa::Inst;

use crate::engine::jit::Jit;

/// Longest block, in instructions (bounds interrupt latency and trace granularity).
pub const MAX_BLOCK: usize = 64;
const JUMP_ENTRIES: usize = 16384;
/// Blocks kept before everything is dropped and decoding starts afresh.
const MAX_BLOCKS: usize = 1 << 16;

/// One decoded block: a range of the instruction arena.
#[derive(Clone, Copy)]
pub(crate) struct Block {
    /// Index of the first instruction in the arena.
    pub start: u32,
    /// Number of instructions.
    pub len: u32,
    /// Guest physical address of the first instruction.
    pub paddr: u64,
}

#[derive(Clone, Copy)]
struct JumpEntry {
    vpc: u64,
    start: u32,
    len: u16,
    /// `generation << 2 | fetch context`: entries of older generations never match,
    /// so dropping the whole jump cache is one increment.
    key: u16,
}

/// Where a block's instructions are in the arena (cheap to copy, cached in the jump
/// cache so that chaining needs no second lookup).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BlockRef {
    start: u32,
    len: u16,
}

impl BlockRef {
    /// Index of the block's first instruction in the arena (what its translation is
    /// kept under).
    #[inline(always)]
    pub fn start(self) -> u32 {
        self.start
    }

    /// The block at arena index `start` with `len` instructions (as a translation
    /// that chained reports it).
    #[inline(always)]
    pub fn at(start: u32, len: u16) -> BlockRef {
        BlockRef { start, len }
    }
}

const NO_JUMP: JumpEntry = JumpEntry {
    vpc: 1,
    start: 0,
    len: 0,
    key: 0,
};
/// Generations before the jump cache is really cleared (14 bits of `key`).
const JUMP_GENERATIONS: u16 = 1 << 14;

/// Bits of the filter of pages the jump cache may hold entries for.
const PAGE_FILTER_BITS: usize = 4096;

/// The filter bit of virtual page `vpage` (any address in the page).
#[inline(always)]
fn page_bit(vpage: u64) -> usize {
    ((vpage >> 12).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 52) as usize % PAGE_FILTER_BITS
}

/// Instructions kept before everything is dropped and decoding starts afresh.
const MAX_INSTS: usize = 1 << 20;

/// A multiplicative hasher for page-aligned and 2-byte-aligned addresses.
#[derive(Default)]
pub(crate) struct AddrHasher(u64);

impl Hasher for AddrHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = (v ^ (v >> 29)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

type AddrMap<V> = HashMap<u64, V, BuildHasherDefault<AddrHasher>>;

/// All decoded blocks of one hart.
pub(crate) struct BlockCache {
    /// Every decoded instruction, block after block.
    pub arena: Vec<Inst>,
    /// Byte offset of each instruction of `arena` from the start of its block.
    pub offsets: Vec<u16>,
    pub blocks: Vec<Block>,
    by_paddr: AddrMap<u32>,
    by_page: AddrMap<Vec<u32>>,
    jump: Box<[JumpEntry]>,
    jump_generation: u16,
    /// A superset of the virtual pages the jump cache holds entries for (a Bloom
    /// filter with one hash), cleared with it. An `sfence.vma` for one page only
    /// needs to drop the jump cache if the page may be in it: Linux fences single
    /// pages thousands of times while booting, nearly always data pages.
    jump_pages: Box<[u64]>,
    /// Translations of hot blocks (kept by arena index: they die with their block).
    pub jit: Jit,
}

impl BlockCache {
    pub fn new() -> BlockCache {
        BlockCache {
            arena: Vec::new(),
            offsets: Vec::new(),
            blocks: Vec::new(),
            by_paddr: AddrMap::default(),
            by_page: AddrMap::default(),
            jump: vec![NO_JUMP; JUMP_ENTRIES].into_boxed_slice(),
            jump_generation: 0,
            jump_pages: vec![0; PAGE_FILTER_BITS / 64].into_boxed_slice(),
            jit: Jit::new(),
        }
    }

    #[inline(always)]
    fn jump_index(vpc: u64) -> usize {
        ((vpc >> 1) ^ (vpc >> 15)) as usize % JUMP_ENTRIES
    }

    /// The block for virtual `vpc` in fetch context `ctx`, if the jump cache has it.
    #[inline(always)]
    pub fn lookup_jump(&self, vpc: u64, ctx: usize) -> Option<BlockRef> {
        let e = &self.jump[Self::jump_index(vpc)];
        (e.vpc == vpc && e.key == self.jump_key(ctx)).then_some(BlockRef {
            start: e.start,
            len: e.len,
        })
    }

    /// Records that `vpc` in context `ctx` runs block `block`.
    #[inline]
    pub fn remember_jump(&mut self, vpc: u64, ctx: usize, block: BlockRef) {
        let bit = page_bit(vpc);
        if let Some(w) = self.jump_pages.get_mut(bit / 64) {
            *w |= 1 << (bit % 64);
        }
        self.jump[Self::jump_index(vpc)] = JumpEntry {
            vpc,
            start: block.start,
            len: block.len,
            key: self.jump_key(ctx),
        };
    }

    /// The block starting at physical `paddr`, if decoded.
    #[inline]
    pub fn lookup(&self, paddr: u64) -> Option<BlockRef> {
        let b = self.blocks.get(*self.by_paddr.get(&paddr)? as usize)?;
        Some(BlockRef {
            start: b.start,
            len: b.len as u16,
        })
    }

    /// Adds a block starting at physical `paddr`; returns its index.
    pub fn insert(&mut self, paddr: u64, insts: Vec<Inst>) -> BlockRef {
        if self.blocks.len() >= MAX_BLOCKS || self.arena.len() + insts.len() > MAX_INSTS {
            self.clear();
        }
        let idx = self.blocks.len();
        let start = self.arena.len() as u32;
        self.arena.extend_from_slice(&insts);
        self.jit.grow(insts.len());
        let mut off = 0u16;
        for inst in &insts {
            self.offsets.push(off);
            off = off.wrapping_add(u16::from(inst.len));
        }
        self.blocks.push(Block {
            start,
            len: insts.len() as u32,
            paddr,
        });
        self.by_paddr.insert(paddr, idx as u32);
        self.by_page
            .entry(paddr & !0xfff)
            .or_default()
            .push(idx as u32);
        BlockRef {
            start,
            len: insts.len() as u16,
        }
    }

    /// Forgets the blocks that start on the given physical pages.
    pub fn invalidate_pages(&mut self, pages: &[u64]) {
        let mut any = false;
        for page in pages {
            if let Some(list) = self.by_page.remove(page) {
                any = true;
                for idx in list {
                    let Some(block) = self.blocks.get(idx as usize) else {
                        continue;
                    };
                    if self.by_paddr.get(&block.paddr) == Some(&idx) {
                        self.by_paddr.remove(&block.paddr);
                    }
                }
            }
        }
        if any {
            self.flush_jumps();
        }
    }

    #[inline(always)]
    fn jump_key(&self, ctx: usize) -> u16 {
        (self.jump_generation << 2) | (ctx as u16 & 3)
    }

    /// Drops the jump cache if it may hold entries for virtual page `vpage` (whose
    /// translation changed): blocks never cross a page, so entries for other pages
    /// stay valid.
    pub fn flush_jumps_for_page(&mut self, vpage: u64) {
        let bit = page_bit(vpage);
        if self
            .jump_pages
            .get(bit / 64)
            .is_none_or(|w| w & (1 << (bit % 64)) != 0)
        {
            self.flush_jumps();
        }
    }

    /// Drops the jump cache (by starting a new generation).
    pub fn flush_jumps(&mut self) {
        self.jit.flush_jumps();
        self.jump_pages.fill(0);
        self.jump_generation = (self.jump_generation + 1) % JUMP_GENERATIONS;
        if self.jump_generation == 0 {
            self.jump.fill(NO_JUMP);
        }
    }

    /// The instructions of a block and their byte offsets in the block.
    #[inline(always)]
    pub fn block(&self, b: BlockRef) -> (&[Inst], &[u16]) {
        let range = b.start as usize..b.start as usize + usize::from(b.len);
        match (self.arena.get(range.clone()), self.offsets.get(range)) {
            (Some(i), Some(o)) => (i, o),
            _ => (&[], &[]),
        }
    }

    /// Drops every block.
    pub fn clear(&mut self) {
        self.arena.clear();
        self.offsets.clear();
        self.blocks.clear();
        self.by_paddr.clear();
        self.by_page.clear();
        self.jit.clear();
        self.flush_jumps();
    }
}
