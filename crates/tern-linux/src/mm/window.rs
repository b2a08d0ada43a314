//! The shared window: the part of the process VM's physical memory, above the frames,
//! where shared regions (`MAP_SHARED` files, shared anonymous memory, SysV segments)
//! are placed, each as one run of pages whose host side is a shared mapping (see
//! `tern_hart::mem::shared`).
//!
//! A region needs contiguous pages (the host maps a file in one piece), so the window
//! hands out runs, first fit, and merges runs given back. It is as large as the
//! frames' part: a process cannot map more shared memory at once than `--memory`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use tern_hart::mem::ram::PAGE_SIZE as PAGE;

/// Free runs of the window (plain data).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Window {
    /// First physical address of the window.
    base: u64,
    /// End of the window (exclusive).
    end: u64,
    /// Free runs: start → length, disjoint, merged with their neighbours.
    free: BTreeMap<u64, u64>,
}

impl Window {
    /// A window over `[base, base + size)`, all free.
    pub fn new(base: u64, size: u64) -> Window {
        let mut free = BTreeMap::new();
        if size > 0 {
            free.insert(base, size);
        }
        Window {
            base,
            end: base + size,
            free,
        }
    }

    /// Whether physical address `addr` lies in the window.
    pub fn contains(&self, addr: u64) -> bool {
        addr >= self.base && addr < self.end
    }

    /// Takes a run of `len` bytes (a multiple of the page size), or `None` when no
    /// free run is long enough.
    pub fn alloc(&mut self, len: u64) -> Option<u64> {
        if len == 0 || !len.is_multiple_of(PAGE) {
            return None;
        }
        let (&start, &run) = self.free.iter().find(|(_, &run)| run >= len)?;
        self.free.remove(&start);
        if run > len {
            self.free.insert(start + len, run - len);
        }
        Some(start)
    }

    /// Takes the run `[start, start + len)`, which must be free (a region restored
    /// where it was); `false` if it is not.
    pub fn take(&mut self, start: u64, len: u64) -> bool {
        let Some((&s, &l)) = self.free.range(..=start).next_back() else {
            return false;
        };
        if len == 0 || start + len > s + l {
            return false;
        }
        self.free.remove(&s);
        if start > s {
            self.free.insert(s, start - s);
        }
        if s + l > start + len {
            self.free.insert(start + len, s + l - start - len);
        }
        true
    }

    /// Gives back the run `[start, start + len)` taken from [`Window::alloc`].
    pub fn free(&mut self, start: u64, len: u64) {
        let (mut start, mut len) = (start, len);
        if let Some((&s, &l)) = self.free.range(..start).next_back() {
            if s + l == start {
                self.free.remove(&s);
                start = s;
                len += l;
            }
        }
        if let Some(&l) = self.free.get(&(start + len)) {
            self.free.remove(&(start + len));
            len += l;
        }
        self.free.insert(start, len);
    }

    /// Bytes free in the window.
    pub fn free_bytes(&self) -> u64 {
        self.free.values().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_are_taken_first_fit_and_merge_when_given_back() {
        let mut w = Window::new(0x1000_0000, 16 * PAGE);
        let a = w.alloc(4 * PAGE).expect("a");
        let b = w.alloc(4 * PAGE).expect("b");
        let c = w.alloc(8 * PAGE).expect("c");
        assert_eq!((a, b, c), (0x1000_0000, 0x1000_4000, 0x1000_8000));
        assert_eq!(w.alloc(PAGE), None, "full");
        w.free(a, 4 * PAGE);
        w.free(c, 8 * PAGE);
        assert_eq!(w.alloc(8 * PAGE), Some(c), "first fit skips the short run");
        w.free(c, 8 * PAGE);
        w.free(b, 4 * PAGE);
        assert_eq!(w.free_bytes(), 16 * PAGE);
        assert_eq!(
            w.alloc(16 * PAGE),
            Some(a),
            "the three runs merged into one"
        );
        assert!(w.contains(a) && !w.contains(a + 16 * PAGE));
        w.free(a, 16 * PAGE);
        assert!(w.take(a + 4 * PAGE, 2 * PAGE), "a run inside a free one");
        assert!(!w.take(a + 5 * PAGE, 2 * PAGE), "overlaps the taken run");
        assert_eq!(w.free_bytes(), 14 * PAGE);
        assert_eq!(w.alloc(4 * PAGE), Some(a), "the part below is still free");
    }
}
