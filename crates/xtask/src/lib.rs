//! Project tasks for tern, run as `cargo xtask TASK` (an alias in `.cargo/config.toml`).
//!
//! `cargo xtask guest` builds the Linux guest images for the `virt` board (kernel,
//! busybox initramfs, ext4 disk) from Debian's packages, by running
//! `guests/linux/build.sh`. The scripts do the real work; this crate finds them, runs
//! them, and tells its callers where the images are. The library half is shared with
//! the integration tests, which boot the images on QEMU and check what the guest
//! prints against what the host computes from the same definitions (the disk content
//! below).

#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The root of the Cargo workspace (this crate lives in `crates/xtask`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("crates/xtask has two ancestors")
        .to_path_buf()
}

/// `guests/linux` in the source tree: the build scripts, configs, `/init` and tests.
pub fn linux_guest_sources() -> PathBuf {
    workspace_root().join("guests/linux")
}

/// Where the guest images are built: `${TERN_CACHE:-$HOME/.cache/tern}/guest`, as
/// `guests/linux/build.sh` computes it. Build products never go into the source tree.
pub fn guest_cache_dir() -> PathBuf {
    let base = match std::env::var_os("TERN_CACHE") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => {
            let home = std::env::var_os("HOME").unwrap_or_else(|| "/root".into());
            PathBuf::from(home).join(".cache/tern")
        }
    };
    base.join("guest")
}

/// The products of `cargo xtask guest`, all in one directory.
#[derive(Debug, Clone)]
pub struct GuestImages {
    /// The cache directory that holds them.
    pub dir: PathBuf,
}

impl GuestImages {
    /// The images in `dir` (they are not checked for existence here).
    pub fn in_dir(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The kernel: a RISC-V `Image` (64-byte header, loaded 2 MiB into RAM).
    pub fn kernel(&self) -> PathBuf {
        self.dir.join("Image")
    }

    /// The initramfs: a gzip-compressed newc cpio archive.
    pub fn initramfs(&self) -> PathBuf {
        self.dir.join("initramfs.cpio.gz")
    }

    /// The 64 MiB raw ext4 disk image. The guest tests write to the disk: boot a copy.
    pub fn disk(&self) -> PathBuf {
        self.dir.join("disk.ext4")
    }

    /// The kernel as an ELF file with its symbol table (`vmlinux`, what gdb loads to
    /// break on kernel functions), left in the kernel's build directory.
    pub fn vmlinux(&self) -> PathBuf {
        self.dir.join("build/linux/vmlinux")
    }

    /// The statically linked riscv64 busybox that the initramfs holds.
    pub fn busybox(&self) -> PathBuf {
        self.dir.join("busybox")
    }

    /// The kernel's release string (`uname -r` in the guest), e.g. `6.1.192`.
    pub fn kernel_release(&self) -> std::io::Result<String> {
        Ok(std::fs::read_to_string(self.dir.join("kernel.release"))?
            .trim()
            .to_string())
    }
}

/// Builds whatever guest image is missing or out of date (`force`: everything) with
/// `guests/linux/build.sh`. The script's progress goes to this process's stderr.
///
/// Installing missing Debian packages needs root; as another user the script names
/// the packages and fails.
pub fn build_guest(force: bool) -> Result<GuestImages, String> {
    let script = linux_guest_sources().join("build.sh");
    let mut cmd = Command::new("bash");
    cmd.arg(&script);
    if force {
        cmd.arg("--force");
    }
    // stdout carries exactly one line, the cache directory; everything else is stderr.
    let out = cmd
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("running {}: {e}", script.display()))?;
    if !out.status.success() {
        return Err(format!("{} failed ({})", script.display(), out.status));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let dir = stdout
        .lines()
        .last()
        .ok_or_else(|| format!("{} printed no cache directory", script.display()))?;
    let images = GuestImages::in_dir(dir);
    for product in [images.kernel(), images.initramfs(), images.disk()] {
        if !product.is_file() {
            return Err(format!(
                "{} succeeded but {} is missing",
                script.display(),
                product.display()
            ));
        }
    }
    Ok(images)
}

/// The known content of the disk image, as `guests/linux/mkdisk.sh` writes it.
pub mod disk {
    /// The one line of `hello.txt` (without its newline).
    pub const HELLO: &str = "hello from the tern disk";

    /// The path of the 1 MiB pattern file, relative to the disk's root.
    pub const PATTERN_PATH: &str = "data/pattern-1m.txt";

    /// How many files `data/small/` holds.
    pub const SMALL_FILES: usize = 100;

    /// The pattern file: 32768 lines of 32 bytes, line `i` is `i` zero-padded to 31
    /// digits (`seq -f '%031.0f' 0 32767`). Every 32-byte record differs, so a block
    /// read from the wrong place changes the checksum.
    pub fn pattern() -> Vec<u8> {
        (0..32768u32)
            .flat_map(|i| format!("{i:031}\n").into_bytes())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_is_one_mib_of_numbered_lines() {
        let p = disk::pattern();
        assert_eq!(p.len(), 1 << 20);
        assert_eq!(&p[..32], b"0000000000000000000000000000000\n");
        assert_eq!(&p[p.len() - 32..], b"0000000000000000000000000032767\n");
    }

    #[test]
    fn cache_dir_follows_tern_cache() {
        // Only reads the variable the way build.sh does; no process-wide changes.
        let dir = guest_cache_dir();
        assert!(dir.ends_with("guest"), "{}", dir.display());
    }

    #[test]
    fn sources_are_where_the_scripts_expect() {
        let src = linux_guest_sources();
        for f in [
            "build.sh",
            "kernel.config",
            "busybox.config",
            "init",
            "tests/disk.sh",
        ] {
            assert!(src.join(f).is_file(), "{} missing", src.join(f).display());
        }
    }
}
