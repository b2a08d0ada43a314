//! Real Sv48 page tables in the process VM's physical memory.
//!
//! The emulated kernel keeps the process's page tables where the hart's MMU walks
//! them, so PTE permissions give the guest real protection checks and the hart's
//! software TLB makes accesses fast. Sv48 (four levels, 47-bit user addresses) is used
//! rather than Sv39 because riscv64 programs and runtimes expect the 128 TiB user
//! address space Linux gives on Sv48 hardware (Go places its heap arena hints at
//! 0xc000000000 and above, beyond Sv39's 256 GiB); the extra level costs only on TLB
//! misses.
//!
//! Leaf PTEs are written with A and D already set, so the hart never updates them.
//! A page that holds a frame but allows no access (`PROT_NONE`) keeps its frame in a
//! PTE with V clear and the software bit [`SW_HELD`] set: the hart ignores it, and
//! `mprotect` can make it accessible again without losing the contents.

use tern_hart::GuestRam;

/// PTE valid.
pub const V: u64 = 1 << 0;
/// PTE readable.
pub const R: u64 = 1 << 1;
/// PTE writable.
pub const W: u64 = 1 << 2;
/// PTE executable.
pub const X: u64 = 1 << 3;
/// PTE user-accessible.
pub const U: u64 = 1 << 4;
/// PTE accessed.
pub const A: u64 = 1 << 6;
/// PTE dirty.
pub const D: u64 = 1 << 7;
/// Software bit (RSW): the PTE holds a frame although it is not valid (`PROT_NONE`).
pub const SW_HELD: u64 = 1 << 8;
/// `satp.MODE` for Sv48.
pub const SATP_SV48: u64 = 9;
/// Levels of Sv48.
pub const LEVELS: u32 = 4;
/// First address above the user half of Sv48.
pub const USER_TOP: u64 = 1 << 47;

const PPN_MASK: u64 = (1 << 44) - 1;

/// The frame a PTE points to.
#[inline]
pub fn pte_frame(pte: u64) -> u64 {
    ((pte >> 10) & PPN_MASK) << 12
}

/// A leaf PTE for `frame` with permission bits `perm` (R/W/X, or 0 for a held
/// inaccessible page).
#[inline]
pub fn leaf(frame: u64, perm: u64) -> u64 {
    let base = (frame >> 12) << 10;
    if perm & (R | W | X) == 0 {
        base | SW_HELD
    } else {
        base | perm | V | U | A | D
    }
}

/// Whether a PTE holds a frame (valid leaf or held).
#[inline]
pub fn holds_frame(pte: u64) -> bool {
    pte & (V | SW_HELD) != 0
}

/// Reads the PTE at physical address `addr`.
pub fn read_pte(ram: &GuestRam, addr: u64) -> u64 {
    let mut b = [0u8; 8];
    if ram.read(addr, &mut b).is_err() {
        return 0;
    }
    u64::from_le_bytes(b)
}

/// Writes the PTE at physical address `addr`.
pub fn write_pte(ram: &GuestRam, addr: u64, pte: u64) {
    // An aligned 8-byte store: harts walking concurrently see the old or the new PTE.
    let _ = ram.write(addr, &pte.to_le_bytes());
}

/// Index of `va` in the table of `level` (3 = root).
#[inline]
fn vpn(va: u64, level: u32) -> u64 {
    (va >> (12 + 9 * level)) & 0x1ff
}

/// Address of the leaf PTE of `va`, if all the intermediate tables exist. When
/// `alloc` is given, missing tables are created with frames it returns (zeroed).
pub fn leaf_addr(
    ram: &GuestRam,
    root: u64,
    va: u64,
    mut alloc: Option<&mut dyn FnMut() -> Option<u64>>,
) -> Option<u64> {
    let mut table = root;
    for level in (1..LEVELS).rev() {
        let addr = table + vpn(va, level) * 8;
        let pte = read_pte(ram, addr);
        if pte & V == 0 {
            let f = alloc.as_mut()?();
            let f = f?;
            write_pte(ram, addr, ((f >> 12) << 10) | V);
            table = f;
        } else {
            table = pte_frame(pte);
        }
    }
    Some(table + vpn(va, 0) * 8)
}

/// Calls `f(va, pte_addr, pte)` for every leaf PTE that holds a frame in
/// `[start, end)`, skipping absent subtrees quickly.
pub fn for_each_held(
    ram: &GuestRam,
    root: u64,
    start: u64,
    end: u64,
    f: &mut dyn FnMut(u64, u64, u64),
) {
    walk_range(ram, root, LEVELS - 1, 0, start, end, f);
}

fn walk_range(
    ram: &GuestRam,
    table: u64,
    level: u32,
    base: u64,
    start: u64,
    end: u64,
    f: &mut dyn FnMut(u64, u64, u64),
) {
    let span = 1u64 << (12 + 9 * level);
    for i in 0..512u64 {
        let lo = base + i * span;
        let hi = lo + span;
        if hi <= start || lo >= end {
            continue;
        }
        let addr = table + i * 8;
        let pte = read_pte(ram, addr);
        if level == 0 {
            if holds_frame(pte) {
                f(lo, addr, pte);
            }
        } else if pte & V != 0 && pte & (R | W | X) == 0 {
            walk_range(ram, pte_frame(pte), level - 1, lo, start, end, f);
        }
    }
}

/// The `satp` value for the tables rooted at `root`.
pub fn satp(root: u64) -> u64 {
    (SATP_SV48 << 60) | (root >> 12)
}
