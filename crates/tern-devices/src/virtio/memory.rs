//! Guest RAM as `vm-memory` sees it, for `virtio-queue`.
//!
//! # Why an adapter, not our own split-ring code
//!
//! `virtio-queue` implements split virtqueues (virtio 1.2 §2.7) against `vm-memory`'s
//! `GuestMemory` trait, with the checks a device needs against a hostile driver:
//! descriptor chains stop after `queue size` links (loops), indirect tables are
//! bounds- and size-checked (§2.7.5.3), chains longer than 4 GiB are cut (§2.7.5.2),
//! avail indices running more than a queue size ahead are refused, and every buffer is
//! resolved to a range checked against the memory map before it is touched. Writing
//! that again would duplicate well-tested code; what it needs is a `GuestMemory`.
//!
//! tern's [`GuestRam`] is one anonymous mapping. `vm-memory`'s `MmapRegion` can wrap an
//! existing mapping by raw pointer (without owning or unmapping it), and its regions
//! report every write they make — through `Bytes`, `VolatileSlice` copies, atomic
//! stores of ring indices, and `virtio-queue`'s `Writer` — to a `Bitmap`. [`RamDirty`]
//! is that bitmap: it forwards each write to [`GuestRam::record_write`], which marks the
//! pages dirty for snapshots and migration (DESIGN.md invariant 5) and drops decoded code
//! on them. So the fit is good and no device write escapes the tracking, as long as
//! devices use only the `vm-memory`/`virtio-queue` APIs (never raw host addresses
//! from `get_host_address`, which bypass the bitmap; this crate does not use it).
//!
//! The mapping outlives the adapter: [`RamDirty`] holds an `Arc<GuestRam>`, and the
//! region is built from that same `GuestRam`'s pointer and size.
//!
//! Devices see it as [`GuestMem`], which implements `vm-memory`'s `GuestMemory` (what
//! `virtio-queue` and the `Bytes` accessors use) by handing out the region's volatile
//! slices after [`GuestRam::prepare`] made the range present: pages of a RAM restored
//! from a snapshot are read from the file when first touched, by a device as by a
//! hart. It gives no access to the mapping by other paths (`physical_memory` is
//! `None`), so no device can reach a page before it is read.

use std::fmt;
use std::sync::Arc;

use tern_hart::GuestRam;
use vm_memory::bitmap::{Bitmap, BitmapSlice, WithBitmapSlice, BS};
use vm_memory::guest_memory::GuestMemorySliceIterator;
use vm_memory::mmap::MmapRegionBuilder;
use vm_memory::{
    Address, GuestAddress, GuestMemory, GuestMemoryBackend, GuestMemoryError, GuestMemoryMmap,
    GuestMemoryResult, GuestRegionMmap, Permissions,
};

/// The guest memory virtio devices use: guest RAM as `vm-memory`'s `GuestMemory`.
#[derive(Clone)]
pub struct GuestMem {
    mmap: GuestMemoryMmap<RamDirty>,
    ram: Arc<GuestRam>,
}

impl fmt::Debug for GuestMem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuestMem").field("ram", &self.ram).finish()
    }
}

impl GuestMemory for GuestMem {
    type PhysicalMemory = GuestMemoryMmap<RamDirty>;
    type Bitmap = RamDirty;

    fn check_range(&self, addr: GuestAddress, count: usize, _access: Permissions) -> bool {
        GuestMemoryBackend::check_range(&self.mmap, addr, count)
    }

    fn get_slices<'a>(
        &'a self,
        addr: GuestAddress,
        count: usize,
        _access: Permissions,
    ) -> GuestMemoryResult<impl GuestMemorySliceIterator<'a, BS<'a, RamDirty>>> {
        // Pages restored lazily are read before any byte of them is handed out. If
        // one cannot be, the RAM is lost and the VM stops; the device sees an error.
        self.ram
            .prepare(addr.raw_value(), count as u64)
            .map_err(|_| GuestMemoryError::InvalidGuestAddress(addr))?;
        Ok(GuestMemoryBackend::get_slices(&self.mmap, addr, count))
    }
}

/// A `vm-memory` bitmap that reports writes to a [`GuestRam`]'s dirty and code-page
/// tracking. `offset` is where this slice starts, in bytes from the start of RAM.
#[derive(Clone)]
pub struct RamDirty {
    ram: Arc<GuestRam>,
    offset: usize,
}

impl fmt::Debug for RamDirty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RamDirty")
            .field("offset", &self.offset)
            .finish()
    }
}

impl WithBitmapSlice<'_> for RamDirty {
    type S = RamDirty;
}

impl BitmapSlice for RamDirty {}

impl Bitmap for RamDirty {
    fn mark_dirty(&self, offset: usize, len: usize) {
        let addr = self.ram.base() + (self.offset as u64).wrapping_add(offset as u64);
        self.ram.record_write(addr, len as u64);
    }

    fn dirty_at(&self, offset: usize) -> bool {
        let addr = self.ram.base() + (self.offset as u64).wrapping_add(offset as u64);
        self.ram.is_dirty(addr)
    }

    fn slice_at(&self, offset: usize) -> RamDirty {
        RamDirty {
            ram: self.ram.clone(),
            offset: self.offset.wrapping_add(offset),
        }
    }
}

/// Error building the adapter (only possible if the mapping were misaligned).
#[derive(Debug, thiserror::Error)]
#[error("cannot expose guest RAM to virtio devices: {0}")]
pub struct MemoryError(String);

/// `vm-memory`'s view of `ram`, sharing its host mapping and its write tracking.
pub fn guest_memory(ram: &Arc<GuestRam>) -> Result<GuestMem, MemoryError> {
    let size = usize::try_from(ram.size()).map_err(|e| MemoryError(e.to_string()))?;
    let bitmap = RamDirty {
        ram: ram.clone(),
        offset: 0,
    };
    // SAFETY: `host_base()` points to the start of `ram`'s mapping, which is `size`
    // bytes long, page aligned, readable and writable, and stays mapped as long as the
    // `GuestRam` lives; the region's bitmap holds an `Arc` to it, so it outlives every
    // region, slice and descriptor chain built from this memory. The region built from a
    // raw pointer does not own the mapping and never unmaps it.
    let builder = unsafe {
        MmapRegionBuilder::new_with_bitmap(size, bitmap)
            .with_mmap_prot(libc::PROT_READ | libc::PROT_WRITE)
            .with_raw_mmap_pointer(ram.host_base())
    };
    let region = builder.build().map_err(|e| MemoryError(e.to_string()))?;
    let region = GuestRegionMmap::new(region, GuestAddress(ram.base()))
        .ok_or_else(|| MemoryError("region wraps around the address space".into()))?;
    let mmap =
        GuestMemoryMmap::from_regions(vec![region]).map_err(|e| MemoryError(e.to_string()))?;
    Ok(GuestMem {
        mmap,
        ram: ram.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use vm_memory::Bytes;

    #[test]
    fn writes_through_vm_memory_are_tracked() {
        let ram = Arc::new(GuestRam::new(0x8000_0000, 0x10000).unwrap());
        let mem = guest_memory(&ram).unwrap();
        ram.write(0x8000_0010, &[1, 2, 3]).unwrap();
        ram.take_dirty();
        let mut b = [0u8; 3];
        mem.read_slice(&mut b, GuestAddress(0x8000_0010)).unwrap();
        assert_eq!(b, [1, 2, 3]);
        assert!(ram.take_dirty().is_empty());
        mem.write_slice(&[9; 5000], GuestAddress(0x8000_2ffe))
            .unwrap();
        assert_eq!(
            ram.take_dirty(),
            vec![0x8000_2000, 0x8000_3000, 0x8000_4000]
        );
        mem.write_obj(7u16, GuestAddress(0x8000_5000)).unwrap();
        assert_eq!(ram.take_dirty(), vec![0x8000_5000]);
        let mut c = [0u8; 2];
        ram.read(0x8000_5000, &mut c).unwrap();
        assert_eq!(c, [7, 0]);
        assert!(mem.write_slice(&[0], GuestAddress(0x8001_0000)).is_err());
        assert!(mem.read_slice(&mut c, GuestAddress(0x8000_ffff)).is_err());
        assert!(!mem.check_range(GuestAddress(0x7fff_ffff), 1, Permissions::Read));
    }

    /// Pages of every byte 0x5a.
    struct Filled;

    impl tern_hart::mem::lazy::StoredPages for Filled {
        fn read(&self, _first: u64, buf: &mut [u8]) -> Result<(), String> {
            buf.fill(0x5a);
            Ok(())
        }
    }

    #[test]
    fn pages_restored_lazily_are_read_before_a_device_sees_them() {
        let ram = Arc::new(GuestRam::new(0x8000_0000, 0x40000).unwrap());
        ram.restore_lazily(&[(0x20, 0x10)], Box::new(Filled), Box::new(|_| {}))
            .unwrap();
        let mem = guest_memory(&ram).unwrap();
        let mut b = [0u8; 4];
        mem.read_slice(&mut b, GuestAddress(0x8002_0ffe)).unwrap();
        assert_eq!(b, [0x5a; 4]);
        // A device's write to a pending page lands on the page's stored content.
        mem.write_obj(7u16, GuestAddress(0x8002_8000)).unwrap();
        let v: u32 = mem.read_obj(GuestAddress(0x8002_8000)).unwrap();
        assert_eq!(v, 0x5a5a_0007);
        assert_eq!(ram.pending_pages(), 0);
    }
}
