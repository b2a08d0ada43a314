//! The `coverage` plugin (`tern exec --plugin coverage=FILE`): which code the
//! program ran, written to FILE at exit as a plain list of blocks.
//!
//! Each thread's hart reports every block that ran; the thread keeps the distinct
//! block addresses (with the most instructions seen retiring in one run of the
//! block: its length unless it always trapped early) and hands them to the plugin
//! after each run slice. At exit each block is named by [`Symbolizer`]. A line is
//!
//! ```text
//! PC FILE ELF_ADDR INSNS FUNCTION
//! ```
//!
//! (hex addresses; `ELF_ADDR` is the block's link-time address in FILE, `-` when
//! not known; `FUNCTION` is `?` without a symbol), sorted by file and address, after
//! a `#` header line. At most [`MAX_BLOCKS`] distinct blocks are kept; the header
//! says how many more were seen.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use tern_hart::observer::AddrMap;
use tern_hart::ExecObserver;

use super::symbols::Symbolizer;
use crate::interpose::Plugin;
use crate::process::Process;

/// Distinct blocks kept.
pub const MAX_BLOCKS: usize = 1 << 20;

/// What the threads gathered.
#[derive(Default)]
struct Blocks {
    /// Block address -> most instructions retired in one run.
    seen: HashMap<u64, u64>,
    /// Blocks beyond the limit (addresses of one thread's flushes, counted once
    /// each: an estimate).
    over: HashSet<u64>,
}

/// The plugin.
pub struct Coverage {
    path: std::path::PathBuf,
    file: Mutex<Option<std::fs::File>>,
    blocks: Mutex<Blocks>,
    proc: OnceLock<Arc<Process>>,
}

/// One thread's blocks since its last flush.
struct Tracker {
    plugin: &'static Coverage,
    seen: AddrMap<u64>,
    /// The block seen last (a loop: no map lookup).
    last: (u64, u64),
}

impl ExecObserver for Tracker {
    #[inline]
    fn on_block(&mut self, pc: u64, insns: u64) {
        if self.last == (pc, insns) {
            return;
        }
        self.last = (pc, insns);
        let e = self.seen.entry(pc).or_default();
        *e = (*e).max(insns);
    }

    fn flush(&mut self) {
        if self.seen.is_empty() {
            return;
        }
        let mut all = self.plugin.blocks.lock().unwrap_or_else(|e| e.into_inner());
        for (pc, n) in self.seen.drain() {
            let room = all.seen.len() < MAX_BLOCKS;
            match all.seen.get_mut(&pc) {
                Some(c) => *c = (*c).max(n),
                None if room => {
                    all.seen.insert(pc, n);
                }
                None => {
                    if all.over.len() < MAX_BLOCKS {
                        all.over.insert(pc);
                    }
                }
            }
        }
    }
}

impl Coverage {
    /// Coverage written to `file` (opened already: tern may not reach the path
    /// later), named `path` in messages.
    pub fn new(path: std::path::PathBuf, file: std::fs::File) -> Coverage {
        Coverage {
            path,
            file: Mutex::new(Some(file)),
            blocks: Mutex::new(Blocks::default()),
            proc: OnceLock::new(),
        }
    }

    /// The list, as written to the file.
    pub fn render(&self) -> String {
        let (blocks, over) = {
            let b = self.blocks.lock().unwrap_or_else(|e| e.into_inner());
            let v: Vec<(u64, u64)> = b.seen.iter().map(|(a, n)| (*a, *n)).collect();
            (v, b.over.len())
        };
        let mut rows = Vec::with_capacity(blocks.len());
        match self.proc.get() {
            Some(proc) => {
                let mut names = Symbolizer::new(proc.clone());
                for (pc, n) in blocks {
                    rows.push((names.place(pc), pc, n));
                }
            }
            None => return String::new(),
        }
        rows.sort_by(|a, b| (&a.0.file, a.0.elf_addr, a.1).cmp(&(&b.0.file, b.0.elf_addr, b.1)));
        let insns: u64 = rows.iter().map(|r| r.2).sum();
        let mut s = format!(
            "# tern coverage: {} blocks ({insns} instructions), {over} more not listed; PC FILE ELF_ADDR INSNS FUNCTION\n",
            rows.len()
        );
        for (place, pc, n) in rows {
            let addr = place
                .elf_addr
                .map_or("-".to_string(), |a| format!("{a:#x}"));
            let f = place.function.as_deref().unwrap_or("?");
            s.push_str(&format!("{pc:#x} {} {addr} {n} {f}\n", place.file));
        }
        s
    }

    fn finish(&self) {
        let text = self.render();
        if let Some(mut f) = self.file.lock().unwrap_or_else(|e| e.into_inner()).take() {
            if f.write_all(text.as_bytes()).is_err() {
                crate::exit::diag(&format!(
                    "tern: --plugin coverage: cannot write {}",
                    self.path.display()
                ));
            }
        }
    }
}

impl Plugin for Coverage {
    fn attach(&self, proc: &Arc<Process>) -> Result<(), String> {
        let _ = self.proc.set(proc.clone());
        Ok(())
    }

    fn observer(&'static self, _tid: i32) -> Box<dyn ExecObserver> {
        Box::new(Tracker {
            plugin: self,
            seen: AddrMap::default(),
            last: (u64::MAX, 0),
        })
    }
}

static PLUGIN: OnceLock<&'static Coverage> = OnceLock::new();

/// Installs the plugin writing to `file` at exit. `false` when it is installed
/// already.
pub fn install(path: std::path::PathBuf, file: std::fs::File) -> bool {
    let me: &'static Coverage = Box::leak(Box::new(Coverage::new(path, file)));
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
