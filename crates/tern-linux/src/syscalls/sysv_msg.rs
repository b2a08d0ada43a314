//! SysV message queues: `msgget`, `msgsnd`, `msgrcv`, `msgctl`, in the VM's IPC
//! arena ([`crate::ipc`]), with Linux's argument checks in Linux's order.

use std::sync::atomic::{AtomicU32, Ordering};

use crate::errno::{Errno, SysResult};
use crate::ipc::cmd::*;
use crate::ipc::{self, Creds, Found, Locked, MsgRec, MSGMAX, MSGMNB, MSGMNI, MSGQNUM};
use crate::task::Task;

/// `msgctl` commands and `msgrcv` flags besides the `IPC_*` ones.
#[allow(missing_docs)]
pub mod op {
    pub const MSG_STAT: u32 = 11;
    pub const MSG_INFO: u32 = 12;
    pub const MSG_STAT_ANY: u32 = 13;
    pub const MSG_NOERROR: u32 = 0o10000;
    pub const MSG_EXCEPT: u32 = 0o20000;
    pub const MSG_COPY: u32 = 0o40000;
}
use op::*;

/// `sizeof(struct msqid64_ds)` on riscv64.
const MSQID_DS: usize = 120;

/// `msgget(key, msgflg)`.
pub fn msgget(_t: &mut Task, a: [u64; 6]) -> SysResult {
    let (key, flg) = (a[0] as i32, a[1] as u32);
    let c = Creds::current();
    let mut g = ipc::arena()?.lock();
    match ipc::find_key(g.msgs.iter().map(|q| &q.perm), key) {
        Found::Existing(i) => {
            let q = &g.msgs[i];
            if flg & IPC_CREAT != 0 && flg & IPC_EXCL != 0 {
                return Err(Errno::EEXIST);
            }
            if !c.may(&q.perm, flg & 0o777) {
                return Err(Errno::EACCES);
            }
            Ok(q.perm.id(i) as u64)
        }
        Found::Missing(free) => {
            if key != IPC_PRIVATE && flg & IPC_CREAT == 0 {
                return Err(Errno::ENOENT);
            }
            let i = free.ok_or(Errno(libc::ENOSPC))?;
            let q = &mut g.msgs[i];
            ipc::new_perm(&mut q.perm, key, flg);
            q.clear();
            q.qbytes = MSGMNB as u32;
            q.lspid = 0;
            q.lrpid = 0;
            q.stime = 0;
            q.rtime = 0;
            q.ctime = ipc::now();
            Ok(q.perm.id(i) as u64)
        }
    }
}

/// The slot of queue `id`.
fn find(g: &Locked<'_>, id: i64) -> Result<usize, Errno> {
    ipc::index_of(id, MSGMNI, |i| g.msgs[i].perm).ok_or(Errno::EINVAL)
}

/// Waits once for a change of the queue's wake word (still `seen`): `Some(EINTR)`
/// when a signal came.
fn wait_once(t: &Task, word: *const AtomicU32, seen: u32) -> Option<Errno> {
    if t.signal_pending() {
        return Some(Errno::EINTR);
    }
    // SAFETY: the word is in the arena mapping, which lives as long as the process.
    ipc::futex_wait(unsafe { &*word }, seen, Some(ipc::WAIT_SLICE));
    t.signal_pending().then_some(Errno::EINTR)
}

/// `msgsnd(msqid, msgp, msgsz, msgflg)`.
pub fn msgsnd(t: &mut Task, a: [u64; 6]) -> SysResult {
    let (id, msgp, msgsz, flg) = (a[0] as i32, a[1], a[2] as i64, a[3] as u32);
    let mtype = t.proc.read_u64(msgp)? as i64;
    if msgsz > MSGMAX as i64 || msgsz < 0 || id < 0 {
        return Err(Errno::EINVAL);
    }
    if mtype < 1 {
        return Err(Errno::EINVAL);
    }
    let text = t.proc.read_mem(msgp.wrapping_add(8), msgsz as usize)?;
    let c = Creds::current();
    let pid = t.proc_pid();
    let arena = ipc::arena()?;
    let mut g = arena.lock();
    let i = find(&g, id as i64)?;
    if !c.may(&g.msgs[i].perm, ipc::WRITE) {
        return Err(Errno::EACCES);
    }
    loop {
        let q = &mut g.msgs[i];
        let fits = text.len() as u64 + u64::from(q.cbytes) <= u64::from(q.qbytes)
            && u64::from(q.qnum) < u64::from(q.qbytes)
            && (q.qnum as usize) < MSGQNUM;
        if fits && q.push(mtype, &text) {
            q.lspid = pid;
            q.stime = ipc::now();
            ipc::bump(&q.wake);
            return Ok(0);
        }
        if flg & IPC_NOWAIT != 0 {
            return Err(Errno::EAGAIN);
        }
        let seen = q.wake.load(Ordering::SeqCst);
        let word: *const AtomicU32 = &q.wake;
        drop(g);
        let ended = wait_once(t, word, seen);
        g = arena.lock();
        if find(&g, id as i64).ok() != Some(i) {
            return Err(Errno(libc::EIDRM));
        }
        if let Some(e) = ended {
            return Err(e);
        }
    }
}

/// The message `msgrcv` takes from `q` for `msgtyp` and `flg` (Linux's search
/// modes: any, equal, not equal, lowest type at most |msgtyp|; `MSG_COPY`: the
/// `msgtyp`-th).
fn pick(q: &ipc::MsgQueue, msgtyp: i64, flg: u32) -> Option<MsgRec> {
    let mut msgs = q.messages();
    if flg & MSG_COPY != 0 {
        return usize::try_from(msgtyp).ok().and_then(|n| msgs.nth(n));
    }
    if msgtyp == 0 {
        msgs.next()
    } else if msgtyp < 0 {
        let bound = msgtyp.checked_neg().unwrap_or(i64::MAX);
        let mut best: Option<MsgRec> = None;
        for m in msgs {
            if m.mtype <= bound && best.is_none_or(|b| m.mtype < b.mtype) {
                best = Some(m);
            }
        }
        best
    } else if flg & MSG_EXCEPT != 0 {
        msgs.find(|m| m.mtype != msgtyp)
    } else {
        msgs.find(|m| m.mtype == msgtyp)
    }
}

/// `msgrcv(msqid, msgp, msgsz, msgtyp, msgflg)`.
pub fn msgrcv(t: &mut Task, a: [u64; 6]) -> SysResult {
    let (id, msgp, msgsz, msgtyp, flg) = (a[0] as i32, a[1], a[2] as i64, a[3] as i64, a[4] as u32);
    if id < 0 || msgsz < 0 {
        return Err(Errno::EINVAL);
    }
    if flg & MSG_COPY != 0 && (flg & MSG_EXCEPT != 0 || flg & IPC_NOWAIT == 0) {
        return Err(Errno::EINVAL);
    }
    let c = Creds::current();
    let pid = t.proc_pid();
    let arena = ipc::arena()?;
    let mut g = arena.lock();
    let i = find(&g, id as i64)?;
    if !c.may(&g.msgs[i].perm, ipc::READ) {
        return Err(Errno::EACCES);
    }
    loop {
        let q = &mut g.msgs[i];
        if let Some(m) = pick(q, msgtyp, flg) {
            if m.len as i64 > msgsz && flg & MSG_NOERROR == 0 {
                return Err(Errno(libc::E2BIG));
            }
            let text = q.text(&m);
            let n = m.len.min(msgsz as usize).min(text.len());
            let text = text[..n].to_vec();
            if flg & MSG_COPY == 0 {
                q.remove(&m);
                q.lrpid = pid;
                q.rtime = ipc::now();
                ipc::bump(&q.wake);
            }
            drop(g);
            t.proc.write_u64(msgp, m.mtype as u64)?;
            t.proc.write_mem(msgp.wrapping_add(8), &text)?;
            return Ok(n as u64);
        }
        if flg & IPC_NOWAIT != 0 {
            return Err(Errno(libc::ENOMSG));
        }
        let seen = q.wake.load(Ordering::SeqCst);
        let word: *const AtomicU32 = &q.wake;
        drop(g);
        let ended = wait_once(t, word, seen);
        g = arena.lock();
        if find(&g, id as i64).ok() != Some(i) {
            return Err(Errno(libc::EIDRM));
        }
        if let Some(e) = ended {
            return Err(e);
        }
    }
}

/// `msgctl(msqid, cmd, buf)`.
pub fn msgctl(t: &mut Task, a: [u64; 6]) -> SysResult {
    let (id, cmd, buf) = (a[0] as i32, a[1] as u32 & !IPC_64, a[2]);
    if id < 0 {
        return Err(Errno::EINVAL);
    }
    let c = Creds::current();
    let arena = ipc::arena()?;
    match cmd {
        IPC_INFO | MSG_INFO => {
            let g = arena.lock();
            let used: Vec<usize> = (0..MSGMNI).filter(|&i| g.msgs[i].perm.used != 0).collect();
            // struct msginfo: msgpool, msgmap, msgmax, msgmnb, msgmni, msgssz, msgtql
            // (ints), msgseg (unsigned short).
            let mut info = [
                (MSGMNI * MSGMNB / 1024) as i32,
                MSGMNB as i32,
                MSGMAX as i32,
                MSGMNB as i32,
                MSGMNI as i32,
                16,
                MSGMNB as i32,
            ];
            if cmd == MSG_INFO {
                info[0] = used.len() as i32;
                info[1] = used.iter().map(|&i| g.msgs[i].qnum as i32).sum();
                info[6] = used.iter().map(|&i| g.msgs[i].cbytes as i32).sum();
            }
            let max = used.last().copied().unwrap_or(0);
            drop(g);
            let mut bytes: Vec<u8> = info.iter().flat_map(|v| v.to_le_bytes()).collect();
            bytes.extend_from_slice(&0xffffu16.to_le_bytes());
            bytes.extend_from_slice(&[0, 0]);
            t.proc.write_mem(buf, &bytes)?;
            Ok(max as u64)
        }
        MSG_STAT | MSG_STAT_ANY | IPC_STAT => {
            let g = arena.lock();
            let i = if cmd == IPC_STAT {
                find(&g, id as i64)?
            } else {
                let i = id as usize;
                if i >= MSGMNI || g.msgs[i].perm.used == 0 {
                    return Err(Errno::EINVAL);
                }
                i
            };
            let q = &g.msgs[i];
            if cmd != MSG_STAT_ANY && !c.may(&q.perm, ipc::READ) {
                return Err(Errno::EACCES);
            }
            let mut b = [0u8; MSQID_DS];
            ipc::put_perm(&mut b, &q.perm, i);
            b[48..56].copy_from_slice(&q.stime.to_le_bytes());
            b[56..64].copy_from_slice(&q.rtime.to_le_bytes());
            b[64..72].copy_from_slice(&q.ctime.to_le_bytes());
            b[72..80].copy_from_slice(&u64::from(q.cbytes).to_le_bytes());
            b[80..88].copy_from_slice(&u64::from(q.qnum).to_le_bytes());
            b[88..96].copy_from_slice(&u64::from(q.qbytes).to_le_bytes());
            b[96..100].copy_from_slice(&q.lspid.to_le_bytes());
            b[100..104].copy_from_slice(&q.lrpid.to_le_bytes());
            let qid = q.perm.id(i);
            drop(g);
            t.proc.write_mem(buf, &b)?;
            Ok(if cmd == IPC_STAT { 0 } else { qid as u64 })
        }
        IPC_RMID | IPC_SET => {
            let b = if cmd == IPC_SET {
                t.proc.read_mem(buf, MSQID_DS)?
            } else {
                Vec::new()
            };
            let mut g = arena.lock();
            let i = find(&g, id as i64)?;
            if cmd == IPC_RMID {
                if !c.owns(&g.msgs[i].perm) {
                    return Err(Errno::EPERM);
                }
                let q = &mut g.msgs[i];
                q.perm.used = 0;
                q.clear();
                ipc::bump(&q.wake);
                return Ok(0);
            }
            let qbytes = u64::from_le_bytes(b[88..96].try_into().map_err(|_| Errno::EFAULT)?);
            ipc::check_set(&c, &g.msgs[i].perm, &b)?;
            if qbytes > MSGMNB as u64 && !c.privileged() {
                return Err(Errno::EPERM);
            }
            let q = &mut g.msgs[i];
            ipc::set_perm(&mut q.perm, &b);
            q.qbytes = qbytes.min(MSGMNB as u64) as u32;
            q.ctime = ipc::now();
            ipc::bump(&q.wake);
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}
