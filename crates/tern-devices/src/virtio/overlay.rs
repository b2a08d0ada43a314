//! A throw-away copy-on-write layer over a disk (`snapshot=on`).
//!
//! Written 4 KiB blocks live in an unlinked, sparse temporary file of the disk's size
//! (so host memory stays small: one bit per block), everything else is read from the
//! image underneath, which is opened read-only. The layer disappears with the device.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicU64, Ordering};

use super::disk::BlockBackend;

const BLOCK: u64 = 4096;

pub(crate) struct Overlay {
    base: Box<dyn BlockBackend>,
    file: File,
    /// One bit per block: the block's current contents are in `file`.
    present: Vec<u64>,
    size: u64,
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

impl Overlay {
    pub(crate) fn new(base: Box<dyn BlockBackend>) -> io::Result<Overlay> {
        let size = base.size();
        let file = temp_file()?;
        file.set_len(size)?;
        let blocks = size.div_ceil(BLOCK);
        Ok(Overlay {
            base,
            file,
            present: vec![0; blocks.div_ceil(64) as usize],
            size,
        })
    }

    fn is_present(&self, block: u64) -> bool {
        self.present[(block / 64) as usize] & (1 << (block % 64)) != 0
    }

    fn set_present(&mut self, block: u64) {
        self.present[(block / 64) as usize] |= 1 << (block % 64);
    }

    /// Copies a block that is only partly overwritten into the overlay first.
    fn copy_up(&mut self, block: u64) -> io::Result<()> {
        if self.is_present(block) {
            return Ok(());
        }
        let start = block * BLOCK;
        let len = BLOCK.min(self.size - start) as usize;
        let mut buf = vec![0u8; len];
        self.base.read_at(&mut buf, start)?;
        self.file.write_all_at(&buf, start)?;
        self.set_present(block);
        Ok(())
    }
}

impl BlockBackend for Overlay {
    fn size(&self) -> u64 {
        self.size
    }

    fn read_at(&mut self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let end = offset + buf.len() as u64;
        let mut pos = offset;
        while pos < end {
            // A run of blocks that all come from the same place.
            let block = pos / BLOCK;
            let here = self.is_present(block);
            let mut run_end = ((block + 1) * BLOCK).min(end);
            while run_end < end && self.is_present(run_end / BLOCK) == here {
                run_end = (run_end + BLOCK).min(end);
            }
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
        if buf.is_empty() {
            return Ok(());
        }
        let end = offset + buf.len() as u64;
        let first = offset / BLOCK;
        let last = (end - 1) / BLOCK;
        // Partly covered blocks at either end keep the rest of their old contents.
        if !offset.is_multiple_of(BLOCK)
            || (first == last && !end.is_multiple_of(BLOCK) && end != self.size)
        {
            self.copy_up(first)?;
        }
        if !end.is_multiple_of(BLOCK) && end != self.size {
            self.copy_up(last)?;
        }
        self.file.write_all_at(buf, offset)?;
        for block in first..=last {
            self.set_present(block);
        }
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
    }
}
