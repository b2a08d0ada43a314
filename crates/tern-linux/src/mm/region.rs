//! Shared regions as the address space records them: what each shows, whether the
//! guest may write it, and the host file behind it (see [`crate::mm::shared`] for
//! how they are mapped).

use std::collections::BTreeMap;
use std::os::fd::OwnedFd;
use std::sync::Arc;

/// What a region shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegionKind {
    /// A file, from `offset` (the guest path for `/proc/self/maps`).
    File {
        /// Guest path.
        path: String,
        /// File offset of the region's first byte.
        offset: u64,
    },
    /// Shared anonymous memory (a host `memfd` of the region's size).
    Anon,
    /// A SysV shared memory segment.
    SysV {
        /// The segment's id.
        id: i32,
        /// Offset of the region's first byte in the segment's host file.
        offset: u64,
        /// Offset just past the segment in that file (pages past it are `SIGBUS`,
        /// though the file goes on with other segments).
        end: u64,
    },
}

/// One shared region.
#[derive(Debug)]
pub struct Region {
    /// Length in bytes (whole pages).
    pub len: u64,
    /// What it shows.
    pub kind: RegionKind,
    /// Whether the guest may map it writable (the file was opened for writing).
    pub writable: bool,
    /// The host file (kept for end-of-file checks, `mremap` and snapshots).
    pub file: Arc<OwnedFd>,
}

impl Region {
    /// Offset in the host file of the region's byte at `phys - base`.
    pub fn file_offset(&self, base: u64, phys: u64) -> u64 {
        let start = match &self.kind {
            RegionKind::File { offset, .. } | RegionKind::SysV { offset, .. } => *offset,
            RegionKind::Anon => 0,
        };
        start + (phys - base)
    }
}

/// The regions of an address space, by first physical address.
#[derive(Debug, Default)]
pub struct Regions {
    map: BTreeMap<u64, Region>,
}

impl Regions {
    /// The region holding physical address `phys`, with its first address.
    pub fn find(&self, phys: u64) -> Option<(u64, &Region)> {
        self.map
            .range(..=phys)
            .next_back()
            .filter(|(&base, r)| phys < base + r.len)
            .map(|(&base, r)| (base, r))
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Adds region `r` at `phys`.
    pub fn insert(&mut self, phys: u64, r: Region) {
        self.map.insert(phys, r);
    }

    /// Removes the region at `phys`.
    pub fn remove(&mut self, phys: u64) -> Option<Region> {
        self.map.remove(&phys)
    }

    /// All regions, by first physical address.
    pub fn iter(&self) -> impl Iterator<Item = (&u64, &Region)> {
        self.map.iter()
    }
}
