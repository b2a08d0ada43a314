//! Memory: `brk`, `mmap`, `munmap`, `mprotect`, `madvise`, `mremap`.
//!
//! Anonymous memory is demand-paged by the page-fault path. File mappings copy the
//! file's bytes into private frames when mapped (what `MAP_PRIVATE` promises as long
//! as the file is not changed underneath). `MAP_SHARED` file mappings are honoured
//! read-only (a copy is indistinguishable then); writable shared file mappings, which
//! would need write-back to the file, are refused with `ENODEV`. `MAP_SHARED`
//! anonymous memory is shared between the threads of a process (they share the page
//! tables) but not with forked children, which are separate host processes.

use crate::errno::{host, Errno, SysResult};
use crate::mm::vma::{Backing, Vma, PROT_EXEC, PROT_READ, PROT_WRITE};
use crate::mm::{page_up, PAGE};
use crate::syscalls::io::{fd_arg, take_buf};
use crate::thread::Thread;

const MAP_SHARED: u64 = 0x01;
const MAP_PRIVATE: u64 = 0x02;
const MAP_SHARED_VALIDATE: u64 = 0x03;
const MAP_FIXED: u64 = 0x10;
const MAP_ANONYMOUS: u64 = 0x20;
const MAP_FIXED_NOREPLACE: u64 = 0x10_0000;
const PROT_MASK: u64 = (PROT_READ | PROT_WRITE | PROT_EXEC) as u64;

/// `brk`.
pub fn brk(t: &mut Thread, a: [u64; 6]) -> SysResult {
    Ok(t.proc.mm().set_brk(a[0]))
}

/// `mmap`.
pub fn mmap(t: &mut Thread, a: [u64; 6]) -> SysResult {
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
            if shared && prot & PROT_WRITE != 0 {
                if fl & libc::O_ACCMODE == libc::O_RDONLY {
                    return Err(Errno::EACCES);
                }
                return Err(Errno::ENODEV);
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
    let fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE) != 0;
    let start = {
        let mm = t.proc.mm();
        if fixed {
            if addr % PAGE != 0 {
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
            addr
        } else {
            mm.find_free(addr & !(PAGE - 1), len).ok_or(Errno::ENOMEM)?
        }
    };
    let backing = match &file {
        Some((_, path)) => Backing::File {
            path: path.clone(),
            offset: off,
        },
        None => Backing::Anon,
    };
    // Read the file's bytes before touching the address space.
    let mut data = Vec::new();
    if let Some((fd, _)) = &file {
        let want = len as usize;
        let mut buf = take_buf(t, want.min(crate::syscalls::io::MAX_IO));
        let mut got = 0usize;
        while got < want {
            let chunk = (want - got).min(buf.len());
            // SAFETY: `buf` holds at least `chunk` bytes.
            let n = unsafe {
                libc::pread(
                    *fd,
                    buf.as_mut_ptr().cast(),
                    chunk,
                    (off + got as u64) as i64,
                )
            };
            if n < 0 {
                let e = Errno::last();
                t.buf = buf;
                return Err(e);
            }
            if n == 0 {
                break;
            }
            data.extend_from_slice(&buf[..n as usize]);
            got += n as usize;
        }
        t.buf = buf;
    }
    let mut mm = t.proc.mm();
    mm.map(Vma {
        start,
        end: start + len,
        prot,
        shared,
        backing,
    });
    if !data.is_empty() {
        mm.poke(start, &data)?;
    }
    Ok(start)
}

/// `munmap`.
pub fn munmap(t: &mut Thread, a: [u64; 6]) -> SysResult {
    let (addr, len) = (a[0], page_up(a[1]));
    if addr % PAGE != 0 || len == 0 || addr.checked_add(len).is_none() {
        return Err(Errno::EINVAL);
    }
    t.proc.mm().unmap(addr, addr + len);
    Ok(0)
}

/// `mprotect`.
pub fn mprotect(t: &mut Thread, a: [u64; 6]) -> SysResult {
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
    // A writable shared file mapping cannot be made (see `mmap`).
    let bad = mm.vmas.iter().any(|v| {
        v.start < end
            && v.end > addr
            && v.shared
            && matches!(v.backing, Backing::File { .. })
            && prot & PROT_WRITE != 0
    });
    if bad {
        return Err(Errno::EACCES);
    }
    mm.protect(addr, end, prot)?;
    Ok(0)
}

/// `madvise`: `MADV_DONTNEED` drops private pages (they read as zero again);
/// everything else is advice and accepted.
pub fn madvise(t: &mut Thread, a: [u64; 6]) -> SysResult {
    let (addr, len) = (a[0], page_up(a[1]));
    if addr % PAGE != 0 {
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
            .iter()
            .filter(|v| v.start < end && v.end > addr)
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
pub fn mremap(t: &mut Thread, a: [u64; 6]) -> SysResult {
    const MAYMOVE: u64 = 1;
    const FIXED: u64 = 2;
    let (old, old_len, new_len, flags, new_addr) = (a[0], page_up(a[1]), page_up(a[2]), a[3], a[4]);
    if old % PAGE != 0 || new_len == 0 || flags & !(MAYMOVE | FIXED | 4) != 0 {
        return Err(Errno::EINVAL);
    }
    let mut mm = t.proc.mm();
    if mm.vmas.find(old).is_none() {
        return Err(Errno::EFAULT);
    }
    let old_end = old.checked_add(old_len).ok_or(Errno::EINVAL)?;
    if old_len == 0 {
        // (Duplicating a shared mapping with old_size 0 is not supported.)
        return Err(Errno::EINVAL);
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
pub fn flush_icache(t: &mut Thread) -> SysResult {
    t.hart.state_changed();
    Ok(0)
}
