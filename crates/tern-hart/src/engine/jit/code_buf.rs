//! Executable memory for translated code: the one place of the JIT that maps, writes
//! and calls host code.
//!
//! The buffer is one anonymous mapping of [`CODE_BYTES`], filled front to back. A page
//! is never writable and executable at once (W^X): code is copied in while its pages
//! are read+write, then they become read+exec before anything can call into them.
//! When the buffer is full, the owner drops every translation and starts again at the
//! front ([`CodeBuf::reset`]): no eviction bookkeeping, and the host memory bound is
//! the mapping's size.

use std::ptr::NonNull;

/// Size of one hart's code buffer (the bound on its host memory for translations).
pub const CODE_BYTES: usize = 32 << 20;
const PAGE: usize = 4096;

/// Where a translation starts in the buffer (an offset, so it stays meaningful only
/// while the buffer has not been reset since).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Entry(u32);

/// The signature of translated code: the context in, the exit word out.
type HostFn = unsafe extern "sysv64" fn(*mut super::entry::JitCtx) -> u64;

/// An anonymous mapping holding translated code.
pub(crate) struct CodeBuf {
    base: Option<NonNull<u8>>,
    used: usize,
}

// SAFETY: the mapping is owned by this value alone (no aliases escape it); moving it
// to another thread moves that ownership.
unsafe impl Send for CodeBuf {}

impl CodeBuf {
    /// An empty buffer; the mapping is made on the first write.
    pub fn new() -> CodeBuf {
        CodeBuf {
            base: None,
            used: 0,
        }
    }

    /// Bytes of code held.
    pub fn used(&self) -> usize {
        self.used
    }

    /// Forgets every translation (all [`Entry`]s are dead afterwards).
    pub fn reset(&mut self) {
        self.used = 0;
    }

    fn map(&mut self) -> Option<NonNull<u8>> {
        if let Some(b) = self.base {
            return Some(b);
        }
        // SAFETY: a fresh private anonymous mapping; no existing memory is affected.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                CODE_BYTES,
                libc::PROT_READ,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return None;
        }
        self.base = NonNull::new(p.cast::<u8>());
        self.base
    }

    /// The address the next `emit` will place code at (for assemblers that want it).
    pub fn next_addr(&mut self) -> Option<u64> {
        let base = self.map()?;
        Some(base.as_ptr() as u64 + self.used as u64)
    }

    /// Copies `code` (assembled for address [`CodeBuf::next_addr`]) into the buffer
    /// and makes it executable. `None` when the buffer is full (the caller resets it)
    /// or the host refused a protection change.
    pub fn emit(&mut self, code: &[u8]) -> Option<Entry> {
        let base = self.map()?;
        let start = self.used;
        let end = start.checked_add(code.len())?;
        if end > CODE_BYTES || code.is_empty() {
            return None;
        }
        let lo = start & !(PAGE - 1);
        let hi = (end + PAGE - 1) & !(PAGE - 1);
        // SAFETY: [lo, hi) lies inside the mapping (hi <= CODE_BYTES, page aligned).
        // While these pages are writable no code in them runs: translated code is only
        // called through `call`, never while the owner (`&mut self`) is emitting.
        let ok = unsafe {
            libc::mprotect(
                base.as_ptr().add(lo).cast(),
                hi - lo,
                libc::PROT_READ | libc::PROT_WRITE,
            )
        } == 0;
        if !ok {
            return None;
        }
        // SAFETY: the destination range is inside the mapping and now writable; the
        // source is a distinct Rust slice.
        unsafe {
            std::ptr::copy_nonoverlapping(code.as_ptr(), base.as_ptr().add(start), code.len())
        };
        // SAFETY: as above; afterwards the pages are read+exec, never writable.
        let ok = unsafe {
            libc::mprotect(
                base.as_ptr().add(lo).cast(),
                hi - lo,
                libc::PROT_READ | libc::PROT_EXEC,
            )
        } == 0;
        if !ok {
            return None;
        }
        // Keep each translation 16-byte aligned (the host fetches in 16-byte lines).
        self.used = (end + 15) & !15;
        Some(Entry(start as u32))
    }

    /// The host address `body` bytes into the translation at `entry` (where chained
    /// translations jump in), if that translation is alive.
    pub fn addr(&self, entry: Entry, body: u32) -> Option<u64> {
        let base = self.base?;
        let off = (entry.0 as usize).checked_add(body as usize)?;
        (off < self.used).then(|| base.as_ptr() as u64 + off as u64)
    }

    /// Runs the translation at `entry` with `ctx`.
    ///
    /// The caller passes a context whose pointers are valid for the whole call (see
    /// [`super::entry::JitCtx`]); the translation only touches what the context points
    /// to and calls the helpers in it.
    pub fn call(&self, entry: Entry, ctx: &mut super::entry::JitCtx) -> u64 {
        let Some(base) = self.base else {
            return super::entry::EXIT_NONE;
        };
        let off = entry.0 as usize;
        if off >= self.used {
            return super::entry::EXIT_NONE;
        }
        // SAFETY: `off` is the start of code emitted by `emit` since the last reset
        // (entries die with `reset`, and the owner drops them then), on read+exec
        // pages. The code was generated by `super::emit` for exactly this signature
        // (System V, one pointer argument, u64 result), keeps the callee-saved
        // registers and the stack aligned, and accesses memory only through `ctx`: the
        // hart's integer registers and its own fields, and the helpers it holds.
        unsafe {
            let f: HostFn = std::mem::transmute::<*const u8, HostFn>(base.as_ptr().add(off));
            f(ctx)
        }
    }
}

impl Drop for CodeBuf {
    fn drop(&mut self) {
        if let Some(b) = self.base {
            // SAFETY: the mapping made in `map`, unmapped once; nothing runs in it now.
            unsafe { libc::munmap(b.as_ptr().cast(), CODE_BYTES) };
        }
    }
}
