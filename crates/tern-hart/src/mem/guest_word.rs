//! Words of guest RAM as atomics, in the guest's byte order.
//!
//! RISC-V memory is little-endian; the host may not be (a tern built for s390x). A
//! host atomic over guest RAM holds the guest's bytes, so on a big-endian host its
//! native value is the guest's value byte-swapped: every operation here converts at
//! the edge. Bitwise operations, exchanges and compare-and-swap commute with the
//! conversion and stay single atomic instructions; arithmetic (add, min, max) does
//! not, and on a big-endian host becomes a compare-and-swap loop. On a little-endian
//! host the conversions are no-ops and every operation is the plain atomic one.
//!
//! Used for the guest's AMOs and LR/SC, the page-table walker's A/D updates and the
//! process VM's futex words: handing out these types instead of the host atomics is
//! what keeps a native-order access from being written by mistake.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

macro_rules! guest_word {
    ($name:ident, $atomic:ty, $int:ty, $signed:ty) => {
        /// A guest word in RAM (see the module's documentation).
        #[derive(Clone, Copy)]
        pub struct $name<'a>(&'a $atomic);

        impl<'a> $name<'a> {
            /// The word at `cell` (a host atomic over guest RAM).
            pub(crate) fn new(cell: &'a $atomic) -> Self {
                $name(cell)
            }

            /// The host address of the word (for the host's futex, which compares
            /// the bytes as the host reads them: see [`Self::host_value`]).
            pub fn as_ptr(&self) -> *mut $int {
                self.0.as_ptr()
            }

            /// What the host reads at the word's address when the guest's value
            /// is `v` (a host futex compares with this).
            pub fn host_value(v: $int) -> $int {
                v.to_le()
            }

            /// Loads the guest's value.
            pub fn load(&self, order: Ordering) -> $int {
                <$int>::from_le(self.0.load(order))
            }

            /// Stores a guest value.
            pub fn store(&self, v: $int, order: Ordering) {
                self.0.store(v.to_le(), order)
            }

            /// Exchanges; returns the old value.
            pub fn swap(&self, v: $int, order: Ordering) -> $int {
                <$int>::from_le(self.0.swap(v.to_le(), order))
            }

            /// Compare-and-swap, as the host atomic's.
            pub fn compare_exchange(
                &self,
                current: $int,
                new: $int,
                success: Ordering,
                failure: Ordering,
            ) -> Result<$int, $int> {
                self.0
                    .compare_exchange(current.to_le(), new.to_le(), success, failure)
                    .map(<$int>::from_le)
                    .map_err(<$int>::from_le)
            }

            /// Applies `f` to the guest's value until it sticks, as the host
            /// atomic's `fetch_update`.
            pub fn fetch_update(
                &self,
                set: Ordering,
                fetch: Ordering,
                mut f: impl FnMut($int) -> Option<$int>,
            ) -> Result<$int, $int> {
                self.0
                    .fetch_update(set, fetch, |x| f(<$int>::from_le(x)).map(<$int>::to_le))
                    .map(<$int>::from_le)
                    .map_err(<$int>::from_le)
            }

            /// Bitwise xor; returns the old value.
            pub fn fetch_xor(&self, v: $int, order: Ordering) -> $int {
                <$int>::from_le(self.0.fetch_xor(v.to_le(), order))
            }

            /// Bitwise and; returns the old value.
            pub fn fetch_and(&self, v: $int, order: Ordering) -> $int {
                <$int>::from_le(self.0.fetch_and(v.to_le(), order))
            }

            /// Bitwise or; returns the old value.
            pub fn fetch_or(&self, v: $int, order: Ordering) -> $int {
                <$int>::from_le(self.0.fetch_or(v.to_le(), order))
            }

            /// Wrapping add; returns the old value.
            pub fn fetch_add(&self, v: $int, order: Ordering) -> $int {
                if cfg!(target_endian = "little") {
                    self.0.fetch_add(v, order)
                } else {
                    self.update(order, |x| x.wrapping_add(v))
                }
            }

            /// Unsigned minimum; returns the old value.
            pub fn fetch_min(&self, v: $int, order: Ordering) -> $int {
                if cfg!(target_endian = "little") {
                    self.0.fetch_min(v, order)
                } else {
                    self.update(order, |x| x.min(v))
                }
            }

            /// Unsigned maximum; returns the old value.
            pub fn fetch_max(&self, v: $int, order: Ordering) -> $int {
                if cfg!(target_endian = "little") {
                    self.0.fetch_max(v, order)
                } else {
                    self.update(order, |x| x.max(v))
                }
            }

            /// Signed minimum; returns the old value.
            pub fn fetch_min_signed(&self, v: $int, order: Ordering) -> $int {
                self.update(order, |x| (x as $signed).min(v as $signed) as $int)
            }

            /// Signed maximum; returns the old value.
            pub fn fetch_max_signed(&self, v: $int, order: Ordering) -> $int {
                self.update(order, |x| (x as $signed).max(v as $signed) as $int)
            }

            /// A read-modify-write that always applies.
            fn update(&self, order: Ordering, mut f: impl FnMut($int) -> $int) -> $int {
                match self.fetch_update(order, order, |x| Some(f(x))) {
                    Ok(old) | Err(old) => old,
                }
            }
        }
    };
}

guest_word!(GuestWord32, AtomicU32, u32, i32);
guest_word!(GuestWord64, AtomicU64, u64, i64);

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering::SeqCst;

    #[test]
    fn the_bytes_in_memory_are_little_endian_whatever_the_host() {
        let cell = AtomicU64::new(0);
        let w = GuestWord64::new(&cell);
        w.store(0x0102_0304_0506_0708, SeqCst);
        // SAFETY: reading the 8 bytes of a live local atomic nobody else touches.
        let bytes: [u8; 8] = unsafe { *cell.as_ptr().cast::<[u8; 8]>() };
        assert_eq!(bytes, [8, 7, 6, 5, 4, 3, 2, 1]);
        assert_eq!(w.fetch_add(0x100, SeqCst), 0x0102_0304_0506_0708);
        assert_eq!(w.load(SeqCst), 0x0102_0304_0506_0808);
        assert_eq!(w.fetch_max_signed(u64::MAX, SeqCst), 0x0102_0304_0506_0808);
        assert_eq!(w.load(SeqCst), 0x0102_0304_0506_0808);
        assert_eq!(w.fetch_min(3, SeqCst), 0x0102_0304_0506_0808);
        assert_eq!(w.swap(9, SeqCst), 3);
        assert_eq!(w.compare_exchange(9, 10, SeqCst, SeqCst), Ok(9));
        assert_eq!(w.fetch_or(0x100, SeqCst), 10);
        assert_eq!(w.load(SeqCst), 0x10a);
        let c32 = AtomicU32::new(0);
        let w32 = GuestWord32::new(&c32);
        w32.store(0xffff_fffe, SeqCst);
        assert_eq!(w32.fetch_min_signed(5, SeqCst), 0xffff_fffe);
        assert_eq!(w32.load(SeqCst), 0xffff_fffe);
        assert_eq!(GuestWord32::host_value(1).to_ne_bytes(), [1, 0, 0, 0]);
    }
}
