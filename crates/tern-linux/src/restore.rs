//! Rebuilding a process VM from its plain-data state (a snapshot) in a new host
//! process, and running it on exactly where it stopped.
//!
//! The caller (tern-vmm) has read the snapshot and filled guest physical memory; this
//! module checks the state before trusting any of it (a snapshot is input: a bad one
//! gets an error naming what is wrong, never a panic), rebuilds the address space and
//! the kernel-side state around that memory, opens the descriptors again (see
//! [`crate::fs::saved`]), and starts every thread on a new host thread under the
//! guest thread id it had. The threads were saved parked between two instructions,
//! with any interrupted system call rewound to its `ecall`, so they simply run on.

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::sync::{Arc, Barrier};

use tern_hart::{GuestRam, Priv};

use tern_state::Persist;

use crate::fs::guest_fd_limit;
use crate::mm::shootdown::Shootdown;
use crate::mm::{pagetable, Mm};
use crate::process::{Options, Process};
use crate::state::{thread_name, ProcessState, ThreadState};
use crate::thread::Thread;

/// A process VM as a snapshot holds it, other than its memory.
#[derive(Clone, Debug)]
pub struct Image {
    /// The process-wide state.
    pub state: ProcessState,
    /// Every thread, parked at an instruction boundary.
    pub threads: Vec<ThreadState>,
}

impl Image {
    /// Checks everything that later code indexes or trusts against physical memory
    /// `ram`; the error says what is wrong.
    pub fn check(&self, ram: &GuestRam) -> Result<(), String> {
        self.state.check(ram)?;
        if self.threads.is_empty() {
            return Err("no threads".into());
        }
        let satp = pagetable::satp(self.state.page_table_root);
        let mut tids = BTreeSet::new();
        for t in &self.threads {
            if t.tid <= 0 || !tids.insert(t.tid) {
                return Err(format!("thread id {} is invalid or repeated", t.tid));
            }
            if t.hart.prv != Priv::U || t.hart.csr.satp != satp || t.hart.hartid != 0 {
                return Err(format!(
                    "thread {} is not a user-mode hart of this address space",
                    t.tid
                ));
            }
        }
        Ok(())
    }
}

/// Rebuilds the process of `image` over `ram` (already holding its memory), opens
/// its descriptors again, calls `ready` with it (to serve the control API, print
/// statistics), and runs its threads. Returns only on failure, before any thread
/// ran: the host process ends with the program.
pub fn restore(
    opts: Options,
    ram: Arc<GuestRam>,
    image: Image,
    ready: impl FnOnce(&Arc<Process>),
) -> Result<Infallible, String> {
    image.check(&ram)?;
    // This thread only waits: signals for the program must reach its threads (the
    // control API's and gdb's threads, started by `ready`, inherit the mask).
    crate::signal::block_host_signals();
    let Image { state: s, threads } = image;
    let shoot = Arc::new(Shootdown::default());
    let mm = Mm::from_parts(
        ram,
        shoot.clone(),
        s.frames.clone(),
        s.page_table_root,
        s.vmas.clone(),
    );
    let mut proc = Process::from_parts(opts, guest_fd_limit(), shoot, mm)?;
    crate::exit::install_panic_hook(proc.fd_limit);
    // From here the program's descriptors replace this process's (its stderr may
    // be a file of the program's): a failure is reported on tern's own stderr.
    let rebuilt = rebuild(&mut proc, &s).and_then(|()| {
        ready(&proc);
        start_threads(&proc, threads)
    });
    if let Err(e) = rebuilt {
        crate::exit::own_stderr_back();
        return Err(e);
    }
    loop {
        std::thread::park();
    }
}

/// Puts the new process into state `s` and arms its POSIX timers.
fn rebuild(proc: &mut Arc<Process>, s: &ProcessState) -> Result<(), String> {
    Arc::get_mut(proc)
        .ok_or("the new process is shared before its restore")?
        .restore(s)
        .map_err(|e| format!("state `process`: {e}"))?;
    // The timers hold the process weakly: armed once it is shared.
    crate::syscalls::timer::restore(proc, &s.timers).map_err(|e| format!("state `process`: {e}"))
}

/// Starts one host thread per saved thread; none runs guest code before all are
/// registered (so a new thread's id cannot collide with one not yet registered).
fn start_threads(proc: &Arc<Process>, threads: Vec<ThreadState>) -> Result<(), String> {
    let gate = Arc::new(Barrier::new(threads.len() + 1));
    for ts in threads {
        let proc = proc.clone();
        let gate = gate.clone();
        std::thread::Builder::new()
            .name("guest".into())
            .stack_size(1 << 20)
            .spawn(move || {
                let mut t = Thread::with_tid(proc, ts.tid, ts.hart.pc, ts.hart.x[2]);
                // The state was checked with the image: only a hart id could differ,
                // and every thread's hart is hart 0.
                if let Err(e) = t.restore(&ts) {
                    crate::exit::diag(&format!(
                        "tern restore: state `{}`: {e}",
                        thread_name(ts.tid)
                    ));
                    crate::exit::exit_process(1);
                }
                gate.wait();
                t.run();
            })
            .map_err(|e| format!("cannot start a thread: {e}"))?;
    }
    gate.wait();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mm::vma::{Backing, Vma, PROT_READ};
    use crate::signal::SigInfo;

    #[test]
    fn check_refuses_state_that_does_not_fit() {
        let proc = Process::new(Options {
            memory: 32 << 20,
            slice: 1000,
            ..Options::default()
        })
        .expect("process");
        let ram = proc.mm().ram().clone();
        let t = Thread::new(proc.clone(), 0x10000, 0x20000);
        let good = Image {
            state: proc.save().expect("state"),
            threads: vec![t.save().expect("thread")],
        };
        assert_eq!(good.check(&ram), Ok(()));
        let bad = |f: &dyn Fn(&mut Image), why: &str| {
            let mut i = good.clone();
            f(&mut i);
            let e = i.check(&ram).unwrap_err();
            assert!(e.contains(why), "{e}");
        };
        bad(&|i| i.state.page_table_root = 1, "page table root");
        bad(&|i| i.state.page_table_root = 0x1000, "page table root");
        bad(
            &|i| i.state.actions.pop().map(drop).unwrap_or(()),
            "signal actions",
        );
        bad(
            &|i| {
                i.state.pending.push(SigInfo {
                    signo: 99,
                    code: 0,
                    addr: 0,
                    value: 0,
                })
            },
            "pending signal 99",
        );
        bad(&|i| i.threads.clear(), "no threads");
        let area = |start, end| Vma {
            start,
            end,
            prot: PROT_READ,
            shared: false,
            backing: Backing::Anon,
        };
        bad(
            &|i| i.state.vmas.insert(area(0x3000, 0x2000)),
            "memory area",
        );
        bad(
            &|i| i.state.vmas.insert(area(0x3001, 0x5000)),
            "memory area",
        );
        bad(
            &|i| {
                i.state.vmas.insert(area(0x2000, 0x5000));
                i.state.vmas.insert(area(0x4000, 0x6000));
            },
            "memory area",
        );
        bad(&|i| i.state.brk_start = i.state.brk + 4096, "program break");
        bad(&|i| i.threads.push(i.threads[0].clone()), "repeated");
        bad(&|i| i.threads[0].hart.prv = Priv::M, "not a user-mode hart");
        bad(&|i| i.threads[0].hart.csr.satp ^= 1, "not a user-mode hart");
        bad(&|i| i.threads[0].hart.hartid = 1, "not a user-mode hart");
        let other = GuestRam::new(crate::mm::PHYS_BASE, 16 << 20).expect("ram");
        let e = good.check(&other).unwrap_err();
        assert!(e.contains("frame allocator"), "{e}");
    }
}
