//! Full check of a file's stored memory: every stored page's (or data extent's) CRC, every chunk's CRC
//! and decompressed size, and in the identity layout that the holes between stored
//! pages (which a restore maps along with the data) read as zero. Lazy mapping skips
//! these checks (a mapped page is read by the guest, not by us); `tern` can run this
//! before or after resuming.

use crate::error::{Error, Result};
use crate::memory::map::{ExtentKind, PageMap};
use crate::memory::{is_zero, PAGE_SIZE};
use crate::storage::Storage;

/// One unit of checking.
#[derive(Clone, Copy)]
enum Job {
    /// Extent index.
    Data(usize),
    /// Chunk index.
    Chunk(usize),
    /// A gap of an identity-layout region: (first page, pages), at most 256.
    Hole(u64, u64),
}

/// Checks region `name` of one chain member with `threads` threads (0: all cores).
pub(crate) fn verify_layer(
    storage: &Storage,
    name: &str,
    map: &PageMap,
    threads: usize,
) -> Result<()> {
    let mut jobs: Vec<Job> = map
        .extents
        .iter()
        .enumerate()
        .filter(|(_, x)| matches!(x.kind, ExtentKind::Data { .. }))
        .map(|(i, _)| Job::Data(i))
        .collect();
    jobs.extend((0..map.chunks.len()).map(Job::Chunk));
    if map.identity {
        let mut next = 0;
        let stored = map
            .extents
            .iter()
            .filter(|x| matches!(x.kind, ExtentKind::Data { .. }));
        for (first, end) in stored
            .map(|x| (x.first_page, x.end()))
            .chain([(map.pages(), map.pages())])
        {
            let mut p = next;
            while p < first {
                let n = (first - p).min(256);
                jobs.push(Job::Hole(p, n));
                p += n;
            }
            next = end;
        }
    }
    let threads = match threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
    .clamp(1, jobs.len().max(1));
    let run = |part: &[Job]| -> Result<()> {
        let mut buf = Vec::new();
        let mut z = zstd::bulk::Decompressor::new()
            .map_err(|e| Error::section(name, format!("zstd: {e}")))?;
        let mut raw = Vec::new();
        for job in part {
            check(storage, map, *job, &mut buf, &mut z, &mut raw).map_err(|m| {
                Error::section(name, format!("{m} (in `{}`)", storage.path().display()))
            })?;
        }
        Ok(())
    };
    if threads == 1 {
        return run(&jobs);
    }
    let per = jobs.len().div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = jobs
            .chunks(per)
            .map(|part| s.spawn(move || run(part)))
            .collect();
        handles.into_iter().try_for_each(|h| {
            h.join()
                .unwrap_or_else(|_| Err(Error::section(name, "a check thread panicked")))
        })
    })
}

/// Checks one extent or chunk; the error text names it.
fn check(
    storage: &Storage,
    map: &PageMap,
    job: Job,
    buf: &mut Vec<u8>,
    z: &mut zstd::bulk::Decompressor<'_>,
    raw: &mut Vec<u8>,
) -> Result<(), String> {
    match job {
        Job::Data(i) => {
            let x = map.extents[i];
            let ExtentKind::Data { offset, .. } = x.kind else {
                return Ok(());
            };
            buf.resize((u64::from(x.pages) * PAGE_SIZE) as usize, 0);
            storage.read_at(offset, buf).map_err(|e| e.to_string())?;
            if let Err(page) = map.check_data(&x, 0, buf) {
                let end = if map.per_page() { page + 1 } else { x.end() };
                return Err(format!("pages {page:#x}..{end:#x}: crc mismatch"));
            }
        }
        Job::Chunk(i) => {
            let c = map.chunks[i];
            buf.resize(c.stored_len as usize, 0);
            storage.read_at(c.offset, buf).map_err(|e| e.to_string())?;
            if crc32c::crc32c(buf) != c.crc {
                return Err(format!("compressed chunk {i}: crc mismatch"));
            }
            let want = (u64::from(c.pages) * PAGE_SIZE) as usize;
            raw.clear();
            raw.reserve(want);
            let n = z
                .decompress_to_buffer(&buf[..], raw)
                .map_err(|e| format!("compressed chunk {i}: cannot decompress: {e}"))?;
            if n != want {
                return Err(format!("compressed chunk {i}: {n} bytes, not {want}"));
            }
        }
        Job::Hole(first, pages) => {
            buf.resize((pages * PAGE_SIZE) as usize, 0);
            storage
                .read_at(map.data_offset + first * PAGE_SIZE, buf)
                .map_err(|e| e.to_string())?;
            if !is_zero(buf) {
                return Err(format!(
                    "pages {first:#x}..{:#x}: not zero where the file stores no page",
                    first + pages
                ));
            }
        }
    }
    Ok(())
}
