//! A guest thread: one hart on one host thread, and the loop that runs it.
//!
//! The hart runs in U-mode with `user_traps_exit`, so every exception comes back
//! here: `ecall` is a system call (a7 = number, a0–a5 = arguments, result in a0, then
//! pc += 4), page faults are demand paging or SIGSEGV, illegal instructions SIGILL,
//! misaligned atomics SIGBUS. Between run slices the thread applies TLB shootdowns and
//! delivers pending signals.

use std::sync::Arc;

use tern_hart::trap::cause;
use tern_hart::{EmptyBus, Hart, HartConfig, IrqLines, RunExit};

use crate::errno::{Errno, SysResult};
use crate::mm::shootdown::HartStats;
use crate::mm::{Access, Fault, SIGPAGE};
use crate::process::{Process, EXIT_LIMIT};
use crate::signal::{self, code, frame, sig, AltStack, SigInfo};
use crate::syscalls::{self, Flow};

/// `mstatus.FS` = Initial: the F and D extensions are usable.
const MSTATUS_FS_INITIAL: u64 = 1 << 13;

/// A system call interrupted by a host signal, to be restarted or failed with
/// `EINTR` depending on the signal's action.
#[derive(Clone, Copy, Debug)]
struct Interrupted {
    /// Address of the `ecall`.
    pc: u64,
    /// The original `a0`.
    a0: u64,
    /// Whether `SA_RESTART` may restart it (not for the waits Linux never restarts
    /// after a handler: `ppoll`, `nanosleep`, ...).
    restartable: bool,
}

/// One guest thread.
pub struct Thread {
    /// The process.
    pub proc: Arc<Process>,
    /// The hart.
    pub hart: Hart,
    /// Guest thread id: the host thread id, except for threads restored from a
    /// snapshot, which keep the id they had.
    pub tid: i32,
    /// Host thread id of the thread that runs this one.
    pub host_tid: i32,
    /// What the thread publishes for the control API.
    pub stats: Arc<HartStats>,
    /// Blocked signals.
    pub sigmask: u64,
    /// `sigaltstack`.
    pub altstack: AltStack,
    /// `set_tid_address` / `CLONE_CHILD_CLEARTID`: zeroed and woken at exit.
    pub clear_child_tid: u64,
    /// `set_robust_list` head and length.
    pub robust_list: (u64, u64),
    /// A synchronous signal (fault) to deliver before running on.
    pub forced: Option<SigInfo>,
    /// The mask to restore after a handler (`rt_sigsuspend` waits with another).
    pub saved_mask: Option<u64>,
    /// The system call being handled was interrupted.
    interrupted: Option<Interrupted>,
    /// Scratch buffer for I/O.
    pub buf: Vec<u8>,
}

/// The host thread id of the caller.
pub fn gettid() -> i32 {
    // SAFETY: gettid has no arguments and cannot fail.
    unsafe { libc::syscall(libc::SYS_gettid) as i32 }
}

impl Thread {
    /// A thread of `proc` starting at `pc` with stack pointer `sp` in U-mode, on the
    /// calling host thread.
    pub fn new(proc: Arc<Process>, pc: u64, sp: u64) -> Thread {
        let tid = proc.shoot.fresh_tid(gettid());
        Thread::with_tid(proc, tid, pc, sp)
    }

    /// Like [`Thread::new`], with guest thread id `tid` (a restored thread).
    pub(crate) fn with_tid(proc: Arc<Process>, tid: i32, pc: u64, sp: u64) -> Thread {
        let host_tid = gettid();
        let (ram, satp) = {
            let mm = proc.mm();
            (mm.ram().clone(), mm.satp())
        };
        let lines = Arc::new(IrqLines::new());
        let mut hart = Hart::new(0, pc, ram, lines.clone(), proc.clock.clone());
        hart.set_config(HartConfig {
            sstc: false,
            user_traps_exit: true,
            ..HartConfig::default()
        });
        {
            let st = hart.state_mut();
            st.prv = tern_hart::Priv::U;
            st.csr.satp = satp;
            st.csr.mstatus |= MSTATUS_FS_INITIAL;
            // cycle, time and instret readable from U-mode, as Linux allows.
            st.csr.mcounteren = 7;
            st.csr.scounteren = 7;
            st.x[2] = sp;
        }
        hart.state_changed();
        let stats = Arc::new(HartStats::default());
        stats.pc.store(pc, std::sync::atomic::Ordering::Relaxed);
        proc.shoot.register(tid, host_tid, lines, stats.clone());
        proc.threads
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Thread {
            proc,
            hart,
            tid,
            host_tid,
            stats,
            sigmask: 0,
            altstack: AltStack {
                sp: 0,
                flags: signal::SS_DISABLE,
                size: 0,
            },
            clear_child_tid: 0,
            robust_list: (0, 0),
            forced: None,
            saved_mask: None,
            interrupted: None,
            buf: Vec::new(),
        }
    }

    /// Register `x[i]`.
    pub fn reg(&self, i: usize) -> u64 {
        self.hart.state().x[i]
    }

    /// Runs the thread until it exits; returns its exit status.
    pub fn run(&mut self) -> i32 {
        let slice = self.proc.opts.slice.max(1000);
        let mut debug_applied = 0;
        loop {
            self.deliver_signals();
            if self.proc.pause.requested() {
                // At an instruction boundary, with an interrupted system call rewound
                // to its `ecall`: this is the thread's plain-data state.
                let state = self.save_state();
                if let Some(hart) = self.proc.pause.park(state) {
                    self.hart.set_state(hart);
                }
                continue;
            }
            // A host debugger (`--gdb`): its breakpoints for this hart, or hold it
            // while it runs other threads alone.
            let me = self.tid as u64;
            self.proc
                .debug
                .apply(&mut self.hart, me, &mut debug_applied);
            if self.proc.debug.held(me) {
                std::thread::sleep(std::time::Duration::from_millis(5));
                continue;
            }
            let budget = match self.proc.opts.max_insns {
                Some(max) => {
                    let done = self.proc.insns.load(std::sync::atomic::Ordering::Relaxed);
                    if done >= max {
                        eprintln!("tern: instruction limit reached after {done} instructions");
                        crate::exit::exit_process(EXIT_LIMIT);
                    }
                    slice.min(max - done)
                }
                None => slice,
            };
            let (exit, n) = self.hart.run(&mut EmptyBus, budget);
            self.proc.count(n);
            self.stats.slice_done(self.hart.state().pc, n);
            if let RunExit::Trap(e) = exit {
                if let Some(status) = self.trap(e.cause, e.tval) {
                    return status;
                }
            }
            if let RunExit::Debug(stop) = exit {
                // All-stop: the process pauses for the debugger, this thread first.
                self.proc.debug.report(me, stop);
                self.proc.pause.request();
            }
        }
    }

    /// Handles an exception from U-mode; returns an exit status when the thread ends.
    fn trap(&mut self, cause: u8, tval: u64) -> Option<i32> {
        let pc = self.hart.state().pc;
        match cause {
            cause::ECALL_U => return self.syscall(),
            cause::INST_PAGE | cause::LOAD_PAGE | cause::STORE_PAGE => {
                let access = match cause {
                    cause::INST_PAGE => Access::Exec,
                    cause::LOAD_PAGE => Access::Read,
                    _ => Access::Write,
                };
                let f = self.proc.mm().fault(tval, access);
                match f {
                    Fault::Resolved => {}
                    Fault::Unmapped | Fault::OutOfMemory => {
                        self.force(sig::SIGSEGV, code::SEGV_MAPERR, tval)
                    }
                    Fault::Denied => self.force(sig::SIGSEGV, code::SEGV_ACCERR, tval),
                }
            }
            cause::INST_ACCESS | cause::LOAD_ACCESS | cause::STORE_ACCESS => {
                self.force(sig::SIGSEGV, code::SEGV_ACCERR, tval)
            }
            cause::ILLEGAL => self.force(sig::SIGILL, code::ILL_ILLOPC, pc),
            cause::BREAKPOINT => self.force(sig::SIGTRAP, code::TRAP_BRKPT, pc),
            cause::INST_MISALIGNED | cause::LOAD_MISALIGNED | cause::STORE_MISALIGNED => {
                self.force(sig::SIGBUS, code::BUS_ADRALN, tval)
            }
            _ => self.force(sig::SIGILL, code::ILL_ILLOPC, pc),
        }
        None
    }

    fn force(&mut self, signo: i32, code: i32, addr: u64) {
        self.forced = Some(SigInfo {
            signo,
            code,
            addr,
            value: 0,
        });
    }

    /// Handles the `ecall` at pc; returns an exit status when the thread ends.
    fn syscall(&mut self) -> Option<i32> {
        let st = self.hart.state();
        let pc = st.pc;
        let nr = st.x[17];
        let args = [st.x[10], st.x[11], st.x[12], st.x[13], st.x[14], st.x[15]];
        let trace = self.proc.strace.enabled();
        let call = if trace {
            Some(crate::strace::format_call(&self.proc, nr, &args))
        } else {
            None
        };
        if let Some(c) = &call {
            if nr == syscalls::EXIT_GROUP {
                // It does not return to print its line afterwards.
                self.proc.strace.line(&format!("{} {c} = ?", self.tid));
            }
        }
        self.stats
            .in_syscall
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let flow = syscalls::dispatch(self, nr, args);
        self.stats
            .in_syscall
            .store(false, std::sync::atomic::Ordering::SeqCst);
        match flow {
            Flow::Ret(r) => {
                if let Some(c) = call {
                    self.proc.strace.line(&format!(
                        "{} {}{}",
                        self.tid,
                        c,
                        crate::strace::format_result(&r)
                    ));
                }
                if r == Err(Errno::EINTR) {
                    self.interrupted = Some(Interrupted {
                        pc,
                        a0: args[0],
                        restartable: syscalls::restartable(nr),
                    });
                }
                let v = match r {
                    Ok(v) => v,
                    Err(e) => e.to_ret(),
                };
                let st = self.hart.state_mut();
                st.x[10] = v;
                st.pc = pc + 4;
            }
            Flow::Keep => {
                if let Some(c) = call {
                    self.proc.strace.line(&format!("{} {c} = ?", self.tid));
                }
            }
            Flow::Exit(status) => {
                if let Some(c) = call {
                    self.proc.strace.line(&format!("{} {c} = ?", self.tid));
                }
                return Some(status);
            }
        }
        None
    }

    /// Sets the signal mask (SIGKILL and SIGSTOP cannot be blocked) and mirrors it to
    /// the host thread.
    pub fn set_mask(&mut self, mask: u64) {
        let mask = mask & !signal::UNBLOCKABLE;
        if mask != self.sigmask {
            self.sigmask = mask;
            signal::mirror_mask(mask);
        }
    }

    /// Takes the next signal this thread should handle, if any.
    fn next_signal(&mut self) -> Option<SigInfo> {
        if let Some(f) = self.forced.take() {
            return Some(f);
        }
        for info in signal::take_host_pending() {
            self.proc.post(info);
        }
        {
            let mut tp = self
                .proc
                .thread_pending
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if let Some(i) = tp
                .iter()
                .position(|(t, i)| *t == self.tid && signal::bit(i.signo) & self.sigmask == 0)
            {
                return Some(tp.remove(i).1);
            }
        }
        let mut p = self.proc.pending.lock().unwrap_or_else(|e| e.into_inner());
        let i = p
            .iter()
            .position(|i| signal::bit(i.signo) & self.sigmask == 0)?;
        Some(p.remove(i))
    }

    /// Whether a signal is waiting that this thread would take now, or the process
    /// is being paused: blocking system calls then return `EINTR`, and the call is
    /// rewound to its `ecall` (restarted on resume, or after a restore).
    pub fn signal_pending(&self) -> bool {
        if self.forced.is_some() || signal::host_pending() || self.proc.pause.requested() {
            return true;
        }
        let tp = self
            .proc
            .thread_pending
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if tp
            .iter()
            .any(|(t, i)| *t == self.tid && signal::bit(i.signo) & self.sigmask == 0)
        {
            return true;
        }
        drop(tp);
        let p = self.proc.pending.lock().unwrap_or_else(|e| e.into_inner());
        p.iter().any(|i| signal::bit(i.signo) & self.sigmask == 0)
    }

    /// Delivers pending signals: default actions, or a frame for a handler.
    fn deliver_signals(&mut self) {
        let interrupted = self.interrupted.take();
        let mut handled = false;
        while let Some(info) = self.next_signal() {
            let n = info.signo;
            let forced = matches!(n, sig::SIGSEGV | sig::SIGBUS | sig::SIGILL | sig::SIGTRAP)
                && info.code > 0;
            let act = self.proc.actions()[n as usize];
            if forced && (act.handler == signal::SIG_IGN || self.sigmask & signal::bit(n) != 0) {
                // A fault that cannot be handled ends the process (force_sig_info).
                signal::die_by_signal(n);
            }
            match act.handler {
                signal::SIG_IGN => continue,
                signal::SIG_DFL => match signal::default_action(n) {
                    signal::Default_::Ignore | signal::Default_::Continue => continue,
                    signal::Default_::Stop => {
                        // SAFETY: stops this host process, as the signal stops the program.
                        unsafe { libc::raise(libc::SIGSTOP) };
                        continue;
                    }
                    signal::Default_::Terminate => signal::die_by_signal(n),
                },
                _ => {
                    if let Some(i) = interrupted {
                        if i.restartable && act.flags & signal::SA_RESTART != 0 {
                            let st = self.hart.state_mut();
                            st.pc = i.pc;
                            st.x[10] = i.a0;
                        }
                    }
                    self.setup_frame(&info, act);
                    handled = true;
                    break;
                }
            }
        }
        if let Some(m) = self.saved_mask.take() {
            self.set_mask(m);
        }
        if !handled {
            if let Some(i) = interrupted {
                // No handler ran: the call restarts transparently (ERESTARTSYS).
                let st = self.hart.state_mut();
                st.pc = i.pc;
                st.x[10] = i.a0;
            }
        }
    }

    /// Builds the `rt_sigframe` and points the hart at the handler
    /// (arch/riscv/kernel/signal.c `setup_rt_frame`).
    fn setup_frame(&mut self, info: &SigInfo, act: signal::SigAction) {
        let n = info.signo;
        let st = self.hart.state().clone();
        let sp = st.x[2];
        let on_alt = self.altstack.contains(sp);
        let base = if act.flags & signal::SA_ONSTACK != 0
            && self.altstack.flags & signal::SS_DISABLE == 0
            && !on_alt
        {
            self.altstack.sp.wrapping_add(self.altstack.size)
        } else {
            sp
        };
        let f = (base.wrapping_sub(frame::SIZE)) & !15;
        let mut b = vec![0u8; frame::SIZE as usize];
        b[..128].copy_from_slice(&info.to_bytes());
        let uc_stack = frame::UC_STACK as usize;
        b[uc_stack..uc_stack + 8].copy_from_slice(&self.altstack.sp.to_le_bytes());
        let flags = if self.altstack.flags & signal::SS_DISABLE != 0 {
            signal::SS_DISABLE
        } else if on_alt {
            signal::SS_ONSTACK
        } else {
            0
        };
        b[uc_stack + 8..uc_stack + 12].copy_from_slice(&flags.to_le_bytes());
        b[uc_stack + 16..uc_stack + 24].copy_from_slice(&self.altstack.size.to_le_bytes());
        let m = frame::UC_SIGMASK as usize;
        let saved = self.saved_mask.take().unwrap_or(self.sigmask);
        b[m..m + 8].copy_from_slice(&saved.to_le_bytes());
        let r = frame::REGS as usize;
        b[r..r + 8].copy_from_slice(&st.pc.to_le_bytes());
        for i in 1..32 {
            b[r + 8 * i..r + 8 * i + 8].copy_from_slice(&st.x[i].to_le_bytes());
        }
        let fp = frame::FPREGS as usize;
        for i in 0..32 {
            b[fp + 8 * i..fp + 8 * i + 8].copy_from_slice(&st.f[i].to_le_bytes());
        }
        let fcsr = (u32::from(st.frm) << 5) | u32::from(st.fflags);
        let fc = frame::FCSR as usize;
        b[fc..fc + 4].copy_from_slice(&fcsr.to_le_bytes());
        if self.proc.write_mem(f, &b).is_err() {
            signal::die_by_signal(sig::SIGSEGV);
        }
        let mut mask = self.sigmask | act.mask;
        if act.flags & signal::SA_NODEFER == 0 {
            mask |= signal::bit(n);
        }
        if act.flags & signal::SA_RESETHAND != 0 {
            let mut acts = self.proc.actions();
            acts[n as usize] = signal::SigAction::default();
            signal::mirror_action(n, &acts[n as usize]);
        }
        self.set_mask(mask);
        let st = self.hart.state_mut();
        st.pc = act.handler;
        st.x[1] = SIGPAGE;
        st.x[2] = f;
        st.x[10] = n as u64;
        st.x[11] = f;
        st.x[12] = f + frame::UC;
        st.reservation = None;
    }

    /// `rt_sigreturn`: restores the registers, mask and alternate stack saved in the
    /// frame at `sp`.
    pub fn sigreturn(&mut self) -> Flow {
        let f = self.reg(2);
        let b = match self.proc.read_mem(f, frame::SIZE as usize) {
            Ok(b) => b,
            Err(_) => signal::die_by_signal(sig::SIGSEGV),
        };
        let word = |off: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&b[off..off + 8]);
            u64::from_le_bytes(w)
        };
        let m = frame::UC_SIGMASK as usize;
        let mask = word(m);
        let r = frame::REGS as usize;
        let fp = frame::FPREGS as usize;
        let fc = frame::FCSR as usize;
        let fcsr = u32::from_le_bytes([b[fc], b[fc + 1], b[fc + 2], b[fc + 3]]);
        let uc_stack = frame::UC_STACK as usize;
        let alt = AltStack {
            sp: word(uc_stack),
            flags: i32::from_le_bytes([
                b[uc_stack + 8],
                b[uc_stack + 9],
                b[uc_stack + 10],
                b[uc_stack + 11],
            ]),
            size: word(uc_stack + 16),
        };
        {
            let st = self.hart.state_mut();
            st.pc = word(r);
            for i in 1..32 {
                st.x[i] = word(r + 8 * i);
            }
            for i in 0..32 {
                st.f[i] = word(fp + 8 * i);
            }
            st.fflags = (fcsr & 0x1f) as u8;
            st.frm = ((fcsr >> 5) & 7) as u8;
            st.reservation = None;
        }
        // restore_altstack: only a valid, non-active stack may be installed again.
        if !self.altstack.contains(self.reg(2)) {
            let flags = alt.flags & signal::SS_DISABLE;
            self.altstack = AltStack {
                sp: alt.sp,
                flags,
                size: alt.size,
            };
        }
        self.set_mask(mask);
        Flow::Keep
    }

    /// Unregisters the thread from the process.
    pub fn detach(&mut self) {
        self.proc.shoot.unregister(self.tid);
    }

    /// The result type of thread-level system calls (for dispatch helpers).
    pub fn ok(v: u64) -> SysResult {
        Ok(v)
    }
}
