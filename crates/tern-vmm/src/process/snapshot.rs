//! Writing a process VM to one snapshot file, and reading one back.
//!
//! The file (VM kind "process") holds:
//! - "config": [`ProcessConfig`] (file view, memory size, options, command line);
//! - "process": the process-wide state ([`ProcessState`]: frames, page-table root,
//!   areas, `brk`, descriptors with guest path, flags and offset, signal actions and
//!   pending signals, current directory, pid, clock);
//! - "threads": every thread's [`ThreadState`] (hart, signal mask, alternate stack,
//!   tid address, robust list), saved parked at an instruction boundary;
//! - "ram": guest physical memory (the page tables included), sparse: a full
//!   snapshot stores the frames the allocator ever handed out (zero pages left out),
//!   an incremental one the pages written since its parent (the RAM dirty log).
//!
//! All of it is checked before anything is built from it (see
//! [`tern_linux::restore::Image::check`]).

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use tern_hart::GuestRam;
use tern_linux::mm::PHYS_BASE;
use tern_linux::restore::Image;
use tern_linux::state::{ProcessState, ThreadState};
use tern_linux::Process;
use tern_snapshot::{Pages, Region, Snapshot, VmKind};
use tern_snapshot::{SnapshotId, PAGE_SIZE};

use super::config::ProcessConfig;
use crate::control::{ControlError, SnapshotInfo, SnapshotRequest};
use crate::ram::{fill_ram, PageReader, RamPages, LOST_HINT};
use crate::snapshot_file::{self, internal, LastSnapshot, ARCH};

/// Writes paused process `proc` (threads `threads`, as they parked) as `req` asks;
/// `last` is the previous snapshot (the parent of an incremental one), updated on
/// success. The caller pauses the process around this.
pub fn write_paused(
    proc: &Process,
    config: &ProcessConfig,
    threads: Vec<ThreadState>,
    last: &mut Option<LastSnapshot>,
    req: &SnapshotRequest,
    started: Instant,
) -> Result<SnapshotInfo, ControlError> {
    // Everything that can be refused is refused before the file is created.
    let state = proc
        .save_state()
        .map_err(|e| ControlError::Unsupported(format!("snapshot of the process refused: {e}")))?;
    let ram: Arc<GuestRam> = proc.mm().ram().clone();
    // Threads drop their writable TLB entries before they run again, so every later
    // write marks its page dirty; the log restarts from this snapshot.
    ram.bump_store_epoch();
    let dirty = ram.take_dirty();
    let parent = if req.incremental { last.clone() } else { None };
    let (mut w, path) = snapshot_file::create(VmKind::Process, parent.as_ref(), req)?;
    let enc = |what: &str, r: Result<Vec<u8>, postcard::Error>| r.map_err(|e| internal(what, e));
    w.add_state("config", &enc("config", postcard::to_stdvec(config))?)
        .map_err(|e| internal("snapshot", e))?;
    w.add_state("process", &enc("process", postcard::to_stdvec(&state))?)
        .map_err(|e| internal("snapshot", e))?;
    w.add_state("threads", &enc("threads", postcard::to_stdvec(&threads))?)
        .map_err(|e| internal("snapshot", e))?;
    // Every frame that may hold data lies below the allocator's high-water mark.
    let touched: Vec<u64> = (ram.base()..state.frames.high_water())
        .step_by(PAGE_SIZE as usize)
        .collect();
    let pages = if parent.is_some() {
        Pages::ChangedSinceParent(&dirty)
    } else {
        Pages::Only(&touched)
    };
    let region = Region {
        base: ram.base(),
        size: ram.size(),
    };
    let stats = w
        .add_memory("ram", region, &RamPages(&ram), pages)
        .map_err(|e| internal("memory", e))?;
    let (summary, _) = w.finish().map_err(|e| internal("snapshot", e))?;
    *last = Some(LastSnapshot {
        id: summary.id,
        path,
    });
    Ok(snapshot_file::answer(
        req,
        &summary,
        parent.as_ref(),
        &stats,
        started,
    ))
}

/// A process snapshot read into memory: everything needed to run it on.
pub struct OpenedProcess {
    /// Its id (the parent of the restored VM's next incremental snapshot).
    pub id: SnapshotId,
    /// The configuration.
    pub config: ProcessConfig,
    /// Process and threads.
    pub image: Image,
    /// Guest physical memory, filled (stored pages mapped from the file lazily).
    pub ram: Arc<GuestRam>,
}

/// Decodes state section `name` of `snapshot`.
fn section<T: serde::de::DeserializeOwned>(snapshot: &Snapshot, name: &str) -> anyhow::Result<T> {
    postcard::from_bytes(snapshot.state(name)?)
        .map_err(|e| anyhow::anyhow!("snapshot section `{name}`: {e}"))
}

/// Decodes the state sections of a process snapshot (no memory), for restore and
/// for checking files (the fuzz target).
pub fn decode_state(snapshot: &Snapshot) -> anyhow::Result<(ProcessConfig, Image)> {
    snapshot.expect_guest(ARCH, VmKind::Process)?;
    let config: ProcessConfig = section(snapshot, "config")?;
    let state: ProcessState = section(snapshot, "process")?;
    let threads: Vec<ThreadState> = section(snapshot, "threads")?;
    Ok((config, Image { state, threads }))
}

/// Opens process snapshot `path`, checks it, and fills a new guest RAM from it. Run it
/// on a thread with a private descriptor table: the snapshot's files stay open only
/// there, for a thread started here that reads the stored pages when the program
/// first touches them ([`PageReader::Thread`]). If one cannot be read (the file
/// changed), tern prints why and exits with status 1.
pub fn open_process(path: &Path) -> anyhow::Result<OpenedProcess> {
    let snapshot = Arc::new(Snapshot::open(path)?);
    let (config, image) = decode_state(&snapshot)?;
    if !(16 << 20..=512 << 30).contains(&config.memory) || config.memory % PAGE_SIZE != 0 {
        anyhow::bail!(
            "snapshot section `config`: memory size {} is not a page-aligned size between 16 MiB and 512 GiB",
            config.memory
        );
    }
    let ram = GuestRam::new(PHYS_BASE, config.memory)
        .map_err(|e| anyhow::anyhow!("cannot reserve guest memory: {e}"))?;
    image
        .check(&ram)
        .map_err(|e| anyhow::anyhow!("snapshot section `process`/`threads`: {e}"))?;
    fill_ram(
        &snapshot,
        "ram",
        &ram,
        PageReader::Thread,
        Box::new(|e| {
            eprintln!("tern: the restored program cannot go on: {e}{LOST_HINT}");
            tern_linux::exit::exit_process(1)
        }),
    )?;
    Ok(OpenedProcess {
        id: snapshot.id(),
        config,
        image,
        ram: Arc::new(ram),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;
    use tern_snapshot::{SnapshotMeta, SnapshotWriter, WriteOptions};

    /// A snapshot of kind `kind` with the given state sections.
    fn file(kind: VmKind, sections: &[(&str, &[u8])]) -> Snapshot {
        let opts = WriteOptions {
            sync: false,
            ..WriteOptions::default()
        };
        let mut w =
            SnapshotWriter::new(Cursor::new(Vec::new()), SnapshotMeta::new(ARCH, kind), opts)
                .unwrap();
        for (name, bytes) in sections {
            w.add_state(name, bytes).unwrap();
        }
        Snapshot::from_bytes(w.finish().unwrap().1.into_inner()).unwrap()
    }

    #[test]
    fn bad_state_sections_are_refused_by_name() {
        let config = ProcessConfig::of(&tern_linux::Options::default(), vec!["prog".into()]);
        let config = postcard::to_stdvec(&config).unwrap();
        let e = decode_state(&file(VmKind::System, &[("config", &config)])).err();
        assert!(
            format!("{:#}", e.unwrap()).contains("system"),
            "a system VM snapshot is not a process"
        );
        let e = decode_state(&file(VmKind::Process, &[("config", &config)])).err();
        assert!(
            format!("{:#}", e.unwrap()).contains("`process`"),
            "the missing section is named"
        );
        let garbage = [0xffu8; 40];
        let e = decode_state(&file(
            VmKind::Process,
            &[("config", &config), ("process", &garbage)],
        ))
        .err();
        let e = format!("{:#}", e.unwrap());
        assert!(e.starts_with("snapshot section `process`: "), "{e}");
        let e = decode_state(&file(VmKind::Process, &[("config", &garbage[..3])])).err();
        let e = format!("{:#}", e.unwrap());
        assert!(e.starts_with("snapshot section `config`: "), "{e}");
    }
}
