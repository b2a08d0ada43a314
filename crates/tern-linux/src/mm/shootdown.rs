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

use std::sync::{Arc, Mutex};

use tern_hart::irq::{REQ_FLUSH_TLB, REQ_STOP};
use tern_hart::IrqLines;

/// The harts of one process.
#[derive(Debug, Default)]
pub struct Shootdown {
    harts: Mutex<Vec<(i32, Arc<IrqLines>)>>,
}

impl Shootdown {
    /// Registers the hart of thread `tid`.
    pub fn register(&self, tid: i32, lines: Arc<IrqLines>) {
        self.harts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((tid, lines));
    }

    /// Forgets the hart of thread `tid`.
    pub fn unregister(&self, tid: i32) {
        self.harts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|(t, _)| *t != tid);
    }

    /// Makes every hart drop its cached translations; returns once no running hart
    /// can use them any more.
    pub fn flush_all(&self) {
        let harts: Vec<Arc<IrqLines>> = self
            .harts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(_, l)| l.clone())
            .collect();
        let seqs: Vec<u64> = harts.iter().map(|l| l.request(REQ_FLUSH_TLB)).collect();
        for (l, s) in harts.iter().zip(seqs) {
            l.wait_done(s);
        }
    }

    /// Makes the hart of thread `tid` leave its run slice at the next block boundary
    /// (a signal is waiting for it). Returns false if there is no such thread.
    pub fn kick(&self, tid: i32) -> bool {
        let harts = self.harts.lock().unwrap_or_else(|e| e.into_inner());
        match harts.iter().find(|(t, _)| *t == tid) {
            Some((_, l)) => {
                l.request(REQ_STOP);
                true
            }
            None => false,
        }
    }

    /// Whether thread `tid` exists.
    pub fn has(&self, tid: i32) -> bool {
        self.harts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .any(|(t, _)| *t == tid)
    }

    /// After `fork`, in the child: only the forking thread's hart remains, under the
    /// child's thread id.
    pub fn retain_only(&self, old_tid: i32, new_tid: i32) {
        let mut harts = self.harts.lock().unwrap_or_else(|e| e.into_inner());
        harts.retain(|(t, _)| *t == old_tid);
        for h in harts.iter_mut() {
            h.0 = new_tid;
        }
    }

    /// Thread ids of all registered harts.
    pub fn tids(&self) -> Vec<i32> {
        self.harts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(t, _)| *t)
            .collect()
    }
}
