//! Shared regions: memory a process shares with the host's page cache and with other
//! processes — `MAP_SHARED` file mappings, `MAP_SHARED|MAP_ANONYMOUS` memory (a host
//! `memfd`), SysV shared memory segments.
//!
//! Each region is a run of the shared window ([`super::window`]) whose host pages are a
//! mapping of a host file ([`GuestRam::map_host_file`]). Areas over it have
//! [`Backing::Shared`]; a page fault in such an area points the page table entry at
//! the region's page instead of taking a frame. So:
//! - a write by the guest is in the file at once, and `read`/`write` of the same file
//!   by any process see the same bytes (one page cache);
//! - a guest `fork` (a host `fork` of tern) keeps the host mapping shared, so parent
//!   and child share the region as Linux processes do, and every later write of one
//!   is seen by the other;
//! - an access past the end of a shared file is `SIGBUS` (checked when the page is
//!   installed; a file cut short after that is caught by the host guard of
//!   `tern_hart::mem::shared`).
//!
//! A region lives as long as some area uses one of its pages; it is given back (the
//! host mapping dropped, the window run freed) when the last such area goes.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::Arc;

use crate::errno::Errno;
use crate::mm::region::{Region, RegionKind};
use crate::mm::vma::{Backing, Vma};
use crate::mm::Mm;

/// What [`Mm::map_shared`] maps.
pub struct SharedMap {
    /// The host file (a regular file, a `memfd`), above the guest's descriptors.
    pub file: Arc<OwnedFd>,
    /// Offset in it of the mapping's first byte.
    pub offset: u64,
    /// Whether the guest may write (else the host maps a private copy-on-write view,
    /// which still shows the file's changes on pages nobody wrote).
    pub writable: bool,
    /// What it is, for `/proc/self/maps` and snapshots.
    pub kind: RegionKind,
}

impl Mm {
    /// Maps `[start, start + len)` as a new shared area of `prot` over `what`,
    /// replacing whatever was mapped there. `ENOMEM` when the shared window has no
    /// run of `len` bytes left.
    pub fn map_shared(
        &mut self,
        start: u64,
        len: u64,
        prot: u32,
        what: SharedMap,
    ) -> Result<(), Errno> {
        let phys = self.add_region(len, what)?;
        self.unmap_keeping(start, start + len, Some(phys));
        self.vmas.insert(Vma {
            start,
            end: start + len,
            prot,
            shared: true,
            backing: Backing::Shared { phys },
        });
        Ok(())
    }

    /// Puts region `what` back at `phys` (restoring a snapshot: the page tables
    /// already point there). `EINVAL` if the run is not free.
    pub fn restore_region(&mut self, phys: u64, len: u64, what: SharedMap) -> Result<(), Errno> {
        if !self.window.take(phys, len) {
            return Err(Errno::EINVAL);
        }
        self.install_region(phys, len, what)
    }

    /// Takes a run of the window for `what` and maps the host file there; returns
    /// the run's first physical address.
    fn add_region(&mut self, len: u64, what: SharedMap) -> Result<u64, Errno> {
        let phys = self.window.alloc(len).ok_or(Errno::ENOMEM)?;
        self.install_region(phys, len, what)?;
        Ok(phys)
    }

    /// Maps `what` over the window run at `phys` (taken by the caller, given back if
    /// the host refuses: no address space, a file it cannot map) and records it.
    fn install_region(&mut self, phys: u64, len: u64, what: SharedMap) -> Result<(), Errno> {
        let mapped =
            self.ram()
                .map_host_file(phys, len, what.file.as_fd(), what.offset, what.writable);
        if mapped.is_err() {
            self.window.free(phys, len);
            return Err(Errno::ENOMEM);
        }
        self.regions.insert(
            phys,
            Region {
                len,
                kind: what.kind,
                writable: what.writable,
                file: what.file,
            },
        );
        Ok(())
    }

    /// The region behind the shared area page at `phys` is still inside its file:
    /// `false` for a page wholly past the end of a shared file, or of a shared
    /// anonymous object made longer by `mremap` (`SIGBUS`, as Linux gives: the object
    /// keeps the size it was made with).
    pub(super) fn shared_page_in_file(&self, phys: u64) -> bool {
        let Some((base, r)) = self.regions.find(phys) else {
            return false;
        };
        // SAFETY: fstat of a descriptor the region owns, into a local struct.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        if unsafe { libc::fstat(r.file.as_raw_fd(), &mut st) } != 0 {
            return false;
        }
        let end = match r.kind {
            RegionKind::SysV { end, .. } => end.min(st.st_size as u64),
            _ => st.st_size as u64,
        };
        r.file_offset(base, phys) < end
    }

    /// Gives back the regions no area uses any more (after areas were removed),
    /// except the one at `keep` (just made, its area not yet in place).
    pub(super) fn release_unused_regions(&mut self, keep: Option<u64>) {
        if self.regions.is_empty() {
            return;
        }
        let mut used = std::collections::BTreeSet::new();
        for v in self.vmas.iter() {
            if let Backing::Shared { phys } = v.backing {
                if let Some((base, _)) = self.regions.find(phys) {
                    used.insert(base);
                }
            }
        }
        let unused: Vec<u64> = self
            .regions
            .iter()
            .map(|(b, _)| *b)
            .filter(|b| !used.contains(b) && Some(*b) != keep)
            .collect();
        for base in unused {
            if let Some(r) = self.regions.remove(base) {
                if self.ram().unmap_host_file(base, r.len).is_err() {
                    // The run stays taken: its pages still show the file.
                    continue;
                }
                self.window.free(base, r.len);
            }
        }
    }

    /// `mremap` of the shared area at `old` (`old_len` bytes inside one area): maps the
    /// same file range again, `new_len` bytes long, at `dst` (which may be `old`), and
    /// removes the old pages unless `keep_old` (`MREMAP_DONTUNMAP`: both ranges then
    /// show the same pages).
    pub fn remap_shared(
        &mut self,
        old: u64,
        old_len: u64,
        new_len: u64,
        dst: u64,
        keep_old: bool,
    ) -> Result<(), Errno> {
        let vma = self.vmas.find(old).cloned().ok_or(Errno::EFAULT)?;
        let Backing::Shared { phys } = vma.backing else {
            return Err(Errno::EINVAL);
        };
        if old + old_len > vma.end {
            return Err(Errno::EFAULT);
        }
        let page = phys + (old - vma.start);
        let (base, r) = self.regions.find(page).ok_or(Errno::EFAULT)?;
        let offset = r.file_offset(base, page);
        let kind = match &r.kind {
            RegionKind::File { path, .. } => RegionKind::File {
                path: path.clone(),
                offset,
            },
            RegionKind::SysV { id, end, .. } => RegionKind::SysV {
                id: *id,
                offset,
                end: *end,
            },
            RegionKind::Anon => RegionKind::Anon,
        };
        let file = r.file.clone();
        let writable = r.writable;
        let what = SharedMap {
            file,
            offset,
            writable,
            kind,
        };
        // The new run is mapped first: if the window is full, nothing changed.
        let new_phys = self.add_region(new_len, what)?;
        if !keep_old {
            self.unmap_keeping(old, old + old_len, Some(new_phys));
        }
        self.unmap_keeping(dst, dst + new_len, Some(new_phys));
        self.vmas.insert(Vma {
            start: dst,
            end: dst + new_len,
            prot: vma.prot,
            shared: true,
            backing: Backing::Shared { phys: new_phys },
        });
        Ok(())
    }

    /// Writes back the shared file pages of `[start, end)` (`msync`); `ENOMEM` if
    /// part of the range is not mapped.
    pub fn sync_shared(&mut self, start: u64, end: u64, wait: bool) -> Result<(), Errno> {
        let mut at = start;
        let mut runs = Vec::new();
        for v in self.vmas.iter().filter(|v| v.end > start && v.start < end) {
            if v.start > at {
                return Err(Errno::ENOMEM);
            }
            let (s, e) = (v.start.max(start), v.end.min(end));
            if let Backing::Shared { phys } = v.backing {
                runs.push((phys + (s - v.start), e - s));
            }
            at = e;
        }
        if at < end {
            return Err(Errno::ENOMEM);
        }
        for (p, len) in runs {
            self.ram()
                .sync_host_file(p, len, wait)
                .map_err(|_| Errno::EIO)?;
        }
        Ok(())
    }

    /// Whether `[start, end)` holds a shared area the guest may not write (its file
    /// was opened read-only): `mprotect(PROT_WRITE)` there is `EACCES`.
    pub fn has_read_only_shared(&self, start: u64, end: u64) -> bool {
        self.vmas.overlapping(start, end).any(|v| match v.backing {
            Backing::Shared { phys } => self.regions.find(phys).is_some_and(|(_, r)| !r.writable),
            _ => false,
        })
    }

    /// `/proc/self/maps` offset and name of a shared area starting at `phys`.
    pub(super) fn shared_name(&self, phys: u64) -> (u64, String) {
        match self.regions.find(phys) {
            Some((base, r)) => match &r.kind {
                RegionKind::File { path, .. } => (r.file_offset(base, phys), path.clone()),
                RegionKind::Anon => (0, "/dev/zero (deleted)".into()),
                RegionKind::SysV { id, .. } => (0, format!("/SYSV{id:08x} (deleted)")),
            },
            None => (0, String::new()),
        }
    }
}

/// Makes the `memfd` of shared anonymous memory at least `len` bytes long.
pub fn grow_memfd(file: &OwnedFd, len: u64) -> Result<(), Errno> {
    // SAFETY: fstat into a local struct of a descriptor we own.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    if unsafe { libc::fstat(file.as_raw_fd(), &mut st) } != 0 {
        return Err(Errno::ENOMEM);
    }
    if (st.st_size as u64) < len {
        let len = libc::off_t::try_from(len).map_err(|_| Errno::ENOMEM)?;
        // SAFETY: ftruncate of a memfd we own.
        if unsafe { libc::ftruncate(file.as_raw_fd(), len) } != 0 {
            return Err(Errno::ENOMEM);
        }
    }
    Ok(())
}

/// A new `memfd` of `len` bytes for shared anonymous memory, at a descriptor number
/// at or above `min_fd` (out of the guest's range).
pub fn anon_memfd(len: u64, min_fd: i32) -> Result<Arc<OwnedFd>, Errno> {
    use std::os::fd::FromRawFd;
    // SAFETY: memfd_create with a static NUL-terminated name.
    let low = unsafe { libc::memfd_create(c"tern-shared".as_ptr(), libc::MFD_CLOEXEC) };
    if low < 0 {
        return Err(Errno::ENOMEM);
    }
    // SAFETY: `low` was just created and is ours.
    let low = unsafe { OwnedFd::from_raw_fd(low) };
    let file = high_fd(&low, min_fd)?;
    grow_memfd(&file, len)?;
    Ok(Arc::new(file))
}

/// A copy of `fd` at a number at or above `min_fd`, close-on-exec.
pub fn high_fd(fd: &impl AsRawFd, min_fd: i32) -> Result<OwnedFd, Errno> {
    use std::os::fd::FromRawFd;
    // SAFETY: duplicating a descriptor we hold.
    let high = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, min_fd) };
    if high < 0 {
        return Err(Errno(libc::EMFILE));
    }
    // SAFETY: `high` was just created and is ours.
    Ok(unsafe { OwnedFd::from_raw_fd(high) })
}
