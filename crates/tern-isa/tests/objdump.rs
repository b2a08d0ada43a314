//! Differential test of the decoder and disassembler against GNU binutils.
//!
//! Instruction words are disassembled by `riscv64-unknown-elf-objdump -d -z -M
//! no-aliases` with exactly tern's extensions enabled (an ELF attribute, see
//! `objdump/binutils.rs`) and by tern-isa. The checks:
//!
//! 1. Legality agrees, except for the documented cases where binutils 2.40 and
//!    the RISC-V specification differ (`objdump/gaps.rs`), each still checked
//!    against objdump's text for a canonical twin or against the encoding rule.
//!    Words objdump decodes as an extension tern lacks are skipped and counted.
//! 2. For 32-bit words, tern's text (`display_at(address)`) equals objdump's, with
//!    objdump's tab turned into a space and its `# 0x...` comments dropped.
//! 3. For 16-bit words, objdump's `c.*` text is rewritten as its base expansion
//!    (`objdump/expand.rs`), which must equal tern's text; the expansion is then
//!    assembled by GNU as into a 32-bit word, and tern's decode of that word must
//!    equal its decode of the compressed one in every field but `len` and `raw`.
//!
//! Word sets: random words biased towards valid encodings (fixed seed,
//! `TERN_ISA_OBJDUMP_SEED` overrides it, `TERN_ISA_OBJDUMP_WORDS` sets the count),
//! a sweep over every major opcode × funct3 × funct7 with several rs2 values, all
//! 4096 CSR numbers, and every one of the 49152 compressed parcels. Missing
//! binutils fail the test with the package to install.

#[path = "objdump/binutils.rs"]
mod binutils;
#[path = "objdump/expand.rs"]
mod expand;
#[path = "objdump/gaps.rs"]
mod gaps;
#[path = "objdump/gen.rs"]
mod gen;

use std::collections::{BTreeMap, BTreeSet};

use gaps::Gap;
use tern_isa::{decode, Inst, Op};

/// Default number of random 32-bit words.
const DEFAULT_WORDS: u64 = 200_000;
/// Default seed.
const DEFAULT_SEED: u64 = 0x7e45_15a0_0bd0_0001;
/// At most this many disagreements are listed in a failure message.
const MAX_REPORTED: usize = 40;

fn env_number(name: &str, default: u64) -> u64 {
    let Ok(v) = std::env::var(name) else {
        return default;
    };
    let v = v.trim();
    let parsed = match v.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => v.parse(),
    };
    parsed.unwrap_or_else(|_| panic!("{name}={v:?} is not a number"))
}

/// What one comparison run found.
#[derive(Default)]
struct Outcome {
    words: usize,
    /// Valid in both, identical text.
    legal: usize,
    /// Illegal in both, identical `.4byte`/`.2byte` text.
    illegal: usize,
    /// objdump mnemonics of unsupported extensions, with counts.
    skipped: BTreeMap<String, usize>,
    gaps: BTreeMap<Gap, usize>,
    seen: BTreeSet<Op>,
    failures: Vec<String>,
}

impl Outcome {
    /// Prints the counts and fails with the first disagreements, if any.
    fn finish(self, what: &str) -> Outcome {
        eprintln!(
            "{what}: {} words: {} valid with identical text, {} illegal in both, \
             {} distinct operations; skipped {:?}; spec/binutils gaps {:?}",
            self.words,
            self.legal,
            self.illegal,
            self.seen.len(),
            self.skipped,
            self.gaps
        );
        if !self.failures.is_empty() {
            let shown: Vec<&str> = self
                .failures
                .iter()
                .take(MAX_REPORTED)
                .map(String::as_str)
                .collect();
            panic!(
                "{what}: {} disagreements with objdump out of {} words; first {}:\n{}",
                self.failures.len(),
                self.words,
                shown.len(),
                shown.join("\n")
            );
        }
        self
    }
}

/// Compares tern and objdump on 32-bit `words` (each with a length of exactly 32
/// bits), placed at consecutive addresses from 0.
fn compare_32(name: &str, words: &[u32]) -> Outcome {
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    let dir = binutils::scratch(name);
    let lines = binutils::disassemble(&dir, &bytes);
    assert_eq!(
        lines.len(),
        words.len(),
        "objdump printed one line per word"
    );

    let mut out = Outcome {
        words: words.len(),
        ..Outcome::default()
    };
    let mut gap_words: Vec<(Gap, u32, u32)> = Vec::new();
    for (i, (line, &word)) in lines.iter().zip(words).enumerate() {
        let addr = 4 * i as u64;
        assert_eq!(line.addr, addr, "objdump line {i} is at {:#x}", line.addr);
        let inst = decode(word);
        assert_eq!((inst.len, inst.raw), (4, word));
        let ours = inst.display_at(addr).to_string();
        let theirs_legal = !line.text.starts_with(".4byte");
        let ours_legal = inst.op != Op::Illegal;
        if theirs_legal == ours_legal {
            if ours != line.text {
                out.failures.push(format!(
                    "{word:08x}: objdump `{}`, tern `{ours}`",
                    line.text
                ));
            } else if ours_legal {
                out.legal += 1;
                out.seen.insert(inst.op);
            } else {
                out.illegal += 1;
            }
        } else if theirs_legal {
            if gaps::unsupported_extension(&line.text) {
                let mnemonic = line.text.split(' ').next().unwrap_or_default();
                *out.skipped.entry(mnemonic.to_string()).or_default() += 1;
            } else {
                out.failures
                    .push(format!("{word:08x}: objdump `{}`, tern illegal", line.text));
            }
        } else if matches!(inst.op, Op::CzeroEqz | Op::CzeroNez) {
            match gaps::zicond_text(word) {
                Some(expected) if expected == ours => {
                    *out.gaps.entry(Gap::Zicond).or_default() += 1;
                    out.seen.insert(inst.op);
                }
                expected => out
                    .failures
                    .push(format!("{word:08x}: Zicond {expected:?}, tern `{ours}`")),
            }
        } else if let Some((gap, twin)) = gaps::twin(word, &inst) {
            gap_words.push((gap, word, twin));
        } else {
            out.failures
                .push(format!("{word:08x}: objdump illegal, tern `{ours}`"));
        }
    }

    if gap_words.is_empty() {
        binutils::remove_scratch(&dir);
        return out;
    }
    let twin_bytes: Vec<u8> = gap_words.iter().flat_map(|g| g.2.to_le_bytes()).collect();
    let twin_lines = binutils::disassemble(&dir, &twin_bytes);
    assert_eq!(twin_lines.len(), gap_words.len());
    for (&(gap, word, twin), line) in gap_words.iter().zip(&twin_lines) {
        let inst = decode(word);
        let expected = gaps::expected_text(gap, &inst, &line.text);
        let ours = inst.to_string();
        if line.text.starts_with(".4byte")
            || ours != expected
            || !gaps::same_fields(gap, &inst, &decode(twin))
        {
            out.failures.push(format!(
                "{word:08x} ({gap:?}, twin {twin:08x} is `{}`): expected `{expected}`, tern `{ours}` {inst:?}",
                line.text
            ));
        } else {
            *out.gaps.entry(gap).or_default() += 1;
            out.seen.insert(inst.op);
        }
    }
    binutils::remove_scratch(&dir);
    out
}

#[test]
#[ignore = "full tier (scripts/test): needs riscv64-unknown-elf-objdump"]
fn random_words_agree_with_objdump() {
    let count = env_number("TERN_ISA_OBJDUMP_WORDS", DEFAULT_WORDS) as usize;
    let seed = env_number("TERN_ISA_OBJDUMP_SEED", DEFAULT_SEED);
    let mut rng = gen::Rng::new(seed);
    let words: Vec<u32> = (0..count).map(|_| gen::word32(&mut rng)).collect();
    let out = compare_32("random", &words).finish(&format!("random 32-bit (seed {seed:#x})"));
    // The generator must keep most words valid and reach every operation.
    assert!(
        out.legal * 2 > count,
        "only {} of {count} words were valid",
        out.legal
    );
    if count as u64 >= DEFAULT_WORDS {
        // `Op` is `repr(u16)` from `Illegal = 0` to `CboZero`, its last variant
        // (update this if operations are added after it).
        let all = Op::CboZero as usize;
        assert_eq!(
            out.seen.len(),
            all,
            "not every operation was generated: {:?}",
            out.seen
        );
    }
}

#[test]
#[ignore = "full tier (scripts/test): needs riscv64-unknown-elf-objdump"]
fn selector_sweep_agrees_with_objdump() {
    // Every 32-bit major opcode × funct3 × funct7, with rs2 (which selects
    // conversions, unary Zbb operations, LR and the privileged instructions) 0–5
    // and one random value; rd and rs1 random.
    let mut rng = gen::Rng::new(0x5eed);
    let mut words = Vec::new();
    for major in (0..32u32).filter(|m| m & 0b111 != 0b111) {
        for funct3 in 0..8 {
            for funct7 in 0..128 {
                for rs2 in [0, 1, 2, 3, 4, 5, rng.below(32)] {
                    let random = rng.u32() & 0x000f_8f80; // rs1 and rd
                    words
                        .push(funct7 << 25 | rs2 << 20 | funct3 << 12 | major << 2 | 0b11 | random);
                }
            }
        }
    }
    // Every CSR number, by name or number: `csrrs a0, csr, zero`.
    words.extend((0..4096).map(|csr| csr << 20 | 0x2573));
    // The exact privileged encodings with rd = x0 and rs1 = x0.
    words.extend([
        0x0000_0073,
        0x0010_0073,
        0x1020_0073,
        0x3020_0073,
        0x1050_0073,
    ]);
    compare_32("sweep", &words).finish("32-bit selector sweep");
}

#[test]
#[ignore = "full tier (scripts/test): needs riscv64-unknown-elf-objdump"]
fn every_compressed_parcel_agrees_with_objdump() {
    let halves: Vec<u16> = (0..=u16::MAX).filter(|h| h & 0b11 != 0b11).collect();
    let bytes: Vec<u8> = halves.iter().flat_map(|h| h.to_le_bytes()).collect();
    let dir = binutils::scratch("16");
    let lines = binutils::disassemble(&dir, &bytes);
    assert_eq!(
        lines.len(),
        halves.len(),
        "objdump printed one line per parcel"
    );

    let mut out = Outcome {
        words: halves.len(),
        ..Outcome::default()
    };
    let mut expanded: Vec<(u16, String)> = Vec::new();
    for (i, (line, &half)) in lines.iter().zip(&halves).enumerate() {
        let addr = 2 * i as u64;
        assert_eq!(line.addr, addr, "objdump line {i} is at {:#x}", line.addr);
        let inst = decode(u32::from(half));
        assert_eq!((inst.len, inst.raw), (2, u32::from(half)));
        let ours = inst.display_at(addr).to_string();
        let theirs_legal = !line.text.starts_with(".2byte");
        let mut gap = |g: Gap| *out.gaps.entry(g).or_default() += 1;
        match (theirs_legal, inst.op != Op::Illegal) {
            (true, true) => match expand::expand(&line.text, addr) {
                Some(e) if e.absolute == ours => expanded.push((half, e.relative)),
                Some(e) => out.failures.push(format!(
                    "{half:04x}: objdump `{}` expands to `{}`, tern `{ours}`",
                    line.text, e.absolute
                )),
                None => out.failures.push(format!(
                    "{half:04x}: objdump `{}`, tern `{ours}`",
                    line.text
                )),
            },
            (false, false) if ours == line.text => out.illegal += 1,
            (true, false) if half == 0 && line.text == "c.unimp" => gap(Gap::CUnimp),
            (true, false) if line.text == "c.addi16sp sp,0" => gap(Gap::CAddi16spZero),
            (true, false) if gaps::unsupported_extension(&line.text) => {
                let mnemonic = line.text.split(' ').next().unwrap_or_default();
                *out.skipped.entry(mnemonic.to_string()).or_default() += 1;
            }
            (true, false) => out
                .failures
                .push(format!("{half:04x}: objdump `{}`, tern illegal", line.text)),
            (_, _) => out.failures.push(format!(
                "{half:04x}: objdump `{}`, tern `{ours}`",
                line.text
            )),
        }
    }

    // Assemble the expansions and compare the decoded fields.
    let texts: Vec<String> = expanded.iter().map(|(_, t)| t.clone()).collect();
    let words = binutils::assemble(&dir, &texts);
    let strip = |i: Inst| Inst {
        raw: 0,
        len: 0,
        ..i
    };
    for ((half, text), &word) in expanded.iter().zip(&words) {
        let (short, long) = (decode(u32::from(*half)), decode(word));
        if long.op == Op::Illegal || strip(short) != strip(long) {
            out.failures.push(format!(
                "{half:04x}: `{text}` assembles to {word:08x}: {short:?} vs {long:?}"
            ));
        } else {
            out.legal += 1;
            out.seen.insert(short.op);
        }
    }
    binutils::remove_scratch(&dir);
    let out = out.finish("every 16-bit parcel");
    assert!(
        out.legal > 40_000,
        "only {} valid compressed parcels",
        out.legal
    );
}
