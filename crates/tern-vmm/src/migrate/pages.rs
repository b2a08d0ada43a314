//! Sending guest pages and disk blocks in batches, with a bandwidth cap and the
//! measurements pre-copy decides with.

use std::io;
use std::time::{Duration, Instant};

use tern_devices::virtio::disk::{BlockBackend, BlockSet, DiskHandle};
use tern_hart::GuestRam;
use tern_migrate::message::{MAX_BATCH_PAGES, MAX_BLOCK_BYTES, PAGE_SIZE};
use tern_migrate::{Conn, Message, PageData, WireError};

/// Whether a buffer holds only zero bytes.
pub fn is_zero(buf: &[u8]) -> bool {
    // OR-folding fixed chunks vectorizes; the early exit per chunk keeps a page
    // that starts with data cheap.
    let mut chunks = buf.chunks_exact(64);
    for c in &mut chunks {
        if c.iter().fold(0u8, |a, &b| a | b) != 0 {
            return false;
        }
    }
    chunks.remainder().iter().all(|&b| b == 0)
}

/// What went wrong while sending: the stream, or reading what to send.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The stream failed.
    #[error(transparent)]
    Wire(#[from] WireError),
    /// Guest RAM or a disk could not be read.
    #[error("{0}")]
    Read(String),
}

/// Sends pages and blocks on one connection, counting bytes and the time spent, and
/// holding the rate under a cap.
pub struct Sender<'a> {
    /// The connection.
    pub conn: &'a mut Conn,
    batch: Vec<(u64, PageData)>,
    /// Pages sent so far.
    pub pages_sent: u64,
    /// Time spent sending (writing to the connection, waiting for it).
    pub busy: Duration,
    cap: Option<u64>,
    started: Instant,
}

impl<'a> Sender<'a> {
    /// A sender on `conn`, at most `cap` bytes per second if given.
    pub fn new(conn: &'a mut Conn, cap: Option<u64>) -> Sender<'a> {
        Sender {
            conn,
            batch: Vec::with_capacity(MAX_BATCH_PAGES),
            pages_sent: 0,
            busy: Duration::ZERO,
            cap,
            started: Instant::now(),
        }
    }

    /// Sends `m` (queued; see [`Conn::send`]) after the pages batched so far.
    pub fn send(&mut self, m: &Message) -> Result<(), WireError> {
        self.flush_pages()?;
        self.send_raw(m)
    }

    fn send_raw(&mut self, m: &Message) -> Result<(), WireError> {
        let t = Instant::now();
        let r = self.conn.send(m);
        self.busy += t.elapsed();
        self.limit();
        r
    }

    /// Sends everything queued.
    pub fn flush(&mut self) -> Result<(), WireError> {
        self.flush_pages()?;
        let t = Instant::now();
        let r = self.conn.flush();
        self.busy += t.elapsed();
        r
    }

    /// The bandwidth to expect, in bytes per second: what the link carried while
    /// sending, but never more than the cap (the time slept under it is not sending
    /// time, and the rest of the move runs under the same cap).
    pub fn bandwidth(&self) -> f64 {
        let measured = self.conn.bytes_sent as f64 / self.busy.as_secs_f64().max(1e-6);
        match self.cap {
            Some(cap) => measured.min(cap as f64),
            None => measured,
        }
    }

    /// Bandwidth cap: sleeps while more was sent than the cap allows so far.
    fn limit(&mut self) {
        let Some(cap) = self.cap else { return };
        let allowed = self.started.elapsed().as_secs_f64() * cap as f64;
        let sent = self.conn.bytes_sent as f64;
        if sent > allowed {
            std::thread::sleep(Duration::from_secs_f64((sent - allowed) / cap as f64));
        }
    }

    /// Adds page `index` of `ram` to the batch; with `skip_zero`, a page of zeros is
    /// not sent at all (the destination's RAM starts zero), otherwise as a zero page.
    pub fn page(
        &mut self,
        ram: &GuestRam,
        index: u64,
        skip_zero: bool,
        buf: &mut [u8; PAGE_SIZE],
    ) -> Result<(), SendError> {
        let addr = ram.base() + index * PAGE_SIZE as u64;
        ram.read(addr, buf)
            .map_err(|e| SendError::Read(format!("guest RAM page {addr:#x}: {e}")))?;
        let data = if is_zero(buf) {
            if skip_zero {
                return Ok(());
            }
            PageData::Zero
        } else {
            PageData::Bytes(buf.to_vec())
        };
        self.batch.push((index, data));
        self.pages_sent += 1;
        if self.batch.len() == MAX_BATCH_PAGES {
            self.flush_pages()?;
        }
        Ok(())
    }

    /// Sends the batch of pages.
    pub fn flush_pages(&mut self) -> Result<(), WireError> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.batch);
        let r = self.send_raw(&Message::Pages(batch));
        self.batch = Vec::with_capacity(MAX_BATCH_PAGES);
        r
    }

    /// Sends the blocks of `set` of drive `index`'s disk; with `skip_zero`, chunks of
    /// zeros are left out (the destination's copy starts zero). Returns the bytes of
    /// disk data read.
    pub fn blocks(
        &mut self,
        index: u32,
        disk: &DiskHandle,
        set: &BlockSet,
        skip_zero: bool,
    ) -> Result<u64, SendError> {
        let runs: Vec<std::ops::Range<u64>> = disk.lock().byte_runs(set).collect();
        let mut total = 0;
        let mut buf = Vec::new();
        for run in runs {
            let mut at = run.start;
            while at < run.end {
                let n = (run.end - at).min(MAX_BLOCK_BYTES as u64);
                buf.resize(n as usize, 0);
                disk.lock().read_at(&mut buf, at).map_err(|e: io::Error| {
                    SendError::Read(format!("disk {index}: byte {at}: {e}"))
                })?;
                total += n;
                if !(skip_zero && is_zero(&buf)) {
                    self.send(&Message::Blocks {
                        disk: index,
                        offset: at,
                        data: buf.clone(),
                    })?;
                }
                at += n;
            }
        }
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_buffers_are_recognised_at_any_alignment() {
        let mut b = [0u8; 100];
        for start in 0..9 {
            assert!(is_zero(&b[start..]));
        }
        b[97] = 1;
        for start in 0..9 {
            assert!(!is_zero(&b[start..]));
        }
        assert!(is_zero(&[]));
    }
}
