//! The process and its threads as tern-state components: [`Persist`] for
//! [`Process`] and [`Thread`], giving and taking the plain-data states of
//! [`crate::state`].
//!
//! `save` gives the states; `restore` puts a freshly built process (or thread, on its
//! own host thread) into one. [`crate::restore`] rebuilds a whole process VM with
//! them. The interval timers live in the host kernel: they are read back from it
//! and armed again.

use std::sync::Arc;

use tern_hart::GuestRam;
use tern_state::{Persist, StateError};

use crate::errno::Errno;
use crate::fs::locate::{change_dir, locate};
use crate::fs::resolve::Lookup;
use crate::fs::{saved, FdKind};
use crate::mm::region::RegionKind;
use crate::mm::shared::{anon_memfd, high_fd, SharedMap};
use crate::mm::{Mm, PAGE};
use crate::process::Process;
use crate::signal;
use crate::state::shared::{SavedRegionKind, SharedRegionState};
use crate::state::{ProcessState, ThreadState};
use crate::thread::Thread;

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

/// The process VM's kernel state: memory bookkeeping, descriptors, signals, the
/// clock. Threads are saved separately, each by its own host thread while it is
/// parked between run slices.
impl Persist for Process {
    type State = ProcessState;

    /// Fails, naming the descriptor, when a descriptor cannot be recorded (see
    /// [`crate::fs::saved`]).
    fn save(&self) -> Result<ProcessState, StateError> {
        // Signals that reached the host process but no thread has claimed yet (one
        // may arrive while the threads are parked) become the process's pending
        // signals, which the state holds.
        for info in crate::signal::take_host_pending() {
            self.post(info);
        }
        let (frames, page_table_root, vmas, brk_start, brk, shared) = {
            let mm = self.mm();
            (
                mm.frames.clone(),
                mm.root,
                mm.vmas.clone(),
                mm.brk_start,
                mm.brk,
                save_shared(&mm)?,
            )
        };
        // Recorded on a parked guest thread: pipes, sockets, memfds and timerfds
        // are read through the guest's descriptors, which this thread (in a
        // private descriptor table) does not have.
        let table: Vec<_> = self
            .files()
            .iter()
            .map(|(&fd, info)| (fd, info.clone()))
            .collect();
        let files = self
            .pause
            .on_parked_thread(move || saved::record_all(&table))
            .map_err(|e| StateError::save(e.to_string()))?
            .map_err(StateError::save)?;
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
            clock: (&*self.clock).save()?,
            itimers: save_itimers(),
            shared,
            timers: crate::syscalls::timer::save(self).map_err(StateError::save)?,
            // Read on a guest thread: the arena's descriptor is not in this
            // thread's private table.
            ipc: self
                .pause
                .on_parked_thread(crate::ipc::saved::save)
                .map_err(|e| StateError::save(e.to_string()))?
                .map_err(StateError::save)?,
        })
    }

    /// Puts a freshly built process (no thread running yet, its RAM holding the
    /// saved memory) into `s`: the address space over its RAM, the host's working
    /// directory, signal actions (mirrored to the host), descriptors opened again,
    /// interval timers armed again.
    fn restore(&mut self, s: &ProcessState) -> Result<(), StateError> {
        let ram: Arc<GuestRam> = self.mm().ram().clone();
        s.check(&ram).map_err(StateError::mismatch)?;
        {
            let mut mm = Mm::from_parts(
                ram,
                self.shoot.clone(),
                s.frames.clone(),
                s.page_table_root,
                s.vmas.clone(),
            );
            mm.brk_start = s.brk_start;
            mm.brk = s.brk;
            if let Some(ipc) = &s.ipc {
                crate::ipc::saved::restore(ipc, self.fd_limit).map_err(StateError::mismatch)?;
            }
            restore_shared(self, &mut mm, &s.shared).map_err(StateError::mismatch)?;
            *self.mm.get_mut().unwrap_or_else(|e| e.into_inner()) = mm;
        }
        // The host's working directory follows the program's: found by the resolver
        // (the snapshot's path is the guest's, under --root confined like any other).
        {
            let cwd_err = |e: Errno| {
                StateError::mismatch(format!(
                    "the program's working directory {}: {}",
                    s.cwd,
                    std::io::Error::from_raw_os_error(e.0)
                ))
            };
            let this: &Process = self;
            let loc = locate(
                this.paths(),
                libc::AT_FDCWD,
                s.cwd.as_bytes(),
                Lookup::Follow,
            )
            .map_err(cwd_err)?;
            change_dir(this.paths(), &loc).map_err(cwd_err)?;
        }
        if !self.opts.view.confined() {
            *self.cwd.get_mut().unwrap_or_else(|e| e.into_inner()) = s.cwd.clone();
        }
        self.umask
            .store(s.umask, std::sync::atomic::Ordering::Relaxed);
        // SAFETY: umask cannot fail (the host applies the guest's mask too).
        unsafe { libc::umask((s.umask & 0o777) as libc::mode_t) };
        {
            let mut acts = self.actions();
            for (n, a) in s.actions.iter().enumerate() {
                acts[n] = *a;
                if n > 0 {
                    signal::mirror_action(n as i32, a);
                }
            }
        }
        *self.pending.get_mut().unwrap_or_else(|e| e.into_inner()) = s.pending.clone();
        *self
            .thread_pending
            .get_mut()
            .unwrap_or_else(|e| e.into_inner()) = s.thread_pending.clone();
        *self.exe.get_mut().unwrap_or_else(|e| e.into_inner()) = s.exe.clone();
        *self.exe_host.get_mut().unwrap_or_else(|e| e.into_inner()) = s.exe_host.clone().into();
        {
            let r = self.rlimits.get_mut().unwrap_or_else(|e| e.into_inner());
            for (slot, v) in r.iter_mut().zip(&s.rlimits) {
                *slot = *v;
            }
            if let Some((cur, _)) = r[4] {
                crate::signal::GUEST_CORE_LIMIT.store(cur, std::sync::atomic::Ordering::Relaxed);
            }
        }
        self.insns
            .store(s.insns, std::sync::atomic::Ordering::Relaxed);
        self.pid.store(s.pid, std::sync::atomic::Ordering::Relaxed);
        (&*self.clock)
            .restore(&s.clock)
            .map_err(|e| e.within("clock"))?;
        reopen_files(self, &s.files).map_err(StateError::mismatch)?;
        restore_itimers(&s.itimers);
        Ok(())
    }
}

/// Opens the recorded descriptors again under their numbers, then re-arms epoll
/// instances (whose watched descriptors must exist first).
/// The shared regions of `mm` as plain data: files by path, shared anonymous memory
/// with its non-zero pages.
fn save_shared(mm: &Mm) -> Result<Vec<SharedRegionState>, StateError> {
    let mut out = Vec::new();
    for (&phys, r) in mm.regions.iter() {
        let kind = match &r.kind {
            RegionKind::File { path, offset } => {
                if !path.starts_with('/') || path.starts_with("/proc/") {
                    return Err(StateError::save(format!(
                        "a shared mapping of {path}, which a restore could not open again"
                    )));
                }
                SavedRegionKind::File {
                    path: path.clone(),
                    offset: *offset,
                    writable: r.writable,
                }
            }
            RegionKind::Anon => {
                let mut pages = Vec::new();
                let mut buf = vec![0u8; PAGE as usize];
                for i in 0..r.len / PAGE {
                    mm.ram()
                        .read(phys + i * PAGE, &mut buf)
                        .map_err(|e| StateError::save(e.to_string()))?;
                    if buf.iter().any(|&b| b != 0) {
                        pages.push((i, buf.clone()));
                    }
                }
                SavedRegionKind::Anon { pages }
            }
            RegionKind::SysV { id, offset, end } => SavedRegionKind::SysV {
                id: *id,
                offset: *offset,
                end: *end,
                writable: r.writable,
            },
        };
        out.push(SharedRegionState {
            phys,
            len: r.len,
            kind,
        });
    }
    Ok(out)
}

/// Maps the saved shared regions again where they were: files opened by their guest
/// paths (through the resolver, like the program's own), anonymous memory in a new
/// `memfd` with its saved pages.
fn restore_shared(proc: &Process, mm: &mut Mm, shared: &[SharedRegionState]) -> Result<(), String> {
    use std::os::fd::FromRawFd;
    let min_fd = proc.files().limit;
    for r in shared {
        let what = match &r.kind {
            SavedRegionKind::File {
                path,
                offset,
                writable,
            } => {
                let flags = if *writable {
                    libc::O_RDWR
                } else {
                    libc::O_RDONLY
                } | libc::O_CLOEXEC;
                let (fd, _) = crate::fs::locate::open(
                    proc.paths(),
                    libc::AT_FDCWD,
                    path.as_bytes(),
                    flags,
                    0,
                )
                .map_err(|e| {
                    format!(
                        "shared mapping of {path}: {}",
                        std::io::Error::from_raw_os_error(e.0)
                    )
                })?;
                // SAFETY: `fd` was just opened for us and is owned here.
                let low = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
                SharedMap {
                    file: Arc::new(high_fd(&low, min_fd).map_err(|e| format!("{e:?}"))?),
                    offset: *offset,
                    writable: *writable,
                    kind: RegionKind::File {
                        path: path.clone(),
                        offset: *offset,
                    },
                }
            }
            SavedRegionKind::SysV {
                id,
                offset,
                end,
                writable,
            } => {
                let arena = crate::ipc::arena().map_err(|e| format!("ipc arena: {e:?}"))?;
                // Only the pool: never the arena's header and tables.
                if *offset < crate::ipc::POOL_OFFSET
                    || end.saturating_sub(crate::ipc::POOL_OFFSET) > arena.pool()
                {
                    return Err(format!("SysV segment {id}: outside the IPC arena"));
                }
                crate::syscalls::sysv_shm::note_attached();
                SharedMap {
                    file: arena.file().clone(),
                    offset: *offset,
                    writable: *writable,
                    kind: RegionKind::SysV {
                        id: *id,
                        offset: *offset,
                        end: *end,
                    },
                }
            }
            SavedRegionKind::Anon { .. } => SharedMap {
                file: anon_memfd(r.len, min_fd).map_err(|e| format!("{e:?}"))?,
                offset: 0,
                writable: true,
                kind: RegionKind::Anon,
            },
        };
        mm.restore_region(r.phys, r.len, what)
            .map_err(|e| format!("shared region {:#x}: {e:?}", r.phys))?;
        if let SavedRegionKind::Anon { pages } = &r.kind {
            for (i, bytes) in pages {
                mm.ram()
                    .write(r.phys + i * PAGE, bytes)
                    .map_err(|e| e.to_string())?;
            }
        }
    }
    Ok(())
}

fn reopen_files(proc: &Process, files: &[saved::FdState]) -> Result<(), String> {
    let open_path = |path: &str, flags: i32| -> Result<i32, String> {
        // Recorded paths are absolute guest paths, looked up like the program's own.
        if !path.starts_with('/') {
            return Err("not an absolute path".into());
        }
        crate::fs::locate::open(proc.paths(), libc::AT_FDCWD, path.as_bytes(), flags, 0o666)
            .map(|(fd, _)| fd)
            .map_err(|e| std::io::Error::from_raw_os_error(e.0).to_string())
    };
    let remade = saved::remake(files, proc.files().limit, &open_path)?;
    let mut queues = std::collections::BTreeSet::new();
    for f in files {
        if let saved::FdExtra::MessageQueue(m) = &f.extra {
            // Under the restored VM's host name, as its mq_open would find it.
            let root = proc.vm_root();
            let host_name = format!("tern.{}.{}.{}", root.pid, root.start, m.name);
            let mut flags = (f.info.flags & libc::O_ACCMODE) | (f.status_flags & libc::O_NONBLOCK);
            if f.cloexec {
                flags |= libc::O_CLOEXEC;
            }
            let made = if queues.insert(host_name.clone()) {
                crate::fs::saved_mq::remake(m, &host_name, flags)
            } else {
                crate::fs::saved_mq::open(&host_name, flags)
            };
            let n = made.map_err(|e| format!("cannot reopen descriptor {}: {e}", f.fd))?;
            if n != f.fd {
                // SAFETY: moving our new descriptor to its number, then closing it.
                let r = unsafe { libc::dup3(n, f.fd, flags & libc::O_CLOEXEC) };
                // SAFETY: as above.
                unsafe { libc::close(n) };
                if r < 0 {
                    return Err(format!(
                        "cannot reopen descriptor {}: {}",
                        f.fd,
                        std::io::Error::last_os_error()
                    ));
                }
            }
            proc.files().insert(f.fd, f.info.clone());
            continue;
        }
        if let saved::FdExtra::SignalFd { mask } = f.extra {
            let mut flags = (f.status_flags & libc::O_NONBLOCK) as u64;
            if f.cloexec {
                flags |= libc::O_CLOEXEC as u64;
            }
            crate::syscalls::signalfd::remake(proc, f.fd, mask, flags)
                .map_err(|e| format!("cannot reopen descriptor {}: {e}", f.fd))?;
            continue;
        }
        match saved::reopen(f, &remade, &open_path) {
            Ok(()) => proc.files().insert(f.fd, f.info.clone()),
            // Whoever starts `tern restore` gives the program its stdin, stdout and
            // stderr, as whoever started `tern exec` did; other inherited descriptors
            // (often leaked by a parent) the program finds closed.
            Err(e) if f.info.kind == FdKind::Inherited && f.fd > 2 => {
                crate::exit::diag(&format!(
                    "tern restore: warning: {e}; the program finds it closed"
                ));
                proc.files().remove(f.fd);
            }
            Err(e) => return Err(format!("cannot reopen {e}")),
        }
    }
    for f in files {
        saved::rearm_epoll(f)?;
    }
    Ok(())
}

impl Thread {
    /// This thread's state (call between run slices, from the thread itself): what
    /// [`Persist::save`] gives, for the run loop that parks with it.
    pub(crate) fn save_state(&self) -> ThreadState {
        ThreadState {
            tid: self.task.tid,
            hart: self.hart.state().clone(),
            sigmask: self.task.sigmask,
            saved_mask: self.task.saved_mask,
            altstack: self.task.altstack,
            clear_child_tid: self.task.clear_child_tid,
            robust_list: self.task.robust_list,
        }
    }
}

/// A thread saves its hart and its kernel-side state. Restore on the thread's own
/// host thread (the signal mask is mirrored to it), into a thread made with the
/// saved id.
impl Persist for Thread {
    type State = ThreadState;

    fn save(&self) -> Result<ThreadState, StateError> {
        Ok(self.save_state())
    }

    fn restore(&mut self, ts: &ThreadState) -> Result<(), StateError> {
        if ts.tid != self.task.tid {
            return Err(StateError::mismatch(format!(
                "the state of thread {} restored into thread {}",
                ts.tid, self.task.tid
            )));
        }
        self.hart.restore(&ts.hart).map_err(|e| e.within("hart"))?;
        self.task.sigmask = ts.sigmask;
        signal::mirror_mask(ts.sigmask);
        self.task.saved_mask = ts.saved_mask;
        self.task.altstack = ts.altstack;
        self.task.clear_child_tid = ts.clear_child_tid;
        self.task.robust_list = ts.robust_list;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mm::vma::{Backing, Vma, PROT_READ, PROT_WRITE};
    use crate::process::Options;
    use crate::signal::SigInfo;

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
        let s = proc.save().expect("state");
        assert_eq!(s.vmas.iter().count(), 1);
        assert!(s.frames.used() >= 2, "the root table and the page");
        assert_eq!(s.actions.len(), crate::signal::NSIG + 1);
        let bytes = tern_state::to_bytes(&s).expect("encode");
        let back: ProcessState = tern_state::from_bytes(&bytes).expect("decode");
        assert_eq!(format!("{back:?}"), format!("{s:?}"));
    }

    #[test]
    fn states_without_their_optional_parts_decode() {
        let proc = Process::new(Options {
            memory: 64 << 20,
            slice: 1000,
            ..Options::default()
        })
        .expect("process");
        let mut s = proc.save().expect("state");
        s.pending.clear();
        s.thread_pending.clear();
        s.rlimits = vec![None; 16];
        s.itimers = vec![[0; 32]; 3];
        let plain = tern_state::to_bytes(&s).expect("encode");
        let back: ProcessState = tern_state::from_bytes(&plain).expect("decode");
        assert_eq!(format!("{back:?}"), format!("{s:?}"));
        let mut busy = s.clone();
        busy.pending.push(SigInfo {
            signo: 10,
            ..SigInfo::default()
        });
        busy.rlimits[3] = Some((1, 2));
        let full = tern_state::to_bytes(&busy).expect("encode");
        assert!(plain.len() < full.len(), "unneeded parts are not written");

        let t = Thread::new(proc.clone(), 0x10000, 0x20000);
        let mut ts = t.save().expect("thread");
        ts.saved_mask = None;
        let plain = tern_state::to_bytes(&ts).expect("encode");
        let back: ThreadState = tern_state::from_bytes(&plain).expect("decode");
        assert_eq!(back.saved_mask, None);
        assert_eq!(back.hart, ts.hart);
        ts.saved_mask = Some(5);
        let back: ThreadState =
            tern_state::from_bytes(&tern_state::to_bytes(&ts).expect("encode")).expect("decode");
        assert_eq!(back.saved_mask, Some(5));
    }
}
