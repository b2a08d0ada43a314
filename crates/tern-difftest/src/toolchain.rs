//! The tools a run needs and the assembling of batches into ELF files.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

/// The cross compiler driver used to assemble and link batches.
pub const GCC: &str = "riscv64-unknown-elf-gcc";
/// The reference emulator.
pub const QEMU: &str = "qemu-system-riscv64";

/// `-march` of every batch: QEMU 7.2's default rv64 CPU implements all of these.
pub const MARCH: &str = "rv64gc_zba_zbb_zbs";

const RUNTIME_S: &str = include_str!("runtime.S");
const HTIF_S: &str = include_str!("../../../guests/baremetal/common/htif.S");
const LINK_LD: &str = include_str!("../../../guests/baremetal/common/link.ld");

/// Fails, naming the Debian package to install, unless the cross compiler and QEMU
/// can be run.
pub fn check_tools() -> Result<()> {
    let probes = [(GCC, "gcc-riscv64-unknown-elf"), (QEMU, "qemu-system-misc")];
    for (tool, package) in probes {
        let ok = Command::new(tool)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if !ok {
            bail!("`{tool}` cannot be run: install the Debian package `{package}` (apt-get install {package})");
        }
    }
    Ok(())
}

/// A directory holding the runtime sources shared by every batch of a run.
#[derive(Debug)]
pub struct Toolchain {
    dir: PathBuf,
}

impl Toolchain {
    /// Writes the runtime (runtime.S, the HTIF mailboxes and the linker script) into
    /// `dir`, which must exist.
    pub fn new(dir: &Path) -> Result<Toolchain> {
        for (name, text) in [
            ("runtime.S", RUNTIME_S),
            ("htif.S", HTIF_S),
            ("link.ld", LINK_LD),
        ] {
            std::fs::write(dir.join(name), text)
                .with_context(|| format!("writing {}", dir.join(name).display()))?;
        }
        Ok(Toolchain {
            dir: dir.to_path_buf(),
        })
    }

    /// Assembles and links `asm` (written to `stem.S`) into `stem.elf`; returns the ELF.
    pub fn build(&self, asm: &str, stem: &Path) -> Result<PathBuf> {
        let src = stem.with_extension("S");
        let elf = stem.with_extension("elf");
        std::fs::write(&src, asm).with_context(|| format!("writing {}", src.display()))?;
        let out = Command::new(GCC)
            .arg(format!("-march={MARCH}"))
            .args([
                "-mabi=lp64d",
                "-mcmodel=medany",
                "-nostdlib",
                "-nostartfiles",
            ])
            .args(["-Wl,--no-relax", "-T"])
            .arg(self.dir.join("link.ld"))
            .arg(self.dir.join("runtime.S"))
            .arg(self.dir.join("htif.S"))
            .arg(&src)
            .arg("-o")
            .arg(&elf)
            .output()
            .with_context(|| format!("running {GCC} (Debian package gcc-riscv64-unknown-elf)"))?;
        if !out.status.success() {
            bail!(
                "{GCC} failed on {}:\n{}",
                src.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(elf)
    }
}
