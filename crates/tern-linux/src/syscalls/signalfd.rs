//! `signalfd4`: a descriptor whose reads take the caller's pending signals of a
//! mask, as `struct signalfd_siginfo` (128 bytes, the same on every architecture).
//!
//! A guest's pending signals live in two places (see [`crate::signal`]): signals the
//! emulator queued itself (sent by the process to itself, realtime signals, POSIX
//! timers) in the process's queues, and signals from other processes that the guest
//! blocks, which wait in the host kernel (the guest's mask is the host thread's).
//! So the guest's descriptor is a host epoll instance watching two host descriptors
//! of the emulator's (above the guest's limit): a host signalfd for the second kind,
//! and an eventfd that [`crate::sigwatch::notify`] makes readable whenever a signal of the mask is
//! queued for the first. `poll`, `select` and `epoll` on the guest descriptor then
//! work as on Linux, without the emulator in the loop; a read takes queued signals
//! first, then the host's.
//!
//! The signalfds are registered per host process ([`crate::sigwatch`], bounded by
//! [`MAX_SIGNALFDS`]); an entry no guest descriptor names any more is dropped at the
//! next `signalfd4`. Not carried across `execve`. A snapshot records a signalfd's
//! mask and flags ([`mask_of`]); a restore makes it again ([`remake`]).

use std::sync::atomic::Ordering;

use crate::errno::{host, Errno, SysResult};
use crate::fs::{FdInfo, FdKind};
use crate::process::Process;
use crate::signal::{bit, mirrored, sig, SigInfo, UNBLOCKABLE};
use crate::sigwatch::{registry, Entry, Registry, ANY};
use crate::task::Task;

/// `SFD_CLOEXEC`, `SFD_NONBLOCK` (the `O_` values).
const SFD_CLOEXEC: u64 = libc::O_CLOEXEC as u64;
const SFD_NONBLOCK: u64 = libc::O_NONBLOCK as u64;

/// The most signalfds a process may have at once (each costs three host
/// descriptors).
pub const MAX_SIGNALFDS: usize = 256;

/// `si_code` of a POSIX timer's signal.
pub const SI_TIMER: i32 = -2;

/// Size of `struct signalfd_siginfo`.
const SSI: usize = 128;

/// The signalfd id of guest descriptor `fd`, if it is one (a `read` asks: without
/// any signalfd that is one load).
pub fn id_of(t: &Task, fd: i32) -> Option<u32> {
    if !ANY.load(Ordering::Relaxed) {
        return None;
    }
    match t.proc.files().get(fd)?.kind {
        FdKind::SignalFd(id) => Some(id),
        _ => None,
    }
}

/// Host sigset of the mirrored signals in a guest mask.
fn host_set(mask: u64) -> libc::sigset_t {
    // SAFETY: sigset manipulation on a local.
    unsafe {
        let mut s: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut s);
        for n in 1..32 {
            if mirrored(n) && mask & bit(n) != 0 {
                libc::sigaddset(&mut s, n);
            }
        }
        s
    }
}

/// Moves a new emulator descriptor above the guest's limit.
fn above_limit(limit: i32, fd: i32) -> Result<i32, Errno> {
    let fd = host(i64::from(fd))? as i32;
    // SAFETY: duplicating and closing our own new descriptor.
    let high = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, limit) };
    // SAFETY: as above.
    unsafe { libc::close(fd) };
    host(i64::from(high)).map(|v| v as i32)
}

fn owner_of(t: &Task) -> usize {
    std::sync::Arc::as_ptr(&t.proc) as usize
}

/// Drops entries of the caller's process that no guest descriptor names any more.
fn collect(t: &Task, r: &mut Registry) {
    let live: Vec<u32> = t
        .proc
        .files()
        .iter()
        .filter_map(|(_, i)| match i.kind {
            FdKind::SignalFd(id) => Some(id),
            _ => None,
        })
        .collect();
    let owner = owner_of(t);
    r.entries.retain(|e| {
        let keep = e.owner != owner || live.contains(&e.id);
        if !keep {
            // SAFETY: closing the emulator's own descriptors of a dead entry.
            unsafe {
                libc::close(e.sigfd);
                libc::close(e.event);
            }
        }
        keep
    });
}

/// `signalfd4(fd, mask, sizemask, flags)`: `fd` -1 makes a new one, a signalfd
/// gets the new mask. As in fs/signalfd.c: flags, then the mask size, then the
/// mask, then the descriptor (`EBADF`, or `EINVAL` for one that is no signalfd).
pub fn signalfd4(t: &mut Task, a: [u64; 6]) -> SysResult {
    if a[3] & !(SFD_CLOEXEC | SFD_NONBLOCK) != 0 || a[2] != 8 {
        return Err(Errno::EINVAL);
    }
    let mask = t.proc.read_u64(a[1])? & !UNBLOCKABLE;
    let fd = a[0] as i32;
    if fd != -1 {
        let fd = t.proc.files().check(a[0] as i32 as i64)?;
        // SAFETY: querying a descriptor number.
        if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
            return Err(Errno::EBADF);
        }
        let id = id_of(t, fd).ok_or(Errno::EINVAL)?;
        let mut r = registry();
        let e = r
            .entries
            .iter_mut()
            .find(|e| e.id == id && e.owner == owner_of(t))
            .ok_or(Errno::EINVAL)?;
        e.mask = mask;
        let set = host_set(mask);
        // SAFETY: updating our own host signalfd's mask.
        host(i64::from(unsafe { libc::signalfd(e.sigfd, &set, 0) }))?;
        let event = e.event;
        drop(r);
        refresh(t, mask, event);
        return Ok(fd as u64);
    }
    let mut r = registry();
    collect(t, &mut r);
    if r.entries.len() >= MAX_SIGNALFDS {
        return Err(Errno::EMFILE);
    }
    let (ep, sigfd, event) = make(t.proc.fd_limit, mask, a[3])?;
    let close_both = || {
        // SAFETY: closing our own descriptors.
        unsafe {
            libc::close(sigfd);
            libc::close(event);
        }
    };
    let id = r.next;
    r.next = r.next.wrapping_add(1).max(1);
    let flags = (a[3] as i32) | libc::O_RDWR;
    let fdres = {
        let mut files = t.proc.files();
        if ep >= files.limit {
            // SAFETY: closing what we made.
            unsafe { libc::close(ep) };
            close_both();
            return Err(Errno::EMFILE);
        }
        files.insert(
            ep,
            FdInfo {
                kind: FdKind::SignalFd(id),
                path: None,
                flags,
            },
        );
        ep
    };
    r.entries.push(Entry {
        id,
        owner: owner_of(t),
        mask,
        sigfd,
        event,
    });
    ANY.store(true, Ordering::SeqCst);
    drop(r);
    refresh(t, mask, event);
    Ok(fdres as u64)
}

/// The host side of a new signalfd watching `mask` (`flags`: `SFD_CLOEXEC`,
/// `SFD_NONBLOCK`): the guest's epoll descriptor (lowest free number) and the
/// emulator's host signalfd and eventfd (above `limit`).
fn make(limit: i32, mask: u64, flags: u64) -> Result<(i32, i32, i32), Errno> {
    let set = host_set(mask);
    // SAFETY: a new host signalfd and eventfd, both ours.
    let sigfd = above_limit(limit, unsafe {
        libc::signalfd(-1, &set, libc::SFD_NONBLOCK | libc::SFD_CLOEXEC)
    })?;
    // SAFETY: as above.
    let event = match above_limit(limit, unsafe {
        libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC)
    }) {
        Ok(e) => e,
        Err(e) => {
            // SAFETY: closing our own descriptor.
            unsafe { libc::close(sigfd) };
            return Err(e);
        }
    };
    let close_both = || {
        // SAFETY: closing our own descriptors.
        unsafe {
            libc::close(sigfd);
            libc::close(event);
        }
    };
    let cloexec = if flags & SFD_CLOEXEC != 0 {
        libc::EPOLL_CLOEXEC
    } else {
        0
    };
    // SAFETY: a new epoll instance: the guest's descriptor.
    let ep = unsafe { libc::epoll_create1(cloexec) };
    if ep < 0 {
        let e = Errno::last();
        close_both();
        return Err(e);
    }
    for inner in [sigfd, event] {
        let mut ev = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: inner as u64,
        };
        // SAFETY: adding our descriptors to the new epoll instance.
        if unsafe { libc::epoll_ctl(ep, libc::EPOLL_CTL_ADD, inner, &mut ev) } < 0 {
            let e = Errno::last();
            // SAFETY: closing what we made.
            unsafe { libc::close(ep) };
            close_both();
            return Err(e);
        }
    }
    if flags & SFD_NONBLOCK != 0 {
        // SAFETY: setting a status flag on our new descriptor.
        unsafe { libc::fcntl(ep, libc::F_SETFL, libc::O_NONBLOCK) };
    }
    Ok((ep, sigfd, event))
}

/// Makes signalfd `fd` of process `proc` again, watching `mask` with `flags`
/// (`SFD_CLOEXEC`, `SFD_NONBLOCK`): a restore, which records a signalfd by its mask
/// and flags. The guest descriptor `fd` gets the new registry id.
pub fn remake(proc: &Process, fd: i32, mask: u64, flags: u64) -> Result<(), String> {
    let mut r = registry();
    if r.entries.len() >= MAX_SIGNALFDS {
        return Err("too many signalfds".into());
    }
    let mask = mask & !UNBLOCKABLE;
    let (ep, sigfd, event) = make(proc.fd_limit, mask, flags & (SFD_CLOEXEC | SFD_NONBLOCK))
        .map_err(|e| format!("signalfd: {}", std::io::Error::from_raw_os_error(e.0)))?;
    let cloexec = if flags & SFD_CLOEXEC != 0 {
        libc::O_CLOEXEC
    } else {
        0
    };
    if ep != fd {
        // SAFETY: moving our new descriptor to its number, then closing it.
        let moved = unsafe { libc::dup3(ep, fd, cloexec) };
        // SAFETY: as above.
        unsafe { libc::close(ep) };
        if moved < 0 {
            // SAFETY: closing our own descriptors.
            unsafe {
                libc::close(sigfd);
                libc::close(event);
            }
            return Err(format!(
                "signalfd {fd}: {}",
                std::io::Error::last_os_error()
            ));
        }
    }
    let id = r.next;
    r.next = r.next.wrapping_add(1).max(1);
    proc.files().insert(
        fd,
        FdInfo {
            kind: FdKind::SignalFd(id),
            path: None,
            flags: (flags as i32) | libc::O_RDWR,
        },
    );
    r.entries.push(Entry {
        id,
        owner: proc as *const Process as usize,
        mask,
        sigfd,
        event,
    });
    ANY.store(true, Ordering::SeqCst);
    drop(r);
    let waiting = proc
        .pending
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .any(|i| bit(i.signo) & mask != 0)
        || proc
            .thread_pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .any(|(_, i)| bit(i.signo) & mask != 0);
    if waiting {
        let one = 1u64;
        // SAFETY: writing 8 bytes from a local to our own eventfd.
        unsafe { libc::write(event, (&one as *const u64).cast(), 8) };
    }
    Ok(())
}

/// The mask signalfd `id` of `proc` watches (for a snapshot).
pub fn mask_of(proc: &Process, id: u32) -> Option<u64> {
    let owner = proc as *const Process as usize;
    registry()
        .entries
        .iter()
        .find(|e| e.id == id && e.owner == owner)
        .map(|e| e.mask)
}

/// Sets the eventfd to whether queued signals of `mask` wait (for this thread or
/// the process).
fn refresh(t: &Task, mask: u64, event: i32) {
    let waiting = t
        .proc
        .pending
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .any(|i| bit(i.signo) & mask != 0)
        || t.proc
            .thread_pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .any(|(tid, i)| *tid == t.tid && bit(i.signo) & mask != 0);
    let mut v = 0u64;
    // SAFETY: reading/writing 8 bytes of a local from/to our own eventfd.
    unsafe {
        libc::read(event, (&mut v as *mut u64).cast(), 8);
        if waiting {
            v = 1;
            libc::write(event, (&v as *const u64).cast(), 8);
        }
    }
}

/// The `struct signalfd_siginfo` of a queued signal, as fs/signalfd.c fills it by
/// the layout of its `siginfo`.
pub fn ssi_bytes(i: &SigInfo) -> [u8; SSI] {
    let mut b = [0u8; SSI];
    b[0..4].copy_from_slice(&(i.signo as u32).to_le_bytes());
    b[8..12].copy_from_slice(&i.code.to_le_bytes());
    let pid = i.addr as u32;
    let uid = (i.addr >> 32) as u32;
    let fault = i.code > 0
        && matches!(
            i.signo,
            sig::SIGSEGV | sig::SIGBUS | sig::SIGILL | sig::SIGFPE | sig::SIGTRAP
        );
    if fault {
        b[72..80].copy_from_slice(&i.addr.to_le_bytes());
    } else if i.code == SI_TIMER {
        // addr: timer id | overrun << 32; value: sigval.
        b[24..28].copy_from_slice(&pid.to_le_bytes());
        b[32..36].copy_from_slice(&uid.to_le_bytes());
        b[44..48].copy_from_slice(&(i.value as u32).to_le_bytes());
        b[48..56].copy_from_slice(&i.value.to_le_bytes());
    } else {
        b[12..16].copy_from_slice(&pid.to_le_bytes());
        b[16..20].copy_from_slice(&uid.to_le_bytes());
        if i.signo == sig::SIGCHLD && i.code > 0 {
            b[40..44].copy_from_slice(&(i.value as u32).to_le_bytes());
        } else if i.code < 0 || i.signo >= 32 {
            b[44..48].copy_from_slice(&(i.value as u32).to_le_bytes());
            b[48..56].copy_from_slice(&i.value.to_le_bytes());
        }
    }
    b
}

/// Takes one queued signal of `mask` for thread `t` (its own first).
fn take_queued(t: &Task, mask: u64) -> Option<SigInfo> {
    {
        let mut tp = t
            .proc
            .thread_pending
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(i) = tp
            .iter()
            .position(|(tid, i)| *tid == t.tid && bit(i.signo) & mask != 0)
        {
            return Some(tp.remove(i).1);
        }
    }
    let mut p = t.proc.pending.lock().unwrap_or_else(|e| e.into_inner());
    let i = p.iter().position(|i| bit(i.signo) & mask != 0)?;
    Some(p.remove(i))
}

/// A read of signalfd `id` (guest descriptor `fd`) into `len` bytes at `va`:
/// whole `signalfd_siginfo`s, at least one (waiting for it unless `O_NONBLOCK`).
pub fn read(t: &mut Task, fd: i32, id: u32, va: u64, len: usize) -> SysResult {
    read_into(t, fd, id, &[(va, len)])
}

/// A read of signalfd `id` into user memory `pieces` (`read`, `readv`).
pub fn read_into(
    t: &mut Task,
    fd: i32,
    id: u32,
    pieces: &crate::syscalls::transfer::Pieces,
) -> SysResult {
    let len: usize = pieces.iter().map(|p| p.1).sum();
    if len < SSI {
        return Err(Errno::EINVAL);
    }
    let want = (len / SSI).min(64);
    let mut out: Vec<u8> = Vec::with_capacity(want * SSI);
    loop {
        for info in crate::signal::take_host_pending() {
            t.proc.post(info);
        }
        let (mask, sigfd, event) = {
            let r = registry();
            let e = r
                .entries
                .iter()
                .find(|e| e.id == id && e.owner == owner_of(t))
                .ok_or(Errno::EINVAL)?;
            (e.mask, e.sigfd, e.event)
        };
        while out.len() < want * SSI {
            if let Some(info) = take_queued(t, mask) {
                out.extend_from_slice(&ssi_bytes(&info));
                continue;
            }
            let mut b = [0u8; SSI];
            // SAFETY: reading one signalfd_siginfo into a local.
            let n = unsafe { libc::read(sigfd, b.as_mut_ptr().cast(), SSI) };
            if n == SSI as isize {
                out.extend_from_slice(&b);
                continue;
            }
            break;
        }
        refresh(t, mask, event);
        if !out.is_empty() {
            crate::syscalls::transfer::scatter(t, pieces, 0, &out)?;
            return Ok(out.len() as u64);
        }
        // SAFETY: querying our descriptor's status flags.
        let fl = unsafe { libc::fcntl(fd, libc::F_GETFL) };
        if fl >= 0 && fl & libc::O_NONBLOCK != 0 {
            return Err(Errno::EAGAIN);
        }
        if t.signal_pending() {
            return Err(Errno::EINTR);
        }
        let mut p = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        let set = host_set(t.sigmask);
        // SAFETY: one pollfd and a sigset, both locals; the wake-up signal stays
        // deliverable, so a signal for this thread interrupts the wait.
        unsafe { libc::ppoll(&mut p, 1, std::ptr::null(), &set) };
    }
}
