//! `tern exec --root DIR` confines every path: escape attempts through `..`, absolute
//! and relative symbolic links, `/proc/self/root`, `chdir ..` and directory
//! descriptors all stay inside DIR and fail with the errno a program would get for a
//! file that does not exist in its view.

#[path = "common/linux_user.rs"]
mod linux_user;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use linux_user::{build, out_dir, run, Link};

const EXPECTED: &str = r#"inside: read "inside"
dotdot: errno ENOENT
relative dotdot: errno ENOENT
absolute symlink: errno ENOENT
relative symlink: errno ENOENT
proc root: errno ENOENT
host passwd: errno ENOENT
cwd after chdir ..: /
after chdir: read "inside"
openat dirfd ..: inside
readlink abs-link: 1 /
symlink escape create: 0
made link: errno ENOENT
stat outside via ..: ENOENT
listing /..: outside visible=0
"#;

/// A root directory inside a directory that holds `marker-outside`.
fn make_root(name: &str) -> std::path::PathBuf {
    let base = out_dir().join(name);
    let _ = std::fs::remove_dir_all(&base);
    let root = base.join("root");
    std::fs::create_dir_all(&root).expect("create root");
    std::fs::write(base.join("marker-outside"), "OUTSIDE\n").expect("write marker");
    std::fs::write(root.join("marker"), "inside\n").expect("write marker");
    std::os::unix::fs::symlink("/", root.join("abs-link")).expect("symlink");
    std::os::unix::fs::symlink("../../../..", root.join("rel-link")).expect("symlink");
    let prog = build("escape", Link::Static);
    std::fs::copy(&prog, root.join("escape")).expect("copy program");
    root
}

fn escape(root: &Path, extra: &[&str]) -> linux_user::Outcome {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tern"));
    c.arg("exec")
        .arg("--root")
        .arg(root)
        .args(extra)
        .arg("/escape");
    run(c, Duration::from_secs(60))
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn escape_attempts_stay_inside_the_root() {
    let root = make_root("escape-plain");
    let o = escape(&root, &[]);
    assert_eq!(o.stdout, EXPECTED, "stderr: {}", o.stderr);
    assert_eq!(o.status, 0);
    // The link the program made points at "/" and is resolved inside the root too.
    assert_eq!(
        std::fs::read_link(root.join("made-link")).expect("made-link"),
        Path::new("/")
    );
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn proc_self_root_leads_to_the_guest_root() {
    // With the host's /proc visible, /proc/self/root is the host link to "/", which
    // must be read as the guest's "/".
    let root = make_root("escape-proc");
    let o = escape(&root, &["--bind", "/proc:/proc"]);
    assert_eq!(o.stdout, EXPECTED, "stderr: {}", o.stderr);
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn binds_make_host_directories_visible() {
    let root = make_root("escape-bind");
    let extra = out_dir().join("escape-bind-extra");
    std::fs::create_dir_all(&extra).expect("create bind source");
    std::fs::write(extra.join("marker-outside"), "bound\n").expect("write");
    let bind = format!("{}:/abs-link", extra.display());
    // /abs-link is now a bind of `extra`: the "absolute symlink" attempt reads it.
    let o = escape(&root, &["--bind", &bind]);
    assert!(
        o.stdout.contains("absolute symlink: read \"bound\""),
        "{}",
        o.stdout
    );
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn swapping_a_directory_for_a_link_during_opens_does_not_escape() {
    // One guest thread exchanges /swap (a directory) and /swap-link (a link to "..")
    // while another opens /swap/marker-outside 20000 times: none may reach the file
    // outside the root.
    let root = make_root("escape-race");
    let mut c = Command::new(env!("CARGO_BIN_EXE_tern"));
    c.arg("exec")
        .arg("--root")
        .arg(&root)
        .args(["/escape", "race", "20000"]);
    let o = run(c, Duration::from_secs(300));
    assert_eq!(
        o.stdout, "race: outside 0, inside 1\n",
        "stderr: {}",
        o.stderr
    );
    assert_eq!(o.status, 0);
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn file_and_directory_programs_work_the_same_under_root() {
    // files.c and dirent.c (links, renames, *at calls, nftw, chdir) inside a root
    // print what they print under qemu-riscv64 without one.
    for name in ["files", "dirent"] {
        let expected = linux_user::compare(name, Link::Static, &[]);
        let root = out_dir().join(format!("root-{name}"));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("tmp")).expect("root");
        std::fs::copy(build(name, Link::Static), root.join("prog")).expect("copy");
        let mut c = Command::new(env!("CARGO_BIN_EXE_tern"));
        c.arg("exec").arg("--root").arg(&root).arg("/prog");
        let o = run(c, Duration::from_secs(120));
        assert_eq!(
            o.stdout, expected.stdout,
            "{name} under --root: {}",
            o.stderr
        );
        assert_eq!(o.status, expected.status);
    }
}
