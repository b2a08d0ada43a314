//! Running GNU binutils for riscv64: wrapping raw instruction bytes in an object
//! file whose RISC-V attributes enable exactly tern's extensions, disassembling
//! it, and assembling text.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The ISA string written into the `.riscv.attributes` section: objdump only
/// decodes instructions of the extensions named here, so it disassembles exactly
/// what tern should accept (Zicond is missing because binutils 2.40 predates it).
pub const ARCH: &str = "rv64i2p1_m2p0_a2p1_f2p2_d2p2_c2p0_zicsr2p0_zifencei2p0_zba1p0_zbb1p0_zbs1p0_zicboz1p0_zihintpause2p0";

const INSTALL_HINT: &str = "the objdump differential test needs GNU binutils for riscv64: \
     apt-get install binutils-riscv64-unknown-elf";

/// The path of a binutils program, failing the test (never skipping it) when
/// binutils for riscv64 is not installed.
pub fn tool(name: &str) -> PathBuf {
    let program = format!("riscv64-unknown-elf-{name}");
    let paths = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&paths) {
        let candidate = dir.join(&program);
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!("{program} not found in PATH; {INSTALL_HINT}");
}

/// Runs a program and returns its standard output, failing with its standard
/// error when it does not succeed.
fn run(program: &Path, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}; {INSTALL_HINT}", program.display()));
    assert!(
        out.status.success(),
        "{} {:?} failed: {}",
        program.display(),
        args,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("binutils output is UTF-8")
}

/// A scratch directory for this test's files.
pub fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("objdump-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create scratch directory");
    dir
}

/// Removes a scratch directory (a failing test leaves it behind for inspection
/// only if it panics before this point).
pub fn remove_scratch(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
}

/// One disassembled unit: its address and objdump's text with the mnemonic and
/// operands separated by one space and any trailing `# ...` comment removed
/// (objdump adds those when it can compute an address from an `auipc`/`lui`
/// pair).
pub struct Line {
    pub addr: u64,
    pub text: String,
}

/// Disassembles `bytes` placed at address 0 with `objdump -d -z -M no-aliases`
/// and the extension set [`ARCH`].
pub fn disassemble(dir: &Path, bytes: &[u8]) -> Vec<Line> {
    let bin = dir.join("words.bin");
    std::fs::write(&bin, bytes).expect("write words");
    let src = dir.join("wrap.s");
    std::fs::write(
        &src,
        format!(
            ".attribute arch, \"{ARCH}\"\n.text\n.incbin \"{}\"\n",
            bin.display()
        ),
    )
    .expect("write wrapper");
    let obj = dir.join("wrap.o");
    let stripped = dir.join("stripped.o");
    run(&tool("as"), &["-o", path(&obj), path(&src)]);
    // `.incbin` marks its bytes as data with a `$d` mapping symbol, so objdump would
    // print them as `.word`: drop the symbols.
    run(
        &tool("objcopy"),
        &["--strip-all", path(&obj), path(&stripped)],
    );
    let text = run(
        &tool("objdump"),
        &["-d", "-z", "-M", "no-aliases", path(&stripped)],
    );
    let lines: Vec<Line> = text.lines().filter_map(parse_line).collect();
    assert!(
        !lines.is_empty(),
        "objdump printed no instructions:\n{text}"
    );
    lines
}

/// Parses `"   1c:\t0ff0000f          \tfence\tiorw,iorw"`.
fn parse_line(line: &str) -> Option<Line> {
    let mut fields = line.split('\t');
    let addr = fields.next()?.trim().strip_suffix(':')?;
    let addr = u64::from_str_radix(addr, 16).ok()?;
    let _hex = fields.next()?;
    let mnemonic = fields.next()?.trim();
    let operands = fields.next().unwrap_or("");
    let operands = operands.split('#').next().unwrap_or("").trim();
    let text = if operands.is_empty() {
        mnemonic.to_string()
    } else {
        format!("{mnemonic} {operands}")
    };
    Some(Line { addr, text })
}

/// Assembles `lines` (one instruction each, no compression, no relaxation) and
/// returns one 32-bit word per line.
pub fn assemble(dir: &Path, lines: &[String]) -> Vec<u32> {
    let src = dir.join("expanded.s");
    let mut text = format!(".attribute arch, \"{ARCH}\"\n.option norvc\n.option norelax\n.text\n");
    for line in lines {
        text.push_str(line);
        text.push('\n');
    }
    std::fs::write(&src, text).expect("write assembly");
    let obj = dir.join("expanded.o");
    let bin = dir.join("expanded.bin");
    run(&tool("as"), &["-o", path(&obj), path(&src)]);
    run(
        &tool("objcopy"),
        &["-O", "binary", "-j", ".text", path(&obj), path(&bin)],
    );
    let bytes = std::fs::read(&bin).expect("read assembled bytes");
    assert_eq!(
        bytes.len(),
        lines.len() * 4,
        "gas did not emit one 32-bit word per line"
    );
    bytes
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

fn path(p: &Path) -> &str {
    p.to_str().expect("scratch paths are UTF-8")
}
