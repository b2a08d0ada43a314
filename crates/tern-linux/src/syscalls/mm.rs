//! Memory: `brk`, `mmap`, `munmap`, `mprotect`, `madvise`, `mremap`, `msync`.
//!
//! Anonymous memory is demand-paged by the page-fault path. Private file mappings
//! copy the file's bytes into private frames when mapped (what `MAP_PRIVATE` promises
//! as long as the file is not changed underneath; see [`file_copy`]): the frames
//! count against `--memory`, holes and zero pages excepted, and a file whose data
//! does not fit is `ENOMEM` with nothing left mapped. `MAP_SHARED` mappings of files,
//! and shared anonymous memory (a host `memfd`), are host-shared regions (see
//! [`crate::mm::shared`]): coherent with `read`/`write` of the file, written back by
//! `msync`, and shared with forked children.

use tern_hart::Hart;

use crate::errno::{host, Errno, SysResult};
use crate::mm::region::RegionKind;
use crate::mm::shared::{anon_memfd, high_fd, SharedMap};
use crate::mm::vma::{Backing, Vma, PROT_EXEC, PROT_READ, PROT_WRITE};
use crate::mm::{file_copy, page_up, Mm, PAGE};
use crate::syscalls::io::fd_arg;
use crate::syscalls::transfer;
use crate::task::Task;

const MAP_SHARED: u64 = 0x01;
const MAP_PRIVATE: u64 = 0x02;
const MAP_SHARED_VALIDATE: u64 = 0x03;
const MAP_FIXED: u64 = 0x10;
const MAP_ANONYMOUS: u64 = 0x20;
const MAP_FIXED_NOREPLACE: u64 = 0x10_0000;
const MAYMOVE: u64 = 1; // MREMAP_MAYMOVE
const FIXED: u64 = 2; // MREMAP_FIXED
const DONTUNMAP: u64 = 4; // MREMAP_DONTUNMAP
const PROT_MASK: u64 = (PROT_READ | PROT_WRITE | PROT_EXEC) as u64;

/// The most areas an address space may hold (Linux's default `vm.max_map_count`):
/// each costs the host a little memory, and `mprotect` of alternate pages of a
/// `PROT_NONE` reservation would otherwise make any number of them without a frame.
pub const MAX_MAP_COUNT: usize = 65530;

/// `ENOMEM` when an operation that may add `more` areas (a new one, pieces of a
/// split one) would pass [`MAX_MAP_COUNT`], as Linux refuses it.
fn room_for_areas(mm: &Mm, more: usize) -> Result<(), Errno> {
    if mm.vmas.len() + more > MAX_MAP_COUNT {
        Err(Errno::ENOMEM)
    } else {
        Ok(())
    }
}

/// How many areas removing `[start, end)` adds: one when it lies inside a single
/// area without touching either of its ends (the area becomes two), else none.
fn areas_added_by_hole(mm: &Mm, start: u64, end: u64) -> usize {
    match mm.vmas.find(start) {
        Some(v) if v.start < start && v.end > end => 1,
        _ => 0,
    }
}

/// `brk`.
pub fn brk(t: &mut Task, a: [u64; 6]) -> SysResult {
    Ok(t.proc.mm().set_brk(a[0]))
}

/// `mmap`.
pub fn mmap(t: &mut Task, a: [u64; 6]) -> SysResult {
    let (addr, len, prot, flags, fd, off) = (a[0], a[1], a[2], a[3], a[4] as i32, a[5]);
    if len == 0 || off % PAGE != 0 || prot & !(PROT_MASK | 0x0100_0000 | 0x0200_0000) != 0 {
        return Err(Errno::EINVAL);
    }
    let kind = flags & MAP_SHARED_VALIDATE;
    if kind != MAP_SHARED && kind != MAP_PRIVATE && kind != MAP_SHARED_VALIDATE {
        return Err(Errno::EINVAL);
    }
    let shared = kind != MAP_PRIVATE;
    let len = page_up(len);
    if len == 0 || len > (1 << 46) {
        return Err(Errno::ENOMEM);
    }
    let prot = (prot & PROT_MASK) as u32;
    let mut anon = flags & MAP_ANONYMOUS != 0;
    let mut file: Option<(i32, String)> = None;
    // Whether a shared file mapping may be written (the file is open for writing).
    let mut writable = true;
    if !anon {
        let fd = fd_arg(t, fd as u64)?;
        // SAFETY: local struct.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: fstat writes into the local `st`; an invalid fd just fails.
        host(unsafe { libc::fstat(fd, &mut st) as i64 })?;
        match st.st_mode & libc::S_IFMT {
            libc::S_IFREG => {}
            libc::S_IFCHR => anon = true, // /dev/zero and friends
            _ => return Err(Errno::ENODEV),
        }
        if !anon {
            // SAFETY: integer arguments.
            let fl = unsafe { libc::fcntl(fd, libc::F_GETFL) };
            if fl & libc::O_ACCMODE == libc::O_WRONLY {
                return Err(Errno::EACCES);
            }
            writable = fl & libc::O_ACCMODE == libc::O_RDWR;
            if shared && prot & PROT_WRITE != 0 && !writable {
                return Err(Errno::EACCES);
            }
            let path = t
                .proc
                .files()
                .get(fd)
                .and_then(|i| i.path.clone())
                .unwrap_or_else(|| format!("/proc/self/fd/{fd}"));
            file = Some((fd, path));
        }
    }
    if file.is_some() && off.checked_add(len).is_none_or(|e| e > i64::MAX as u64) {
        return Err(Errno(libc::EOVERFLOW));
    }
    if shared {
        return mmap_shared(t, [addr, len, flags], prot, file, writable, off);
    }
    // The file's data goes into the new area's frames a chunk at a time through the
    // scratch buffer, with the address space locked, so that the mapping appears
    // whole or not at all.
    let mut buf = match &file {
        Some(_) => transfer::take(t, (len as usize).min(transfer::SCRATCH)),
        None => Vec::new(),
    };
    let proc = t.proc.clone();
    let mut mm = proc.mm();
    let r = room_for_areas(&mm, 2)
        .and_then(|_| place(&mm, addr, len, flags))
        .and_then(|start| {
            let backing = match &file {
                Some((_, path)) => Backing::File {
                    path: path.clone(),
                    offset: off,
                },
                None => Backing::Anon,
            };
            mm.map(Vma {
                start,
                end: start + len,
                prot,
                shared,
                backing,
            });
            if let Some((fd, _)) = &file {
                if let Err(e) = file_copy::fill(&mut mm, *fd, off, start, len, &mut buf) {
                    // Nothing of a failed mapping stays: neither the area nor its frames.
                    mm.unmap(start, start + len);
                    return Err(e);
                }
            }
            Ok(start)
        });
    drop(mm);
    if file.is_some() {
        transfer::give_back(t, buf);
    }
    r
}

/// `mmap` with `MAP_SHARED`: a host-shared region over the file (`file`: its
/// descriptor and guest path) or, without a file, over a new `memfd`.
fn mmap_shared(
    t: &mut Task,
    [addr, len, flags]: [u64; 3],
    prot: u32,
    file: Option<(i32, String)>,
    writable: bool,
    off: u64,
) -> SysResult {
    let min_fd = t.proc.files().limit;
    let what = match file {
        Some((fd, path)) => SharedMap {
            file: std::sync::Arc::new(high_fd(&fd, min_fd)?),
            offset: off,
            writable,
            kind: RegionKind::File { path, offset: off },
        },
        None => SharedMap {
            file: anon_memfd(len, min_fd)?,
            offset: 0,
            writable: true,
            kind: RegionKind::Anon,
        },
    };
    let mut mm = t.proc.mm();
    room_for_areas(&mm, 2)?;
    let start = place(&mm, addr, len, flags)?;
    mm.map_shared(start, len, prot, what)?;
    Ok(start)
}

/// Where a new mapping of `len` bytes goes: at `addr` for `MAP_FIXED` (and
/// `MAP_FIXED_NOREPLACE` if free), else in a free gap near the hint.
fn place(mm: &Mm, addr: u64, len: u64, flags: u64) -> Result<u64, Errno> {
    if flags & (MAP_FIXED | MAP_FIXED_NOREPLACE) == 0 {
        return mm.find_free(addr & !(PAGE - 1), len).ok_or(Errno::ENOMEM);
    }
    if !addr.is_multiple_of(PAGE) {
        return Err(Errno::EINVAL);
    }
    if addr
        .checked_add(len)
        .is_none_or(|e| e > crate::mm::pagetable::USER_TOP)
    {
        return Err(Errno::ENOMEM);
    }
    if flags & MAP_FIXED_NOREPLACE != 0
        && flags & MAP_FIXED == 0
        && mm.vmas.overlaps(addr, addr + len)
    {
        return Err(Errno::EEXIST);
    }
    Ok(addr)
}

/// `munmap`.
pub fn munmap(t: &mut Task, a: [u64; 6]) -> SysResult {
    let (addr, len) = (a[0], page_up(a[1]));
    if addr % PAGE != 0 || len == 0 || addr.checked_add(len).is_none() {
        return Err(Errno::EINVAL);
    }
    let mut mm = t.proc.mm();
    room_for_areas(&mm, areas_added_by_hole(&mm, addr, addr + len))?;
    mm.unmap(addr, addr + len);
    Ok(0)
}

/// `mprotect`.
pub fn mprotect(t: &mut Task, a: [u64; 6]) -> SysResult {
    let (addr, len) = (a[0], page_up(a[1]));
    if addr % PAGE != 0 || a[2] & !(PROT_MASK | 0x0100_0000 | 0x0200_0000) != 0 {
        return Err(Errno::EINVAL);
    }
    if len == 0 {
        return Ok(0);
    }
    let end = addr.checked_add(len).ok_or(Errno::ENOMEM)?;
    let prot = (a[2] & PROT_MASK) as u32;
    let mut mm = t.proc.mm();
    room_for_areas(&mm, 2)?;
    // A shared mapping of a file opened read-only cannot become writable.
    if prot & PROT_WRITE != 0 && mm.has_read_only_shared(addr, end) {
        return Err(Errno::EACCES);
    }
    mm.protect(addr, end, prot)?;
    Ok(0)
}

/// `madvise`: `MADV_DONTNEED` drops private pages (they read as zero again);
/// everything else is advice and accepted.
pub fn madvise(t: &mut Task, a: [u64; 6]) -> SysResult {
    let (addr, len) = (a[0], page_up(a[1]));
    if !addr.is_multiple_of(PAGE) {
        return Err(Errno::EINVAL);
    }
    const MADV_DONTNEED: u64 = 4;
    if a[2] == MADV_DONTNEED && len > 0 {
        let mut mm = t.proc.mm();
        let end = addr.saturating_add(len);
        // Only whole private anonymous areas are zeroed; file copies would need a
        // re-read, so they keep their contents (as a shared mapping would).
        let ranges: Vec<(u64, u64)> = mm
            .vmas
            .overlapping(addr, end)
            .filter(|v| !matches!(v.backing, Backing::File { .. }))
            .map(|v| (v.start.max(addr), v.end.min(end)))
            .collect();
        for (s, e) in ranges {
            mm.zap(s, e);
        }
    }
    Ok(0)
}

/// `mremap`.
pub fn mremap(t: &mut Task, a: [u64; 6]) -> SysResult {
    let (old, old_len, new_len, flags, new_addr) = (a[0], page_up(a[1]), page_up(a[2]), a[3], a[4]);
    // mm/mremap.c checks the flags and their combinations before the mapping.
    if old % PAGE != 0
        || new_len == 0
        || flags & !(MAYMOVE | FIXED | DONTUNMAP) != 0
        || (flags & FIXED != 0 && flags & MAYMOVE == 0)
        || (flags & DONTUNMAP != 0 && (flags & MAYMOVE == 0 || old_len != new_len))
    {
        return Err(Errno::EINVAL);
    }
    let mut mm = t.proc.mm();
    let Some(area) = mm.vmas.find(old) else {
        return Err(Errno::EFAULT);
    };
    let shared = matches!(area.backing, Backing::Shared { .. });
    room_for_areas(&mm, 2)?;
    let old_end = old.checked_add(old_len).ok_or(Errno::EINVAL)?;
    if old_len == 0 {
        // (Duplicating a shared mapping with old_size 0 is not supported.)
        return Err(Errno::EINVAL);
    }
    if shared {
        return mremap_shared(&mut mm, [old, old_len, new_len, flags, new_addr]);
    }
    if flags & FIXED != 0 {
        if flags & MAYMOVE == 0
            || new_addr % PAGE != 0
            || new_addr
                .checked_add(new_len)
                .is_none_or(|e| e > crate::mm::pagetable::USER_TOP)
        {
            return Err(Errno::EINVAL);
        }
        if new_addr < old_end && old < new_addr + new_len {
            return Err(Errno::EINVAL);
        }
        mm.unmap(new_addr, new_addr + new_len);
        let keep = old_len.min(new_len);
        mm.move_range(old, old + keep, new_addr)?;
        mm.unmap(old + keep, old_end);
        if new_len > keep {
            mm.grow(new_addr + keep, new_addr + new_len)?;
        }
        return Ok(new_addr);
    }
    if new_len <= old_len {
        mm.unmap(old + new_len, old_end);
        return Ok(old);
    }
    let new_end = old.checked_add(new_len).ok_or(Errno::ENOMEM)?;
    if mm.grow(old_end, new_end).is_ok() {
        return Ok(old);
    }
    if flags & MAYMOVE == 0 {
        return Err(Errno::ENOMEM);
    }
    let dst = mm.find_free(0, new_len).ok_or(Errno::ENOMEM)?;
    mm.move_range(old, old_end, dst)?;
    mm.grow(dst + old_len, dst + new_len)?;
    Ok(dst)
}

/// `mremap` of a shared area: the same file range mapped again where it goes.
fn mremap_shared(mm: &mut Mm, [old, old_len, new_len, flags, new_addr]: [u64; 5]) -> SysResult {
    let keep_old = flags & DONTUNMAP != 0;
    let old_end = old + old_len;
    if flags & FIXED != 0 {
        if new_addr % PAGE != 0
            || new_addr
                .checked_add(new_len)
                .is_none_or(|e| e > crate::mm::pagetable::USER_TOP)
            || (new_addr < old_end && old < new_addr + new_len)
        {
            return Err(Errno::EINVAL);
        }
        mm.remap_shared(old, old_len, new_len, new_addr, keep_old)?;
        return Ok(new_addr);
    }
    if keep_old {
        // Same length (checked by the caller), somewhere else, the old range kept.
        let dst = mm.find_free(0, new_len).ok_or(Errno::ENOMEM)?;
        mm.remap_shared(old, old_len, new_len, dst, true)?;
        return Ok(dst);
    }
    if new_len <= old_len {
        mm.unmap(old + new_len, old_end);
        return Ok(old);
    }
    let new_end = old.checked_add(new_len).ok_or(Errno::ENOMEM)?;
    if new_end <= crate::mm::pagetable::USER_TOP && !mm.vmas.overlaps(old_end, new_end) {
        mm.remap_shared(old, old_len, new_len, old, false)?;
        return Ok(old);
    }
    if flags & MAYMOVE == 0 {
        return Err(Errno::ENOMEM);
    }
    let dst = mm.find_free(0, new_len).ok_or(Errno::ENOMEM)?;
    mm.remap_shared(old, old_len, new_len, dst, false)?;
    Ok(dst)
}

/// `msync`: writes shared file pages back (`MS_SYNC` waits); `ENOMEM` when part of
/// the range is unmapped.
pub fn msync(t: &mut Task, a: [u64; 6]) -> SysResult {
    const MS_ASYNC: u64 = 1;
    const MS_INVALIDATE: u64 = 2;
    const MS_SYNC: u64 = 4;
    let (addr, len, flags) = (a[0], page_up(a[1]), a[2]);
    if addr % PAGE != 0
        || flags & !(MS_ASYNC | MS_INVALIDATE | MS_SYNC) != 0
        || flags & (MS_ASYNC | MS_SYNC) == MS_ASYNC | MS_SYNC
    {
        return Err(Errno::EINVAL);
    }
    let end = addr.checked_add(len).ok_or(Errno::ENOMEM)?;
    if len == 0 {
        return Ok(0);
    }
    t.proc.mm().sync_shared(addr, end, flags & MS_SYNC != 0)?;
    Ok(0)
}

/// `membarrier`: every command is a full barrier here (harts share memory through
/// sequentially consistent host atomics at their synchronization points).
pub fn membarrier(a: [u64; 6]) -> SysResult {
    match a[0] {
        0 => Ok(1 | 8 | 16 | 32), // QUERY: GLOBAL, PRIVATE_EXPEDITED, REGISTER_...
        _ => {
            std::sync::atomic::fence(std::sync::atomic::Ordering::SeqCst);
            Ok(0)
        }
    }
}

/// `riscv_flush_icache`: decoded blocks are invalidated by writes anyway; the
/// calling hart drops its blocks at once for good measure.
pub fn flush_icache(hart: &mut Hart) -> SysResult {
    hart.state_changed();
    Ok(0)
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::FileExt;

    use super::*;
    use crate::process::{Options, Process};
    use crate::task::gettid;

    fn scratch_file(name: &str) -> (std::path::PathBuf, std::fs::File) {
        let p = std::env::temp_dir().join(format!("tern-mm-{}-{name}", std::process::id()));
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&p)
            .expect("create a scratch file");
        (p, f)
    }

    #[test]
    fn a_file_mapping_that_does_not_fit_leaves_nothing_behind() {
        let proc = Process::new(Options {
            memory: 16 << 20,
            slice: 1000,
            ..Options::default()
        })
        .expect("process");
        let mut t = Task::new(proc.clone(), gettid(), gettid());
        let (dense, f) = scratch_file("dense");
        f.write_all_at(&vec![7u8; 20 << 20], 0).expect("write");
        let fd = f.as_raw_fd() as u64;
        let read = u64::from(PROT_READ);
        let used = proc.mm().frames_used();
        let r = mmap(&mut t, [0, 20 << 20, read, MAP_PRIVATE, fd, 0]);
        assert_eq!(r, Err(Errno::ENOMEM));
        // The page tables made on the way stay; the data frames and the area do not.
        assert!(proc.mm().frames_used() <= used + 16, "frames leaked");
        assert_eq!(proc.mm().vmas.iter().count(), 0, "an area stayed");
        // A mapping that fits works afterwards, with the file's bytes.
        let r = mmap(&mut t, [0, 8 << 20, read, MAP_PRIVATE, fd, 0]).expect("mmap");
        let mut b = [0u8; 4];
        proc.mm().read(r + (8 << 20) - 4, &mut b).expect("read");
        assert_eq!(b, [7; 4]);
        std::fs::remove_file(dense).expect("remove");
    }

    #[test]
    fn holes_and_zero_pages_of_a_file_take_no_frames() {
        let proc = Process::new(Options {
            memory: 16 << 20,
            slice: 1000,
            ..Options::default()
        })
        .expect("process");
        let mut t = Task::new(proc.clone(), gettid(), gettid());
        let (sparse, f) = scratch_file("sparse");
        f.set_len(1 << 30).expect("size");
        f.write_all_at(b"tern", 5 << 20).expect("write");
        f.write_all_at(&[0u8; 8192], 9 << 20).expect("write zeros");
        let fd = f.as_raw_fd() as u64;
        let used = proc.mm().frames_used();
        let r = mmap(
            &mut t,
            [0, 1 << 30, u64::from(PROT_READ), MAP_PRIVATE, fd, 0],
        )
        .expect("mmap");
        // One data page and its page tables.
        assert!(proc.mm().frames_used() <= used + 8);
        let mut b = [0u8; 4];
        proc.mm().read(r + (5 << 20), &mut b).expect("read");
        assert_eq!(&b, b"tern");
        // The program's file offset did not move.
        // SAFETY: lseek on the test's own descriptor.
        assert_eq!(unsafe { libc::lseek(fd as i32, 0, libc::SEEK_CUR) }, 0);
        std::fs::remove_file(sparse).expect("remove");
    }
}
