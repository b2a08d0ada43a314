//! Waiting on descriptors: `ppoll`, epoll (`syscalls/poll.rs`).

use std::os::fd::AsRawFd;

use super::{close, Guest, UNMAPPED};
use crate::errno::Errno;
use crate::syscalls::{io, poll};

/// A pipe: (read end, write end).
fn pipe(g: &mut Guest) -> (u64, u64) {
    let va = g.mem + 0x8000;
    assert_eq!(io::pipe2(&mut g.t, [va, 0, 0, 0, 0, 0]), Ok(0));
    (g.i32_at(va) as u64, g.i32_at(va + 4) as u64)
}

/// A `struct pollfd`.
fn pollfd(fd: i32, events: i16) -> Vec<u8> {
    let mut b = fd.to_le_bytes().to_vec();
    b.extend_from_slice(&events.to_le_bytes());
    b.extend_from_slice(&0i16.to_le_bytes());
    b
}

#[test]
fn ppoll_reports_ready_descriptors_and_pollnval_for_numbers_not_the_guests() {
    let mut g = Guest::new();
    let (r, w) = pipe(&mut g);
    // A descriptor of the emulator's own, above the guest's limit.
    let mine = std::fs::File::open("/dev/null").expect("open /dev/null");
    let limit = g.bad_fd() as i32;
    // SAFETY: duplicating a descriptor this test owns; the copy is closed below.
    let high = unsafe { libc::fcntl(mine.as_raw_fd(), libc::F_DUPFD_CLOEXEC, limit) };
    assert!(high >= limit, "a descriptor above the guest's limit");
    let out = libc::POLLOUT;
    let fds = [
        pollfd(r as i32, libc::POLLIN),
        pollfd(w as i32, out),
        pollfd(high, out),
    ]
    .concat();
    let va = g.put(0, &fds);
    let zero = g.put(64, &[0; 16]);
    assert_eq!(poll::ppoll(&mut g.t, [va, 3, zero, 0, 8, 0]), Ok(2));
    let revents = |i: u64| g.get(va + 8 * i + 6, 2);
    assert_eq!(revents(0), [0, 0], "nothing to read");
    assert_eq!(revents(1), out.to_le_bytes(), "the write end is writable");
    assert_eq!(
        revents(2),
        libc::POLLNVAL.to_le_bytes(),
        "the emulator's descriptor is not the guest's"
    );
    // SAFETY: closing the copy made above.
    unsafe { libc::close(high) };
    close(&mut g, &[r, w]);
}

#[test]
fn ppoll_reads_the_timeout_and_mask_before_the_descriptors() {
    let mut g = Guest::new();
    // fs/select.c: the timeout (EFAULT, EINVAL), the mask (EINVAL, EFAULT), then
    // nfds against the limit and the array.
    let limit = g.bad_fd();
    assert_eq!(
        poll::ppoll(&mut g.t, [g.mem, limit + 1, UNMAPPED, 0, 8, 0]),
        Err(Errno::EFAULT),
        "a bad timeout wins over too many descriptors"
    );
    let bad_ts = g.put(
        64,
        &[0u64.to_le_bytes(), 1_000_000_000u64.to_le_bytes()].concat(),
    );
    assert_eq!(
        poll::ppoll(&mut g.t, [UNMAPPED, 1, bad_ts, 0, 8, 0]),
        Err(Errno::EINVAL),
        "an invalid timeout wins over a bad array"
    );
    let zero = g.put(96, &[0; 16]);
    let mask = g.put(128, &[0; 8]);
    assert_eq!(
        poll::ppoll(&mut g.t, [UNMAPPED, 1, zero, mask, 4, 0]),
        Err(Errno::EINVAL),
        "the mask's size wins over a bad array"
    );
    assert_eq!(
        poll::ppoll(&mut g.t, [g.mem, limit + 1, zero, 0, 8, 0]),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        poll::ppoll(&mut g.t, [UNMAPPED, 1, zero, 0, 8, 0]),
        Err(Errno::EFAULT)
    );
    assert_eq!(poll::ppoll(&mut g.t, [0, 0, zero, 0, 8, 0]), Ok(0));
}

/// A riscv64 `struct epoll_event`: events, padding, data.
fn event(events: u32, data: u64) -> Vec<u8> {
    let mut b = events.to_le_bytes().to_vec();
    b.extend_from_slice(&[0; 4]);
    b.extend_from_slice(&data.to_le_bytes());
    b
}

#[test]
fn epoll_converts_events_to_the_riscv64_layout() {
    let mut g = Guest::new();
    let (r, w) = pipe(&mut g);
    let ep = poll::epoll_create1(&mut g.t, [0, 0, 0, 0, 0, 0]).expect("epoll_create1");
    let ev = g.put(0, &event(libc::EPOLLOUT as u32, 0x1122_3344_5566_7788));
    let add = libc::EPOLL_CTL_ADD as u64;
    assert_eq!(poll::epoll_ctl(&mut g.t, [ep, add, w, ev, 0, 0]), Ok(0));
    let out = g.mem + 256;
    assert_eq!(poll::epoll_pwait(&mut g.t, [ep, out, 4, 0, 0, 8]), Ok(1));
    assert_eq!(
        g.get(out, 16),
        event(libc::EPOLLOUT as u32, 0x1122_3344_5566_7788)
    );
    close(&mut g, &[ep, r, w]);
}

#[test]
fn epoll_checks_in_linux_order() {
    let mut g = Guest::new();
    let (r, w) = pipe(&mut g);
    assert_eq!(
        poll::epoll_create1(&mut g.t, [0x4, 0, 0, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
    let ep = poll::epoll_create1(&mut g.t, [0, 0, 0, 0, 0, 0]).expect("epoll_create1");
    let (add, del) = (libc::EPOLL_CTL_ADD as u64, libc::EPOLL_CTL_DEL as u64);
    let bad = g.bad_fd();
    // fs/eventpoll.c: the event is copied before the descriptors are looked at...
    assert_eq!(
        poll::epoll_ctl(&mut g.t, [bad, add, bad, UNMAPPED, 0, 0]),
        Err(Errno::EFAULT)
    );
    let ev = g.put(0, &event(libc::EPOLLIN as u32, 7));
    assert_eq!(
        poll::epoll_ctl(&mut g.t, [bad, add, r, ev, 0, 0]),
        Err(Errno::EBADF)
    );
    assert_eq!(
        poll::epoll_ctl(&mut g.t, [ep, add, ep, ev, 0, 0]),
        Err(Errno::EINVAL),
        "an epoll instance watching itself"
    );
    assert_eq!(poll::epoll_ctl(&mut g.t, [ep, add, r, ev, 0, 0]), Ok(0));
    // ...and not at all for EPOLL_CTL_DEL.
    assert_eq!(
        poll::epoll_ctl(&mut g.t, [ep, del, r, UNMAPPED, 0, 0]),
        Ok(0)
    );
    // epoll_wait: maxevents before the descriptor.
    assert_eq!(
        poll::epoll_pwait(&mut g.t, [bad, g.mem, 0, 0, 0, 8]),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        poll::epoll_pwait(&mut g.t, [bad, g.mem, 1, 0, 0, 8]),
        Err(Errno::EBADF)
    );
    assert_eq!(
        poll::epoll_pwait(&mut g.t, [r, g.mem, 1, 0, 0, 8]),
        Err(Errno::EINVAL),
        "not an epoll descriptor"
    );
    close(&mut g, &[ep, r, w]);
}
