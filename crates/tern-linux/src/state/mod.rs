//! The process VM's state as plain data (DESIGN.md invariant 1).
//!
//! [`ProcessState`] and [`ThreadState`] hold everything of a process VM that the guest
//! can observe, other than the bytes of guest physical memory (which include the page
//! tables): the frame allocator, the areas, the program break, the descriptor table
//! with each descriptor's guest path, flags and current offset, signal actions and
//! pending signals, the current directory, and per thread the hart state, signal mask,
//! alternate stack and the tid/robust-list registrations. A thread blocked in a system
//! call is saved with `pc` at its `ecall` and `a0` restored, so that restoring restarts
//! the call (as Linux restarts calls interrupted by a signal). Restoring is the work of
//! [`crate::restore`]; tern-vmm writes them to snapshot files.

use serde::{Deserialize, Serialize};
use tern_hart::clock::ClockState;
use tern_hart::HartState;

use crate::fs::saved::{self, FdState};
use crate::mm::phys::FrameAllocator;
use crate::mm::vma::VmaList;
use crate::process::Process;
use crate::signal::{AltStack, SigAction, SigInfo};
use crate::thread::Thread;

/// The process-wide state.
#[derive(Clone, Debug, Serialize, Deserialize)]
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
}

/// The host process's interval timers, as [`ProcessState::itimers`] holds them.
fn save_itimers() -> Vec<[u8; 32]> {
    (0..3)
        .map(|which| {
            let mut cur = [0u8; 32];
            // SAFETY: a 32-byte buffer is a struct itimerval.
            unsafe { libc::syscall(libc::SYS_getitimer, which, cur.as_mut_ptr()) };
            cur
        })
        .collect()
}

/// The `struct itimerval` to arm again for a saved one. Linux re-arms a periodic
/// `ITIMER_REAL` only when its `SIGALRM` is taken from the queue, so a snapshot made
/// between an expiry and that moment (a loaded host) reads a zero `it_value` with a
/// non-zero `it_interval`: the timer is running and its signal is due now. Arming
/// that as read would disarm it; it is armed to expire at once instead.
fn rearm_value(mut t: [u8; 32]) -> [u8; 32] {
    let interval_set = t[..16].iter().any(|&b| b != 0);
    let value_zero = t[16..].iter().all(|&b| b == 0);
    if interval_set && value_zero {
        // it_value = { tv_sec 0, tv_usec 1 } (little-endian 64-bit fields).
        t[24] = 1;
    }
    t
}

/// Arms the interval timers of this host process as `itimers` says.
pub fn restore_itimers(itimers: &[[u8; 32]]) {
    for (which, t) in itimers.iter().take(3).enumerate() {
        let t = rearm_value(*t);
        if t.iter().any(|&b| b != 0) {
            // SAFETY: 32-byte buffer; the old value is not asked for. A value the host
            // refuses (negative fields) leaves the timer disarmed.
            unsafe {
                libc::syscall(
                    libc::SYS_setitimer,
                    which as i32,
                    t.as_ptr(),
                    std::ptr::null_mut::<u8>(),
                )
            };
        }
    }
}

/// One thread's state.
#[derive(Clone, Debug, Serialize, Deserialize)]
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

impl Process {
    /// The process-wide state now (threads are saved separately, each by its own
    /// host thread while it is stopped between run slices). Fails, naming the
    /// descriptor, when a descriptor cannot be recorded (see [`crate::fs::saved`]).
    pub fn save_state(&self) -> Result<ProcessState, String> {
        // Signals that reached the host process but no thread has claimed yet (one
        // may arrive while the threads are parked) become the process's pending
        // signals, which the state holds.
        for info in crate::signal::take_host_pending() {
            self.post(info);
        }
        let (frames, page_table_root, vmas, brk_start, brk) = {
            let mm = self.mm();
            (
                mm.frames.clone(),
                mm.root,
                mm.vmas.clone(),
                mm.brk_start,
                mm.brk,
            )
        };
        let files = self
            .files()
            .iter()
            .map(|(&fd, info)| saved::record(fd, info))
            .filter_map(Result::transpose)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ProcessState {
            frames,
            page_table_root,
            vmas,
            brk_start,
            brk,
            files,
            // Without --root the host's working directory is the program's.
            cwd: if self.opts.view.confined() {
                self.cwd()
            } else {
                std::env::current_dir()
                    .map(|d| d.display().to_string())
                    .unwrap_or_else(|_| self.cwd())
            },
            umask: self.umask.load(std::sync::atomic::Ordering::Relaxed),
            actions: self.actions().to_vec(),
            pending: self
                .pending
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
            thread_pending: self
                .thread_pending
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
            exe: self.exe.lock().unwrap_or_else(|e| e.into_inner()).clone(),
            rlimits: self
                .rlimits
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .to_vec(),
            insns: self.insns.load(std::sync::atomic::Ordering::Relaxed),
            pid: self.guest_pid(),
            exe_host: self
                .exe_host
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .display()
                .to_string(),
            clock: self.clock.save(),
            itimers: save_itimers(),
        })
    }
}

impl Thread {
    /// This thread's state (call between run slices, from the thread itself).
    pub fn save_state(&self) -> ThreadState {
        ThreadState {
            tid: self.tid,
            hart: self.hart.state().clone(),
            sigmask: self.sigmask,
            saved_mask: self.saved_mask,
            altstack: self.altstack,
            clear_child_tid: self.clear_child_tid,
            robust_list: self.robust_list,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mm::vma::{Backing, Vma, PROT_READ, PROT_WRITE};
    use crate::process::Options;

    #[test]
    fn an_expired_periodic_timer_is_armed_again() {
        let tv = |sec: i64, usec: i64| [sec.to_le_bytes(), usec.to_le_bytes()].concat();
        let itv = |interval: Vec<u8>, value: Vec<u8>| -> [u8; 32] {
            [interval, value].concat().try_into().expect("32 bytes")
        };
        // Periodic, expired, signal not yet taken: due at once.
        assert_eq!(
            rearm_value(itv(tv(0, 20_000), tv(0, 0))),
            itv(tv(0, 20_000), tv(0, 1))
        );
        // Running timers, one-shot or periodic, and disarmed ones stay as read.
        for t in [
            itv(tv(0, 20_000), tv(0, 7_000)),
            itv(tv(0, 0), tv(3, 0)),
            itv(tv(0, 0), tv(0, 0)),
        ] {
            assert_eq!(rearm_value(t), t);
        }
    }

    #[test]
    fn process_state_is_plain_data() {
        let proc = Process::new(Options {
            memory: 64 << 20,
            slice: 1000,
            ..Options::default()
        })
        .expect("process");
        {
            let mut mm = proc.mm();
            mm.map(Vma {
                start: 0x10000,
                end: 0x20000,
                prot: PROT_READ | PROT_WRITE,
                shared: false,
                backing: Backing::Anon,
            });
            mm.poke(0x10008, b"data").expect("poke");
        }
        let s = proc.save_state().expect("state");
        assert_eq!(s.vmas.iter().count(), 1);
        assert!(s.frames.used() >= 2, "the root table and the page");
        assert_eq!(s.actions.len(), crate::signal::NSIG + 1);
        let t = s.clone();
        assert_eq!(format!("{t:?}"), format!("{s:?}"));
    }
}
