//! Rewrites objdump's text for a compressed instruction (`c.addi a0,1`) as the
//! base instruction it expands to (`addi a0,a0,1`), following the expansion
//! column of the RVC tables in the unprivileged spec (chapter 16). The operands
//! come from objdump, so this is independent of tern's compressed decoder.

/// A base-instruction text in two spellings.
pub struct Expansion {
    /// With an absolute branch target, as tern prints it with `display_at`.
    pub absolute: String,
    /// With a target relative to the instruction (`.+0x10`), for the assembler.
    pub relative: String,
}

/// The expansion of objdump's compressed text `text` at `addr`, or `None` for
/// `c.unimp`.
pub fn expand(text: &str, addr: u64) -> Option<Expansion> {
    let (mnemonic, operands) = text.split_once(' ').unwrap_or((text, ""));
    let ops: Vec<&str> = if operands.is_empty() {
        Vec::new()
    } else {
        operands.split(',').collect()
    };
    let plain = |s: String| {
        Some(Expansion {
            absolute: s.clone(),
            relative: s,
        })
    };
    let with_target = |prefix: String, target: &str| {
        let target = u64::from_str_radix(target.trim_start_matches("0x"), 16)
            .unwrap_or_else(|_| panic!("bad target in {text:?}"));
        let offset = target.wrapping_sub(addr) as i64;
        let relative = if offset < 0 {
            format!("{prefix}.-{:#x}", offset.unsigned_abs())
        } else {
            format!("{prefix}.+{offset:#x}")
        };
        Some(Expansion {
            absolute: format!("{prefix}{target:#x}"),
            relative,
        })
    };
    let base = mnemonic
        .strip_prefix("c.")
        .unwrap_or_else(|| panic!("not compressed: {text:?}"));
    match (base, ops.as_slice()) {
        ("unimp", []) => None,
        ("nop", []) => plain("addi zero,zero,0".into()),
        ("ebreak", []) => plain("ebreak".into()),
        ("addi4spn", [rd, sp, imm]) => plain(format!("addi {rd},{sp},{imm}")),
        ("addi16sp", [sp, imm]) => plain(format!("addi {sp},{sp},{imm}")),
        ("addi" | "addiw" | "andi" | "slli" | "srli" | "srai", [rd, imm]) => {
            plain(format!("{base} {rd},{rd},{imm}"))
        }
        ("slli64" | "srli64" | "srai64", [rd]) => {
            plain(format!("{} {rd},{rd},0x0", base.trim_end_matches("64")))
        }
        ("li", [rd, imm]) => plain(format!("addi {rd},zero,{imm}")),
        ("lui", [rd, imm]) => plain(format!("lui {rd},{imm}")),
        ("sub" | "xor" | "or" | "and" | "subw" | "addw" | "add", [rd, rs2]) => {
            plain(format!("{base} {rd},{rd},{rs2}"))
        }
        ("mv", [rd, rs2]) => plain(format!("add {rd},zero,{rs2}")),
        ("jr", [rs1]) => plain(format!("jalr zero,0({rs1})")),
        ("jalr", [rs1]) => plain(format!("jalr ra,0({rs1})")),
        ("j", [target]) => with_target("jal zero,".into(), target),
        ("beqz", [rs1, target]) => with_target(format!("beq {rs1},zero,"), target),
        ("bnez", [rs1, target]) => with_target(format!("bne {rs1},zero,"), target),
        ("lw" | "ld" | "fld" | "sw" | "sd" | "fsd", [reg, mem]) => {
            plain(format!("{base} {reg},{mem}"))
        }
        ("lwsp" | "ldsp" | "fldsp" | "swsp" | "sdsp" | "fsdsp", [reg, mem]) => {
            plain(format!("{} {reg},{mem}", base.trim_end_matches("sp")))
        }
        _ => panic!("no expansion rule for objdump's {text:?}"),
    }
}
