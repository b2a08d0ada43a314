//! `tern run --plugin NAME[=ARG]`: built-in plugins on a system VM's harts, through
//! tern-hart's block and memory callbacks ([`tern_hart::ExecObserver`]).
//!
//! - `insn-count[=ELF]`: instructions retired per block address, summed per
//!   function of ELF (for example the kernel's `vmlinux`; its link-time addresses
//!   are the guest's virtual addresses), printed at the end; without ELF the
//!   busiest blocks by address.
//! - `coverage=FILE[,symbols=ELF]`: the blocks that ran, one line each
//!   (`PC INSNS FUNCTION`), written at the end.
//! - `mem-trace=FILE[,max=N]`: every load and store (`HART PC VADDR SIZE r|w`),
//!   at most N lines, as for `tern exec`.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;

use anyhow::{bail, Context};
use tern_hart::observer::{AddrMap, ExecObserver, Fanout};
use tern_linux::interpose::Plugin;
use tern_linux::policy::mem_trace::{self, MemTrace};
use tern_linux::policy::symbols::{symbols, Symbols};
use tern_machine::virt::VirtMachine;

/// Distinct block addresses kept (a guest can run code at any number of them).
const MAX_BLOCKS: usize = 1 << 20;

/// Lines of the insn-count report.
const TOP: usize = 25;

/// Per block address: instructions retired in all, and the most in one run.
#[derive(Default)]
struct Blocks {
    seen: HashMap<u64, (u64, u64)>,
    /// Instructions of blocks beyond [`MAX_BLOCKS`].
    other: u64,
}

/// One hart's blocks since its last flush.
struct BlockObserver {
    all: &'static Mutex<Blocks>,
    local: AddrMap<(u64, u64)>,
}

impl ExecObserver for BlockObserver {
    #[inline]
    fn on_block(&mut self, pc: u64, insns: u64) {
        let e = self.local.entry(pc).or_default();
        e.0 += insns;
        e.1 = e.1.max(insns);
    }

    fn flush(&mut self) {
        if self.local.is_empty() {
            return;
        }
        let mut all = self.all.lock().unwrap_or_else(|e| e.into_inner());
        for (pc, (n, len)) in self.local.drain() {
            let room = all.seen.len() < MAX_BLOCKS;
            match all.seen.get_mut(&pc) {
                Some(e) => {
                    e.0 += n;
                    e.1 = e.1.max(len);
                }
                None if room => {
                    all.seen.insert(pc, (n, len));
                }
                None => all.other += n,
            }
        }
    }
}

/// The plugins of one `tern run`, to report at the end.
#[derive(Default)]
pub struct Plugins {
    blocks: Option<&'static Mutex<Blocks>>,
    /// `insn-count`, with its ELF's functions.
    insn_count: Option<Option<Symbols>>,
    /// `coverage`: the file and its ELF's functions.
    coverage: Option<(PathBuf, std::fs::File, Option<Symbols>)>,
    mem_trace: Option<&'static MemTrace>,
}

/// Reads the functions of ELF file `path`.
fn elf_symbols(plugin: &str, path: &str) -> anyhow::Result<Symbols> {
    let data =
        std::fs::read(path).with_context(|| format!("--plugin {plugin}: cannot read {path}"))?;
    symbols(&data).with_context(|| format!("--plugin {plugin}: {path} is not an ELF file"))
}

/// Creates a plugin's output file.
fn create(plugin: &str, path: &str) -> anyhow::Result<std::fs::File> {
    if path.is_empty() {
        bail!("--plugin {plugin}: FILE is empty");
    }
    std::fs::File::create(path).with_context(|| format!("--plugin {plugin}: cannot create {path}"))
}

impl Plugins {
    /// Parses the `--plugin` options and installs them on `machine`'s harts.
    pub fn install(specs: &[String], machine: &mut VirtMachine) -> anyhow::Result<Plugins> {
        let mut me = Plugins::default();
        for p in specs {
            let (name, arg) = match p.split_once('=') {
                Some((n, a)) => (n, Some(a)),
                None => (p.as_str(), None),
            };
            let twice = match (name, arg) {
                ("insn-count", a) => me
                    .insn_count
                    .replace(a.map(|elf| elf_symbols(p, elf)).transpose()?)
                    .is_some(),
                ("coverage", Some(a)) => {
                    let (file, syms) = match a.split_once(",symbols=") {
                        Some((f, elf)) => (f, Some(elf_symbols(p, elf)?)),
                        None => (a, None),
                    };
                    me.coverage
                        .replace((file.into(), create(p, file)?, syms))
                        .is_some()
                }
                ("mem-trace", Some(a)) => {
                    let (file, max) = match a.split_once(",max=") {
                        Some((f, n)) => (
                            f,
                            n.parse::<u64>()
                                .ok()
                                .with_context(|| format!("--plugin {p}: max must be a number"))?,
                        ),
                        None => (a, mem_trace::DEFAULT_MAX),
                    };
                    let t: &'static MemTrace =
                        Box::leak(Box::new(MemTrace::new(create(p, file)?, max)));
                    me.mem_trace.replace(t).is_some()
                }
                _ => bail!(
                    "--plugin {p}: unknown plugin (known: insn-count[=ELF], coverage=FILE[,symbols=ELF], mem-trace=FILE[,max=N])"
                ),
            };
            if twice {
                bail!("--plugin {p}: given twice");
            }
        }
        if me.insn_count.is_some() || me.coverage.is_some() {
            me.blocks = Some(Box::leak(Box::new(Mutex::new(Blocks::default()))));
        }
        if me.blocks.is_some() || me.mem_trace.is_some() {
            let (blocks, trace) = (me.blocks, me.mem_trace);
            machine.set_observers(|hart| {
                let mut all: Vec<Box<dyn ExecObserver>> = Vec::new();
                if let Some(b) = blocks {
                    all.push(Box::new(BlockObserver {
                        all: b,
                        local: AddrMap::default(),
                    }));
                }
                if let Some(t) = trace {
                    all.push(t.observer(hart as i32));
                }
                match all.len() {
                    1 => all.remove(0),
                    _ => Box::new(Fanout(all)),
                }
            });
        }
        Ok(me)
    }

    /// Writes the reports (after the machine stopped).
    pub fn finish(self) {
        let blocks: Vec<(u64, (u64, u64))> = match self.blocks {
            Some(b) => {
                let b = b.lock().unwrap_or_else(|e| e.into_inner());
                let mut v: Vec<_> = b.seen.iter().map(|(a, n)| (*a, *n)).collect();
                if b.other != 0 {
                    v.push((u64::MAX, (b.other, 0)));
                }
                v
            }
            None => Vec::new(),
        };
        let name = |syms: &Option<Symbols>, pc: u64| -> String {
            if pc == u64::MAX {
                return "[other blocks]".to_string();
            }
            match syms {
                Some(s) => s.function(pc).unwrap_or("?").to_string(),
                None => format!("{pc:#x}"),
            }
        };
        if let Some(syms) = &self.insn_count {
            let total: u64 = blocks.iter().map(|b| b.1 .0).sum();
            let mut per: HashMap<String, u64> = HashMap::new();
            for (pc, (n, _)) in &blocks {
                *per.entry(name(syms, *pc)).or_default() += n;
            }
            let mut rows: Vec<(String, u64)> = per.into_iter().collect();
            rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            let what = if syms.is_some() {
                "functions"
            } else {
                "blocks"
            };
            let mut s = format!(
                "tern insn-count: {total} instructions retired in {} {what} (exact)\n  share       instructions  {}\n",
                rows.len(),
                if syms.is_some() { "function" } else { "block" }
            );
            for (f, n) in rows.iter().take(TOP) {
                let share = *n as f64 * 100.0 / total.max(1) as f64;
                s.push_str(&format!("{share:6.2}%  {n:>17}  {f}\n"));
            }
            eprint!("{s}");
        }
        if let Some((path, mut file, syms)) = self.coverage {
            let mut rows: Vec<&(u64, (u64, u64))> =
                blocks.iter().filter(|b| b.0 != u64::MAX).collect();
            rows.sort_by_key(|b| b.0);
            let mut s = format!(
                "# tern coverage: {} blocks; PC INSNS FUNCTION\n",
                rows.len()
            );
            for (pc, (_, len)) in rows {
                let f = syms.as_ref().and_then(|s| s.function(*pc)).unwrap_or("?");
                s.push_str(&format!("{pc:#x} {len} {f}\n"));
            }
            if file.write_all(s.as_bytes()).is_err() {
                eprintln!("tern: --plugin coverage: cannot write {}", path.display());
            }
        }
        if let Some(t) = self.mem_trace {
            t.finish();
        }
    }
}
