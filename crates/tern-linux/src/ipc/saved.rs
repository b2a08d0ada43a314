//! The IPC arena in a process snapshot (part `ipc` of the process state): the
//! tables (semaphore sets, undo records, message queues, segment records,
//! attachment records) and the shared-memory pool, as their non-zero 64 KiB
//! chunks, with the layout version and sizes they were written with.
//!
//! A snapshot is of one process: the arena's records of the snapshotted process
//! (its `SEM_UNDO` adjustments and its segment attachments, named by host pid and
//! start time) are given to the restoring process; records of other processes of
//! the VM name processes that are gone after a restore, and are cleaned up as
//! such (their undo adjustments applied, their attachments dropped).

use serde::{Deserialize, Serialize};

use super::{
    arena_if_any, Arena, Tables, ARENA, POOL_OFFSET, SHM_POOL_MAX, TABLES_OFFSET, VERSION,
};
use crate::tree::ProcId;

/// Chunk size of the recorded bytes.
const CHUNK: usize = 1 << 16;

/// The arena of a process VM as plain data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpcState {
    /// The layout version ([`VERSION`]).
    pub version: u32,
    /// `size_of::<Tables>()` when written.
    pub tables_size: u32,
    /// Bytes of the shared-memory pool.
    pub pool: u64,
    /// The snapshotted process as the records name it (host pid, start time).
    pub owner: (i32, u64),
    /// Non-zero chunks of the tables: (offset in the tables, bytes).
    pub tables: Vec<(u64, Vec<u8>)>,
    /// Non-zero chunks of the pool: (offset in the pool, bytes).
    pub pool_chunks: Vec<(u64, Vec<u8>)>,
}

fn read_chunks(fd: i32, start: u64, len: u64) -> Result<Vec<(u64, Vec<u8>)>, String> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; CHUNK];
    let mut off = 0u64;
    while off < len {
        // Holes of the memfd (pages never written) are skipped.
        // SAFETY: lseek on our own descriptor.
        let data = unsafe { libc::lseek(fd, (start + off) as libc::off_t, libc::SEEK_DATA) };
        if data < 0 {
            break;
        }
        let data = (data as u64).saturating_sub(start) & !(CHUNK as u64 - 1);
        if data >= len {
            break;
        }
        off = off.max(data);
        let want = (len - off).min(CHUNK as u64) as usize;
        // SAFETY: reading into `buf` at an offset.
        let n = unsafe { libc::pread(fd, buf.as_mut_ptr().cast(), want, (start + off) as i64) };
        if n < 0 {
            return Err(format!("ipc arena: {}", std::io::Error::last_os_error()));
        }
        if n == 0 {
            break;
        }
        let n = n as usize;
        if buf[..n].iter().any(|&b| b != 0) {
            out.push((off, buf[..n].to_vec()));
        }
        off += n as u64;
    }
    Ok(out)
}

/// The arena of this process, if it holds any object (else `None`: nothing to
/// record). Read under the arena lock, so the tables are consistent.
pub fn save() -> Result<Option<IpcState>, String> {
    let Some(arena) = arena_if_any() else {
        return Ok(None);
    };
    let tables_size = std::mem::size_of::<Tables>() as u64;
    let locked = arena.lock();
    let tables = read_chunks(arena.fd(), TABLES_OFFSET as u64, tables_size)?;
    if tables.is_empty() {
        return Ok(None);
    }
    let pool = arena.pool();
    let pool_chunks = read_chunks(arena.fd(), POOL_OFFSET, pool)?;
    drop(locked);
    let me = super::me();
    Ok(Some(IpcState {
        version: VERSION,
        tables_size: tables_size as u32,
        pool,
        owner: (me.pid, me.start),
        tables,
        pool_chunks,
    }))
}

/// Checks a recorded arena against this tern's layout.
pub fn check(s: &IpcState) -> Result<(), String> {
    let tables_size = std::mem::size_of::<Tables>();
    if s.version != VERSION || s.tables_size as usize != tables_size {
        return Err(format!(
            "an IPC arena of layout version {} ({} bytes of tables); this tern has version {VERSION} ({tables_size} bytes)",
            s.version, s.tables_size
        ));
    }
    if s.pool > SHM_POOL_MAX || !s.pool.is_multiple_of(4096) {
        return Err(format!("an IPC shared-memory pool of {} bytes", s.pool));
    }
    let fits = |chunks: &[(u64, Vec<u8>)], len: u64| {
        chunks
            .iter()
            .all(|(off, b)| b.len() <= CHUNK && off.saturating_add(b.len() as u64) <= len)
    };
    if !fits(&s.tables, tables_size as u64) || !fits(&s.pool_chunks, s.pool) {
        return Err("IPC arena contents outside the arena".into());
    }
    Ok(())
}

/// Makes this process's arena from `s` (a restore, before anything else uses the
/// arena), the snapshotted process's records becoming this process's.
pub fn restore(s: &IpcState, min_fd: i32) -> Result<(), String> {
    check(s)?;
    let arena = Arena::create(min_fd, s.pool)?;
    for (off, bytes) in &s.tables {
        write_at(&arena, TABLES_OFFSET as u64 + off, bytes)?;
    }
    for (off, bytes) in &s.pool_chunks {
        write_at(&arena, POOL_OFFSET + off, bytes)?;
    }
    {
        let mut g = arena.lock();
        let me = super::me();
        let old = ProcId {
            pid: s.owner.0,
            start: s.owner.1,
        };
        for u in g.undo.iter_mut() {
            if u.pid == old.pid && u.start == old.start && u.pid != 0 {
                u.pid = me.pid;
                u.start = me.start;
            }
        }
        for a in g.shm_att.iter_mut() {
            if a.pid == old.pid && a.start == old.start && a.pid != 0 {
                a.pid = me.pid;
                a.start = me.start;
            }
        }
    }
    ARENA
        .set(arena)
        .map_err(|_| "ipc arena: set up twice".to_string())
}

fn write_at(arena: &Arena, off: u64, bytes: &[u8]) -> Result<(), String> {
    // SAFETY: writing from `bytes` into our own memfd (inside its size: checked).
    let n = unsafe { libc::pwrite(arena.fd(), bytes.as_ptr().cast(), bytes.len(), off as i64) };
    if n != bytes.len() as isize {
        return Err(format!("ipc arena: {}", std::io::Error::last_os_error()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recorded_arena_is_checked() {
        let good = IpcState {
            version: VERSION,
            tables_size: std::mem::size_of::<Tables>() as u32,
            pool: 1 << 20,
            owner: (1, 2),
            tables: vec![(0, vec![1; 16])],
            pool_chunks: vec![((1 << 20) - 16, vec![1; 16])],
        };
        assert_eq!(check(&good), Ok(()));
        let bad = |f: &dyn Fn(&mut IpcState)| {
            let mut s = good.clone();
            f(&mut s);
            assert!(check(&s).is_err(), "{:?}", s.version);
        };
        bad(&|s| s.version += 1);
        bad(&|s| s.tables_size += 8);
        bad(&|s| s.pool = SHM_POOL_MAX * 2);
        bad(&|s| s.pool_chunks[0].0 += 1);
        bad(&|s| s.tables[0].0 = u64::MAX);
        bad(&|s| s.tables[0].1 = vec![0; CHUNK + 1]);
    }
}
