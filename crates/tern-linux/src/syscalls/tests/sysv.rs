//! SysV IPC (`syscalls/sysv_sem.rs`, `syscalls/sysv_msg.rs`, the arena of
//! `crate::ipc`): argument errors in Linux's order, the operations, the limits.
//! Each test thread has an arena of its own.

use std::time::{Duration, Instant};

use super::{Guest, UNMAPPED};
use crate::errno::Errno;
use crate::ipc::{self, MSGMAX, MSGMNB, MSGMNI, SEMMNI, SEMMSL, SEMOPM};
use crate::syscalls::sysv_msg::{self as msg, op::*};
use crate::syscalls::sysv_sem::{self as sem, op::*};
use crate::syscalls::sysv_shm as shm;

const IPC_CREAT: u64 = 0o1000;
const IPC_EXCL: u64 = 0o2000;
const IPC_NOWAIT: u64 = 0o4000;
const IPC_RMID: u64 = 0;
const IPC_SET: u64 = 1;
const IPC_STAT: u64 = 2;
const IPC_INFO: u64 = 3;

fn e(n: i32) -> Errno {
    Errno(n)
}

/// `struct sembuf` entries.
fn sembufs(ops: &[(u16, i16, i16)]) -> Vec<u8> {
    ops.iter()
        .flat_map(|&(n, op, fl)| {
            let mut b = n.to_le_bytes().to_vec();
            b.extend_from_slice(&op.to_le_bytes());
            b.extend_from_slice(&fl.to_le_bytes());
            b
        })
        .collect()
}

fn semget(g: &mut Guest, key: i32, n: i32, flg: u64) -> Result<u64, Errno> {
    sem::semget(&mut g.t, [key as u64, n as u64, flg, 0, 0, 0])
}

fn semop(g: &mut Guest, id: u64, ops: &[(u16, i16, i16)]) -> Result<u64, Errno> {
    let va = g.put(0x100, &sembufs(ops));
    sem::semop(&mut g.t, [id, va, ops.len() as u64, 0, 0, 0])
}

fn semctl(g: &mut Guest, id: u64, num: u64, cmd: u32, arg: u64) -> Result<u64, Errno> {
    sem::semctl(&mut g.t, [id, num, u64::from(cmd), arg, 0, 0])
}

#[test]
fn semget_checks_like_linux() {
    let mut g = Guest::new();
    assert_eq!(semget(&mut g, 0, -1, IPC_CREAT), Err(Errno::EINVAL));
    assert_eq!(
        semget(&mut g, 0, SEMMSL as i32 + 1, IPC_CREAT),
        Err(Errno::EINVAL)
    );
    assert_eq!(semget(&mut g, 0x5150, 1, 0o600), Err(Errno::ENOENT));
    assert_eq!(
        semget(&mut g, 0x5150, 0, IPC_CREAT | 0o600),
        Err(Errno::EINVAL)
    );
    let id = semget(&mut g, 0x5150, 3, IPC_CREAT | 0o600).expect("semget");
    assert_eq!(semget(&mut g, 0x5150, 3, 0), Ok(id));
    assert_eq!(semget(&mut g, 0x5150, 0, 0), Ok(id));
    assert_eq!(semget(&mut g, 0x5150, 4, 0), Err(Errno::EINVAL));
    assert_eq!(
        semget(&mut g, 0x5150, 3, IPC_CREAT | IPC_EXCL | 0o600),
        Err(Errno::EEXIST)
    );
    // IPC_PRIVATE always makes a new set.
    let p1 = semget(&mut g, 0, 1, 0o600).expect("private");
    let p2 = semget(&mut g, 0, 1, 0o600).expect("private");
    assert_ne!(p1, p2);
    assert_eq!(semctl(&mut g, id, 0, 0, 0), Ok(0));
    assert_eq!(semget(&mut g, 0x5150, 1, 0), Err(Errno::ENOENT));
    // The old id names nothing any more, even when the slot is reused.
    let again = semget(&mut g, 0x5150, 3, IPC_CREAT | 0o600).expect("semget");
    assert_ne!(again, id);
    assert_eq!(semctl(&mut g, id, 0, GETVAL, 0), Err(Errno::EINVAL));
}

#[test]
fn semop_checks_arguments_in_linux_order() {
    let mut g = Guest::new();
    let id = semget(&mut g, 0, 2, 0o600).expect("semget");
    let va = g.put(0, &sembufs(&[(0, 1, 0)]));
    assert_eq!(
        sem::semop(&mut g.t, [id, va, 0, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        sem::semop(&mut g.t, [u64::MAX, va, 1, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        sem::semop(&mut g.t, [id, va, SEMOPM as u64 + 1, 0, 0, 0]),
        Err(e(libc::E2BIG))
    );
    assert_eq!(
        sem::semop(&mut g.t, [id, UNMAPPED, 1, 0, 0, 0]),
        Err(Errno::EFAULT)
    );
    assert_eq!(
        sem::semop(&mut g.t, [id + 1, va, 1, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
    assert_eq!(semop(&mut g, id, &[(2, 1, 0)]), Err(e(libc::EFBIG)));
    // A bad timeout.
    let ts = g.put(0x200, &[(-1i64).to_le_bytes(), 0i64.to_le_bytes()].concat());
    assert_eq!(
        sem::semtimedop(&mut g.t, [id, va, 1, ts, 0, 0]),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        sem::semtimedop(&mut g.t, [id, va, 1, UNMAPPED, 0, 0]),
        Err(Errno::EFAULT)
    );
    // A timeout too far to represent waits like none (here: not at all).
    let far = g.put(
        0x200,
        &[i64::MAX.to_le_bytes(), 0i64.to_le_bytes()].concat(),
    );
    let up = g.put(0x240, &sembufs(&[(0, 1, 0)]));
    assert_eq!(sem::semtimedop(&mut g.t, [id, up, 1, far, 0, 0]), Ok(0));
}

#[test]
fn semop_is_all_or_nothing_and_nowait_gives_eagain() {
    let mut g = Guest::new();
    let id = semget(&mut g, 0, 2, 0o600).expect("semget");
    assert_eq!(semop(&mut g, id, &[(0, 2, 0), (1, 1, 0)]), Ok(0));
    // The second op would block: nothing changes.
    assert_eq!(
        semop(&mut g, id, &[(0, -1, 0), (1, -2, IPC_NOWAIT as i16)]),
        Err(Errno::EAGAIN)
    );
    assert_eq!(semctl(&mut g, id, 0, GETVAL, 0), Ok(2));
    assert_eq!(semctl(&mut g, id, 1, GETVAL, 0), Ok(1));
    // Wait-for-zero on a non-zero semaphore.
    assert_eq!(
        semop(&mut g, id, &[(1, 0, IPC_NOWAIT as i16)]),
        Err(Errno::EAGAIN)
    );
    assert_eq!(
        semop(&mut g, id, &[(0, -2, 0), (1, -1, 0), (1, 0, 0)]),
        Ok(0)
    );
    assert_eq!(semctl(&mut g, id, 0, GETPID, 0), Ok(g.t.proc_pid() as u64));
    // Past SEMVMX.
    assert_eq!(semctl(&mut g, id, 0, SETVAL, 32767), Ok(0));
    assert_eq!(semop(&mut g, id, &[(0, 1, 0)]), Err(Errno::ERANGE));
    assert_eq!(semctl(&mut g, id, 0, SETVAL, 32768), Err(Errno::ERANGE));
    assert_eq!(semctl(&mut g, id, 0, SETVAL, u64::MAX), Err(Errno::ERANGE));
    assert_eq!(semctl(&mut g, id, 2, SETVAL, 1), Err(Errno::EINVAL));
    assert_eq!(semctl(&mut g, id, 2, GETVAL, 0), Err(Errno::EINVAL));
}

#[test]
fn semtimedop_times_out_with_eagain() {
    let mut g = Guest::new();
    let id = semget(&mut g, 0, 1, 0o600).expect("semget");
    let va = g.put(0, &sembufs(&[(0, -1, 0)]));
    let ts = g.put(
        0x200,
        &[0i64.to_le_bytes(), 100_000_000i64.to_le_bytes()].concat(),
    );
    let t0 = Instant::now();
    assert_eq!(
        sem::semtimedop(&mut g.t, [id, va, 1, ts, 0, 0]),
        Err(Errno::EAGAIN)
    );
    assert!(t0.elapsed() >= Duration::from_millis(100));
    // The waiter was counted while it waited, and no more.
    assert_eq!(semctl(&mut g, id, 0, GETNCNT, 0), Ok(0));
}

#[test]
fn getall_setall_and_stat() {
    let mut g = Guest::new();
    let id = semget(&mut g, 0x5151, 3, IPC_CREAT | 0o640).expect("semget");
    let vals = g.put(0x300, &[1u16, 2, 3].map(u16::to_le_bytes).concat());
    assert_eq!(semctl(&mut g, id, 0, SETALL, vals), Ok(0));
    let out = g.mem + 0x400;
    assert_eq!(semctl(&mut g, id, 0, GETALL, out), Ok(0));
    assert_eq!(g.get(out, 6), [1u16, 2, 3].map(u16::to_le_bytes).concat());
    let bad = g.put(0x300, &[1u16, 40000, 3].map(u16::to_le_bytes).concat());
    assert_eq!(semctl(&mut g, id, 0, SETALL, bad), Err(Errno::ERANGE));
    assert_eq!(semctl(&mut g, id, 0, GETALL, UNMAPPED), Err(Errno::EFAULT));
    let ds = g.mem + 0x500;
    assert_eq!(semctl(&mut g, id, 0, IPC_STAT as u32, ds), Ok(0));
    assert_eq!(g.i32_at(ds), 0x5151);
    assert_eq!(g.i32_at(ds + 20), 0o640);
    assert_eq!(g.u64_at(ds + 64), 3);
    // IPC_SET changes the mode; IPC_64 in the command is accepted.
    g.put(0x500 + 20, &0o600u32.to_le_bytes());
    assert_eq!(semctl(&mut g, id, 0, IPC_SET as u32 | 0x100, ds), Ok(0));
    assert_eq!(semctl(&mut g, id, 0, IPC_STAT as u32, ds), Ok(0));
    assert_eq!(g.i32_at(ds + 20), 0o600);
    // IPC_INFO reports the arena's limits.
    let info = g.mem + 0x600;
    assert!(semctl(&mut g, 0, 0, IPC_INFO as u32, info).is_ok());
    assert_eq!(g.i32_at(info + 4), SEMMNI as i32);
    assert_eq!(g.i32_at(info + 16), SEMMSL as i32);
    assert_eq!(semctl(&mut g, id, 0, 99, 0), Err(Errno::EINVAL));
}

#[test]
fn sem_undo_is_applied_when_the_process_ends() {
    let mut g = Guest::new();
    let id = semget(&mut g, 0, 1, 0o600).expect("semget");
    assert_eq!(semctl(&mut g, id, 0, SETVAL, 5), Ok(0));
    assert_eq!(semop(&mut g, id, &[(0, -2, SEM_UNDO)]), Ok(0));
    assert_eq!(semop(&mut g, id, &[(0, 1, SEM_UNDO)]), Ok(0));
    assert_eq!(semctl(&mut g, id, 0, GETVAL, 0), Ok(4));
    sem::exit_undo();
    assert_eq!(semctl(&mut g, id, 0, GETVAL, 0), Ok(5));
    // SETVAL forgets the adjustments.
    assert_eq!(semop(&mut g, id, &[(0, -1, SEM_UNDO)]), Ok(0));
    assert_eq!(semctl(&mut g, id, 0, SETVAL, 1), Ok(0));
    sem::exit_undo();
    assert_eq!(semctl(&mut g, id, 0, GETVAL, 0), Ok(1));
}

#[test]
fn a_waiter_sees_eidrm_when_the_set_is_removed() {
    let mut g = Guest::new();
    let id = semget(&mut g, 0, 1, 0o600).expect("semget");
    let arena = ipc::arena().expect("arena");
    let waiter = std::thread::spawn(move || {
        ipc::share_with_thread(arena);
        let mut w = Guest::new();
        semop(&mut w, id, &[(0, -1, 0)])
    });
    // Wait until it is counted as waiting, then remove the set.
    let t0 = Instant::now();
    while semctl(&mut g, id, 0, GETNCNT, 0) != Ok(1) {
        assert!(t0.elapsed() < Duration::from_secs(10), "the waiter waits");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(semctl(&mut g, id, 0, IPC_RMID as u32, 0), Ok(0));
    assert_eq!(waiter.join().expect("waiter"), Err(e(libc::EIDRM)));
}

#[test]
fn a_waiter_is_woken_by_semop() {
    let mut g = Guest::new();
    let id = semget(&mut g, 0, 1, 0o600).expect("semget");
    let arena = ipc::arena().expect("arena");
    let waiter = std::thread::spawn(move || {
        ipc::share_with_thread(arena);
        let mut w = Guest::new();
        semop(&mut w, id, &[(0, -1, 0)])
    });
    let t0 = Instant::now();
    while semctl(&mut g, id, 0, GETNCNT, 0) != Ok(1) {
        assert!(t0.elapsed() < Duration::from_secs(10), "the waiter waits");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(semop(&mut g, id, &[(0, 1, 0)]), Ok(0));
    assert_eq!(waiter.join().expect("waiter"), Ok(0));
    assert_eq!(semctl(&mut g, id, 0, GETVAL, 0), Ok(0));
}

#[test]
fn sem_limits_bound_the_arena() {
    let mut g = Guest::new();
    for _ in 0..SEMMNI {
        semget(&mut g, 0, SEMMSL as i32, 0o600).expect("a set within the limits");
    }
    assert_eq!(semget(&mut g, 0, 1, 0o600), Err(e(libc::ENOSPC)));
    let size = std::fs::metadata(format!(
        "/proc/self/fd/{}",
        ipc::arena().expect("arena").fd()
    ))
    .expect("arena fd")
    .len();
    assert_eq!(
        size,
        ipc::POOL_OFFSET + ipc::arena().expect("arena").pool(),
        "the arena never grows"
    );
}

fn msgsnd(g: &mut Guest, id: u64, mtype: i64, text: &[u8], flg: u64) -> Result<u64, Errno> {
    let mut b = mtype.to_le_bytes().to_vec();
    b.extend_from_slice(text);
    let va = g.put(0x1000, &b);
    msg::msgsnd(&mut g.t, [id, va, text.len() as u64, flg, 0, 0])
}

/// `(mtype, text)` received into a buffer of `size` bytes.
fn msgrcv(
    g: &mut Guest,
    id: u64,
    size: usize,
    typ: i64,
    flg: u64,
) -> Result<(i64, Vec<u8>), Errno> {
    let va = g.mem + 0x8000;
    let n = msg::msgrcv(&mut g.t, [id, va, size as u64, typ as u64, flg, 0])?;
    Ok((g.u64_at(va) as i64, g.get(va + 8, n as usize)))
}

#[test]
fn msgsnd_and_msgrcv_check_like_linux() {
    let mut g = Guest::new();
    assert_eq!(
        msg::msgget(&mut g.t, [0x6161, 0o600, 0, 0, 0, 0]),
        Err(Errno::ENOENT)
    );
    let id = msg::msgget(&mut g.t, [0x6161, IPC_CREAT | 0o600, 0, 0, 0, 0]).expect("msgget");
    assert_eq!(
        msg::msgget(&mut g.t, [0x6161, IPC_CREAT | IPC_EXCL, 0, 0, 0, 0]),
        Err(Errno::EEXIST)
    );
    // The type is read first.
    assert_eq!(
        msg::msgsnd(&mut g.t, [id, UNMAPPED, MSGMAX as u64 + 1, 0, 0, 0]),
        Err(Errno::EFAULT)
    );
    let va = g.put(0, &1i64.to_le_bytes());
    assert_eq!(
        msg::msgsnd(&mut g.t, [id, va, MSGMAX as u64 + 1, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
    assert_eq!(msgsnd(&mut g, id, 0, b"x", 0), Err(Errno::EINVAL));
    assert_eq!(msgsnd(&mut g, id + 1, 1, b"x", 0), Err(Errno::EINVAL));
    assert_eq!(msgrcv(&mut g, id, 8, 0, IPC_NOWAIT), Err(e(libc::ENOMSG)));
    assert_eq!(
        msg::msgrcv(&mut g.t, [id, g.mem, u64::MAX, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
    // MSG_COPY needs IPC_NOWAIT.
    assert_eq!(
        msgrcv(&mut g, id, 8, 0, u64::from(MSG_COPY)),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        msg::msgctl(&mut g.t, [id, 77, 0, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
}

#[test]
fn msgrcv_selects_by_type() {
    let mut g = Guest::new();
    let id = msg::msgget(&mut g.t, [0, 0o600, 0, 0, 0, 0]).expect("msgget");
    for (t, s) in [(3, "three"), (1, "one"), (2, "two"), (1, "uno")] {
        assert_eq!(msgsnd(&mut g, id, t, s.as_bytes(), 0), Ok(0));
    }
    assert_eq!(msgrcv(&mut g, id, 64, 2, 0), Ok((2, b"two".to_vec())));
    assert_eq!(
        msgrcv(&mut g, id, 64, 1, u64::from(MSG_EXCEPT)),
        Ok((3, b"three".to_vec()))
    );
    // MSG_COPY peeks at the n-th message.
    assert_eq!(
        msgrcv(&mut g, id, 64, 1, u64::from(MSG_COPY) | IPC_NOWAIT),
        Ok((1, b"uno".to_vec()))
    );
    assert_eq!(msgrcv(&mut g, id, 64, -5, 0), Ok((1, b"one".to_vec())));
    // Too small a buffer: E2BIG and the message stays; MSG_NOERROR truncates.
    assert_eq!(msgrcv(&mut g, id, 2, 0, 0), Err(e(libc::E2BIG)));
    assert_eq!(
        msgrcv(&mut g, id, 2, 0, u64::from(MSG_NOERROR)),
        Ok((1, b"un".to_vec()))
    );
    let ds = g.mem + 0x500;
    assert_eq!(msg::msgctl(&mut g.t, [id, IPC_STAT, ds, 0, 0, 0]), Ok(0));
    assert_eq!(g.u64_at(ds + 80), 0, "msg_qnum");
    assert_eq!(g.u64_at(ds + 88), MSGMNB as u64, "msg_qbytes");
    assert_eq!(g.i32_at(ds + 96), g.t.proc_pid(), "msg_lspid");
}

#[test]
fn a_full_queue_blocks_or_gives_eagain_and_qbytes_bounds_it() {
    let mut g = Guest::new();
    let id = msg::msgget(&mut g.t, [0, 0o600, 0, 0, 0, 0]).expect("msgget");
    let text = vec![7u8; MSGMAX];
    for _ in 0..MSGMNB / MSGMAX {
        assert_eq!(msgsnd(&mut g, id, 1, &text, 0), Ok(0));
    }
    assert_eq!(msgsnd(&mut g, id, 1, b"x", IPC_NOWAIT), Err(Errno::EAGAIN));
    // Raising msg_qbytes past MSGMNB needs privilege.
    let ds = g.mem + 0x500;
    assert_eq!(msg::msgctl(&mut g.t, [id, IPC_STAT, ds, 0, 0, 0]), Ok(0));
    g.put(0x500 + 88, &(MSGMNB as u64 * 2).to_le_bytes());
    if unsafe_euid() != 0 {
        assert_eq!(
            msg::msgctl(&mut g.t, [id, IPC_SET, ds, 0, 0, 0]),
            Err(Errno::EPERM)
        );
    }
    // Many empty messages: bounded too.
    let id2 = msg::msgget(&mut g.t, [0, 0o600, 0, 0, 0, 0]).expect("msgget");
    let mut n = 0;
    while msgsnd(&mut g, id2, 1, b"", IPC_NOWAIT) == Ok(0) {
        n += 1;
        assert!(n <= MSGMNB, "the queue is bounded");
    }
    assert_eq!(msgsnd(&mut g, id2, 1, b"", IPC_NOWAIT), Err(Errno::EAGAIN));
}

fn unsafe_euid() -> u32 {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() }
}

#[test]
fn msg_limits_and_eidrm() {
    let mut g = Guest::new();
    let ids: Vec<u64> = (0..MSGMNI)
        .map(|_| msg::msgget(&mut g.t, [0, 0o600, 0, 0, 0, 0]).expect("msgget"))
        .collect();
    assert_eq!(
        msg::msgget(&mut g.t, [0, 0o600, 0, 0, 0, 0]),
        Err(e(libc::ENOSPC))
    );
    let id = ids[0];
    let arena = ipc::arena().expect("arena");
    let waiter = std::thread::spawn(move || {
        ipc::share_with_thread(arena);
        let mut w = Guest::new();
        msgrcv(&mut w, id, 8, 0, 0)
    });
    // Give it time to start waiting (else it finds no queue: EINVAL).
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(msg::msgctl(&mut g.t, [id, IPC_RMID, 0, 0, 0, 0]), Ok(0));
    assert_eq!(waiter.join().expect("waiter"), Err(e(libc::EIDRM)));
    assert_eq!(
        msg::msgctl(&mut g.t, [id, IPC_RMID, 0, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
}

fn shmget(g: &mut Guest, key: i32, size: u64, flg: u64) -> Result<u64, Errno> {
    shm::shmget(&mut g.t, [key as u64, size, flg, 0, 0, 0])
}

fn shm_nattch(g: &mut Guest, id: u64) -> u64 {
    let ds = g.mem + 0x700;
    assert_eq!(shm::shmctl(&mut g.t, [id, IPC_STAT, ds, 0, 0, 0]), Ok(0));
    g.u64_at(ds + 88)
}

#[test]
fn shmget_checks_like_linux() {
    let mut g = Guest::new();
    let pool = ipc::arena().expect("arena").pool();
    assert_eq!(shmget(&mut g, 0, 0, 0o600), Err(Errno::EINVAL));
    assert_eq!(shmget(&mut g, 0, pool + 1, 0o600), Err(Errno::EINVAL));
    assert_eq!(shmget(&mut g, 0x7171, 4096, 0o600), Err(Errno::ENOENT));
    let id = shmget(&mut g, 0x7171, 5000, IPC_CREAT | 0o600).expect("shmget");
    assert_eq!(
        shmget(&mut g, 0x7171, 5000, IPC_CREAT | IPC_EXCL),
        Err(Errno::EEXIST)
    );
    assert_eq!(shmget(&mut g, 0x7171, 5001, 0), Err(Errno::EINVAL));
    assert_eq!(shmget(&mut g, 0x7171, 0, 0), Ok(id));
    assert_eq!(
        shm::shmat(&mut g.t, [u64::MAX, 0, 0, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        shm::shmat(&mut g.t, [id, 0x1234_5001, 0, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        shm::shmdt(&mut g.t, [g.mem + 1, 0, 0, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        shm::shmdt(&mut g.t, [g.mem, 0, 0, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        shm::shmctl(&mut g.t, [id, 99, g.mem, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        shm::shmctl(&mut g.t, [id, IPC_STAT, UNMAPPED, 0, 0, 0]),
        Err(Errno::EFAULT)
    );
    let info = g.mem + 0x800;
    assert!(shm::shmctl(&mut g.t, [0, IPC_INFO, info, 0, 0, 0]).is_ok());
    assert_eq!(g.u64_at(info), pool, "shmmax");
    assert_eq!(g.u64_at(info + 32), pool / 4096, "shmall");
}

#[test]
fn shmat_maps_the_segment_and_shmdt_detaches_it() {
    let mut g = Guest::new();
    let id = shmget(&mut g, 0, 10000, 0o600).expect("shmget");
    let a = shm::shmat(&mut g.t, [id, 0, 0, 0, 0, 0]).expect("shmat");
    let b = shm::shmat(&mut g.t, [id, 0, 0, 0, 0, 0]).expect("shmat");
    assert_ne!(a, b);
    assert_eq!(g.get(a, 16), vec![0u8; 16], "a new segment is zero");
    g.proc.write_mem(a + 8000, b"shared").expect("write");
    assert_eq!(g.get(b + 8000, 6), b"shared");
    assert_eq!(shm_nattch(&mut g, id), 2);
    assert_eq!(shm::shmdt(&mut g.t, [b, 0, 0, 0, 0, 0]), Ok(0));
    assert_eq!(shm_nattch(&mut g, id), 1);
    assert!(g.proc.read_mem(b, 1).is_err(), "detached");
    // Removed while attached: destroyed at the last detach, and its pages with it.
    assert_eq!(shm::shmctl(&mut g.t, [id, IPC_RMID, 0, 0, 0, 0]), Ok(0));
    let ds = g.mem + 0x700;
    assert_eq!(shm::shmctl(&mut g.t, [id, IPC_STAT, ds, 0, 0, 0]), Ok(0));
    assert_eq!(g.u64_at(ds + 48), 10000, "shm_segsz");
    assert_ne!(g.i32_at(ds + 20) & 0o1000, 0, "SHM_DEST");
    assert_eq!(shm::shmdt(&mut g.t, [a, 0, 0, 0, 0, 0]), Ok(0));
    assert_eq!(
        shm::shmctl(&mut g.t, [id, IPC_STAT, ds, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
    let again = shmget(&mut g, 0, 10000, 0o600).expect("shmget");
    let c = shm::shmat(&mut g.t, [again, 0, 0, 0, 0, 0]).expect("shmat");
    assert_eq!(g.get(c + 8000, 6), vec![0u8; 6], "a reused run is zero");
}

#[test]
fn shm_limits_bound_the_pool() {
    let mut g = Guest::new();
    let pool = ipc::arena().expect("arena").pool();
    let quarter = pool / 4;
    for _ in 0..4 {
        shmget(&mut g, 0, quarter, 0o600).expect("within the pool");
    }
    assert_eq!(shmget(&mut g, 0, 4096, 0o600), Err(e(libc::ENOSPC)));
    let mut h = Guest::new();
    // A new thread is a new namespace in the tests: fill the table instead.
    let t = std::thread::spawn(move || {
        for _ in 0..ipc::SHMMNI {
            shmget(&mut h, 0, 4096, 0o600).expect("within the table");
        }
        shmget(&mut h, 0, 4096, 0o600)
    });
    assert_eq!(t.join().expect("thread"), Err(e(libc::ENOSPC)));
    let st = std::fs::metadata(format!(
        "/proc/self/fd/{}",
        ipc::arena().expect("arena").fd()
    ))
    .expect("arena fd");
    assert_eq!(st.len(), ipc::POOL_OFFSET + pool, "the arena never grows");
}

/// Hostile arguments to every SysV call (blocking ones made non-blocking): errors,
/// never a panic, and the arena stays usable.
#[test]
fn hostile_arguments_give_errors_not_panics() {
    let mut g = Guest::new();
    let sid = semget(&mut g, 0, 4, 0o600).expect("semget");
    let qid = msg::msgget(&mut g.t, [0, 0o600, 0, 0, 0, 0]).expect("msgget");
    let mid = shmget(&mut g, 0, 8192, 0o600).expect("shmget");
    let ts = g.put(
        0xf000,
        &[0i64.to_le_bytes(), 1000i64.to_le_bytes()].concat(),
    );
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..20000 {
        let mut pick = || {
            let v = [
                0,
                1,
                2,
                3,
                11,
                12,
                13,
                14,
                15,
                16,
                17,
                19,
                0x100 | 2,
                u64::MAX,
                i32::MAX as u64,
                i64::MIN as u64,
                0o1000 | 0o600,
                0o2000 | 0o1000,
                UNMAPPED,
                g.mem,
                g.mem + 0x100,
                g.mem + BUF_END,
                sid,
                qid,
                mid,
                sid + 1,
                8192,
                8193,
            ];
            v[(next() % v.len() as u64) as usize]
        };
        let mut a = [0u64; 6];
        for x in a.iter_mut() {
            *x = pick();
        }
        // Random bytes for the structures the calls read.
        let junk: Vec<u8> = (0..64).map(|_| pick() as u8).collect();
        // (shmat with SHM_REMAP or shmdt may have replaced the buffer.)
        let _ = g.proc.write_mem(g.mem + 0x100, &junk);
        let t = &mut g.t;
        let _ = match pick() % 12 {
            0 => sem::semget(t, a),
            1 => sem::semctl(t, a),
            2 => sem::semtimedop(t, [a[0], a[1], a[2], ts, 0, 0]),
            3 => msg::msgget(t, a),
            4 => msg::msgsnd(t, [a[0], a[1], a[2], a[3] | 0o4000, 0, 0]),
            5 => msg::msgrcv(t, [a[0], a[1], a[2], a[3], a[4] | 0o4000, 0]),
            6 => msg::msgctl(t, a),
            7 => shm::shmget(t, a),
            8 => shm::shmat(t, a),
            9 => shm::shmdt(t, a),
            10 => shm::shmctl(t, a),
            _ => sem::semop(t, [a[0], a[1], a[2].min(4), 0, 0, 0]),
        };
    }
    // Still working.
    let id = semget(&mut g, 0, 1, 0o600).or_else(|_| {
        // The tables may be full of what the loop made: free one.
        semctl(&mut g, sid, 0, 0, 0)?;
        semget(&mut g, 0, 1, 0o600)
    });
    assert!(id.is_ok(), "{id:?}");
}

const BUF_END: u64 = super::BUF - 8;

/// A process killed while it held the arena lock does not stop the VM's others:
/// the lock is taken over from a holder that no longer exists.
#[test]
fn the_lock_of_a_dead_holder_is_taken_over() {
    let mut g = Guest::new();
    let arena = ipc::arena().expect("arena");
    let dead = std::thread::spawn(crate::task::gettid)
        .join()
        .expect("thread");
    // Give the kernel time to forget the thread id.
    std::thread::sleep(Duration::from_millis(50));
    arena
        .header()
        .lock
        .store(dead as u32, std::sync::atomic::Ordering::SeqCst);
    let t0 = Instant::now();
    assert!(semget(&mut g, 0, 1, 0o600).is_ok());
    assert!(t0.elapsed() < Duration::from_secs(5));
    assert_eq!(
        arena
            .header()
            .lock
            .load(std::sync::atomic::Ordering::SeqCst),
        0,
        "released after the call"
    );
}
