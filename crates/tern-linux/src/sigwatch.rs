//! Which signals the process's signalfds watch (`syscalls::signalfd`), kept low in
//! the layers so that queuing a signal ([`crate::process::Process::post`]) can make a
//! watching signalfd readable without the process knowing the system calls.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use crate::signal::bit;

/// One signalfd of this host process.
pub struct Entry {
    /// Its id (in the guest descriptor's kind).
    pub id: u32,
    /// The process it belongs to (its address: one per host process, but unit
    /// tests make several).
    pub owner: usize,
    /// The signals it watches.
    pub mask: u64,
    /// The host signalfd (emulator's descriptor).
    pub sigfd: i32,
    /// The eventfd readable while queued signals of the mask may wait.
    pub event: i32,
}

/// The signalfds of this host process (a forked child starts with its parent's
/// copy, as it inherits the descriptors).
pub struct Registry {
    /// The next id.
    pub next: u32,
    /// The signalfds.
    pub entries: Vec<Entry>,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    next: 1,
    entries: Vec::new(),
});
/// Whether any signalfd exists (the common case, none, costs [`notify`] one load).
pub static ANY: AtomicBool = AtomicBool::new(false);

/// The registry, locked.
pub fn registry() -> std::sync::MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

/// Called when signal `signo` is queued for the process or one of its threads:
/// makes the signalfds watching it readable.
pub fn notify(owner: usize, signo: i32) {
    if !ANY.load(Ordering::Relaxed) {
        return;
    }
    let r = registry();
    for e in r
        .entries
        .iter()
        .filter(|e| e.owner == owner && e.mask & bit(signo) != 0)
    {
        let one = 1u64;
        // SAFETY: writing 8 bytes from a local to our own eventfd.
        unsafe { libc::write(e.event, (&one as *const u64).cast(), 8) };
    }
}
