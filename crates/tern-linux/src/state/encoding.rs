//! The versioned encodings of [`ProcessState`] and [`ThreadState`] (tern-state).

use serde::{Deserialize, Serialize};
use tern_hart::clock::ClockState;
use tern_hart::HartState;
use tern_state::{Decoder, Encoder, StateError, Versioned};

use super::{ProcessState, ThreadState};
use crate::fs::saved::FdState;
use crate::mm::phys::FrameAllocator;
use crate::mm::vma::VmaList;
use crate::signal::{AltStack, SigAction, SigInfo};

/// The base of a process state, borrowed for writing.
#[derive(Serialize)]
struct ProcessBaseRef<'a> {
    frames: &'a FrameAllocator,
    page_table_root: u64,
    vmas: &'a VmaList,
    brk_start: u64,
    brk: u64,
    files: &'a [FdState],
    cwd: &'a str,
    umask: u64,
    actions: &'a [SigAction],
    exe: &'a str,
    insns: u64,
    pid: i32,
    exe_host: &'a str,
}

/// The same base, read back.
#[derive(Deserialize)]
struct ProcessBase {
    frames: FrameAllocator,
    page_table_root: u64,
    vmas: VmaList,
    brk_start: u64,
    brk: u64,
    files: Vec<FdState>,
    cwd: String,
    umask: u64,
    actions: Vec<SigAction>,
    exe: String,
    insns: u64,
    pid: i32,
    exe_host: String,
}

/// Part `signals`.
#[derive(Default, Serialize, Deserialize)]
struct Pending {
    process: Vec<SigInfo>,
    threads: Vec<(i32, SigInfo)>,
}

impl Versioned for ProcessState {
    const KIND: &'static str = "linux-process";
    const VERSION: u32 = 1;

    fn encode(&self, out: &mut Encoder) {
        out.base(&ProcessBaseRef {
            frames: &self.frames,
            page_table_root: self.page_table_root,
            vmas: &self.vmas,
            brk_start: self.brk_start,
            brk: self.brk,
            files: &self.files,
            cwd: &self.cwd,
            umask: self.umask,
            actions: &self.actions,
            exe: &self.exe,
            insns: self.insns,
            pid: self.pid,
            exe_host: &self.exe_host,
        });
        out.state_part("clock", &self.clock);
        let pending = Pending {
            process: self.pending.clone(),
            threads: self.thread_pending.clone(),
        };
        let any_pending = !pending.process.is_empty() || !pending.threads.is_empty();
        out.part("signals", any_pending, &pending);
        out.part(
            "rlimits",
            self.rlimits.iter().any(Option::is_some),
            &self.rlimits,
        );
        let armed = self.itimers.iter().any(|t| t.iter().any(|&b| b != 0));
        out.part("itimers", armed, &self.itimers);
        out.part("shared", !self.shared.is_empty(), &self.shared);
        out.part("posix-timers", !self.timers.is_empty(), &self.timers);
        if let Some(ipc) = &self.ipc {
            out.part("ipc", true, ipc);
        }
    }

    fn decode(input: &mut Decoder<'_>) -> Result<Self, StateError> {
        let b: ProcessBase = input.base()?;
        let clock = input
            .state_part::<ClockState>("clock")?
            .ok_or_else(|| StateError::malformed("no part `clock`"))?;
        let pending: Pending = input.part_or_default("signals")?;
        Ok(ProcessState {
            frames: b.frames,
            page_table_root: b.page_table_root,
            vmas: b.vmas,
            brk_start: b.brk_start,
            brk: b.brk,
            files: b.files,
            cwd: b.cwd,
            umask: b.umask,
            actions: b.actions,
            pending: pending.process,
            thread_pending: pending.threads,
            exe: b.exe,
            // Not written: no limit set, none of the 16 the guest may set.
            rlimits: input.part("rlimits")?.unwrap_or_else(|| vec![None; 16]),
            insns: b.insns,
            pid: b.pid,
            exe_host: b.exe_host,
            clock,
            // Not written: the three timers (real, virtual, profiling) disarmed.
            itimers: input.part("itimers")?.unwrap_or_else(|| vec![[0; 32]; 3]),
            // Not written: no shared regions.
            shared: input.part("shared")?.unwrap_or_default(),
            // Not written: no POSIX timers.
            timers: input.part("posix-timers")?.unwrap_or_default(),
            // Not written: no SysV IPC object.
            ipc: input.part("ipc")?,
        })
    }
}

/// The base of a thread state.
#[derive(Serialize, Deserialize)]
struct ThreadBase {
    tid: i32,
    sigmask: u64,
    altstack: AltStack,
    clear_child_tid: u64,
    robust_list: (u64, u64),
}

impl Versioned for ThreadState {
    const KIND: &'static str = "linux-thread";
    const VERSION: u32 = 1;

    fn encode(&self, out: &mut Encoder) {
        out.base(&ThreadBase {
            tid: self.tid,
            sigmask: self.sigmask,
            altstack: self.altstack,
            clear_child_tid: self.clear_child_tid,
            robust_list: self.robust_list,
        });
        out.state_part("hart", &self.hart);
        if let Some(mask) = self.saved_mask {
            out.part("saved-mask", true, &mask);
        }
    }

    fn decode(input: &mut Decoder<'_>) -> Result<Self, StateError> {
        let b: ThreadBase = input.base()?;
        let hart = input
            .state_part::<HartState>("hart")?
            .ok_or_else(|| StateError::malformed("no part `hart`"))?;
        Ok(ThreadState {
            tid: b.tid,
            hart,
            sigmask: b.sigmask,
            saved_mask: input.part("saved-mask")?,
            altstack: b.altstack,
            clear_child_tid: b.clear_child_tid,
            robust_list: b.robust_list,
        })
    }
}
