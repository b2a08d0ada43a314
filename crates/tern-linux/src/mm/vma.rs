//! Virtual memory areas: what the process has mapped where (plain data).
//!
//! The page tables say which pages are present; the areas say which pages *may* be
//! present and with which protection, so that a page fault on an untouched page of an
//! area is satisfied with a zeroed frame (demand paging) and anything else becomes
//! SIGSEGV. `/proc/self/maps` is generated from this list.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `PROT_READ`.
pub const PROT_READ: u32 = 1;
/// `PROT_WRITE`.
pub const PROT_WRITE: u32 = 2;
/// `PROT_EXEC`.
pub const PROT_EXEC: u32 = 4;

/// What backs an area (for `/proc/self/maps` and for snapshots; file contents are
/// copied into private frames when mapped).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Backing {
    /// Anonymous memory.
    Anon,
    /// A copy of a file's contents at `offset`.
    File {
        /// Guest path of the file.
        path: String,
        /// File offset of the area's first byte.
        offset: u64,
    },
    /// The heap (`brk`).
    Heap,
    /// The main thread's stack.
    Stack,
    /// The signal-return trampoline page.
    Sigpage,
    /// Host-shared pages: a run of the shared window (see [`crate::mm::shared`])
    /// starting at physical address `phys` for the area's first page.
    Shared {
        /// Physical address of the area's first page.
        phys: u64,
    },
}

/// One mapped area.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vma {
    /// First address (page aligned).
    pub start: u64,
    /// End address (exclusive, page aligned).
    pub end: u64,
    /// `PROT_*` bits.
    pub prot: u32,
    /// `MAP_SHARED` was asked for (the pages are host-shared when the backing is
    /// [`Backing::Shared`]; see `syscalls::mm`).
    pub shared: bool,
    /// What backs it.
    pub backing: Backing,
}

impl Vma {
    /// The area cut to `[start, end)` (a part of it), with the file offset adjusted.
    pub fn slice(&self, start: u64, end: u64) -> Vma {
        let mut v = self.clone();
        match &mut v.backing {
            Backing::File { offset, .. } => *offset += start - self.start,
            Backing::Shared { phys } => *phys += start - self.start,
            _ => {}
        }
        v.start = start;
        v.end = end;
        v
    }
}

/// The areas of an address space, keyed by start address, never overlapping.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct VmaList {
    areas: BTreeMap<u64, Vma>,
}

impl VmaList {
    /// The area containing `addr`.
    pub fn find(&self, addr: u64) -> Option<&Vma> {
        self.areas
            .range(..=addr)
            .next_back()
            .map(|(_, v)| v)
            .filter(|v| addr < v.end)
    }

    /// Whether the list is what the code that edits it assumes (a list read from a
    /// snapshot is checked before use): each area is keyed by its start, page aligned,
    /// not empty, below `top`, and areas do not overlap. Returns the first bad area.
    pub fn check(&self, top: u64) -> Result<(), String> {
        let mut prev_end = 0;
        for (&k, v) in &self.areas {
            let aligned = v.start.is_multiple_of(4096) && v.end.is_multiple_of(4096);
            if k != v.start || !aligned || v.start >= v.end || v.end > top || v.start < prev_end {
                return Err(format!(
                    "memory area {:#x}-{:#x} is misplaced, empty or overlapping",
                    v.start, v.end
                ));
            }
            prev_end = v.end;
        }
        Ok(())
    }

    /// The number of areas.
    pub fn len(&self) -> usize {
        self.areas.len()
    }

    /// Whether there are no areas.
    pub fn is_empty(&self) -> bool {
        self.areas.is_empty()
    }

    /// All areas in address order.
    pub fn iter(&self) -> impl Iterator<Item = &Vma> {
        self.areas.values()
    }

    /// The areas that overlap `[start, end)`, from the highest down (found through
    /// the map, not by looking at every area).
    pub fn overlapping(&self, start: u64, end: u64) -> impl Iterator<Item = &Vma> {
        self.areas
            .range(..end)
            .rev()
            .take_while(move |(_, v)| v.end > start)
            .map(|(_, v)| v)
    }

    /// Whether any area overlaps `[start, end)`.
    pub fn overlaps(&self, start: u64, end: u64) -> bool {
        self.areas
            .range(..end)
            .next_back()
            .is_some_and(|(_, v)| v.end > start)
    }

    /// Removes `[start, end)` from every area (splitting areas at the edges); returns
    /// the removed pieces.
    pub fn remove(&mut self, start: u64, end: u64) -> Vec<Vma> {
        let keys: Vec<u64> = self
            .areas
            .range(..end)
            .rev()
            .take_while(|(_, v)| v.end > start)
            .map(|(k, _)| *k)
            .collect();
        let mut removed = Vec::new();
        for k in keys {
            let Some(v) = self.areas.remove(&k) else {
                continue;
            };
            if v.end <= start {
                self.areas.insert(k, v);
                continue;
            }
            if v.start < start {
                self.areas.insert(v.start, v.slice(v.start, start));
            }
            if v.end > end {
                self.areas.insert(end, v.slice(end, v.end));
            }
            removed.push(v.slice(v.start.max(start), v.end.min(end)));
        }
        removed.sort_by_key(|v| v.start);
        removed
    }

    /// Inserts an area; the range must be free.
    pub fn insert(&mut self, vma: Vma) {
        self.areas.insert(vma.start, vma);
    }

    /// Applies `f` to the parts of areas inside `[start, end)` (splitting at the edges).
    /// Returns false (changing nothing) if the range is not fully covered.
    pub fn update(&mut self, start: u64, end: u64, f: &mut dyn FnMut(&mut Vma)) -> bool {
        let mut at = start;
        let mut pieces: Vec<&Vma> = self
            .areas
            .range(..end)
            .rev()
            .take_while(|(_, v)| v.end > start)
            .map(|(_, v)| v)
            .collect();
        pieces.reverse();
        for v in &pieces {
            if v.start > at {
                return false;
            }
            at = v.end;
        }
        if at < end {
            return false;
        }
        let mut parts = self.remove(start, end);
        for p in &mut parts {
            f(p);
        }
        for p in parts {
            self.insert(p);
        }
        self.merge_around(start, end);
        true
    }

    /// Merges neighbouring areas with identical attributes near `[start, end]`.
    fn merge_around(&mut self, start: u64, end: u64) {
        let keys: Vec<u64> = self
            .areas
            .range(..=end)
            .rev()
            .take_while(|(_, v)| v.end >= start)
            .map(|(k, _)| *k)
            .collect();
        let mut keys = keys;
        keys.sort_unstable();
        let mut i = 0;
        while i + 1 < keys.len() {
            let (a, b) = (keys[i], keys[i + 1]);
            let (Some(va), Some(vb)) = (self.areas.get(&a).cloned(), self.areas.get(&b).cloned())
            else {
                i += 1;
                continue;
            };
            let contiguous_file = match (&va.backing, &vb.backing) {
                (
                    Backing::File {
                        path: p1,
                        offset: o1,
                    },
                    Backing::File {
                        path: p2,
                        offset: o2,
                    },
                ) => p1 == p2 && o1 + (va.end - va.start) == *o2,
                (x, y) => x == y,
            };
            if va.end == vb.start && va.prot == vb.prot && va.shared == vb.shared && contiguous_file
            {
                self.areas.remove(&b);
                if let Some(va) = self.areas.get_mut(&a) {
                    va.end = vb.end;
                }
                keys.remove(i + 1);
            } else {
                i += 1;
            }
        }
    }

    /// The highest free gap of `len` bytes ending at or below `top` and starting at or
    /// above `bottom`.
    pub fn find_gap_down(&self, len: u64, bottom: u64, top: u64) -> Option<u64> {
        let mut hi = top;
        for v in self.areas.range(..top).rev() {
            if v.1.end <= hi && hi - v.1.end >= len {
                return Some(hi - len).filter(|&a| a >= bottom);
            }
            hi = hi.min(v.1.start);
            if hi < bottom + len {
                return None;
            }
        }
        hi.checked_sub(len).filter(|&a| a >= bottom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn anon(start: u64, end: u64, prot: u32) -> Vma {
        Vma {
            start,
            end,
            prot,
            shared: false,
            backing: Backing::Anon,
        }
    }

    #[test]
    fn remove_splits_and_update_merges() {
        let mut l = VmaList::default();
        l.insert(anon(0x1000, 0x5000, 3));
        let r = l.remove(0x2000, 0x3000);
        assert_eq!(r, vec![anon(0x2000, 0x3000, 3)]);
        assert!(l.find(0x2000).is_none());
        assert_eq!(l.find(0x4000).unwrap().start, 0x3000);
        l.insert(anon(0x2000, 0x3000, 1));
        assert!(l.update(0x2000, 0x3000, &mut |v| v.prot = 3));
        assert_eq!(l.iter().count(), 1);
        assert!(!l.update(0x5000, 0x6000, &mut |v| v.prot = 1));
    }

    #[test]
    fn overlapping_finds_only_the_areas_in_range() {
        let mut l = VmaList::default();
        for i in 0..10u64 {
            l.insert(anon(0x1000 + i * 0x2000, 0x2000 + i * 0x2000, 3));
        }
        let starts: Vec<u64> = l.overlapping(0x2800, 0x5800).map(|v| v.start).collect();
        assert_eq!(starts, vec![0x5000, 0x3000]);
        assert_eq!(l.overlapping(0x2000, 0x3000).count(), 0, "a gap");
        assert_eq!(l.len(), 10);
    }

    #[test]
    fn gaps_top_down() {
        let mut l = VmaList::default();
        l.insert(anon(0x8000, 0x10000, 3));
        assert_eq!(l.find_gap_down(0x1000, 0x1000, 0x10000), Some(0x7000));
        assert_eq!(l.find_gap_down(0x1000, 0x1000, 0x12000), Some(0x11000));
        assert_eq!(l.find_gap_down(0x9000, 0x1000, 0x10000), None);
    }
}
