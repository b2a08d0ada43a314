//! The `mem-trace` plugin (`tern exec --plugin mem-trace=FILE[,max=N]`): every load
//! and store the program makes, one line each, written to FILE, at most N lines
//! ([`DEFAULT_MAX`] unless given).
//!
//! A system VM's trace (`tern run --plugin mem-trace=...`) is the same with the
//! hart's number in place of the thread id.
//!
//! A line is `TID PC VADDR SIZE r|w` (addresses in hex): thread, the instruction's
//! address, the accessed virtual address, its size in bytes, load or store (an
//! atomic read-modify-write is a store). Each thread formats its lines into its own
//! buffer and appends it to the file after each run slice, so threads do not wait
//! on each other per access; lines of different threads interleave by slice. Once
//! N lines are taken the rest are only counted; the last line of the file says how
//! many were recorded and how many were left out.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use tern_hart::ExecObserver;

use crate::interpose::Plugin;
use crate::process::Process;

/// Lines written when no limit is given.
pub const DEFAULT_MAX: u64 = 1_000_000;

/// Lines a thread takes from the limit at a time.
const GRANT: u64 = 4096;

/// The plugin.
pub struct MemTrace {
    file: Mutex<std::fs::File>,
    /// Lines not yet granted to a thread.
    left: AtomicU64,
    /// Accesses seen and left out.
    dropped: AtomicU64,
    /// Lines written.
    written: AtomicU64,
    /// The host process that writes (a forked child's accesses are not traced).
    owner: i32,
}

/// One thread's lines since its last flush.
struct Tracer {
    plugin: &'static MemTrace,
    tid: i32,
    buf: Vec<u8>,
    lines: u64,
    /// Lines this thread may still write.
    granted: u64,
    /// The limit is used up.
    exhausted: bool,
    dropped: u64,
}

impl ExecObserver for Tracer {
    fn on_block(&mut self, _pc: u64, _insns: u64) {}

    fn wants_mem(&self) -> bool {
        true
    }

    fn on_mem(&mut self, pc: u64, vaddr: u64, size: u8, store: bool) {
        if self.granted == 0 {
            if self.exhausted {
                self.dropped += 1;
                return;
            }
            let p = self.plugin;
            let got = p
                .left
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |l| {
                    Some(l.saturating_sub(GRANT))
                })
                .unwrap_or(0);
            self.granted = got.min(GRANT);
            if self.granted == 0 {
                // The limit is reached for good: no more atomics per access.
                self.exhausted = true;
                self.dropped += 1;
                return;
            }
        }
        self.granted -= 1;
        self.lines += 1;
        let kind = if store { 'w' } else { 'r' };
        let _ = writeln!(self.buf, "{} {pc:#x} {vaddr:#x} {size} {kind}", self.tid);
    }

    fn flush(&mut self) {
        let p = self.plugin;
        if self.dropped != 0 {
            p.dropped.fetch_add(self.dropped, Ordering::Relaxed);
            self.dropped = 0;
        }
        if self.buf.is_empty() {
            return;
        }
        // SAFETY: getpid cannot fail.
        if unsafe { libc::getpid() } == p.owner {
            let mut f = p.file.lock().unwrap_or_else(|e| e.into_inner());
            // A full disk must not stop the program: the trace ends short.
            let _ = f.write_all(&self.buf);
            p.written.fetch_add(self.lines, Ordering::Relaxed);
        }
        self.buf.clear();
        self.lines = 0;
    }
}

impl MemTrace {
    /// A trace into `file`, at most `max` lines.
    pub fn new(file: std::fs::File, max: u64) -> MemTrace {
        MemTrace {
            file: Mutex::new(file),
            left: AtomicU64::new(max),
            dropped: AtomicU64::new(0),
            written: AtomicU64::new(0),
            // SAFETY: getpid cannot fail.
            owner: unsafe { libc::getpid() },
        }
    }

    /// Writes the closing line.
    pub fn finish(&self) {
        let line = format!(
            "# tern mem-trace: {} accesses recorded, {} left out (limit)\n",
            self.written.load(Ordering::Relaxed),
            self.dropped.load(Ordering::Relaxed)
        );
        let mut f = self.file.lock().unwrap_or_else(|e| e.into_inner());
        let _ = f.write_all(line.as_bytes());
    }
}

impl Plugin for MemTrace {
    fn attach(&self, _proc: &Arc<Process>) -> Result<(), String> {
        Ok(())
    }

    fn observer(&'static self, tid: i32) -> Box<dyn ExecObserver> {
        Box::new(Tracer {
            plugin: self,
            tid,
            buf: Vec::with_capacity(64 * 1024),
            lines: 0,
            granted: 0,
            exhausted: false,
            dropped: 0,
        })
    }
}

static PLUGIN: OnceLock<&'static MemTrace> = OnceLock::new();

/// Installs the plugin writing to `file` (at most `max` lines). `false` when it
/// is installed already.
pub fn install(file: std::fs::File, max: u64) -> bool {
    let me: &'static MemTrace = Box::leak(Box::new(MemTrace::new(file, max)));
    if PLUGIN.set(me).is_err() {
        return false;
    }
    crate::exit::at_exit(|| {
        if let Some(p) = PLUGIN.get() {
            p.finish();
        }
    });
    crate::interpose::install_plugin(me);
    true
}
