//! Disassembly in GNU objdump style, for traces and debugging.
//!
//! The [`Display`](fmt::Display) of an [`Inst`] prints what
//! `riscv64-unknown-elf-objdump -M no-aliases` (binutils 2.40) prints for the same
//! bits, with these documented differences:
//!
//! - One space separates the mnemonic from the operands (objdump uses a tab).
//! - Branch and `jal` targets are relative to the instruction, in GNU assembler
//!   syntax: `beq a0,a1,.+0x10`, `jal ra,.-0x8`. [`Inst::display_at`] prints the
//!   absolute target instead (`beq a0,a1,0x80000010`), exactly like objdump.
//! - Compressed instructions print as the base instruction they expand to
//!   (`c.addi a0,1` prints `addi a0,a0,1`, `c.jr ra` prints `jalr zero,0(ra)`), so
//!   a trace shows one spelling per operation; [`Inst::len`] tells them apart.
//! - Encodings binutils 2.40 does not decode but tern accepts print as their
//!   operation: `fence` with nonzero rs1/rd or a reserved fm prints as a plain
//!   `fence pred,succ`; `fence.i` ignores its reserved fields; `fcvt.d.s`,
//!   `fcvt.d.w` and `fcvt.d.wu` with a rounding mode other than `rne` print it (like
//!   newer binutils); Zicond prints `czero.eqz rd,rs1,rs2`.
//!
//! Otherwise: ABI register names; decimal immediates and offsets; shift amounts
//! and `lui`/`auipc` immediates in hex; the rounding mode is appended when it is
//! not `dyn`; CSRs by name where binutils has one ([`CsrName`]); AMOs with their
//! `.aq`/`.rl`/`.aqrl` suffix; illegal instructions as `.4byte 0x...` or
//! `.2byte 0x...`, as objdump prints undecodable words.

mod csr;
mod form;
mod mnemonic;
mod names;

use std::fmt;

pub use csr::CsrName;
pub use names::{FREG_NAMES, XREG_NAMES};

use crate::{Inst, Op};
use form::{form, Form};
use names::{amo_suffix, fence_set, freg, rounding_mode, xreg};

/// An [`Inst`] ready to print, with or without the address it sits at.
///
/// Made by [`Inst::display_at`]; `inst.to_string()` is the same as a `Disasm`
/// without an address. A width in the format string (`{:<32}`) pads the text.
#[derive(Clone, Copy, Debug)]
pub struct Disasm {
    inst: Inst,
    pc: Option<u64>,
}

impl Inst {
    /// Displays the instruction as located at `pc`: branch and `jal` targets are
    /// printed as absolute addresses (`0x80000010`), exactly as objdump does.
    pub fn display_at(&self, pc: u64) -> Disasm {
        Disasm {
            inst: *self,
            pc: Some(pc),
        }
    }
}

impl fmt::Display for Inst {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Disasm {
            inst: *self,
            pc: None,
        }
        .fmt(f)
    }
}

impl fmt::Display for Disasm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.width().is_some() {
            // Padding needs the text's length; only then pay for a String.
            let text = format!("{}", Unpadded(self));
            return f.pad(&text);
        }
        Unpadded(self).fmt(f)
    }
}

/// The text without any padding.
struct Unpadded<'a>(&'a Disasm);

impl fmt::Display for Unpadded<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Disasm { inst: i, pc } = *self.0;
        let mn = i.op.mnemonic();
        // Optional trailing rounding mode for operations that have one.
        let rm = |f: &mut fmt::Formatter<'_>, omit: u8| -> fmt::Result {
            if i.rm == omit {
                Ok(())
            } else {
                write!(f, ",{}", rounding_mode(i.rm))
            }
        };
        match form(i.op) {
            Form::Bare if i.op == Op::Illegal => {
                if i.len == 2 {
                    write!(f, ".2byte {:#x}", i.raw & 0xffff)
                } else {
                    write!(f, ".4byte {:#x}", i.raw)
                }
            }
            Form::Bare => f.write_str(mn),
            // A reserved fm acts as fm = 0 (spec section 2.7), so only the exact
            // fence.tso pattern keeps its name; pred = W, succ = 0 is `pause`.
            Form::Fence => match (i.imm, i.imm & 0xff) {
                (0x833, _) => f.write_str("fence.tso"),
                (_, 0x10) => f.write_str("pause"),
                (_, sets) => write!(
                    f,
                    "fence {},{}",
                    fence_set((sets >> 4) as u32),
                    fence_set(sets as u32)
                ),
            },
            Form::Upper => write!(f, "{mn} {},{:#x}", xreg(i.rd), (i.imm as u32) >> 12),
            Form::Jal => {
                write!(f, "{mn} {},", xreg(i.rd))?;
                target(f, i.imm, pc)
            }
            Form::Branch => {
                write!(f, "{mn} {},{},", xreg(i.rs1), xreg(i.rs2))?;
                target(f, i.imm, pc)
            }
            Form::Jalr | Form::Load => {
                write!(f, "{mn} {},{}({})", xreg(i.rd), i.imm, xreg(i.rs1))
            }
            Form::FpLoad => write!(f, "{mn} {},{}({})", freg(i.rd), i.imm, xreg(i.rs1)),
            Form::Store => write!(f, "{mn} {},{}({})", xreg(i.rs2), i.imm, xreg(i.rs1)),
            Form::FpStore => write!(f, "{mn} {},{}({})", freg(i.rs2), i.imm, xreg(i.rs1)),
            Form::Imm => write!(f, "{mn} {},{},{}", xreg(i.rd), xreg(i.rs1), i.imm),
            Form::ShiftImm => write!(f, "{mn} {},{},{:#x}", xreg(i.rd), xreg(i.rs1), i.imm),
            Form::R => write!(f, "{mn} {},{},{}", xreg(i.rd), xreg(i.rs1), xreg(i.rs2)),
            Form::Unary => write!(f, "{mn} {},{}", xreg(i.rd), xreg(i.rs1)),
            Form::Csr => write!(
                f,
                "{mn} {},{},{}",
                xreg(i.rd),
                CsrName(i.imm as u16),
                xreg(i.rs1)
            ),
            Form::CsrImm => write!(f, "{mn} {},{},{}", xreg(i.rd), CsrName(i.imm as u16), i.rs1),
            Form::Amo => write!(
                f,
                "{mn}{} {},{},({})",
                amo_suffix(i.rm),
                xreg(i.rd),
                xreg(i.rs2),
                xreg(i.rs1)
            ),
            Form::Lr => write!(
                f,
                "{mn}{} {},({})",
                amo_suffix(i.rm),
                xreg(i.rd),
                xreg(i.rs1)
            ),
            Form::SfenceVma => write!(f, "{mn} {},{}", xreg(i.rs1), xreg(i.rs2)),
            Form::Cbo => write!(f, "{mn} ({})", xreg(i.rs1)),
            Form::FpR => {
                write!(f, "{mn} {},{},{}", freg(i.rd), freg(i.rs1), freg(i.rs2))?;
                rm(f, 7)
            }
            Form::FpRNoRm => write!(f, "{mn} {},{},{}", freg(i.rd), freg(i.rs1), freg(i.rs2)),
            Form::FpR4 => {
                write!(
                    f,
                    "{mn} {},{},{},{}",
                    freg(i.rd),
                    freg(i.rs1),
                    freg(i.rs2),
                    freg(i.rs3)
                )?;
                rm(f, 7)
            }
            Form::FpUnary => {
                write!(f, "{mn} {},{}", freg(i.rd), freg(i.rs1))?;
                rm(f, 7)
            }
            Form::FpWiden => {
                write!(f, "{mn} {},{}", freg(i.rd), freg(i.rs1))?;
                rm(f, 0)
            }
            Form::FpToInt => {
                write!(f, "{mn} {},{}", xreg(i.rd), freg(i.rs1))?;
                rm(f, 7)
            }
            Form::FpToIntNoRm => write!(f, "{mn} {},{}", xreg(i.rd), freg(i.rs1)),
            Form::FpCompare => write!(f, "{mn} {},{},{}", xreg(i.rd), freg(i.rs1), freg(i.rs2)),
            Form::IntToFp => {
                write!(f, "{mn} {},{}", freg(i.rd), xreg(i.rs1))?;
                rm(f, 7)
            }
            Form::IntToFpWiden => {
                write!(f, "{mn} {},{}", freg(i.rd), xreg(i.rs1))?;
                rm(f, 0)
            }
            Form::IntToFpNoRm => write!(f, "{mn} {},{}", freg(i.rd), xreg(i.rs1)),
        }
    }
}

/// A branch or jump target: absolute when the address is known, else relative
/// to the instruction (`.+0x10`, `.-0x8`).
fn target(f: &mut fmt::Formatter<'_>, offset: i32, pc: Option<u64>) -> fmt::Result {
    match pc {
        Some(pc) => write!(f, "{:#x}", pc.wrapping_add(offset as i64 as u64)),
        None if offset < 0 => write!(f, ".-{:#x}", offset.unsigned_abs()),
        None => write!(f, ".+{offset:#x}"),
    }
}

#[cfg(test)]
mod tests;
