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

    /// Marks `runs` (first page, pages: disjoint, inside RAM) pending, to be read from
    /// `source`; false (and nothing done) if the RAM was restored lazily before.
    pub(crate) fn start(
        &self,
        runs: &[(u64, u64)],
        source: Box<dyn StoredPages>,
        on_lost: LostHandler,
    ) -> bool {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if st.source.is_some() {
            return false;
        }
        let mut added = 0;
        for &(first, n) in runs {
            self.pending.set_range(first, n);
            added += n;
        }
        st.source = Some(source);
        st.on_lost = Some(on_lost);
        self.count.fetch_add(added, Ordering::Release);
        true
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mem::ram::GuestRam;
    use std::sync::atomic::AtomicU64;

    /// A source whose page `p` is filled with byte `p + 1`, counting its reads, and
    /// failing from read number `fail_at` on.
    struct Pattern {
        reads: std::sync::Arc<AtomicU64>,
        fail_at: u64,
    }

    impl StoredPages for Pattern {
        fn read(&self, first_page: u64, buf: &mut [u8]) -> Result<(), String> {
            let n = self.reads.fetch_add(1, Ordering::SeqCst);
            if n >= self.fail_at {
                return Err(format!("page {first_page:#x}: crc mismatch (in `test`)"));
            }
            for (i, page) in buf.chunks_mut(PAGE_SIZE as usize).enumerate() {
                page.fill(first_page as u8 + i as u8 + 1);
            }
            Ok(())
        }
    }

    fn lazy_ram(
        fail_at: u64,
    ) -> (
        GuestRam,
        std::sync::Arc<AtomicU64>,
        std::sync::Arc<AtomicU64>,
    ) {
        let ram = GuestRam::new(0x8000_0000, 64 * PAGE_SIZE).unwrap();
        let reads = std::sync::Arc::new(AtomicU64::new(0));
        let lost = std::sync::Arc::new(AtomicU64::new(0));
        let l = lost.clone();
        ram.restore_lazily(
            &[(2, 3), (20, 30)],
            Box::new(Pattern {
                reads: reads.clone(),
                fail_at,
            }),
            Box::new(move |_| {
                l.fetch_add(1, Ordering::SeqCst);
            }),
        )
        .unwrap();
        (ram, reads, lost)
    }

    #[test]
    fn pending_pages_are_read_on_first_touch_in_groups() {
        let (ram, reads, _) = lazy_ram(u64::MAX);
        assert_eq!(ram.pending_pages(), 33);
        let mut b = [0u8; 2];
        // Page 1 was not restored lazily: zero, and nothing read.
        ram.read(0x8000_1ffe, &mut b).unwrap();
        assert_eq!((b, reads.load(Ordering::SeqCst)), ([0, 0], 0));
        // Reading across pages 2 and 3 reads pages 2..5 (the pending ones of group 0).
        ram.read(0x8000_2fff, &mut b).unwrap();
        assert_eq!((b, reads.load(Ordering::SeqCst)), ([3, 4], 1));
        assert_eq!(ram.pending_pages(), 30);
        ram.read(0x8000_4000, &mut b).unwrap();
        assert_eq!((b, reads.load(Ordering::SeqCst)), ([5, 5], 1));
        // A partial write to a pending page keeps the rest of the page.
        ram.write(0x8001_7010, &[0xaa]).unwrap();
        assert_eq!(reads.load(Ordering::SeqCst), 2, "pages 20..32 in one read");
        let mut page = vec![0u8; PAGE_SIZE as usize];
        ram.read(0x8001_7000, &mut page).unwrap();
        assert_eq!(page[0x10], 0xaa);
        assert!(page.iter().enumerate().all(|(i, &v)| i == 0x10 || v == 24));
        assert_eq!(ram.take_dirty(), vec![0x8001_7000], "read pages are clean");
        // The rest come with atomics, or all at once (before a fork).
        assert_eq!(
            ram.atomic32(0x8002_0000).unwrap().load(Ordering::SeqCst),
            0x2121_2121
        );
        assert_eq!(ram.pending_pages(), 2);
        ram.fill_pending().unwrap();
        assert_eq!(ram.pending_pages(), 0);
        assert_eq!(reads.load(Ordering::SeqCst), 4);
        ram.zero(0x8003_1000, 1).unwrap();
        assert!(ram.lost().is_none());
    }

    #[test]
    fn a_page_that_cannot_be_read_loses_the_ram_once() {
        let (ram, reads, lost) = lazy_ram(1);
        let mut b = [0u8; 1];
        ram.read(0x8000_2000, &mut b).unwrap();
        let events = ram.events();
        let e = ram.read(0x8001_5000, &mut b).unwrap_err().to_string();
        assert_eq!(
            e,
            "guest RAM page 0x80015000 cannot be restored: page 0x14: crc mismatch (in `test`)"
        );
        assert_ne!(ram.events(), events, "harts are told");
        assert_eq!(ram.lost(), Some(e.as_str()));
        // Later touches of pending pages fail without reading; others still work.
        assert!(ram.write(0x8001_f000, &[1]).is_err());
        assert!(ram.atomic64(0x8001_f008).is_none());
        assert_eq!(reads.load(Ordering::SeqCst), 2);
        ram.read(0x8000_3000, &mut b).unwrap();
        assert_eq!(b, [4]);
        assert_eq!(lost.load(Ordering::SeqCst), 1, "the handler runs once");
        // Ranges a device asks for are prepared the same way.
        assert!(
            ram.prepare(0x7fff_0000, 0x1_3000).is_ok(),
            "outside RAM or loaded"
        );
        assert!(ram.prepare(0x8001_4fff, 2).is_err());
    }

    #[test]
    fn racing_first_touches_read_each_group_once() {
        let (ram, reads, _) = lazy_ram(u64::MAX);
        std::thread::scope(|s| {
            for t in 0..4u64 {
                let ram = &ram;
                s.spawn(move || {
                    for p in (0..64u64).map(|i| (i * 7 + t * 13) % 64) {
                        let mut b = [0u8; 1];
                        ram.read(0x8000_0000 + p * PAGE_SIZE + t, &mut b).unwrap();
                        let want = if (2..5).contains(&p) || (20..50).contains(&p) {
                            p as u8 + 1
                        } else {
                            0
                        };
                        assert_eq!(b[0], want, "page {p}");
                    }
                });
            }
        });
        // Groups of 16 pages: 2..5, 20..32, 32..48, 48..50.
        assert_eq!(reads.load(Ordering::SeqCst), 4);
        assert_eq!(ram.pending_pages(), 0);
    }

    #[test]
    fn lazy_runs_must_be_disjoint_inside_ram_and_restored_once() {
        let ram = GuestRam::new(0x8000_0000, 16 * PAGE_SIZE).unwrap();
        let src = || -> Box<dyn StoredPages> {
            Box::new(Pattern {
                reads: Default::default(),
                fail_at: 0,
            })
        };
        assert!(ram
            .restore_lazily(&[(0, 4), (3, 1)], src(), Box::new(|_| {}))
            .is_err());
        assert!(ram
            .restore_lazily(&[(15, 2)], src(), Box::new(|_| {}))
            .is_err());
        assert!(ram
            .restore_lazily(&[(0, 16)], src(), Box::new(|_| {}))
            .is_ok());
        assert!(ram
            .restore_lazily(&[(0, 1)], src(), Box::new(|_| {}))
            .is_err());
    }
}
