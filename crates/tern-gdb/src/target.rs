//! gdbstub's view of a [`Debuggee`]: registers, memory, breakpoints, watchpoints,
//! thread list and resume actions.
//!
//! Breakpoints (`Z0` of either kind, 2 or 4 bytes, and `Z1`) and watchpoints (`Z2`–`Z4`)
//! are the hart's host-debugger checks, not `ebreak`s written into guest memory: the
//! guest never sees them, a snapshot taken while they are set holds none of them, and
//! they work on code in ROM or not yet loaded.

use std::collections::BTreeMap;
use std::num::NonZeroUsize;

use gdbstub::common::{Signal, Tid};
use gdbstub::target::ext::base::multithread::{
    MultiThreadBase, MultiThreadResume, MultiThreadResumeOps, MultiThreadSchedulerLocking,
    MultiThreadSchedulerLockingOps, MultiThreadSingleStep, MultiThreadSingleStepOps,
};
use gdbstub::target::ext::base::single_register_access::{
    SingleRegisterAccess, SingleRegisterAccessOps,
};
use gdbstub::target::ext::base::BaseOps;
use gdbstub::target::ext::breakpoints::{
    Breakpoints, BreakpointsOps, HwBreakpoint, HwBreakpointOps, HwWatchpoint, HwWatchpointOps,
    SwBreakpoint, SwBreakpointOps, WatchKind as GdbWatchKind,
};
use gdbstub::target::ext::target_description_xml_override::{
    TargetDescriptionXmlOverride, TargetDescriptionXmlOverrideOps,
};
use gdbstub::target::{Target, TargetError, TargetResult};
use tern_hart::{debugger, HostDebug, Priv, WatchKind, Watchpoint};

use crate::arch::{target_xml, Reg, Regs, Riscv64};
use crate::debuggee::Debuggee;

/// Most breakpoints and watchpoints a debugger may set (each is checked per block or
/// instruction while set; a hostile client must not make that list unbounded).
pub const MAX_POINTS: usize = 256;

/// What gdb asked a thread to do on the next resume.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Action {
    Continue,
    Step,
}

/// A [`Debuggee`] as gdbstub's target.
pub struct GdbTarget<D: Debuggee> {
    /// The VM.
    pub vm: D,
    breakpoints: Vec<u64>,
    watchpoints: Vec<Watchpoint>,
    actions: BTreeMap<u64, Action>,
    /// Threads without an action stay stopped (gdb steps one thread alone).
    locked: bool,
    xml: String,
}

/// gdb's thread id of VM thread `id` (gdb's are positive: harts are numbered from 1).
pub fn tid_of(id: u64, system: bool) -> Tid {
    let n = if system { id + 1 } else { id };
    NonZeroUsize::new(n as usize).unwrap_or(NonZeroUsize::MIN)
}

impl<D: Debuggee> GdbTarget<D> {
    /// A target for `vm` with no breakpoints.
    pub fn new(vm: D) -> GdbTarget<D> {
        let xml = target_xml(vm.is_system());
        GdbTarget {
            vm,
            breakpoints: Vec::new(),
            watchpoints: Vec::new(),
            actions: BTreeMap::new(),
            locked: false,
            xml,
        }
    }

    /// VM thread id of gdb's `tid`.
    pub fn thread_of(&self, tid: Tid) -> u64 {
        let n = tid.get() as u64;
        if self.vm.is_system() {
            n - 1
        } else {
            n
        }
    }

    /// Forgets every breakpoint, watchpoint and action (gdb detached).
    pub fn clear(&mut self) {
        self.breakpoints.clear();
        self.watchpoints.clear();
        self.actions.clear();
        self.locked = false;
    }

    /// What each thread is asked on resume: the breakpoints and watchpoints (for
    /// all), a step for the threads gdb steps, and `None` (stay stopped) for threads
    /// without an action under scheduler locking.
    pub fn settings(&self) -> Vec<(u64, Option<HostDebug>)> {
        self.vm
            .threads()
            .into_iter()
            .map(|t| {
                let action = self.actions.get(&t);
                if self.locked && action.is_none() {
                    return (t, None);
                }
                let d = HostDebug {
                    breakpoints: self.breakpoints.clone(),
                    watchpoints: self.watchpoints.clone(),
                    step: action == Some(&Action::Step),
                };
                (t, Some(d))
            })
            .collect()
    }

    fn state(&self, tid: Tid) -> TargetResult<tern_hart::HartState, Self> {
        self.vm
            .state(self.thread_of(tid))
            .ok_or(TargetError::NonFatal)
    }

    fn add_point<T: PartialEq>(list: &mut Vec<T>, p: T, room: usize) -> bool {
        if !list.contains(&p) {
            if room >= MAX_POINTS {
                return false;
            }
            list.push(p);
        }
        true
    }

    fn room(&self) -> usize {
        self.breakpoints.len() + self.watchpoints.len()
    }
}

impl<D: Debuggee> Target for GdbTarget<D> {
    type Arch = Riscv64;
    type Error = String;

    fn base_ops(&mut self) -> BaseOps<'_, Self::Arch, Self::Error> {
        BaseOps::MultiThread(self)
    }

    fn support_breakpoints(&mut self) -> Option<BreakpointsOps<'_, Self>> {
        Some(self)
    }

    fn support_target_description_xml_override(
        &mut self,
    ) -> Option<TargetDescriptionXmlOverrideOps<'_, Self>> {
        Some(self)
    }
}

impl<D: Debuggee> TargetDescriptionXmlOverride for GdbTarget<D> {
    fn target_description_xml(
        &self,
        annex: &[u8],
        offset: u64,
        length: usize,
        buf: &mut [u8],
    ) -> TargetResult<usize, Self> {
        if annex != b"target.xml" {
            return Err(TargetError::NonFatal);
        }
        let xml = self.xml.as_bytes();
        let start = (offset as usize).min(xml.len());
        let n = length.min(buf.len()).min(xml.len() - start);
        buf[..n].copy_from_slice(&xml[start..start + n]);
        Ok(n)
    }
}

impl<D: Debuggee> MultiThreadBase for GdbTarget<D> {
    fn read_registers(&mut self, regs: &mut Regs, tid: Tid) -> TargetResult<(), Self> {
        let s = self.state(tid)?;
        regs.x = s.x;
        regs.pc = s.pc;
        regs.f = s.f;
        Ok(())
    }

    fn write_registers(&mut self, regs: &Regs, tid: Tid) -> TargetResult<(), Self> {
        let mut s = self.state(tid)?;
        s.x = regs.x;
        s.x[0] = 0;
        s.pc = regs.pc;
        s.f = regs.f;
        let t = self.thread_of(tid);
        self.vm.set_state(t, s).map_err(TargetError::Fatal)
    }

    fn support_single_register_access(&mut self) -> Option<SingleRegisterAccessOps<'_, Tid, Self>> {
        Some(self)
    }

    fn read_addrs(&mut self, start: u64, data: &mut [u8], tid: Tid) -> TargetResult<usize, Self> {
        let s = self.state(tid)?;
        let ram = self.vm.ram();
        let t = self.thread_of(tid);
        let mut done = 0;
        let mut retried = None;
        loop {
            let at = start.wrapping_add(done as u64);
            match debugger::read_virt(&s, &ram, at, &mut data[done..]) {
                Ok(()) => return Ok(data.len()),
                Err(n) => {
                    // A lazily mapped page: make it present and go on (once per
                    // address: a page that stays unreadable ends the read).
                    done += n;
                    if retried == Some(done)
                        || !self.vm.populate(t, start.wrapping_add(done as u64))
                    {
                        break;
                    }
                    retried = Some(done);
                }
            }
        }
        if done == 0 {
            Err(TargetError::Errno(14)) // EFAULT
        } else {
            Ok(done)
        }
    }

    fn write_addrs(&mut self, start: u64, data: &[u8], tid: Tid) -> TargetResult<(), Self> {
        let s = self.state(tid)?;
        let ram = self.vm.ram();
        let t = self.thread_of(tid);
        let mut done = 0;
        let mut retried = None;
        loop {
            let at = start.wrapping_add(done as u64);
            match debugger::write_virt(&s, &ram, at, &data[done..]) {
                Ok(()) => return Ok(()),
                Err(n) => {
                    done += n;
                    if retried == Some(done)
                        || !self.vm.populate(t, start.wrapping_add(done as u64))
                    {
                        return Err(TargetError::Errno(14));
                    }
                    retried = Some(done);
                }
            }
        }
    }

    fn list_active_threads(&mut self, found: &mut dyn FnMut(Tid)) -> Result<(), Self::Error> {
        let system = self.vm.is_system();
        for t in self.vm.threads() {
            found(tid_of(t, system));
        }
        Ok(())
    }

    fn support_resume(&mut self) -> Option<MultiThreadResumeOps<'_, Self>> {
        Some(self)
    }
}

impl<D: Debuggee> SingleRegisterAccess<Tid> for GdbTarget<D> {
    fn read_register(&mut self, tid: Tid, reg: Reg, buf: &mut [u8]) -> TargetResult<usize, Self> {
        let s = self.state(tid)?;
        let value = match reg {
            Reg::X(i) => s.x[usize::from(i & 31)],
            Reg::Pc => s.pc,
            Reg::F(i) => s.f[usize::from(i & 31)],
            Reg::Priv => s.prv as u64,
            Reg::Csr(c) => debugger::read_csr(&s, c).ok_or(TargetError::NonFatal)?,
        };
        let bytes = value.to_le_bytes();
        let n = buf.len().min(8);
        buf[..n].copy_from_slice(&bytes[..n]);
        Ok(n)
    }

    fn write_register(&mut self, tid: Tid, reg: Reg, val: &[u8]) -> TargetResult<(), Self> {
        let mut s = self.state(tid)?;
        let mut raw = [0u8; 8];
        let n = val.len().min(8);
        raw[..n].copy_from_slice(&val[..n]);
        let value = u64::from_le_bytes(raw);
        match reg {
            Reg::X(0) => {}
            Reg::X(i) => s.x[usize::from(i & 31)] = value,
            Reg::Pc => s.pc = value,
            Reg::F(i) => s.f[usize::from(i & 31)] = value,
            Reg::Priv => match value {
                0 | 1 | 3 => s.prv = Priv::from_bits(value),
                _ => return Err(TargetError::NonFatal),
            },
            Reg::Csr(c) => {
                if !debugger::write_csr(&mut s, c, value) {
                    return Err(TargetError::NonFatal);
                }
            }
        }
        let t = self.thread_of(tid);
        self.vm.set_state(t, s).map_err(TargetError::Fatal)
    }
}

impl<D: Debuggee> MultiThreadResume for GdbTarget<D> {
    fn resume(&mut self) -> Result<(), Self::Error> {
        let settings = self.settings();
        // Threads that start while the VM runs: as the others, or held when gdb
        // runs chosen threads alone.
        let others = (!self.locked).then(|| HostDebug {
            breakpoints: self.breakpoints.clone(),
            watchpoints: self.watchpoints.clone(),
            step: false,
        });
        self.vm.resume(&settings, others)
    }

    fn clear_resume_actions(&mut self) -> Result<(), Self::Error> {
        self.actions.clear();
        self.locked = false;
        Ok(())
    }

    fn set_resume_action_continue(
        &mut self,
        tid: Tid,
        _signal: Option<Signal>,
    ) -> Result<(), Self::Error> {
        let t = self.thread_of(tid);
        self.actions.insert(t, Action::Continue);
        Ok(())
    }

    fn support_single_step(&mut self) -> Option<MultiThreadSingleStepOps<'_, Self>> {
        Some(self)
    }

    fn support_scheduler_locking(&mut self) -> Option<MultiThreadSchedulerLockingOps<'_, Self>> {
        Some(self)
    }
}

impl<D: Debuggee> MultiThreadSchedulerLocking for GdbTarget<D> {
    fn set_resume_action_scheduler_lock(&mut self) -> Result<(), Self::Error> {
        self.locked = true;
        Ok(())
    }
}

impl<D: Debuggee> MultiThreadSingleStep for GdbTarget<D> {
    fn set_resume_action_step(
        &mut self,
        tid: Tid,
        _signal: Option<Signal>,
    ) -> Result<(), Self::Error> {
        let t = self.thread_of(tid);
        self.actions.insert(t, Action::Step);
        Ok(())
    }
}

impl<D: Debuggee> Breakpoints for GdbTarget<D> {
    fn support_sw_breakpoint(&mut self) -> Option<SwBreakpointOps<'_, Self>> {
        Some(self)
    }

    fn support_hw_breakpoint(&mut self) -> Option<HwBreakpointOps<'_, Self>> {
        Some(self)
    }

    fn support_hw_watchpoint(&mut self) -> Option<HwWatchpointOps<'_, Self>> {
        Some(self)
    }
}

impl<D: Debuggee> SwBreakpoint for GdbTarget<D> {
    /// `Z0`: kind 2 (`c.ebreak`) or 4 (`ebreak`); both are the same check here.
    fn add_sw_breakpoint(&mut self, addr: u64, kind: usize) -> TargetResult<bool, Self> {
        if kind != 2 && kind != 4 {
            return Ok(false);
        }
        let room = self.room();
        Ok(Self::add_point(&mut self.breakpoints, addr, room))
    }

    fn remove_sw_breakpoint(&mut self, addr: u64, _kind: usize) -> TargetResult<bool, Self> {
        let before = self.breakpoints.len();
        self.breakpoints.retain(|&b| b != addr);
        Ok(self.breakpoints.len() != before)
    }
}

impl<D: Debuggee> HwBreakpoint for GdbTarget<D> {
    fn add_hw_breakpoint(&mut self, addr: u64, kind: usize) -> TargetResult<bool, Self> {
        self.add_sw_breakpoint(addr, kind)
    }

    fn remove_hw_breakpoint(&mut self, addr: u64, kind: usize) -> TargetResult<bool, Self> {
        self.remove_sw_breakpoint(addr, kind)
    }
}

fn watch_kind(kind: GdbWatchKind) -> WatchKind {
    match kind {
        GdbWatchKind::Write => WatchKind::Write,
        GdbWatchKind::Read => WatchKind::Read,
        GdbWatchKind::ReadWrite => WatchKind::Access,
    }
}

impl<D: Debuggee> HwWatchpoint for GdbTarget<D> {
    fn add_hw_watchpoint(
        &mut self,
        addr: u64,
        len: u64,
        kind: GdbWatchKind,
    ) -> TargetResult<bool, Self> {
        if len == 0 {
            return Ok(false);
        }
        let w = Watchpoint {
            addr,
            len,
            kind: watch_kind(kind),
        };
        let room = self.room();
        Ok(Self::add_point(&mut self.watchpoints, w, room))
    }

    fn remove_hw_watchpoint(
        &mut self,
        addr: u64,
        len: u64,
        kind: GdbWatchKind,
    ) -> TargetResult<bool, Self> {
        let w = Watchpoint {
            addr,
            len,
            kind: watch_kind(kind),
        };
        let before = self.watchpoints.len();
        self.watchpoints.retain(|&x| x != w);
        Ok(self.watchpoints.len() != before)
    }
}
