//! `--engine`: which engine runs guest code (`tern run`, `tern exec`).

use clap::{Args, ValueEnum};
use tern_hart::Engine;

/// An engine choice on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum EngineKind {
    /// The threaded interpreter (every host).
    Interp,
    /// Translate hot blocks to host code (x86-64 hosts; the interpreter elsewhere).
    Jit,
}

/// The `--engine` option.
#[derive(Args, Debug, Clone, Default)]
pub struct EngineArgs {
    /// Engine: interp, or jit (translate hot blocks to x86-64 code). Default: the
    /// TERN_ENGINE environment variable, else interp. TERN_JIT_HOT sets how many
    /// runs make a block hot (default 1000).
    #[arg(long, value_enum)]
    engine: Option<EngineKind>,
}

impl EngineArgs {
    /// Makes the chosen engine the default of every hart built from now on (a process
    /// VM's `execve` passes it on to the new tern process).
    pub fn apply(&self) -> anyhow::Result<()> {
        let kind = match self.engine {
            Some(k) => k,
            None => match std::env::var("TERN_ENGINE").ok().as_deref() {
                None | Some("") | Some("interp") => EngineKind::Interp,
                Some("jit") => EngineKind::Jit,
                Some(other) => anyhow::bail!("TERN_ENGINE={other}: expected interp or jit"),
            },
        };
        // TERN_JIT_HOT: runs of a block before it is translated (tests use 0).
        if let Ok(v) = std::env::var("TERN_JIT_HOT") {
            match v.parse() {
                Ok(n) => tern_hart::set_default_jit_hot(n),
                Err(_) => anyhow::bail!("TERN_JIT_HOT={v}: expected a number"),
            }
        }
        tern_hart::set_default_engine(match kind {
            EngineKind::Interp => Engine::Interp,
            EngineKind::Jit => Engine::Jit,
        });
        Ok(())
    }
}

/// The translator's `--stats` line, if it translated anything.
pub fn jit_stats_line() -> Option<String> {
    let t = tern_hart::jit_totals();
    (t.translations > 0).then(|| {
        format!(
            "tern: jit: {} blocks translated ({} instructions), {} KiB of host code, {:.1} ms translating ({:.1} us per block), {} code-buffer flushes",
            t.translations,
            t.translated_insts,
            t.code_bytes / 1024,
            t.translate_ns as f64 / 1e6,
            t.translate_ns as f64 / 1e3 / t.translations as f64,
            t.buffer_flushes
        )
    })
}
