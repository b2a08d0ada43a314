//! Pausing a process VM at an instruction boundary (DESIGN.md invariant 2), for the
//! control API: pause, resume, snapshot and stop.
//!
//! The controller asks every thread to stop: its hart leaves the run slice at the
//! next block boundary (`REQ_STOP`), and a thread inside a system call is sent the
//! wake-up signal, so that a blocking host call returns `EINTR`. The thread then
//! takes the path of any interrupted call: with no guest handler to run, the call is
//! rewound to its `ecall` with `a0` restored (Linux restarts such calls the same
//! way). At the top of its run loop the thread "parks": it publishes its plain-data
//! state ([`ThreadState`]) and waits. A futex waiter, a `read` on a pipe, a
//! `nanosleep` are therefore all paused at their `ecall` and simply make the call
//! again when they run on, here after a resume or in another process after a restore.
//!
//! A host call that a signal does not interrupt (a `FUTEX_LOCK_PI`, a read from a
//! slow disk) delays the pause until it returns; the controller keeps kicking the
//! threads it waits for, and gives up after its timeout, naming the thread.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tern_hart::irq::REQ_STOP;
use tern_hart::VirtualClock;

use crate::mm::shootdown::Shootdown;
use crate::signal::wake_host_thread;
use crate::state::ThreadState;

/// How often the controller kicks the threads that have not parked yet (a signal
/// sent just before a thread enters a blocking call is not seen by that call).
const KICK_EVERY: Duration = Duration::from_millis(5);

/// Why a pause or resume did not happen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PauseError {
    /// The VM has been stopped for good.
    #[error("the process has stopped")]
    Stopped,
    /// A thread did not reach an instruction boundary in time.
    #[error("thread {tid} did not pause within {after:?} (blocked in a host call that signals do not interrupt?)")]
    Timeout {
        /// Its guest thread id.
        tid: i32,
        /// How long the controller waited.
        after: Duration,
    },
    /// The process is not paused.
    #[error("the process is not paused")]
    NotPaused,
}

/// Pause bookkeeping shared by the controller and the threads.
#[derive(Debug, Default)]
pub struct Pause {
    /// A pause is requested or in effect: threads park at their next boundary. Read
    /// by every thread after every run slice, so it is an atomic outside the lock.
    requested: AtomicBool,
    inner: Mutex<Inner>,
    changed: Condvar,
}

/// Work for a parked thread ([`Pause::on_parked_thread`]).
type Errand = Box<dyn FnOnce() + Send>;

/// The errand waiting for a parked thread, if any.
#[derive(Default)]
struct ErrandSlot(Option<Errand>);

impl std::fmt::Debug for ErrandSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "errand waiting"
        } else {
            "no errand"
        })
    }
}

#[derive(Debug, Default)]
struct Inner {
    /// Work that must run on a guest thread (in the guest's descriptor table).
    errand: ErrandSlot,
    /// Every registered thread has parked.
    paused: bool,
    /// The VM was stopped: threads never run again.
    stopped: bool,
    /// The parked threads' states, by guest tid.
    parked: BTreeMap<i32, ThreadState>,
}

impl Pause {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether threads should park (cheap: one atomic load).
    #[inline]
    pub fn requested(&self) -> bool {
        self.requested.load(Ordering::Acquire)
    }

    /// Whether every thread is parked.
    pub fn is_paused(&self) -> bool {
        self.lock().paused
    }

    /// Whether the VM was stopped.
    pub fn is_stopped(&self) -> bool {
        self.lock().stopped
    }

    /// Thread side: publishes `state` and waits while a pause is in effect. Returns
    /// the hart state to continue from when the controller replaced it (a debugger
    /// wrote registers), `None` when it is unchanged.
    pub fn park(&self, state: ThreadState) -> Option<tern_hart::HartState> {
        let tid = state.tid;
        let mut inner = self.lock();
        if !self.requested() {
            return None;
        }
        let before = state.hart.clone();
        inner.parked.insert(tid, state);
        self.changed.notify_all();
        while self.requested() {
            if let Some(job) = inner.errand.0.take() {
                drop(inner);
                job();
                inner = self.lock();
                self.changed.notify_all();
                continue;
            }
            inner = self
                .changed
                .wait_timeout(inner, Duration::from_millis(100))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        let after = inner.parked.remove(&tid)?;
        (after.hart != before).then_some(after.hart)
    }

    /// Asks every thread to park at its next boundary without waiting (a thread that
    /// stopped for the debugger pauses the process this way; [`Process::pause`] then
    /// kicks the others and waits).
    pub fn request(&self) {
        self.requested.store(true, Ordering::Release);
    }

    /// Replaces the hart state of parked thread `tid` (the process must be paused);
    /// the thread continues from it.
    pub fn set_parked_hart(&self, tid: i32, hart: tern_hart::HartState) -> Result<(), PauseError> {
        let mut inner = self.lock();
        if !inner.paused {
            return Err(PauseError::NotPaused);
        }
        match inner.parked.get_mut(&tid) {
            Some(t) => {
                t.hart = hart;
                Ok(())
            }
            None => Err(PauseError::NotPaused),
        }
    }

    /// Runs `fork` with the bookkeeping locked, so that the child cannot inherit a
    /// lock held by another thread; in the child (`fork` returned 0), which has only
    /// the forking thread, nothing is paused.
    pub(crate) fn across_fork(&self, fork: impl FnOnce() -> i32) -> i32 {
        let mut inner = self.lock();
        let pid = fork();
        if pid == 0 {
            *inner = Inner::default();
            self.requested.store(false, Ordering::Release);
        }
        pid
    }

    /// The parked threads' states, by thread id (the process must be paused).
    pub fn parked(&self) -> Result<Vec<ThreadState>, PauseError> {
        let inner = self.lock();
        if !inner.paused {
            return Err(PauseError::NotPaused);
        }
        Ok(inner.parked.values().cloned().collect())
    }

    /// Runs `f` on one of the parked threads and returns its result (the process
    /// must be paused), or on the calling thread when no thread is parked (a
    /// process without running threads: unit tests, a restore in progress). For
    /// work on the guest's descriptors: the controller's own threads have a
    /// private descriptor table ([`crate::hostfd`]), a guest thread has the
    /// guest's. The thread runs it between instructions, where it waits anyway.
    pub fn on_parked_thread<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PauseError> {
        let mut inner = self.lock();
        if inner.parked.is_empty() {
            drop(inner);
            return Ok(f());
        }
        if !inner.paused {
            return Err(PauseError::NotPaused);
        }
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        inner.errand = ErrandSlot(Some(Box::new(move || {
            let _ = tx.send(f());
        })));
        self.changed.notify_all();
        drop(inner);
        // A parked thread looks at least every 100 ms; the errand is dropped
        // (and `recv` fails) only if the process ends meanwhile.
        rx.recv().map_err(|_| PauseError::Stopped)
    }

    /// A parked thread's state, if the process is paused.
    pub fn parked_thread(&self, tid: i32) -> Option<ThreadState> {
        let inner = self.lock();
        if inner.paused {
            inner.parked.get(&tid).cloned()
        } else {
            None
        }
    }
}

impl Pause {
    /// Stops every thread registered with `shoot` at an instruction boundary and
    /// keeps it stopped until [`Pause::resume`]; returns once all have parked.
    /// Guest time (`clock`) stands still meanwhile. A paused process stays paused.
    pub fn pause(
        &self,
        shoot: &Shootdown,
        clock: &VirtualClock,
        timeout: Duration,
    ) -> Result<(), PauseError> {
        let p = self;
        {
            let inner = p.lock();
            if inner.stopped {
                return Err(PauseError::Stopped);
            }
            if inner.paused {
                return Ok(());
            }
        }
        p.requested.store(true, Ordering::Release);
        let start = Instant::now();
        let mut inner = p.lock();
        loop {
            let harts = shoot.entries();
            let missing: Vec<_> = harts
                .iter()
                .filter(|h| !inner.parked.contains_key(&h.tid))
                .collect();
            if missing.is_empty() {
                inner.paused = true;
                break;
            }
            if start.elapsed() > timeout {
                let tid = missing[0].tid;
                if !inner.stopped {
                    p.requested.store(false, Ordering::Release);
                }
                p.changed.notify_all();
                return Err(PauseError::Timeout {
                    tid,
                    after: timeout,
                });
            }
            for h in missing {
                h.lines.request(REQ_STOP);
                if h.stats.in_syscall.load(Ordering::SeqCst) {
                    wake_host_thread(h.host_tid);
                }
            }
            inner = p
                .changed
                .wait_timeout(inner, KICK_EVERY)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        drop(inner);
        clock.freeze();
        Ok(())
    }

    /// Lets a paused process run again, its time (`clock`) with it.
    pub fn resume(&self, clock: &VirtualClock) -> Result<(), PauseError> {
        let p = self;
        let mut inner = p.lock();
        if inner.stopped {
            return Err(PauseError::Stopped);
        }
        if !inner.paused {
            return Err(PauseError::NotPaused);
        }
        clock.thaw();
        inner.paused = false;
        p.requested.store(false, Ordering::Release);
        p.changed.notify_all();
        Ok(())
    }

    /// Stops the process for good: its threads are paused (as far as they pause
    /// within `timeout`) and never run again; the caller ends the host process.
    pub fn stop(&self, shoot: &Shootdown, clock: &VirtualClock, timeout: Duration) {
        let _ = self.pause(shoot, clock, timeout);
        let p = self;
        let mut inner = p.lock();
        inner.stopped = true;
        p.requested.store(true, Ordering::Release);
    }
}
