//! Guest signals: actions, masks, the riscv64 `rt_sigframe`, and the link to host
//! signals.
//!
//! Each process VM is a host process and each guest thread a host thread, so signals
//! between processes travel as host signals with the same numbers (riscv64 and x86-64
//! share the generic numbering for 1–31). For every signal the guest's disposition is
//! mirrored on the host: `SIG_DFL` stays the host default (so an unhandled SIGTERM or
//! SIGPIPE ends the emulator exactly as it ends the program, and the parent sees the
//! signal in `wait`), `SIG_IGN` is ignored by the host (and stays ignored across
//! `execve`), and a guest handler becomes [`record`], which notes the signal for the
//! guest thread loop and makes a blocking host call return `EINTR`. Guest signal masks
//! are mirrored into the host threads' masks for the same reason.
//!
//! Faults (page faults, illegal instructions, misaligned atomics) and signals a process
//! sends itself are delivered without the host. Delivery builds the frame that
//! arch/riscv/kernel/signal.c builds: `struct rt_sigframe { siginfo; ucontext }` with
//! the general registers (`pc` in slot 0) and the D-extension state in
//! `uc_mcontext`, and returns through the trampoline page with `rt_sigreturn`.

use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

/// Highest signal number.
pub const NSIG: usize = 64;

/// Signal numbers (asm-generic).
#[allow(missing_docs)]
pub mod sig {
    pub const SIGHUP: i32 = 1;
    pub const SIGINT: i32 = 2;
    pub const SIGQUIT: i32 = 3;
    pub const SIGILL: i32 = 4;
    pub const SIGTRAP: i32 = 5;
    pub const SIGABRT: i32 = 6;
    pub const SIGBUS: i32 = 7;
    pub const SIGFPE: i32 = 8;
    pub const SIGKILL: i32 = 9;
    pub const SIGUSR1: i32 = 10;
    pub const SIGSEGV: i32 = 11;
    pub const SIGUSR2: i32 = 12;
    pub const SIGPIPE: i32 = 13;
    pub const SIGALRM: i32 = 14;
    pub const SIGTERM: i32 = 15;
    pub const SIGCHLD: i32 = 17;
    pub const SIGCONT: i32 = 18;
    pub const SIGSTOP: i32 = 19;
    pub const SIGTSTP: i32 = 20;
    pub const SIGTTIN: i32 = 21;
    pub const SIGTTOU: i32 = 22;
    pub const SIGURG: i32 = 23;
    pub const SIGWINCH: i32 = 28;
}

/// `sa_handler` values.
pub const SIG_DFL: u64 = 0;
/// Ignore.
pub const SIG_IGN: u64 = 1;
/// `SA_SIGINFO`.
pub const SA_SIGINFO: u64 = 4;
/// `SA_ONSTACK`.
pub const SA_ONSTACK: u64 = 0x0800_0000;
/// `SA_RESTART`.
pub const SA_RESTART: u64 = 0x1000_0000;
/// `SA_NODEFER`.
pub const SA_NODEFER: u64 = 0x4000_0000;
/// `SA_RESETHAND`.
pub const SA_RESETHAND: u64 = 0x8000_0000;
/// `SS_ONSTACK`.
pub const SS_ONSTACK: i32 = 1;
/// `SS_DISABLE`.
pub const SS_DISABLE: i32 = 2;

/// `si_code` values.
#[allow(missing_docs)]
pub mod code {
    pub const SI_USER: i32 = 0;
    pub const SI_TKILL: i32 = -6;
    pub const SEGV_MAPERR: i32 = 1;
    pub const SEGV_ACCERR: i32 = 2;
    pub const BUS_ADRALN: i32 = 1;
    pub const BUS_ADRERR: i32 = 2;
    pub const ILL_ILLOPC: i32 = 1;
    pub const TRAP_BRKPT: i32 = 1;
}

/// The bit of signal `n` in a mask.
pub fn bit(n: i32) -> u64 {
    if (1..=NSIG as i32).contains(&n) {
        1 << (n - 1)
    } else {
        0
    }
}

/// Signals that can be neither caught nor blocked.
pub const UNBLOCKABLE: u64 = (1 << (sig::SIGKILL - 1)) | (1 << (sig::SIGSTOP - 1));

/// One `struct sigaction` (riscv64 has no `sa_restorer`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigAction {
    /// `sa_handler` / `sa_sigaction`.
    pub handler: u64,
    /// `sa_flags`.
    pub flags: u64,
    /// `sa_mask`.
    pub mask: u64,
}

/// What a signal does when its action is `SIG_DFL`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Default_ {
    /// Nothing.
    Ignore,
    /// The process ends.
    Terminate,
    /// The process stops.
    Stop,
    /// The process continues.
    Continue,
}

/// The default action of signal `n` (signal(7)).
pub fn default_action(n: i32) -> Default_ {
    match n {
        sig::SIGCHLD | sig::SIGURG | sig::SIGWINCH => Default_::Ignore,
        sig::SIGSTOP | sig::SIGTSTP | sig::SIGTTIN | sig::SIGTTOU => Default_::Stop,
        sig::SIGCONT => Default_::Continue,
        _ => Default_::Terminate,
    }
}

/// The data of a signal on its way to a handler (`siginfo_t` fields that matter).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigInfo {
    /// `si_signo`.
    pub signo: i32,
    /// `si_code`.
    pub code: i32,
    /// `si_addr` for faults; `si_pid | si_uid << 32` otherwise.
    pub addr: u64,
    /// `si_status` (SIGCHLD) or `si_value` (rt signals).
    pub value: u64,
}

impl SigInfo {
    /// The 128-byte `siginfo_t`.
    pub fn to_bytes(&self) -> [u8; 128] {
        let mut b = [0u8; 128];
        b[0..4].copy_from_slice(&self.signo.to_le_bytes());
        b[8..12].copy_from_slice(&self.code.to_le_bytes());
        b[16..24].copy_from_slice(&self.addr.to_le_bytes());
        b[24..32].copy_from_slice(&self.value.to_le_bytes());
        b
    }
}

/// `stack_t` of `sigaltstack`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AltStack {
    /// `ss_sp`.
    pub sp: u64,
    /// `ss_flags` (`SS_DISABLE` when none is set).
    pub flags: i32,
    /// `ss_size`.
    pub size: u64,
}

impl AltStack {
    /// Whether `sp` lies on this alternate stack.
    pub fn contains(&self, sp: u64) -> bool {
        self.flags & SS_DISABLE == 0 && sp > self.sp && sp - self.sp <= self.size
    }
}

/// Layout of the riscv64 `rt_sigframe`.
pub mod frame {
    /// Size of `struct rt_sigframe` (siginfo 128 + ucontext 960).
    pub const SIZE: u64 = 1088;
    /// Offset of `uc` in the frame.
    pub const UC: u64 = 128;
    /// Offset of `uc_stack` in the frame.
    pub const UC_STACK: u64 = UC + 16;
    /// Offset of `uc_sigmask` in the frame.
    pub const UC_SIGMASK: u64 = UC + 40;
    /// Offset of `uc_mcontext.sc_regs` (16-byte aligned after the 128-byte
    /// `uc_sigmask` area).
    pub const REGS: u64 = UC + 176;
    /// Offset of `sc_fpregs` (`__riscv_d_ext_state`: `f[32]`, then `fcsr`).
    pub const FPREGS: u64 = REGS + 256;
    /// Offset of `fcsr`.
    pub const FCSR: u64 = FPREGS + 256;
}

/// The trampoline on the signal page: `li a7, 139` (`rt_sigreturn`); `ecall`.
pub const TRAMPOLINE: [u32; 2] = [0x08b0_0893, 0x0000_0073];

/// Signals that arrived through host handlers, one bit per signal, not yet claimed by
/// a guest thread.
static HOST_PENDING: AtomicU64 = AtomicU64::new(0);
/// Sender pid / `si_code` / status of the last host delivery of each signal.
static HOST_PID: [AtomicI32; NSIG + 1] = [const { AtomicI32::new(0) }; NSIG + 1];
static HOST_CODE: [AtomicI32; NSIG + 1] = [const { AtomicI32::new(0) }; NSIG + 1];
static HOST_STATUS: [AtomicI32; NSIG + 1] = [const { AtomicI32::new(0) }; NSIG + 1];

/// The host signal that interrupts a guest thread's blocking host call (a guest
/// thread got a signal, or the process is exiting). Never seen by the guest: guest
/// real-time signals are emulated, not mirrored to the host's.
///
/// Not the last real-time signals: a tern built for another architecture and run
/// under qemu-user 7.2 cannot send those. Measured with a C program calling
/// `tgkill` under `qemu-aarch64`: `SIGRTMAX - 1` and `SIGRTMAX` fail with `EINVAL`,
/// `SIGRTMIN` up to `SIGRTMAX - 2` are delivered. A wake-up that is never delivered
/// leaves a thread blocked in a host call unpausable, so a process VM could not
/// migrate away from such a host.
pub fn wake_signal() -> i32 {
    libc::SIGRTMAX() - 8
}

/// Interrupts the blocking host call of host thread `host_tid` of this process with
/// the wake-up signal (never seen by the guest).
pub fn wake_host_thread(host_tid: i32) {
    // SAFETY: tgkill to a thread of this process with the wake-up signal, whose
    // handler does nothing but make a blocking call return EINTR.
    unsafe {
        libc::syscall(libc::SYS_tgkill, libc::getpid(), host_tid, wake_signal());
    }
}

/// Host handler for signals the guest handles: records them (async-signal-safe).
extern "C" fn record(signo: i32, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    if signo == wake_signal() {
        return;
    }
    if (1..=NSIG as i32).contains(&signo) {
        if !info.is_null() {
            // SAFETY: the kernel passes a valid siginfo to an SA_SIGINFO handler.
            let (pid, code, status) = unsafe {
                let i = &*info;
                (i.si_pid(), i.si_code, i.si_status())
            };
            // A child killed by a signal that Linux would have dumped core for
            // (the zombie's mark, a raw system call: async-signal-safe).
            let code = if signo == sig::SIGCHLD
                && code == CLD_KILLED
                && dumps_core(status)
                && core_marked(pid)
            {
                CLD_DUMPED
            } else {
                code
            };
            HOST_PID[signo as usize].store(pid, Ordering::Relaxed);
            HOST_CODE[signo as usize].store(code, Ordering::Relaxed);
            HOST_STATUS[signo as usize].store(status, Ordering::Relaxed);
        }
        HOST_PENDING.fetch_or(bit(signo), Ordering::SeqCst);
    }
}

/// The host signals that are both the emulator's own faults and signals another
/// process may send the program with `kill`: SIGILL, SIGBUS, SIGFPE, SIGSEGV.
pub const FAULT_SIGNALS: [i32; 4] = [sig::SIGILL, sig::SIGBUS, sig::SIGFPE, sig::SIGSEGV];

/// The host's action for each of [`FAULT_SIGNALS`] from before [`catch_sent`]
/// (the Rust runtime's stack-overflow handler for SIGSEGV and SIGBUS): a handler's
/// address, or `SIG_DFL` (0).
static HOST_FAULT_PREV: [AtomicU64; NSIG + 1] = [const { AtomicU64::new(0) }; NSIG + 1];
/// Whether that previous handler takes a `siginfo` (`SA_SIGINFO`).
static HOST_FAULT_PREV_INFO: [AtomicU64; NSIG + 1] = [const { AtomicU64::new(0) }; NSIG + 1];

/// Host handler of [`FAULT_SIGNALS`]. A signal some process sent (`si_code` <= 0:
/// `SI_USER`, `SI_QUEUE`, `SI_TKILL`...) is the program's: it is recorded like any
/// other ([`record`]) and the guest thread loop then decides by the guest's
/// disposition — ignored, handled, or the end of the process — in the one place
/// that decides it for every signal. A real fault of the emulator (a positive
/// `si_code`) goes to the handler that was there before (the Rust runtime reports a
/// host stack overflow), or, without one, back to the default action, which the
/// faulting instruction then meets again.
extern "C" fn fault_or_sent(signo: i32, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    let code = if info.is_null() {
        1
    } else {
        // SAFETY: the kernel passes a valid siginfo to an SA_SIGINFO handler.
        unsafe { (*info).si_code }
    };
    if code <= 0 {
        record(signo, info, ctx);
        return;
    }
    let n = signo.clamp(0, NSIG as i32) as usize;
    let prev = HOST_FAULT_PREV[n].load(Ordering::Relaxed) as usize;
    if prev == libc::SIG_DFL || prev == libc::SIG_IGN {
        // SAFETY: resets this signal's action to the default; async-signal-safe.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = libc::SIG_DFL;
            libc::sigaction(signo, &sa, std::ptr::null_mut());
        }
        return;
    }
    if HOST_FAULT_PREV_INFO[n].load(Ordering::Relaxed) != 0 {
        // SAFETY: `prev` was installed with SA_SIGINFO, so it has this signature.
        let f: extern "C" fn(i32, *mut libc::siginfo_t, *mut libc::c_void) =
            unsafe { std::mem::transmute(prev) };
        f(signo, info, ctx);
    } else {
        // SAFETY: `prev` was installed without SA_SIGINFO: a plain handler.
        let f: extern "C" fn(i32) = unsafe { std::mem::transmute(prev) };
        f(signo);
    }
}

/// Installs [`fault_or_sent`] for [`FAULT_SIGNALS`], keeping the handlers that were
/// there (once per host process: a second call finds its own handler and leaves
/// the saved ones alone).
fn catch_sent() {
    let mine = fault_or_sent as *const () as usize;
    for n in FAULT_SIGNALS {
        // SAFETY: sigaction with local structs; the handler only records the
        // signal (atomics) or calls the handler that was installed before it.
        unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(n, std::ptr::null(), &mut old) != 0 || old.sa_sigaction == mine {
                continue;
            }
            HOST_FAULT_PREV[n as usize].store(old.sa_sigaction as u64, Ordering::Relaxed);
            HOST_FAULT_PREV_INFO[n as usize].store(
                u64::from(old.sa_flags & libc::SA_SIGINFO != 0),
                Ordering::Relaxed,
            );
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = mine;
            // On the alternate stack, where the runtime's handler expects to run
            // when the host stack overflowed.
            sa.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(n, &sa, std::ptr::null_mut());
        }
    }
}

/// Takes the signals that host handlers recorded, with their `siginfo` data, in
/// increasing order. The run loop asks before every slice and after every system
/// call, and almost always nothing was recorded: that case is one load.
pub fn take_host_pending() -> Vec<SigInfo> {
    if HOST_PENDING.load(Ordering::Relaxed) == 0 {
        return Vec::new();
    }
    let mut bits = HOST_PENDING.swap(0, Ordering::SeqCst);
    let mut out = Vec::new();
    while bits != 0 {
        let n = bits.trailing_zeros() as usize + 1;
        bits &= bits - 1;
        let pid = HOST_PID[n].load(Ordering::Relaxed);
        out.push(SigInfo {
            signo: n as i32,
            code: HOST_CODE[n].load(Ordering::Relaxed),
            addr: pid as u32 as u64,
            value: HOST_STATUS[n].load(Ordering::Relaxed) as u32 as u64,
        });
    }
    out
}

/// Whether host handlers recorded anything.
pub fn host_pending() -> bool {
    HOST_PENDING.load(Ordering::Relaxed) != 0
}

/// Signals whose host disposition follows the guest's (the synchronous fault signals
/// stay with the host: a host fault there is an emulator bug and must not be hidden,
/// and the same signals sent by another process reach the guest through
/// [`fault_or_sent`]; so does `SIGSYS` (31), the sandbox's seccomp trap, which must
/// stop the emulator).
pub fn mirrored(n: i32) -> bool {
    (1..32).contains(&n)
        && !matches!(
            n,
            sig::SIGKILL
                | sig::SIGSTOP
                | sig::SIGSEGV
                | sig::SIGBUS
                | sig::SIGILL
                | sig::SIGFPE
                | 31
        )
}

/// Sets the host disposition of signal `n` to follow guest action `act`.
pub fn mirror_action(n: i32, act: &SigAction) {
    if !mirrored(n) {
        return;
    }
    let handler = match act.handler {
        SIG_DFL => libc::SIG_DFL,
        SIG_IGN => libc::SIG_IGN,
        _ => record as *const () as usize,
    };
    install_host(n, handler);
}

fn install_host(n: i32, handler: usize) {
    // SAFETY: plain sigaction call with a zeroed, then filled, struct; `record` is
    // async-signal-safe (atomics only).
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = handler;
        sa.sa_flags = libc::SA_SIGINFO;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(n, &sa, std::ptr::null_mut());
    }
}

/// Prepares the host side at start-up: the wake-up signal handler, `SIGPIPE` back to
/// its default (the Rust runtime ignores it), and returns the guest's initial
/// actions: signals the host ignored when tern started stay ignored (as across
/// `execve`).
pub fn init_host() -> [SigAction; NSIG + 1] {
    install_host(wake_signal(), record as *const () as usize);
    catch_sent();
    install_host(sig::SIGPIPE, libc::SIG_DFL);
    let mut acts = [SigAction::default(); NSIG + 1];
    for (n, act) in acts.iter_mut().enumerate().skip(1).take(31) {
        let n = n as i32;
        if !mirrored(n) {
            continue;
        }
        // SAFETY: querying the current disposition only.
        let ignored = unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            libc::sigaction(n, std::ptr::null(), &mut old) == 0 && old.sa_sigaction == libc::SIG_IGN
        };
        if ignored {
            act.handler = SIG_IGN;
        }
    }
    acts
}

/// Mirrors a guest thread's signal mask into the calling host thread's mask.
pub fn mirror_mask(mask: u64) {
    // SAFETY: sigset manipulation on a local, then pthread_sigmask for this thread.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for n in 1..32 {
            if mirrored(n) && mask & bit(n) != 0 {
                libc::sigaddset(&mut set, n);
            }
        }
        libc::pthread_sigmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
    }
}

/// Blocks, in the calling host thread, every signal a guest thread may take (the
/// mirrored ones and [`FAULT_SIGNALS`] sent by another process). For host threads
/// that run no guest code (a restored process's first thread, which only waits,
/// and the helper threads it starts): a process-directed signal then goes to a
/// guest thread that does not block it, whose blocking host call it interrupts.
/// Taken by a thread without guest code, it would only be recorded, and a guest
/// thread waiting in `pause` or a futex would not see it until something else woke
/// it. Threads started from here inherit the mask; guest threads set their own.
pub fn block_host_signals() {
    // SAFETY: sigset manipulation on a local, then pthread_sigmask for this thread.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for n in 1..32 {
            if mirrored(n) || FAULT_SIGNALS.contains(&n) {
                libc::sigaddset(&mut set, n);
            }
        }
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
}

/// The guest mask implied by the calling host thread's mask (what `execve` kept from
/// the previous program), with the wake-up signal unblocked on the host.
pub fn inherited_mask() -> u64 {
    let mut mask = 0;
    // SAFETY: querying and adjusting this thread's mask.
    unsafe {
        let mut cur: libc::sigset_t = std::mem::zeroed();
        libc::pthread_sigmask(libc::SIG_SETMASK, std::ptr::null(), &mut cur);
        for n in 1..32 {
            if mirrored(n) && libc::sigismember(&cur, n) == 1 {
                mask |= bit(n);
            }
        }
        let mut wake: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut wake);
        libc::sigaddset(&mut wake, wake_signal());
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &wake, std::ptr::null_mut());
    }
    mask
}

/// Ends the emulator the way signal `n` ends the program: with the host default
/// action of the same signal, so that the parent sees it in `wait` (and a shell
/// reports 128 + n). Core dumps are suppressed (the sandbox's hard `RLIMIT_CORE`
/// is 0 anyway). When Linux would have dumped the program's core, the process
/// says so to its parent, which computes the wait status's core-dump bit from it
/// ([`mark_core_dumped`]).
pub fn die_by_signal(n: i32) -> ! {
    use std::io::Write;
    let _ = std::io::stdout().flush();
    crate::exit::run_hooks();
    if dumps_core(n) && GUEST_CORE_LIMIT.load(Ordering::Relaxed) >= MIN_COREDUMP {
        mark_core_dumped();
    }
    // SAFETY: plain libc calls on this process; nothing is borrowed.
    unsafe {
        let lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        libc::setrlimit(libc::RLIMIT_CORE, &lim);
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = libc::SIG_DFL;
        libc::sigaction(n, &sa, std::ptr::null_mut());
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, n);
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        libc::raise(n);
    }
    std::process::exit(128 + n)
}

/// Whether the default action of signal `n` dumps core (signal(7)).
pub fn dumps_core(n: i32) -> bool {
    matches!(
        n,
        sig::SIGQUIT
            | sig::SIGILL
            | sig::SIGTRAP
            | sig::SIGABRT
            | sig::SIGBUS
            | sig::SIGFPE
            | sig::SIGSEGV
            | 24 // SIGXCPU
            | 25 // SIGXFSZ
            | 31 // SIGSYS
    )
}

/// `si_code` of a child killed by a signal (`SIGCHLD`, `waitid`).
pub const CLD_KILLED: i32 = 2;
/// `si_code` of a child killed by a signal that dumped core.
pub const CLD_DUMPED: i32 = 3;

/// The smallest core file Linux writes (`binfmt->min_coredump`, a page): a smaller
/// `RLIMIT_CORE` means no core (fs/coredump.c).
pub const MIN_COREDUMP: u64 = 4096;

/// The guest's soft `RLIMIT_CORE` (kept for the guest: the host's is 0), which
/// decides whether the program's death by a signal "dumped core".
pub static GUEST_CORE_LIMIT: AtomicU64 = AtomicU64::new(0);

/// The soft `RLIMIT_RTTIME` of a dying process VM whose program would have dumped
/// core: its parent reads it from the zombie ([`core_marked`]). The limit means
/// nothing to a process that is ending (and tern's threads are never realtime).
const CORE_MARK: u64 = 0x636f_7265;

/// Marks this (dying) process as one whose program dumped core.
pub(crate) fn mark_core_dumped() {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit of this process on a local struct; lowering or
    // keeping within the hard limit needs no privilege.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_RTTIME, &mut r) == 0 && r.rlim_max >= CORE_MARK {
            r.rlim_cur = CORE_MARK;
            libc::setrlimit(libc::RLIMIT_RTTIME, &r);
        }
    }
}

/// Whether child `pid`, a zombie not yet reaped, was marked by
/// [`mark_core_dumped`].
pub fn core_marked(pid: i32) -> bool {
    let mut old = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: reads a limit of our own child into a local.
    let r = unsafe {
        libc::syscall(
            libc::SYS_prlimit64,
            pid,
            libc::RLIMIT_RTTIME,
            std::ptr::null::<libc::rlimit>(),
            &mut old,
        )
    };
    r == 0 && old.rlim_cur == CORE_MARK
}
