//! Reading, writing and managing descriptors (`syscalls/io.rs`).

use super::{close, Guest, UNMAPPED};
use crate::errno::Errno;
use crate::syscalls::io;

/// A pipe made by `pipe2` with `flags`: (read end, write end).
fn pipe(g: &mut Guest, flags: u64) -> (u64, u64) {
    let va = g.mem + 0x8000;
    assert_eq!(io::pipe2(&mut g.t, [va, flags, 0, 0, 0, 0]), Ok(0));
    (g.i32_at(va) as u64, g.i32_at(va + 4) as u64)
}

#[test]
fn write_then_read_moves_the_bytes_through_user_memory() {
    let mut g = Guest::new();
    let (r, w) = pipe(&mut g, 0);
    let src = g.put(0, b"hello");
    assert_eq!(io::write(&mut g.t, [w, src, 5, 0, 0, 0]), Ok(5));
    let dst = g.mem + 100;
    assert_eq!(io::read(&mut g.t, [r, dst, 64, 0, 0, 0]), Ok(5));
    assert_eq!(g.get(dst, 5), b"hello");
    close(&mut g, &[r, w]);
}

#[test]
fn bad_buffers_are_efault_and_bad_descriptors_ebadf() {
    let mut g = Guest::new();
    let (r, w) = pipe(&mut g, libc::O_NONBLOCK as u64);
    assert_eq!(
        io::write(&mut g.t, [w, UNMAPPED, 5, 0, 0, 0]),
        Err(Errno::EFAULT)
    );
    let ro = g.read_only_page();
    let src = g.put(0, b"x");
    assert_eq!(io::write(&mut g.t, [w, src, 1, 0, 0, 0]), Ok(1));
    assert_eq!(io::read(&mut g.t, [r, ro, 1, 0, 0, 0]), Err(Errno::EFAULT));
    let bad = g.bad_fd();
    assert_eq!(
        io::read(&mut g.t, [bad, g.mem, 1, 0, 0, 0]),
        Err(Errno::EBADF)
    );
    assert_eq!(
        io::write(&mut g.t, [u64::MAX, g.mem, 1, 0, 0, 0]),
        Err(Errno::EBADF),
        "-1"
    );
    // A zero-length read of an unmapped buffer touches nothing.
    assert_eq!(io::read(&mut g.t, [r, UNMAPPED, 0, 0, 0, 0]), Ok(0));
    close(&mut g, &[r, w]);
}

#[test]
fn iovec_arrays_are_checked_before_any_transfer() {
    let mut g = Guest::new();
    let (r, w) = pipe(&mut g, 0);
    assert_eq!(
        io::writev(&mut g.t, [w, UNMAPPED, 1, 0, 0, 0], false),
        Err(Errno::EFAULT)
    );
    assert_eq!(
        io::writev(&mut g.t, [w, g.mem, 1025, 0, 0, 0], false),
        Err(Errno::EINVAL),
        "more than IOV_MAX"
    );
    // Two pieces gathered into one write.
    let a = g.put(0, b"ab");
    let b = g.put(16, b"cd");
    let mut iov = Vec::new();
    for (base, len) in [(a, 2u64), (b, 2)] {
        iov.extend_from_slice(&base.to_le_bytes());
        iov.extend_from_slice(&len.to_le_bytes());
    }
    let iv = g.put(64, &iov);
    assert_eq!(io::writev(&mut g.t, [w, iv, 2, 0, 0, 0], false), Ok(4));
    assert_eq!(io::read(&mut g.t, [r, g.mem + 256, 8, 0, 0, 0]), Ok(4));
    assert_eq!(g.get(g.mem + 256, 4), b"abcd");
    close(&mut g, &[r, w]);
}

#[test]
fn pipe2_checks_flags_and_leaves_no_descriptor_behind_on_efault() {
    let mut g = Guest::new();
    let before = g.open_fds();
    assert_eq!(
        io::pipe2(&mut g.t, [g.mem, 0x4, 0, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        io::pipe2(&mut g.t, [UNMAPPED, 0, 0, 0, 0, 0]),
        Err(Errno::EFAULT)
    );
    let ro = g.read_only_page();
    assert_eq!(io::pipe2(&mut g.t, [ro, 0, 0, 0, 0, 0]), Err(Errno::EFAULT));
    assert_eq!(g.open_fds(), before, "no descriptor entered");
}

#[test]
fn dup3_checks_flags_and_equal_numbers_before_the_descriptors() {
    let mut g = Guest::new();
    let (r, w) = pipe(&mut g, 0);
    let bad = g.bad_fd();
    // fs/file.c ksys_dup3: flags, then oldfd == newfd, then the descriptors.
    assert_eq!(io::dup3(&mut g.t, [r, w, 0x4, 0, 0, 0]), Err(Errno::EINVAL));
    assert_eq!(
        io::dup3(&mut g.t, [bad, w, 0x4, 0, 0, 0]),
        Err(Errno::EINVAL),
        "bad flags win over a bad descriptor"
    );
    assert_eq!(io::dup3(&mut g.t, [r, r, 0, 0, 0, 0]), Err(Errno::EINVAL));
    assert_eq!(
        io::dup3(&mut g.t, [bad, bad, 0, 0, 0, 0]),
        Err(Errno::EINVAL),
        "equal numbers win over a bad descriptor"
    );
    assert_eq!(io::dup3(&mut g.t, [bad, w, 0, 0, 0, 0]), Err(Errno::EBADF));
    assert_eq!(io::dup3(&mut g.t, [r, bad, 0, 0, 0, 0]), Err(Errno::EBADF));
    let d = io::dup(&mut g.t, [w, 0, 0, 0, 0, 0]).expect("dup");
    assert_eq!(
        io::dup3(&mut g.t, [r, d, libc::O_CLOEXEC as u64, 0, 0, 0]),
        Ok(d)
    );
    assert_eq!(
        io::fcntl(&mut g.t, [d, libc::F_GETFD as u64, 0, 0, 0, 0]),
        Ok(libc::FD_CLOEXEC as u64)
    );
    close(&mut g, &[r, w, d]);
}

#[test]
fn close_range_refuses_a_reversed_range_and_unknown_flags() {
    let mut g = Guest::new();
    // fs/file.c close_range: flags, then fd > max_fd, both EINVAL.
    assert_eq!(
        io::close_range(&mut g.t, [10, 5, 0, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        io::close_range(&mut g.t, [10, 20, 0x80, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
    // A range wholly above the guest's limit closes nothing and succeeds.
    let bad = g.bad_fd();
    let (r, w) = pipe(&mut g, 0);
    assert_eq!(
        io::close_range(&mut g.t, [bad + 1, u64::from(u32::MAX), 0, 0, 0, 0]),
        Ok(0)
    );
    // A range of one closes that one.
    assert_eq!(io::close_range(&mut g.t, [w, w, 0, 0, 0, 0]), Ok(0));
    // Checked in this process's own table: the host number may already be reused by
    // a test running in parallel.
    assert!(
        g.t.proc.files().get(w as i32).is_none(),
        "still in the table"
    );
    close(&mut g, &[r]);
}

#[test]
fn fcntl_ioctl_and_lseek_refuse_what_does_not_apply() {
    let mut g = Guest::new();
    let (r, w) = pipe(&mut g, 0);
    assert_eq!(
        io::fcntl(&mut g.t, [r, 9999, 0, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
    let limit = g.bad_fd();
    assert_eq!(
        io::fcntl(&mut g.t, [r, libc::F_DUPFD as u64, limit, 0, 0, 0]),
        Err(Errno::EINVAL),
        "F_DUPFD at the limit"
    );
    assert_eq!(
        io::fcntl(&mut g.t, [r, libc::F_GETLK as u64, UNMAPPED, 0, 0, 0]),
        Err(Errno::EFAULT)
    );
    assert_eq!(
        io::ioctl(&mut g.t, [r, 0x1234, 0, 0, 0, 0]),
        Err(Errno::ENOTTY)
    );
    assert_eq!(
        io::ioctl(&mut g.t, [r, 0x5401, g.mem, 0, 0, 0]),
        Err(Errno::ENOTTY),
        "TCGETS of a pipe"
    );
    assert_eq!(io::lseek(&mut g.t, [r, 0, 0, 0, 0, 0]), Err(Errno::ESPIPE));
    close(&mut g, &[r, w]);
}
