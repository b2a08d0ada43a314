//! TLB shootdown between the harts of one process.
//!
//! Each guest thread runs its own hart, whose software TLB caches translations of the
//! shared page tables. When `munmap`, `mprotect`, `mremap` or `madvise` remove or
//! narrow translations, the thread that changed the tables asks every hart of the
//! process to drop its TLB ([`REQ_FLUSH_TLB`] on the hart's [`IrqLines`]) and waits
//! until each running hart has done so at its next block boundary; a hart that is not
//! running applies the request before it runs again.
//!
//! The guarantee given to `munmap` (and the others) is therefore Linux's: when the
//! call returns, no thread of the process can reach the old translation any more, so
//! the frames are released at once.
//!
//! The same list is the process's register of threads: by guest thread id, with the
//! host thread that runs each (they differ after a restore, where the threads keep
//! their guest ids on new host threads) and what each hart publishes for the control
//! API ([`HartStats`]).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tern_hart::irq::{REQ_FLUSH_TLB, REQ_POSTED, REQ_STOP};
use tern_hart::IrqLines;

/// What a thread publishes about its hart between run slices, for `status` and for
/// pausing (read by other threads without stopping it).
#[derive(Debug, Default)]
pub struct HartStats {
    /// The pc after the last run slice.
    pub pc: AtomicU64,
    /// Instructions this thread has retired.
    pub retired: AtomicU64,
    /// The thread is handling a system call (possibly blocked in the host): a pause
    /// interrupts it with the wake-up signal.
    pub in_syscall: AtomicBool,
    /// The hart's slow-path counts (TLB walks, block-cache misses), for metrics.
    pub counters: tern_hart::SharedCounters,
}

/// One registered hart.
#[derive(Clone, Debug)]
pub struct HartEntry {
    /// Guest thread id.
    pub tid: i32,
    /// Host thread id of the thread that runs it.
    pub host_tid: i32,
    /// Its request lines.
    pub lines: Arc<IrqLines>,
    /// What it publishes.
    pub stats: Arc<HartStats>,
}

/// The harts of one process.
#[derive(Debug, Default)]
pub struct Shootdown {
    harts: Mutex<Vec<HartEntry>>,
}

impl Shootdown {
    fn lock(&self) -> MutexGuard<'_, Vec<HartEntry>> {
        self.harts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers the hart of thread `tid`, run by host thread `host_tid`.
    pub fn register(&self, tid: i32, host_tid: i32, lines: Arc<IrqLines>, stats: Arc<HartStats>) {
        self.lock().push(HartEntry {
            tid,
            host_tid,
            lines,
            stats,
        });
    }

    /// Forgets the hart of thread `tid`.
    pub fn unregister(&self, tid: i32) {
        self.lock().retain(|h| h.tid != tid);
    }

    /// A guest thread id for a new thread run by host thread `host_tid`: the host id
    /// itself (guest tids are host tids), unless a thread restored from a snapshot
    /// already has that id.
    pub fn fresh_tid(&self, host_tid: i32) -> i32 {
        let harts = self.lock();
        let mut tid = host_tid;
        while harts.iter().any(|h| h.tid == tid) {
            tid = if tid >= (1 << 22) { 2 } else { tid + 1 };
        }
        tid
    }

    /// Every registered hart.
    pub fn entries(&self) -> Vec<HartEntry> {
        self.lock().clone()
    }

    /// The host thread that runs guest thread `tid`.
    pub fn host_tid(&self, tid: i32) -> Option<i32> {
        self.lock()
            .iter()
            .find(|h| h.tid == tid)
            .map(|h| h.host_tid)
    }

    /// Makes every hart drop its cached translations; returns once no running hart
    /// can use them any more.
    pub fn flush_all(&self) {
        self.request_all(REQ_FLUSH_TLB);
    }

    /// Makes every running hart pass its next block boundary, where it applies what
    /// changed in RAM (after a new store epoch it drops its writable TLB entries, so
    /// every later write marks the dirty log again); returns once each has. Live
    /// migration calls it after taking the dirty log.
    pub fn sync_all(&self) {
        self.request_all(REQ_POSTED);
    }

    /// Posts `flags` to every hart and waits until each running one has handled them.
    fn request_all(&self, flags: u64) {
        let harts: Vec<Arc<IrqLines>> = self.lock().iter().map(|h| h.lines.clone()).collect();
        let seqs: Vec<u64> = harts.iter().map(|l| l.request(flags)).collect();
        for (l, s) in harts.iter().zip(seqs) {
            l.wait_done(s);
        }
    }

    /// Makes the hart of thread `tid` leave its run slice at the next block boundary
    /// (a signal is waiting for it). Returns false if there is no such thread.
    pub fn kick(&self, tid: i32) -> bool {
        match self.lock().iter().find(|h| h.tid == tid) {
            Some(h) => {
                h.lines.request(REQ_STOP);
                true
            }
            None => false,
        }
    }

    /// Whether thread `tid` exists.
    pub fn has(&self, tid: i32) -> bool {
        self.lock().iter().any(|h| h.tid == tid)
    }

    /// After `fork`, in the child: only the forking thread's hart remains, under the
    /// child's thread id (its host thread id, which is also its guest id).
    pub fn retain_only(&self, old_tid: i32, new_tid: i32) {
        let mut harts = self.lock();
        harts.retain(|h| h.tid == old_tid);
        for h in harts.iter_mut() {
            h.tid = new_tid;
            h.host_tid = new_tid;
        }
    }

    /// Thread ids of all registered harts.
    pub fn tids(&self) -> Vec<i32> {
        self.lock().iter().map(|h| h.tid).collect()
    }
}

impl HartStats {
    /// Records the end of a run slice.
    pub fn slice_done(&self, pc: u64, retired: u64) {
        self.pc.store(pc, Ordering::Relaxed);
        self.retired.fetch_add(retired, Ordering::Relaxed);
    }
}
