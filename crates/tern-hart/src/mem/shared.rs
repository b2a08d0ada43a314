//! Host-shared pages inside guest RAM: a range of guest physical memory whose host
//! pages are a shared mapping of a host file (a regular file or a `memfd`) instead of
//! the RAM's private anonymous memory.
//!
//! A process VM maps `MAP_SHARED` files, shared anonymous memory and SysV segments
//! this way: harts reach the pages through their TLB exactly like other RAM, writes go
//! to the host's page cache (so `read`/`write` of the same file see them at once), and
//! a `fork` of the host process (a guest `fork`) keeps them shared with the child.
//!
//! A shared file can shrink under the mapping (another process truncates it); the host
//! then raises `SIGBUS` on an access past the new end. The [`guard`] handler catches
//! that for pages inside a registered RAM and puts a private zero page in the place of
//! the lost one, so the access completes (the guest reads zeros, as if the page had
//! been cut off) and the emulator never dies of a guest's doing. Every other
//! `SIGBUS` goes on to the handler that was there before (the process VM's, which
//! gives a `SIGBUS` another process sent to the guest).

use std::os::fd::{AsRawFd, BorrowedFd};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::mem::ram::{GuestRam, RamError, PAGE_SIZE};

impl GuestRam {
    /// Maps `len` bytes of host file `fd` from `offset` over guest physical
    /// `[addr, addr + len)`. With `shared`, the pages are the file's own (writes reach
    /// the file and every other mapping of it); without, they are a private copy on
    /// write of it (for files opened read-only: the guest cannot write them, and the
    /// host's own writes, a snapshot restore's for instance, must not fault).
    ///
    /// The caller makes sure no hart holds a TLB entry for the range (it was not
    /// mapped in any page table since it was last given back).
    pub fn map_host_file(
        &self,
        addr: u64,
        len: u64,
        fd: BorrowedFd<'_>,
        offset: u64,
        shared: bool,
    ) -> Result<(), RamError> {
        self.check_pages(addr, len)?;
        guard::register(self.host_base() as usize, self.size() as usize);
        let flags = libc::MAP_FIXED
            | if shared {
                libc::MAP_SHARED
            } else {
                libc::MAP_PRIVATE
            };
        let off = libc::off_t::try_from(offset).map_err(|_| RamError::OutOfRange { addr, len })?;
        // SAFETY: `[addr, addr + len)` is inside this RAM's own mapping (checked above), so
        // MAP_FIXED replaces only pages that belong to it; the pointer stays valid for
        // the RAM's lifetime and every later access is bounds-checked as before.
        let p = unsafe {
            libc::mmap(
                self.host_addr(addr).cast(),
                len as usize,
                libc::PROT_READ | libc::PROT_WRITE,
                flags,
                fd.as_raw_fd(),
                off,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(RamError::Map {
                size: len,
                source: std::io::Error::last_os_error(),
            });
        }
        Ok(())
    }

    /// Gives `[addr, addr + len)` back to private zeroed memory (the host mapping of a
    /// file is dropped). The caller has removed the range from every page table and
    /// shot down the TLBs.
    pub fn unmap_host_file(&self, addr: u64, len: u64) -> Result<(), RamError> {
        self.check_pages(addr, len)?;
        zero_pages(self.host_addr(addr) as usize, len as usize)
            .map_err(|source| RamError::Map { size: len, source })
    }

    /// Writes back the shared pages of `[addr, addr + len)` to their file (`msync`).
    pub fn sync_host_file(&self, addr: u64, len: u64, wait: bool) -> Result<(), RamError> {
        self.check_pages(addr, len)?;
        let flags = if wait { libc::MS_SYNC } else { libc::MS_ASYNC };
        // SAFETY: the range is page aligned and inside this RAM's mapping; msync only
        // writes back, it changes no memory.
        let r = unsafe { libc::msync(self.host_addr(addr).cast(), len as usize, flags) };
        if r != 0 {
            return Err(RamError::Map {
                size: len,
                source: std::io::Error::last_os_error(),
            });
        }
        Ok(())
    }

    fn check_pages(&self, addr: u64, len: u64) -> Result<(), RamError> {
        if len == 0
            || !addr.is_multiple_of(PAGE_SIZE)
            || !len.is_multiple_of(PAGE_SIZE)
            || !self.contains(addr, len)
        {
            return Err(RamError::OutOfRange { addr, len });
        }
        Ok(())
    }
}

/// Puts private zeroed pages at host `[host, host + len)`.
fn zero_pages(host: usize, len: usize) -> std::io::Result<()> {
    // SAFETY: callers pass a page-aligned range inside a guest RAM mapping, which
    // MAP_FIXED replaces in place; nothing else is in that range.
    let p = unsafe {
        libc::mmap(
            host as *mut libc::c_void,
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_FIXED | libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// The host `SIGBUS` handler for shared pages cut off by a truncation.
pub mod guard {
    use super::*;

    /// The host range of the RAM with shared pages (one per process VM).
    static START: AtomicUsize = AtomicUsize::new(0);
    static END: AtomicUsize = AtomicUsize::new(0);
    /// Pages replaced by zero pages so far (for tests and statistics).
    static CAUGHT: AtomicUsize = AtomicUsize::new(0);
    /// The `SIGBUS` action found when the guard was installed (a handler's address,
    /// or `SIG_DFL`/`SIG_IGN`), and whether it takes a `siginfo`: every `SIGBUS`
    /// that is not a cut-off guest page goes there (a `SIGBUS` another process sent,
    /// which the process VM gives its guest; a real fault of the emulator).
    static PREV: AtomicUsize = AtomicUsize::new(0);
    static PREV_INFO: AtomicUsize = AtomicUsize::new(0);

    /// Registers the host range `[start, start + len)` and installs the handler
    /// (once).
    pub(super) fn register(start: usize, len: usize) {
        static INSTALLED: std::sync::Once = std::sync::Once::new();
        START.store(start, Ordering::SeqCst);
        END.store(start + len, Ordering::SeqCst);
        INSTALLED.call_once(|| {
            // SAFETY: a plain sigaction call with a zeroed, then filled struct; the
            // handler only reads atomics and calls mmap, which is async-signal-safe.
            unsafe {
                let mut old: libc::sigaction = std::mem::zeroed();
                libc::sigaction(libc::SIGBUS, std::ptr::null(), &mut old);
                PREV.store(old.sa_sigaction, Ordering::SeqCst);
                PREV_INFO.store(
                    usize::from(old.sa_flags & libc::SA_SIGINFO != 0),
                    Ordering::SeqCst,
                );
                let mut sa: libc::sigaction = std::mem::zeroed();
                sa.sa_sigaction = on_sigbus as *const () as usize;
                // On the alternate stack, like the handler it may pass a fault to.
                sa.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
                libc::sigemptyset(&mut sa.sa_mask);
                libc::sigaction(libc::SIGBUS, &sa, std::ptr::null_mut());
            }
        });
    }

    /// How many cut-off pages the handler has replaced.
    pub fn caught() -> usize {
        CAUGHT.load(Ordering::Relaxed)
    }

    extern "C" fn on_sigbus(
        signo: libc::c_int,
        info: *mut libc::siginfo_t,
        ctx: *mut libc::c_void,
    ) {
        // SAFETY: the kernel passes a valid siginfo to an SA_SIGINFO handler.
        let (code, addr) = unsafe { ((*info).si_code, (*info).si_addr() as usize) };
        let (start, end) = (START.load(Ordering::SeqCst), END.load(Ordering::SeqCst));
        // A positive si_code is a fault of this process (a sent signal has SI_USER,
        // SI_TKILL, SI_QUEUE: zero or negative, and no address).
        if code > 0 && addr >= start && addr < end {
            let page = addr & !(PAGE_SIZE as usize - 1);
            if zero_pages(page, PAGE_SIZE as usize).is_ok() {
                CAUGHT.fetch_add(1, Ordering::Relaxed);
                return;
            }
        }
        let prev = PREV.load(Ordering::SeqCst);
        if prev == libc::SIG_DFL || prev == libc::SIG_IGN {
            // No one else handles it: an emulator fault must not be hidden. Back to
            // the default action; the faulting access repeats and ends the process.
            // SAFETY: resetting this signal's disposition, async-signal-safe.
            unsafe {
                libc::signal(libc::SIGBUS, libc::SIG_DFL);
            }
            return;
        }
        if PREV_INFO.load(Ordering::SeqCst) != 0 {
            // SAFETY: `prev` was installed with SA_SIGINFO: it has this signature.
            let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                unsafe { std::mem::transmute(prev) };
            f(signo, info, ctx);
        } else {
            // SAFETY: `prev` was installed without SA_SIGINFO: a plain handler.
            let f: extern "C" fn(libc::c_int) = unsafe { std::mem::transmute(prev) };
            f(signo);
        }
    }
}
