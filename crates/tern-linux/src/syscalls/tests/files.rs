//! Paths and file metadata (`syscalls/fs.rs`, `syscalls/path_args.rs`).

use super::{close, Guest, UNMAPPED};
use crate::errno::Errno;
use crate::syscalls::fs;

const CWD: u64 = libc::AT_FDCWD as u64;

/// A path under the host's temporary directory unique to this test process.
fn scratch(name: &str) -> String {
    std::env::temp_dir()
        .join(format!("tern-unit-{}-{name}", std::process::id()))
        .display()
        .to_string()
}

#[test]
fn openat_reads_the_path_first_and_ignores_the_directory_for_an_absolute_one() {
    let mut g = Guest::new();
    let bad = g.bad_fd();
    // fs/open.c: getname (EFAULT) comes before the directory descriptor (EBADF),
    // which an absolute path does not use at all.
    assert_eq!(
        fs::openat(&mut g.t, [bad, UNMAPPED, 0, 0, 0, 0]),
        Err(Errno::EFAULT)
    );
    let null = g.cstr(0, "/dev/null");
    let fd = fs::openat(&mut g.t, [bad, null, 0, 0, 0, 0]).expect("absolute path, bad dirfd");
    close(&mut g, &[fd]);
    let rel = g.cstr(64, "dev/null");
    assert_eq!(
        fs::openat(&mut g.t, [bad, rel, 0, 0, 0, 0]),
        Err(Errno::EBADF)
    );
    let empty = g.cstr(128, "");
    assert_eq!(
        fs::openat(&mut g.t, [CWD, empty, 0, 0, 0, 0]),
        Err(Errno::ENOENT)
    );
    let under_file = g.cstr(192, "/dev/null/x");
    assert_eq!(
        fs::openat(&mut g.t, [CWD, under_file, 0, 0, 0, 0]),
        Err(Errno::ENOTDIR)
    );
    let dir_only = libc::O_DIRECTORY as u64;
    assert_eq!(
        fs::openat(&mut g.t, [CWD, null, dir_only, 0, 0, 0]),
        Err(Errno::ENOTDIR)
    );
}

#[test]
fn newfstatat_writes_the_riscv64_stat_and_refuses_unknown_flags() {
    let mut g = Guest::new();
    let root = g.cstr(0, "/");
    let st = g.mem + 256;
    assert_eq!(fs::newfstatat(&mut g.t, [CWD, root, st, 0, 0, 0]), Ok(0));
    // asm-generic struct stat: st_dev, st_ino (u64), then st_mode (u32).
    assert_eq!(g.i32_at(st + 16) as u32 & libc::S_IFMT, libc::S_IFDIR);
    assert_eq!(
        fs::newfstatat(&mut g.t, [CWD, root, UNMAPPED, 0, 0, 0]),
        Err(Errno::EFAULT)
    );
    assert_eq!(
        fs::newfstatat(&mut g.t, [CWD, root, st, 0x1, 0, 0]),
        Err(Errno::EINVAL)
    );
    let missing = g.cstr(64, "/nonexistent-tern-unit");
    assert_eq!(
        fs::newfstatat(&mut g.t, [CWD, missing, st, 0x1, 0, 0]),
        Err(Errno::EINVAL),
        "flags are checked before the lookup"
    );
    assert_eq!(
        fs::newfstatat(&mut g.t, [CWD, missing, st, 0, 0, 0]),
        Err(Errno::ENOENT)
    );
    let bad = g.bad_fd();
    assert_eq!(fs::newfstatat(&mut g.t, [bad, root, st, 0, 0, 0]), Ok(0));
}

#[test]
fn readlinkat_and_faccessat_check_their_numbers_before_the_path() {
    let mut g = Guest::new();
    // fs/stat.c: bufsiz <= 0 first; fs/open.c: mode and flags first.
    assert_eq!(
        fs::readlinkat(&mut g.t, [CWD, UNMAPPED, g.mem, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
    let root = g.cstr(0, "/");
    assert_eq!(
        fs::readlinkat(&mut g.t, [CWD, root, g.mem + 64, 64, 0, 0]),
        Err(Errno::EINVAL),
        "not a link"
    );
    assert_eq!(
        fs::faccessat(&mut g.t, [CWD, UNMAPPED, 8, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
    let missing = g.cstr(64, "/nonexistent-tern-unit");
    assert_eq!(
        fs::faccessat(&mut g.t, [CWD, missing, 0, 0x1, 0, 0]),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        fs::faccessat(&mut g.t, [CWD, missing, 0, 0, 0, 0]),
        Err(Errno::ENOENT)
    );
    assert_eq!(fs::faccessat(&mut g.t, [CWD, root, 0, 0, 0, 0]), Ok(0));
}

#[test]
fn directories_are_made_and_removed_with_linux_errnos() {
    let mut g = Guest::new();
    let dir = scratch("dir");
    let _ = std::fs::remove_dir(&dir);
    let p = g.cstr(0, &dir);
    assert_eq!(fs::mkdirat(&mut g.t, [CWD, p, 0o755, 0, 0, 0]), Ok(0));
    assert_eq!(
        fs::mkdirat(&mut g.t, [CWD, p, 0o755, 0, 0, 0]),
        Err(Errno::EEXIST)
    );
    assert_eq!(
        fs::unlinkat(&mut g.t, [CWD, p, 0x1, 0, 0, 0]),
        Err(Errno::EINVAL),
        "unknown flags"
    );
    assert_eq!(
        fs::unlinkat(&mut g.t, [CWD, p, 0, 0, 0, 0]),
        Err(Errno::EISDIR)
    );
    let rmdir = libc::AT_REMOVEDIR as u64;
    assert_eq!(fs::unlinkat(&mut g.t, [CWD, p, rmdir, 0, 0, 0]), Ok(0));
    assert!(!std::path::Path::new(&dir).exists(), "removed on the host");
    assert_eq!(
        fs::unlinkat(&mut g.t, [CWD, p, rmdir, 0, 0, 0]),
        Err(Errno::ENOENT)
    );
}

#[test]
fn getcwd_needs_room_for_the_name_and_its_nul() {
    let mut g = Guest::new();
    let cwd = std::env::current_dir().expect("cwd").display().to_string();
    let n = cwd.len() as u64 + 1;
    assert_eq!(
        fs::getcwd(&mut g.t, [g.mem, n - 1, 0, 0, 0, 0]),
        Err(Errno::ERANGE)
    );
    assert_eq!(
        fs::getcwd(&mut g.t, [UNMAPPED, n, 0, 0, 0, 0]),
        Err(Errno::EFAULT)
    );
    assert_eq!(fs::getcwd(&mut g.t, [g.mem, n, 0, 0, 0, 0]), Ok(n));
    assert_eq!(g.get(g.mem, n as usize), [cwd.as_bytes(), &[0]].concat());
}

#[test]
fn linkat_refuses_unknown_flags_before_the_paths() {
    let mut g = Guest::new();
    assert_eq!(
        fs::linkat(&mut g.t, [CWD, UNMAPPED, CWD, UNMAPPED, 0x1, 0]),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        fs::linkat(&mut g.t, [CWD, UNMAPPED, CWD, UNMAPPED, 0x100, 0]),
        Err(Errno::EINVAL),
        "AT_SYMLINK_NOFOLLOW is not linkat's"
    );
    let bad = g.bad_fd();
    let p = g.cstr(0, "/nonexistent-dir/a");
    let q = g.cstr(64, "/nonexistent-dir/b");
    assert_eq!(
        fs::linkat(&mut g.t, [bad, p, bad, q, 0, 0]),
        Err(Errno::ENOENT),
        "absolute paths: the bad dirfds are not looked at"
    );
}
