//! Guest RAM in snapshot files, the same for both kinds of VM: reading it page by
//! page while writing a snapshot, and filling a fresh RAM from one on restore.
//!
//! A restore reads nothing but compressed pages up front: the pages a snapshot stores
//! uncompressed are read from the file (and checked against their checksums) when the
//! guest, a device or a later snapshot first touches them (`tern_hart::mem::lazy`).
//! So restoring takes well under a millisecond whatever the size of memory, and the
//! restored VM does not depend on the file staying as it was: a page once read is the
//! VM's own, and a page that can no longer be read as it was written (the file was
//! truncated or rewritten in place) stops the VM with an error naming the page and
//! the file.

use std::io;
use std::sync::{mpsc, Arc};

use tern_hart::mem::lazy::{LostHandler, StoredPages};
use tern_hart::GuestRam;
use tern_snapshot::{LazyMemory, PageSource, PopulateOptions, Snapshot, PAGE_SIZE};

/// Said after the error when restored memory can no longer be read.
pub const LOST_HINT: &str = " (a snapshot file must not be truncated or rewritten in place while a VM restored from it runs)";

/// Guest RAM as a page source for the snapshot writer.
pub struct RamPages<'a>(pub &'a GuestRam);

impl PageSource for RamPages<'_> {
    fn read_page(&self, index: u64, buf: &mut [u8]) -> io::Result<()> {
        let addr = self.0.base() + index * PAGE_SIZE;
        self.0
            .read(addr, buf)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))
    }
}

/// Who reads the pages of a lazily restored RAM from the snapshot files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageReader {
    /// Whichever thread touches a page reads it (the files are open in the process's
    /// descriptor table: a system VM).
    Direct,
    /// A thread started now, which shares the caller's descriptor table, reads them
    /// for everyone: a process VM opens snapshots in a private descriptor table
    /// (`tern_linux::hostfd`), whose descriptor numbers mean other files, or nothing,
    /// to the guest's threads.
    Thread,
}

/// Fills `ram` (fresh, zero, no hart running) from memory section `name` of
/// `snapshot`: compressed pages are decompressed into place now, pages stored
/// uncompressed are read when first touched (by `reader`). If one of them cannot be
/// read, `on_lost` is called once with the error and must stop the VM. Restored pages
/// count as clean, so the next incremental snapshot stores only new writes.
pub fn fill_ram(
    snapshot: &Arc<Snapshot>,
    name: &str,
    ram: &GuestRam,
    size: u64,
    reader: PageReader,
    on_lost: LostHandler,
) -> anyhow::Result<()> {
    let lazy = LazyMemory::new(snapshot.clone(), name)?;
    let view = lazy.view()?;
    let region = view.region();
    if region.base != ram.base() || region.size != size || size > ram.size() {
        anyhow::bail!(
            "snapshot memory `{name}` is {:#x}+{:#x}, the VM's {:#x}+{:#x}",
            region.base,
            region.size,
            ram.base(),
            size
        );
    }
    if view.page_counts().compressed > 0 {
        let opts = PopulateOptions {
            dest_is_zeroed: true,
            mapped_min_pages: Some(1),
            threads: 0,
        };
        // SAFETY: the VM has not started: no hart runs and no device touches guest
        // RAM while the snapshot's compressed pages are decompressed into it.
        let dest = unsafe { ram.restore_slice() };
        view.populate_with(&mut dest[..size as usize], &opts)?;
    }
    let runs = view.stored_runs();
    drop(view);
    let source: Box<dyn StoredPages> = match reader {
        PageReader::Direct => Box::new(SnapshotPages(lazy)),
        PageReader::Thread => Box::new(ServedPages::start(lazy)?),
    };
    ram.restore_lazily(&runs, source, on_lost)?;
    ram.take_dirty();
    Ok(())
}

/// Pages read straight from the snapshot by the thread that touches them.
struct SnapshotPages(LazyMemory);

impl StoredPages for SnapshotPages {
    fn read(&self, first_page: u64, buf: &mut [u8]) -> Result<(), String> {
        self.0
            .read_stored(first_page, buf)
            .map_err(|e| e.to_string())
    }
}

/// A request to the reader thread: pages from `first` into `buf`, answered on `reply`
/// with the buffer filled.
struct Request {
    first: u64,
    buf: Vec<u8>,
    reply: mpsc::SyncSender<(Vec<u8>, Result<(), String>)>,
}

/// Pages read by a thread of their own (see [`PageReader::Thread`]), which ends when
/// the RAM is dropped.
struct ServedPages {
    requests: mpsc::Sender<Request>,
}

impl ServedPages {
    fn start(lazy: LazyMemory) -> anyhow::Result<ServedPages> {
        let (requests, incoming) = mpsc::channel::<Request>();
        std::thread::Builder::new()
            .name("tern-snapshot-pages".into())
            .spawn(move || {
                for mut req in incoming {
                    let r = lazy
                        .read_stored(req.first, &mut req.buf)
                        .map_err(|e| e.to_string());
                    let _ = req.reply.send((req.buf, r));
                }
            })
            .map_err(|e| anyhow::anyhow!("cannot start the snapshot page reader: {e}"))?;
        Ok(ServedPages { requests })
    }
}

impl StoredPages for ServedPages {
    fn read(&self, first_page: u64, buf: &mut [u8]) -> Result<(), String> {
        let gone = || "the snapshot page reader thread is gone".to_string();
        let (reply, answer) = mpsc::sync_channel(1);
        let req = Request {
            first: first_page,
            buf: vec![0; buf.len()],
            reply,
        };
        self.requests.send(req).map_err(|_| gone())?;
        let (data, result) = answer.recv().map_err(|_| gone())?;
        result?;
        buf.copy_from_slice(&data);
        Ok(())
    }
}
