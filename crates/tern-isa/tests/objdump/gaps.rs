//! Where binutils 2.40 and the RISC-V specification (which tern follows) disagree
//! on whether a word is an instruction, and how each such word is still checked.

use tern_isa::{Inst, Op, XREG_NAMES};

/// One kind of disagreement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Gap {
    /// Zicond (`czero.eqz`/`czero.nez`) is new in binutils 2.41: checked against
    /// the Zicond 1.0 encoding and operand order directly.
    Zicond,
    /// `fence` with nonzero rd/rs1 or a reserved fm: the spec (section 2.7) says
    /// implementations ignore these fields and treat reserved fm as 0; binutils
    /// only decodes the canonical forms.
    FenceReservedFields,
    /// `fence.i` with nonzero imm/rs1/rd: ignored by the spec (chapter 6).
    FenceIReservedFields,
    /// `fcvt.d.s`, `fcvt.d.w`, `fcvt.d.wu` with rm != 0: valid encodings (the
    /// result is exact, but rm is still a rounding-mode field); binutils 2.40
    /// decodes only rm = 0 (later versions print the rounding mode).
    ExactConversionRm,
    /// `c.addi16sp sp,0`: binutils decodes it, the spec reserves nzimm = 0.
    CAddi16spZero,
    /// `c.unimp` (all-zero halfword): binutils names it, the spec defines it as
    /// illegal.
    CUnimp,
}

/// A word binutils 2.40 rejects but tern accepts, paired with a canonical twin
/// that binutils decodes: tern's text for the word must equal objdump's text for
/// the twin (plus the rounding mode for [`Gap::ExactConversionRm`]).
pub fn twin(word: u32, inst: &Inst) -> Option<(Gap, u32)> {
    match inst.op {
        Op::Fence => {
            // Keep pred/succ; keep fm only for the exact fence.tso pattern.
            let keep = if word >> 20 == 0x833 {
                0xfff0_0000
            } else {
                0x0ff0_0000
            };
            Some((Gap::FenceReservedFields, (word & keep) | 0x0f))
        }
        Op::FenceI => Some((Gap::FenceIReservedFields, 0x0000_100f)),
        Op::FcvtDS | Op::FcvtDW | Op::FcvtDWu if inst.rm != 0 => {
            Some((Gap::ExactConversionRm, word & !0x7000))
        }
        _ => None,
    }
}

/// What tern must print for the gap word, given objdump's text for its twin.
pub fn expected_text(gap: Gap, inst: &Inst, twin_text: &str) -> String {
    const RM: [&str; 8] = [
        "rne", "rtz", "rdn", "rup", "rmm", "unknown", "unknown", "dyn",
    ];
    match gap {
        Gap::ExactConversionRm => format!("{twin_text},{}", RM[usize::from(inst.rm & 7)]),
        _ => twin_text.to_string(),
    }
}

/// Whether the gap word decodes like its twin: every field but `raw` (and `rm`,
/// which the twin clears for the conversions; and a fence's reserved fm, which
/// stays in `imm`).
pub fn same_fields(gap: Gap, inst: &Inst, twin: &Inst) -> bool {
    let imm = if gap == Gap::FenceReservedFields {
        twin.imm
    } else {
        inst.imm
    };
    Inst {
        raw: 0,
        rm: 0,
        imm,
        ..*inst
    } == Inst {
        raw: 0,
        rm: 0,
        ..*twin
    }
}

/// The Zicond text for `word` built from the Zicond 1.0 encoding, or `None` if
/// `word` is not a Zicond instruction.
pub fn zicond_text(word: u32) -> Option<String> {
    let name = match word & 0xfe00_707f {
        0x0e00_5033 => "czero.eqz",
        0x0e00_7033 => "czero.nez",
        _ => return None,
    };
    let reg = |shift: u32| XREG_NAMES[((word >> shift) & 31) as usize];
    Some(format!("{name} {},{},{}", reg(7), reg(15), reg(20)))
}

/// Mnemonics of extensions tern does not implement. With the extension set
/// restricted by the ELF attribute objdump prints only these few that binutils
/// decodes in every configuration (N's `uret`, the debug spec's `dret`, the
/// privileged 1.9 `hret`/`sfence.vm`); the prefixes guard against a binutils
/// that implies more extensions. Such words are skipped and counted.
pub fn unsupported_extension(text: &str) -> bool {
    const MNEMONICS: &[&str] = &["uret", "dret", "hret", "sfence.vm"];
    const PREFIXES: &[&str] = &[
        "v",
        "flh",
        "fsh",
        "fcvt.h",
        "flq",
        "fsq",
        "fli.",
        "fminm",
        "fmaxm",
        "fround",
        "fleq",
        "fltq",
        "clmul",
        "pack",
        "brev8",
        "zip",
        "unzip",
        "xperm",
        "aes",
        "sha",
        "sm3",
        "sm4",
        "cbo.clean",
        "cbo.flush",
        "cbo.inval",
        "prefetch",
        "hfence",
        "hinval",
        "hlv",
        "hsv",
        "sinval",
        "sfence.w",
        "sfence.inval",
        "wrs",
        "amocas",
        "c.lbu",
        "c.lh",
        "c.sb",
        "c.sh",
        "c.zext",
        "c.sext",
        "c.mul",
        "c.not",
    ];
    let mnemonic = text.split(' ').next().unwrap_or(text);
    MNEMONICS.contains(&mnemonic) || PREFIXES.iter().any(|p| text.starts_with(p))
}
