//! The frame allocator: hands out 4 KiB pages of the process VM's "physical" memory.
//!
//! Physical memory is one [`GuestRam`](tern_hart::GuestRam) reserved large up front;
//! the host commits only the pages that are touched, so frames are handed out by a
//! bump pointer first (never-touched, already zero) and then from a free list (zeroed
//! again on reuse).
//! Frames are released only after a TLB shootdown (see [`crate::mm::shootdown`]), so
//! a released frame is unreachable and can be reused at once.

use serde::{Deserialize, Serialize};

use tern_hart::mem::ram::PAGE_SIZE;

/// The allocator's state (plain data).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct FrameAllocator {
    /// Next never-used frame.
    next: u64,
    /// End of physical memory.
    end: u64,
    /// Released frames, reusable (need zeroing).
    free: Vec<u64>,
    /// Frames in use (for statistics).
    used: u64,
    /// The most frames ever in use at once.
    peak: u64,
}

/// A frame from [`FrameAllocator::alloc`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame {
    /// Physical address.
    pub addr: u64,
    /// Whether the frame may hold old data (it must be zeroed before use).
    pub dirty: bool,
}

impl FrameAllocator {
    /// An allocator over `[base, base + size)`.
    pub fn new(base: u64, size: u64) -> FrameAllocator {
        FrameAllocator {
            next: base,
            end: base + size,
            ..FrameAllocator::default()
        }
    }

    /// Takes a frame, or `None` when physical memory is exhausted.
    pub fn alloc(&mut self) -> Option<Frame> {
        let frame = if let Some(addr) = self.free.pop() {
            Frame { addr, dirty: true }
        } else if self.next < self.end {
            let addr = self.next;
            self.next += PAGE_SIZE;
            Frame { addr, dirty: false }
        } else {
            return None;
        };
        self.used += 1;
        self.peak = self.peak.max(self.used);
        Some(frame)
    }

    /// Returns a frame that no hart can reach any more.
    pub fn free(&mut self, addr: u64) {
        self.used = self.used.saturating_sub(1);
        self.free.push(addr);
    }

    /// The first never-used frame: every frame that may hold data lies below it.
    pub fn high_water(&self) -> u64 {
        self.next
    }

    /// Whether the allocator is consistent with physical memory `[base, base + size)`
    /// (a snapshot's allocator, before it is trusted).
    pub fn fits(&self, base: u64, size: u64) -> bool {
        let end = base.saturating_add(size);
        let page = |a: u64| a.is_multiple_of(PAGE_SIZE) && a >= base && a < end;
        self.end == end
            && (self.next == end || page(self.next))
            && self.next >= base
            && self.free.iter().all(|&f| page(f) && f < self.next)
            && self.used <= (self.next - base) / PAGE_SIZE
            && self.peak <= size / PAGE_SIZE
    }

    /// Frames in use.
    pub fn used(&self) -> u64 {
        self.used
    }

    /// The most frames ever in use at once.
    pub fn peak(&self) -> u64 {
        self.peak
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_checks_a_saved_allocator_against_memory() {
        let mut a = FrameAllocator::new(0x1000, 0x4000);
        let f = a.alloc().unwrap();
        a.alloc().unwrap();
        a.free(f.addr);
        assert!(a.fits(0x1000, 0x4000));
        assert!(!a.fits(0x1000, 0x8000), "another memory size");
        let mut b = a.clone();
        b.used = u64::MAX;
        assert!(!b.fits(0x1000, 0x4000), "more frames used than handed out");
        let mut c = a.clone();
        c.free.push(0x4000);
        assert!(!c.fits(0x1000, 0x4000), "a free frame never handed out");
        let mut d = a.clone();
        d.next = 0x1800;
        assert!(!d.fits(0x1000, 0x4000), "unaligned");
    }

    #[test]
    fn bump_then_reuse() {
        let mut a = FrameAllocator::new(0x1000, 0x3000);
        let f1 = a.alloc().unwrap();
        assert!(!f1.dirty);
        a.alloc().unwrap();
        a.alloc().unwrap();
        assert_eq!(a.alloc(), None);
        a.free(f1.addr);
        assert_eq!(
            a.alloc(),
            Some(Frame {
                addr: f1.addr,
                dirty: true
            })
        );
    }
}
