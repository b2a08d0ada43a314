//! signalfd, POSIX timers and pidfds (`syscalls/signalfd.rs`, `timer.rs`,
//! `pidfd.rs`). Signals here are the emulated process's own (queued by the
//! handlers), never host signals: the tests share one host process.

use super::{close, Guest, UNMAPPED};
use crate::errno::Errno;
use crate::signal::{bit, sig};
use crate::syscalls::{io, pidfd, signal, signalfd, timer};

const NONBLOCK: u64 = libc::O_NONBLOCK as u64;

#[test]
fn signalfd4_checks_flags_then_size_then_mask_then_descriptor() {
    let mut g = Guest::new();
    let mask = g.put(0, &bit(sig::SIGUSR1).to_le_bytes());
    let bad = g.bad_fd();
    assert_eq!(
        signalfd::signalfd4(&mut g.t, [bad, UNMAPPED, 4, 1, 0, 0]),
        Err(Errno::EINVAL),
        "flags first"
    );
    assert_eq!(
        signalfd::signalfd4(&mut g.t, [bad, UNMAPPED, 4, 0, 0, 0]),
        Err(Errno::EINVAL),
        "then the mask size"
    );
    assert_eq!(
        signalfd::signalfd4(&mut g.t, [bad, UNMAPPED, 8, 0, 0, 0]),
        Err(Errno::EFAULT),
        "then the mask"
    );
    assert_eq!(
        signalfd::signalfd4(&mut g.t, [bad, mask, 8, 0, 0, 0]),
        Err(Errno::EBADF),
        "then the descriptor"
    );
    let ev = io::eventfd2(&mut g.t, [0, 0, 0, 0, 0, 0]).unwrap();
    assert_eq!(
        signalfd::signalfd4(&mut g.t, [ev, mask, 8, 0, 0, 0]),
        Err(Errno::EINVAL),
        "a descriptor that is no signalfd"
    );
    close(&mut g, &[ev]);
}

#[test]
fn signalfd_reads_queued_signals_of_its_mask_only() {
    let mut g = Guest::new();
    g.t.set_mask(bit(sig::SIGUSR1) | bit(40));
    let mask = g.put(0, &(bit(sig::SIGUSR1) | bit(40)).to_le_bytes());
    let fd = signalfd::signalfd4(&mut g.t, [u64::MAX, mask, 8, NONBLOCK, 0, 0]).unwrap();
    let buf = g.mem + 1024;
    assert_eq!(
        io::read(&mut g.t, [fd, buf, 512, 0, 0, 0]),
        Err(Errno::EAGAIN)
    );
    assert_eq!(
        io::read(&mut g.t, [fd, buf, 127, 0, 0, 0]),
        Err(Errno::EINVAL),
        "less than one signalfd_siginfo"
    );
    let pid = g.t.proc_pid() as u64;
    signal::kill(&mut g.t, [pid, sig::SIGUSR1 as u64, 0, 0, 0, 0]).unwrap();
    // A realtime signal with a value, and one outside the mask.
    let mut info = [0u8; 128];
    info[0..4].copy_from_slice(&40i32.to_le_bytes());
    info[8..12].copy_from_slice(&(-1i32).to_le_bytes());
    info[24..32].copy_from_slice(&77u64.to_le_bytes());
    let ip = g.put(2048, &info);
    signal::rt_sigqueueinfo(&mut g.t, [pid, 40, ip, 0, 0, 0]).unwrap();
    signal::rt_sigqueueinfo(&mut g.t, [pid, 41, ip, 0, 0, 0]).unwrap();
    // readv scatters them (two iovecs: 100 + 412 bytes).
    let iov = g.put(
        4096,
        &[buf, 100, buf + 100, 412]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect::<Vec<u8>>(),
    );
    assert_eq!(io::readv(&mut g.t, [fd, iov, 2, 0, 0, 0], false), Ok(256));
    assert_eq!(g.i32_at(buf), sig::SIGUSR1);
    assert_eq!(g.i32_at(buf + 128), 40);
    assert_eq!(g.i32_at(buf + 128 + 8), -1, "ssi_code");
    assert_eq!(g.i32_at(buf + 128 + 44), 77, "ssi_int");
    assert_eq!(g.u64_at(buf + 128 + 48), 77, "ssi_ptr");
    let left: Vec<i32> = g
        .proc
        .pending
        .lock()
        .unwrap()
        .iter()
        .map(|i| i.signo)
        .collect();
    assert_eq!(left, vec![41], "the signal outside the mask stays pending");
    close(&mut g, &[fd]);
}

#[test]
fn signalfd_takes_a_new_mask_and_is_collected_after_close() {
    let mut g = Guest::new();
    let m1 = g.put(0, &bit(sig::SIGUSR1).to_le_bytes());
    let m2 = g.put(8, &bit(sig::SIGUSR2).to_le_bytes());
    let fd = signalfd::signalfd4(&mut g.t, [u64::MAX, m1, 8, NONBLOCK, 0, 0]).unwrap();
    assert_eq!(signalfd::signalfd4(&mut g.t, [fd, m2, 8, 0, 0, 0]), Ok(fd));
    let pid = g.t.proc_pid() as u64;
    signal::kill(&mut g.t, [pid, sig::SIGUSR2 as u64, 0, 0, 0, 0]).unwrap();
    let buf = g.mem + 1024;
    assert_eq!(io::read(&mut g.t, [fd, buf, 128, 0, 0, 0]), Ok(128));
    assert_eq!(g.i32_at(buf), sig::SIGUSR2);
    close(&mut g, &[fd]);
}

/// A `struct sigevent`: value, signo, notify, thread id.
fn sigevent(value: u64, signo: i32, notify: i32, tid: i32) -> Vec<u8> {
    let mut b = vec![0u8; 64];
    b[0..8].copy_from_slice(&value.to_le_bytes());
    b[8..12].copy_from_slice(&signo.to_le_bytes());
    b[12..16].copy_from_slice(&notify.to_le_bytes());
    b[16..20].copy_from_slice(&tid.to_le_bytes());
    b
}

#[test]
fn timer_create_checks_the_event_then_the_clock() {
    let mut g = Guest::new();
    let out = g.mem + 512;
    assert_eq!(
        timer::timer_create(&mut g.t, [99, UNMAPPED, out, 0, 0, 0]),
        Err(Errno::EFAULT),
        "the sigevent is copied first"
    );
    let ev = g.put(0, &sigevent(1, sig::SIGUSR1, 0, 0));
    assert_eq!(
        timer::timer_create(&mut g.t, [99, ev, out, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        timer::timer_create(&mut g.t, [4, ev, out, 0, 0, 0]),
        Err(Errno(libc::EOPNOTSUPP)),
        "CLOCK_MONOTONIC_RAW has no timers"
    );
    let bad_sig = g.put(64, &sigevent(1, 0, 0, 0));
    assert_eq!(
        timer::timer_create(&mut g.t, [1, bad_sig, out, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
    let bad_tid = g.put(128, &sigevent(1, sig::SIGUSR1, 4, -5));
    assert_eq!(
        timer::timer_create(&mut g.t, [1, bad_tid, out, 0, 0, 0]),
        Err(Errno::EINVAL),
        "SIGEV_THREAD_ID names no thread of the process"
    );
    assert_eq!(
        timer::timer_create(&mut g.t, [1, ev, UNMAPPED, 0, 0, 0]),
        Err(Errno::EFAULT)
    );
    assert_eq!(timer::timer_create(&mut g.t, [1, ev, out, 0, 0, 0]), Ok(0));
    let id = u64::from(g.proc.read_u32(out).unwrap());
    // Another process does not see the timer.
    let mut other = Guest::new();
    assert_eq!(
        timer::timer_delete(&mut other.t, [id, 0, 0, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
    assert_eq!(timer::timer_delete(&mut g.t, [id, 0, 0, 0, 0, 0]), Ok(0));
    assert_eq!(
        timer::timer_delete(&mut g.t, [id, 0, 0, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
}

#[test]
fn timer_expiry_queues_si_timer_with_the_value() {
    let mut g = Guest::new();
    let out = g.mem + 512;
    let ev = g.put(0, &sigevent(0x55, 42, 0, 0));
    timer::timer_create(&mut g.t, [1, ev, out, 0, 0, 0]).unwrap();
    let id = u64::from(g.proc.read_u32(out).unwrap());
    let mut its = vec![0u8; 32];
    its[24..32].copy_from_slice(&2_000_000i64.to_le_bytes());
    let new = g.put(600, &its);
    let bad = g.put(700, &{
        let mut b = its.clone();
        b[24..32].copy_from_slice(&1_000_000_000i64.to_le_bytes());
        b
    });
    assert_eq!(
        timer::timer_settime(&mut g.t, [id, 0, bad, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        timer::timer_settime(&mut g.t, [id + 1000, 0, new, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
    assert_eq!(timer::timer_settime(&mut g.t, [id, 0, new, 0, 0, 0]), Ok(0));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let info = loop {
        if let Some(i) = g.proc.pending.lock().unwrap().first().copied() {
            break i;
        }
        assert!(std::time::Instant::now() < deadline, "the timer fired");
        std::thread::sleep(std::time::Duration::from_millis(1));
    };
    assert_eq!(info.signo, 42);
    assert_eq!(info.code, signalfd::SI_TIMER);
    assert_eq!(info.addr as u32 as u64, id);
    assert_eq!(info.value, 0x55);
    let cur = g.mem + 800;
    assert_eq!(timer::timer_gettime(&mut g.t, [id, cur, 0, 0, 0, 0]), Ok(0));
    assert_eq!(
        g.get(cur, 32),
        vec![0u8; 32],
        "a one-shot timer is disarmed"
    );
    assert_eq!(
        timer::timer_getoverrun(&mut g.t, [id, 0, 0, 0, 0, 0]),
        Ok(0)
    );
    timer::timer_delete(&mut g.t, [id, 0, 0, 0, 0, 0]).unwrap();
}

#[test]
fn pidfd_calls_check_their_arguments() {
    let mut g = Guest::new();
    assert_eq!(
        pidfd::pidfd_open(&mut g.t, [0, 0, 0, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
    let pid = g.t.proc_pid() as u64;
    assert_eq!(
        pidfd::pidfd_open(&mut g.t, [pid, 1, 0, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
    let fd = pidfd::pidfd_open(&mut g.t, [pid, 0, 0, 0, 0, 0]).unwrap();
    assert_eq!(
        pidfd::pidfd_send_signal(&mut g.t, [fd, 10, 0, 8, 0, 0]),
        Err(Errno::EINVAL)
    );
    let bad = g.bad_fd();
    assert_eq!(
        pidfd::pidfd_send_signal(&mut g.t, [bad, 10, 0, 0, 0, 0]),
        Err(Errno::EBADF)
    );
    // To itself: through the guest's queue.
    assert_eq!(
        pidfd::pidfd_send_signal(&mut g.t, [fd, 40, 0, 0, 0, 0]),
        Ok(0)
    );
    assert!(g.proc.pending.lock().unwrap().iter().any(|i| i.signo == 40));
    close(&mut g, &[fd]);
}

#[test]
fn pidfd_open_refuses_processes_outside_the_vm() {
    let mut g = Guest::new();
    // pid 1 is no descendant of the test process.
    assert_eq!(
        pidfd::pidfd_open(&mut g.t, [1, 0, 0, 0, 0, 0]),
        Err(Errno::EPERM)
    );
}

#[test]
fn inotify_checks_the_mask_then_the_descriptor_then_the_path() {
    use crate::syscalls::inotify;
    let mut g = Guest::new();
    assert_eq!(
        inotify::inotify_init1(&mut g.t, [1, 0, 0, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
    let fd = inotify::inotify_init1(&mut g.t, [0, 0, 0, 0, 0, 0]).unwrap();
    let bad = g.bad_fd();
    assert_eq!(
        inotify::inotify_add_watch(&mut g.t, [bad, UNMAPPED, 0, 0, 0, 0]),
        Err(Errno::EINVAL),
        "an empty mask first"
    );
    assert_eq!(
        inotify::inotify_add_watch(&mut g.t, [bad, UNMAPPED, 0x100, 0, 0, 0]),
        Err(Errno::EBADF),
        "then the descriptor"
    );
    assert_eq!(
        inotify::inotify_add_watch(&mut g.t, [fd, UNMAPPED, 0x100, 0, 0, 0]),
        Err(Errno::EFAULT),
        "then the path"
    );
    let ev = io::eventfd2(&mut g.t, [0, 0, 0, 0, 0, 0]).unwrap();
    let dir = g.cstr(0, "/");
    assert_eq!(
        inotify::inotify_add_watch(&mut g.t, [ev, dir, 0x100, 0, 0, 0]),
        Err(Errno::EINVAL),
        "no inotify instance"
    );
    let wd = inotify::inotify_add_watch(&mut g.t, [fd, dir, 0x100, 0, 0, 0]).unwrap();
    assert_eq!(
        inotify::inotify_rm_watch(&mut g.t, [fd, wd, 0, 0, 0, 0]),
        Ok(0)
    );
    assert_eq!(
        inotify::inotify_rm_watch(&mut g.t, [fd, wd, 0, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
    close(&mut g, &[fd, ev]);
}

#[test]
fn xattr_names_are_checked_before_the_host_sees_them() {
    use crate::syscalls::xattr::{self, Target};
    let mut g = Guest::new();
    let path = g.cstr(0, "/");
    let empty = g.cstr(64, "");
    let long = g.cstr(128, &format!("user.{}", "a".repeat(300)));
    let buf = g.mem + 1024;
    assert_eq!(
        xattr::getxattr(&mut g.t, [path, empty, buf, 16, 0, 0], Target::Path),
        Err(Errno::ERANGE)
    );
    assert_eq!(
        xattr::getxattr(&mut g.t, [path, long, buf, 16, 0, 0], Target::Path),
        Err(Errno::ERANGE)
    );
    let name = g.cstr(512, "user.x");
    assert_eq!(
        xattr::setxattr(&mut g.t, [path, name, buf, 1, 4, 0], Target::Path),
        Err(Errno::EINVAL),
        "unknown flags"
    );
    assert_eq!(
        xattr::setxattr(&mut g.t, [path, name, buf, 65537, 0, 0], Target::Path),
        Err(Errno(libc::E2BIG))
    );
    assert_eq!(
        xattr::setxattr(&mut g.t, [path, name, UNMAPPED, 4, 0, 0], Target::Path),
        Err(Errno::EFAULT)
    );
    let bad = g.bad_fd();
    assert_eq!(
        xattr::listxattr(&mut g.t, [bad, buf, 16, 0, 0, 0], Target::Fd),
        Err(Errno::EBADF)
    );
}

#[test]
fn recvmmsg_checks_its_timeout() {
    use crate::syscalls::{mmsg, net};
    let mut g = Guest::new();
    let sv = g.mem + 256;
    net::socketpair(&mut g.t, [1, 2, 0, sv, 0, 0]).unwrap();
    let (a, b) = (g.i32_at(sv) as u64, g.i32_at(sv + 4) as u64);
    let ts = g.put(
        512,
        &[0i64.to_le_bytes(), 2_000_000_000i64.to_le_bytes()].concat(),
    );
    assert_eq!(
        mmsg::recvmmsg(&mut g.t, [a, g.mem + 1024, 1, 0x40, ts, 0]),
        Err(Errno::EINVAL)
    );
    let bad = g.bad_fd();
    assert_eq!(
        mmsg::sendmmsg(&mut g.t, [bad, g.mem + 1024, 1, 0, 0, 0]),
        Err(Errno::EBADF)
    );
    close(&mut g, &[a, b]);
}

#[test]
fn capset_allows_the_empty_sets_and_nothing_more() {
    use crate::syscalls::sched_attr;
    let mut g = Guest::new();
    let hdr = g.put(
        0,
        &[0x2008_0522u32.to_le_bytes(), 0u32.to_le_bytes()].concat(),
    );
    let zeros = g.put(64, &[0u8; 24]);
    assert_eq!(
        sched_attr::capset(&mut g.t, [hdr, zeros, 0, 0, 0, 0]),
        Ok(0)
    );
    let mut caps = [0u8; 24];
    caps[0] = 1; // CAP_CHOWN effective
    let some = g.put(128, &caps);
    assert_eq!(
        sched_attr::capset(&mut g.t, [hdr, some, 0, 0, 0, 0]),
        Err(Errno::EPERM)
    );
    let v1 = g.put(
        256,
        &[0x1998_0330u32.to_le_bytes(), 0u32.to_le_bytes()].concat(),
    );
    // Version 1 reads one 12-byte set: the bits beyond it are not looked at.
    let tail = g.put(320, &{
        let mut b = [0u8; 24];
        b[20] = 1;
        b
    });
    assert_eq!(sched_attr::capset(&mut g.t, [v1, tail, 0, 0, 0, 0]), Ok(0));
}

#[test]
fn ioprio_never_passes_the_sandbox_marker_on() {
    use crate::syscalls::sched_attr;
    let mut g = Guest::new();
    let marker = tern_sandbox_marker();
    assert_eq!(
        sched_attr::ioprio_get(&mut g.t, [marker, 0, 0, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        sched_attr::ioprio_set(&mut g.t, [1, 0, 1 << 13, 0, 0, 0]),
        Err(Errno::EPERM),
        "the realtime class needs a privilege"
    );
}

/// `tern_sandbox::filter::common::MARKER` (not a dependency of this crate).
fn tern_sandbox_marker() -> u64 {
    0x7465_726e
}

#[test]
fn sched_setattr_refuses_realtime_and_deadline() {
    use crate::syscalls::sched_attr;
    let mut g = Guest::new();
    let mut attr = [0u8; 56];
    attr[0..4].copy_from_slice(&56u32.to_le_bytes());
    attr[4..8].copy_from_slice(&1u32.to_le_bytes()); // SCHED_FIFO
    attr[20..24].copy_from_slice(&10u32.to_le_bytes());
    let va = g.put(0, &attr);
    assert_eq!(
        sched_attr::sched_setattr(&mut g.t, [0, va, 0, 0, 0, 0]),
        Err(Errno::EPERM)
    );
    attr[4..8].copy_from_slice(&6u32.to_le_bytes()); // SCHED_DEADLINE
    let va = g.put(0, &attr);
    assert_eq!(
        sched_attr::sched_setattr(&mut g.t, [0, va, 0, 0, 0, 0]),
        Err(Errno::EPERM)
    );
    // pid 1 is outside the VM.
    assert_eq!(
        sched_attr::sched_getattr(&mut g.t, [1, va, 56, 0, 0, 0]),
        Err(Errno::ESRCH)
    );
}

#[test]
fn mincore_reports_installed_pages() {
    use crate::syscalls::mincore;
    let mut g = Guest::new();
    let page = g.mem;
    g.put(0, &[1]);
    let vec = g.mem + 8192;
    assert_eq!(
        mincore::mincore(&mut g.t, [page, 4096, vec, 0, 0, 0]),
        Ok(0)
    );
    assert_eq!(g.get(vec, 1), vec![1]);
    assert_eq!(
        mincore::mincore(&mut g.t, [UNMAPPED, 4096, vec, 0, 0, 0]),
        Err(Errno::ENOMEM)
    );
    assert_eq!(
        mincore::mincore(&mut g.t, [page + 1, 4096, vec, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
}

#[test]
fn kcmp_compares_open_file_descriptions() {
    use crate::syscalls::kcmp;
    let mut g = Guest::new();
    let me = g.t.proc_pid() as u64;
    let a = io::eventfd2(&mut g.t, [0, 0, 0, 0, 0, 0]).unwrap();
    let b = io::dup(&mut g.t, [a, 0, 0, 0, 0, 0]).unwrap();
    let c = io::eventfd2(&mut g.t, [0, 0, 0, 0, 0, 0]).unwrap();
    assert_eq!(kcmp::kcmp(&mut g.t, [me, me, 0, a, b, 0]), Ok(0));
    let r = kcmp::kcmp(&mut g.t, [me, me, 0, a, c, 0]).unwrap();
    assert!(r == 1 || r == 2, "{r}");
    assert_eq!(
        kcmp::kcmp(&mut g.t, [me, 1, 1, 0, 0, 0]),
        Err(Errno::EPERM),
        "pid 1 is outside the VM"
    );
    assert_eq!(
        kcmp::kcmp(&mut g.t, [me, me, 8, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
    close(&mut g, &[a, b, c]);
}

#[test]
fn mq_names_are_checked_and_kept_per_vm() {
    use crate::syscalls::mqueue;
    let mut g = Guest::new();
    let slash = g.cstr(0, "a/b");
    assert_eq!(
        mqueue::mq_open(&mut g.t, [slash, 0, 0, 0, 0, 0]),
        Err(Errno::EACCES)
    );
    let empty = g.cstr(64, "");
    assert_eq!(
        mqueue::mq_unlink(&mut g.t, [empty, 0, 0, 0, 0, 0]),
        Err(Errno::ENOENT)
    );
    let long = g.cstr(128, &"q".repeat(250));
    assert_eq!(
        mqueue::mq_open(&mut g.t, [long, 0, 0, 0, 0, 0]),
        Err(Errno::ENAMETOOLONG),
        "the VM's prefix counts against NAME_MAX"
    );
    assert_eq!(
        mqueue::mq_open(&mut g.t, [UNMAPPED, 0, 0, 0, 0, 0]),
        Err(Errno::EFAULT)
    );
}

#[test]
fn timers_take_any_number_of_seconds() {
    let mut g = Guest::new();
    let out = g.mem + 512;
    let ev = g.put(0, &sigevent(0, 42, 1, 0)); // SIGEV_NONE
    timer::timer_create(&mut g.t, [1, ev, out, 0, 0, 0]).unwrap();
    let id = u64::from(g.proc.read_u32(out).unwrap());
    let mut its = vec![0u8; 32];
    its[0..8].copy_from_slice(&i64::MAX.to_le_bytes());
    its[16..24].copy_from_slice(&i64::MAX.to_le_bytes());
    let new = g.put(600, &its);
    assert_eq!(timer::timer_settime(&mut g.t, [id, 0, new, 0, 0, 0]), Ok(0));
    let cur = g.mem + 800;
    assert_eq!(timer::timer_gettime(&mut g.t, [id, cur, 0, 0, 0, 0]), Ok(0));
    assert!(g.u64_at(cur + 16) > 1 << 31, "armed far away");
    // An absolute time long past expires at once, without overflow.
    its[0..8].copy_from_slice(&1i64.to_le_bytes());
    its[16..24].copy_from_slice(&1i64.to_le_bytes());
    let past = g.put(700, &its);
    assert_eq!(
        timer::timer_settime(&mut g.t, [id, 1, past, 0, 0, 0]),
        Ok(0)
    );
    timer::timer_delete(&mut g.t, [id, 0, 0, 0, 0, 0]).unwrap();
}
