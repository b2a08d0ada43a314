//! Differential test of the translator: random programs (tern-difftest) must leave the
//! same architectural state on `tern run --machine spike --engine jit` as on
//! `qemu-system-riscv64 -machine spike`. Every block is translated on first sight
//! (TERN_JIT_HOT=0), so the programs, which mostly run once, run translated.
//!
//! `TERN_DIFFTEST_PROGRAMS=<n>` changes how many run (default 10,000), and
//! `TERN_DIFFTEST_SEED=<n>` adds another seed's programs. Needs the Debian packages
//! `gcc-riscv64-unknown-elf` and `qemu-system-misc`; without them the test fails.

use std::path::PathBuf;
use std::time::Duration;

use tern_difftest::{check_tools, run, Emulator, RunConfig};

const FIXED_SEED: u64 = 0x7e57_1001;

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    Some(
        v.parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a number")),
    )
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn tern_jit_matches_qemu_on_random_programs() {
    if let Err(e) = check_tools() {
        panic!("difftest needs the RISC-V cross compiler and QEMU: {e:#}");
    }
    // The only test of this binary: the tern processes it starts inherit these.
    std::env::set_var("TERN_ENGINE", "jit");
    std::env::set_var("TERN_JIT_HOT", "0");
    let tern = PathBuf::from(env!("CARGO_BIN_EXE_tern"));
    let programs = env_u64("TERN_DIFFTEST_PROGRAMS").unwrap_or(10_000);
    let mut seeds = vec![FIXED_SEED];
    seeds.extend(env_u64("TERN_DIFFTEST_SEED"));
    let out = std::env::temp_dir().join(format!("tern-difftest-jit-{}", std::process::id()));
    for seed in seeds {
        let mut cfg = RunConfig::new(seed, programs, Emulator::Tern(tern.clone()));
        cfg.jobs = 2;
        cfg.timeout = Duration::from_secs(20);
        cfg.minimize = 1;
        cfg.keep = 3;
        cfg.stop_after = 10;
        cfg.out = Some(out.clone());
        let summary = run(&cfg).unwrap_or_else(|e| panic!("difftest run failed: {e:#}"));
        eprintln!("seed {seed:#x} (jit): {}", summary.text());
        let mut msg = String::new();
        for d in &summary.divergences {
            msg.push_str(&d.report());
            msg.push('\n');
        }
        for e in &summary.errors {
            msg.push_str(&format!("error: {e}\n"));
        }
        assert!(
            summary.divergent == 0 && summary.errors.is_empty(),
            "tern --engine jit diverges from QEMU (seed {seed:#x}; reproduce with \
             `TERN_ENGINE=jit TERN_JIT_HOT=0 cargo run --release -p tern-difftest -- --seed \
             {seed} --programs {programs} --tern target/release/tern --out /tmp/difftest`):\n{msg}{}",
            summary.text()
        );
    }
}
