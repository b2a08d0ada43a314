//! Debian's sqlite 3.40.1 for riscv64, for the tests that run it: built once by
//! `scripts/build-sqlite` into `${TERN_CACHE:-~/.cache/tern}/sqlite/out` (the
//! `sqlite3` shell static and dynamic, and the amalgamation's object file), and the
//! test programs of `guests/sqlite/` linked against it.
//!
//! Include it after `common/linux_user.rs` with
//! `#[path = "common/sqlite.rs"] mod sqlite;`.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::linux_user::{
    compile_into, out_dir, require_sysroot, require_tool, up_to_date, Link, GCC,
};

/// Serializes building between the tests of one test binary (the script itself
/// takes a lock between processes).
static BUILD: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// `guests/sqlite` in the source tree.
pub fn guests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../guests/sqlite")
}

/// Runs `scripts/build-sqlite` (it returns at once when everything is built) and
/// returns its output directory.
pub fn built() -> PathBuf {
    let _guard = BUILD.lock().unwrap_or_else(|e| e.into_inner());
    require_tool(GCC);
    require_sysroot();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/build-sqlite");
    let o = Command::new("sh")
        .arg(&script)
        .output()
        .expect("run scripts/build-sqlite");
    assert!(
        o.status.success(),
        "scripts/build-sqlite failed (is deb.debian.org reachable? is `tcl` installed?): {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let o = Command::new("sh")
        .arg(&script)
        .arg("--print")
        .output()
        .expect("run scripts/build-sqlite --print");
    let dir = PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()).join("out");
    assert!(dir.join(".done").is_file(), "{}: no build", dir.display());
    dir
}

/// The riscv64 `sqlite3` shell.
pub fn shell(link: Link) -> PathBuf {
    built().join(match link {
        Link::Static => "sqlite3-static",
        Link::Dynamic => "sqlite3-dynamic",
    })
}

/// Builds `guests/sqlite/<name>.c` against the amalgamation (unless the binary is
/// newer than both) and returns the binary's path.
pub fn program(name: &str, link: Link) -> PathBuf {
    let lib = built();
    let _guard = BUILD.lock().unwrap_or_else(|e| e.into_inner());
    let src = guests_dir().join(format!("{name}.c"));
    let obj = lib.join("sqlite3.o");
    let suffix = match link {
        Link::Static => "static",
        Link::Dynamic => "dynamic",
    };
    let out = out_dir().join(format!("sqlite-{name}-{suffix}"));
    if up_to_date(&out, &[&src, &obj]) {
        return out;
    }
    let tmp = out_dir().join(format!(".sqlite-{name}-{suffix}.{}", std::process::id()));
    let mut cmd = Command::new(GCC.0);
    cmd.args(["-O2", "-Wall", "-I"])
        .arg(&lib)
        .arg("-o")
        .arg(&tmp)
        .arg(&src)
        .arg(&obj)
        .arg("-lm");
    if link == Link::Static {
        cmd.arg("-static");
    }
    compile_into(cmd, &tmp, &out, &src);
    out
}

/// A fresh, empty directory for one test's databases.
pub fn scratch(tag: &str) -> PathBuf {
    let d = out_dir().join(format!("sqlite-db-{tag}"));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("create the database directory");
    d
}
