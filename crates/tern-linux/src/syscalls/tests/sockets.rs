//! Sockets (`syscalls/net.rs`).

use super::{close, Guest, UNMAPPED};
use crate::errno::Errno;
use crate::syscalls::net;

const STREAM: u64 = libc::SOCK_STREAM as u64;
const UNIX: u64 = libc::AF_UNIX as u64;

/// A connected pair of Unix stream sockets.
fn pair(g: &mut Guest) -> (u64, u64) {
    let va = g.mem + 0x8000;
    assert_eq!(
        net::socketpair(&mut g.t, [UNIX, STREAM, 0, va, 0, 0]),
        Ok(0)
    );
    (g.i32_at(va) as u64, g.i32_at(va + 4) as u64)
}

#[test]
fn socket_refuses_unknown_families_and_types() {
    let mut g = Guest::new();
    let before = g.open_fds();
    assert_eq!(
        net::socket(&mut g.t, [9999, STREAM, 0, 0, 0, 0]),
        Err(Errno(libc::EAFNOSUPPORT))
    );
    assert_eq!(
        net::socket(&mut g.t, [UNIX, 99, 0, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
    assert_eq!(g.open_fds(), before);
}

#[test]
fn socketpair_into_a_bad_pointer_leaves_no_descriptor_behind() {
    let mut g = Guest::new();
    let before = g.open_fds();
    assert_eq!(
        net::socketpair(&mut g.t, [UNIX, STREAM, 0, UNMAPPED, 0, 0]),
        Err(Errno::EFAULT)
    );
    let ro = g.read_only_page();
    assert_eq!(
        net::socketpair(&mut g.t, [UNIX, STREAM, 0, ro, 0, 0]),
        Err(Errno::EFAULT)
    );
    assert_eq!(g.open_fds(), before, "the pair was closed again");
}

#[test]
fn sendto_and_recvfrom_copy_through_user_memory() {
    let mut g = Guest::new();
    let (a, b) = pair(&mut g);
    let src = g.put(0, b"ping");
    assert_eq!(net::sendto(&mut g.t, [a, src, 4, 0, 0, 0]), Ok(4));
    let dst = g.mem + 64;
    assert_eq!(net::recvfrom(&mut g.t, [b, dst, 64, 0, 0, 0]), Ok(4));
    assert_eq!(g.get(dst, 4), b"ping");
    assert_eq!(
        net::sendto(&mut g.t, [a, UNMAPPED, 4, 0, 0, 0]),
        Err(Errno::EFAULT)
    );
    let long = g.put(128, &[0; 8]);
    assert_eq!(
        net::sendto(&mut g.t, [a, src, 4, 0, long, 129]),
        Err(Errno::EINVAL),
        "an address longer than sockaddr_storage"
    );
    let bad = g.bad_fd();
    assert_eq!(
        net::recvfrom(&mut g.t, [bad, dst, 4, 0, 0, 0]),
        Err(Errno::EBADF)
    );
    close(&mut g, &[a, b]);
}

#[test]
fn getsockopt_reads_the_length_first_and_refuses_a_negative_one() {
    let mut g = Guest::new();
    let (a, b) = pair(&mut g);
    let (sol, so_type) = (libc::SOL_SOCKET as u64, libc::SO_TYPE as u64);
    let val = g.mem + 64;
    let len = g.put(128, &4u32.to_le_bytes());
    assert_eq!(
        net::getsockopt(&mut g.t, [a, sol, so_type, val, len, 0]),
        Ok(0)
    );
    assert_eq!(g.i32_at(val), libc::SOCK_STREAM);
    assert_eq!(g.i32_at(len), 4);
    assert_eq!(
        net::getsockopt(&mut g.t, [a, sol, so_type, val, UNMAPPED, 0]),
        Err(Errno::EFAULT)
    );
    let negative = g.put(136, &(-1i32).to_le_bytes());
    assert_eq!(
        net::getsockopt(&mut g.t, [a, sol, so_type, val, negative, 0]),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        net::setsockopt(&mut g.t, [a, sol, so_type, UNMAPPED, 4, 0]),
        Err(Errno::EFAULT)
    );
    close(&mut g, &[a, b]);
}
