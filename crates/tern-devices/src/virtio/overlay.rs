//! Sets of disk blocks, and the copy-on-write layer over a disk that holds a guest's
//! writes without touching the image (`snapshot=on`, and drives restored from a
//! snapshot that holds their written blocks).
//!
//! [`BlockSet`] is the bookkeeping both need: which blocks of a disk are in some state
//! (present in an overlay, written since the VM started, written since the last
//! snapshot). It is a two-level bitmap whose 512-byte leaves (each covering 4096
//! blocks, 16 MiB of disk at 4 KiB per block) exist only where some block is in the
//! set: an untouched 64 GiB disk costs nothing, a fully written one 2 MiB.
//!
//! [`Overlay`] keeps written 4 KiB blocks in an unlinked, sparse temporary file of the
//! disk's size, at the blocks' own offsets, and reads everything else from the image
//! underneath, which is opened read-only. The layer disappears with the device.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicU64, Ordering};

use super::disk::BlockBackend;

/// Block size of an [`Overlay`] (and of the written-block tracking in
/// [`super::disk::TrackedDisk`]): the page size of the guest's page cache and the block
/// size of its file systems, so typical writes cover whole blocks.
pub const BLOCK: u64 = 4096;

/// Blocks covered by one leaf of a [`BlockSet`].
const LEAF_BITS: u64 = 4096;
const LEAF_WORDS: usize = (LEAF_BITS / 64) as usize;

/// A set of block numbers below a bound: a bitmap whose leaves are allocated on the
/// first insertion into their range (see the module documentation for the cost).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BlockSet {
    /// Blocks `0..blocks` may be members.
    blocks: u64,
    /// Leaf `n` holds blocks `n * LEAF_BITS ..`; absent leaves hold none.
    leaves: BTreeMap<u64, Box<[u64; LEAF_WORDS]>>,
    /// Number of members.
    count: u64,
}

impl BlockSet {
    /// An empty set of blocks below `blocks`.
    pub fn new(blocks: u64) -> BlockSet {
        BlockSet {
            blocks,
            leaves: BTreeMap::new(),
            count: 0,
        }
    }

    /// The bound: members are below it.
    pub fn bound(&self) -> u64 {
        self.blocks
    }

    /// Number of members.
    pub fn len(&self) -> u64 {
        self.count
    }

    /// Whether the set has no member.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Whether `block` is a member.
    pub fn contains(&self, block: u64) -> bool {
        let bit = block % LEAF_BITS;
        self.leaves
            .get(&(block / LEAF_BITS))
            .is_some_and(|l| l[(bit / 64) as usize] >> (bit % 64) & 1 != 0)
    }

    /// Adds the blocks of `range` (the part of it below the bound).
    pub fn insert_range(&mut self, range: Range<u64>) {
        let end = range.end.min(self.blocks);
        let mut b = range.start;
        while b < end {
            let no = b / LEAF_BITS;
            let leaf_end = (no + 1).saturating_mul(LEAF_BITS).min(end);
            let leaf = self
                .leaves
                .entry(no)
                .or_insert_with(|| Box::new([0; LEAF_WORDS]));
            while b < leaf_end {
                let bit = b % LEAF_BITS;
                let lo = bit % 64;
                let n = (leaf_end - b).min(64 - lo);
                let mask = if n == 64 {
                    u64::MAX
                } else {
                    ((1u64 << n) - 1) << lo
                };
                let word = &mut leaf[(bit / 64) as usize];
                self.count += u64::from((mask & !*word).count_ones());
                *word |= mask;
                b += n;
            }
        }
    }

    /// Adds every member of `other` (whose bound may differ; members past this set's
    /// bound are left out).
    pub fn union_with(&mut self, other: &BlockSet) {
        for run in other.runs() {
            self.insert_range(run);
        }
    }

    /// Removes every member (and frees the leaves).
    pub fn clear(&mut self) {
        self.leaves.clear();
        self.count = 0;
    }

    /// The first member at or after `from`.
    pub fn next_member(&self, from: u64) -> Option<u64> {
        if from >= self.blocks {
            return None;
        }
        for (&no, leaf) in self.leaves.range(from / LEAF_BITS..) {
            let base = no * LEAF_BITS;
            let start = from.saturating_sub(base);
            let mut w = (start / 64) as usize;
            let mut word = leaf[w] & (u64::MAX << (start % 64));
            loop {
                if word != 0 {
                    return Some(base + w as u64 * 64 + u64::from(word.trailing_zeros()));
                }
                w += 1;
                if w == LEAF_WORDS {
                    break;
                }
                word = leaf[w];
            }
        }
        None
    }

    /// The first block at or after `from` that is not a member (the bound if none is
    /// below it).
    pub fn next_non_member(&self, from: u64) -> u64 {
        let mut b = from;
        while b < self.blocks {
            let no = b / LEAF_BITS;
            let Some(leaf) = self.leaves.get(&no) else {
                return b;
            };
            let bit = b % LEAF_BITS;
            let mut w = (bit / 64) as usize;
            let mut word = !leaf[w] & (u64::MAX << (bit % 64));
            loop {
                if word != 0 {
                    let found = no * LEAF_BITS + w as u64 * 64 + u64::from(word.trailing_zeros());
                    return found.min(self.blocks);
                }
                w += 1;
                if w == LEAF_WORDS {
                    break;
                }
                word = !leaf[w];
            }
            b = (no + 1).saturating_mul(LEAF_BITS);
        }
        self.blocks.max(from)
    }

    /// The maximal runs of consecutive members, in increasing order.
    pub fn runs(&self) -> Runs<'_> {
        Runs { set: self, pos: 0 }
    }

    /// Host memory the set holds, in bytes (leaves and an estimate of the tree's
    /// nodes).
    pub fn heap_bytes(&self) -> usize {
        self.leaves.len() * (LEAF_WORDS * 8 + 32)
    }
}

/// The runs of a [`BlockSet`], from [`BlockSet::runs`].
pub struct Runs<'a> {
    set: &'a BlockSet,
    pos: u64,
}

impl Iterator for Runs<'_> {
    type Item = Range<u64>;

    fn next(&mut self) -> Option<Range<u64>> {
        let start = self.set.next_member(self.pos)?;
        let end = self.set.next_non_member(start);
        self.pos = end;
        Some(start..end)
    }
}

/// An unlinked temporary file.
fn temp_file() -> io::Result<File> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir();
    for _ in 0..16 {
        let name = format!(
            "tern-overlay-{}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0)
        );
        let path = dir.join(name);
        match OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(f) => {
                std::fs::remove_file(&path)?;
                return Ok(f);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other("cannot create a temporary overlay file"))
}

/// A private copy-on-write layer over a disk: see the module documentation.
pub struct Overlay {
    base: Box<dyn BlockBackend>,
    file: File,
    /// The blocks whose current contents are in `file`.
    present: BlockSet,
    size: u64,
}

impl Overlay {
    /// An empty overlay over `base` (which it never writes), in a new unlinked file of
    /// the temporary directory.
    pub fn new(base: Box<dyn BlockBackend>) -> io::Result<Overlay> {
        let size = base.size();
        let file = temp_file()?;
        file.set_len(size)?;
        Ok(Overlay {
            base,
            file,
            present: BlockSet::new(size.div_ceil(BLOCK)),
            size,
        })
    }

    /// The blocks held by the overlay rather than the image.
    pub fn present(&self) -> &BlockSet {
        &self.present
    }

    /// Copies a block that is only partly overwritten into the overlay first.
    fn copy_up(&mut self, block: u64) -> io::Result<()> {
        if self.present.contains(block) {
            return Ok(());
        }
        let start = block * BLOCK;
        let len = BLOCK.min(self.size - start) as usize;
        let mut buf = vec![0u8; len];
        self.base.read_at(&mut buf, start)?;
        self.file.write_all_at(&buf, start)?;
        self.present.insert_range(block..block + 1);
        Ok(())
    }

    /// The end of `offset..offset+len`, or an error if it leaves the disk.
    fn end_of(&self, offset: u64, len: usize) -> io::Result<u64> {
        offset
            .checked_add(len as u64)
            .filter(|&end| end <= self.size)
            .ok_or_else(|| io::Error::from(io::ErrorKind::UnexpectedEof))
    }
}

impl BlockBackend for Overlay {
    fn size(&self) -> u64 {
        self.size
    }

    fn read_at(&mut self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let end = self.end_of(offset, buf.len())?;
        let mut pos = offset;
        while pos < end {
            // A run of blocks that all come from the same place.
            let block = pos / BLOCK;
            let here = self.present.contains(block);
            let run_end_block = if here {
                self.present.next_non_member(block)
            } else {
                self.present.next_member(block).unwrap_or(u64::MAX)
            };
            let run_end = run_end_block.saturating_mul(BLOCK).min(end);
            let chunk = &mut buf[(pos - offset) as usize..(run_end - offset) as usize];
            if here {
                self.file.read_exact_at(chunk, pos)?;
            } else {
                self.base.read_at(chunk, pos)?;
            }
            pos = run_end;
        }
        Ok(())
    }

    fn write_at(&mut self, buf: &[u8], offset: u64) -> io::Result<()> {
        let end = self.end_of(offset, buf.len())?;
        if buf.is_empty() {
            return Ok(());
        }
        let first = offset / BLOCK;
        let last = (end - 1) / BLOCK;
        // Partly covered blocks at either end keep the rest of their old contents (the
        // disk's last block counts as covered up to the disk's end).
        if !offset.is_multiple_of(BLOCK) {
            self.copy_up(first)?;
        }
        if !end.is_multiple_of(BLOCK) && end != self.size {
            self.copy_up(last)?;
        }
        self.file.write_all_at(buf, offset)?;
        self.present.insert_range(first..last + 1);
        Ok(())
    }

    /// Nothing to make durable: the overlay is thrown away.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::virtio::disk::MemDisk;
    use proptest::prelude::*;

    #[test]
    fn writes_stay_in_the_overlay() {
        let data: Vec<u8> = (0..3 * BLOCK + 100).map(|i| i as u8).collect();
        let mut o = Overlay::new(Box::new(MemDisk { data: data.clone() })).unwrap();
        o.write_at(&[0xaa; 10], 4090).unwrap();
        o.write_at(&[0xbb; 50], 3 * BLOCK + 50).unwrap();
        let mut all = vec![0u8; data.len()];
        o.read_at(&mut all, 0).unwrap();
        let mut want = data.clone();
        want[4090..4100].fill(0xaa);
        want[(3 * BLOCK + 50) as usize..].fill(0xbb);
        assert_eq!(all, want);
        let mut part = [0u8; 20];
        o.read_at(&mut part, 4085).unwrap();
        assert_eq!(&part[..], &want[4085..4105]);
        assert_eq!(o.present().runs().collect::<Vec<_>>(), vec![0..2, 3..4]);
    }

    #[test]
    fn ranges_past_the_end_are_errors_not_panics() {
        let mut o = Overlay::new(Box::new(MemDisk {
            data: vec![0; 8192],
        }))
        .unwrap();
        assert!(o.write_at(&[1; 512], 8000).is_err());
        assert!(o.read_at(&mut [0; 512], u64::MAX - 10).is_err());
        assert!(o.present().is_empty());
    }

    #[test]
    fn block_sets_insert_and_run() {
        let mut s = BlockSet::new(20_000);
        assert_eq!(s.runs().count(), 0);
        s.insert_range(5..6);
        s.insert_range(60..70);
        s.insert_range(4090..4200); // across a leaf boundary
        s.insert_range(19_990..30_000); // clipped at the bound
        s.insert_range(62..64); // already there
        assert_eq!(
            s.runs().collect::<Vec<_>>(),
            vec![5..6, 60..70, 4090..4200, 19_990..20_000]
        );
        assert_eq!(s.len(), 1 + 10 + 110 + 10);
        assert!(s.contains(4095) && s.contains(4096) && !s.contains(4200));
        assert_eq!(s.next_member(7), Some(60));
        assert_eq!(s.next_non_member(4090), 4200);
        assert_eq!(s.next_non_member(19_995), 20_000);
        assert_eq!(s.next_member(20_000), None);
        let mut t = BlockSet::new(100);
        t.union_with(&s);
        assert_eq!(t.runs().collect::<Vec<_>>(), vec![5..6, 60..70]);
        s.clear();
        assert!(s.is_empty() && s.heap_bytes() == 0);
    }

    #[test]
    fn a_large_disk_costs_memory_only_where_it_was_written() {
        // 64 GiB in 4 KiB blocks.
        let mut s = BlockSet::new((64 << 30) / BLOCK);
        assert_eq!(s.heap_bytes(), 0);
        for i in 0..1000u64 {
            s.insert_range(i * 16_000..i * 16_000 + 8);
        }
        assert!(s.heap_bytes() < 1 << 20, "{} bytes", s.heap_bytes());
        // Every block written: 2 MiB of bitmap (plus the tree).
        s.insert_range(0..s.bound());
        assert_eq!(s.len(), s.bound());
        assert!(s.heap_bytes() <= 3 << 20, "{} bytes", s.heap_bytes());
        assert_eq!(s.runs().collect::<Vec<_>>(), vec![0..s.bound()]);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

        /// A block set against a vector of booleans.
        #[test]
        fn block_sets_match_a_vector_of_flags(
            bound in 1u64..20_000,
            ranges in prop::collection::vec((0u64..20_000, 0u64..5000), 0..20),
        ) {
            let mut s = BlockSet::new(bound);
            let mut model = vec![false; bound as usize];
            for (start, len) in ranges {
                s.insert_range(start..start + len);
                for b in start..(start + len).min(bound) {
                    model[b as usize] = true;
                }
            }
            let mut runs = Vec::new();
            let mut b = 0;
            while b < bound {
                if model[b as usize] {
                    let start = b;
                    while b < bound && model[b as usize] {
                        b += 1;
                    }
                    runs.push(start..b);
                } else {
                    b += 1;
                }
            }
            prop_assert_eq!(s.runs().collect::<Vec<_>>(), runs);
            prop_assert_eq!(s.len(), model.iter().filter(|&&f| f).count() as u64);
        }

        /// Random writes and reads through an overlay give what a plain in-memory disk
        /// gives, and never change the image underneath.
        #[test]
        fn an_overlay_reads_like_a_plain_disk(
            // Not a whole number of blocks: the last block is partial.
            sectors in 1u64..200,
            ops in prop::collection::vec((any::<bool>(), 0u64..200, 1u64..40, any::<u8>()), 1..40),
        ) {
            let size = sectors * 512;
            let image: Vec<u8> = (0..size).map(|i| (i * 7 + i / 512) as u8).collect();
            let mut o = Overlay::new(Box::new(MemDisk { data: image.clone() })).unwrap();
            let mut model = MemDisk { data: image.clone() };
            for (write, sector, len, fill) in ops {
                let sector = sector % sectors;
                let len = len.min(sectors - sector) * 512;
                let offset = sector * 512;
                if write {
                    let data: Vec<u8> = (0..len).map(|i| fill ^ i as u8).collect();
                    o.write_at(&data, offset).unwrap();
                    model.write_at(&data, offset).unwrap();
                } else {
                    let mut a = vec![0; len as usize];
                    let mut b = vec![0; len as usize];
                    o.read_at(&mut a, offset).unwrap();
                    model.read_at(&mut b, offset).unwrap();
                    prop_assert_eq!(a, b);
                }
            }
            let mut all = vec![0; size as usize];
            o.read_at(&mut all, 0).unwrap();
            prop_assert_eq!(&all, &model.data);
            let mut under = vec![0; size as usize];
            o.base.read_at(&mut under, 0).unwrap();
            prop_assert_eq!(under, image);
        }
    }
}
