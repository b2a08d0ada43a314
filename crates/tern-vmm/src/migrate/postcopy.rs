//! Post-copy: the VM runs on the destination before all its memory has arrived.
//!
//! At the switch-over the source sends a bitmap of the pages the destination still
//! needs (those not sent yet, or dirtied since they were). The destination marks them
//! *pending* with the same mechanism a lazy restore from a snapshot uses
//! (`tern_hart::mem::lazy`): every path into guest RAM — a hart before it caches a
//! page's host address, a device, a snapshot — reads a pending page before it touches
//! it, here from the network: from the pages the background stream already brought,
//! or by asking the source on a second connection (`page-request`) and waiting for
//! the answer. Meanwhile the source streams every pending page in order on the main
//! connection; the destination puts each into RAM as it arrives. When the source has
//! sent them all (`postcopy-done`) and none is pending, the destination says
//! `finished` and the source ends.
//!
//! If the source or the link dies before that, pages the guest has not touched are
//! nowhere: the destination's RAM is lost, its VM stops with an error naming a
//! missing page, and the source stays paused with the VM as it was at the
//! switch-over (see `source`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tern_hart::mem::lazy::StoredPages;
use tern_hart::GuestRam;
use tern_migrate::message::{MAX_BATCH_PAGES, PAGE_SIZE};
use tern_migrate::{Conn, Message, PageData, WireError};

use super::source::{failure, SourceFailure};

/// The bitmap of `pages` pages with the pages at `dirty` (guest physical addresses of
/// a RAM at `base`... given as indexes here) set.
pub fn pending_bitmap(pages: u64, dirty_addrs: &[u64]) -> Vec<u8> {
    let mut bits = vec![0u8; pages.div_ceil(8) as usize];
    let base = tern_machine::virt::memmap::DRAM_BASE;
    for &a in dirty_addrs {
        let p = (a - base) / PAGE_SIZE as u64;
        if p < pages {
            bits[(p / 8) as usize] |= 1 << (p % 8);
        }
    }
    bits
}

/// Whether page `p` is set in `bits`.
pub fn is_set(bits: &[u8], p: u64) -> bool {
    bits.get((p / 8) as usize)
        .is_some_and(|b| b & (1 << (p % 8)) != 0)
}

/// The runs (first page, pages) of the pages set in `bits`, below `pages`.
pub fn runs(bits: &[u8], pages: u64) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    let mut p = 0;
    while p < pages {
        if is_set(bits, p) {
            let start = p;
            while p < pages && is_set(bits, p) {
                p += 1;
            }
            out.push((start, p - start));
        } else {
            p += 1;
        }
    }
    out
}

/// Reads page `index` of `ram` as page data.
fn page_of(ram: &GuestRam, index: u64) -> Result<PageData, String> {
    let mut buf = vec![0u8; PAGE_SIZE];
    let addr = ram.base() + index * PAGE_SIZE as u64;
    ram.read(addr, &mut buf)
        .map_err(|e| format!("guest RAM page {addr:#x}: {e}"))?;
    Ok(if super::pages::is_zero(&buf) {
        PageData::Zero
    } else {
        PageData::Bytes(buf)
    })
}

/// Source side: streams every page of `pending` on `main` while answering the
/// destination's requests on `fault`, until the destination has them all.
/// `progress(pages, bytes)` reports what the stream sent.
pub(super) fn serve(
    ram: &GuestRam,
    pending: &[u8],
    mut main: Conn,
    mut fault: Conn,
    progress: impl Fn(u64, u64),
) -> Result<(), SourceFailure> {
    let pages = ram.size() / PAGE_SIZE as u64;
    let cut = fault.socket();
    std::thread::scope(|scope| {
        let answers = scope.spawn(move || -> Result<(), WireError> {
            loop {
                let (first, count) = match fault.recv() {
                    Ok(Message::PageRequest { first, count }) => (first, count),
                    Ok(other) => {
                        return Err(WireError::Protocol(format!(
                            "a `{}` among page requests",
                            other.name()
                        )))
                    }
                    Err(e) => return Err(e),
                };
                let end = first.checked_add(u64::from(count)).filter(|&e| e <= pages);
                let Some(end) = end else {
                    fault.send_error("page request outside guest RAM");
                    return Err(WireError::Protocol(format!(
                        "page request {first:#x}+{count} outside guest RAM"
                    )));
                };
                let mut batch = Vec::with_capacity(count as usize);
                for p in first..end {
                    batch.push((p, page_of(ram, p).map_err(WireError::Protocol)?));
                }
                fault.send_now(&Message::Pages(batch))?;
            }
        });
        let streamed = (|| -> Result<(), SourceFailure> {
            let mut batch = Vec::with_capacity(MAX_BATCH_PAGES);
            let mut sent = 0u64;
            for p in 0..pages {
                if !is_set(pending, p) {
                    continue;
                }
                batch.push((p, page_of(ram, p).map_err(failure)?));
                sent += 1;
                if batch.len() == MAX_BATCH_PAGES {
                    main.send(&Message::Pages(std::mem::take(&mut batch)))
                        .map_err(|e| failure(e.to_string()))?;
                    progress(sent, main.bytes_sent);
                }
            }
            if !batch.is_empty() {
                main.send(&Message::Pages(batch))
                    .map_err(|e| failure(e.to_string()))?;
            }
            main.send_now(&Message::PostcopyDone)
                .map_err(|e| failure(e.to_string()))?;
            progress(sent, main.bytes_sent);
            match main.recv() {
                Ok(Message::Finished) => Ok(()),
                Ok(other) => Err(failure(format!(
                    "post-copy: the destination answered `{}` instead of `finished`",
                    other.name()
                ))),
                Err(e) => Err(failure(format!("post-copy: {e}"))),
            }
        })();
        // The destination has everything (or the stream failed): end the answers.
        if let Some(s) = &cut {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
        let _ = answers.join();
        streamed
    })
}

/// Destination side: what the pending pages are read from.
pub struct NetworkPages {
    shared: Arc<Shared>,
}

struct Shared {
    /// Pages still owed by the source (cleared when handed to RAM).
    needed: Mutex<Vec<u8>>,
    /// Pages the background stream brought, waiting to be put into RAM.
    staged: Mutex<HashMap<u64, PageData>>,
    /// The request connection.
    fault: Mutex<Conn>,
    /// Set when the source is gone: every later read fails with it.
    failed: Mutex<Option<String>>,
    pages: u64,
}

impl NetworkPages {
    /// Pages `pending` (a bitmap over `pages` pages), fetched through `fault`.
    pub fn new(pending: Vec<u8>, pages: u64, fault: Conn) -> NetworkPages {
        NetworkPages {
            shared: Arc::new(Shared {
                needed: Mutex::new(pending),
                staged: Mutex::new(HashMap::new()),
                fault: Mutex::new(fault),
                failed: Mutex::new(None),
                pages,
            }),
        }
    }

    /// A handle for the background stream.
    pub fn stream_handle(&self) -> NetworkPages {
        NetworkPages {
            shared: self.shared.clone(),
        }
    }

    /// Background stream: puts the pages of a `pages` message into `ram`.
    pub fn arrived(&self, ram: &GuestRam, batch: Vec<(u64, PageData)>) -> Result<(), String> {
        let mut indexes = Vec::with_capacity(batch.len());
        {
            let needed = lock(&self.shared.needed);
            let mut staged = lock(&self.shared.staged);
            for (p, data) in batch {
                if p >= self.shared.pages {
                    return Err(format!("post-copy: page {p:#x} is outside guest RAM"));
                }
                if is_set(&needed, p) {
                    staged.insert(p, data);
                    indexes.push(p);
                }
            }
        }
        for p in indexes {
            // Reads the page (from `staged`) if it is still pending.
            let r = ram.prepare(ram.base() + p * PAGE_SIZE as u64, PAGE_SIZE as u64);
            lock(&self.shared.staged).remove(&p);
            r.map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// Marks the source gone: the pages still pending can never be read.
    pub fn fail(&self, why: &str) {
        lock(&self.shared.failed).get_or_insert_with(|| why.to_string());
        self.shared
            .fault
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .shutdown();
    }

    /// Page `p` is owed no more.
    pub fn settle(&self, p: u64) {
        if let Some(b) = lock(&self.shared.needed).get_mut((p / 8) as usize) {
            *b &= !(1 << (p % 8));
        }
    }

    /// The first page still owed, if any.
    pub fn first_needed(&self) -> Option<u64> {
        let needed = lock(&self.shared.needed);
        (0..self.shared.pages).find(|&p| is_set(&needed, p))
    }

    fn fetch(
        &self,
        first: u64,
        count: u64,
        out: &mut HashMap<u64, PageData>,
    ) -> Result<(), String> {
        let mut fault = lock(&self.shared.fault);
        fault
            .send_now(&Message::PageRequest {
                first,
                count: count as u32,
            })
            .map_err(|e| e.to_string())?;
        match fault.recv().map_err(|e| e.to_string())? {
            Message::Pages(batch) => {
                for (p, data) in batch {
                    if p < first || p >= first + count {
                        return Err(format!("post-copy: page {p:#x} was not asked for"));
                    }
                    out.insert(p, data);
                }
                Ok(())
            }
            other => Err(format!(
                "post-copy: the source answered a page request with `{}`",
                other.name()
            )),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl StoredPages for NetworkPages {
    fn read(&self, first_page: u64, buf: &mut [u8]) -> Result<(), String> {
        if let Some(e) = lock(&self.shared.failed).clone() {
            return Err(format!("the migration source is gone: {e}"));
        }
        let n = (buf.len() / PAGE_SIZE) as u64;
        let mut got: HashMap<u64, PageData> = HashMap::new();
        let mut missing = Vec::new();
        {
            let needed = lock(&self.shared.needed);
            let mut staged = lock(&self.shared.staged);
            for p in first_page..first_page + n {
                if !is_set(&needed, p) {
                    continue;
                }
                match staged.remove(&p) {
                    Some(d) => {
                        got.insert(p, d);
                    }
                    None => missing.push(p),
                }
            }
        }
        // Ask for the missing pages, a run at a time.
        let mut i = 0;
        while i < missing.len() {
            let start = missing[i];
            let mut j = i + 1;
            while j < missing.len() && missing[j] == missing[j - 1] + 1 && j - i < MAX_BATCH_PAGES {
                j += 1;
            }
            if let Err(e) = self.fetch(start, (j - i) as u64, &mut got) {
                self.fail(&e);
                return Err(format!("the migration source is gone: {e}"));
            }
            i = j;
        }
        let mut needed = lock(&self.shared.needed);
        for (k, page) in buf.chunks_mut(PAGE_SIZE).enumerate() {
            let p = first_page + k as u64;
            match got.remove(&p) {
                Some(PageData::Bytes(b)) => page.copy_from_slice(&b),
                Some(PageData::Zero) | None => page.fill(0),
            }
            if let Some(b) = needed.get_mut((p / 8) as usize) {
                *b &= !(1 << (p % 8));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitmaps_and_runs() {
        let base = tern_machine::virt::memmap::DRAM_BASE;
        let bits = pending_bitmap(20, &[base, base + 4096, base + 5 * 4096, base + 19 * 4096]);
        assert_eq!(runs(&bits, 20), vec![(0, 2), (5, 1), (19, 1)]);
        assert!(is_set(&bits, 19) && !is_set(&bits, 18) && !is_set(&bits, 1000));
    }
}
