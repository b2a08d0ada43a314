//! `tern-difftest`: run random programs on QEMU and tern and report divergences.

#![forbid(unsafe_code)]

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use clap::Parser;
use tern_difftest::{run, Emulator, RunConfig};

/// Differential testing of tern against qemu-system-riscv64 with random programs.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// Number of programs to run.
    #[arg(long, default_value_t = 1000)]
    programs: u64,
    /// Run seed; program i is generated from (seed, i), so runs are reproducible.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Index of the first program (with --programs 1: reproduce one program).
    #[arg(long, default_value_t = 0)]
    first: u64,
    /// The tern binary. Without it, QEMU is compared with itself (determinism check).
    #[arg(long)]
    tern: Option<PathBuf>,
    /// Directory for diverging programs (batch, program alone, minimized, report).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Parallel jobs (default: number of cores).
    #[arg(long)]
    jobs: Option<usize>,
    /// Programs per ELF.
    #[arg(long, default_value_t = 50)]
    batch: usize,
    /// Fewest random instructions per program.
    #[arg(long, default_value_t = 20)]
    min_len: usize,
    /// Most random instructions per program.
    #[arg(long, default_value_t = 200)]
    max_len: usize,
    /// Emit no trapping instructions (any trap is then an error).
    #[arg(long)]
    no_traps: bool,
    /// Time limit of one emulator run, in seconds.
    #[arg(long, default_value_t = 30)]
    timeout: u64,
    /// How many divergences to minimize.
    #[arg(long, default_value_t = 5)]
    minimize: usize,
    /// How many divergences to report in detail (and save).
    #[arg(long, default_value_t = 20)]
    keep: usize,
    /// Stop starting new batches after this many divergent programs.
    #[arg(long)]
    stop_after: Option<u64>,
    /// Print the assembly of the selected programs instead of running them.
    #[arg(long)]
    print: bool,
}

fn main() -> Result<()> {
    let a = Args::parse();
    let test = a.tern.clone().map_or(Emulator::Qemu, Emulator::Tern);
    let mut cfg = RunConfig::new(a.seed, a.programs, test);
    cfg.first = a.first;
    cfg.batch = a.batch.max(1);
    if let Some(j) = a.jobs {
        cfg.jobs = j.max(1);
    }
    cfg.gen.min_len = a.min_len;
    cfg.gen.max_len = a.max_len.max(a.min_len);
    cfg.gen.traps = !a.no_traps;
    cfg.timeout = Duration::from_secs(a.timeout);
    cfg.out = a.out.clone();
    cfg.minimize = a.minimize;
    cfg.keep = a.keep;
    cfg.progress = true;
    cfg.stop_after = a.stop_after.unwrap_or(u64::MAX);
    if a.print {
        let programs: Vec<_> = (a.first..a.first + a.programs)
            .map(|i| tern_difftest::gen::generate(a.seed, i, &cfg.gen))
            .collect();
        let opts = tern_difftest::asm::AsmOptions {
            allow_traps: cfg.gen.traps,
            dump_mem: false,
        };
        let text = tern_difftest::asm::render_batch(&programs, opts);
        // A closed pipe (`| head`) is not an error worth a panic.
        let _ = std::io::stdout().write_all(text.as_bytes());
        return Ok(());
    }
    if a.tern.is_none() {
        eprintln!("no --tern: comparing QEMU with itself (determinism check)");
    }
    let summary = run(&cfg)?;
    for d in &summary.divergences {
        println!("{}", d.report());
    }
    for e in summary.errors.iter().take(20) {
        println!("error: {e}");
    }
    println!("{}", summary.text());
    if summary.divergent > 0 || !summary.errors.is_empty() {
        std::process::exit(1);
    }
    Ok(())
}
