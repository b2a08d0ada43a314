//! A process VM: the state shared by all threads of one guest process.
//!
//! Everything the guest can observe is plain data here or in the threads' hart
//! states: the address space ([`Mm`]: page tables in guest physical memory, areas,
//! frames), the descriptor table, signal actions, the current directory. Host objects
//! (descriptors, host threads) are the live counterparts of that data.

use std::sync::atomic::{AtomicI32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tern_hart::{ClockMode, GuestRam, VirtualClock};

use crate::errno::Errno;
use crate::fs::paths::Paths;
use crate::fs::root::Anchors;
use crate::fs::view::FileView;
use crate::fs::{guest_fd_limit, FdTable};
use crate::mm::shootdown::Shootdown;
use crate::mm::{Mm, PHYS_BASE};
use crate::pause::{Pause, PauseError};
use crate::signal::{SigAction, SigInfo, NSIG};
use crate::strace::Strace;

/// How a process VM is run (`tern exec` options).
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The file-system view (`--root`, `--bind`, `--sysroot`).
    pub view: FileView,
    /// Print system calls to stderr.
    pub strace: bool,
    /// Stop after this many instructions (exit status 124).
    pub max_insns: Option<u64>,
    /// Physical memory reserved for the process, in bytes.
    pub memory: u64,
    /// Instructions per run slice (host signals are looked at between slices).
    pub slice: u64,
    /// The emulator's own executable (for `execve` of riscv64 programs).
    pub self_exe: Option<std::path::PathBuf>,
    /// The control API's socket (`--api-sock`): a riscv64 program started by `execve`
    /// serves it in turn.
    pub api_sock: Option<std::path::PathBuf>,
    /// The root of the VM's process tree (`--vm-root`, given to programs started by
    /// `execve`); `None`: this process is the root (see [`crate::tree`]).
    pub vm_root: Option<crate::tree::ProcId>,
    /// The VM's SysV IPC arena inherited from the process that ran `execve`
    /// (`--ipc-fd`); `None`: this process starts a VM and makes one ([`crate::ipc`]).
    pub ipc_fd: Option<i32>,
    /// Resource limits kept for the guest rather than applied to the host
    /// (`--rlimit RES:CUR:MAX`, given to programs started by `execve`, which keeps
    /// limits on Linux): `(resource, soft, hard)`.
    pub rlimits: Vec<(u32, u64, u64)>,
}

impl Options {
    /// The `tern exec` options that recreate this file view and these settings in a
    /// new process (`execve`); `done` instructions were already used from
    /// `--max-insns`.
    pub fn to_args(&self, done: u64) -> Vec<String> {
        let mut v = Vec::new();
        if let Some(r) = &self.view.root {
            v.push("--root".into());
            v.push(r.display().to_string());
        }
        for (g, h) in &self.view.binds {
            v.push("--bind".into());
            v.push(format!("{}:{}", h.display(), g));
        }
        if let Some(s) = &self.view.sysroot {
            v.push("--sysroot".into());
            v.push(s.display().to_string());
        }
        if self.strace {
            v.push("--strace".into());
        }
        if let Some(m) = self.max_insns {
            v.push("--max-insns".into());
            v.push(m.saturating_sub(done).max(1).to_string());
        }
        v.push("--memory".into());
        v.push((self.memory >> 20).to_string());
        if tern_hart::default_engine() == tern_hart::Engine::Jit {
            v.push("--engine".into());
            v.push("jit".into());
        }
        // The new program stays in this VM's process tree.
        if let Some(root) = self.vm_root {
            v.push("--vm-root".into());
            v.push(root.to_string());
        }
        // The new program stays in this VM's IPC namespace.
        if let Some(fd) = crate::ipc::fd() {
            v.push("--ipc-fd".into());
            v.push(fd.to_string());
        }
        for (res, cur, max) in &self.rlimits {
            v.push("--rlimit".into());
            v.push(format!("{res}:{cur}:{max}"));
        }
        if let Some(s) = &self.api_sock {
            // A forked child's `execve` does not take the socket over: its parent
            // still serves it.
            // SAFETY: getpid cannot fail.
            if API_SERVER.load(Ordering::Relaxed) == unsafe { libc::getpid() } {
                v.push("--api-sock".into());
                v.push(s.display().to_string());
            }
        }
        v
    }
}

/// The host process that serves the control API (`--api-sock`).
static API_SERVER: AtomicI32 = AtomicI32::new(0);

/// Records that this host process serves the control API: the program's `execve`
/// hands the socket on to the new program, a forked child's does not.
pub fn serving_api() {
    // SAFETY: getpid cannot fail.
    API_SERVER.store(unsafe { libc::getpid() }, Ordering::Relaxed);
}

/// The largest copy of user memory [`Process::read_mem`] makes (a `ppoll` array
/// for a million descriptors).
pub const READ_MEM_MAX: usize = 8 << 20;

/// Exit status when `--max-insns` stops the program (as `timeout(1)` uses).
pub const EXIT_LIMIT: i32 = 124;

/// The most threads a process VM with `memory` bytes of physical memory may have
/// alive at once: one per MiB, between [`MIN_THREADS`] and [`MAX_THREADS`]. Guest
/// threads are host threads, each with a hart (about 0.4 MiB of host memory) and a
/// scratch buffer of up to 1 MiB, so the limit keeps what threads cost the host
/// within a bound proportional to `--memory`.
pub fn thread_limit(memory: u64) -> usize {
    ((memory >> 20) as usize).clamp(MIN_THREADS, MAX_THREADS)
}

/// The thread limit of the smallest process VM.
pub const MIN_THREADS: usize = 16;
/// The thread limit of the largest process VM.
pub const MAX_THREADS: usize = 4096;

/// A thread about to start, counted against the thread limit
/// ([`Process::reserve_thread`]) until it is dropped: by then the new thread counts
/// in [`Process::threads`] (or failed to start).
pub struct ThreadSlot(Arc<Process>);

impl std::fmt::Debug for ThreadSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ThreadSlot")
    }
}

impl Drop for ThreadSlot {
    fn drop(&mut self) {
        self.0.threads_starting.fetch_sub(1, Ordering::SeqCst);
    }
}

/// State shared by the threads of a process.
pub struct Process {
    /// Options.
    pub opts: Options,
    /// The process's clock (`rdtime`).
    pub clock: Arc<VirtualClock>,
    /// TLB shootdown coordination.
    pub shoot: Arc<Shootdown>,
    /// The address space.
    pub mm: Mutex<Mm>,
    /// The descriptor table's plain-data side.
    pub files: Mutex<FdTable>,
    /// The current directory as a guest path (with `--root`; otherwise the host's).
    pub cwd: Mutex<String>,
    /// `umask`.
    pub umask: AtomicU64,
    /// Signal actions (index = signal number).
    pub actions: Mutex<[SigAction; NSIG + 1]>,
    /// Signals pending for the process as a whole.
    pub pending: Mutex<Vec<SigInfo>>,
    /// Signals pending for particular threads: `(tid, info)`.
    pub thread_pending: Mutex<Vec<(i32, SigInfo)>>,
    /// Guest path of the running program (`/proc/self/exe`).
    pub exe: Mutex<String>,
    /// Host path of the running program.
    pub exe_host: Mutex<std::path::PathBuf>,
    /// Live threads.
    pub threads: AtomicUsize,
    /// Threads being started by `clone` (counted against the thread limit).
    pub threads_starting: AtomicUsize,
    /// Instructions retired by all threads.
    pub insns: AtomicU64,
    /// `--strace` output.
    pub strace: Strace,
    /// Resource limits set by the guest that are not applied to the host (see
    /// `syscalls::misc::prlimit64`).
    pub rlimits: Mutex<[Option<(u64, u64)>; 16]>,
    /// The file view's anchor descriptors (`--root`, `--bind`, `--sysroot`), above
    /// the guest's descriptors: every path is resolved from them.
    pub anchors: Anchors,
    /// Guest `RLIMIT_NOFILE` soft limit (descriptors at or above it are the emulator's).
    pub fd_limit: i32,
    /// The guest's process id: the host's, except in a process restored from a
    /// snapshot, which keeps the id it had (`getpid`, signals to itself).
    pub pid: AtomicI32,
    /// Pausing the threads (control API).
    pub pause: Pause,
    /// A host debugger's settings for the threads' harts (by tid) and their stop
    /// reports (`tern exec --gdb`).
    pub debug: tern_hart::DebugHub,
}

impl Process {
    /// A process with an empty address space.
    pub fn new(opts: Options) -> Result<Arc<Process>, String> {
        Process::with_fd_limit(opts, guest_fd_limit())
    }

    /// A process with an empty address space whose guest descriptors stay below
    /// `fd_limit` (the host's soft limit must leave room above it).
    pub fn with_fd_limit(opts: Options, fd_limit: i32) -> Result<Arc<Process>, String> {
        let ram = GuestRam::new(PHYS_BASE, crate::mm::phys_size(opts.memory))
            .map_err(|e| format!("cannot reserve guest memory: {e}"))?;
        let shoot = Arc::new(Shootdown::default());
        let mm = Mm::new(Arc::new(ram), shoot.clone()).map_err(|e| format!("{e:?}"))?;
        Process::from_parts(opts, fd_limit, shoot, mm)
    }

    /// A process around address space `mm`, whose harts are registered with `shoot`
    /// (a new one, or one restored from a snapshot).
    pub(crate) fn from_parts(
        opts: Options,
        fd_limit: i32,
        shoot: Arc<Shootdown>,
        mm: Mm,
    ) -> Result<Arc<Process>, String> {
        let mut opts = opts;
        let opts_rlimits = std::mem::take(&mut opts.rlimits);
        // Without a root given, this process is the root of its VM's tree.
        opts.vm_root
            .get_or_insert_with(crate::tree::ProcId::current);
        let strace = Strace::new(opts.strace, fd_limit);
        let anchors = Anchors::open(&opts.view, fd_limit)?;
        let cwd = match std::env::current_dir()
            .ok()
            .and_then(|d| opts.view.guest_of(&d))
        {
            Some(g) => g,
            None => {
                // Started outside the root: the host process moves into it, so
                // that nothing it does can be relative to a directory outside.
                if let (true, Some(root)) = (anchors.confined(), anchors.root_fd()) {
                    crate::fs::root::chdir_fd(root).map_err(|e| {
                        format!(
                            "cannot enter the root directory: {}",
                            std::io::Error::from_raw_os_error(e.0)
                        )
                    })?;
                }
                "/".into()
            }
        };
        let actions = crate::signal::init_host();
        Ok(Arc::new(Process {
            clock: Arc::new(VirtualClock::new(ClockMode::Host)),
            shoot,
            mm: Mutex::new(mm),
            files: Mutex::new(FdTable::new(fd_limit)),
            cwd: Mutex::new(cwd),
            umask: AtomicU64::new(crate::limits::host_umask()),
            actions: Mutex::new(actions),
            pending: Mutex::new(Vec::new()),
            thread_pending: Mutex::new(Vec::new()),
            exe: Mutex::new(String::new()),
            exe_host: Mutex::new(std::path::PathBuf::new()),
            threads: AtomicUsize::new(0),
            threads_starting: AtomicUsize::new(0),
            insns: AtomicU64::new(0),
            strace,
            rlimits: Mutex::new(crate::limits::initial_limits(&opts_rlimits)),
            anchors,
            fd_limit,
            // SAFETY: getpid cannot fail.
            pid: AtomicI32::new(unsafe { libc::getpid() }),
            pause: Pause::default(),
            debug: tern_hart::DebugHub::default(),
            opts,
        }))
    }

    /// The root of the VM's process tree: the processes this one may signal are it
    /// and its descendants (see [`crate::tree`]).
    pub fn vm_root(&self) -> crate::tree::ProcId {
        self.opts
            .vm_root
            .unwrap_or(crate::tree::ProcId { pid: 0, start: 0 })
    }

    /// The guest's process id.
    pub fn guest_pid(&self) -> i32 {
        self.pid.load(Ordering::Relaxed)
    }

    /// Interrupts the blocking host call of host thread `host_tid` of this process
    /// with the wake-up signal (never seen by the guest).
    pub fn wake_host_thread(&self, host_tid: i32) {
        crate::signal::wake_host_thread(host_tid);
    }

    /// Stops every thread at an instruction boundary and keeps it stopped until
    /// [`Process::resume`]; returns once all have parked. Guest time stands still
    /// meanwhile. A paused process stays paused.
    pub fn pause(&self, timeout: Duration) -> Result<(), PauseError> {
        self.pause.pause(&self.shoot, &self.clock, timeout)
    }

    /// Lets a paused process run again.
    pub fn resume(&self) -> Result<(), PauseError> {
        self.pause.resume(&self.clock)
    }

    /// Stops the process for good: its threads are paused (as far as they pause
    /// within `timeout`) and never run again; the caller ends the host process.
    pub fn stop(&self, timeout: Duration) {
        self.pause.stop(&self.shoot, &self.clock, timeout)
    }

    /// Locks the address space.
    pub fn mm(&self) -> MutexGuard<'_, Mm> {
        self.mm.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What path lookups need of the process ([`crate::fs::locate`]).
    pub fn paths(&self) -> Paths<'_> {
        Paths {
            view: &self.opts.view,
            anchors: &self.anchors,
            cwd: &self.cwd,
            files: &self.files,
        }
    }

    /// Locks the descriptor table.
    pub fn files(&self) -> MutexGuard<'_, FdTable> {
        self.files.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Locks the signal actions.
    pub fn actions(&self) -> MutexGuard<'_, [SigAction; NSIG + 1]> {
        self.actions.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The current directory (guest path).
    pub fn cwd(&self) -> String {
        self.cwd.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Prints a statistics line on stderr when the process ends (`--stats`):
    /// instructions and time since `start`, peak guest memory, peak host RSS.
    pub fn enable_stats(self: &Arc<Self>, start: Instant) {
        let proc = Arc::clone(self);
        crate::exit::report_at_exit(move || {
            let secs = start.elapsed().as_secs_f64();
            let n = proc.insns.load(Ordering::Relaxed);
            let frames = proc.mm().frames_peak();
            // SAFETY: getrusage on a local struct.
            let maxrss = unsafe {
                let mut ru: libc::rusage = std::mem::zeroed();
                libc::getrusage(libc::RUSAGE_SELF, &mut ru);
                ru.ru_maxrss
            };
            eprintln!(
                "tern: {n} instructions in {secs:.3} s ({:.1} MIPS), peak guest memory {} KiB, peak host RSS {maxrss} KiB",
                n as f64 / secs.max(1e-9) / 1e6,
                frames.saturating_mul(4)
            );
        });
    }

    /// Counts a thread about to start against the limit, or refuses with `EAGAIN`
    /// (what `clone` gives at `RLIMIT_NPROC`). Threads being started count as
    /// alive, so that concurrent `clone`s cannot overshoot.
    pub fn reserve_thread(self: &Arc<Self>) -> Result<ThreadSlot, Errno> {
        let limit = thread_limit(self.opts.memory);
        let starting = self.threads_starting.fetch_add(1, Ordering::SeqCst);
        let slot = ThreadSlot(Arc::clone(self));
        if self.threads.load(Ordering::SeqCst) + starting >= limit {
            return Err(Errno::EAGAIN);
        }
        Ok(slot)
    }

    /// Adds retired instructions; returns the new total.
    pub fn count(&self, n: u64) -> u64 {
        self.insns.fetch_add(n, Ordering::Relaxed) + n
    }

    /// Reads `len` bytes of user memory into a new host buffer, for structures and
    /// small arrays (at most [`READ_MEM_MAX`]; data goes through the scratch buffer
    /// of `syscalls::transfer` instead).
    pub fn read_mem(&self, va: u64, len: usize) -> Result<Vec<u8>, Errno> {
        if len > READ_MEM_MAX {
            return Err(Errno::EINVAL);
        }
        let mut buf = vec![0u8; len];
        self.mm().read(va, &mut buf)?;
        Ok(buf)
    }

    /// Writes user memory.
    pub fn write_mem(&self, va: u64, data: &[u8]) -> Result<(), Errno> {
        self.mm().write(va, data)
    }

    /// Reads a little-endian u64 from user memory.
    pub fn read_u64(&self, va: u64) -> Result<u64, Errno> {
        let mut b = [0u8; 8];
        self.mm().read(va, &mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    /// Reads a little-endian u32 from user memory.
    pub fn read_u32(&self, va: u64) -> Result<u32, Errno> {
        let mut b = [0u8; 4];
        self.mm().read(va, &mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    /// Writes a little-endian u64 to user memory.
    pub fn write_u64(&self, va: u64, v: u64) -> Result<(), Errno> {
        self.mm().write(va, &v.to_le_bytes())
    }

    /// Writes a little-endian u32 to user memory.
    pub fn write_u32(&self, va: u64, v: u32) -> Result<(), Errno> {
        self.mm().write(va, &v.to_le_bytes())
    }

    /// Reads a path argument (NUL-terminated, at most `PATH_MAX`).
    pub fn read_path(&self, va: u64) -> Result<Vec<u8>, Errno> {
        if va == 0 {
            return Err(Errno::EFAULT);
        }
        self.mm().read_cstr(va, 4096)
    }

    /// Queues a signal for the whole process.
    pub fn post(&self, info: SigInfo) {
        let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        // Standard signals do not queue: one pending instance at most.
        if info.signo < 32 && p.iter().any(|i| i.signo == info.signo) {
            return;
        }
        p.push(info);
        drop(p);
        crate::sigwatch::notify(self as *const Process as usize, info.signo);
    }

    /// Queues a signal for thread `tid` and interrupts its blocking host call.
    pub fn post_thread(&self, tid: i32, info: SigInfo) {
        {
            let mut p = self
                .thread_pending
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if !(info.signo < 32 && p.iter().any(|(t, i)| *t == tid && i.signo == info.signo)) {
                p.push((tid, info));
            }
        }
        crate::sigwatch::notify(self as *const Process as usize, info.signo);
        self.shoot.kick(tid);
        if let Some(host_tid) = self.shoot.host_tid(tid) {
            self.wake_host_thread(host_tid);
        }
    }
}
