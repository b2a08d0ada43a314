//! virtio-blk (virtio 1.2 §5.2), device type 2, one request queue.
//!
//! A request is a chain: a 16-byte device-readable header (`type`, reserved,
//! `sector`), data (device-readable for writes, device-writable for reads and get-id),
//! and one device-writable status byte at the very end. Requests are processed
//! synchronously when the driver notifies the queue.
//!
//! Supported: `IN` (read), `OUT` (write), `FLUSH`, `GET_ID` (20-byte serial). Offered
//! features: `SEG_MAX`, `BLK_SIZE` (512), `FLUSH`, and `RO` for read-only disks (writes
//! then fail with `IOERR`, §5.2.6.1). Errors reported to the guest, never to the host:
//! sectors beyond the disk, data lengths that are not whole sectors, and image I/O
//! failures give `VIRTIO_BLK_S_IOERR`; unknown request types `VIRTIO_BLK_S_UNSUPP`; a
//! chain whose header cannot be read gets `IOERR` if it has a status byte, and is
//! returned with length 0 otherwise (a chain with buffers outside RAM included).
//! Data moves through a bounded host buffer, whatever lengths the guest claims.
//!
//! The disk sits behind a [`DiskHandle`]: the device serves requests through it, and
//! it records which blocks the guest wrote ([`super::disk::TrackedDisk`]), which is
//! what a snapshot with `--include-disks` stores. The VMM holds the other end of the
//! handle and reads those blocks while the VM is paused.

use std::io::{self, Read, Write};

use serde::{Deserialize, Serialize};

use super::disk::{BlockBackend, DiskError, DiskHandle, DiskOptions, TrackedDisk};
use super::{Chain, GuestMem, Queues, VirtioDevice, ID_BLOCK};
use tern_state::{Decoder, Encoder, Persist, StateError, Versioned};

/// Sector size of the virtio-blk protocol.
pub const SECTOR: u64 = 512;
/// Queue size offered.
pub const QUEUE_SIZE: u16 = 256;
/// Largest chunk of data copied at once.
const CHUNK: usize = 256 * 1024;

/// `VIRTIO_BLK_F_SEG_MAX`.
pub const F_SEG_MAX: u64 = 1 << 2;
/// `VIRTIO_BLK_F_RO`.
pub const F_RO: u64 = 1 << 5;
/// `VIRTIO_BLK_F_BLK_SIZE`.
pub const F_BLK_SIZE: u64 = 1 << 6;
/// `VIRTIO_BLK_F_FLUSH`.
pub const F_FLUSH: u64 = 1 << 9;

/// Request types (§5.2.6).
pub mod req {
    /// Read.
    pub const IN: u32 = 0;
    /// Write.
    pub const OUT: u32 = 1;
    /// Flush.
    pub const FLUSH: u32 = 4;
    /// Get the device id string.
    pub const GET_ID: u32 = 8;
}

/// Status values (§5.2.6).
pub mod status {
    /// Success.
    pub const OK: u8 = 0;
    /// Device or driver error.
    pub const IOERR: u8 = 1;
    /// Request unsupported.
    pub const UNSUPP: u8 = 2;
}

/// Length of the id string returned by `GET_ID`.
pub const ID_LEN: usize = 20;

/// Saved virtio-blk state: nothing is in flight between requests, so only the disk
/// size, checked on restore. The disk's contents are the disk's business: the image
/// file, and for the blocks the guest wrote, the snapshot's disk overlay (which the VMM
/// writes from the [`DiskHandle`]'s written-block sets).
///
/// Encoded (version 1) as a base holding the capacity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlkState {
    /// Capacity in sectors.
    pub capacity: u64,
}

impl Versioned for BlkState {
    const KIND: &'static str = "virtio-blk";
    const VERSION: u32 = 1;

    fn encode(&self, out: &mut Encoder) {
        out.base(self);
    }

    fn decode(input: &mut Decoder<'_>) -> Result<Self, StateError> {
        input.base()
    }
}

impl Persist for Blk {
    type State = BlkState;

    fn save(&self) -> Result<BlkState, StateError> {
        Ok(BlkState {
            capacity: self.capacity(),
        })
    }

    /// Checks that the disk has the saved size (its contents are the VMM's business).
    fn restore(&mut self, state: &BlkState) -> Result<(), StateError> {
        if state.capacity != self.capacity() {
            return Err(StateError::mismatch(format!(
                "the saved disk has {} sectors, this one {}",
                state.capacity,
                self.capacity()
            )));
        }
        Ok(())
    }
}

/// A virtio block device.
pub struct Blk {
    disk: DiskHandle,
    /// The disk's size (fixed while the device exists).
    size: u64,
    read_only: bool,
    id: [u8; ID_LEN],
    queue_sizes: [u16; 1],
}

impl Blk {
    /// A device over `backend`; `id` (at most 20 bytes used) is what `GET_ID` returns
    /// (Linux shows it as the disk's serial).
    pub fn new(backend: Box<dyn BlockBackend>, read_only: bool, id: &str) -> Blk {
        Blk::with_disk(
            DiskHandle::new(TrackedDisk::new(backend, false)),
            read_only,
            id,
        )
    }

    /// A device over a shared disk (whose other end the VMM keeps for snapshots).
    pub fn with_disk(disk: DiskHandle, read_only: bool, id: &str) -> Blk {
        let mut idb = [0u8; ID_LEN];
        let n = id.len().min(ID_LEN);
        idb[..n].copy_from_slice(&id.as_bytes()[..n]);
        let size = disk.lock().size();
        Blk {
            disk,
            size,
            read_only,
            id: idb,
            queue_sizes: [QUEUE_SIZE],
        }
    }

    /// Opens the image described by `opts`.
    pub fn open(opts: &DiskOptions, id: &str) -> Result<Blk, DiskError> {
        Ok(Blk::with_disk(DiskHandle::open(opts)?, opts.read_only, id))
    }

    /// The disk, shared: its written blocks are what `--include-disks` stores.
    pub fn disk(&self) -> DiskHandle {
        self.disk.clone()
    }

    /// Capacity in 512-byte sectors.
    pub fn capacity(&self) -> u64 {
        self.size / SECTOR
    }

    /// Flushes the image (the board calls this before a snapshot or on exit).
    pub fn flush(&mut self) -> io::Result<()> {
        self.disk.lock().flush()
    }

    /// Byte range of a request at `sector` of `len` bytes, if whole sectors inside
    /// the disk.
    fn range(&self, sector: u64, len: usize) -> Option<u64> {
        let len = len as u64;
        if !len.is_multiple_of(SECTOR) {
            return None;
        }
        let start = sector.checked_mul(SECTOR)?;
        let end = start.checked_add(len)?;
        (end <= self.capacity() * SECTOR).then_some(start)
    }

    /// Runs one request; returns the number of bytes written into the chain.
    fn request(&mut self, chain: Chain<'_>, mem: &GuestMem) -> u32 {
        let Ok(mut writer) = chain.clone().writer(mem) else {
            return 0;
        };
        let avail = writer.available_bytes();
        if avail == 0 {
            return 0;
        }
        let Ok(mut status_w) = writer.split_at(avail - 1) else {
            return 0;
        };
        let header = chain.reader(mem).ok().and_then(|mut r| {
            let mut h = [0u8; 16];
            r.read_exact(&mut h).ok()?;
            Some((h, r))
        });
        let (status, written) = match header {
            None => (status::IOERR, 0),
            Some((h, mut reader)) => {
                let kind = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
                let sector =
                    u64::from_le_bytes([h[8], h[9], h[10], h[11], h[12], h[13], h[14], h[15]]);
                match kind {
                    req::IN => self.read(sector, &mut writer),
                    req::OUT => (self.write(sector, &mut reader), 0),
                    req::FLUSH => match self.disk.lock().flush() {
                        Ok(()) => (status::OK, 0),
                        Err(_) => (status::IOERR, 0),
                    },
                    req::GET_ID => {
                        let n = writer.available_bytes().min(ID_LEN);
                        match writer.write_all(&self.id[..n]) {
                            Ok(()) => (status::OK, n),
                            Err(_) => (status::IOERR, 0),
                        }
                    }
                    _ => (status::UNSUPP, 0),
                }
            }
        };
        if status_w.write_all(&[status]).is_err() {
            return written as u32;
        }
        written as u32 + 1
    }

    /// `IN`: disk to guest.
    fn read(
        &mut self,
        sector: u64,
        writer: &mut virtio_queue::Writer<'_, super::memory::RamDirty>,
    ) -> (u8, usize) {
        let len = writer.available_bytes();
        let Some(mut offset) = self.range(sector, len) else {
            return (status::IOERR, 0);
        };
        let mut buf = vec![0u8; len.min(CHUNK)];
        let mut disk = self.disk.lock();
        let mut done = 0;
        while done < len {
            let n = (len - done).min(CHUNK);
            if disk.read_at(&mut buf[..n], offset).is_err() || writer.write_all(&buf[..n]).is_err()
            {
                return (status::IOERR, done);
            }
            done += n;
            offset += n as u64;
        }
        (status::OK, done)
    }

    /// `OUT`: guest to disk.
    fn write(
        &mut self,
        sector: u64,
        reader: &mut virtio_queue::Reader<'_, super::memory::RamDirty>,
    ) -> u8 {
        if self.read_only {
            return status::IOERR;
        }
        let len = reader.available_bytes();
        let Some(mut offset) = self.range(sector, len) else {
            return status::IOERR;
        };
        let mut buf = vec![0u8; len.min(CHUNK)];
        let mut disk = self.disk.lock();
        let mut done = 0;
        while done < len {
            let n = (len - done).min(CHUNK);
            if reader.read_exact(&mut buf[..n]).is_err()
                || disk.write_at(&buf[..n], offset).is_err()
            {
                return status::IOERR;
            }
            done += n;
            offset += n as u64;
        }
        status::OK
    }
}

impl VirtioDevice for Blk {
    fn device_type(&self) -> u32 {
        ID_BLOCK
    }

    fn name(&self) -> &'static str {
        "virtio-blk"
    }

    fn features(&self) -> u64 {
        let ro = if self.read_only { F_RO } else { 0 };
        F_SEG_MAX | F_BLK_SIZE | F_FLUSH | ro
    }

    fn queue_max_sizes(&self) -> &[u16] {
        &self.queue_sizes
    }

    /// `struct virtio_blk_config` (§5.2.4) up to `blk_size`, then zeros.
    fn config(&self) -> Vec<u8> {
        let mut c = vec![0u8; 60];
        c[0..8].copy_from_slice(&self.capacity().to_le_bytes());
        c[12..16].copy_from_slice(&u32::from(QUEUE_SIZE - 2).to_le_bytes());
        c[20..24].copy_from_slice(&(SECTOR as u32).to_le_bytes());
        c
    }

    fn notify(&mut self, queue: usize, queues: &mut Queues<'_>) {
        if queue != 0 {
            return;
        }
        let mem = queues.mem();
        // At most one ring's worth per notification, even if another hart keeps adding.
        for _ in 0..QUEUE_SIZE {
            let Some(chain) = queues.pop(0) else {
                break;
            };
            let head = chain.head_index();
            let len = self.request(chain, mem);
            queues.add_used(0, head, len);
        }
    }
}
