//! A guest thread: one hart on one host thread, and the loop that runs it.
//!
//! The hart runs in U-mode with `user_traps_exit`, so every exception comes back
//! here: `ecall` is a system call (a7 = number, a0–a5 = arguments, result in a0, then
//! pc += 4), page faults are demand paging or SIGSEGV, illegal instructions SIGILL,
//! misaligned atomics SIGBUS. Between run slices the thread applies TLB shootdowns and
//! delivers pending signals.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use tern_hart::trap::cause;
use tern_hart::{EmptyBus, Hart, HartConfig, IrqLines, RunExit};

use crate::errno::{Errno, SysResult};
use crate::interpose::Verdict;
use crate::kernel;
use crate::mm::shootdown::HartStats;
use crate::mm::{Access, Fault};
use crate::process::{Process, EXIT_LIMIT};
use crate::sigframe;
use crate::signal::{self, code, sig, SigInfo};
use crate::syscalls::thread::flags::{
    CLONE_CHILD_CLEARTID, CLONE_CHILD_SETTID, CLONE_PARENT_SETTID,
};
use crate::syscalls::{Flow, NewThread};
use crate::task::{gettid, Task};

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

/// One guest thread: its kernel state and the hart that runs its instructions.
pub struct Thread {
    /// The thread as the system calls see it (the process, ids, mask...).
    pub task: Task,
    /// The hart.
    pub hart: Hart,
    /// What the thread publishes for the control API.
    pub stats: Arc<HartStats>,
    /// The system call being handled was interrupted.
    interrupted: Option<Interrupted>,
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
        // Built-in plugins (`--plugin`): block and memory callbacks on this hart.
        if let Some(o) = crate::interpose::observer(tid) {
            hart.set_observer(Some(o));
        }
        let stats = Arc::new(HartStats::default());
        stats.pc.store(pc, std::sync::atomic::Ordering::Relaxed);
        proc.shoot.register(tid, host_tid, lines, stats.clone());
        proc.threads
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Thread {
            task: Task::new(proc, tid, host_tid),
            hart,
            stats,
            interrupted: None,
        }
    }

    /// Register `x[i]`.
    pub fn reg(&self, i: usize) -> u64 {
        self.hart.state().x[i]
    }

    /// Runs the thread until it exits; returns its exit status.
    pub fn run(&mut self) -> i32 {
        let slice = self.task.proc.opts.slice.max(1000);
        let mut debug_applied = 0;
        // Plugins (`--plugin`) get what their observer gathered after each slice.
        let plugged = crate::interpose::has_plugins();
        // The hart's slow-path counters as last published for metrics.
        let mut published = tern_hart::HartCounters::default();
        loop {
            self.deliver_signals();
            if self.task.proc.pause.requested() {
                // At an instruction boundary, with an interrupted system call rewound
                // to its `ecall`: this is the thread's plain-data state.
                let state = self.save_state();
                if let Some(hart) = self.task.proc.pause.park(state) {
                    self.hart.set_state(hart);
                }
                continue;
            }
            // A host debugger (`--gdb`): its breakpoints for this hart, or hold it
            // while it runs other threads alone.
            let me = self.task.tid as u64;
            self.task
                .proc
                .debug
                .apply(&mut self.hart, me, &mut debug_applied);
            if self.task.proc.debug.held(me) {
                std::thread::sleep(std::time::Duration::from_millis(5));
                continue;
            }
            let budget = match self.task.proc.opts.max_insns {
                Some(max) => {
                    let done = self
                        .task
                        .proc
                        .insns
                        .load(std::sync::atomic::Ordering::Relaxed);
                    if done >= max {
                        eprintln!("tern: instruction limit reached after {done} instructions");
                        crate::exit::exit_process(EXIT_LIMIT);
                    }
                    slice.min(max - done)
                }
                None => slice,
            };
            let (exit, n) = self.hart.run(&mut EmptyBus, budget);
            self.task.proc.count(n);
            if plugged {
                if let Some(o) = self.hart.observer_mut() {
                    o.flush();
                }
            }
            self.stats.slice_done(self.hart.state().pc, n);
            let counters = self.hart.counters();
            if counters != published {
                // Only when they moved: most slices end in a system call that missed
                // nothing.
                self.stats.counters.publish(counters);
                published = counters;
            }
            if let RunExit::Trap(e) = exit {
                if let Some(status) = self.trap(e.cause, e.tval) {
                    return status;
                }
            }
            if let RunExit::Debug(stop) = exit {
                // All-stop: the process pauses for the debugger, this thread first.
                self.task.proc.debug.report(me, stop);
                self.task.proc.pause.request();
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
                let f = self.task.proc.mm().fault(tval, access);
                match f {
                    Fault::Resolved => {}
                    Fault::Unmapped | Fault::OutOfMemory => {
                        self.force(sig::SIGSEGV, code::SEGV_MAPERR, tval)
                    }
                    Fault::Denied => self.force(sig::SIGSEGV, code::SEGV_ACCERR, tval),
                    Fault::PastEnd => self.force(sig::SIGBUS, code::BUS_ADRERR, tval),
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
        self.task.forced = Some(SigInfo {
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
        let trace = self.task.proc.strace.enabled();
        let call = if trace {
            Some(crate::strace::format_call(
                &mut self.task.proc.mm(),
                nr,
                &args,
            ))
        } else {
            None
        };
        if let Some(c) = &call {
            if nr == kernel::EXIT_GROUP {
                // It does not return to print its line afterwards.
                self.task
                    .proc
                    .strace
                    .line(&format!("{} {c} = ?", self.task.tid));
            }
        }
        self.stats
            .in_syscall
            .store(true, std::sync::atomic::Ordering::SeqCst);
        // An interposer (`--policy`) sees the call first; without one this is a
        // load and a branch.
        let mut watch = None;
        let mut denied = None;
        if let Some(h) = crate::interpose::interposer() {
            match hooked(h, &self.task, nr, &args) {
                Err(e) => denied = Some(e),
                Ok(note) => watch = note,
            }
        }
        let flow = match denied {
            Some(e) => Flow::Ret(Err(e)),
            None if nr == crate::agent::JUMP => Flow::Ret(self.jump(pc, args[0])),
            None => kernel::dispatch(&mut self.task, &mut self.hart, nr, args),
        };
        let r = match flow {
            Flow::Ret(r) => r,
            Flow::Spawn(new) => spawn(&self.task.proc, *new),
            Flow::Keep => {
                self.left_syscall(call);
                return None;
            }
            Flow::Exit(status) => {
                self.left_syscall(call);
                return Some(status);
            }
        };
        self.stats
            .in_syscall
            .store(false, std::sync::atomic::Ordering::SeqCst);
        if let Some(note) = watch {
            if let Some(h) = crate::interpose::interposer() {
                h.after(&self.task, nr, &args, note, &r);
            }
        }
        if let Some(c) = call {
            self.task.proc.strace.line(&format!(
                "{} {}{}",
                self.task.tid,
                c,
                crate::strace::format_result(&r)
            ));
        }
        if r == Err(Errno::EINTR) {
            self.interrupted = Some(Interrupted {
                pc,
                a0: args[0],
                restartable: kernel::restartable(nr),
            });
        }
        let v = match r {
            Ok(v) => v,
            Err(e) => e.to_ret(),
        };
        let st = self.hart.state_mut();
        st.x[10] = v;
        st.pc = pc + 4;
        None
    }

    /// The program asks to move itself to the address at `addr` (see
    /// [`crate::agent`]). The thread waits here while the process migrates, parking
    /// at each pause as if the call had returned 0: that is the state the destination
    /// resumes. Returns at the source only if the move failed.
    fn jump(&mut self, pc: u64, addr: u64) -> Result<u64, Errno> {
        let Some(jumper) = crate::agent::jumper() else {
            return Err(Errno::ENOSYS);
        };
        if addr == 0 {
            return Err(Errno::EFAULT);
        }
        let to = self
            .task
            .proc
            .mm()
            .read_cstr(addr, crate::agent::MAX_ADDRESS)?;
        let to = String::from_utf8(to).map_err(|_| Errno::EINVAL)?;
        let journey = jumper.start(&to).map_err(|e| {
            crate::exit::diag(&format!("tern: the program's jump to {to}: {e}"));
            Errno::EINVAL
        })?;
        let st = self.hart.state_mut();
        st.x[10] = 0;
        st.pc = pc + 4;
        loop {
            if let Some(Err(e)) = journey() {
                crate::exit::diag(&format!("tern: the program's jump to {to} failed: {e}"));
                return Err(Errno(libc::EHOSTUNREACH));
            }
            if self.task.proc.pause.requested() {
                let state = self.save_state();
                if let Some(hart) = self.task.proc.pause.park(state) {
                    self.hart.set_state(hart);
                }
                continue;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }

    /// The end of a system call that does not return a result (`rt_sigreturn`, a
    /// thread's `exit`): its `--strace` line shows none.
    fn left_syscall(&self, call: Option<String>) {
        self.stats
            .in_syscall
            .store(false, std::sync::atomic::Ordering::SeqCst);
        if let Some(c) = call {
            self.task
                .proc
                .strace
                .line(&format!("{} {c} = ?", self.task.tid));
        }
    }

    /// Delivers pending signals: default actions, or a frame for a handler.
    fn deliver_signals(&mut self) {
        let interrupted = self.interrupted.take();
        let mut handled = false;
        loop {
            // A fault of this thread (`forced`, taken first) is the only signal
            // that blocking or ignoring cannot stop; the same number with the same
            // si_code queued by the program or sent by another process is a
            // signal like any other.
            let forced = self.task.forced.is_some();
            let Some(info) = self.task.next_signal() else {
                break;
            };
            let n = info.signo;
            let act = self.task.proc.actions()[n as usize];
            if forced && (act.handler == signal::SIG_IGN || self.task.sigmask & signal::bit(n) != 0)
            {
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
                    sigframe::setup(&mut self.task, self.hart.state_mut(), &info, act);
                    handled = true;
                    break;
                }
            }
        }
        if let Some(m) = self.task.saved_mask.take() {
            self.task.set_mask(m);
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
}

/// An interposer's decision on a call: the errno of a denial, or whether to show
/// it the result (with its note). Out of line: most runs have no interposer.
#[cold]
#[inline(never)]
fn hooked(
    h: &dyn crate::interpose::Interposer,
    t: &Task,
    nr: u64,
    args: &[u64; 6],
) -> Result<Option<String>, Errno> {
    match h.before(t, nr, args) {
        Verdict::Allow => Ok(None),
        Verdict::Deny(e) => Err(e),
        Verdict::Watch(note) => Ok(Some(note)),
    }
}

/// Starts the thread `clone` asked for on a new host thread and returns its tid,
/// once its tid stores are done (before either thread returns to user mode, as the
/// kernel does them); its place under the thread limit is given back when it counts
/// as alive.
fn spawn(proc: &Arc<Process>, new: NewThread) -> SysResult {
    let NewThread {
        regs,
        sigmask,
        flags: fl,
        parent_tid: ptid,
        child_tid: ctid,
        reservation,
    } = new;
    let proc = proc.clone();
    let (tx, rx) = std::sync::mpsc::channel::<Result<i32, Errno>>();
    let spawned = std::thread::Builder::new()
        .name("guest".into())
        .stack_size(1 << 20)
        .spawn(move || {
            let mut th = Thread::new(proc, regs.pc, regs.x[2]);
            th.hart.set_state(regs);
            th.task.sigmask = sigmask;
            let tid = th.task.tid as u32;
            let mut ok = Ok(th.task.tid);
            if fl & CLONE_PARENT_SETTID != 0 {
                if let Err(e) = th.task.proc.write_u32(ptid, tid) {
                    ok = Err(e);
                }
            }
            if fl & CLONE_CHILD_SETTID != 0 {
                if let Err(e) = th.task.proc.write_u32(ctid, tid) {
                    ok = Err(e);
                }
            }
            if fl & CLONE_CHILD_CLEARTID != 0 {
                th.task.clear_child_tid = ctid;
            }
            let failed = ok.is_err();
            let _ = tx.send(ok);
            if failed {
                th.task.detach();
                th.task.proc.threads.fetch_sub(1, Ordering::SeqCst);
                return;
            }
            th.run();
        });
    let r = match spawned {
        Err(_) => Err(Errno::EAGAIN),
        Ok(_) => match rx.recv() {
            Ok(Ok(tid)) => Ok(tid as u64),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(Errno::EAGAIN),
        },
    };
    drop(reservation);
    r
}
