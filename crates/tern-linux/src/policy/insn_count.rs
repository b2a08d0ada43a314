//! The `insn-count` plugin (`tern exec --plugin insn-count[=PERIOD]`): where the
//! program spends its instructions, per function symbol, printed at exit.
//!
//! It is a sampling profiler over retired instructions, not an exact count: every
//! PERIOD retired instructions (10000 unless given) each thread's run slice ends
//! and its pc is recorded. At exit each sampled pc is looked up in the mapped file
//! it lies in (the program, its dynamic loader, shared libraries — found in the
//! address space's file-backed areas, with the load bias from the ELF's program
//! headers) and attributed to the function symbol (`STT_FUNC` of `.symtab`, else
//! `.dynsym`) that covers it; a function's share of the samples, times the
//! instructions retired, estimates its count. Nothing is added per instruction:
//! with the plugin off the run loop checks for a sampler once per slice.

use std::collections::HashMap;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::{Arc, Mutex, OnceLock};

use crate::fs::resolve::Lookup;
use crate::interpose::Sampler;
use crate::mm::vma::Backing;
use crate::process::Process;

/// Samples taken when no period is given.
pub const DEFAULT_PERIOD: u64 = 10_000;

/// Lines of the report.
const TOP: usize = 25;

/// The sampler.
pub struct InsnCount {
    period: u64,
    samples: Mutex<HashMap<u64, u64>>,
    proc: OnceLock<Arc<Process>>,
    /// Where the report goes: stderr, duplicated above the program's descriptors.
    out: OnceLock<OwnedFd>,
}

/// A loaded file's functions: `(start, end, name)` sorted by start, and how its
/// virtual addresses map to file offsets (PT_LOAD: vaddr, offset, filesz).
struct Symbols {
    funcs: Vec<(u64, u64, String)>,
    loads: Vec<(u64, u64, u64)>,
}

fn symbols(data: &[u8]) -> Option<Symbols> {
    let elf = goblin::elf::Elf::parse(data).ok()?;
    let mut funcs = Vec::new();
    for (syms, strs) in [(&elf.syms, &elf.strtab), (&elf.dynsyms, &elf.dynstrtab)] {
        for s in syms.iter() {
            if s.st_type() == goblin::elf::sym::STT_FUNC && s.st_value != 0 {
                if let Some(n) = strs.get_at(s.st_name) {
                    funcs.push((s.st_value, s.st_value + s.st_size.max(1), n.to_string()));
                }
            }
        }
        if !funcs.is_empty() {
            break;
        }
    }
    funcs.sort();
    funcs.dedup_by_key(|f| f.0);
    let loads = elf
        .program_headers
        .iter()
        .filter(|p| p.p_type == goblin::elf::program_header::PT_LOAD)
        .map(|p| (p.p_vaddr, p.p_offset, p.p_filesz))
        .collect();
    Some(Symbols { funcs, loads })
}

impl Symbols {
    /// The function at address `addr` of area `start` that maps file offset `off`.
    fn lookup(&self, pc: u64, area_start: u64, area_off: u64) -> Option<&str> {
        // The PT_LOAD segment holding the area's first file byte gives the bias.
        let &(vaddr, poff, _) = self
            .loads
            .iter()
            .find(|(_, o, sz)| *o <= area_off && area_off < o + sz.max(&1))?;
        let bias = area_start.wrapping_sub(vaddr + (area_off - poff));
        let addr = pc.wrapping_sub(bias);
        let i = self.funcs.partition_point(|f| f.0 <= addr);
        let (s, e, n) = self.funcs.get(i.checked_sub(1)?)?;
        (*s <= addr && addr < *e).then_some(n.as_str())
    }
}

impl InsnCount {
    /// A sampler every `period` instructions.
    pub fn new(period: u64) -> InsnCount {
        InsnCount {
            period: period.max(1),
            samples: Mutex::new(HashMap::new()),
            proc: OnceLock::new(),
            out: OnceLock::new(),
        }
    }

    /// Reads a mapped file by guest path, through the process's file view.
    fn read_file(proc: &Process, guest: &str) -> Option<Vec<u8>> {
        let loc = crate::fs::locate::locate(
            proc.paths(),
            libc::AT_FDCWD,
            guest.as_bytes(),
            Lookup::Follow,
        )
        .ok()?;
        let fd = loc.reopen(libc::O_RDONLY).ok()?;
        let mut data = Vec::new();
        std::io::Read::read_to_end(
            &mut std::io::Read::take(std::fs::File::from(fd), 1 << 30),
            &mut data,
        )
        .ok()?;
        Some(data)
    }

    /// The report: the functions with the most samples.
    pub fn report(&self) -> String {
        let Some(proc) = self.proc.get() else {
            return String::new();
        };
        let samples: Vec<(u64, u64)> = self
            .samples
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(a, b)| (*a, *b))
            .collect();
        let total: u64 = samples.iter().map(|s| s.1).sum();
        let insns = proc.insns.load(std::sync::atomic::Ordering::Relaxed);
        let mut files: HashMap<String, Option<Symbols>> = HashMap::new();
        let mut per_fn: HashMap<String, u64> = HashMap::new();
        {
            let mm = proc.mm();
            for (pc, n) in samples {
                let name = match mm.vmas.find(pc) {
                    Some(v) => match &v.backing {
                        Backing::File { path, offset } => {
                            let syms = files.entry(path.clone()).or_insert_with(|| {
                                Self::read_file(proc, path).and_then(|d| symbols(&d))
                            });
                            let base = path.rsplit('/').next().unwrap_or(path);
                            match syms.as_ref().and_then(|s| s.lookup(pc, v.start, *offset)) {
                                Some(f) => format!("{f} ({base})"),
                                None => format!("? ({base})"),
                            }
                        }
                        Backing::Sigpage => "[sigreturn]".to_string(),
                        _ => "[anonymous]".to_string(),
                    },
                    None => "[unmapped]".to_string(),
                };
                *per_fn.entry(name).or_default() += n;
            }
        }
        let mut rows: Vec<(String, u64)> = per_fn.into_iter().collect();
        rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut s = format!(
            "tern insn-count: {insns} instructions retired, {total} samples (one every {} instructions)\n",
            self.period
        );
        s.push_str("  share  est. instructions  function (file)\n");
        for (name, n) in rows.iter().take(TOP) {
            let share = if total == 0 {
                0.0
            } else {
                *n as f64 * 100.0 / total as f64
            };
            let est = if total == 0 {
                0
            } else {
                (u128::from(*n) * u128::from(insns) / u128::from(total)) as u64
            };
            s.push_str(&format!("{share:6.2}%  {est:>17}  {name}\n"));
        }
        s
    }

    fn print(&self) {
        let text = self.report();
        let fd = self.out.get().map_or(2, |f| f.as_raw_fd());
        crate::hostfd::write_all(fd, text.as_bytes());
    }
}

/// The installed plugin, for the exit hook.
static PLUGIN: OnceLock<&'static InsnCount> = OnceLock::new();

impl Sampler for InsnCount {
    fn period(&self) -> u64 {
        self.period
    }

    fn sample(&self, _tid: i32, pc: u64, _n: u64) {
        *self
            .samples
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(pc)
            .or_default() += 1;
    }

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
}

/// Installs the plugin (`period` instructions between samples) and its report at
/// exit. `false` when a sampler is installed already.
pub fn install(period: u64) -> bool {
    let me: &'static InsnCount = Box::leak(Box::new(InsnCount::new(period)));
    if PLUGIN.set(me).is_err() {
        return false;
    }
    crate::exit::at_exit(|| {
        if let Some(p) = PLUGIN.get() {
            p.print();
        }
    });
    crate::interpose::install_sampler(Box::new(Shared(me)))
}

/// The leaked plugin as the installed sampler.
struct Shared(&'static InsnCount);

impl Sampler for Shared {
    fn period(&self) -> u64 {
        self.0.period()
    }
    fn sample(&self, tid: i32, pc: u64, n: u64) {
        self.0.sample(tid, pc, n)
    }
    fn attach(&self, proc: &Arc<Process>) -> Result<(), String> {
        self.0.attach(proc)
    }
}
