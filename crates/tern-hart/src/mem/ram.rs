//! Guest RAM: one contiguous host mapping with a dirty-page log and a code-page map.
//!
//! This module (with `mem::atomic` and [`crate::mem::lazy`]) is the only place
//! where guest memory is reached through raw host pointers. Harts keep host addresses
//! of RAM pages in their software TLB (see [`crate::mmu::tlb`]); everything else
//! (devices, loaders, snapshots) goes through the bounds-checked methods here. Every
//! access is a host atomic: harts on other threads may race on the same bytes.
//!
//! RAM restored from a snapshot may hold *pending* pages, read from the file on first
//! touch ([`GuestRam::restore_lazily`], [`crate::mem::lazy`]): every method here that
//! reaches a page, and a hart before it caches a page's host address, reads it first.
//!
//! Two bitmaps with one bit per 4 KiB page serve DESIGN.md's invariant 5:
//! - `dirty`: pages written since the last [`GuestRam::take_dirty`]. Every path that
//!   writes RAM marks it: the bounds-checked writers here, and the harts' slow store
//!   path before it installs a writable TLB entry (the fast path then needs no marking).
//! - `code`: pages that hold decoded blocks. Harts never install a writable TLB entry for
//!   such a page, so every guest store to it takes the slow path, which reports the page
//!   in the code-write log; the owning engine then drops the blocks of that page.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use memmap2::MmapMut;

use crate::mem::atomic;
use crate::mem::bitmap::PageBitmap;
use crate::mem::lazy::{Lazy, LostHandler, StoredPages};

/// Size of a guest page for dirty tracking and the TLB.
pub const PAGE_SIZE: u64 = 4096;
/// log2 of [`PAGE_SIZE`].
pub const PAGE_SHIFT: u32 = 12;

/// Errors from RAM set-up and from bounds-checked accesses.
#[derive(Debug, thiserror::Error)]
pub enum RamError {
    /// The requested size is zero, not page aligned, or too large for this host.
    #[error("guest RAM size {0:#x} is not a non-zero multiple of 4 KiB")]
    BadSize(u64),
    /// The host refused to reserve the memory.
    #[error("cannot reserve {size:#x} bytes of guest RAM: {source}")]
    Map {
        /// Bytes requested.
        size: u64,
        /// The host error.
        source: std::io::Error,
    },
    /// An access fell outside RAM.
    #[error("guest physical range {addr:#x}+{len:#x} is outside RAM")]
    OutOfRange {
        /// First guest physical address.
        addr: u64,
        /// Length in bytes.
        len: u64,
    },
    /// [`GuestRam::restore_lazily`] was called a second time.
    #[error("guest RAM was already restored from a snapshot")]
    AlreadyRestored,
    /// A page restored lazily could not be read from its snapshot (see
    /// [`crate::mem::lazy`]): the message names the page, the problem and the file.
    #[error("{0}")]
    Lost(String),
}

/// Guest RAM at a fixed guest physical base address.
pub struct GuestRam {
    base: u64,
    size: u64,
    /// Owns the mapping; all access goes through `host`.
    _map: MmapMut,
    host: *mut u8,
    dirty: PageBitmap,
    code: PageBitmap,
    /// Pages inside RAM that must be reached through the bus (a device overlays them).
    io_pages: Vec<u64>,
    /// Recent writes to code pages, shared by all harts (each remembers how far it
    /// has read).
    code_log: Mutex<CodeLog>,
    /// Number of entries ever appended to `code_log`.
    code_seq: AtomicU64,
    /// Bumped whenever a page becomes a code page: every hart then drops its writable
    /// TLB entries, so no hart keeps writing such a page through a host pointer.
    store_epoch: AtomicU64,
    /// Bumped with `code_seq` and `store_epoch`, and when the RAM is lost: one word
    /// harts compare between blocks.
    events: AtomicU64,
    /// Pages still to be read from a snapshot (see [`crate::mem::lazy`]).
    lazy: Lazy,
}

/// The tail of the code-write log.
#[derive(Default)]
struct CodeLog {
    /// Sequence number of `pages[0]`.
    first: u64,
    pages: std::collections::VecDeque<u64>,
}

/// Entries kept in the code-write log; a hart further behind drops all its blocks.
const CODE_LOG_LEN: usize = 4096;

/// What a hart must drop after code pages were written.
#[derive(Debug, PartialEq, Eq)]
pub enum CodeWrites {
    /// Blocks on these guest physical pages.
    Pages(Vec<u64>),
    /// Everything: the hart fell behind the log.
    All,
}

// SAFETY: `host` points into `_map`, which lives as long as the `GuestRam`. Guest RAM
// is shared memory by design: harts on several threads may access it concurrently,
// exactly as harts of a real machine do, and every access is a host atomic.
unsafe impl Send for GuestRam {}
// SAFETY: see `Send` above; every `&self` method accesses guest RAM atomically (see
// `crate::mem::atomic`) within a range checked against the mapping's bounds.
unsafe impl Sync for GuestRam {}

impl GuestRam {
    /// Reserves `size` bytes of zeroed RAM at guest physical address `base`. The host
    /// only commits pages the guest touches.
    pub fn new(base: u64, size: u64) -> Result<GuestRam, RamError> {
        if size == 0
            || !size.is_multiple_of(PAGE_SIZE)
            || size > (1 << 40)
            || !base.is_multiple_of(PAGE_SIZE)
        {
            return Err(RamError::BadSize(size));
        }
        let mut map =
            MmapMut::map_anon(size as usize).map_err(|source| RamError::Map { size, source })?;
        let host = map.as_mut_ptr();
        let pages = size / PAGE_SIZE;
        Ok(GuestRam {
            base,
            size,
            _map: map,
            host,
            dirty: PageBitmap::new(pages),
            code: PageBitmap::new(pages),
            io_pages: Vec::new(),
            code_log: Mutex::new(CodeLog::default()),
            code_seq: AtomicU64::new(0),
            store_epoch: AtomicU64::new(0),
            events: AtomicU64::new(0),
            lazy: Lazy::new(pages),
        })
    }

    /// Guest physical address of the first byte.
    pub fn base(&self) -> u64 {
        self.base
    }

    /// Size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Whether `[addr, addr + len)` lies inside RAM.
    #[inline]
    pub fn contains(&self, addr: u64, len: u64) -> bool {
        addr >= self.base && len <= self.size && addr - self.base <= self.size - len
    }

    /// Declares that the page holding `addr` is overlaid by a device: harts reach it
    /// through the bus, never through a host pointer.
    pub fn add_io_page(&mut self, addr: u64) {
        let page = addr & !(PAGE_SIZE - 1);
        if !self.io_pages.contains(&page) {
            self.io_pages.push(page);
        }
    }

    /// Whether the page at `page_addr` is plain RAM that a hart may map directly.
    #[inline]
    pub fn is_direct_page(&self, page_addr: u64) -> bool {
        self.contains(page_addr, PAGE_SIZE) && !self.io_pages.contains(&page_addr)
    }

    /// Host address of the page at guest physical `page_addr` (4 KiB aligned, a direct
    /// page as per [`GuestRam::is_direct_page`]). The pointer stays valid as long as
    /// this `GuestRam` lives.
    #[inline]
    pub(crate) fn host_page(&self, page_addr: u64) -> *mut u8 {
        debug_assert!(self.is_direct_page(page_addr));
        // The offset is inside the mapping (checked by callers through `is_direct_page`),
        // so this is plain address arithmetic within one allocation.
        self.host.wrapping_add((page_addr - self.base) as usize)
    }

    /// Guest physical address of the page at host address `host_page` (the inverse of
    /// [`GuestRam::host_page`]; a TLB entry keeps only the host side).
    #[inline]
    pub(crate) fn guest_page_of_host(&self, host_page: u64) -> u64 {
        host_page
            .wrapping_sub(self.host as u64)
            .wrapping_add(self.base)
    }

    /// Host address of the byte at guest physical `addr`, which must be inside RAM.
    #[inline]
    pub(crate) fn host_addr(&self, addr: u64) -> *mut u8 {
        debug_assert!(self.contains(addr, 1));
        self.host.wrapping_add((addr - self.base) as usize)
    }

    #[inline]
    fn page_index(&self, addr: u64) -> u64 {
        (addr - self.base) >> PAGE_SHIFT
    }

    /// The 8-byte-aligned doubleword at `addr` as an atomic, if it is inside RAM (and,
    /// restored lazily, could be read).
    /// Writes through it are not logged (dirty or code pages): callers outside the
    /// hart must only use it for words they also log or that hold no code.
    pub fn atomic64(&self, addr: u64) -> Option<super::GuestWord64<'_>> {
        if !addr.is_multiple_of(8) || !self.contains(addr, 8) || self.ensure(addr, 8).is_err() {
            return None;
        }
        // SAFETY: `addr` is inside the mapping and 8-byte aligned (the mapping itself is
        // page aligned); the reference lives no longer than `self`, which owns the
        // mapping. Other harts may access the same word, which is why it is atomic.
        Some(super::GuestWord64::new(unsafe {
            std::sync::atomic::AtomicU64::from_ptr(self.host_addr(addr).cast())
        }))
    }

    /// The 4-byte-aligned word at `addr` as an atomic, if it is inside RAM (a process
    /// VM waits on it with the host's futex: its address is stable for the lifetime of
    /// the `GuestRam`). Writes through it are not logged, as for [`GuestRam::atomic64`].
    pub fn atomic32(&self, addr: u64) -> Option<super::GuestWord32<'_>> {
        if !addr.is_multiple_of(4) || !self.contains(addr, 4) || self.ensure(addr, 4).is_err() {
            return None;
        }
        // SAFETY: as for `atomic64`, with 4-byte alignment.
        Some(super::GuestWord32::new(unsafe {
            std::sync::atomic::AtomicU32::from_ptr(self.host_addr(addr).cast())
        }))
    }

    /// Restores the pages of `runs` (first page, pages; counted from the base, sorted
    /// and disjoint) lazily from `source`: each is read (and checked) when something
    /// first touches it, see [`crate::mem::lazy`]. If a page cannot be read, the
    /// access fails, the RAM is lost ([`GuestRam::lost`]) and `on_lost` is called once
    /// with the error. The pages do not count as dirty, so an incremental snapshot of
    /// the restored VM need not store them.
    ///
    /// Call it once, on fresh RAM, before harts run (pages already in a TLB would not
    /// be read).
    pub fn restore_lazily(
        &self,
        runs: &[(u64, u64)],
        source: Box<dyn StoredPages>,
        on_lost: LostHandler,
    ) -> Result<(), RamError> {
        let pages = self.size / PAGE_SIZE;
        let mut end = 0;
        for &(first, n) in runs {
            if first < end || n > pages || first > pages - n {
                return Err(RamError::OutOfRange {
                    addr: self.base.wrapping_add(first << PAGE_SHIFT),
                    len: n << PAGE_SHIFT,
                });
            }
            end = first + n;
        }
        if !self.lazy.start(runs, source, on_lost) {
            return Err(RamError::AlreadyRestored);
        }
        Ok(())
    }

    /// Makes `[addr, addr + len)` (inside RAM) present: reads pages still pending
    /// from the snapshot (see [`crate::mem::lazy`]).
    #[inline(always)]
    pub(crate) fn ensure(&self, addr: u64, len: u64) -> Result<(), RamError> {
        if !self.lazy.any_pending() || len == 0 {
            return Ok(());
        }
        self.ensure_pages(addr, len)
    }

    #[cold]
    #[inline(never)]
    fn ensure_pages(&self, addr: u64, len: u64) -> Result<(), RamError> {
        let first = self.page_index(addr);
        let last = self.page_index(addr + len - 1);
        for page in first..=last {
            if self.lazy.is_pending(page) {
                let pages = self.size / PAGE_SIZE;
                let host = self.host;
                self.lazy
                    .fill(page, pages, self.base, |p| {
                        host.wrapping_add((p << PAGE_SHIFT) as usize)
                    })
                    .map_err(|message| {
                        self.events.fetch_add(1, Ordering::Release);
                        RamError::Lost(message)
                    })?;
            }
        }
        Ok(())
    }

    /// Makes the part of `[addr, addr + len)` inside RAM present, for users that reach
    /// RAM through [`GuestRam::host_base`]: they must call it before touching a range.
    pub fn prepare(&self, addr: u64, len: u64) -> Result<(), RamError> {
        let start = addr.max(self.base);
        let end = addr.saturating_add(len).min(self.base + self.size);
        if start >= end {
            return Ok(());
        }
        self.ensure(start, end - start)
    }

    /// Reads every page still pending (see [`crate::mem::lazy`]). Before a process VM
    /// forks: the child is a copy of this one thread, without the thread or the
    /// descriptors that read pages, and must find its memory complete.
    pub fn fill_pending(&self) -> Result<(), RamError> {
        let mut page = 0;
        let pages = self.size / PAGE_SIZE;
        while self.lazy.any_pending() && page < pages {
            // Whole groups: one read each.
            self.ensure(self.base + (page << PAGE_SHIFT), PAGE_SIZE)?;
            page += 1;
        }
        Ok(())
    }

    /// Why the RAM is lost, if it is: a page restored lazily could not be read. The
    /// VM must stop (harts do, at their next block boundary).
    pub fn lost(&self) -> Option<&str> {
        self.lazy.lost()
    }

    /// Pages restored lazily that nothing has touched yet.
    pub fn pending_pages(&self) -> u64 {
        self.lazy.pending_pages()
    }

    /// The whole of guest RAM as one mutable byte slice, for filling it from a
    /// snapshot while restoring (decompressing straight into guest memory).
    ///
    /// # Safety
    /// Nothing else may access guest RAM while the slice is alive: no hart may run and
    /// no device may use its memory. Restore calls it before the machine starts.
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn restore_slice(&self) -> &mut [u8] {
        // SAFETY: `host` points to `size` bytes of our mapping, which lives as long as
        // `self`; exclusivity is the caller's promise (see above).
        unsafe { std::slice::from_raw_parts_mut(self.host, self.size as usize) }
    }

    /// Loads `size` (1 to 8) bytes at `addr`, little-endian, zero-extended: a hart's
    /// load that missed the TLB. A naturally aligned access is one atomic access of
    /// its size, as on the fast path (RVWMO makes aligned accesses single-copy
    /// atomic: a racing aligned store is seen whole or not at all); others go byte
    /// and word wise.
    pub(crate) fn load(&self, addr: u64, size: u64) -> Result<u64, RamError> {
        if !self.contains(addr, size) || !(1..=8).contains(&size) {
            return Err(RamError::OutOfRange { addr, len: size });
        }
        self.ensure(addr, size)?;
        let p = self.host_addr(addr);
        // SAFETY: the range was checked to lie inside the mapping; the sized accesses
        // are naturally aligned (the mapping is page aligned).
        unsafe {
            Ok(match size {
                1 => atomic::load::<1>(p),
                2 if addr.is_multiple_of(2) => atomic::load::<2>(p),
                4 if addr.is_multiple_of(4) => atomic::load::<4>(p),
                8 if addr.is_multiple_of(8) => atomic::load::<8>(p),
                _ => {
                    let mut buf = [0u8; 8];
                    atomic::copy_out(p, &mut buf[..size as usize]);
                    u64::from_le_bytes(buf)
                }
            })
        }
    }

    /// Stores the low `size` (1 to 8) bytes of `value` at `addr`, as [`GuestRam::load`]
    /// loads, marking the page dirty and reporting writes to code pages.
    pub(crate) fn store(&self, addr: u64, size: u64, value: u64) -> Result<(), RamError> {
        if !self.contains(addr, size) || !(1..=8).contains(&size) {
            return Err(RamError::OutOfRange { addr, len: size });
        }
        self.ensure(addr, size)?;
        let p = self.host_addr(addr);
        // SAFETY: as in `load`, for writes.
        unsafe {
            match size {
                1 => atomic::store::<1>(p, value),
                2 if addr.is_multiple_of(2) => atomic::store::<2>(p, value),
                4 if addr.is_multiple_of(4) => atomic::store::<4>(p, value),
                8 if addr.is_multiple_of(8) => atomic::store::<8>(p, value),
                _ => atomic::copy_in(p, &value.to_le_bytes()[..size as usize]),
            }
        }
        self.note_write(addr, size);
        Ok(())
    }

    /// Copies guest RAM at `addr` into `buf`.
    pub fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), RamError> {
        let len = buf.len() as u64;
        if !self.contains(addr, len) {
            return Err(RamError::OutOfRange { addr, len });
        }
        self.ensure(addr, len)?;
        // SAFETY: the source range was checked to lie inside the mapping, and `buf` is a
        // distinct host buffer.
        unsafe { atomic::copy_out(self.host_addr(addr), buf) };
        Ok(())
    }

    /// Copies `data` into guest RAM at `addr`, marking the pages dirty and reporting
    /// writes to pages that hold decoded code.
    pub fn write(&self, addr: u64, data: &[u8]) -> Result<(), RamError> {
        let len = data.len() as u64;
        if !self.contains(addr, len) {
            return Err(RamError::OutOfRange { addr, len });
        }
        if len == 0 {
            return Ok(());
        }
        self.ensure(addr, len)?;
        // SAFETY: the destination range was checked to lie inside the mapping.
        unsafe { atomic::copy_in(self.host_addr(addr), data) };
        self.note_write(addr, len);
        Ok(())
    }

    /// Fills `[addr, addr + len)` with zero bytes.
    pub fn zero(&self, addr: u64, len: u64) -> Result<(), RamError> {
        if !self.contains(addr, len) {
            return Err(RamError::OutOfRange { addr, len });
        }
        if len == 0 {
            return Ok(());
        }
        self.ensure(addr, len)?;
        // SAFETY: the range was checked to lie inside the mapping.
        unsafe { atomic::fill(self.host_addr(addr), len as usize, 0) };
        self.note_write(addr, len);
        Ok(())
    }

    /// Host address of the first byte of RAM, for device models that reach guest RAM
    /// through another memory abstraction (the virtio devices use `vm-memory` over this
    /// same mapping). Such users must stay inside `[host_base(), host_base() + size())`,
    /// access it only atomically or volatilely, call [`GuestRam::prepare`] for a range
    /// before touching it, and report every write through [`GuestRam::record_write`], or
    /// the dirty log and the code cache miss it. The pointer stays valid as long as this
    /// `GuestRam`.
    pub fn host_base(&self) -> *mut u8 {
        self.host
    }

    /// Records a write to `[addr, addr + len)` made through [`GuestRam::host_base`]:
    /// marks the pages dirty and drops decoded code on them. Ranges outside RAM are
    /// ignored (nothing can have been written there).
    pub fn record_write(&self, addr: u64, len: u64) {
        if len != 0 && self.contains(addr, len) {
            self.note_write(addr, len);
        }
    }

    /// Records a write to `[addr, addr + len)` (inside RAM): dirty bits and code pages.
    pub(crate) fn note_write(&self, addr: u64, len: u64) {
        let first = self.page_index(addr);
        let last = self.page_index(addr + len - 1);
        for page in first..=last {
            self.dirty.set(page);
            self.note_code_write(page);
        }
    }

    /// Marks the page holding `addr` dirty.
    #[inline]
    pub(crate) fn mark_dirty(&self, addr: u64) {
        self.dirty.set(self.page_index(addr));
    }

    /// If page index `page` holds code, forgets that and logs the write.
    fn note_code_write(&self, page: u64) {
        if self.code.get(page) && self.code.clear(page) {
            let mut log = self.code_log.lock().unwrap_or_else(|e| e.into_inner());
            log.pages.push_back(self.base + (page << PAGE_SHIFT));
            if log.pages.len() > CODE_LOG_LEN {
                log.pages.pop_front();
                log.first += 1;
            }
            self.code_seq.fetch_add(1, Ordering::Release);
            self.events.fetch_add(1, Ordering::Release);
        }
    }

    /// Marks the page at `addr` as holding decoded code. When it was not marked before,
    /// every hart is told to drop its writable TLB entries (see [`GuestRam::store_epoch`]).
    pub(crate) fn mark_code(&self, addr: u64) -> bool {
        let new = self.code.set(self.page_index(addr));
        if new {
            self.store_epoch.fetch_add(1, Ordering::AcqRel);
            self.events.fetch_add(1, Ordering::Release);
        }
        new
    }

    /// Whether the page holding `addr` holds decoded code.
    #[inline]
    pub(crate) fn is_code(&self, addr: u64) -> bool {
        self.code.get(self.page_index(addr))
    }

    /// Number of code-page writes logged so far; a hart compares it with the number
    /// it has seen to know cheaply whether anything changed.
    #[inline(always)]
    pub(crate) fn code_seq(&self) -> u64 {
        self.code_seq.load(Ordering::Acquire)
    }

    /// The code pages written since sequence number `seen`, and the new sequence number.
    pub(crate) fn code_writes_since(&self, seen: u64) -> (CodeWrites, u64) {
        let log = self.code_log.lock().unwrap_or_else(|e| e.into_inner());
        let now = log.first + log.pages.len() as u64;
        if seen < log.first {
            return (CodeWrites::All, now);
        }
        let skip = (seen - log.first) as usize;
        (
            CodeWrites::Pages(log.pages.iter().skip(skip).copied().collect()),
            now,
        )
    }

    /// Writable-TLB epoch: when it changes, harts drop their writable TLB entries.
    /// Bumped when a page becomes a code page, and by [`GuestRam::bump_store_epoch`].
    #[inline(always)]
    pub fn store_epoch(&self) -> u64 {
        self.store_epoch.load(Ordering::Acquire)
    }

    /// Makes every hart drop its writable TLB entries at its next block boundary
    /// (before reading the dirty log for migration, for example).
    pub fn bump_store_epoch(&self) {
        self.store_epoch.fetch_add(1, Ordering::AcqRel);
        self.events.fetch_add(1, Ordering::Release);
    }

    /// Changes whenever [`GuestRam::code_seq`] or [`GuestRam::store_epoch`] does: the
    /// one word a hart compares between blocks.
    #[inline(always)]
    pub(crate) fn events(&self) -> u64 {
        self.events.load(Ordering::Acquire)
    }

    /// Where [`GuestRam::events`] is, for translated code that compares it between
    /// chained blocks (read only).
    #[cfg(target_arch = "x86_64")]
    pub(crate) fn events_ptr(&self) -> *const u64 {
        self.events.as_ptr().cast_const()
    }

    /// Returns the guest physical addresses of pages written since the last call and
    /// clears the log. Harts must have dropped their writable TLB entries first (see
    /// the hart's `flush_write_tlb`), or writes through those entries go unrecorded.
    pub fn take_dirty(&self) -> Vec<u64> {
        let mut pages = Vec::new();
        for (i, word) in self.dirty.words.iter().enumerate() {
            let mut bits = word.swap(0, Ordering::Relaxed);
            while bits != 0 {
                let bit = bits.trailing_zeros() as u64;
                bits &= bits - 1;
                pages.push(self.base + ((i as u64 * 64 + bit) << PAGE_SHIFT));
            }
        }
        pages
    }

    /// Number of pages written since the last [`GuestRam::take_dirty`] (without
    /// clearing the log): with no snapshot taken yet, the guest RAM the host holds.
    pub fn dirty_pages(&self) -> u64 {
        self.dirty
            .words
            .iter()
            .map(|w| u64::from(w.load(Ordering::Relaxed).count_ones()))
            .sum()
    }

    /// Whether the page holding `addr` was written since the last [`GuestRam::take_dirty`].
    pub fn is_dirty(&self, addr: u64) -> bool {
        self.contains(addr, 1) && self.dirty.get(self.page_index(addr))
    }
}

impl std::fmt::Debug for GuestRam {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuestRam")
            .field("base", &format_args!("{:#x}", self.base))
            .field("size", &format_args!("{:#x}", self.size))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_checked() {
        let ram = GuestRam::new(0x8000_0000, 0x10000).unwrap();
        assert!(ram.contains(0x8000_0000, 0x10000));
        assert!(!ram.contains(0x8000_0000, 0x10001));
        assert!(!ram.contains(0x7fff_ffff, 1));
        assert!(!ram.contains(u64::MAX, 2));
        let mut b = [0u8; 4];
        assert!(ram.read(0x8000_fffe, &mut b).is_err());
        assert!(ram.write(0x8001_0000, &b).is_err());
    }

    #[test]
    fn sized_loads_and_stores_of_any_alignment() {
        let ram = GuestRam::new(0x8000_0000, 0x10000).unwrap();
        for size in [1u64, 2, 4, 8] {
            for off in 0..9u64 {
                let addr = 0x8000_0100 + off;
                let v = 0x8877_6655_4433_2211u64 >> (64 - 8 * size);
                ram.store(addr, size, v).unwrap();
                assert_eq!(ram.load(addr, size).unwrap(), v, "{size} at +{off}");
                let mut b = [0u8; 8];
                ram.read(addr, &mut b[..size as usize]).unwrap();
                assert_eq!(u64::from_le_bytes(b), v);
            }
        }
        assert!(ram.load(0x8000_fffc, 8).is_err());
        assert!(ram.store(0x8000_0000, 16, 0).is_err());
        assert_eq!(ram.take_dirty(), vec![0x8000_0000]);
    }

    #[test]
    fn writes_mark_pages_dirty_once() {
        let ram = GuestRam::new(0x8000_0000, 0x10000).unwrap();
        ram.write(0x8000_0ffe, &[1, 2, 3, 4]).unwrap();
        assert_eq!(ram.take_dirty(), vec![0x8000_0000, 0x8000_1000]);
        assert!(ram.take_dirty().is_empty());
        let mut b = [0u8; 4];
        ram.read(0x8000_0ffe, &mut b).unwrap();
        assert_eq!(b, [1, 2, 3, 4]);
    }

    #[test]
    fn code_page_writes_are_logged() {
        let ram = GuestRam::new(0x8000_0000, 0x10000).unwrap();
        let seen = ram.code_seq();
        let epoch = ram.store_epoch();
        assert!(ram.mark_code(0x8000_2010));
        assert_ne!(ram.store_epoch(), epoch);
        ram.write(0x8000_2100, &[0]).unwrap();
        assert_ne!(ram.code_seq(), seen);
        let (writes, now) = ram.code_writes_since(seen);
        assert_eq!(writes, CodeWrites::Pages(vec![0x8000_2000]));
        assert_eq!(ram.code_writes_since(now).0, CodeWrites::Pages(vec![]));
        assert!(!ram.is_code(0x8000_2000));
    }

    #[test]
    fn harts_far_behind_the_code_log_drop_everything() {
        let ram = GuestRam::new(0x8000_0000, 0x10000).unwrap();
        for _ in 0..CODE_LOG_LEN + 10 {
            ram.mark_code(0x8000_0000);
            ram.write(0x8000_0000, &[1]).unwrap();
        }
        assert_eq!(ram.code_writes_since(0).0, CodeWrites::All);
    }
}
