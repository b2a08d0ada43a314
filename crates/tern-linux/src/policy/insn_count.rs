//! The `insn-count` plugin (`tern exec --plugin insn-count`): how many instructions
//! the program retired in each function, printed at exit.
//!
//! The count is exact: each thread's hart reports every block of instructions that
//! retired ([`ExecObserver::on_block`]); the thread adds them up per block address
//! and hands its counts to the plugin after each run slice. At exit each block
//! address is named by [`Symbolizer`] (function symbol and file) and the counts are
//! summed per function. A block is straight-line code, so all its instructions
//! belong to the function it starts in (code that falls through into the next
//! function is counted in the first one).
//!
//! At most [`MAX_BLOCKS`] distinct block addresses are kept (a program that
//! generates code could make any number); the instructions of later ones are
//! counted as `[other blocks]`.

use std::collections::HashMap;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::{Arc, Mutex, OnceLock};

use tern_hart::observer::AddrMap;
use tern_hart::ExecObserver;

use super::symbols::Symbolizer;
use crate::interpose::Plugin;
use crate::process::Process;

/// Lines of the report.
const TOP: usize = 25;

/// Distinct block addresses counted.
pub const MAX_BLOCKS: usize = 1 << 20;

/// What the threads gathered.
#[derive(Default)]
struct Counts {
    per_block: HashMap<u64, u64>,
    other: u64,
}

/// The plugin.
pub struct InsnCount {
    counts: Mutex<Counts>,
    proc: OnceLock<Arc<Process>>,
    /// Where the report goes: stderr, duplicated above the program's descriptors.
    out: OnceLock<OwnedFd>,
}

/// One thread's counts since its last flush.
struct Counter {
    plugin: &'static InsnCount,
    per_block: AddrMap<u64>,
    /// The block seen last and its count not yet in `per_block` (a loop runs the
    /// same block again and again: no map update for those).
    last: (u64, u64),
}

impl ExecObserver for Counter {
    #[inline]
    fn on_block(&mut self, pc: u64, insns: u64) {
        if self.last.0 == pc {
            self.last.1 += insns;
            return;
        }
        if self.last.1 != 0 {
            *self.per_block.entry(self.last.0).or_default() += self.last.1;
        }
        self.last = (pc, insns);
    }

    fn flush(&mut self) {
        if self.last.1 != 0 {
            *self.per_block.entry(self.last.0).or_default() += self.last.1;
            self.last.1 = 0;
        }
        if self.per_block.is_empty() {
            return;
        }
        let mut all = self.plugin.counts.lock().unwrap_or_else(|e| e.into_inner());
        for (pc, n) in self.per_block.drain() {
            let room = all.per_block.len() < MAX_BLOCKS;
            match all.per_block.get_mut(&pc) {
                Some(c) => *c += n,
                None if room => {
                    all.per_block.insert(pc, n);
                }
                None => all.other += n,
            }
        }
    }
}

impl Default for InsnCount {
    fn default() -> Self {
        Self::new()
    }
}

impl InsnCount {
    /// A plugin with nothing counted.
    pub fn new() -> InsnCount {
        InsnCount {
            counts: Mutex::new(Counts::default()),
            proc: OnceLock::new(),
            out: OnceLock::new(),
        }
    }

    /// The report: the functions that retired the most instructions.
    pub fn report(&self) -> String {
        let Some(proc) = self.proc.get() else {
            return String::new();
        };
        let (blocks, other): (Vec<(u64, u64)>, u64) = {
            let c = self.counts.lock().unwrap_or_else(|e| e.into_inner());
            (c.per_block.iter().map(|(a, b)| (*a, *b)).collect(), c.other)
        };
        let total: u64 = blocks.iter().map(|s| s.1).sum::<u64>() + other;
        let mut names = Symbolizer::new(proc.clone());
        let mut per_fn: HashMap<String, u64> = HashMap::new();
        for (pc, n) in blocks {
            *per_fn.entry(names.place(pc).label()).or_default() += n;
        }
        if other != 0 {
            per_fn.insert("[other blocks]".to_string(), other);
        }
        let mut rows: Vec<(String, u64)> = per_fn.into_iter().collect();
        rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut s = format!(
            "tern insn-count: {total} instructions retired in {} functions (exact)\n",
            rows.len()
        );
        s.push_str("  share       instructions  function (file)\n");
        for (name, n) in rows.iter().take(TOP) {
            let share = if total == 0 {
                0.0
            } else {
                *n as f64 * 100.0 / total as f64
            };
            s.push_str(&format!("{share:6.2}%  {n:>17}  {name}\n"));
        }
        s
    }

    fn print(&self) {
        let text = self.report();
        let fd = self.out.get().map_or(2, |f| f.as_raw_fd());
        crate::hostfd::write_all(fd, text.as_bytes());
    }
}

impl Plugin for InsnCount {
    fn attach(&self, proc: &Arc<Process>) -> Result<(), String> {
        let _ = self.proc.set(proc.clone());
        // SAFETY: duplicating our own stderr above the program's descriptors.
        let fd = unsafe { libc::fcntl(2, libc::F_DUPFD_CLOEXEC, proc.fd_limit) };
        if fd >= 0 {
            // SAFETY: the duplicate is ours.
            let _ = self.out.set(unsafe { OwnedFd::from_raw_fd(fd) });
        }
        Ok(())
    }

    fn observer(&'static self, _tid: i32) -> Box<dyn ExecObserver> {
        Box::new(Counter {
            plugin: self,
            per_block: AddrMap::default(),
            last: (0, 0),
        })
    }
}

/// The installed plugin, for the exit hook.
static PLUGIN: OnceLock<&'static InsnCount> = OnceLock::new();

/// Installs the plugin and its report at exit. `false` when it is installed
/// already.
pub fn install() -> bool {
    let me: &'static InsnCount = Box::leak(Box::new(InsnCount::new()));
    if PLUGIN.set(me).is_err() {
        return false;
    }
    crate::exit::at_exit(|| {
        if let Some(p) = PLUGIN.get() {
            p.print();
        }
    });
    crate::interpose::install_plugin(me);
    true
}
