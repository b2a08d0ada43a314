//! Writing a process VM to one snapshot file, and reading one back.
//!
//! The file (VM kind "process") holds, each as a versioned state (tern-state):
//! - "config": [`ProcessConfig`] (file view, memory size, options, command line);
//! - "process": the process-wide state ([`ProcessState`]: frames, page-table root,
//!   areas, `brk`, descriptors with guest path, flags and offset, signal actions and
//!   pending signals, current directory, pid, clock, interval timers);
//! - "thread.TID" for every thread: its [`ThreadState`] (hart, signal mask, alternate
//!   stack, tid address, robust list), saved parked at an instruction boundary;
//! - "ram": guest physical memory (the page tables included), sparse: a full
//!   snapshot stores the frames the allocator ever handed out (zero pages left out),
//!   an incremental one the pages written since its parent (the RAM dirty log).
//!
//! All of it is checked before anything is built from it (see
//! [`tern_linux::restore::Image::check`]).

use std::path::Path;

use anyhow::Context;
use std::sync::Arc;
use std::time::Instant;

use tern_hart::GuestRam;
use tern_linux::mm::PHYS_BASE;
use tern_linux::restore::Image;
use tern_linux::state::{thread_name, ProcessState, ThreadState};
use tern_linux::Process;
use tern_snapshot::{Pages, Region, Snapshot, VmKind};
use tern_snapshot::{SnapshotId, PAGE_SIZE};
use tern_state::{Persist, Problem, Sections, StateError};

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
    let (state, components) = save_components(proc, &threads)?;
    let ram: Arc<GuestRam> = proc.mm().ram().clone();
    // Threads drop their writable TLB entries before they run again, so every later
    // write marks its page dirty; the log restarts from this snapshot.
    ram.bump_store_epoch();
    let frames_end = ram.base() + config.memory;
    let dirty: Vec<u64> = ram
        .take_dirty()
        .into_iter()
        .filter(|&p| p < frames_end)
        .collect();
    let parent = if req.incremental { last.clone() } else { None };
    let (mut w, path) = snapshot_file::create(VmKind::Process, parent.as_ref(), req)?;
    snapshot_file::add_states(&mut w, config, &components)?;
    // Every frame that may hold data lies below the allocator's high-water mark.
    let touched: Vec<u64> = (ram.base()..state.frames.high_water())
        .step_by(PAGE_SIZE as usize)
        .collect();
    let pages = if parent.is_some() {
        Pages::ChangedSinceParent(&dirty)
    } else {
        Pages::Only(&touched)
    };
    // The frames: the shared window above them is not saved (a process with shared
    // regions refuses snapshots).
    let region = Region {
        base: ram.base(),
        size: config.memory,
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

/// The states of paused process `proc` whose threads parked as `threads`: the
/// process-wide state, and the sections of a snapshot or a migration (`process`, and
/// `thread.TID` for each thread).
pub fn save_components(
    proc: &Process,
    threads: &[ThreadState],
) -> Result<(ProcessState, Sections), ControlError> {
    let state = proc
        .save()
        .map_err(|e| ControlError::Unsupported(format!("snapshot of the process refused: {e}")))?;
    let mut components = Sections::new();
    let encode = |e: StateError| internal("process state", e);
    components.put(PROCESS, &state).map_err(encode)?;
    for t in threads {
        components.put(&thread_name(t.tid), t).map_err(encode)?;
    }
    Ok((state, components))
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

/// The name of the process-wide state.
const PROCESS: &str = "process";

/// Decodes the state sections of a process snapshot (no memory), for restore and
/// for checking files (the fuzz target).
pub fn decode_state(snapshot: &Snapshot) -> anyhow::Result<(ProcessConfig, Image)> {
    snapshot.expect_guest(ARCH, VmKind::Process)?;
    let config: ProcessConfig = snapshot_file::read_config(snapshot)?;
    let components = snapshot_file::read_components(snapshot)?;
    let image = decode_components(components).map_err(|e| anyhow::anyhow!("snapshot: {e}"))?;
    Ok((config, image))
}

/// The process and its threads from their states: `process`, and `thread.TID` for
/// each thread (in the order saved); any other state is one no component takes.
pub fn decode_components(mut components: Sections) -> Result<Image, StateError> {
    let state: ProcessState = components.take(PROCESS)?;
    let names: Vec<String> = components
        .iter()
        .map(|(n, _)| n.to_string())
        .filter(|n| n.starts_with("thread."))
        .collect();
    let mut threads = Vec::with_capacity(names.len());
    for name in names {
        let t: ThreadState = components.take(&name)?;
        if name != thread_name(t.tid) {
            return Err(
                StateError::mismatch(format!("holds the state of thread {}", t.tid))
                    .within(format!("state `{name}`")),
            );
        }
        threads.push(t);
    }
    if threads.is_empty() {
        return Err(StateError::new(Problem::Missing {
            component: "thread.TID".into(),
            kind: "linux-thread".into(),
        }));
    }
    components.finish(|_| None)?;
    Ok(Image { state, threads })
}

/// Opens process snapshot `path`, checks it, and fills a new guest RAM from it. Run it
/// on a thread with a private descriptor table: the snapshot's files stay open only
/// there, for a thread started here that reads the stored pages when the program
/// first touches them ([`PageReader::Thread`]). If one cannot be read (the file
/// changed), tern prints why and exits with status 1.
pub fn open_process(path: &Path) -> anyhow::Result<OpenedProcess> {
    let snapshot = Arc::new(Snapshot::open(path)?);
    let (config, image) = decode_state(&snapshot)?;
    super::config::check_memory(config.memory).context("snapshot section `config`")?;
    let ram = GuestRam::new(PHYS_BASE, tern_linux::mm::phys_size(config.memory))
        .map_err(|e| anyhow::anyhow!("cannot reserve guest memory: {e}"))?;
    image
        .check(&ram)
        .map_err(|e| anyhow::anyhow!("snapshot: state `process`/`thread.*`: {e}"))?;
    fill_ram(
        &snapshot,
        "ram",
        &ram,
        config.memory,
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

    /// A snapshot of kind `kind` with the given state sections (raw bytes).
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
        let config = tern_state::to_bytes(&config).unwrap();
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
        assert!(
            e.starts_with("snapshot: state `process`: malformed: "),
            "{e}"
        );
        let e = decode_state(&file(VmKind::Process, &[("config", &garbage[..3])])).err();
        let e = format!("{:#}", e.unwrap());
        assert!(e.starts_with("snapshot section `config`: "), "{e}");
    }

    #[test]
    fn components_are_matched_by_name_both_ways() {
        let proc = tern_linux::Process::new(tern_linux::Options {
            memory: 32 << 20,
            slice: 1000,
            ..tern_linux::Options::default()
        })
        .unwrap();
        let state = proc.save().unwrap();
        let mut thread = ThreadState {
            tid: 7,
            hart: tern_hart::HartState::new(0, 0x1000),
            sigmask: 0,
            saved_mask: None,
            altstack: Default::default(),
            clear_child_tid: 0,
            robust_list: (0, 0),
        };
        let good = |thread: &ThreadState| {
            let mut c = Sections::new();
            c.put(PROCESS, &state).unwrap();
            c.put(&thread_name(thread.tid), thread).unwrap();
            c
        };
        let image = decode_components(good(&thread)).unwrap();
        assert_eq!(image.threads.len(), 1);
        let mut extra = good(&thread);
        extra
            .put("clint", &tern_hart::HartState::new(0, 0))
            .unwrap();
        assert_eq!(
            decode_components(extra).unwrap_err().to_string(),
            "a hart state was saved for `clint`, but this VM has no `clint`"
        );
        let mut renamed = Sections::new();
        renamed.put(PROCESS, &state).unwrap();
        renamed.put("thread.8", &thread).unwrap();
        assert_eq!(
            decode_components(renamed).unwrap_err().to_string(),
            "state `thread.8`: holds the state of thread 7"
        );
        let mut none = Sections::new();
        none.put(PROCESS, &state).unwrap();
        assert!(decode_components(none)
            .unwrap_err()
            .to_string()
            .contains("`thread.TID` (linux-thread) has no state"));
        thread.tid = 9;
        let mut c = good(&thread);
        let e = decode_components({
            let mut only = Sections::new();
            let (n, b) = c
                .iter()
                .nth(1)
                .map(|(n, b)| (n.to_string(), b.to_vec()))
                .unwrap();
            only.insert(n, b).unwrap();
            only
        })
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "this VM's `process` (linux-process) has no state among the saved ones"
        );
        c = good(&thread);
        assert!(decode_components(c).is_ok());
    }
}
