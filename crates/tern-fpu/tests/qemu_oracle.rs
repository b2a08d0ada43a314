//! Differential test against QEMU's softfloat: runs the real RISC-V F/D instructions
//! under `qemu-riscv64` (the C program `tests/oracle/fpu_oracle.c`, cross-compiled with
//! `riscv64-linux-gnu-gcc`) on biased random operands in every rounding mode, and
//! checks that tern-fpu gives the same destination register and the same fflags, both
//! through the crate-root API (with its host fast paths) and through `exact`.
//!
//! tern is compared with QEMU when it runs guests, so QEMU is the reference here too,
//! including where the RISC-V specification leaves a choice.
//!
//! Environment: `TERN_FPU_ORACLE_COUNT` (random vectors, default 300000) and
//! `TERN_FPU_ORACLE_SEED` (default fixed). Missing tools fail the test with the Debian
//! package to install; this test never skips.

mod common;

use common::gen::{self, Rng};
use common::ops::{self, Op, Path, Shape, OPS};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path as FsPath, PathBuf};
use std::process::{Command, Stdio};

const CC: &str = "riscv64-linux-gnu-gcc";
const QEMU: &str = "qemu-riscv64";

/// Fails (never skips) when a tool is missing, naming the package that provides it.
fn require(tool: &str, package: &str) {
    let found = Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(
        found,
        "`{tool}` is not installed; the QEMU oracle test needs it: apt-get install {package}"
    );
}

/// Cross-compiles the oracle into the cargo target's tmp dir.
fn build_oracle() -> PathBuf {
    let src = FsPath::new(env!("CARGO_MANIFEST_DIR")).join("tests/oracle/fpu_oracle.c");
    let out = FsPath::new(env!("CARGO_TARGET_TMPDIR")).join("fpu_oracle");
    let output = Command::new(CC)
        .args(["-static", "-O2", "-Wall", "-o"])
        .arg(&out)
        .arg(&src)
        .output()
        .expect("run the cross compiler");
    assert!(
        output.status.success(),
        "compiling {} failed:\n{}",
        src.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    out
}

/// One test vector.
struct Vector {
    op: &'static Op,
    rm: u8,
    a: u64,
    b: u64,
    c: u64,
}

/// Every pair of special values for each two-operand instruction and every special
/// value for each one-operand instruction, in every rounding mode; then `count`
/// random vectors.
fn vectors(count: usize, seed: u64) -> Vec<Vector> {
    let mut v = Vec::new();
    for op in OPS {
        let rms: &[u8] = if ops::has_rm(op) {
            &[0, 1, 2, 3, 4]
        } else {
            &[0]
        };
        let f = op.fmt;
        let specials: Vec<u64> = gen::specials(f)
            .into_iter()
            .flat_map(|x| [x, x | f.sign()])
            .collect();
        match op.shape {
            Shape::Binary | Shape::MinMax | Shape::Compare => {
                for &rm in rms {
                    for &a in &specials {
                        for &b in &specials {
                            v.push(Vector { op, rm, a, b, c: 0 });
                        }
                    }
                }
            }
            Shape::Sqrt | Shape::Class | Shape::ToInt | Shape::Convert => {
                for &rm in rms {
                    for &a in &specials {
                        v.push(Vector {
                            op,
                            rm,
                            a,
                            b: 0,
                            c: 0,
                        });
                    }
                }
            }
            Shape::Fused | Shape::FromInt => {}
        }
    }
    let mut rng = Rng::new(seed);
    for _ in 0..count {
        let op = &OPS[rng.below(OPS.len() as u64) as usize];
        let rm = if ops::has_rm(op) {
            gen::rm(&mut rng)
        } else {
            0
        };
        let (a, b, c) = ops::operands(op, &mut rng);
        v.push(Vector { op, rm, a, b, c });
    }
    v
}

fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(s) => s
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={s:?} is not a number")),
        Err(_) => default,
    }
}

#[test]
#[ignore = "full tier (scripts/test): needs qemu-riscv64 and the riscv64 toolchain"]
fn matches_qemu_softfloat() {
    require(CC, "gcc-riscv64-linux-gnu");
    require(QEMU, "qemu-user");
    let count = env_u64("TERN_FPU_ORACLE_COUNT", 300_000) as usize;
    let seed = env_u64("TERN_FPU_ORACLE_SEED", 0x7e57_f9f9);
    let oracle = build_oracle();
    let vectors = vectors(count, seed);

    let mut input = String::with_capacity(vectors.len() * 48);
    for t in &vectors {
        writeln!(
            input,
            "{} {} {:x} {:x} {:x}",
            t.op.name, t.rm, t.a, t.b, t.c
        )
        .unwrap();
    }
    let input_path = FsPath::new(env!("CARGO_TARGET_TMPDIR")).join("fpu_oracle_input.txt");
    std::fs::write(&input_path, &input).expect("write oracle input");
    let output = Command::new(QEMU)
        .arg(&oracle)
        .stdin(std::fs::File::open(&input_path).expect("open oracle input"))
        .output()
        .expect("run qemu-riscv64");
    assert!(
        output.status.success(),
        "oracle failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).expect("oracle output is text");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines.len(),
        vectors.len(),
        "oracle answered {} of {} lines",
        lines.len(),
        vectors.len()
    );

    let mut per_op: BTreeMap<&str, usize> = BTreeMap::new();
    let mut report = String::new();
    let mut divergences = 0usize;
    for (t, line) in vectors.iter().zip(&lines) {
        let mut parts = line.split_whitespace().map(|x| u64::from_str_radix(x, 16));
        let (Some(Ok(want)), Some(Ok(want_flags))) = (parts.next(), parts.next()) else {
            panic!(
                "oracle could not run `{} {} {:x} {:x} {:x}`: {line}",
                t.op.name, t.rm, t.a, t.b, t.c
            );
        };
        let rm = ops::rm_of(t.rm);
        for path in [Path::Main, Path::Exact] {
            let got = ops::eval(t.op.name, rm, t.a, t.b, t.c, path).expect("known op");
            if got != (want, want_flags as u8) {
                divergences += 1;
                *per_op.entry(t.op.name).or_default() += 1;
                if divergences <= 40 {
                    let rf = ops::result_fmt(t.op);
                    let operand = |x: u64| {
                        if ops::int_operand(t.op) {
                            format!("{x:#x} ({})", x as i64)
                        } else {
                            ops::show(t.op.fmt, x)
                        }
                    };
                    writeln!(
                        report,
                        "{} {:?} [{path:?}] a={} b={} c={}\n    qemu: {} {}\n    tern: {} {}",
                        t.op.name,
                        rm,
                        operand(t.a),
                        operand(t.b),
                        operand(t.c),
                        ops::show(rf, want),
                        ops::show_flags(want_flags as u8),
                        ops::show(rf, got.0),
                        ops::show_flags(got.1),
                    )
                    .unwrap();
                }
            }
        }
    }
    println!(
        "compared {} vectors (x2 paths) with QEMU, {divergences} divergences",
        vectors.len()
    );
    assert!(
        divergences == 0,
        "{divergences} divergences from QEMU (per op: {per_op:?}); first ones:\n{report}"
    );
}
