//! Running batches of random programs on the reference (QEMU) and on the emulator under
//! test, in parallel, and collecting divergences.
//!
//! Programs are independent: a program whose dump differs is a divergence and the
//! batch goes on. If the emulator under test stops printing (crash, hang, unexpected
//! trap) the program it stopped in is a divergence and the rest of the batch is run
//! again as a new batch, so one bug does not hide the programs after it. The same holds
//! for the reference: a program QEMU does not finish is a generator error.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::asm::{render_batch, AsmOptions};
use crate::dump::{self, Verdict};
use crate::emulator::{Emulator, RunOutput};
use crate::gen::{generate, GenConfig, Item, Program};
use crate::report;
use crate::toolchain::Toolchain;

/// What to run.
#[derive(Clone, Debug)]
pub struct RunConfig {
    /// Run seed: program `i` is generated from (seed, i).
    pub seed: u64,
    /// Index of the first program.
    pub first: u64,
    /// Number of programs.
    pub programs: u64,
    /// Programs per ELF (amortizes emulator start-up).
    pub batch: usize,
    /// Parallel workers.
    pub jobs: usize,
    /// The emulator under test (QEMU itself for a determinism check).
    pub test: Emulator,
    /// Generator settings.
    pub gen: GenConfig,
    /// Time limit of one emulator run.
    pub timeout: Duration,
    /// Where to save diverging programs (nothing is saved if `None`).
    pub out: Option<PathBuf>,
    /// How many divergences to minimize.
    pub minimize: usize,
    /// How many divergences to save and keep details of.
    pub keep: usize,
    /// Print progress lines on stderr.
    pub progress: bool,
    /// Stop taking new batches once this many programs diverged.
    pub stop_after: u64,
}

impl RunConfig {
    /// Defaults for `programs` programs from `seed` against `test`.
    pub fn new(seed: u64, programs: u64, test: Emulator) -> RunConfig {
        RunConfig {
            seed,
            first: 0,
            programs,
            batch: 50,
            jobs: std::thread::available_parallelism().map_or(1, |n| n.get()),
            test,
            gen: GenConfig::default(),
            timeout: Duration::from_secs(30),
            out: None,
            minimize: 3,
            keep: 20,
            progress: false,
            stop_after: u64::MAX,
        }
    }

    fn asm_options(&self) -> AsmOptions {
        AsmOptions {
            allow_traps: self.gen.traps,
            dump_mem: false,
        }
    }
}

/// One diverging program.
#[derive(Clone, Debug)]
pub struct Divergence {
    /// The program.
    pub program: Program,
    /// Whether the emulator under test stopped printing in it (crash, hang, trap
    /// loop) rather than printing a different dump.
    pub stopped: bool,
    /// Which values differ (or how the output ended).
    pub description: String,
    /// The minimized program, when minimized.
    pub minimized: Option<Minimized>,
    /// Where its files were saved.
    pub saved: Option<PathBuf>,
}

impl Divergence {
    /// A multi-line human report.
    pub fn report(&self) -> String {
        report::divergence_text(self)
    }
}

/// A diverging program after minimization.
#[derive(Clone, Debug)]
pub struct Minimized {
    /// The program, with as few items as still diverge.
    pub program: Program,
    /// Its differences, the scratch buffer dumped too.
    pub diff: String,
    /// The registers the last instruction names, as QEMU has them just before it
    /// (`x5=0x...`), and fcsr.
    pub inputs: String,
}

/// Outcome of a run.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    /// Programs whose dumps were compared.
    pub programs: u64,
    /// Programs that diverged.
    pub divergent: u64,
    /// Details of the first `keep` divergences (in program order).
    pub divergences: Vec<Divergence>,
    /// Programs QEMU itself did not complete, and batch-level problems.
    pub errors: Vec<String>,
    /// Emulator runs made.
    pub runs: u64,
    /// Wall time.
    pub elapsed: Duration,
}

impl Summary {
    /// One paragraph: counts and time.
    pub fn text(&self) -> String {
        format!(
            "{} programs compared, {} divergent, {} errors, {} emulator runs, {:.1} s",
            self.programs,
            self.divergent,
            self.errors.len(),
            self.runs,
            self.elapsed.as_secs_f64()
        )
    }
}

/// What one worker reports for one batch.
#[derive(Default)]
struct BatchResult {
    programs: u64,
    divergent: u64,
    divergences: Vec<Divergence>,
    errors: Vec<String>,
    runs: u64,
}

/// Shared state of the workers.
pub(crate) struct Ctx<'a> {
    pub(crate) cfg: &'a RunConfig,
    pub(crate) tools: Toolchain,
    pub(crate) work: PathBuf,
    minimized: AtomicUsize,
    kept: AtomicUsize,
    divergent: AtomicU64,
}

/// Runs `cfg.programs` programs and compares QEMU with `cfg.test`.
pub fn run(cfg: &RunConfig) -> Result<Summary> {
    crate::toolchain::check_tools()?;
    if let Emulator::Tern(bin) = &cfg.test {
        anyhow::ensure!(bin.exists(), "tern binary {} does not exist", bin.display());
    }
    let start = Instant::now();
    static RUNS: AtomicU64 = AtomicU64::new(0);
    let work = std::env::temp_dir().join(format!(
        "tern-difftest-{}-{}",
        std::process::id(),
        RUNS.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
    let ctx = Ctx {
        cfg,
        tools: Toolchain::new(&work)?,
        work: work.clone(),
        minimized: AtomicUsize::new(0),
        kept: AtomicUsize::new(0),
        divergent: AtomicU64::new(0),
    };
    let batches = cfg.programs.div_ceil(cfg.batch.max(1) as u64);
    let next = AtomicU64::new(0);
    let (tx, rx) = mpsc::channel::<Result<BatchResult>>();
    let mut summary = Summary::default();
    std::thread::scope(|s| {
        for _ in 0..cfg.jobs.max(1) {
            let tx = tx.clone();
            let (ctx, next) = (&ctx, &next);
            s.spawn(move || loop {
                let b = next.fetch_add(1, Ordering::Relaxed);
                if b >= batches || ctx.divergent.load(Ordering::Relaxed) >= cfg.stop_after {
                    break;
                }
                let lo = cfg.first + b * cfg.batch as u64;
                let hi = (lo + cfg.batch as u64).min(cfg.first + cfg.programs);
                let programs: Vec<Program> =
                    (lo..hi).map(|i| generate(cfg.seed, i, &cfg.gen)).collect();
                if tx.send(run_batch(ctx, b, programs)).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        let mut last_print = Instant::now();
        for r in rx {
            match r {
                Ok(r) => {
                    summary.programs += r.programs;
                    summary.divergent += r.divergent;
                    summary.runs += r.runs;
                    summary.divergences.extend(r.divergences);
                    summary.errors.extend(r.errors);
                }
                Err(e) => summary.errors.push(format!("{e:#}")),
            }
            if cfg.progress
                && (last_print.elapsed() > Duration::from_secs(2)
                    || summary.programs == cfg.programs)
            {
                last_print = Instant::now();
                eprintln!(
                    "[{:>7}/{}] {} divergent, {} errors, {:.0} s",
                    summary.programs,
                    cfg.programs,
                    summary.divergent,
                    summary.errors.len(),
                    start.elapsed().as_secs_f64()
                );
            }
        }
    });
    summary.divergences.sort_by_key(|d| d.program.index);
    summary.elapsed = start.elapsed();
    let _ = std::fs::remove_dir_all(&work);
    Ok(summary)
}

/// Runs one ELF of `programs` on both emulators.
pub(crate) fn run_pair(
    ctx: &Ctx,
    programs: &[Program],
    opts: AsmOptions,
    stem: &Path,
) -> Result<(PathBuf, RunOutput, RunOutput)> {
    let asm = render_batch(programs, opts);
    let elf = ctx.tools.build(&asm, stem)?;
    let want = Emulator::Qemu.run(&elf, ctx.cfg.timeout)?;
    let got = ctx.cfg.test.run(&elf, ctx.cfg.timeout)?;
    Ok((elf, want, got))
}

/// How often a batch is run again after the emulator under test stopped in it.
const MAX_ROUNDS: usize = 5;

fn run_batch(ctx: &Ctx, b: u64, mut programs: Vec<Program>) -> Result<BatchResult> {
    let mut res = BatchResult::default();
    let opts = ctx.cfg.asm_options();
    let per = dump::VALUES;
    let mut round = 0;
    while !programs.is_empty() {
        if round == MAX_ROUNDS {
            res.errors.push(format!(
                "batch {b}: programs {}..={} not compared ({} stopped {MAX_ROUNDS} times)",
                programs[0].index,
                programs[programs.len() - 1].index,
                ctx.cfg.test.name()
            ));
            break;
        }
        let stem = ctx.work.join(format!("b{b}_{round}"));
        round += 1;
        let (elf, want, got) = run_pair(ctx, &programs, opts, &stem)?;
        res.runs += 2;
        let (pw, pg) = (
            dump::parse(&want.stdout, per),
            dump::parse(&got.stdout, per),
        );
        let mut restart = None;
        for (pos, p) in programs.iter().enumerate() {
            match dump::compare(&pw, &pg, pos, per) {
                None => {
                    res.errors.push(format!(
                        "generator error: program {} (seed {:#x}) did not complete on QEMU ({}); QEMU output ends with {:?}",
                        p.index,
                        p.seed,
                        want.ending(),
                        pw.tail.iter().rev().take(4).rev().collect::<Vec<_>>()
                    ));
                    restart = Some(pos + 1);
                }
                Some(Verdict::Same) => res.programs += 1,
                Some(Verdict::Differs(d)) => {
                    res.programs += 1;
                    res.divergent += 1;
                    ctx.divergent.fetch_add(1, Ordering::Relaxed);
                    res.divergences
                        .extend(divergence(ctx, p, false, d, &stem, (&want, &got)));
                }
                Some(Verdict::Missing(d)) => {
                    res.programs += 1;
                    res.divergent += 1;
                    ctx.divergent.fetch_add(1, Ordering::Relaxed);
                    let d = format!("{} ({}); {d}", ctx.cfg.test.name(), got.ending());
                    res.divergences
                        .extend(divergence(ctx, p, true, d, &stem, (&want, &got)));
                    restart = Some(pos + 1);
                }
            }
            if restart.is_some() {
                break;
            }
        }
        match restart {
            Some(pos) => {
                programs.drain(..pos);
            }
            None => {
                if want.status != Some(0) || pw.tail != ["DONE"] {
                    res.errors.push(format!(
                        "batch {b}: QEMU ended with {} and {:?}",
                        want.ending(),
                        pw.tail
                    ));
                } else if got.status != Some(0) || pg.tail != ["DONE"] {
                    res.errors.push(format!(
                        "batch {b}: all dumps agree but {} ended with {} and {:?}; stderr: {}",
                        ctx.cfg.test.name(),
                        got.ending(),
                        pg.tail,
                        got.stderr.trim()
                    ));
                }
                programs.clear();
            }
        }
        for ext in ["S", "elf"] {
            let _ = std::fs::remove_file(elf.with_extension(ext));
        }
    }
    Ok(res)
}

/// Records a divergence: keeps, minimizes and saves it while under the limits.
fn divergence(
    ctx: &Ctx,
    p: &Program,
    stopped: bool,
    description: String,
    stem: &Path,
    (want, got): (&RunOutput, &RunOutput),
) -> Option<Divergence> {
    if ctx.kept.fetch_add(1, Ordering::Relaxed) >= ctx.cfg.keep {
        return None;
    }
    let mut d = Divergence {
        program: p.clone(),
        stopped,
        description,
        minimized: None,
        saved: None,
    };
    if !got.stderr.trim().is_empty() {
        d.description.push_str(&format!(
            "  {} stderr: {}\n",
            ctx.cfg.test.name(),
            got.stderr.trim()
        ));
    }
    if ctx.minimized.fetch_add(1, Ordering::Relaxed) < ctx.cfg.minimize {
        d.minimized = minimize_one(ctx, p).ok().flatten();
    }
    if let Some(out) = &ctx.cfg.out {
        match report::save(ctx, out, &d, stem, want, got) {
            Ok(dir) => d.saved = Some(dir),
            Err(e) => d
                .description
                .push_str(&format!("  (saving failed: {e:#})\n")),
        }
    }
    Some(d)
}

/// Whether program `p` alone diverges; returns the difference (with memory dumped).
pub(crate) fn single_diff(
    ctx: &Ctx,
    p: &Program,
    dump_mem: bool,
    stem: &Path,
) -> Result<Option<String>> {
    let opts = AsmOptions {
        dump_mem,
        ..ctx.cfg.asm_options()
    };
    let per = dump::VALUES + if dump_mem { dump::MEM_DWORDS } else { 0 };
    let (_, want, got) = run_pair(ctx, std::slice::from_ref(p), opts, stem)?;
    let (pw, pg) = (
        dump::parse(&want.stdout, per),
        dump::parse(&got.stdout, per),
    );
    Ok(match dump::compare(&pw, &pg, 0, per) {
        Some(Verdict::Differs(d)) | Some(Verdict::Missing(d)) => Some(d),
        _ => None,
    })
}

fn minimize_one(ctx: &Ctx, p: &Program) -> Result<Option<Minimized>> {
    let stem = ctx.work.join(format!("min{}", p.index));
    if single_diff(ctx, p, false, &stem)?.is_none() {
        return Ok(None);
    }
    let m = crate::minimize::minimize(p, 400, &mut |c| {
        matches!(single_diff(ctx, c, false, &stem), Ok(Some(_)))
    });
    let diff = single_diff(ctx, &m, true, &stem)?.unwrap_or_default();
    let inputs = last_item_inputs(ctx, &m, &stem).unwrap_or_default();
    Ok(Some(Minimized {
        program: m,
        diff,
        inputs,
    }))
}

/// QEMU's values, just before the last instruction (or jump) of `m`, of the registers its last
/// instruction names.
fn last_item_inputs(ctx: &Ctx, m: &Program, stem: &Path) -> Result<String> {
    let Some(line) = report::last_insn(&m.body) else {
        return Ok(String::new());
    };
    let mut prefix = m.clone();
    match prefix.body.last_mut() {
        // Within a sequence: drop only its last instruction line.
        Some(Item::Seq(lines))
            if lines
                .iter()
                .filter(|l| !l.trim_start().starts_with('.'))
                .count()
                > 1 =>
        {
            if let Some(k) = lines.iter().rposition(|l| !l.trim_start().starts_with('.')) {
                lines.remove(k);
            }
        }
        _ => {
            prefix.body.pop();
        }
    }
    let elf = ctx.tools.build(
        &render_batch(std::slice::from_ref(&prefix), ctx.cfg.asm_options()),
        stem,
    )?;
    let out = Emulator::Qemu.run(&elf, ctx.cfg.timeout)?;
    let parsed = dump::parse(&out.stdout, dump::VALUES);
    let Some(seg) = parsed
        .segments
        .first()
        .filter(|s| s.values.len() == dump::VALUES)
    else {
        return Ok(String::new());
    };
    let mut s = String::new();
    let mut seen = Vec::new();
    let words = line.split(|c: char| !c.is_ascii_alphanumeric());
    for w in words {
        let k = match w {
            "sp" => Some(1),
            _ => match (w.strip_prefix('x'), w.strip_prefix('f')) {
                (Some(n), _) => n
                    .parse::<usize>()
                    .ok()
                    .filter(|&n| (1..32).contains(&n))
                    .map(|n| n - 1),
                (_, Some(n)) => n.parse::<usize>().ok().filter(|&n| n < 32).map(|n| n + 31),
                _ => None,
            },
        };
        if let Some(k) = k.filter(|k| !seen.contains(k)) {
            seen.push(k);
            s.push_str(&format!("{}={} ", dump::value_name(k), seg.values[k]));
        }
    }
    s.push_str(&format!("fcsr={}", seg.values[63]));
    Ok(s)
}
