//! SysV shared memory: `shmget`, `shmat`, `shmdt`, `shmctl`, in the VM's IPC arena
//! ([`crate::ipc`]), with Linux's argument checks in Linux's order.
//!
//! A segment is a run of the arena's shared-memory pool (a range of the arena's
//! memfd); `shmat` maps that range into the guest's address space as a shared region
//! ([`crate::mm::Mm::map_shared`]), so every process of the VM that attaches it, and
//! a `fork` child that inherits the attachment, sees the same pages.
//!
//! `shm_nattch` counts, as Linux does, the areas of the VM's processes that map the
//! segment: each process keeps a record of its own counts in the arena, recounted
//! from its address space at each of its `shm*` calls (so an area the program
//! removed with `munmap` counts until its next `shm*` call or its end); `fork` gives
//! the child a copy (made by the parent before `fork` returns), `execve` drops the
//! record, and the record of a process that ended (or is a zombie) is dropped by the
//! next `shm*` call of any process, which then destroys segments removed with
//! `IPC_RMID` that nobody has attached any more.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::errno::{Errno, SysResult};
use crate::ipc::cmd::*;
use crate::ipc::{
    self, Arena, Creds, Found, Locked, POOL_OFFSET, SHMATT, SHMMNI, SHM_DEST, SHM_LOCKED,
};
use crate::mm::region::RegionKind;
use crate::mm::shared::SharedMap;
use crate::mm::vma::{Backing, PROT_EXEC, PROT_READ, PROT_WRITE};
use crate::mm::{Mm, PAGE};
use crate::task::Task;
use crate::tree::ProcId;

/// `shmat` flags and `shmctl` commands besides the `IPC_*` ones.
#[allow(missing_docs)]
pub mod op {
    pub const SHM_RDONLY: u32 = 0o10000;
    pub const SHM_RND: u32 = 0o20000;
    pub const SHM_REMAP: u32 = 0o40000;
    pub const SHM_EXEC: u32 = 0o100000;
    pub const SHM_LOCK: u32 = 11;
    pub const SHM_UNLOCK: u32 = 12;
    pub const SHM_STAT: u32 = 13;
    pub const SHM_INFO: u32 = 14;
    pub const SHM_STAT_ANY: u32 = 15;
}
use op::*;

/// `sizeof(struct shmid64_ds)` on riscv64.
const SHMID_DS: usize = 112;

/// Whether this process has attached a segment (else `fork` has nothing to copy).
static ATTACHED: AtomicBool = AtomicBool::new(false);

/// Notes that this process has a segment attached (a restore mapped one again).
pub fn note_attached() {
    ATTACHED.store(true, Ordering::Relaxed);
}

fn page_up(n: u64) -> u64 {
    n.div_ceil(PAGE) * PAGE
}

/// The slot of segment `id`.
fn find(g: &Locked<'_>, id: i64) -> Result<usize, Errno> {
    ipc::index_of(id, SHMMNI, |i| g.shm[i].perm).ok_or(Errno::EINVAL)
}

/// How many areas of address space `mm` map each segment.
fn counts(g: &Locked<'_>, mm: &Mm) -> [u16; SHMMNI] {
    let mut c = [0u16; SHMMNI];
    for v in mm.vmas.iter() {
        let Backing::Shared { phys } = v.backing else {
            continue;
        };
        if let Some((_, r)) = mm.regions.find(phys) {
            if let RegionKind::SysV { id, .. } = r.kind {
                if let Ok(i) = find(g, i64::from(id)) {
                    c[i] = c[i].saturating_add(1);
                }
            }
        }
    }
    c
}

/// Stores `c` as the attachments of process `who` (no record when all are 0);
/// `ENOMEM` when a record is needed and none is free.
fn set_record(g: &mut Locked<'_>, who: ProcId, c: [u16; SHMMNI]) -> Result<(), Errno> {
    let at = g
        .shm_att
        .iter()
        .position(|r| r.pid == who.pid && r.start == who.start);
    let none = c.iter().all(|&n| n == 0);
    match (at, none) {
        (Some(i), true) => g.shm_att[i].pid = 0,
        (Some(i), false) => g.shm_att[i].count = c,
        (None, true) => {}
        (None, false) => {
            let i = g
                .shm_att
                .iter()
                .position(|r| r.pid == 0)
                .ok_or(Errno::ENOMEM)?;
            let r = &mut g.shm_att[i];
            r.pid = who.pid;
            r.start = who.start;
            r.count = c;
        }
    }
    Ok(())
}

/// Attachments of segment `i` in the whole VM.
fn nattch(g: &Locked<'_>, i: usize) -> u64 {
    g.shm_att
        .iter()
        .filter(|r| r.pid != 0)
        .map(|r| u64::from(r.count[i]))
        .sum()
}

/// Frees segment `i` and gives its pages back.
fn destroy(g: &mut Locked<'_>, arena: &Arena, i: usize) {
    let s = &mut g.shm[i];
    s.perm.used = 0;
    arena.zero_pool(s.offset, page_up(s.size));
}

/// Drops the records of processes that ended, then destroys the removed segments
/// nobody has attached.
fn sweep(g: &mut Locked<'_>, arena: &Arena) {
    for r in 0..SHMATT {
        let (pid, start) = (g.shm_att[r].pid, g.shm_att[r].start);
        if pid != 0 && ipc::gone(pid, start) {
            g.shm_att[r].pid = 0;
        }
    }
    for i in 0..SHMMNI {
        if g.shm[i].perm.used != 0 && g.shm[i].perm.mode & SHM_DEST != 0 && nattch(g, i) == 0 {
            destroy(g, arena, i);
        }
    }
}

/// Recounts the caller's attachments, then sweeps.
fn refresh(t: &Task, g: &mut Locked<'_>, arena: &Arena) {
    let c = counts(g, &t.proc.mm());
    let _ = set_record(g, ipc::me(), c);
    sweep(g, arena);
}

/// A free run of `len` bytes in a pool of `pool` bytes (first fit).
fn alloc_pool(g: &Locked<'_>, len: u64, pool: u64) -> Option<u64> {
    let mut used: Vec<(u64, u64)> = g
        .shm
        .iter()
        .filter(|s| s.perm.used != 0)
        .map(|s| (s.offset, page_up(s.size)))
        .collect();
    used.sort_unstable();
    let mut at = 0u64;
    for (o, l) in used {
        if o >= at + len {
            break;
        }
        at = at.max(o + l);
    }
    (at + len <= pool).then_some(at)
}

/// `shmget(key, size, shmflg)`.
pub fn shmget(t: &mut Task, a: [u64; 6]) -> SysResult {
    let (key, size, flg) = (a[0] as i32, a[1], a[2] as u32);
    let c = Creds::current();
    let arena = ipc::arena()?;
    let mut g = arena.lock();
    refresh(t, &mut g, arena);
    match ipc::find_key(g.shm.iter().map(|s| &s.perm), key) {
        Found::Existing(i) => {
            let s = &g.shm[i];
            if flg & IPC_CREAT != 0 && flg & IPC_EXCL != 0 {
                return Err(Errno::EEXIST);
            }
            if s.size < size {
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
            let pool = arena.pool();
            if size < 1 || size > pool {
                return Err(Errno::EINVAL);
            }
            let len = page_up(size);
            let total: u64 = g
                .shm
                .iter()
                .filter(|s| s.perm.used != 0)
                .map(|s| page_up(s.size))
                .sum();
            if total + len > pool {
                return Err(Errno(libc::ENOSPC));
            }
            let i = free.ok_or(Errno(libc::ENOSPC))?;
            // The pool may be fragmented: no run long enough is ENOSPC as well.
            let offset = alloc_pool(&g, len, pool).ok_or(Errno(libc::ENOSPC))?;
            arena.zero_pool(offset, len);
            let pid = t.proc_pid();
            let s = &mut g.shm[i];
            ipc::new_perm(&mut s.perm, key, flg);
            s.size = size;
            s.offset = offset;
            s.cpid = pid;
            s.lpid = 0;
            s.atime = 0;
            s.dtime = 0;
            s.ctime = ipc::now();
            Ok(s.perm.id(i) as u64)
        }
    }
}

/// `shmat(shmid, shmaddr, shmflg)`.
pub fn shmat(t: &mut Task, a: [u64; 6]) -> SysResult {
    let (id, mut addr, flg) = (a[0] as i32, a[1], a[2] as u32);
    if id < 0 {
        return Err(Errno::EINVAL);
    }
    // SHMLBA is the page size on riscv64.
    if !addr.is_multiple_of(PAGE) {
        if flg & SHM_RND != 0 && addr >= PAGE {
            addr &= !(PAGE - 1);
        } else {
            return Err(Errno::EINVAL);
        }
    }
    let (mut prot, mut acc) = if flg & SHM_RDONLY != 0 {
        (PROT_READ, ipc::READ)
    } else {
        (PROT_READ | PROT_WRITE, ipc::READ | ipc::WRITE)
    };
    if flg & SHM_EXEC != 0 {
        prot |= PROT_EXEC;
        acc |= 0o111;
    }
    let c = Creds::current();
    let arena = ipc::arena()?;
    let mut g = arena.lock();
    let i = find(&g, i64::from(id))?;
    if !c.may(&g.shm[i].perm, acc) {
        return Err(Errno::EACCES);
    }
    let me = ipc::me();
    let len = page_up(g.shm[i].size);
    let off = POOL_OFFSET + g.shm[i].offset;
    let proc = t.proc.clone();
    let mut mm = proc.mm();
    let start = if addr == 0 {
        mm.find_free(0, len).ok_or(Errno::ENOMEM)?
    } else {
        let end = addr.checked_add(len).ok_or(Errno::EINVAL)?;
        if end > crate::mm::MMAP_TOP.max(crate::mm::STACK_TOP) {
            return Err(Errno::EINVAL);
        }
        if flg & SHM_REMAP == 0 && mm.vmas.overlapping(addr, end).next().is_some() {
            return Err(Errno::EINVAL);
        }
        addr
    };
    // A record must be possible before anything is mapped.
    let mut cnt = counts(&g, &mm);
    cnt[i] = cnt[i].saturating_add(1);
    set_record(&mut g, me, cnt)?;
    let what = SharedMap {
        file: arena.file().clone(),
        offset: off,
        writable: flg & SHM_RDONLY == 0,
        kind: RegionKind::SysV {
            id,
            offset: off,
            end: off + len,
        },
    };
    if let Err(e) = mm.map_shared(start, len, prot, what) {
        let c = counts(&g, &mm);
        let _ = set_record(&mut g, me, c);
        return Err(e);
    }
    drop(mm);
    ATTACHED.store(true, Ordering::Relaxed);
    let pid = t.proc_pid();
    let s = &mut g.shm[i];
    s.atime = ipc::now();
    s.lpid = pid;
    Ok(start)
}

/// `shmdt(shmaddr)`: detaches the segment attached at `shmaddr` (the areas of it
/// from there on, as Linux finds them).
pub fn shmdt(t: &mut Task, a: [u64; 6]) -> SysResult {
    let addr = a[0];
    if !addr.is_multiple_of(PAGE) {
        return Err(Errno::EINVAL);
    }
    let arena = ipc::arena()?;
    let mut g = arena.lock();
    let proc = t.proc.clone();
    let mut mm = proc.mm();
    // The area that starts the attachment: its first page is the segment's first.
    let (id, len) = mm
        .vmas
        .find(addr)
        .filter(|v| v.start == addr)
        .and_then(|v| match v.backing {
            Backing::Shared { phys } => mm.regions.find(phys).and_then(|(base, r)| match r.kind {
                RegionKind::SysV { id, offset, .. } if r.file_offset(base, phys) == offset => {
                    Some((id, r.len))
                }
                _ => None,
            }),
            _ => None,
        })
        .ok_or(Errno::EINVAL)?;
    let end = addr.saturating_add(len);
    let ours: Vec<(u64, u64)> =
        mm.vmas
            .overlapping(addr, end)
            .filter(|v| match v.backing {
                Backing::Shared { phys } => mm.regions.find(phys).is_some_and(
                    |(_, r)| matches!(r.kind, RegionKind::SysV { id: i, .. } if i == id),
                ),
                _ => false,
            })
            .map(|v| (v.start.max(addr), v.end.min(end)))
            .collect();
    for (s, e) in ours {
        mm.unmap(s, e);
    }
    let c = counts(&g, &mm);
    drop(mm);
    let _ = set_record(&mut g, ipc::me(), c);
    if let Ok(i) = find(&g, i64::from(id)) {
        let pid = t.proc_pid();
        g.shm[i].dtime = ipc::now();
        g.shm[i].lpid = pid;
    }
    sweep(&mut g, arena);
    Ok(0)
}

/// `shmctl(shmid, cmd, buf)`.
pub fn shmctl(t: &mut Task, a: [u64; 6]) -> SysResult {
    let (id, cmd, buf) = (a[0] as i32, a[1] as u32 & !IPC_64, a[2]);
    if id < 0 {
        return Err(Errno::EINVAL);
    }
    let c = Creds::current();
    let arena = ipc::arena()?;
    match cmd {
        IPC_INFO | SHM_INFO => {
            let mut g = arena.lock();
            refresh(t, &mut g, arena);
            let used: Vec<usize> = (0..SHMMNI).filter(|&i| g.shm[i].perm.used != 0).collect();
            let max = used.last().copied().unwrap_or(0);
            let pool = arena.pool();
            let mut b = Vec::new();
            if cmd == IPC_INFO {
                // struct shminfo64: shmmax, shmmin, shmmni, shmseg, shmall, 4 unused.
                for v in [
                    pool,
                    1,
                    SHMMNI as u64,
                    SHMMNI as u64,
                    pool / PAGE,
                    0,
                    0,
                    0,
                    0,
                ] {
                    b.extend_from_slice(&v.to_le_bytes());
                }
            } else {
                // struct shm_info: used_ids, then shm_tot, shm_rss, shm_swp and two
                // unused counters (pages).
                let pages: u64 = used.iter().map(|&i| page_up(g.shm[i].size) / PAGE).sum();
                b.extend_from_slice(&(used.len() as u32).to_le_bytes());
                b.extend_from_slice(&[0; 4]);
                for v in [pages, pages, 0, 0, 0] {
                    b.extend_from_slice(&v.to_le_bytes());
                }
            }
            drop(g);
            t.proc.write_mem(buf, &b)?;
            Ok(max as u64)
        }
        SHM_STAT | SHM_STAT_ANY | IPC_STAT => {
            let mut g = arena.lock();
            refresh(t, &mut g, arena);
            let i = if cmd == IPC_STAT {
                find(&g, i64::from(id))?
            } else {
                let i = id as usize;
                if i >= SHMMNI || g.shm[i].perm.used == 0 {
                    return Err(Errno::EINVAL);
                }
                i
            };
            let s = g.shm[i];
            if cmd != SHM_STAT_ANY && !c.may(&s.perm, ipc::READ) {
                return Err(Errno::EACCES);
            }
            let n = nattch(&g, i);
            drop(g);
            let mut b = [0u8; SHMID_DS];
            ipc::put_perm(&mut b, &s.perm, i);
            b[48..56].copy_from_slice(&s.size.to_le_bytes());
            b[56..64].copy_from_slice(&s.atime.to_le_bytes());
            b[64..72].copy_from_slice(&s.dtime.to_le_bytes());
            b[72..80].copy_from_slice(&s.ctime.to_le_bytes());
            b[80..84].copy_from_slice(&s.cpid.to_le_bytes());
            b[84..88].copy_from_slice(&s.lpid.to_le_bytes());
            b[88..96].copy_from_slice(&n.to_le_bytes());
            t.proc.write_mem(buf, &b)?;
            Ok(if cmd == IPC_STAT {
                0
            } else {
                s.perm.id(i) as u64
            })
        }
        IPC_RMID | IPC_SET | SHM_LOCK | SHM_UNLOCK => {
            let b = if cmd == IPC_SET {
                t.proc.read_mem(buf, SHMID_DS)?
            } else {
                Vec::new()
            };
            let mut g = arena.lock();
            refresh(t, &mut g, arena);
            let i = find(&g, i64::from(id))?;
            match cmd {
                IPC_SET => {
                    ipc::check_set(&c, &g.shm[i].perm, &b)?;
                    ipc::set_perm(&mut g.shm[i].perm, &b);
                    g.shm[i].ctime = ipc::now();
                }
                IPC_RMID => {
                    if !c.owns(&g.shm[i].perm) {
                        return Err(Errno::EPERM);
                    }
                    if nattch(&g, i) == 0 {
                        destroy(&mut g, arena, i);
                    } else {
                        // Destroyed at the last detach; its key is free now.
                        g.shm[i].perm.mode |= SHM_DEST;
                        g.shm[i].perm.key = IPC_PRIVATE;
                    }
                }
                _ => {
                    if !c.owns(&g.shm[i].perm) {
                        return Err(Errno::EPERM);
                    }
                    if cmd == SHM_LOCK {
                        g.shm[i].perm.mode |= SHM_LOCKED;
                    } else {
                        g.shm[i].perm.mode &= !SHM_LOCKED;
                    }
                }
            }
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// After `fork` in the parent: the child `child` has the parent's attachments.
pub fn forked(t: &Task, child: i32) {
    if !ATTACHED.load(Ordering::Relaxed) {
        return;
    }
    let Some(start) = crate::tree::read_stat(child).map(|s| s.start) else {
        return;
    };
    let Ok(arena) = ipc::arena() else {
        return;
    };
    let child = ProcId { pid: child, start };
    let mut g = arena.lock();
    // The child may have run an shm call of its own already: its record is newer.
    if g.shm_att
        .iter()
        .any(|r| r.pid == child.pid && r.start == child.start)
    {
        return;
    }
    let c = counts(&g, &t.proc.mm());
    let _ = set_record(&mut g, child, c);
}

/// At the start of a program run by `execve`: the old program's attachments are
/// gone.
pub fn exec_detached() {
    let Ok(arena) = ipc::arena() else {
        return;
    };
    let mut g = arena.lock();
    let _ = set_record(&mut g, ipc::me(), [0; SHMMNI]);
}
