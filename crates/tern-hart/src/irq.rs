//! Everything other threads send to one hart: interrupt lines and requests.
//!
//! Devices (CLINT, PLIC, ACLINT) run outside the hart and may live on other threads, so
//! the bits they drive (`MSIP`, `MTIP`, `MEIP`, and the PLIC's `SEIP`) are an atomic
//! word that the hart reads at block boundaries. A hart waiting in `wfi` sleeps on the
//! condition variable until a line rises.
//!
//! Other harts (through the SBI IPI and RFENCE calls, for instance) can also post
//! software-writable `mip` bits (SSIP) and ask for TLB or decoded-code flushes; a
//! requester can wait until the hart has performed the flush, which is what remote
//! `sfence.vma` must guarantee.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

/// Request bit: posted `mip` bits are waiting.
pub const REQ_POSTED: u64 = 1 << 0;
/// Request bit: drop every cached translation (remote `sfence.vma`).
pub const REQ_FLUSH_TLB: u64 = 1 << 1;
/// Request bit: drop every decoded block (remote `fence.i`).
pub const REQ_FLUSH_CODE: u64 = 1 << 2;
/// Request bit: return from `run` at the next block boundary (pause).
pub const REQ_STOP: u64 = 1 << 3;

/// Device-driven `mip` bits of one hart, and requests from other threads.
#[derive(Debug, Default)]
pub struct IrqLines {
    bits: AtomicU64,
    lock: Mutex<()>,
    wake: Condvar,
    requests: AtomicU64,
    posted: AtomicU64,
    running: AtomicBool,
    req_seq: AtomicU64,
    ack_seq: AtomicU64,
}

impl IrqLines {
    /// All lines low.
    pub fn new() -> IrqLines {
        IrqLines::default()
    }

    /// Current levels.
    #[inline]
    pub fn get(&self) -> u64 {
        self.bits.load(Ordering::Acquire)
    }

    /// Drives the lines in `mask` to `level`.
    pub fn set_level(&self, mask: u64, level: bool) {
        let old = if level {
            self.bits.fetch_or(mask, Ordering::AcqRel)
        } else {
            self.bits.fetch_and(!mask, Ordering::AcqRel)
        };
        if level && old & mask != mask {
            self.kick();
        }
    }

    /// Sets software-writable `mip` bits (for example SSIP for an IPI); the hart ORs them
    /// into `mip` at its next block boundary.
    pub fn post_mip(&self, mask: u64) {
        self.posted.fetch_or(mask, Ordering::AcqRel);
        self.request(REQ_POSTED);
    }

    /// Posts request bits (`REQ_*`) and returns a sequence number to wait for with
    /// [`IrqLines::wait_done`].
    pub fn request(&self, flags: u64) -> u64 {
        self.requests.fetch_or(flags, Ordering::SeqCst);
        let seq = self.req_seq.fetch_add(1, Ordering::SeqCst) + 1;
        self.kick();
        seq
    }

    /// Waits until the hart has handled request `seq`, or is not running (it handles
    /// requests before it runs again).
    pub fn wait_done(&self, seq: u64) {
        let mut spins = 0u32;
        while self.running.load(Ordering::SeqCst) && self.ack_seq.load(Ordering::SeqCst) < seq {
            spins += 1;
            if spins < 64 {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
    }

    /// Where the line levels are, for translated code that compares them between
    /// chained blocks (read only, as [`IrqLines::get`] does).
    #[cfg(target_arch = "x86_64")]
    pub(crate) fn bits_ptr(&self) -> *const u64 {
        self.bits.as_ptr().cast_const()
    }

    /// Where the request word is, for translated code that checks
    /// [`IrqLines::has_requests`] between chained blocks (read only).
    #[cfg(target_arch = "x86_64")]
    pub(crate) fn requests_ptr(&self) -> *const u64 {
        self.requests.as_ptr().cast_const()
    }

    /// Whether any request is pending (cheap; checked between blocks).
    #[inline(always)]
    pub fn has_requests(&self) -> bool {
        self.requests.load(Ordering::Relaxed) != 0
    }

    /// Hart side: takes pending requests and posted `mip` bits. Call [`IrqLines::ack`]
    /// with the returned sequence number once they are handled.
    pub fn take_requests(&self) -> (u64, u64, u64) {
        let seq = self.req_seq.load(Ordering::SeqCst);
        let flags = self.requests.swap(0, Ordering::SeqCst);
        let posted = if flags & REQ_POSTED != 0 {
            self.posted.swap(0, Ordering::AcqRel)
        } else {
            0
        };
        (flags, posted, seq)
    }

    /// Hart side: requests up to `seq` are handled.
    pub fn ack(&self, seq: u64) {
        self.ack_seq.fetch_max(seq, Ordering::SeqCst);
    }

    /// Hart side: marks the hart as running (requesters wait for it) or not.
    pub fn set_running(&self, running: bool) {
        self.running.store(running, Ordering::SeqCst);
    }

    /// Wakes a hart sleeping in [`IrqLines::wait`] (also used to ask it to stop).
    pub fn kick(&self) {
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        self.wake.notify_all();
    }

    /// Sleeps until any line in `mask` is high, a request is pending, a kick arrives,
    /// or `timeout` passes.
    pub fn wait(&self, mask: u64, timeout: Duration) {
        let guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        if self.get() & mask != 0 || self.has_requests() {
            return;
        }
        let _unused = self.wake.wait_timeout(guard, timeout);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn requests_are_taken_once_and_acknowledged() {
        let lines = Arc::new(IrqLines::new());
        // A hart that is not running never makes a requester wait.
        let seq = lines.request(REQ_FLUSH_TLB);
        lines.wait_done(seq);
        lines.post_mip(2);
        let (flags, posted, taken) = lines.take_requests();
        assert_eq!(flags, REQ_FLUSH_TLB | REQ_POSTED);
        assert_eq!(posted, 2);
        assert!(!lines.has_requests());
        // A running hart acknowledges; the requester waits for that.
        lines.set_running(true);
        let seq2 = lines.request(REQ_FLUSH_CODE);
        assert!(seq2 > taken);
        let hart = {
            let lines = lines.clone();
            std::thread::spawn(move || {
                while !lines.has_requests() {
                    std::thread::yield_now();
                }
                let (_, _, s) = lines.take_requests();
                lines.ack(s);
            })
        };
        lines.wait_done(seq2);
        hart.join().unwrap();
        lines.set_running(false);
    }
}
