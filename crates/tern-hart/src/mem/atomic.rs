//! Guest RAM is shared memory: every access to it is atomic.
//!
//! Harts run on several host threads and may touch the same bytes at the same time,
//! as harts of a real machine do; devices on other threads read and write RAM too.
//! Plain Rust loads and stores that race are undefined behaviour, so every access to
//! guest RAM goes through this module (or through `vm-memory`'s volatile accessors,
//! for virtio devices). RVWMO lets ordinary loads and stores behave as relaxed
//! atomics, so that is what they are here; ordering comes from `fence` and the AMOs,
//! which use stronger host orderings (see `exec::amo` and the `fence` handler).
//!
//! - A naturally aligned access of 1, 2, 4 or 8 bytes is one relaxed atomic access of
//!   that size ([`load`], [`store`]); on x86-64 and aarch64 these compile to plain
//!   moves, so the interpreter's fast path costs nothing more.
//! - A range ([`copy_out`], [`copy_in`], [`fill`]) moves aligned 8-byte words as
//!   single atomics and the unaligned head and tail byte by byte. Misaligned guest
//!   accesses take that path, which RVWMO allows (a misaligned access need not be
//!   atomic).
//!
//! One thing Rust's memory model does not define is two atomic accesses of different
//! sizes to overlapping bytes that race (a guest doing `sb` on one hart while another
//! does `amoadd.w` on the word holding that byte). A guest can always do that; the
//! hosts tern runs on define it (every access is a single-copy-atomic instruction), and
//! nothing else in the emulator depends on guest RAM's contents being coherent in that
//! case. Miri reports such races, so the tests race accesses of one size per location.

use std::sync::atomic::{AtomicU16, AtomicU32, AtomicU64, AtomicU8, Ordering::Relaxed};

/// Loads `N` (1, 2, 4, 8) bytes little-endian from guest RAM at host address `p`,
/// as one relaxed atomic access.
///
/// # Safety
/// `p` must be aligned to `N` and valid for reads of `N` bytes of guest RAM for the
/// duration of the call (memory that is only ever accessed atomically or while no
/// other thread can reach it).
#[inline(always)]
pub(crate) unsafe fn load<const N: usize>(p: *const u8) -> u64 {
    let p = p.cast_mut();
    // SAFETY: alignment and validity are the caller's promise; all concurrent accesses
    // to guest RAM are atomic (this module), so atomics here cannot race with plain
    // accesses.
    unsafe {
        match N {
            1 => u64::from(AtomicU8::from_ptr(p).load(Relaxed)),
            2 => u64::from(u16::from_le(AtomicU16::from_ptr(p.cast()).load(Relaxed))),
            4 => u64::from(u32::from_le(AtomicU32::from_ptr(p.cast()).load(Relaxed))),
            _ => u64::from_le(AtomicU64::from_ptr(p.cast()).load(Relaxed)),
        }
    }
}

/// Stores the low `N` (1, 2, 4, 8) bytes of `v` little-endian to guest RAM at host
/// address `p`, as one relaxed atomic access.
///
/// # Safety
/// As for [`load`], for writes.
#[inline(always)]
pub(crate) unsafe fn store<const N: usize>(p: *mut u8, v: u64) {
    // SAFETY: as in `load`.
    unsafe {
        match N {
            1 => AtomicU8::from_ptr(p).store(v as u8, Relaxed),
            2 => AtomicU16::from_ptr(p.cast()).store((v as u16).to_le(), Relaxed),
            4 => AtomicU32::from_ptr(p.cast()).store((v as u32).to_le(), Relaxed),
            _ => AtomicU64::from_ptr(p.cast()).store(v.to_le(), Relaxed),
        }
    }
}

/// Bytes before the next 8-byte boundary at `p` (0 if aligned), at most `len`.
#[inline]
fn head_len(p: *const u8, len: usize) -> usize {
    ((8 - (p as usize & 7)) & 7).min(len)
}

/// Copies `dst.len()` bytes of guest RAM from host address `src` into `dst`.
///
/// # Safety
/// `src..src + dst.len()` must be valid guest RAM for reads (see [`load`]); `dst` is
/// host memory that no other thread touches.
pub(crate) unsafe fn copy_out(src: *const u8, dst: &mut [u8]) {
    let len = dst.len();
    let head = head_len(src, len);
    let words = (len - head) / 8;
    // SAFETY: every address read lies in `src..src + len` (the caller's promise), and
    // each word read is 8-byte aligned (after `head` bytes, `src + head` is).
    unsafe {
        for (i, d) in dst[..head].iter_mut().enumerate() {
            *d = load::<1>(src.add(i)) as u8;
        }
        for w in 0..words {
            let at = head + 8 * w;
            let v = load::<8>(src.add(at));
            dst[at..at + 8].copy_from_slice(&v.to_le_bytes());
        }
        for (i, d) in dst.iter_mut().enumerate().skip(head + 8 * words) {
            *d = load::<1>(src.add(i)) as u8;
        }
    }
}

/// Copies `src` into guest RAM at host address `dst`.
///
/// # Safety
/// `dst..dst + src.len()` must be valid guest RAM for writes (see [`store`]).
pub(crate) unsafe fn copy_in(dst: *mut u8, src: &[u8]) {
    let len = src.len();
    let head = head_len(dst, len);
    let words = (len - head) / 8;
    // SAFETY: as in `copy_out`, for writes.
    unsafe {
        for (i, &b) in src[..head].iter().enumerate() {
            store::<1>(dst.add(i), u64::from(b));
        }
        for w in 0..words {
            let at = head + 8 * w;
            let mut v = [0u8; 8];
            v.copy_from_slice(&src[at..at + 8]);
            store::<8>(dst.add(at), u64::from_le_bytes(v));
        }
        for (i, &b) in src.iter().enumerate().skip(head + 8 * words) {
            store::<1>(dst.add(i), u64::from(b));
        }
    }
}

/// Sets `len` bytes of guest RAM at host address `dst` to `byte`.
///
/// # Safety
/// As for [`copy_in`].
pub(crate) unsafe fn fill(dst: *mut u8, len: usize, byte: u8) {
    let head = head_len(dst, len);
    let words = (len - head) / 8;
    let word = u64::from_ne_bytes([byte; 8]);
    // SAFETY: as in `copy_in`.
    unsafe {
        for i in 0..head {
            store::<1>(dst.add(i), u64::from(byte));
        }
        for w in 0..words {
            store::<8>(dst.add(head + 8 * w), word);
        }
        for i in head + 8 * words..len {
            store::<1>(dst.add(i), u64::from(byte));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every offset and length around the word boundaries copies exactly its bytes.
    #[test]
    fn ranges_copy_exactly_their_bytes() {
        let mut mem = [0u64; 8];
        let base = mem.as_mut_ptr().cast::<u8>();
        for start in 0..16 {
            for len in 0..40 {
                let data: Vec<u8> = (0..len).map(|i| i as u8 ^ 0xa5).collect();
                // SAFETY: `start + len` < 64 bytes of `mem`, which only this thread uses.
                unsafe {
                    fill(base, 64, 0x11);
                    copy_in(base.add(start), &data);
                    let mut back = vec![0u8; len];
                    copy_out(base.add(start), &mut back);
                    assert_eq!(back, data, "start {start} len {len}");
                    let mut all = [0u8; 64];
                    copy_out(base, &mut all);
                    assert!(all[..start].iter().all(|&b| b == 0x11));
                    assert!(all[start + len..].iter().all(|&b| b == 0x11));
                }
            }
        }
    }

    #[test]
    fn sized_accesses_are_little_endian() {
        let mut mem = [0u64; 2];
        let p = mem.as_mut_ptr().cast::<u8>();
        // SAFETY: aligned accesses inside `mem`.
        unsafe {
            store::<8>(p, 0x0807_0605_0403_0201);
            assert_eq!(load::<1>(p.add(1)), 2);
            assert_eq!(load::<2>(p.add(2)), 0x0403);
            assert_eq!(load::<4>(p.add(4)), 0x0807_0605);
            store::<2>(p.add(8), 0xbeef);
            assert_eq!(load::<8>(p.add(8)), 0xbeef);
        }
    }
}
