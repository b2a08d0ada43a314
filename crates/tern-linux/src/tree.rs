//! The process VM's process tree: which host processes the program may signal.
//!
//! Guest processes are host processes (`fork` forks tern, `execve` re-executes it),
//! so a pid the program names may be any host process. Only the VM's own tree may
//! be reached: the VM's **root** is the first `tern exec` process of the VM (or the
//! process `tern restore` made), identified by its pid *and* its start time (field
//! 22 of `/proc/PID/stat`, which `execve` keeps), and handed to every re-executed
//! tern with `--vm-root PID:START`. A process belongs to the VM when walking its
//! parents reaches the root, each parent having started no later than its child (a
//! parent's pid that was reused by a newer process breaks the chain). An orphan
//! whose parent died is adopted by a process outside (init, a subreaper) and leaves
//! the VM.
//!
//! A check and its use cannot be split by pid reuse: the target is pinned with a
//! `pidfd` *before* its `/proc` entry is read, and the signal goes through that
//! `pidfd` (`pidfd_send_signal`), which fails with `ESRCH` if the process that was
//! checked has gone, instead of reaching a newcomer with the same pid. All of this
//! runs on a thread with a private descriptor table ([`crate::hostfd`]): the
//! descriptors it opens would otherwise take numbers below the program's limit, and
//! another guest thread could `dup2` onto one to feed tern a forged `/proc` file.

use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use serde::{Deserialize, Serialize};

use crate::errno::Errno;

/// A host process as something that cannot be confused with a later one of the
/// same pid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcId {
    /// Host pid.
    pub pid: i32,
    /// Start time in clock ticks after boot (`/proc/PID/stat` field 22).
    pub start: u64,
}

impl ProcId {
    /// The calling process (start 0, which matches no process, if `/proc` cannot
    /// be read: then nothing but the process itself can be signalled).
    pub fn current() -> ProcId {
        // SAFETY: getpid cannot fail.
        let pid = unsafe { libc::getpid() };
        let start = read_stat(pid).map_or(0, |s| s.start);
        ProcId { pid, start }
    }

    /// Parses `PID:START` (the `--vm-root` argument).
    pub fn parse(s: &str) -> Option<ProcId> {
        let (pid, start) = s.split_once(':')?;
        Some(ProcId {
            pid: pid.parse().ok().filter(|&p| p > 0)?,
            start: start.parse().ok()?,
        })
    }
}

impl std::fmt::Display for ProcId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.pid, self.start)
    }
}

/// The fields of `/proc/PID/stat` the tree needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stat {
    /// Parent pid (0 for init and kernel threads' parent).
    pub ppid: i32,
    /// Process group.
    pub pgrp: i32,
    /// Start time in clock ticks after boot.
    pub start: u64,
    /// `nice` value.
    pub nice: i32,
}

/// Parses the text of `/proc/PID/stat`. The command name (field 2) is in
/// parentheses and may hold anything, spaces and parentheses included, so the
/// fields are counted after its *last* closing parenthesis.
pub fn parse_stat(text: &str) -> Option<Stat> {
    let rest = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // f[0] is field 3 (state): field n is f[n - 3].
    Some(Stat {
        ppid: f.get(1)?.parse().ok()?,
        pgrp: f.get(2)?.parse().ok()?,
        nice: f.get(16)?.parse().ok()?,
        start: f.get(19)?.parse().ok()?,
    })
}

/// Reads `/proc/PID/stat`.
pub fn read_stat(pid: i32) -> Option<Stat> {
    if pid <= 0 {
        return None;
    }
    let mut f = std::fs::File::open(format!("/proc/{pid}/stat")).ok()?;
    let mut s = String::new();
    f.read_to_string(&mut s).ok()?;
    parse_stat(&s)
}

/// How many parents a walk looks at before it gives up (deeper trees are not the
/// VM's: a guest would need this many nested forks).
pub const MAX_DEPTH: usize = 4096;

/// Whether process `pid`, whose `/proc` entry says `st`, is `root` or descends from
/// it; `parent` reads a parent's entry. Each parent must have started no later than
/// its child, else its pid was reused and the chain is broken.
pub fn descends(
    pid: i32,
    st: Stat,
    root: ProcId,
    parent: &mut dyn FnMut(i32) -> Option<Stat>,
) -> bool {
    let (mut pid, mut st) = (pid, st);
    for _ in 0..MAX_DEPTH {
        if pid == root.pid {
            return st.start == root.start;
        }
        if st.ppid <= 0 {
            return false;
        }
        let Some(up) = parent(st.ppid) else {
            return false;
        };
        if up.start > st.start {
            return false;
        }
        pid = st.ppid;
        st = up;
    }
    false
}

/// `pidfd_open(2)` flag for a thread (Linux 6.9).
const PIDFD_THREAD: u32 = libc::O_EXCL as u32;

/// A pidfd of `pid` (a thread's own with `PIDFD_THREAD` if `thread`).
fn pidfd(pid: i32, thread: bool) -> Result<OwnedFd, Errno> {
    let flags = if thread { PIDFD_THREAD } else { 0 };
    // SAFETY: integer arguments; the result is a new descriptor we own.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, flags) };
    if fd < 0 {
        return Err(Errno::last());
    }
    // SAFETY: `fd` is a new descriptor of ours.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// `pidfd_send_signal(2)` without siginfo (the receiver sees `SI_USER` from us).
fn send(fd: &OwnedFd, sig: i32) -> Result<(), Errno> {
    // SAFETY: a pidfd of ours, a signal number, no siginfo.
    let r = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            fd.as_raw_fd(),
            sig,
            std::ptr::null::<libc::siginfo_t>(),
            0u32,
        )
    };
    if r < 0 {
        Err(Errno::last())
    } else {
        Ok(())
    }
}

/// The thread group of thread `tid` (`Tgid:` of `/proc/TID/status`).
fn tgid_of(tid: i32) -> Option<i32> {
    let s = std::fs::read_to_string(format!("/proc/{tid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("Tgid:"))
        .and_then(|v| v.trim().parse().ok())
}

/// A process pinned by a pidfd and checked to be in the VM.
struct Member {
    fd: OwnedFd,
}

/// Pins `pid` (a process, or a thread of one) and checks it is in the VM of `root`:
/// `ESRCH` if there is no such process, `EPERM` if it is not the VM's.
fn member(root: ProcId, pid: i32) -> Result<Member, Errno> {
    if pid <= 0 {
        return Err(Errno::ESRCH);
    }
    let fd = match pidfd(pid, false) {
        // Not a thread-group leader: `kill` of a thread's id signals its process.
        Err(Errno::EINVAL) => pidfd(tgid_of(pid).ok_or(Errno::ESRCH)?, false)?,
        r => r?,
    };
    check(root, pid, fd)
}

/// Checks that the process pinned by `fd`, whose pid is `pid`, is in the VM.
fn check(root: ProcId, pid: i32, fd: OwnedFd) -> Result<Member, Errno> {
    let st = read_stat(pid).ok_or(Errno::ESRCH)?;
    if descends(pid, st, root, &mut read_stat) {
        Ok(Member { fd })
    } else {
        Err(Errno::EPERM)
    }
}

/// Every process (thread-group leader) of the host, with its `/proc` entry.
fn all_processes() -> Vec<(i32, Stat)> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()))
        .filter_map(|pid| read_stat(pid).map(|st| (pid, st)))
        .collect()
}

/// The members of the VM that `select` picks among all processes (`EPERM` counted
/// for those it picks that are not members).
fn members_where(root: ProcId, select: impl Fn(i32, &Stat) -> bool) -> (Vec<(i32, Member)>, usize) {
    let mut found = Vec::new();
    let mut refused = 0;
    for (pid, st) in all_processes() {
        if !select(pid, &st) {
            continue;
        }
        let Ok(fd) = pidfd(pid, false) else {
            continue; // gone meanwhile
        };
        match check(root, pid, fd) {
            Ok(m) => found.push((pid, m)),
            Err(Errno::EPERM) => refused += 1,
            Err(_) => {}
        }
    }
    (found, refused)
}

/// What the program asked to signal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// `kill(pid > 0)`.
    Process(i32),
    /// `kill(-pgrp)` and `kill(0)` (with the caller's group).
    Group(i32),
    /// `kill(-1)`: every process of the VM but the caller.
    All,
    /// `tgkill(tgid, tid)`.
    Thread {
        /// The thread group.
        tgid: i32,
        /// The thread.
        tid: i32,
    },
}

/// Sends `sig` (0: only checks) to `target` within the VM of `root`, from host
/// process `me`, which the caller handles itself (it is left out here); returns
/// whether `me` is among the targets. Runs on a private descriptor table.
pub fn signal(root: ProcId, me: i32, target: Target, sig: i32) -> Result<bool, Errno> {
    crate::hostfd::in_private_fd_table("tern-signal", move || signal_here(root, me, target, sig))
        .map_err(|_| Errno::EAGAIN)?
}

fn signal_here(root: ProcId, me: i32, target: Target, sig: i32) -> Result<bool, Errno> {
    match target {
        Target::Process(pid) => {
            let m = member(root, pid)?;
            send(&m.fd, sig)?;
            Ok(false)
        }
        Target::Thread { tgid, tid } => {
            if tgid <= 0 || tid <= 0 || tgid_of(tid) != Some(tgid) {
                return Err(Errno::ESRCH);
            }
            match pidfd(tid, true) {
                Ok(fd) => {
                    let m = check(root, tid, fd)?;
                    // A pidfd of a thread signals that thread (Linux 6.9).
                    send(&m.fd, sig)?;
                }
                Err(Errno::EINVAL) => {
                    // An older kernel: pin the process, check, then tgkill (the
                    // thread id could be reused only after the process's exit).
                    let m = member(root, tgid)?;
                    // SAFETY: integer arguments.
                    if unsafe { libc::syscall(libc::SYS_tgkill, tgid, tid, sig) } < 0 {
                        return Err(Errno::last());
                    }
                    drop(m);
                }
                Err(e) => return Err(e),
            }
            Ok(false)
        }
        Target::Group(pgrp) => {
            if pgrp <= 0 {
                return Err(Errno::ESRCH);
            }
            let (found, refused) = members_where(root, |_, st| st.pgrp == pgrp);
            group_result(me, found, refused, sig)
        }
        Target::All => {
            let (found, _) = members_where(root, |pid, _| pid > 1 && pid != me);
            // Linux counts the processes it tried; refusals do not make it fail.
            if found.is_empty() {
                return Err(Errno::ESRCH);
            }
            let mut last = Ok(());
            for (_, m) in &found {
                if let Err(e) = send(&m.fd, sig) {
                    last = Err(e);
                }
            }
            last.map(|_| false)
        }
    }
}

/// Signals the members of a process group: success if one was reached, else the
/// error Linux gives (`ESRCH` for an empty group, `EPERM` for one of strangers).
fn group_result(
    me: i32,
    found: Vec<(i32, Member)>,
    refused: usize,
    sig: i32,
) -> Result<bool, Errno> {
    let mut me_in = false;
    let mut any = false;
    let mut last = if refused > 0 {
        Errno::EPERM
    } else {
        Errno::ESRCH
    };
    for (pid, m) in &found {
        if *pid == me {
            me_in = true;
            any = true;
            continue;
        }
        match send(&m.fd, sig) {
            Ok(()) => any = true,
            Err(e) => last = e,
        }
    }
    if any {
        Ok(me_in)
    } else {
        Err(last)
    }
}

/// Checks that `owner` may receive `SIGIO`/`SIGURG` from a descriptor
/// (`F_SETOWN`): a process of the VM (`owner > 0`), or a process group all of whose
/// processes are the VM's (`owner < 0`). Runs on a private descriptor table.
pub fn check_owner(root: ProcId, owner: i32) -> Result<(), Errno> {
    crate::hostfd::in_private_fd_table("tern-owner", move || {
        if owner > 0 {
            return member(root, owner).map(drop);
        }
        let pgrp = owner.checked_neg().ok_or(Errno::ESRCH)?;
        let (found, refused) = members_where(root, |_, st| st.pgrp == pgrp);
        match (found.is_empty(), refused) {
            (_, 1..) => Err(Errno::EPERM),
            (true, 0) => Err(Errno::ESRCH),
            (false, 0) => Ok(()),
        }
    })
    .map_err(|_| Errno::EAGAIN)?
}

/// What `getpriority`/`setpriority` name (`which`, `who`), with 0 already replaced
/// by the caller's own process, group or user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Who {
    /// `PRIO_PROCESS`: a process or thread.
    Process(i32),
    /// `PRIO_PGRP`.
    Group(i32),
    /// `PRIO_USER` (real uid).
    User(u32),
}

/// The real uid of process `pid` (`Uid:` of `/proc/PID/status`).
fn uid_of(pid: i32) -> Option<u32> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

/// The threads of process `pid`.
fn threads_of(pid: i32) -> Vec<i32> {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().to_str().and_then(|s| s.parse().ok()))
                .collect()
        })
        .unwrap_or_default()
}

/// `setpriority(prio)` (or, with `None`, `getpriority`) on the processes of the VM
/// that `who` names; returns the lowest nice value among them. Strangers are left
/// alone: `EPERM` if `who` names only strangers, `ESRCH` if it names nobody (as
/// Linux). Runs on a private descriptor table.
pub fn priority(root: ProcId, who: Who, prio: Option<i32>) -> Result<i32, Errno> {
    crate::hostfd::in_private_fd_table("tern-priority", move || priority_here(root, who, prio))
        .map_err(|_| Errno::EAGAIN)?
}

fn priority_here(root: ProcId, who: Who, prio: Option<i32>) -> Result<i32, Errno> {
    // (pid or tid, the tasks to set)
    let targets: Vec<(i32, Vec<i32>, Member)> = match who {
        Who::Process(pid) => {
            let m = member(root, pid)?;
            vec![(pid, vec![pid], m)]
        }
        Who::Group(pgrp) => {
            let (found, refused) = members_where(root, |_, st| st.pgrp == pgrp);
            if found.is_empty() {
                return Err(if refused > 0 {
                    Errno::EPERM
                } else {
                    Errno::ESRCH
                });
            }
            found
                .into_iter()
                .map(|(p, m)| (p, threads_of(p), m))
                .collect()
        }
        Who::User(uid) => {
            let (found, _) = members_where(root, |pid, _| uid_of(pid) == Some(uid));
            if found.is_empty() {
                return Err(Errno::ESRCH);
            }
            found
                .into_iter()
                .map(|(p, m)| (p, threads_of(p), m))
                .collect()
        }
    };
    let mut lowest = i32::MAX;
    let mut result = Ok(());
    for (pid, tasks, _pinned) in &targets {
        if let Some(st) = read_stat(*pid) {
            lowest = lowest.min(st.nice);
        }
        let Some(prio) = prio else { continue };
        for tid in tasks {
            // SAFETY: integer arguments.
            if unsafe { libc::setpriority(libc::PRIO_PROCESS, *tid as u32, prio) } != 0 {
                result = Err(Errno::last());
            }
        }
    }
    result.map(|_| if lowest == i32::MAX { 0 } else { lowest })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(ppid: i32, start: u64) -> Stat {
        Stat {
            ppid,
            pgrp: 1,
            start,
            nice: 0,
        }
    }

    #[test]
    fn stat_fields_are_counted_after_the_command_name() {
        let text = "4580 (a) b) (c) R 4576 4576 18820 0 -1 4194304 97 0 0 0 0 0 0 0 20 -3 1 0 \
                    313194 3133440 390 18446744073709551615 0 0 0\n";
        assert_eq!(
            parse_stat(text),
            Some(Stat {
                ppid: 4576,
                pgrp: 4576,
                start: 313194,
                nice: -3
            })
        );
        assert_eq!(parse_stat("12 (x) R 1"), None);
        assert_eq!(parse_stat("garbage"), None);
        let me = read_stat(std::process::id() as i32).expect("our own stat");
        // SAFETY: getppid cannot fail.
        assert_eq!(me.ppid, unsafe { libc::getppid() });
    }

    #[test]
    fn members_descend_from_the_root_through_parents_that_started_first() {
        // 1 <- 10 (root, started at 100) <- 20 <- 30; 40 is a stranger under 1.
        let table = |pid: i32| match pid {
            1 => Some(st(0, 1)),
            10 => Some(st(1, 100)),
            20 => Some(st(10, 150)),
            30 => Some(st(20, 200)),
            40 => Some(st(1, 120)),
            _ => None,
        };
        let root = ProcId {
            pid: 10,
            start: 100,
        };
        let mut lookup = table;
        assert!(
            descends(10, st(1, 100), root, &mut lookup),
            "the root itself"
        );
        assert!(descends(30, st(20, 200), root, &mut lookup), "a grandchild");
        assert!(!descends(40, st(1, 120), root, &mut lookup), "a stranger");
        assert!(!descends(1, st(0, 1), root, &mut lookup), "init");
        // The root's pid now belongs to a newer process: not the VM's root.
        let reused = ProcId { pid: 10, start: 90 };
        assert!(!descends(30, st(20, 200), reused, &mut lookup));
        // A child whose parent's pid was taken by a process started after it: the
        // chain is broken (the real parent is gone).
        assert!(!descends(50, st(20, 140), root, &mut lookup));
        // A cycle does not loop forever.
        let mut cyclic = |pid: i32| Some(st(if pid == 7 { 8 } else { 7 }, 5));
        assert!(!descends(7, st(8, 5), root, &mut cyclic));
    }

    #[test]
    fn the_test_process_is_not_in_a_vm_rooted_at_its_child_but_the_child_is_in_its_own() {
        let mut child = std::process::Command::new("sleep")
            .arg("10")
            .spawn()
            .expect("start sleep");
        let pid = child.id() as i32;
        let me = ProcId::current();
        let child_root = ProcId {
            pid,
            start: read_stat(pid).expect("stat").start,
        };
        assert_eq!(
            signal(child_root, 0, Target::Process(me.pid), 0),
            Err(Errno::EPERM)
        );
        assert_eq!(signal(me, me.pid, Target::Process(pid), 0), Ok(false));
        assert_eq!(signal(child_root, 0, Target::Process(pid), 0), Ok(false));
        assert_eq!(check_owner(child_root, me.pid), Err(Errno::EPERM));
        let _ = child.kill();
        let _ = child.wait();
        // Reaped: no such process (or, should its pid have been reused meanwhile,
        // a process that is not the child).
        let r = signal(me, me.pid, Target::Process(pid), 0);
        assert!(matches!(r, Err(Errno::ESRCH | Errno::EPERM)), "{r:?}");
    }
}
