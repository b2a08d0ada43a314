//! Renders programs as one GNU assembly file (a "batch"): each program's initial state,
//! its body, and a `DUMP` of its final state, one after the other; the runtime
//! (runtime.S) starts the batch at `programs_start` and ends it at `dt_done`.

use std::fmt::Write;

use crate::gen::{Item, Program, BUF_BYTES, MID_OFFSET};

/// How a batch is rendered.
#[derive(Clone, Copy, Debug, Default)]
pub struct AsmOptions {
    /// Let the trap handler resume after ecall/ebreak/illegal/misaligned traps
    /// (otherwise any trap is unexpected and ends the run with status 0x7f).
    pub allow_traps: bool,
    /// Print every program's scratch buffer after its checksum.
    pub dump_mem: bool,
}

/// Saves x1..x31, f0..f31 and fcsr to `dt_save` without reading any other state, then
/// prints them (see runtime.S).
const DUMP_MACRO: &str = "\
    .macro DUMP idx, buf, dump_mem
    csrw mscratch, x31
    la x31, dt_save
    .irp r, 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30
    sd x\\r, (\\r*8)(x31)
    .endr
    csrr x30, mscratch
    sd x30, 248(x31)
    .irp r, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    fsd f\\r, (256+\\r*8)(x31)
    .endr
    frcsr x30
    sd x30, 512(x31)
    li a0, \\idx
    la a1, \\buf
    li a2, BUF_BYTES
    li a3, \\dump_mem
    call dt_dump
    .endm
";

/// The assembly text of a batch.
pub fn render_batch(programs: &[Program], opts: AsmOptions) -> String {
    let mut s = String::new();
    s.push_str("/* tern-difftest batch (generated) */\n");
    s.push_str("    .option norelax\n    .option norvc\n");
    let _ = writeln!(s, "    .equ BUF_BYTES, {BUF_BYTES}");
    s.push_str(DUMP_MACRO);
    s.push_str("\n    .text\n    .globl programs_start\nprograms_start:\n");
    for p in programs {
        render_code(&mut s, p, opts);
    }
    s.push_str("    j dt_done\n\n    .data\n    .globl dt_allow_traps\n    .balign 8\n");
    let _ = writeln!(s, "dt_allow_traps: .dword {}", u8::from(opts.allow_traps));
    for p in programs {
        render_data(&mut s, p);
    }
    s
}

fn render_code(s: &mut String, p: &Program, opts: AsmOptions) {
    let i = p.index;
    let _ = writeln!(
        s,
        "\n/* ---- program {i} (seed {:#018x}, {} instructions) ---- */",
        p.seed,
        p.len()
    );
    let _ = writeln!(s, "p{i}:");
    s.push_str("    .option norvc\n");
    s.push_str("    csrwi fcsr, 0\n");
    let _ = writeln!(s, "    csrwi frm, {}", p.frm);
    let _ = writeln!(s, "    la x31, p{i}_f");
    for r in 0..32 {
        let _ = writeln!(s, "    fld f{r}, {}(x31)", r * 8);
    }
    let _ = writeln!(s, "    la x{}, p{i}_buf + {MID_OFFSET}", p.base_mid);
    let _ = writeln!(s, "    la x{}, p{i}_buf", p.base_low);
    for r in 1..32u8 {
        if !p.is_base(r) {
            let _ = writeln!(s, "    li x{r}, {:#x}", p.x[r as usize]);
        }
    }
    let _ = writeln!(s, "p{i}_body:");
    if p.rvc {
        s.push_str("    .option rvc\n");
    }
    let mut labels = 0;
    render_items(s, i, &p.body, &mut labels);
    s.push_str("    .option norvc\n");
    let _ = writeln!(s, "    DUMP {i}, p{i}_buf, {}", u8::from(opts.dump_mem));
}

/// Writes `items`, giving each jump target a unique label.
fn render_items(s: &mut String, prog: u64, items: &[Item], labels: &mut usize) {
    for item in items {
        match item {
            Item::Seq(lines) => {
                for l in lines {
                    let _ = writeln!(s, "    {l}");
                }
            }
            Item::Skip { head, body } => {
                let label = format!(".Lp{prog}_{}", *labels);
                *labels += 1;
                for l in head {
                    let _ = writeln!(s, "    {}", l.replace("{L}", &label));
                }
                render_items(s, prog, body, labels);
                let _ = writeln!(s, "{label}:");
            }
        }
    }
}

fn render_data(s: &mut String, p: &Program) {
    let i = p.index;
    let _ = writeln!(s, "    .balign 8\np{i}_f:");
    for v in &p.f {
        let _ = writeln!(s, "    .dword {v:#018x}");
    }
    // The buffer straddles a page boundary at its middle (where `base_mid` points),
    // so misaligned accesses near it cross pages.
    let _ = writeln!(
        s,
        "    .balign 4096\n    .skip {}\np{i}_buf:",
        4096 - MID_OFFSET
    );
    for chunk in p.mem.chunks(8) {
        let mut b = [0u8; 8];
        b[..chunk.len()].copy_from_slice(chunk);
        let _ = writeln!(s, "    .dword {:#018x}", u64::from_le_bytes(b));
    }
}

/// The body of `p` alone, as assembly lines (for reports).
pub fn render_body(p: &Program) -> String {
    let mut s = String::new();
    let mut labels = 0;
    render_items(&mut s, p.index, &p.body, &mut labels);
    s
}
