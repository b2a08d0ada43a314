//! Restoring guest RAM lazily: a page's content comes from the snapshot file when
//! something first touches it.
//!
//! A restore marks the pages the snapshot stores as *pending* instead of reading
//! them, so restoring takes the same time whatever the size of memory. The first
//! access to a pending page — by a hart (before its TLB gets the page's host
//! address), a device, a loader or the snapshot writer — reads the aligned group of
//! [`GROUP_PAGES`] pages around it from the source, which checks each page's checksum,
//! copies the pending ones into RAM and marks them present. Pages never go back to
//! pending, so a host address handed out once stays good.
//!
//! Reading (rather than mapping the file) is what makes the restored VM independent
//! of the file: a page once read does not change when the file does, and a file
//! that shrank or changed shows up as a clean error when a page is read, never as a
//! signal or as memory that silently changed. Such an error *loses* the RAM: the
//! access fails (a guest-visible fault, which nobody will see), every later access
//! to a pending page fails too, the harts stop at their next block boundary, and the
//! handler given at restore is called once to stop the VM with the error, which
//! names the page and the file.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use crate::mem::bitmap::PageBitmap;
use crate::mem::ram::{PAGE_SHIFT, PAGE_SIZE};

/// Pages read together on a first touch (64 KiB: one read system call brings a
/// neighbourhood, most of which a guest touches soon after).
pub const GROUP_PAGES: u64 = 16;

/// Where the pending pages of a lazily restored RAM come from (a snapshot).
pub trait StoredPages: Send + Sync {
    /// Fills `buf` (a whole number of pages) with the pages from `first_page` on
    /// (counted from RAM's base) as stored, each checked against its checksum. Only
    /// the bytes of pages that were pending are used. The error says what failed,
    /// naming the page and the file.
    fn read(&self, first_page: u64, buf: &mut [u8]) -> Result<(), String>;
}

/// Called once, on the thread whose access failed, when a pending page cannot be
/// read: stops the VM with the message.
pub type LostHandler = Box<dyn Fn(&str) + Send + Sync>;

/// The lazily restored part of a RAM.
pub(crate) struct Lazy {
    /// Pages whose content is still in the source.
    pending: PageBitmap,
    /// Number of pending pages: while it is 0 (always, for RAM not restored lazily),
    /// accesses need no further check.
    count: AtomicU64,
    /// Set when a pending page could not be read: the error message.
    lost: OnceLock<String>,
    state: Mutex<State>,
}

/// What filling a group needs, one filler at a time.
#[derive(Default)]
struct State {
    source: Option<Box<dyn StoredPages>>,
    on_lost: Option<LostHandler>,
    buf: Vec<u8>,
}

impl Lazy {
    pub(crate) fn new(pages: u64) -> Lazy {
        Lazy {
            pending: PageBitmap::new(pages),
            count: AtomicU64::new(0),
            lost: OnceLock::new(),
            state: Mutex::new(State::default()),
        }
    }

    /// Whether any page is still pending (the one check on every access path).
    #[inline(always)]
    pub(crate) fn any_pending(&self) -> bool {
        self.count.load(Ordering::Acquire) != 0
    }

    /// Number of pending pages.
    pub(crate) fn pending_pages(&self) -> u64 {
        self.count.load(Ordering::Acquire)
    }

    /// Whether page `page` is pending.
    #[inline]
    pub(crate) fn is_pending(&self, page: u64) -> bool {
        self.pending.get_acquire(page)
    }

    pub(crate) fn lost(&self) -> Option<&str> {
        self.lost.get().map(String::as_str)
    }

    /// Marks `runs` (first page, pages: disjoint, inside RAM, none pending yet)
    /// pending, to be read from `source`.
    pub(crate) fn start(
        &self,
        runs: &[(u64, u64)],
        source: Box<dyn StoredPages>,
        on_lost: LostHandler,
    ) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let mut added = 0;
        for &(first, n) in runs {
            self.pending.set_range(first, n);
            added += n;
        }
        st.source = Some(source);
        st.on_lost = Some(on_lost);
        self.count.fetch_add(added, Ordering::Release);
    }

    /// Makes page `page` present: reads its group from the source and copies the
    /// group's pending pages into RAM through `host` (the host address of a page).
    /// On failure returns the error (naming the page at guest physical address `base`
    /// plus its offset, and the source's problem); the first failure calls the
    /// handler with it.
    #[cold]
    #[inline(never)]
    pub(crate) fn fill(
        &self,
        page: u64,
        pages: u64,
        base: u64,
        host: impl Fn(u64) -> *mut u8,
    ) -> Result<(), String> {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if !self.pending.get(page) {
            return Ok(()); // another thread filled it meanwhile
        }
        if let Some(lost) = self.lost.get() {
            return Err(lost.clone());
        }
        let group = page - page % GROUP_PAGES;
        let end = (group + GROUP_PAGES).min(pages);
        let first = (group..end).find(|&p| self.pending.get(p)).unwrap_or(page);
        let last = (first..end)
            .rev()
            .find(|&p| self.pending.get(p))
            .unwrap_or(page);
        let State {
            source,
            on_lost,
            buf,
        } = &mut *st;
        buf.clear();
        buf.resize(((last + 1 - first) * PAGE_SIZE) as usize, 0);
        let result = match source {
            Some(s) => s.read(first, buf),
            None => Err("no source for the pending pages".into()),
        };
        match result {
            Ok(()) => {
                for p in first..=last {
                    if !self.pending.get(p) {
                        continue;
                    }
                    let at = ((p - first) * PAGE_SIZE) as usize;
                    // SAFETY: `host(p)` is the host address of page `p` of this RAM,
                    // valid for a page; a pending page is reached by nobody else
                    // (every access path waits here first), and the copy is atomic
                    // anyway.
                    unsafe {
                        crate::mem::atomic::copy_in(host(p), &buf[at..at + PAGE_SIZE as usize])
                    };
                    self.pending.clear_release(p);
                    self.count.fetch_sub(1, Ordering::Release);
                }
                Ok(())
            }
            Err(e) => {
                let e = format!(
                    "guest RAM page {:#x} cannot be restored: {e}",
                    base + (page << PAGE_SHIFT)
                );
                let _ = self.lost.set(e.clone());
                let handler = on_lost.take();
                drop(st);
                if let Some(h) = handler {
                    h(&e);
                }
                Err(e)
            }
        }
    }
}
