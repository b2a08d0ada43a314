//! Descriptors in snapshots: recording what each guest descriptor is, and opening it
//! again in another host process.
//!
//! Guest descriptors are host descriptors (see [`crate::fs`]), so what a snapshot
//! needs is read from the host: the file offset and status flags from
//! `/proc/<pid>/fdinfo/<fd>` (the thread-group leader's table, which is the guest's:
//! the control API runs in a private descriptor table, see [`crate::hostfd`]), an
//! epoll instance's interest list and an eventfd's counter from the same place.
//!
//! Descriptors whose state is more than flags and an offset (pipes, socketpairs,
//! memfds, timerfds) are recorded on a guest thread of the paused process
//! ([`crate::pause::Pause::on_parked_thread`]), where the descriptor numbers are the
//! guest's.
//!
//! What can be recorded and reopened:
//! - files and directories opened by path: reopened by guest path through the file
//!   view with the same flags (less `O_CREAT`, `O_EXCL`, `O_TRUNC`), and seeked;
//! - epoll instances: recreated with the same interest list (descriptor, events, data);
//! - eventfds: recreated with the same counter and flags;
//! - pipes made by the program, with the bytes in them, their capacity and each
//!   end's `O_NONBLOCK`; Unix socketpairs (stream, datagram, seqpacket) with the
//!   data queued at each end, message boundaries kept (see [`super::saved_chan`]).
//!   An end the program no longer holds is closed again after the restore;
//! - memfds (name, size, seals, contents) and timerfds (clock, flags, time to the
//!   next expiry, interval), see [`super::saved_anon`];
//! - descriptors the program inherited (0, 1, 2 and others): taken from the restoring
//!   process, so the restored program writes to *its* stdout.
//!
//! - regular files unlinked while open: their contents (see [`super::saved_ghost`]);
//! - POSIX message queues: name, attributes, messages (see [`super::saved_mq`]);
//! - signalfds: their mask and flags, made again by the restore (see
//!   `syscalls::signalfd::remake`);
//!
//! What is refused (the snapshot fails, naming the descriptor): other sockets
//! (listening, connected to an address, TCP, UDP, netlink), and other
//! descriptors without a path (inotify, pidfds, files opened relative to a directory
//! whose path is unknown).

use serde::{Deserialize, Serialize};

use std::collections::BTreeSet;

use crate::fs::binding::{self, Binding};
use crate::fs::saved_anon::{self, MemFdState, TimerFdState};
use crate::fs::saved_chan::{self, PairEnd, PipeEnd, Rebuilt};
use crate::fs::saved_ghost::{self, GhostFile, Ghosts};
use crate::fs::saved_mq::{self, MqState};
use crate::fs::{FdInfo, FdKind};

/// One registration of an epoll instance (`epoll_ctl(EPOLL_CTL_ADD)` arguments).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpollWatch {
    /// The watched descriptor.
    pub fd: i32,
    /// The event mask, with `EPOLLET` and the other input flags.
    pub events: u32,
    /// The user data returned with events.
    pub data: u64,
}

/// What a descriptor needs to be rebuilt beyond its path and flags.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FdExtra {
    /// Nothing.
    None,
    /// An epoll instance's interest list.
    Epoll(Vec<EpollWatch>),
    /// An eventfd's counter, and whether it counts as a semaphore.
    EventFd {
        /// The counter.
        count: u64,
        /// `EFD_SEMAPHORE`.
        semaphore: bool,
    },
    /// A pipe end and, with the pipe's first descriptor, its bytes. (Appended, as
    /// the three below: the variants' order is the snapshot encoding's.)
    Pipe(PipeEnd),
    /// One end of a Unix socketpair and, with its first descriptor, its queue.
    SocketPair(PairEnd),
    /// A memfd.
    MemFd(MemFdState),
    /// A timerfd.
    TimerFd(TimerFdState),
    /// A signalfd: the signals it watches (its flags are the descriptor's).
    SignalFd {
        /// The mask.
        mask: u64,
    },
    /// A regular file unlinked while open, with its contents.
    Ghost(GhostFile),
    /// A POSIX message queue with its messages.
    MessageQueue(MqState),
    /// A regular file whose contents travel with the program (copied or moved, see
    /// [`super::binding`]): written at its path where the program arrives, then
    /// opened by path.
    Copied {
        /// The contents (with the file's first descriptor).
        file: GhostFile,
        /// Copied or moved.
        binding: Binding,
    },
}

/// One descriptor as a snapshot records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FdState {
    /// Descriptor number.
    pub fd: i32,
    /// Kind, guest path, `open` flags.
    pub info: FdInfo,
    /// The file offset (`pos` in fdinfo).
    pub offset: u64,
    /// The status flags now (`O_APPEND`, `O_NONBLOCK`... as `fcntl(F_GETFL)` has them).
    pub status_flags: i32,
    /// `FD_CLOEXEC`.
    pub cloexec: bool,
    /// Kind-specific state.
    pub extra: FdExtra,
}

/// The fields of `/proc/<pid>/fdinfo/<fd>`.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct FdInfoText {
    /// `pos:` (decimal).
    pub pos: u64,
    /// `flags:` (octal; includes `O_CLOEXEC` for close-on-exec descriptors).
    pub flags: i32,
    /// `tfd:` lines of an epoll instance.
    pub watches: Vec<EpollWatch>,
    /// `eventfd-count:` (hex).
    pub eventfd_count: Option<u64>,
    /// `eventfd-semaphore:`.
    pub eventfd_semaphore: bool,
    /// `clockid:` of a timerfd.
    pub clockid: i32,
    /// `ticks:` of a timerfd.
    pub ticks: u64,
}

/// Parses the text of an fdinfo file (fields the kernel does not print stay default).
pub fn parse_fdinfo(text: &str) -> FdInfoText {
    let mut out = FdInfoText::default();
    for line in text.lines() {
        let mut words = line.split_whitespace();
        match words.next() {
            Some("pos:") => out.pos = words.next().and_then(|w| w.parse().ok()).unwrap_or(0),
            Some("flags:") => {
                out.flags = words
                    .next()
                    .and_then(|w| i32::from_str_radix(w, 8).ok())
                    .unwrap_or(0)
            }
            Some("eventfd-count:") => {
                out.eventfd_count = words.next().and_then(|w| u64::from_str_radix(w, 16).ok())
            }
            Some("eventfd-semaphore:") => out.eventfd_semaphore = words.next() == Some("1"),
            Some("clockid:") => {
                out.clockid = words.next().and_then(|w| w.parse().ok()).unwrap_or(0)
            }
            Some("ticks:") => out.ticks = words.next().and_then(|w| w.parse().ok()).unwrap_or(0),
            Some("tfd:") => {
                // tfd: N events: HEX data: HEX  pos:... ino:... sdev:...
                let fd = words.next().and_then(|w| w.parse().ok());
                let mut events = None;
                let mut data = None;
                while let Some(w) = words.next() {
                    match w {
                        "events:" => {
                            events = words.next().and_then(|v| u32::from_str_radix(v, 16).ok())
                        }
                        "data:" => {
                            data = words.next().and_then(|v| u64::from_str_radix(v, 16).ok())
                        }
                        _ => {}
                    }
                }
                if let (Some(fd), Some(events), Some(data)) = (fd, events, data) {
                    out.watches.push(EpollWatch { fd, events, data });
                }
            }
            _ => {}
        }
    }
    out
}

/// What the host says descriptor `fd` is (`/proc/self/fd/<fd>`), for messages.
fn host_name(fd: i32) -> String {
    std::fs::read_link(format!("/proc/self/fd/{fd}"))
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "?".into())
}

/// Records descriptor `fd` of the guest's table, or says why it cannot be. An
/// inherited descriptor that is no longer open gives `None`: the table lists what
/// the host had open when the program started, and such a number is nothing of the
/// guest's (a descriptor the program opened or closed itself is tracked exactly).
/// Call on a thread with the guest's descriptor table.
pub fn record(fd: i32, info: &FdInfo) -> Result<Option<FdState>, String> {
    record_with(fd, info, &mut Seen::default())
}

/// The pipes and socket ends (inodes of pipefs and sockfs, which share one
/// numbering) and the ghost files whose contents are recorded already.
#[derive(Default)]
struct Seen {
    channels: BTreeSet<u64>,
    ghosts: BTreeSet<u64>,
}

/// Records every descriptor of `files` (on a thread with the guest's descriptor
/// table); a pipe's bytes and a socket's queue once, with its first descriptor.
pub fn record_all(files: &[(i32, FdInfo)]) -> Result<Vec<FdState>, String> {
    let mut first = Seen::default();
    files
        .iter()
        .map(|(fd, info)| record_with(*fd, info, &mut first))
        .filter_map(Result::transpose)
        .collect()
}

/// [`record`], with the pipes and socket ends whose contents are recorded already.
fn record_with(fd: i32, info: &FdInfo, seen: &mut Seen) -> Result<Option<FdState>, String> {
    let first = &mut seen.channels;
    let text = match std::fs::read_to_string(format!("/proc/{}/fdinfo/{fd}", std::process::id())) {
        Ok(text) => text,
        Err(e) if info.kind == FdKind::Inherited && e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(None)
        }
        Err(e) => return Err(format!("descriptor {fd}: cannot read its fdinfo: {e}")),
    };
    let fi = parse_fdinfo(&text);
    let refuse = |what: &str, why: &str| {
        Err(format!(
            "descriptor {fd} ({}) is {what}, which a snapshot cannot record: {why} (README.md, \"Process VM snapshots\")",
            host_name(fd)
        ))
    };
    let extra = match info.kind {
        FdKind::Pipe => FdExtra::Pipe(
            saved_chan::record_pipe(fd, fi.flags, first)
                .map_err(|e| format!("descriptor {fd} (a pipe): {e}"))?,
        ),
        FdKind::Socket => match saved_chan::record_pair(fd, first)
            .map_err(|e| format!("descriptor {fd} (a socketpair): {e}"))?
        {
            Some(end) => FdExtra::SocketPair(end),
            None => {
                return refuse(
                    "a socket other than a Unix socketpair made by the program",
                    "connections cannot be restored",
                )
            }
        },
        FdKind::SignalFd(id) => {
            let mask = crate::sigwatch::registry()
                .entries
                .iter()
                .find(|e| e.id == id)
                .map(|e| e.mask);
            match mask {
                Some(mask) => FdExtra::SignalFd { mask },
                None => return refuse("a signalfd", "it is not registered"),
            }
        }
        FdKind::File | FdKind::Dir if info.path.is_none() => {
            let name = host_name(fd);
            if let Some(memfd) = saved_anon::memfd_name(&name) {
                FdExtra::MemFd(
                    saved_anon::record_memfd(fd, memfd)
                        .map_err(|e| format!("descriptor {fd} ({name}): {e}"))?,
                )
            } else if saved_mq::guest_name(&name).is_some() && saved_mq::is_queue(fd) {
                FdExtra::MessageQueue(
                    saved_mq::record(fd, &name)
                        .map_err(|e| format!("descriptor {fd} (message queue {name}): {e}"))?,
                )
            } else if name == "anon_inode:[timerfd]" {
                FdExtra::TimerFd(
                    saved_anon::record_timerfd(fd, fi.clockid, fi.ticks)
                        .map_err(|e| format!("descriptor {fd} ({name}): {e}"))?,
                )
            } else {
                return refuse(
                    "not opened by path",
                    "inotify, pidfds and paths relative to an unknown directory cannot be reopened",
                );
            }
        }
        FdKind::Epoll => FdExtra::Epoll(fi.watches.clone()),
        FdKind::EventFd => FdExtra::EventFd {
            count: fi.eventfd_count.unwrap_or(0),
            semaphore: fi.eventfd_semaphore,
        },
        FdKind::File => match saved_ghost::record(fd, &mut seen.ghosts)
            .map_err(|e| format!("descriptor {fd}: {e}"))?
        {
            Some(g) => FdExtra::Ghost(g),
            None => match info.path.as_deref().map(binding::policy_of) {
                Some(binding @ (Binding::Copy | Binding::Move)) => {
                    saved_ghost::record_copy(fd, &mut seen.ghosts)
                        .map_err(|e| format!("descriptor {fd}: {e}"))?
                        .map_or(FdExtra::None, |file| FdExtra::Copied { file, binding })
                }
                _ => FdExtra::None,
            },
        },
        _ => FdExtra::None,
    };
    Ok(Some(FdState {
        fd,
        info: info.clone(),
        offset: fi.pos,
        status_flags: fi.flags & !libc::O_CLOEXEC,
        cloexec: fi.flags & libc::O_CLOEXEC != 0,
        extra,
    }))
}

/// What [`remake`] made for [`reopen`].
pub struct Remade {
    channels: Rebuilt,
    ghosts: Ghosts,
}

/// Writes the copied files at their paths, and makes the pipes, socketpairs and
/// files unlinked while open that `files` record, with their contents, at descriptors at or above `min_fd` (out of the way of the
/// numbers to restore): [`reopen`] gives the program descriptors of them.
/// `open_path` opens a guest path (the ghost files are made at theirs).
pub fn remake(
    files: &[FdState],
    min_fd: i32,
    open_path: &dyn Fn(&str, i32) -> Result<i32, String>,
) -> Result<Remade, String> {
    let ghosts: Vec<(&str, &GhostFile)> = files
        .iter()
        .filter_map(|f| match (&f.extra, &f.info.path) {
            (FdExtra::Ghost(g), Some(p)) => Some((p.as_str(), g)),
            _ => None,
        })
        .collect();
    let create = |path: &str| {
        open_path(
            path,
            libc::O_CREAT | libc::O_EXCL | libc::O_RDWR | libc::O_CLOEXEC,
        )
    };
    // Copied files are written at their paths before anything opens them.
    let replace = |path: &str| {
        open_path(
            path,
            libc::O_CREAT | libc::O_TRUNC | libc::O_WRONLY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
        )
    };
    for f in files {
        if let (FdExtra::Copied { file, .. }, Some(p)) = (&f.extra, &f.info.path) {
            saved_ghost::write_copy(p, file, &replace)?;
        }
    }
    Ok(Remade {
        channels: rebuild_channels(files, min_fd)?,
        ghosts: saved_ghost::rebuild(&ghosts, min_fd, &create)?,
    })
}

fn rebuild_channels(files: &[FdState], min_fd: i32) -> Result<Rebuilt, String> {
    let pipes: Vec<&PipeEnd> = files
        .iter()
        .filter_map(|f| match &f.extra {
            FdExtra::Pipe(p) => Some(p),
            _ => None,
        })
        .collect();
    let pairs: Vec<&PairEnd> = files
        .iter()
        .filter_map(|f| match &f.extra {
            FdExtra::SocketPair(p) => Some(p),
            _ => None,
        })
        .collect();
    saved_chan::rebuild(&pipes, &pairs, min_fd)
}

/// Opens `f` again as descriptor `f.fd` of the calling thread's table; `open_path`
/// opens a guest path with flags (through the file view); pipes, socketpairs and
/// ghost files are taken from `remade` ([`remake`]). Inherited descriptors are
/// left as the restoring process has them (an error if it has none there: the caller
/// decides whether that matters).
pub fn reopen(
    f: &FdState,
    remade: &Remade,
    open_path: &dyn Fn(&str, i32) -> Result<i32, String>,
) -> Result<(), String> {
    let channels = &remade.channels;
    let fd = f.fd;
    let cloexec = if f.cloexec { libc::O_CLOEXEC } else { 0 };
    let channel = match (&f.info.kind, &f.extra) {
        (FdKind::Pipe, FdExtra::Pipe(p)) => Some(channels.end(p.pipe, p.write)),
        (FdKind::Socket, FdExtra::SocketPair(p)) => Some(channels.end(p.sock, false)),
        _ => None,
    };
    if let Some(end) = channel {
        let end = end.ok_or_else(|| format!("descriptor {fd}: its pipe or pair was not made"))?;
        // SAFETY: duplicating a descriptor the rebuilt channels hold onto the number.
        if unsafe { libc::dup3(end, fd, cloexec) } < 0 {
            return Err(format!(
                "descriptor {fd}: {}",
                std::io::Error::last_os_error()
            ));
        }
        // SAFETY: status flags of the descriptor just placed.
        unsafe { libc::fcntl(fd, libc::F_SETFL, f.status_flags & libc::O_NONBLOCK) };
        return Ok(());
    }
    let new = match (&f.info.kind, &f.extra) {
        (FdKind::Inherited, _) => {
            // SAFETY: querying a descriptor number.
            if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
                return Err(format!(
                    "descriptor {fd} was inherited by the program from whoever started it and is not open in this process"
                ));
            }
            return Ok(());
        }
        (FdKind::Epoll, FdExtra::Epoll(_)) => {
            // SAFETY: integer argument.
            unsafe { libc::epoll_create1(cloexec) }
        }
        (FdKind::EventFd, FdExtra::EventFd { count, semaphore }) => {
            let mut flags = cloexec | (f.status_flags & libc::O_NONBLOCK);
            if *semaphore {
                flags |= libc::EFD_SEMAPHORE;
            }
            // SAFETY: integer arguments.
            let e = unsafe { libc::eventfd(0, flags) };
            if e >= 0 && *count > 0 {
                // SAFETY: writing 8 bytes from a local.
                unsafe { libc::write(e, (count as *const u64).cast(), 8) };
            }
            e
        }
        (FdKind::File, FdExtra::MemFd(m)) => {
            let n = saved_anon::make_memfd(m).map_err(|e| format!("descriptor {fd}: {e}"))?;
            // SAFETY: seeking our own new descriptor.
            unsafe { libc::lseek(n, f.offset as i64, libc::SEEK_SET) };
            n
        }
        (FdKind::File, FdExtra::TimerFd(t)) => {
            let n = saved_anon::make_timerfd(t).map_err(|e| format!("descriptor {fd}: {e}"))?;
            // SAFETY: status flags of our own new descriptor.
            unsafe { libc::fcntl(n, libc::F_SETFL, f.status_flags & libc::O_NONBLOCK) };
            n
        }
        (FdKind::File | FdKind::Dir, _) => {
            let Some(path) = &f.info.path else {
                return Err(format!("descriptor {fd}: no path recorded"));
            };
            let flags = (f.info.flags & !(libc::O_CREAT | libc::O_EXCL | libc::O_TRUNC))
                | (f.status_flags & (libc::O_APPEND | libc::O_NONBLOCK))
                | cloexec;
            // A FIFO opened for reading would wait for a writer, which nobody is
            // yet: opened without waiting, then given its recorded status flags.
            let read_only = flags & libc::O_ACCMODE == libc::O_RDONLY;
            let n = match &f.extra {
                FdExtra::Ghost(g) => remade.ghosts.open(g.file, flags),
                _ if read_only => open_path(path, flags | libc::O_NONBLOCK).inspect(|&n| {
                    // SAFETY: status flags of our own new descriptor.
                    unsafe {
                        let now = libc::fcntl(n, libc::F_GETFL);
                        let wanted =
                            (now & !libc::O_NONBLOCK) | (f.status_flags & libc::O_NONBLOCK);
                        libc::fcntl(n, libc::F_SETFL, wanted)
                    };
                }),
                _ => open_path(path, flags),
            }
            .map_err(|e| format!("descriptor {fd}: {path}: {e}"))?;
            // SAFETY: seeking our own new descriptor.
            if f.offset > 0 && unsafe { libc::lseek(n, f.offset as i64, libc::SEEK_SET) } < 0 {
                let e = std::io::Error::last_os_error();
                // SAFETY: closing our own new descriptor.
                unsafe { libc::close(n) };
                return Err(format!(
                    "descriptor {fd}: {path}: cannot seek to {}: {e}",
                    f.offset
                ));
            }
            n
        }
        (k, _) => return Err(format!("descriptor {fd}: cannot reopen a {k:?}")),
    };
    if new < 0 {
        return Err(format!(
            "descriptor {fd}: {}",
            std::io::Error::last_os_error()
        ));
    }
    if new != fd {
        // SAFETY: moving our own new descriptor to its number.
        let r = unsafe { libc::dup3(new, fd, cloexec) };
        // SAFETY: closing our own new descriptor.
        unsafe { libc::close(new) };
        if r < 0 {
            return Err(format!(
                "descriptor {fd}: {}",
                std::io::Error::last_os_error()
            ));
        }
    }
    Ok(())
}

/// Registers the recorded interest list of epoll descriptor `f` (after every
/// descriptor has been reopened).
pub fn rearm_epoll(f: &FdState) -> Result<(), String> {
    let FdExtra::Epoll(watches) = &f.extra else {
        return Ok(());
    };
    for w in watches {
        let mut ev = libc::epoll_event {
            events: w.events,
            u64: w.data,
        };
        // SAFETY: `ev` is a local; descriptors are integers.
        if unsafe { libc::epoll_ctl(f.fd, libc::EPOLL_CTL_ADD, w.fd, &mut ev) } < 0 {
            return Err(format!(
                "epoll descriptor {}: cannot watch descriptor {} again: {}",
                f.fd,
                w.fd,
                std::io::Error::last_os_error()
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fdinfo_fields_are_read() {
        let t = parse_fdinfo(
            "pos:\t12\nflags:\t02100002\nmnt_id:\t15\nino:\t1\n\
             tfd:        7 events:       19 data:                7  pos:0 ino:3 sdev:d\n\
             eventfd-count:               2a\neventfd-semaphore: 1\n",
        );
        assert_eq!(t.pos, 12);
        assert_eq!(t.flags, 0o2100002);
        assert_eq!(
            t.watches,
            vec![EpollWatch {
                fd: 7,
                events: 0x19,
                data: 7
            }]
        );
        assert_eq!(t.eventfd_count, Some(42));
        assert!(t.eventfd_semaphore);
        assert_eq!(parse_fdinfo("garbage\n\0tfd: x"), FdInfoText::default());
    }

    #[test]
    fn closed_inherited_descriptor_is_not_recorded() {
        // A number far above anything this test process has open.
        let fd = 1_000_000;
        let info = |kind, path: Option<&str>| FdInfo {
            kind,
            path: path.map(Into::into),
            flags: 0,
        };
        assert_eq!(record(fd, &info(FdKind::Inherited, None)), Ok(None));
        let err = record(fd, &info(FdKind::File, Some("/etc/passwd"))).unwrap_err();
        assert!(err.contains("cannot read its fdinfo"), "{err}");
    }
}
