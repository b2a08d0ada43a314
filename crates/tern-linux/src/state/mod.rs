//! The process VM's state as plain data (DESIGN.md invariant 1).
//!
//! [`ProcessState`] and [`ThreadState`] hold everything of a process VM that the guest
//! can observe, other than the bytes of guest physical memory (which include the page
//! tables): the frame allocator, the areas, the program break, the descriptor table
//! with each descriptor's guest path, flags and current offset, signal actions and
//! pending signals, the current directory, and per thread the hart state, signal mask,
//! alternate stack and the tid/robust-list registrations. A thread blocked in a system
//! call is saved with `pc` at its `ecall` and `a0` restored, so that restoring restarts
//! the call (as Linux restarts calls interrupted by a signal).
//!
//! The process and its threads give and take these states through tern-state's
//! `Persist` ([`crate::persist`]); tern-vmm writes them to snapshot files, one
//! versioned state per component (`process`, and `thread.TID` per thread). This
//! module holds only the data and its checks, so that what waits for a pause
//! ([`crate::pause`]) can hold thread states without knowing threads.
//!
//! The serde forms of the types the bases hold ([`FrameAllocator`], [`VmaList`],
//! [`FdState`], [`SigAction`], [`AltStack`]...) are part of the encoding: a change to
//! one of them is a change of these states (a new part, or a new version), never a
//! silent one. The golden snapshot files in the tests catch the silent kind.

mod encoding;
pub mod shared;

use tern_hart::clock::ClockState;
use tern_hart::{GuestRam, HartState};

use serde::{Deserialize, Serialize};

use crate::fs::saved::FdState;
use crate::mm::phys::FrameAllocator;
use crate::mm::vma::VmaList;
use crate::signal::{self, AltStack, SigAction, SigInfo};

/// The process-wide state.
///
/// Encoded (version 1, kind `linux-process`) as a base (memory bookkeeping,
/// descriptors, directory, signal actions, program, counters, pid), the process's
/// clock as a nested state in part `clock`, and parts written only when they hold
/// something: `signals` (pending signals), `rlimits` (limits the guest set),
/// `itimers` (armed interval timers), `shared` (shared regions: see [`shared`]),
/// `posix-timers` (POSIX timers), `ipc` (the SysV IPC arena).
#[derive(Clone, Debug)]
pub struct ProcessState {
    /// Physical frames in use and free.
    pub frames: FrameAllocator,
    /// Physical address of the root page table (Sv48).
    pub page_table_root: u64,
    /// Mapped areas.
    pub vmas: VmaList,
    /// Start of the heap.
    pub brk_start: u64,
    /// Program break.
    pub brk: u64,
    /// Descriptors.
    pub files: Vec<FdState>,
    /// Current directory (guest path; the host path without `--root`).
    pub cwd: String,
    /// `umask`.
    pub umask: u64,
    /// Signal actions, index = signal number.
    pub actions: Vec<SigAction>,
    /// Signals pending for the process.
    pub pending: Vec<SigInfo>,
    /// Signals pending for particular threads.
    pub thread_pending: Vec<(i32, SigInfo)>,
    /// Guest path of the program.
    pub exe: String,
    /// Resource limits kept for the guest.
    pub rlimits: Vec<Option<(u64, u64)>>,
    /// Instructions retired so far.
    pub insns: u64,
    /// The guest's process id (kept across a restore: `getpid`, `tgkill`).
    pub pid: i32,
    /// Host path of the running program (`/proc/self/exe`).
    pub exe_host: String,
    /// The process's clock (`rdtime`).
    pub clock: ClockState,
    /// The interval timers (`setitimer`: real, virtual, profiling), each a
    /// `struct itimerval` (same 32 bytes on riscv64 and x86-64): they live in the host
    /// kernel, so they are read back from it.
    pub itimers: Vec<[u8; 32]>,
    /// Shared regions (part `shared`, written when there are any).
    pub shared: Vec<shared::SharedRegionState>,
    /// POSIX timers (part `posix-timers`, written when there are any).
    pub timers: Vec<PosixTimerState>,
    /// The VM's SysV IPC arena (part `ipc`, written when it holds any object).
    pub ipc: Option<crate::ipc::saved::IpcState>,
}

/// One POSIX timer (`timer_create`), as a snapshot records it. Its times are
/// relative (to the snapshot, then to the restore), as the interval timers'.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PosixTimerState {
    /// The timer id the program holds.
    pub id: i32,
    /// The guest clock id (a process CPU-time clock, or a wall/monotonic one).
    pub clock: i32,
    /// `sigev_notify`: `SIGEV_SIGNAL` (0), `SIGEV_NONE` (1), `SIGEV_THREAD_ID` (4).
    pub how: i32,
    /// The signal of an expiry.
    pub signo: i32,
    /// The thread of `SIGEV_THREAD_ID`.
    pub tid: i32,
    /// `sigev_value`.
    pub value: u64,
    /// The interval, in nanoseconds.
    pub interval: u64,
    /// Nanoseconds to the next expiry; `None` when disarmed.
    pub left: Option<u64>,
    /// The overrun count of the last expiry.
    pub overrun: i32,
}

/// The most POSIX timers a state may hold (`syscalls::timer::MAX_TIMERS`).
pub const MAX_POSIX_TIMERS: usize = 1024;

/// One thread's state.
///
/// Encoded (version 1, kind `linux-thread`) as a base (tid, signal mask, alternate
/// stack, tid address, robust list), its hart's state as a nested state in part
/// `hart`, and a part `saved-mask` written while `rt_sigsuspend` holds a mask to
/// restore.
#[derive(Clone, Debug)]
pub struct ThreadState {
    /// Thread id.
    pub tid: i32,
    /// Architectural state of its hart.
    pub hart: HartState,
    /// Blocked signals.
    pub sigmask: u64,
    /// Mask to restore after a handler (`rt_sigsuspend`).
    pub saved_mask: Option<u64>,
    /// `sigaltstack`.
    pub altstack: AltStack,
    /// `clear_child_tid`.
    pub clear_child_tid: u64,
    /// `set_robust_list` head and length.
    pub robust_list: (u64, u64),
}

/// The name of thread `tid`'s state in a snapshot.
pub fn thread_name(tid: i32) -> String {
    format!("thread.{tid}")
}

impl ProcessState {
    /// Checks everything that later code indexes or trusts against physical memory
    /// `ram`; the error says what is wrong.
    pub fn check(&self, ram: &GuestRam) -> Result<(), String> {
        let s = self;
        // Frames lie in the lower half; the upper half is the shared window.
        let (base, size) = (ram.base(), ram.size() / 2);
        if !s.frames.fits(base, size) {
            return Err(format!(
                "the frame allocator does not fit physical memory {base:#x}+{size:#x}"
            ));
        }
        if !s.page_table_root.is_multiple_of(4096) || !ram.contains(s.page_table_root, 4096) {
            return Err(format!(
                "the page table root {:#x} is not a page of physical memory",
                s.page_table_root
            ));
        }
        // The signal page is the highest user page.
        s.vmas.check(crate::mm::SIGPAGE + 4096)?;
        // Shared regions lie in the window, apart; each shared area in one of them.
        let window_end = ram.base() + ram.size();
        let mut regions: Vec<&shared::SharedRegionState> = s.shared.iter().collect();
        regions.sort_by_key(|r| r.phys);
        let mut prev_end = base + size;
        for r in &regions {
            r.check(base + size, window_end)?;
            if r.phys < prev_end {
                return Err(format!("shared region {:#x} overlaps another", r.phys));
            }
            prev_end = r.phys + r.len;
        }
        for v in s.vmas.iter() {
            if let crate::mm::vma::Backing::Shared { phys } = v.backing {
                let len = v.end - v.start;
                let inside = regions
                    .iter()
                    .any(|r| phys >= r.phys && phys.saturating_add(len) <= r.phys + r.len);
                if !inside {
                    return Err(format!(
                        "memory area {:#x}-{:#x} claims a shared region the state does not hold",
                        v.start, v.end
                    ));
                }
            }
        }
        if s.brk < s.brk_start {
            return Err(format!(
                "program break {:#x} below the heap start {:#x}",
                s.brk, s.brk_start
            ));
        }
        if s.actions.len() != signal::NSIG + 1 {
            return Err(format!(
                "{} signal actions, not {}",
                s.actions.len(),
                signal::NSIG + 1
            ));
        }
        if s.rlimits.len() > 16 {
            return Err(format!("{} resource limits, at most 16", s.rlimits.len()));
        }
        let bad_signal = |n: i32| !(1..=signal::NSIG as i32).contains(&n);
        if let Some(i) = s.pending.iter().find(|i| bad_signal(i.signo)) {
            return Err(format!("pending signal {} out of range", i.signo));
        }
        if let Some((_, i)) = s.thread_pending.iter().find(|(_, i)| bad_signal(i.signo)) {
            return Err(format!("pending signal {} out of range", i.signo));
        }
        if let Some(ipc) = &s.ipc {
            crate::ipc::saved::check(ipc)?;
        }
        if s.timers.len() > MAX_POSIX_TIMERS {
            return Err(format!(
                "{} POSIX timers, at most {MAX_POSIX_TIMERS}",
                s.timers.len()
            ));
        }
        if let Some(t) = s.timers.iter().find(|t| {
            t.id < 0 || (t.how != 1 && bad_signal(t.signo)) || ![0, 1, 4].contains(&t.how)
        }) {
            return Err(format!("POSIX timer {} is invalid", t.id));
        }
        let limit = crate::fs::guest_fd_limit();
        if let Some(f) = s.files.iter().find(|f| f.fd < 0 || f.fd >= limit) {
            return Err(format!(
                "descriptor {} is outside this host's descriptor limit {limit}",
                f.fd
            ));
        }
        Ok(())
    }
}
