//! Real programs no one here wrote, from the npm registry:
//!
//! - `@esbuild/linux-riscv64` (a static Go program) bundles a real JavaScript library
//!   (`preact`, and `three` for a bigger run) under `tern exec`, and the bundle is
//!   byte-identical to the one the native `@esbuild/linux-x64` of the same version
//!   makes from the same input.
//! - `@dprint/linux-riscv64-glibc` (a Rust program linked against glibc) runs through
//!   the dynamic loader of the riscv64 sysroot.
//!
//! Packages are fetched once with `npm pack` into `${TERN_CACHE:-~/.cache/tern}/npm`.

#[path = "common/linux_user.rs"]
mod linux_user;
#[path = "common/npm.rs"]
mod npm;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use linux_user::{require_sysroot, run, SYSROOT};
use npm::{copy_dir, package};

const ESBUILD_VERSION: &str = "0.28.2";
const DPRINT_VERSION: &str = "0.54.0";
const PREACT_VERSION: &str = "10.26.4";
const THREE_VERSION: &str = "0.170.0";

/// A project directory with `lib` installed as `node_modules/<lib>` and `entry`.
fn project(tag: &str, lib: &str, lib_dir: &Path, entry: &str) -> PathBuf {
    let d = linux_user::out_dir().join(format!("esbuild-{tag}"));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.join("node_modules")).expect("project");
    copy_dir(lib_dir, &d.join("node_modules").join(lib));
    std::fs::write(d.join("entry.js"), entry).expect("entry.js");
    d
}

fn bundle(esbuild: &Path, dir: &Path, under_tern: bool) -> Vec<u8> {
    let args = ["--bundle", "entry.js", "--minify", "--format=esm"];
    let mut c = if under_tern {
        let mut c = Command::new(env!("CARGO_BIN_EXE_tern"));
        c.arg("exec").arg(esbuild);
        c
    } else {
        Command::new(esbuild)
    };
    c.args(args).current_dir(dir);
    let o = run(c, Duration::from_secs(600));
    assert_eq!(o.status, 0, "esbuild failed: {}", o.stderr);
    o.stdout.into_bytes()
}

fn compare_bundles(tag: &str, lib: &str, version: &str, entry: &str) {
    let riscv = package("@esbuild/linux-riscv64", ESBUILD_VERSION).join("bin/esbuild");
    let native = package("@esbuild/linux-x64", ESBUILD_VERSION).join("bin/esbuild");
    let lib_dir = package(lib, version);
    let dir = project(tag, lib, &lib_dir, entry);
    let want = bundle(&native, &dir, false);
    let got = bundle(&riscv, &dir, true);
    assert!(want.len() > 1000, "the native bundle is suspiciously small");
    assert!(
        got == want,
        "the bundle made under tern differs from the native one"
    );
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn esbuild_bundles_preact_like_native() {
    compare_bundles(
        "preact",
        "preact",
        PREACT_VERSION,
        "import { h, render, Component } from 'preact';\n\
         import { useState } from 'preact/hooks';\n\
         class App extends Component { render() { return h('div', null, 'hello'); } }\n\
         function Counter() { const [n, setN] = useState(0);\n\
           return h('button', { onClick: () => setN(n + 1) }, n); }\n\
         export { App, Counter, render };\n",
    );
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn esbuild_bundles_three_like_native() {
    compare_bundles(
        "three",
        "three",
        THREE_VERSION,
        "import * as THREE from 'three';\n\
         export const scene = new THREE.Scene();\n\
         export default THREE;\n",
    );
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn dprint_runs_through_the_dynamic_loader() {
    require_sysroot();
    let dprint = package("@dprint/linux-riscv64-glibc", DPRINT_VERSION).join("dprint");
    let mut c = Command::new(env!("CARGO_BIN_EXE_tern"));
    c.args(["exec", "--sysroot", SYSROOT])
        .arg(&dprint)
        .arg("--version");
    let o = run(c, Duration::from_secs(120));
    assert_eq!(
        o.stdout,
        format!("dprint {DPRINT_VERSION}\n"),
        "stderr: {}",
        o.stderr
    );
    assert_eq!(o.status, 0);
    let mut c = Command::new(env!("CARGO_BIN_EXE_tern"));
    c.args(["exec", "--sysroot", SYSROOT])
        .arg(&dprint)
        .arg("--help");
    let o = run(c, Duration::from_secs(120));
    assert_eq!(o.status, 0, "stderr: {}", o.stderr);
    assert!(o.stdout.contains("dprint"), "{}", o.stdout);
}
