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

#[test]
fn address_lengths_follow_move_addr_to_user() {
    let mut g = Guest::new();
    let (a, b) = pair(&mut g);
    let addr = g.mem + 256;
    let len = g.put(512, &128u32.to_le_bytes());
    for nr in [libc::SYS_getsockname, libc::SYS_getpeername] {
        assert_eq!(
            net::addr_out(&mut g.t, [a, addr, 0, 0, 0, 0], nr),
            Err(Errno::EFAULT),
            "no length pointer"
        );
        assert_eq!(
            net::addr_out(&mut g.t, [a, addr, UNMAPPED, 0, 0, 0], nr),
            Err(Errno::EFAULT)
        );
        g.put(512, &(-1i32).to_le_bytes());
        assert_eq!(
            net::addr_out(&mut g.t, [a, addr, len, 0, 0, 0], nr),
            Err(Errno::EINVAL),
            "a negative length"
        );
        g.put(512, &128u32.to_le_bytes());
        assert_eq!(net::addr_out(&mut g.t, [a, addr, len, 0, 0, 0], nr), Ok(0));
    }
    // recvfrom takes the data, then refuses the negative length.
    let src = g.put(0, b"x");
    assert_eq!(net::sendto(&mut g.t, [b, src, 1, 0, 0, 0]), Ok(1));
    g.put(512, &(-1i32).to_le_bytes());
    assert_eq!(
        net::recvfrom(&mut g.t, [a, g.mem + 64, 1, 0, addr, len]),
        Err(Errno::EINVAL)
    );
    close(&mut g, &[a, b]);
}

#[test]
fn recvmsg_and_sendmsg_refuse_too_many_iovecs_with_emsgsize() {
    let mut g = Guest::new();
    let (a, b) = pair(&mut g);
    let iov = g.put(0, &[g.mem.to_le_bytes(), 1u64.to_le_bytes()].concat());
    let mut hdr = vec![0u8; 56];
    hdr[16..24].copy_from_slice(&iov.to_le_bytes());
    hdr[24..32].copy_from_slice(&2000u64.to_le_bytes());
    let m = g.put(64, &hdr);
    let dontwait = libc::MSG_DONTWAIT as u64;
    assert_eq!(
        net::recvmsg(&mut g.t, [a, m, dontwait, 0, 0, 0]),
        Err(Errno::EMSGSIZE)
    );
    assert_eq!(
        net::sendmsg(&mut g.t, [a, m, dontwait, 0, 0, 0]),
        Err(Errno::EMSGSIZE)
    );
    close(&mut g, &[a, b]);
}

#[test]
fn accept_into_a_bad_address_drops_the_connection() {
    let mut g = Guest::new();
    // SAFETY: plain socket calls on host descriptors this test owns.
    let (listener, client) = unsafe {
        let l = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
        let mut sa: libc::sockaddr_in = std::mem::zeroed();
        sa.sin_family = libc::AF_INET as u16;
        sa.sin_addr.s_addr = u32::from_be_bytes([127, 0, 0, 1]).to_be();
        let mut len = std::mem::size_of::<libc::sockaddr_in>() as u32;
        assert_eq!(libc::bind(l, (&raw const sa).cast(), len), 0);
        assert_eq!(libc::listen(l, 4), 0);
        libc::getsockname(l, (&raw mut sa).cast(), &mut len);
        let c = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
        assert_eq!(libc::connect(c, (&raw const sa).cast(), len), 0);
        (l, c)
    };
    let before = g.open_fds();
    let len = g.put(0, &16u32.to_le_bytes());
    assert_eq!(
        net::accept(&mut g.t, [listener as u64, UNMAPPED, len, 0, 0, 0]),
        Err(Errno::EFAULT)
    );
    assert_eq!(g.open_fds(), before, "no descriptor for it");
    // SAFETY: poll and read on the test's own client socket.
    unsafe {
        let mut p = libc::pollfd {
            fd: client,
            events: libc::POLLIN,
            revents: 0,
        };
        assert_eq!(libc::poll(&mut p, 1, 5000), 1, "the peer sees the end");
        let mut b = 0u8;
        assert_eq!(libc::read(client, (&raw mut b).cast(), 1), 0);
        libc::close(client);
        libc::close(listener);
    }
}
