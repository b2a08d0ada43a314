//! A small ext4 disk of files for one test's Linux guest (the scripts and programs of
//! `guests/escape/`, and data the host prepared), which the guest's `/init` mounts and
//! runs a script from with `tern.run=vda:SCRIPT`.
//!
//! Include it from a test file with `#[path = "common/tools_disk.rs"] mod tools_disk;`.

#![allow(dead_code)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// `guests/escape` in the source tree.
pub fn escape_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../guests/escape")
}

/// A directory of its own for one test under cargo's test temporary directory,
/// emptied first.
pub fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("escape")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the scratch directory");
    dir
}

/// Runs a host tool; panics naming the Debian package when it is missing, and with
/// its output when it fails.
pub fn tool(program: &str, package: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program} ({e}): apt-get install {package}"));
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{program} {args:?} failed:\n{text}");
    text
}

/// Builds `guests/escape/<name>.c` as a static riscv64 program into `dir`.
pub fn build_static(name: &str, dir: &Path) -> PathBuf {
    let src = escape_dir().join(format!("{name}.c"));
    let out = dir.join(name);
    tool(
        "riscv64-linux-gnu-gcc",
        "gcc-riscv64-linux-gnu",
        &[
            "-static",
            "-O2",
            "-Wall",
            "-o",
            out.to_str().expect("utf-8 path"),
            src.to_str().expect("utf-8 path"),
        ],
    );
    out
}

/// A file to put on the disk: its name there, its bytes, whether it is executable.
pub struct DiskFile {
    /// Name in the disk's root directory.
    pub name: String,
    /// Content.
    pub bytes: Vec<u8>,
    /// Mode 0755 instead of 0644.
    pub exec: bool,
}

impl DiskFile {
    /// A file of `guests/escape/`, under its own name.
    pub fn escape(name: &str) -> DiskFile {
        let path = escape_dir().join(name);
        DiskFile {
            name: name.to_string(),
            bytes: std::fs::read(&path)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display())),
            exec: false,
        }
    }

    /// A host file (a program built for the guest), executable.
    pub fn program(path: &Path) -> DiskFile {
        DiskFile {
            name: path
                .file_name()
                .expect("program name")
                .to_string_lossy()
                .into_owned(),
            bytes: std::fs::read(path)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display())),
            exec: true,
        }
    }

    /// Data under `name`.
    pub fn data(name: &str, bytes: Vec<u8>) -> DiskFile {
        DiskFile {
            name: name.to_string(),
            bytes,
            exec: false,
        }
    }
}

/// Makes `dir/tools.ext4` (16 MiB) holding `files`; returns its path.
pub fn tools_disk(dir: &Path, files: &[DiskFile]) -> PathBuf {
    let staging = dir.join("tools");
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging).expect("create the staging directory");
    for f in files {
        let p = staging.join(&f.name);
        std::fs::write(&p, &f.bytes).expect("write a disk file");
        let mode = if f.exec { 0o755 } else { 0o644 };
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).expect("chmod");
    }
    let image = dir.join("tools.ext4");
    let _ = std::fs::remove_file(&image);
    tool(
        "mkfs.ext4",
        "e2fsprogs",
        &[
            "-q",
            "-F",
            "-d",
            staging.to_str().expect("utf-8 path"),
            image.to_str().expect("utf-8 path"),
            "16M",
        ],
    );
    image
}
