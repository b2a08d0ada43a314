//! One bit per guest page, set and cleared from any thread.

use std::sync::atomic::{AtomicU64, Ordering};

/// A bitmap over the pages of guest RAM.
pub(crate) struct PageBitmap {
    pub(crate) words: Box<[AtomicU64]>,
}

impl PageBitmap {
    pub(crate) fn new(pages: u64) -> PageBitmap {
        let words = pages.div_ceil(64) as usize;
        PageBitmap {
            words: (0..words).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// Sets the bit of `page`; true if it was clear.
    #[inline]
    pub(crate) fn set(&self, page: u64) -> bool {
        let bit = 1u64 << (page % 64);
        let old = self.words[(page / 64) as usize].fetch_or(bit, Ordering::Relaxed);
        old & bit == 0
    }

    /// Clears the bit of `page`; true if it was set.
    #[inline]
    pub(crate) fn clear(&self, page: u64) -> bool {
        let bit = 1u64 << (page % 64);
        let old = self.words[(page / 64) as usize].fetch_and(!bit, Ordering::Relaxed);
        old & bit != 0
    }

    /// Clears the bit of `page` with release ordering: whoever sees it clear (with
    /// [`PageBitmap::get_acquire`]) sees every write made before.
    #[inline]
    pub(crate) fn clear_release(&self, page: u64) {
        let bit = 1u64 << (page % 64);
        self.words[(page / 64) as usize].fetch_and(!bit, Ordering::Release);
    }

    #[inline]
    pub(crate) fn get(&self, page: u64) -> bool {
        self.words[(page / 64) as usize].load(Ordering::Relaxed) & (1 << (page % 64)) != 0
    }

    /// [`PageBitmap::get`] with acquire ordering (see [`PageBitmap::clear_release`]).
    #[inline]
    pub(crate) fn get_acquire(&self, page: u64) -> bool {
        self.words[(page / 64) as usize].load(Ordering::Acquire) & (1 << (page % 64)) != 0
    }

    /// Sets the bits of pages `first..first + n`.
    pub(crate) fn set_range(&self, first: u64, n: u64) {
        let mut p = first;
        let end = first + n;
        while p < end {
            let in_word = (64 - p % 64).min(end - p);
            let mask = if in_word == 64 {
                u64::MAX
            } else {
                ((1u64 << in_word) - 1) << (p % 64)
            };
            self.words[(p / 64) as usize].fetch_or(mask, Ordering::Relaxed);
            p += in_word;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_set_exactly_their_bits() {
        for (first, n) in [
            (0, 0),
            (0, 1),
            (3, 61),
            (3, 62),
            (60, 70),
            (0, 200),
            (64, 64),
        ] {
            let b = PageBitmap::new(300);
            b.set_range(first, n);
            for p in 0..300 {
                assert_eq!(
                    b.get(p),
                    (first..first + n).contains(&p),
                    "{first}+{n}: {p}"
                );
            }
        }
    }
}
