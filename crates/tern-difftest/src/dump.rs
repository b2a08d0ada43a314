//! Parsing the console output of a batch (format in runtime.S) into per-program dumps
//! and comparing two of them.

use std::fmt::Write;

/// Values printed per program before the optional buffer: x1..x31, f0..f31, fcsr and
/// the buffer checksum.
pub const VALUES: usize = 31 + 32 + 1 + 1;
/// Buffer dwords printed per program when the batch dumps memory.
pub const MEM_DWORDS: usize = crate::gen::BUF_BYTES / 8;

const ABI: [&str; 32] = [
    "zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0", "a1", "a2", "a3", "a4",
    "a5", "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4",
    "t5", "t6",
];

/// What one program printed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    /// The index in its `P` line.
    pub index: u64,
    /// Lines printed while the program ran (traps), before its dump.
    pub events: Vec<String>,
    /// The dump values, as printed (fewer than expected if the output was cut).
    pub values: Vec<String>,
}

/// A batch's console output split by program.
#[derive(Clone, Debug, Default)]
pub struct Parsed {
    /// Complete or cut-off program dumps, in order.
    pub segments: Vec<Segment>,
    /// Lines after the last dump (`DONE`, or what ended the run).
    pub tail: Vec<String>,
}

/// Splits `out` into program dumps of `per_program` value lines each.
pub fn parse(out: &str, per_program: usize) -> Parsed {
    let mut parsed = Parsed::default();
    let mut lines = out.lines().map(|l| l.trim_end_matches('\r'));
    let mut pending = Vec::new();
    while let Some(line) = lines.next() {
        let index = line
            .strip_prefix('P')
            .filter(|h| h.len() == 16)
            .and_then(|h| u64::from_str_radix(h, 16).ok());
        match index {
            Some(index) => {
                let values: Vec<String> = lines
                    .by_ref()
                    .take(per_program)
                    .map(str::to_string)
                    .collect();
                parsed.segments.push(Segment {
                    index,
                    events: std::mem::take(&mut pending),
                    values,
                });
            }
            None => pending.push(line.to_string()),
        }
    }
    parsed.tail = pending;
    parsed
}

/// Name of dump value `k` (`x10/a0`, `f3`, `fcsr`, `mem checksum`, `mem[0x18]`).
pub fn value_name(k: usize) -> String {
    match k {
        0..=30 => format!("x{}/{}", k + 1, ABI[k + 1]),
        31..=62 => format!("f{}", k - 31),
        63 => "fcsr".to_string(),
        64 => "mem checksum".to_string(),
        _ => format!("mem[{:#x}]", (k - VALUES) * 8),
    }
}

/// How one program's output on the emulator under test compares with the reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Identical.
    Same,
    /// Both printed a complete dump, and they differ (description attached).
    Differs(String),
    /// The emulator under test printed no complete dump for the program (it stopped,
    /// crashed or timed out); description attached.
    Missing(String),
}

/// Compares the dump of program number `pos` (its position in the batch) of the
/// reference output `want` and the tested output `got`. Returns `None` if the
/// reference itself has no complete dump for it.
pub fn compare(want: &Parsed, got: &Parsed, pos: usize, per_program: usize) -> Option<Verdict> {
    let w = want
        .segments
        .get(pos)
        .filter(|s| s.values.len() == per_program)?;
    let Some(g) = got
        .segments
        .get(pos)
        .filter(|s| s.values.len() == per_program)
    else {
        let mut d = String::from("no complete dump; output ends with:\n");
        let last: Vec<&String> = match got.segments.get(pos) {
            Some(s) => s.events.iter().chain(s.values.iter()).collect(),
            None => got.tail.iter().collect(),
        };
        for l in last.iter().rev().take(8).rev() {
            let _ = writeln!(d, "    {l}");
        }
        return Some(Verdict::Missing(d));
    };
    if w == g {
        return Some(Verdict::Same);
    }
    let mut d = String::new();
    if w.index != g.index {
        let _ = writeln!(d, "  program index: qemu {} tern {}", w.index, g.index);
    }
    if w.events != g.events {
        let _ = writeln!(d, "  events (traps) differ:");
        let _ = writeln!(d, "    qemu: {:?}", w.events);
        let _ = writeln!(d, "    tern: {:?}", g.events);
    }
    for (k, (a, b)) in w.values.iter().zip(&g.values).enumerate() {
        if a != b {
            let _ = writeln!(d, "  {:<14} qemu {a}  tern {b}", value_name(k));
        }
    }
    Some(Verdict::Differs(d))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dump(index: u64, events: &[&str], x5: u64) -> String {
        let mut s = String::new();
        for e in events {
            s.push_str(e);
            s.push('\n');
        }
        s.push_str(&format!("P{index:016x}\n"));
        for k in 0..VALUES {
            let v = if k == 4 { x5 } else { k as u64 };
            s.push_str(&format!("{v:016x}\n"));
        }
        s
    }

    #[test]
    fn names_the_differing_register_and_events() {
        let want = parse(
            &(dump(7, &[], 1) + &dump(8, &["T 2 3 4"], 0) + "DONE\n"),
            VALUES,
        );
        let got = parse(
            &(dump(7, &[], 2) + &dump(8, &["T 2 3 5"], 0) + "DONE\n"),
            VALUES,
        );
        assert_eq!(want.tail, ["DONE"]);
        let Some(Verdict::Differs(d)) = compare(&want, &got, 0, VALUES) else {
            panic!()
        };
        assert!(d.contains("x5/t0") && d.contains("0000000000000001"), "{d}");
        let Some(Verdict::Differs(d)) = compare(&want, &got, 1, VALUES) else {
            panic!()
        };
        assert!(d.contains("T 2 3 5"), "{d}");
    }

    #[test]
    fn a_cut_off_dump_is_missing() {
        let full = dump(0, &[], 0) + &dump(1, &[], 0) + "DONE\n";
        let want = parse(&full, VALUES);
        let cut = parse(&full[..full.len() / 2 + 40], VALUES);
        assert_eq!(compare(&want, &cut, 0, VALUES), Some(Verdict::Same));
        assert!(matches!(
            compare(&want, &cut, 1, VALUES),
            Some(Verdict::Missing(_))
        ));
        assert_eq!(compare(&cut, &want, 1, VALUES), None);
    }
}
