//! Guest memory accesses of a hart: the TLB fast path and the translating slow path.
//!
//! Ordinary loads and stores may be misaligned (QEMU does not trap them either); an
//! access that crosses a page is translated page by page before any byte moves, so a
//! fault leaves memory untouched. The fault address of the second page is that page's
//! first byte, as in QEMU.

use crate::csr::pmp::PageVerdict;
use crate::hart::Core;
use crate::mem::atomic;
use crate::mem::bus::Bus;
use crate::mem::ram::PAGE_SIZE;
use crate::mmu::tlb::{self, TlbEntry};
use crate::mmu::walk::{walk, WalkRequest};
use crate::state::Priv;
use crate::trap::{Access, Exception};

const PAGE_MASK: u64 = !(PAGE_SIZE - 1);
const MSTATUS_SUM: u64 = 1 << 18;
const MSTATUS_MXR: u64 = 1 << 19;

impl Core {
    /// Loads `N` (1, 2, 4, 8) bytes at virtual address `vaddr`, zero-extended, if the
    /// TLB maps it to RAM: `None` when the access needs [`Core::load_slow`] (a miss, a
    /// misaligned access, or anything but plain RAM).
    #[inline(always)]
    pub(crate) fn load_fast<const N: usize>(&self, vaddr: u64) -> Option<u64> {
        let e = &self.tlb.load[self.data_ctx % tlb::CONTEXTS][tlb::index(vaddr)];
        // One compare checks both the page and natural alignment (so the access cannot
        // cross the page); misaligned accesses take the slow path, which handles them.
        if e.vpage == vaddr & (PAGE_MASK | (N as u64 - 1)) {
            // SAFETY: a load TLB entry maps a whole RAM page (see `fill`), and the N
            // bytes lie inside that page: the access is naturally aligned (and host
            // pages are page aligned, so the host address is aligned too).
            return Some(unsafe { atomic::load::<N>(vaddr.wrapping_add(e.addend) as *const u8) });
        }
        None
    }

    /// Stores the low `N` (1, 2, 4, 8) bytes of `value` at virtual address `vaddr` if
    /// the TLB maps it to RAM: false when the access needs [`Core::store_slow`].
    #[inline(always)]
    pub(crate) fn store_fast<const N: usize>(&mut self, vaddr: u64, value: u64) -> bool {
        let e = &self.tlb.store[self.data_ctx % tlb::CONTEXTS][tlb::index(vaddr)];
        // One compare checks both the page and natural alignment (so the access cannot
        // cross the page); misaligned accesses take the slow path, which handles them.
        if e.vpage == vaddr & (PAGE_MASK | (N as u64 - 1)) {
            // SAFETY: a store TLB entry maps a whole RAM page that is already marked
            // dirty and holds no decoded code (see `fill`); the N bytes lie inside it
            // because the access is naturally aligned (so is the host address).
            unsafe { atomic::store::<N>(vaddr.wrapping_add(e.addend) as *mut u8, value) };
            return true;
        }
        false
    }

    /// Translates a data address and checks PMP for `size` bytes; fills the TLB.
    pub(crate) fn translate_data(
        &mut self,
        vaddr: u64,
        size: u64,
        access: Access,
    ) -> Result<u64, Exception> {
        let prv = self.data_priv();
        self.translate(vaddr, size, access, prv)
    }

    /// Translates an instruction address for a fetch of `size` bytes.
    pub(crate) fn translate_fetch(&mut self, vaddr: u64, size: u64) -> Result<u64, Exception> {
        let e = &self.tlb.fetch[self.fetch_ctx % tlb::CONTEXTS][tlb::index(vaddr)];
        if e.vpage == vaddr & PAGE_MASK && vaddr & !PAGE_MASK <= PAGE_SIZE - size {
            return Ok(self.ram.guest_page_of_host(e.host_page()) | (vaddr & !PAGE_MASK));
        }
        let prv = self.state.prv;
        self.translate(vaddr, size, Access::Fetch, prv)
    }

    fn translate(
        &mut self,
        vaddr: u64,
        size: u64,
        access: Access,
        prv: Priv,
    ) -> Result<u64, Exception> {
        let s = &self.state;
        let paddr = if prv == Priv::M || s.csr.satp >> 60 == 0 {
            vaddr
        } else {
            let req = WalkRequest {
                ram: &self.ram,
                pmp: &s.csr.pmp,
                satp: s.csr.satp,
                prv,
                sum: s.csr.mstatus & MSTATUS_SUM != 0,
                mxr: s.csr.mstatus & MSTATUS_MXR != 0,
            };
            self.counters.tlb_walks += 1;
            let t = walk(&req, vaddr, access)?;
            if t.superpage {
                self.note_superpage(vaddr, t.page_size);
            }
            t.paddr
        };
        if !self.state.csr.pmp.check(paddr, size, access, prv) {
            return Err(access.access_fault(vaddr));
        }
        self.fill(vaddr, paddr, access, prv);
        Ok(paddr)
    }

    /// Caches a translation if the whole page is plain RAM that PMP fully allows.
    fn fill(&mut self, vaddr: u64, paddr: u64, access: Access, prv: Priv) {
        let ppage = paddr & PAGE_MASK;
        if !self.ram.is_direct_page(ppage) {
            return;
        }
        if self.state.csr.pmp.check_page(ppage, access, prv) != PageVerdict::Allowed {
            return;
        }
        // A page restored lazily is read before its host address is handed out. If it
        // cannot be, no entry: the access itself then fails on the slow path.
        if self.ram.ensure(ppage, PAGE_SIZE).is_err() {
            return;
        }
        let vpage = vaddr & PAGE_MASK;
        let host = self.ram.host_page(ppage) as u64;
        let entry = TlbEntry {
            vpage,
            addend: host.wrapping_sub(vpage),
        };
        let i = tlb::index(vaddr);
        let (table, ctx) = match access {
            Access::Load => (&mut self.tlb.load, self.data_ctx),
            Access::Store => {
                if self.ram.is_code(ppage) {
                    return;
                }
                self.ram.mark_dirty(ppage);
                (&mut self.tlb.store, self.data_ctx)
            }
            Access::Fetch => (&mut self.tlb.fetch, self.fetch_ctx),
        };
        table[ctx % tlb::CONTEXTS][i] = entry;
    }

    /// A load that [`Core::load_fast`] could not do: walks, checks PMP, fills the TLB,
    /// splits misaligned accesses, and reaches devices through the bus.
    #[inline(never)]
    pub(crate) fn load_slow<B: Bus>(
        &mut self,
        vaddr: u64,
        size: u64,
        bus: &mut B,
    ) -> Result<u64, Exception> {
        let first = PAGE_SIZE - (vaddr & !PAGE_MASK);
        // A misaligned access inside a page the TLB maps: no walk needed.
        let e = self.tlb.load[self.data_ctx % tlb::CONTEXTS][tlb::index(vaddr)];
        if e.vpage == vaddr & PAGE_MASK && size <= first {
            let paddr = self.ram.guest_page_of_host(e.host_page()) | (vaddr & !PAGE_MASK);
            return self
                .ram
                .load(paddr, size)
                .map_err(|_| Access::Load.access_fault(vaddr));
        }
        if size > first {
            let second = vaddr.wrapping_add(first);
            let p1 = self.translate_data(vaddr, first, Access::Load)?;
            let p2 = self.translate_data(second, size - first, Access::Load)?;
            let lo = self
                .phys_read(p1, first, bus)
                .map_err(|_| Access::Load.access_fault(vaddr))?;
            let hi = self
                .phys_read(p2, size - first, bus)
                .map_err(|_| Access::Load.access_fault(second))?;
            return Ok(lo | (hi << (8 * first)));
        }
        let paddr = self.translate_data(vaddr, size, Access::Load)?;
        self.phys_read(paddr, size, bus)
            .map_err(|_| Access::Load.access_fault(vaddr))
    }

    /// A store that [`Core::store_fast`] could not do (as [`Core::load_slow`]).
    #[inline(never)]
    pub(crate) fn store_slow<B: Bus>(
        &mut self,
        vaddr: u64,
        size: u64,
        value: u64,
        bus: &mut B,
    ) -> Result<(), Exception> {
        let first = PAGE_SIZE - (vaddr & !PAGE_MASK);
        // A misaligned access inside a page the TLB maps writable: no walk needed.
        let e = self.tlb.store[self.data_ctx % tlb::CONTEXTS][tlb::index(vaddr)];
        if e.vpage == vaddr & PAGE_MASK && size <= first {
            let paddr = self.ram.guest_page_of_host(e.host_page()) | (vaddr & !PAGE_MASK);
            return self
                .ram
                .store(paddr, size, value)
                .map_err(|_| Access::Store.access_fault(vaddr));
        }
        if size > first {
            let second = vaddr.wrapping_add(first);
            let p1 = self.translate_data(vaddr, first, Access::Store)?;
            let p2 = self.translate_data(second, size - first, Access::Store)?;
            self.phys_write(p1, first, value, bus)
                .map_err(|_| Access::Store.access_fault(vaddr))?;
            return self
                .phys_write(p2, size - first, value >> (8 * first), bus)
                .map_err(|_| Access::Store.access_fault(second));
        }
        let paddr = self.translate_data(vaddr, size, Access::Store)?;
        self.phys_write(paddr, size, value, bus)
            .map_err(|_| Access::Store.access_fault(vaddr))
    }

    /// Reads `size` (1..=8) bytes at a physical address from RAM or the bus.
    pub(crate) fn phys_read<B: Bus>(
        &mut self,
        paddr: u64,
        size: u64,
        bus: &mut B,
    ) -> Result<u64, ()> {
        if self.ram.contains(paddr, size) && self.ram.is_direct_page(paddr & PAGE_MASK) {
            return self.ram.load(paddr, size).map_err(|_| ());
        }
        self.bus_touched = true;
        if size.is_power_of_two() {
            return bus.load(paddr, size as u8).map_err(|_| ());
        }
        let mut v = 0;
        for i in 0..size {
            v |= bus.load(paddr.wrapping_add(i), 1).map_err(|_| ())? << (8 * i);
        }
        Ok(v)
    }

    /// Writes the low `size` (1..=8) bytes of `value` at a physical address.
    pub(crate) fn phys_write<B: Bus>(
        &mut self,
        paddr: u64,
        size: u64,
        value: u64,
        bus: &mut B,
    ) -> Result<(), ()> {
        if self.ram.contains(paddr, size) && self.ram.is_direct_page(paddr & PAGE_MASK) {
            return self.ram.store(paddr, size, value).map_err(|_| ());
        }
        self.bus_touched = true;
        if size.is_power_of_two() {
            return bus.store(paddr, size as u8, value).map_err(|_| ());
        }
        for i in 0..size {
            bus.store(paddr.wrapping_add(i), 1, value >> (8 * i))
                .map_err(|_| ())?;
        }
        Ok(())
    }
}
