//! The software TLB: virtual page -> host address, per access kind and context.
//!
//! An entry exists only for 4 KiB pages of plain RAM that the current translation and
//! PMP allow for that access kind, so a hit needs no further check: the common load or
//! store is one compare and one host access (DESIGN.md, performance design). Writable
//! entries additionally require that the page was already marked dirty and holds no
//! decoded code (see [`crate::mem::ram`]).
//!
//! Contexts separate translations that differ in permissions: U, S, S with `SUM`, and
//! M (or any mode without translation). Entries are dropped whenever the translation
//! inputs change (`satp`, `sfence.vma`, PMP, `MXR`).

use crate::state::Priv;

/// Entries per table (direct mapped by virtual page number).
pub const ENTRIES: usize = 256;
/// Number of translation contexts.
pub const CONTEXTS: usize = 4;

/// Context of U-mode accesses.
pub const CTX_U: usize = 0;
/// Context of S-mode accesses without `SUM`.
pub const CTX_S: usize = 1;
/// Context of S-mode data accesses with `SUM`.
pub const CTX_S_SUM: usize = 2;
/// Context of M-mode accesses.
pub const CTX_M: usize = 3;

/// A tag that no access can match. The fast paths compare the tag with
/// `vaddr & (PAGE_MASK | (N - 1))` for N of 1 to 8 (page and natural alignment at
/// once), which can have bits 0-2 set but never bits 3-11: a tag with bit 3 set
/// matches nothing. (A tag of 1 matched odd addresses in page 0, and the empty
/// entry's zero addend then made the host access the address itself.)
const INVALID: u64 = 1 << 3;

/// One cached translation. `#[repr(C)]`: translated code reads the fields at offsets
/// 0 and 8.
#[derive(Clone, Copy, Debug)]
#[repr(C)]
pub struct TlbEntry {
    /// Virtual page address, or [`INVALID`].
    pub vpage: u64,
    /// Host address minus virtual address (wrapping) for bytes of this page. The
    /// guest physical page follows from the host page (RAM is one mapping), so the
    /// entry holds nothing else: 16 bytes, a shift to index.
    pub addend: u64,
}

impl TlbEntry {
    const EMPTY: TlbEntry = TlbEntry {
        vpage: INVALID,
        addend: 0,
    };

    /// Host address of the page this entry maps.
    #[inline(always)]
    pub fn host_page(&self) -> u64 {
        self.vpage.wrapping_add(self.addend)
    }
}

/// One table per access kind and context.
pub struct Tlb {
    /// Tables for loads.
    pub load: Box<[[TlbEntry; ENTRIES]; CONTEXTS]>,
    /// Tables for stores.
    pub store: Box<[[TlbEntry; ENTRIES]; CONTEXTS]>,
    /// Tables for instruction fetch.
    pub fetch: Box<[[TlbEntry; ENTRIES]; CONTEXTS]>,
}

impl Default for Tlb {
    fn default() -> Tlb {
        Tlb {
            load: Box::new([[TlbEntry::EMPTY; ENTRIES]; CONTEXTS]),
            store: Box::new([[TlbEntry::EMPTY; ENTRIES]; CONTEXTS]),
            fetch: Box::new([[TlbEntry::EMPTY; ENTRIES]; CONTEXTS]),
        }
    }
}

/// Table index of a virtual address.
#[inline(always)]
pub fn index(vaddr: u64) -> usize {
    (vaddr >> 12) as usize % ENTRIES
}

/// The context for an access at effective privilege `prv`, given whether translation
/// is active for it and `mstatus.SUM`.
#[inline]
pub fn context(prv: Priv, sum: bool) -> usize {
    match prv {
        Priv::M => CTX_M,
        Priv::S if sum => CTX_S_SUM,
        Priv::S => CTX_S,
        Priv::U => CTX_U,
    }
}

impl Tlb {
    /// Drops every entry.
    pub fn flush(&mut self) {
        for t in [&mut self.load, &mut self.store, &mut self.fetch] {
            for ctx in t.iter_mut() {
                ctx.fill(TlbEntry::EMPTY);
            }
        }
    }

    /// Drops every writable entry (before the dirty log is read, or when code appears).
    pub fn flush_store(&mut self) {
        for ctx in self.store.iter_mut() {
            ctx.fill(TlbEntry::EMPTY);
        }
    }

    /// Drops writable entries that map the RAM page at host address `host_page`.
    pub fn flush_store_host_page(&mut self, host_page: u64) {
        for ctx in self.store.iter_mut() {
            for e in ctx.iter_mut() {
                if e.vpage != INVALID && e.host_page() == host_page {
                    *e = TlbEntry::EMPTY;
                }
            }
        }
    }

    /// Drops entries of every kind for virtual page `vpage` in every context.
    pub fn flush_vpage(&mut self, vpage: u64) {
        let i = index(vpage);
        for t in [&mut self.load, &mut self.store, &mut self.fetch] {
            for ctx in t.iter_mut() {
                if ctx[i].vpage == vpage {
                    ctx[i] = TlbEntry::EMPTY;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// No access of 1, 2, 4 or 8 bytes, aligned or not, anywhere, hits an empty entry.
    #[test]
    fn empty_entries_match_no_access() {
        const PAGE_MASK: u64 = !0xfff;
        let pages = [0u64, 0x1000, 0x8000_0000, PAGE_MASK];
        for page in pages {
            for offset in 0..0x1000u64 {
                let vaddr = page | offset;
                for n in [1u64, 2, 4, 8] {
                    assert_ne!(TlbEntry::EMPTY.vpage, vaddr & (PAGE_MASK | (n - 1)));
                }
                assert_ne!(TlbEntry::EMPTY.vpage, vaddr & PAGE_MASK);
            }
        }
    }
}
