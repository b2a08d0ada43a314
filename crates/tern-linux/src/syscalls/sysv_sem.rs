//! SysV semaphores: `semget`, `semop`, `semtimedop`, `semctl`, in the VM's IPC arena
//! ([`crate::ipc`]), with Linux's argument checks in Linux's order.
//!
//! `SEM_UNDO` adjustments are kept per process (threads share them, a `fork` child
//! starts without, `execve` keeps them, as Linux) in the arena's undo records, and
//! applied when the process ends: by an exit hook of each host process, and for a
//! process that ended without running it (`SIGKILL`) by the next caller that waits
//! on a semaphore, which finds its owner gone.

use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

use crate::errno::{Errno, SysResult};
use crate::ipc::cmd::*;
use crate::ipc::{
    self, Creds, Found, Locked, SEMAEM, SEMMNI, SEMMNS, SEMMNU, SEMMSL, SEMOPM, SEMVMX,
};
use crate::task::Task;
use crate::tree::ProcId;

/// `semctl` commands besides the `IPC_*` ones.
#[allow(missing_docs)]
pub mod op {
    pub const GETPID: u32 = 11;
    pub const GETVAL: u32 = 12;
    pub const GETALL: u32 = 13;
    pub const GETNCNT: u32 = 14;
    pub const GETZCNT: u32 = 15;
    pub const SETVAL: u32 = 16;
    pub const SETALL: u32 = 17;
    pub const SEM_STAT: u32 = 18;
    pub const SEM_INFO: u32 = 19;
    pub const SEM_STAT_ANY: u32 = 20;
    /// `sem_flg`: undo the operation when the process ends.
    pub const SEM_UNDO: i16 = 0x1000;
}
use op::*;

/// `sizeof(struct semid64_ds)` on riscv64.
const SEMID_DS: usize = 88;
/// `sizeof(struct sembuf)`.
const SEMBUF: usize = 6;

/// `semget(key, nsems, semflg)`.
pub fn semget(_t: &mut Task, a: [u64; 6]) -> SysResult {
    let (key, nsems, flg) = (a[0] as i32, a[1] as i32, a[2] as u32);
    if nsems < 0 || nsems as usize > SEMMSL {
        return Err(Errno::EINVAL);
    }
    let c = Creds::current();
    let mut g = ipc::arena()?.lock();
    match ipc::find_key(g.sems.iter().map(|s| &s.perm), key) {
        Found::Existing(i) => {
            let s = &g.sems[i];
            if flg & IPC_CREAT != 0 && flg & IPC_EXCL != 0 {
                return Err(Errno::EEXIST);
            }
            if nsems as u32 > s.nsems {
                return Err(Errno::EINVAL);
            }
            if !c.may(&s.perm, flg & 0o777) {
                return Err(Errno::EACCES);
            }
            Ok(s.perm.id(i) as u64)
        }
        Found::Missing(free) => {
            if key != IPC_PRIVATE && flg & IPC_CREAT == 0 {
                return Err(Errno::ENOENT);
            }
            if nsems == 0 {
                return Err(Errno::EINVAL);
            }
            if g.sem_total as usize + nsems as usize > SEMMNS {
                return Err(Errno(libc::ENOSPC));
            }
            let i = free.ok_or(Errno(libc::ENOSPC))?;
            g.sem_total += nsems as u32;
            let s = &mut g.sems[i];
            ipc::new_perm(&mut s.perm, key, flg);
            s.nsems = nsems as u32;
            s.otime = 0;
            s.ctime = ipc::now();
            s.sems = [ipc::Sem::default(); SEMMSL];
            Ok(s.perm.id(i) as u64)
        }
    }
}

/// The slot of set `semid`.
fn find(g: &Locked<'_>, semid: i64) -> Result<usize, Errno> {
    ipc::index_of(semid, SEMMNI, |i| g.sems[i].perm).ok_or(Errno::EINVAL)
}

/// Removes set `i` (`IPC_RMID`): its waiters see `EIDRM`, its undo records go.
fn remove(g: &mut Locked<'_>, i: usize) {
    let id = g.sems[i].perm.id(i);
    let n = g.sems[i].nsems;
    g.sem_total = g.sem_total.saturating_sub(n);
    g.sems[i].perm.used = 0;
    g.sems[i].nsems = 0;
    for u in g.undo.iter_mut() {
        if u.pid != 0 && u.semid == id {
            u.pid = 0;
        }
    }
    ipc::bump(&g.sems[i].wake);
}

/// Forgets the undo adjustments of semaphore `num` (all with `None`) of set `i`
/// (`SETVAL`, `SETALL`).
fn clear_adj(g: &mut Locked<'_>, i: usize, num: Option<usize>) {
    let id = g.sems[i].perm.id(i);
    for u in g.undo.iter_mut() {
        if u.pid != 0 && u.semid == id {
            match num {
                Some(n) => u.adj[n] = 0,
                None => u.adj = [0; SEMMSL],
            }
        }
    }
}

/// `semctl(semid, semnum, cmd, arg)`.
pub fn semctl(t: &mut Task, a: [u64; 6]) -> SysResult {
    let (semid, semnum, cmd, arg) = (a[0] as i32, a[1] as i32, a[2] as u32 & !IPC_64, a[3]);
    if semid < 0 {
        return Err(Errno::EINVAL);
    }
    let c = Creds::current();
    let arena = ipc::arena()?;
    match cmd {
        IPC_INFO | SEM_INFO => {
            let g = arena.lock();
            let used: Vec<usize> = (0..SEMMNI).filter(|&i| g.sems[i].perm.used != 0).collect();
            let mut info = [
                SEMMNI as i32,     // semmap
                SEMMNI as i32,     // semmni
                SEMMNS as i32,     // semmns
                SEMMNU as i32,     // semmnu
                SEMMSL as i32,     // semmsl
                SEMOPM as i32,     // semopm
                SEMOPM as i32,     // semume
                SEMMSL as i32 * 2, // semusz
                SEMVMX,            // semvmx
                SEMAEM,            // semaem
            ];
            if cmd == SEM_INFO {
                info[7] = used.len() as i32;
                info[9] = g.sem_total as i32;
            }
            let max = used.last().copied().unwrap_or(0);
            drop(g);
            let bytes: Vec<u8> = info.iter().flat_map(|v| v.to_le_bytes()).collect();
            t.proc.write_mem(arg, &bytes)?;
            Ok(max as u64)
        }
        SEM_STAT | SEM_STAT_ANY | IPC_STAT => {
            let g = arena.lock();
            let i = if cmd == IPC_STAT {
                find(&g, semid as i64)?
            } else {
                let i = semid as usize;
                if i >= SEMMNI || g.sems[i].perm.used == 0 {
                    return Err(Errno::EINVAL);
                }
                i
            };
            let s = &g.sems[i];
            if cmd != SEM_STAT_ANY && !c.may(&s.perm, ipc::READ) {
                return Err(Errno::EACCES);
            }
            let mut buf = [0u8; SEMID_DS];
            ipc::put_perm(&mut buf, &s.perm, i);
            buf[48..56].copy_from_slice(&s.otime.to_le_bytes());
            buf[56..64].copy_from_slice(&s.ctime.to_le_bytes());
            buf[64..72].copy_from_slice(&u64::from(s.nsems).to_le_bytes());
            let id = s.perm.id(i);
            drop(g);
            t.proc.write_mem(arg, &buf)?;
            Ok(if cmd == IPC_STAT { 0 } else { id as u64 })
        }
        GETVAL | GETPID | GETNCNT | GETZCNT | GETALL | SETALL => {
            // SETALL reads its array before taking the lock (at most SEMMSL values).
            let mut g = arena.lock();
            let i = find(&g, semid as i64)?;
            let n = (g.sems[i].nsems as usize).min(SEMMSL);
            let want = if cmd == SETALL { ipc::WRITE } else { ipc::READ };
            if !c.may(&g.sems[i].perm, want) {
                return Err(Errno::EACCES);
            }
            match cmd {
                GETALL => {
                    let vals: Vec<u8> = g.sems[i].sems[..n]
                        .iter()
                        .flat_map(|s| (s.val as u16).to_le_bytes())
                        .collect();
                    drop(g);
                    t.proc.write_mem(arg, &vals)?;
                    Ok(0)
                }
                SETALL => {
                    drop(g);
                    let raw = t.proc.read_mem(arg, 2 * n)?;
                    let vals: Vec<i32> = raw
                        .chunks_exact(2)
                        .map(|b| i32::from(u16::from_le_bytes([b[0], b[1]])))
                        .collect();
                    if vals.iter().any(|&v| v > SEMVMX) {
                        return Err(Errno::ERANGE);
                    }
                    g = arena.lock();
                    // The set may have gone meanwhile (its id then names nothing).
                    let i2 = find(&g, semid as i64).map_err(|_| Errno(libc::EIDRM))?;
                    if i2 != i || g.sems[i].nsems as usize != n {
                        return Err(Errno(libc::EIDRM));
                    }
                    clear_adj(&mut g, i, None);
                    let pid = t.proc_pid();
                    for (s, v) in g.sems[i].sems[..n].iter_mut().zip(vals) {
                        s.val = v;
                        s.pid = pid;
                    }
                    g.sems[i].ctime = ipc::now();
                    ipc::bump(&g.sems[i].wake);
                    Ok(0)
                }
                _ => {
                    if semnum < 0 || semnum as usize >= n {
                        return Err(Errno::EINVAL);
                    }
                    let s = g.sems[i].sems[semnum as usize];
                    Ok(match cmd {
                        GETVAL => s.val as u64,
                        GETPID => s.pid as u64,
                        GETNCNT => u64::from(s.ncnt),
                        _ => u64::from(s.zcnt),
                    })
                }
            }
        }
        SETVAL => {
            let val = arg as i32;
            if !(0..=SEMVMX).contains(&val) {
                return Err(Errno::ERANGE);
            }
            let mut g = arena.lock();
            let i = find(&g, semid as i64)?;
            if semnum < 0 || semnum as usize >= (g.sems[i].nsems as usize).min(SEMMSL) {
                return Err(Errno::EINVAL);
            }
            if !c.may(&g.sems[i].perm, ipc::WRITE) {
                return Err(Errno::EACCES);
            }
            clear_adj(&mut g, i, Some(semnum as usize));
            let pid = t.proc_pid();
            let s = &mut g.sems[i];
            s.sems[semnum as usize].val = val;
            s.sems[semnum as usize].pid = pid;
            s.ctime = ipc::now();
            ipc::bump(&s.wake);
            Ok(0)
        }
        IPC_RMID | IPC_SET => {
            let buf = if cmd == IPC_SET {
                t.proc.read_mem(arg, SEMID_DS)?
            } else {
                Vec::new()
            };
            let mut g = arena.lock();
            let i = find(&g, semid as i64)?;
            if cmd == IPC_RMID {
                if !c.owns(&g.sems[i].perm) {
                    return Err(Errno::EPERM);
                }
                remove(&mut g, i);
            } else {
                ipc::check_set(&c, &g.sems[i].perm, &buf)?;
                ipc::set_perm(&mut g.sems[i].perm, &buf);
                g.sems[i].ctime = ipc::now();
            }
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// One `struct sembuf`.
#[derive(Clone, Copy, Debug)]
struct SemBuf {
    num: usize,
    op: i32,
    flg: i16,
}

/// `semop(semid, sops, nsops)`.
pub fn semop(t: &mut Task, a: [u64; 6]) -> SysResult {
    semtimedop(t, [a[0], a[1], a[2], 0, 0, 0])
}

/// What one attempt at a `semop` gives.
enum Attempt {
    /// Done.
    Done,
    /// Operation `k` must wait: for zero, or for an increase.
    Block { k: usize },
}

/// `semtimedop(semid, sops, nsops, timeout)`.
pub fn semtimedop(t: &mut Task, a: [u64; 6]) -> SysResult {
    let (semid, sops_va, nsops, ts_va) = (a[0] as i32, a[1], a[2] as u32, a[3]);
    if nsops < 1 || semid < 0 {
        return Err(Errno::EINVAL);
    }
    if nsops as usize > SEMOPM {
        return Err(Errno(libc::E2BIG));
    }
    let raw = t.proc.read_mem(sops_va, SEMBUF * nsops as usize)?;
    let sops: Vec<SemBuf> = raw
        .chunks_exact(SEMBUF)
        .map(|b| SemBuf {
            num: usize::from(u16::from_le_bytes([b[0], b[1]])),
            op: i32::from(i16::from_le_bytes([b[2], b[3]])),
            flg: i16::from_le_bytes([b[4], b[5]]),
        })
        .collect();
    let deadline = if ts_va != 0 {
        let ts = crate::futex::read_timespec(&t.proc, ts_va)?;
        if ts.tv_sec < 0 || !(0..1_000_000_000).contains(&ts.tv_nsec) {
            return Err(Errno::EINVAL);
        }
        // A timeout too far to represent is no timeout.
        Instant::now().checked_add(Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
    } else {
        None
    };
    let max = sops.iter().map(|s| s.num).max().unwrap_or(0);
    let undo = sops.iter().any(|s| s.flg & SEM_UNDO != 0);
    let alter = sops.iter().any(|s| s.op != 0);
    let c = Creds::current();
    let me = ipc::me();
    let pid = t.proc_pid();
    let arena = ipc::arena()?;
    let mut g = arena.lock();
    let i = find(&g, semid as i64)?;
    if max >= g.sems[i].nsems as usize {
        return Err(Errno(libc::EFBIG));
    }
    let want = if alter { ipc::WRITE } else { ipc::READ };
    if !c.may(&g.sems[i].perm, want) {
        return Err(Errno::EACCES);
    }
    if undo {
        undo_hook();
    }
    loop {
        let u = if undo {
            Some(undo_record(&mut g, me, semid)?)
        } else {
            None
        };
        match attempt(&mut g, i, u, &sops, pid)? {
            Attempt::Done => return Ok(0),
            Attempt::Block { k } => {
                let sop = sops[k];
                if sop.flg & (IPC_NOWAIT as i16) != 0 {
                    return Err(Errno::EAGAIN);
                }
                let zero = sop.op == 0;
                count_waiter(&mut g, i, sop.num, zero, true);
                let seen = g.sems[i].wake.load(Ordering::SeqCst);
                let word: *const std::sync::atomic::AtomicU32 = &g.sems[i].wake;
                drop(g);
                let ended = wait_once(t, word, seen, deadline);
                g = arena.lock();
                if find(&g, semid as i64).ok() != Some(i) {
                    return Err(Errno(libc::EIDRM));
                }
                count_waiter(&mut g, i, sop.num, zero, false);
                if let Some(e) = ended {
                    return Err(e);
                }
                sweep_dead(&mut g);
            }
        }
    }
}

/// Waits once for a change of the word at `word` (still `seen`): `Some(error)` when
/// the call must end (`EINTR` for a signal, `EAGAIN` at the deadline).
fn wait_once(
    t: &Task,
    word: *const std::sync::atomic::AtomicU32,
    seen: u32,
    deadline: Option<Instant>,
) -> Option<Errno> {
    if t.signal_pending() {
        return Some(Errno::EINTR);
    }
    let Some(d) = ipc::next_wait(deadline) else {
        return Some(Errno::EAGAIN);
    };
    // SAFETY: the word is in the arena mapping, which lives as long as the process.
    ipc::futex_wait(unsafe { &*word }, seen, Some(d));
    if t.signal_pending() {
        return Some(Errno::EINTR);
    }
    if ipc::next_wait(deadline).is_none() {
        return Some(Errno::EAGAIN);
    }
    None
}

/// Counts (or uncounts) a waiter on semaphore `num` of set `i`.
fn count_waiter(g: &mut Locked<'_>, i: usize, num: usize, zero: bool, add: bool) {
    let Some(s) = g.sems[i].sems.get_mut(num) else {
        return;
    };
    let c = if zero { &mut s.zcnt } else { &mut s.ncnt };
    *c = if add {
        c.saturating_add(1)
    } else {
        c.saturating_sub(1)
    };
}

/// Tries the operations on set `i` all at once (`u`: the caller's undo record).
fn attempt(
    g: &mut Locked<'_>,
    i: usize,
    u: Option<usize>,
    sops: &[SemBuf],
    pid: i32,
) -> Result<Attempt, Errno> {
    let n = (g.sems[i].nsems as usize).min(SEMMSL);
    let mut vals: Vec<i32> = g.sems[i].sems[..n].iter().map(|s| s.val).collect();
    let mut adj: Option<[i16; SEMMSL]> = u.map(|u| g.undo[u].adj);
    for (k, s) in sops.iter().enumerate() {
        let cur = *vals.get(s.num).ok_or(Errno(libc::EFBIG))?;
        if s.op == 0 {
            if cur != 0 {
                return Ok(Attempt::Block { k });
            }
            continue;
        }
        let r = cur + s.op;
        if r < 0 {
            return Ok(Attempt::Block { k });
        }
        if r > SEMVMX {
            return Err(Errno::ERANGE);
        }
        if s.flg & SEM_UNDO != 0 {
            if let Some(adj) = adj.as_mut() {
                let v = i32::from(adj[s.num]) - s.op;
                if !(-SEMAEM - 1..=SEMAEM).contains(&v) {
                    return Err(Errno::ERANGE);
                }
                adj[s.num] = v as i16;
            }
        }
        vals[s.num] = r;
    }
    let set = &mut g.sems[i];
    for (s, v) in set.sems[..n].iter_mut().zip(&vals) {
        s.val = *v;
    }
    for s in sops {
        set.sems[s.num].pid = pid;
    }
    set.otime = ipc::now();
    if sops.iter().any(|s| s.op != 0) {
        ipc::bump(&set.wake);
    }
    if let (Some(u), Some(adj)) = (u, adj) {
        g.undo[u].adj = adj;
    }
    Ok(Attempt::Done)
}

/// The undo record of process `me` for set `semid`, made if needed (`ENOMEM` when
/// none is free, as Linux when it cannot allocate one).
fn undo_record(g: &mut Locked<'_>, me: ProcId, semid: i32) -> Result<usize, Errno> {
    let mine = |g: &Locked<'_>| {
        g.undo
            .iter()
            .position(|u| u.pid == me.pid && u.start == me.start && u.semid == semid)
    };
    if let Some(u) = mine(g) {
        return Ok(u);
    }
    let free = match g.undo.iter().position(|u| u.pid == 0) {
        Some(f) => f,
        None => {
            sweep_dead(g);
            g.undo
                .iter()
                .position(|u| u.pid == 0)
                .ok_or(Errno::ENOMEM)?
        }
    };
    let u = &mut g.undo[free];
    u.pid = me.pid;
    u.start = me.start;
    u.semid = semid;
    u.adj = [0; SEMMSL];
    Ok(free)
}

/// Applies undo record `u` to its set (if it still exists) and frees it: each
/// semaphore gets its adjustment, clamped to `0..=SEMVMX` as Linux does.
fn apply_undo(g: &mut Locked<'_>, u: usize, pid: i32) {
    let (semid, adj) = (g.undo[u].semid, g.undo[u].adj);
    g.undo[u].pid = 0;
    let Ok(i) = find(g, semid as i64) else {
        return;
    };
    let n = (g.sems[i].nsems as usize).min(SEMMSL);
    if adj[..n].iter().all(|&a| a == 0) {
        return;
    }
    let set = &mut g.sems[i];
    for (s, &a) in set.sems[..n].iter_mut().zip(&adj) {
        if a != 0 {
            s.val = (s.val + i32::from(a)).clamp(0, SEMVMX);
            s.pid = pid;
        }
    }
    set.otime = ipc::now();
    ipc::bump(&set.wake);
}

/// Applies the undo records of processes that ended without doing it themselves.
fn sweep_dead(g: &mut Locked<'_>) {
    for u in 0..SEMMNU {
        let (pid, start) = (g.undo[u].pid, g.undo[u].start);
        if pid != 0 && ipc::gone(pid, start) {
            apply_undo(g, u, pid);
        }
    }
}

/// Applies this process's undo records (it is ending).
pub fn exit_undo() {
    let Ok(arena) = ipc::arena() else {
        return;
    };
    let me = ipc::me();
    let mut g = arena.lock();
    for u in 0..SEMMNU {
        if g.undo[u].pid == me.pid && g.undo[u].start == me.start {
            apply_undo(&mut g, u, me.pid);
        }
    }
}

/// The host process that registered [`exit_undo`] to run at its end.
static HOOKED: AtomicI32 = AtomicI32::new(0);

/// Makes sure this host process applies its undo records when it ends (a `fork`
/// child registers its own at its first `SEM_UNDO`; a process started by `execve`
/// at start-up, see `start::exec_with`).
pub fn undo_hook() {
    // SAFETY: getpid cannot fail.
    let pid = unsafe { libc::getpid() };
    if HOOKED.swap(pid, Ordering::SeqCst) != pid {
        crate::exit::at_exit(exit_undo);
    }
}
