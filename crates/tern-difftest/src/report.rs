//! Divergence reports: the text shown to the user and the files saved for each
//! diverging program.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::asm::{render_body, AsmOptions};
use crate::emulator::RunOutput;
use crate::gen::Item;
use crate::runner::{run_pair, Ctx, Divergence};

/// The last instruction line of a body (the likely culprit of a minimized program).
pub(crate) fn last_insn(items: &[Item]) -> Option<String> {
    for item in items.iter().rev() {
        match item {
            Item::Seq(lines) => {
                if let Some(l) = lines
                    .iter()
                    .rev()
                    .find(|l| !l.trim_start().starts_with('.'))
                {
                    return Some(l.clone());
                }
            }
            Item::Skip { head, body } => {
                if let Some(l) = last_insn(body) {
                    return Some(l);
                }
                if let Some(l) = head.iter().rev().find(|l| !l.trim_start().starts_with('.')) {
                    return Some(l.clone());
                }
            }
        }
    }
    None
}

/// A multi-line report of one divergence.
pub fn divergence_text(d: &Divergence) -> String {
    let p = &d.program;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "program {} (seed {:#018x}, {} instructions): {}",
        p.index,
        p.seed,
        p.len(),
        if d.stopped {
            "tern stopped"
        } else {
            "final state differs"
        }
    );
    s.push_str(&d.description);
    match &d.minimized {
        Some(min) => {
            let m = &min.program;
            let _ = writeln!(s, "minimized to {} instruction(s):", m.len());
            for l in render_body(m).lines() {
                let _ = writeln!(s, "  | {}", l.trim());
            }
            if let Some(l) = last_insn(&m.body) {
                let _ = writeln!(s, "last instruction (likely culprit): {l}");
                let _ = writeln!(s, "its registers just before it (QEMU): {}", min.inputs);
            }
            let _ = writeln!(s, "differences of the minimized program:");
            s.push_str(&min.diff);
            let _ = writeln!(s, "initial state: frm={}", m.frm);
            for r in 1..32 {
                if !m.is_base(r) {
                    let _ = write!(s, "  x{r}={:#x}", m.x[r as usize]);
                }
                if r % 4 == 0 {
                    s.push('\n');
                }
            }
            s.push('\n');
            for r in 0..32 {
                let _ = write!(s, "  f{r}={:#018x}", m.f[r]);
                if r % 4 == 3 {
                    s.push('\n');
                }
            }
        }
        None => {
            let _ = writeln!(s, "(not minimized)");
        }
    }
    if let Some(dir) = &d.saved {
        let _ = writeln!(s, "files: {}", dir.display());
    }
    s
}

fn write_outputs(dir: &Path, name: &str, want: &RunOutput, got: &RunOutput) -> Result<()> {
    std::fs::write(dir.join(format!("{name}.qemu.out")), &want.stdout)?;
    std::fs::write(dir.join(format!("{name}.tern.out")), &got.stdout)?;
    if !got.stderr.is_empty() {
        std::fs::write(dir.join(format!("{name}.tern.err")), &got.stderr)?;
    }
    Ok(())
}

/// Saves a divergence under `out/program-<index>/`: the batch it was found in
/// (`batch.S`, `batch.elf`, both outputs), the program alone (`program.*`), the
/// minimized program if any (`min.*`, memory dumped) and `report.txt`.
pub(crate) fn save(
    ctx: &Ctx,
    out: &Path,
    d: &Divergence,
    stem: &Path,
    want: &RunOutput,
    got: &RunOutput,
) -> Result<PathBuf> {
    let dir = out.join(format!("program-{}", d.program.index));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    for ext in ["S", "elf"] {
        let _ = std::fs::copy(stem.with_extension(ext), dir.join(format!("batch.{ext}")));
    }
    write_outputs(&dir, "batch", want, got)?;
    let opts = AsmOptions {
        allow_traps: ctx.cfg.gen.traps,
        dump_mem: false,
    };
    let (_, w, g) = run_pair(
        ctx,
        std::slice::from_ref(&d.program),
        opts,
        &dir.join("program"),
    )?;
    write_outputs(&dir, "program", &w, &g)?;
    if let Some(m) = d.minimized.as_ref().map(|m| &m.program) {
        let opts = AsmOptions {
            dump_mem: true,
            ..opts
        };
        let (_, w, g) = run_pair(ctx, std::slice::from_ref(m), opts, &dir.join("min"))?;
        write_outputs(&dir, "min", &w, &g)?;
    }
    let mut d = d.clone();
    d.saved = Some(dir.clone());
    std::fs::write(dir.join("report.txt"), divergence_text(&d))?;
    Ok(dir)
}
