//! npm packages for the tests that run programs from the npm registry: fetched once
//! with `npm pack` into `${TERN_CACHE:-~/.cache/tern}/npm` and unpacked there.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::linux_user::require_tool;

/// The npm package cache directory (created).
pub fn cache() -> PathBuf {
    let base = std::env::var_os("TERN_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/tern")))
        .expect("HOME or TERN_CACHE");
    let d = base.join("npm");
    std::fs::create_dir_all(&d).expect("create the npm cache directory");
    d
}

/// Serializes fetching and unpacking between the tests of one test binary (they
/// run in parallel and share packages); between binaries, unpacking beside and
/// renaming keeps readers from seeing half a package.
static FETCH: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Fetches `name@version` with `npm pack` (once) and unpacks it; returns the
/// package directory.
pub fn package(name: &str, version: &str) -> PathBuf {
    let _guard = FETCH.lock().unwrap_or_else(|e| e.into_inner());
    require_tool(("npm", "npm"));
    require_tool(("tar", "tar"));
    let dir = cache();
    let flat = name.trim_start_matches('@').replace('/', "-");
    let unpacked = dir.join(format!("{flat}-{version}"));
    let done = unpacked.join(".unpacked");
    if done.is_file() {
        return unpacked.join("package");
    }
    let tgz = dir.join(format!("{flat}-{version}.tgz"));
    if !tgz.is_file() {
        let o = Command::new("npm")
            .args([
                "pack",
                "--silent",
                &format!("{name}@{version}"),
                "--pack-destination",
            ])
            .arg(&dir)
            .output()
            .expect("run npm");
        assert!(
            o.status.success() && tgz.is_file(),
            "npm pack {name}@{version} failed (is the npm registry reachable?): {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    // Unpack beside and rename, so that no reader ever sees a half-written package
    // (another test process may be running it).
    let tmp = dir.join(format!(".{flat}-{version}.{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).expect("create package directory");
    let st = Command::new("tar")
        .arg("xzf")
        .arg(&tgz)
        .arg("-C")
        .arg(&tmp)
        .status()
        .expect("run tar");
    assert!(st.success(), "unpacking {}", tgz.display());
    std::fs::write(tmp.join(".unpacked"), "").expect("mark unpacked");
    if std::fs::rename(&tmp, &unpacked).is_err() {
        // Someone else finished first.
        let _ = std::fs::remove_dir_all(&tmp);
    }
    assert!(done.is_file(), "unpacking {} failed", tgz.display());
    unpacked.join("package")
}

/// Copies the directory tree `from` to `to`.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir") {
        let e = e.expect("entry");
        let p = e.path();
        if e.file_type().expect("type").is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).expect("copy");
        }
    }
}
