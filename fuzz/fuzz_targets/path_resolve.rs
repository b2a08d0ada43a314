//! Fuzz target: the confined path resolver on arbitrary symlink trees and paths.
//! The input decodes into a tree of directories, files and symbolic links (targets
//! made of `..`, `.`, absolute paths, names, the host path of a directory outside
//! the root), an optional `--bind`, a starting directory and paths
//! ([`tern_linux::fs::resolve_check::Scenario::from_bytes`]). Every walk, in every
//! lookup mode, must end inside the root or the bind (checked by device and inode
//! against what the tree holds), agree with the kernel's `openat2(RESOLVE_IN_ROOT)`
//! when there is no bind, and close every descriptor it opened.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tern_linux::fs::resolve::Lookup;
use tern_linux::fs::resolve_check::{build, Scenario};

/// Descriptors open in this process.
fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

fuzz_target!(|data: &[u8]| {
    let s = Scenario::from_bytes(data);
    let Ok(b) = build(&s) else {
        return;
    };
    let before = open_fds();
    for p in &s.paths {
        for lookup in [Lookup::Follow, Lookup::NoFollow, Lookup::Parent] {
            if let Err(e) = b.check(&s.start, p, lookup) {
                panic!("{e}\n{s:?}");
            }
            let abs = [b"/".as_slice(), p].concat();
            if let Err(e) = b.compare_with_kernel(&abs, lookup) {
                panic!("{e}\n{s:?}");
            }
        }
    }
    assert_eq!(open_fds(), before, "a walk left descriptors open");
});
