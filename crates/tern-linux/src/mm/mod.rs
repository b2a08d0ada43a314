//! The process's address space: page tables, areas, frames, `brk`.
//!
//! [`Mm`] is the emulated kernel's memory manager. It edits the real Sv48 page tables
//! the harts walk ([`pagetable`]), keeps the list of mapped areas ([`vma`]), hands out
//! frames of the process's physical memory ([`phys`]) and coordinates TLB shootdowns
//! between threads ([`shootdown`]). Anonymous memory is demand-paged: the first access
//! to a page faults to the host, which installs a zeroed frame and resumes the guest.
//! Kernel-side copies to and from user memory (`read`, `write`, `stat` buffers...) go
//! through the same tables with the same permission rules, so a bad pointer gives
//! `EFAULT`, never a host fault.

pub mod file_copy;
pub mod pagetable;
pub mod phys;
pub mod region;
pub mod shared;
pub mod shootdown;
pub mod vma;
pub mod window;

use std::sync::Arc;

use tern_hart::GuestRam;

use crate::errno::Errno;
use pagetable::{R, U, V, W, X};
use phys::FrameAllocator;
use region::Regions;
use shootdown::Shootdown;
use vma::{Backing, Vma, VmaList, PROT_EXEC, PROT_READ, PROT_WRITE};
use window::Window;

/// Page size.
pub const PAGE: u64 = 4096;
/// Guest physical address of the process's physical memory.
pub const PHYS_BASE: u64 = 0x8000_0000;
/// The signal-return trampoline page (like the kernel's vDSO `__vdso_rt_sigreturn`).
pub const SIGPAGE: u64 = 0x7fff_ffff_f000;
/// Top of the main thread's stack.
pub const STACK_TOP: u64 = 0x7fff_ffff_0000;
/// Size reserved for the main thread's stack (`RLIMIT_STACK`, 8 MiB).
pub const STACK_SIZE: u64 = 8 << 20;
/// Top of the area where `mmap` places mappings without a hint (grows down).
pub const MMAP_TOP: u64 = 0x7fff_f000_0000;
/// Lowest address `mmap` hands out (`vm.mmap_min_addr`).
pub const MMAP_MIN: u64 = 0x10000;
/// Load address of position-independent executables (Linux's `ELF_ET_DYN_BASE`,
/// two thirds of the user address space).
pub const PIE_BASE: u64 = 0x5555_5555_4000;

/// Size of the physical memory of a process VM with `memory` bytes of frames: the
/// frames, then a shared window of the same size (see [`window`]).
pub fn phys_size(memory: u64) -> u64 {
    memory * 2
}

/// The shared window of physical memory `ram` (its upper half).
fn window_of(ram: &GuestRam) -> Window {
    Window::new(ram.base() + ram.size() / 2, ram.size() / 2)
}

/// Whether physical address `pa` lies in the shared window of `ram` (a page of a
/// shared region, which other processes may map too).
pub fn in_shared_window(ram: &GuestRam, pa: u64) -> bool {
    pa >= ram.base() + ram.size() / 2
}

/// Rounds up to a page boundary (saturating).
pub fn page_up(x: u64) -> u64 {
    x.saturating_add(PAGE - 1) & !(PAGE - 1)
}

/// Rounds down to a page boundary.
pub fn page_down(x: u64) -> u64 {
    x & !(PAGE - 1)
}

/// Kinds of access, for faults and permission checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Read.
    Read,
    /// Write.
    Write,
    /// Instruction fetch.
    Exec,
}

/// What a page fault turned out to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// A page was installed (or was already there): resume the guest.
    Resolved,
    /// No area covers the address (`SEGV_MAPERR`).
    Unmapped,
    /// The area forbids this access (`SEGV_ACCERR`).
    Denied,
    /// No physical memory left.
    OutOfMemory,
    /// The page lies past the end of a shared file (`SIGBUS`, `BUS_ADRERR`).
    PastEnd,
}

/// The PTE permission bits for `PROT_*` bits. Write implies read (RISC-V has no
/// write-only pages) and exec implies read (as Linux on RISC-V maps it).
pub fn prot_bits(prot: u32) -> u64 {
    let mut p = 0;
    if prot & (PROT_READ | PROT_WRITE | PROT_EXEC) != 0 {
        p |= R;
    }
    if prot & PROT_WRITE != 0 {
        p |= W;
    }
    if prot & PROT_EXEC != 0 {
        p |= X;
    }
    p
}

/// The shared region's page for `va` in area `vma`, if the area is shared.
fn shared_page(vma: &Vma, va: u64) -> Option<u64> {
    match vma.backing {
        Backing::Shared { phys } => Some(phys + (page_down(va) - vma.start)),
        _ => None,
    }
}

/// The address space of one process.
pub struct Mm {
    ram: Arc<GuestRam>,
    shoot: Arc<Shootdown>,
    /// Physical frames.
    pub frames: FrameAllocator,
    /// Physical address of the root page table.
    pub root: u64,
    /// Mapped areas.
    pub vmas: VmaList,
    /// Start of the heap (end of the executable's bss).
    pub brk_start: u64,
    /// Current program break.
    pub brk: u64,
    /// Free runs of the shared window.
    pub window: Window,
    /// Shared regions (host state, not saved: a process with any refuses snapshots).
    pub regions: Regions,
}

impl Mm {
    /// An empty address space over `ram`.
    pub fn new(ram: Arc<GuestRam>, shoot: Arc<Shootdown>) -> Result<Mm, Errno> {
        let mut mm = Mm {
            frames: FrameAllocator::new(ram.base(), ram.size() / 2),
            window: window_of(&ram),
            regions: Regions::default(),
            ram,
            shoot,
            root: 0,
            vmas: VmaList::default(),
            brk_start: 0,
            brk: 0,
        };
        mm.root = mm.alloc_frame()?;
        Ok(mm)
    }

    /// An address space restored from a snapshot: `ram` already holds its page
    /// tables and pages.
    pub fn from_parts(
        ram: Arc<GuestRam>,
        shoot: Arc<Shootdown>,
        frames: FrameAllocator,
        root: u64,
        vmas: VmaList,
    ) -> Mm {
        Mm {
            window: window_of(&ram),
            regions: Regions::default(),
            ram,
            shoot,
            frames,
            root,
            vmas,
            brk_start: 0,
            brk: 0,
        }
    }

    /// Guest RAM (the physical memory).
    pub fn ram(&self) -> &Arc<GuestRam> {
        &self.ram
    }

    /// The `satp` value for harts of this address space.
    pub fn satp(&self) -> u64 {
        pagetable::satp(self.root)
    }

    fn alloc_frame(&mut self) -> Result<u64, Errno> {
        let f = self.frames.alloc().ok_or(Errno::ENOMEM)?;
        if f.dirty {
            let _ = self.ram.zero(f.addr, PAGE);
        }
        Ok(f.addr)
    }

    fn leaf_addr(&mut self, va: u64, create: bool) -> Result<Option<u64>, Errno> {
        if !create {
            return Ok(pagetable::leaf_addr(&self.ram, self.root, va, None));
        }
        let mut failed = false;
        let ram = self.ram.clone();
        let root = self.root;
        let mut alloc = || match self.alloc_frame() {
            Ok(f) => Some(f),
            Err(_) => {
                failed = true;
                None
            }
        };
        let r = pagetable::leaf_addr(&ram, root, va, Some(&mut alloc));
        if failed {
            return Err(Errno::ENOMEM);
        }
        Ok(r)
    }

    /// Maps `[start, end)` as a new area, replacing whatever was there. Pages are
    /// installed on first access (or by [`Mm::poke`]).
    pub fn map(&mut self, vma: Vma) {
        self.unmap(vma.start, vma.end);
        self.vmas.insert(vma);
    }

    /// Removes `[start, end)`: areas and pages. Frames are released once no hart can
    /// reach them.
    pub fn unmap(&mut self, start: u64, end: u64) {
        self.unmap_keeping(start, end, None);
    }

    /// [`Mm::unmap`], keeping the shared region at `keep` even if no area uses it.
    fn unmap_keeping(&mut self, start: u64, end: u64, keep: Option<u64>) {
        if start >= end {
            return;
        }
        let removed = self.vmas.remove(start, end);
        self.zap(start, end);
        if removed
            .iter()
            .any(|v| matches!(v.backing, Backing::Shared { .. }))
        {
            self.release_unused_regions(keep);
        }
    }

    /// Drops the pages of `[start, end)` but keeps the areas: the next access sees
    /// zeros again (`MADV_DONTNEED` on private memory), or the shared region's page
    /// (which keeps its data) for a shared area.
    pub fn zap(&mut self, start: u64, end: u64) {
        let mut held = Vec::new();
        pagetable::for_each_held(&self.ram, self.root, start, end, &mut |_, addr, pte| {
            held.push((addr, pte));
        });
        if held.is_empty() {
            return;
        }
        for (addr, _) in &held {
            pagetable::write_pte(&self.ram, *addr, 0);
        }
        self.shoot.flush_all();
        for (_, pte) in held {
            let frame = pagetable::pte_frame(pte);
            // Pages of shared regions are not frames: the region keeps them.
            if !self.window.contains(frame) {
                self.frames.free(frame);
            }
        }
    }

    /// Moves the areas and pages of `[start, end)` to `new_start` (`mremap` with
    /// `MREMAP_MAYMOVE`); the destination must be free.
    pub fn move_range(&mut self, start: u64, end: u64, new_start: u64) -> Result<(), Errno> {
        let mut held = Vec::new();
        pagetable::for_each_held(&self.ram, self.root, start, end, &mut |va, addr, pte| {
            held.push((va, addr, pte));
        });
        for (va, _, pte) in &held {
            let dst = self
                .leaf_addr(new_start + (va - start), true)?
                .ok_or(Errno::ENOMEM)?;
            pagetable::write_pte(&self.ram, dst, *pte);
        }
        for (_, addr, _) in &held {
            pagetable::write_pte(&self.ram, *addr, 0);
        }
        let areas = self.vmas.remove(start, end);
        for mut v in areas {
            let len = v.end - v.start;
            v.start = new_start + (v.start - start);
            v.end = v.start + len;
            self.vmas.insert(v);
        }
        self.shoot.flush_all();
        Ok(())
    }

    /// Grows the area ending at `end` to `new_end` (`mremap` in place).
    pub fn grow(&mut self, end: u64, new_end: u64) -> Result<(), Errno> {
        let last = self
            .vmas
            .find(end.checked_sub(1).ok_or(Errno::EFAULT)?)
            .cloned()
            .ok_or(Errno::EFAULT)?;
        if self.vmas.overlaps(end, new_end)
            || new_end > pagetable::USER_TOP
            || matches!(last.backing, Backing::Shared { .. })
        {
            return Err(Errno::ENOMEM);
        }
        let mut ext = last.slice(last.start, last.end);
        ext.start = end;
        ext.end = new_end;
        if let Backing::File { offset, .. } = &mut ext.backing {
            *offset += end - last.start;
        }
        self.vmas.insert(ext);
        let _ = self.vmas.update(last.start, new_end, &mut |_| {});
        Ok(())
    }

    /// Changes the protection of `[start, end)`, which must be fully mapped.
    pub fn protect(&mut self, start: u64, end: u64, prot: u32) -> Result<(), Errno> {
        if !self.vmas.update(start, end, &mut |v| v.prot = prot) {
            return Err(Errno::ENOMEM);
        }
        let perm = prot_bits(prot);
        let ram = self.ram.clone();
        let mut changed = false;
        pagetable::for_each_held(&ram, self.root, start, end, &mut |_, addr, pte| {
            let new = pagetable::leaf(pagetable::pte_frame(pte), perm);
            if new != pte {
                pagetable::write_pte(&ram, addr, new);
                changed = true;
            }
        });
        if changed {
            self.shoot.flush_all();
        }
        Ok(())
    }

    /// Handles a guest page fault at `va`.
    pub fn fault(&mut self, va: u64, access: Access) -> Fault {
        let Some(vma) = self.vmas.find(va) else {
            return Fault::Unmapped;
        };
        let need = match access {
            Access::Read => PROT_READ | PROT_WRITE | PROT_EXEC,
            Access::Write => PROT_WRITE,
            Access::Exec => PROT_EXEC,
        };
        if vma.prot & need == 0 {
            return Fault::Denied;
        }
        let perm = prot_bits(vma.prot);
        let shared = shared_page(vma, va);
        if let Some(page) = shared {
            if !self.shared_page_in_file(page) {
                return Fault::PastEnd;
            }
        }
        match self.install(va, perm, shared) {
            Ok(_) => Fault::Resolved,
            Err(_) => Fault::OutOfMemory,
        }
    }

    /// Makes sure the page of `va` is present: the shared region's page `shared`, or
    /// else a frame; returns its physical address.
    fn install(&mut self, va: u64, perm: u64, shared: Option<u64>) -> Result<u64, Errno> {
        let addr = self.leaf_addr(va, true)?.ok_or(Errno::ENOMEM)?;
        let pte = pagetable::read_pte(&self.ram, addr);
        if pagetable::holds_frame(pte) {
            return Ok(pagetable::pte_frame(pte));
        }
        let frame = match shared {
            Some(page) => page,
            None => self.alloc_frame()?,
        };
        pagetable::write_pte(&self.ram, addr, pagetable::leaf(frame, perm));
        Ok(frame)
    }

    /// The physical address of user address `va` for a kernel access, demand-paging
    /// as the hardware would. `EFAULT` when the program could not access it either.
    pub fn translate(&mut self, va: u64, access: Access) -> Result<u64, Errno> {
        if va >= pagetable::USER_TOP {
            return Err(Errno::EFAULT);
        }
        let need = match access {
            Access::Read => R,
            Access::Write => W,
            Access::Exec => X,
        };
        if let Some(addr) = self.leaf_addr(va, false)? {
            let pte = pagetable::read_pte(&self.ram, addr);
            if pte & V != 0 && pte & U != 0 && pte & need != 0 {
                return Ok(pagetable::pte_frame(pte) | (va & (PAGE - 1)));
            }
        }
        match self.fault(va, access) {
            Fault::Resolved => {}
            _ => return Err(Errno::EFAULT),
        }
        let addr = self.leaf_addr(va, false)?.ok_or(Errno::EFAULT)?;
        let pte = pagetable::read_pte(&self.ram, addr);
        if pte & V != 0 && pte & need != 0 {
            Ok(pagetable::pte_frame(pte) | (va & (PAGE - 1)))
        } else {
            Err(Errno::EFAULT)
        }
    }

    /// Copies user memory at `va` into `buf`.
    pub fn read(&mut self, va: u64, buf: &mut [u8]) -> Result<(), Errno> {
        let mut done = 0usize;
        while done < buf.len() {
            let a = va.checked_add(done as u64).ok_or(Errno::EFAULT)?;
            let n = ((PAGE - (a & (PAGE - 1))) as usize).min(buf.len() - done);
            let p = self.translate(a, Access::Read)?;
            self.ram
                .read(p, &mut buf[done..done + n])
                .map_err(|_| Errno::EFAULT)?;
            done += n;
        }
        Ok(())
    }

    /// Copies `data` to user memory at `va`.
    pub fn write(&mut self, va: u64, data: &[u8]) -> Result<(), Errno> {
        let mut done = 0usize;
        while done < data.len() {
            let a = va.checked_add(done as u64).ok_or(Errno::EFAULT)?;
            let n = ((PAGE - (a & (PAGE - 1))) as usize).min(data.len() - done);
            let p = self.translate(a, Access::Write)?;
            self.ram
                .write(p, &data[done..done + n])
                .map_err(|_| Errno::EFAULT)?;
            done += n;
        }
        Ok(())
    }

    /// Reads a NUL-terminated string of at most `max` bytes (without the NUL).
    pub fn read_cstr(&mut self, va: u64, max: usize) -> Result<Vec<u8>, Errno> {
        let mut out = Vec::new();
        let mut a = va;
        loop {
            let n = (PAGE - (a & (PAGE - 1))) as usize;
            let p = self.translate(a, Access::Read)?;
            let mut chunk = vec![0u8; n];
            self.ram.read(p, &mut chunk).map_err(|_| Errno::EFAULT)?;
            if let Some(z) = chunk.iter().position(|&b| b == 0) {
                out.extend_from_slice(&chunk[..z]);
                return Ok(out);
            }
            out.extend_from_slice(&chunk);
            if out.len() > max {
                return Err(Errno::ENAMETOOLONG);
            }
            a = a.checked_add(n as u64).ok_or(Errno::EFAULT)?;
        }
    }

    /// Writes `data` at `va` regardless of the area's protection (loading segments,
    /// building the initial stack). The range must be inside an area.
    pub fn poke(&mut self, va: u64, data: &[u8]) -> Result<(), Errno> {
        let mut done = 0usize;
        while done < data.len() {
            let a = va + done as u64;
            let n = ((PAGE - (a & (PAGE - 1))) as usize).min(data.len() - done);
            let vma = self.vmas.find(a).ok_or(Errno::EFAULT)?;
            let perm = prot_bits(vma.prot);
            let shared = shared_page(vma, a);
            let frame = self.install(a, perm, shared)?;
            self.ram
                .write(frame | (a & (PAGE - 1)), &data[done..done + n])
                .map_err(|_| Errno::EFAULT)?;
            done += n;
        }
        Ok(())
    }

    /// A free range of `len` bytes for `mmap`: at `hint` if that is free, else the
    /// highest gap below [`MMAP_TOP`].
    pub fn find_free(&self, hint: u64, len: u64) -> Option<u64> {
        if hint >= MMAP_MIN
            && hint
                .checked_add(len)
                .is_some_and(|e| e <= pagetable::USER_TOP)
            && !self.vmas.overlaps(hint, hint + len)
        {
            return Some(hint);
        }
        self.vmas.find_gap_down(len, MMAP_MIN, MMAP_TOP)
    }

    /// `brk`: moves the program break (page-granular mapping, byte-granular value).
    /// Returns the new break, or the old one when the move is refused.
    pub fn set_brk(&mut self, new: u64) -> u64 {
        if new < self.brk_start || new >= MMAP_TOP {
            return self.brk;
        }
        let old_end = page_up(self.brk);
        let new_end = page_up(new);
        if new_end > old_end {
            if self.vmas.overlaps(old_end, new_end) {
                return self.brk;
            }
            self.vmas.insert(Vma {
                start: old_end,
                end: new_end,
                prot: PROT_READ | PROT_WRITE,
                shared: false,
                backing: Backing::Heap,
            });
            // Keep the heap one area.
            let _ = self.vmas.update(old_end, new_end, &mut |_| {});
        } else if new_end < old_end {
            self.unmap(new_end, old_end);
        }
        self.brk = new;
        new
    }

    /// `/proc/self/maps` text.
    pub fn maps_text(&self) -> String {
        let mut s = String::new();
        for v in self.vmas.iter() {
            let perms = format!(
                "{}{}{}{}",
                if v.prot & PROT_READ != 0 { 'r' } else { '-' },
                if v.prot & PROT_WRITE != 0 { 'w' } else { '-' },
                if v.prot & PROT_EXEC != 0 { 'x' } else { '-' },
                if v.shared { 's' } else { 'p' }
            );
            let (off, name) = match &v.backing {
                Backing::Anon => (0, String::new()),
                Backing::File { path, offset } => (*offset, path.clone()),
                Backing::Heap => (0, "[heap]".into()),
                Backing::Stack => (0, "[stack]".into()),
                Backing::Sigpage => (0, "[vdso]".into()),
                Backing::Shared { phys } => self.shared_name(*phys),
            };
            s.push_str(&format!(
                "{:08x}-{:08x} {} {:08x} 00:00 0 {}\n",
                v.start, v.end, perms, off, name
            ));
        }
        s
    }

    /// Frames in use (for statistics).
    pub fn frames_used(&self) -> u64 {
        self.frames.used()
    }

    /// The most frames ever in use at once (page tables included).
    pub fn frames_peak(&self) -> u64 {
        self.frames.peak()
    }
}
