//! One host thread per hart: runs the hart in slices, keeps its timers, sleeps while
//! it waits in `wfi`, and answers its SBI calls when tern is the firmware.

use std::io::Write;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use tern_devices::Clint;
use tern_hart::irq::{REQ_FLUSH_CODE, REQ_FLUSH_TLB, REQ_STOP};
use tern_hart::trap::{cause, irq};
use tern_hart::{ClockMode, GuestRam, Hart, IrqLines, Priv, RunExit, VirtualClock};

use super::bus::{Devices, HartBus};
use super::sbi::{self, hsm, Call, Outcome, Platform};

/// Instructions per run slice: bounds how late timers are noticed.
const SLICE: u64 = 20_000;
/// Longest sleep in `wfi` before re-checking (stop requests also wake the hart).
const MAX_SLEEP: Duration = Duration::from_millis(50);

/// HSM state of one hart.
#[derive(Debug)]
pub struct Hsm {
    /// One of the [`hsm`] states.
    pub state: u64,
    /// A pending `hart_start`: (address, opaque).
    pub start: Option<(u64, u64)>,
}

/// What the machine keeps about each hart, shared between threads.
pub struct HartSlot {
    /// The hart's interrupt lines and request channel.
    pub lines: Arc<IrqLines>,
    /// HSM state (tern-as-firmware only).
    pub hsm: Mutex<Hsm>,
    /// Signalled on `hart_start` and when the machine stops.
    pub wake: Condvar,
    /// SBI timer deadline (tern-as-firmware only; `u64::MAX` = none).
    pub sbi_deadline: AtomicU64,
    /// Instructions this hart retired (added once per run slice), for status and
    /// metrics.
    pub retired: AtomicU64,
    /// The hart's slow-path counts (TLB walks, block-cache misses), published once
    /// per run slice, for metrics.
    pub counters: tern_hart::SharedCounters,
}

impl HartSlot {
    /// A slot for a hart in HSM state `state`.
    pub fn new(lines: Arc<IrqLines>, state: u64) -> HartSlot {
        HartSlot {
            lines,
            hsm: Mutex::new(Hsm { state, start: None }),
            wake: Condvar::new(),
            sbi_deadline: AtomicU64::new(u64::MAX),
            retired: AtomicU64::new(0),
            counters: tern_hart::SharedCounters::default(),
        }
    }
}

/// How the machine's run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// The guest powered off (exit status 0) or reported failure code `n`.
    PowerOff(i32),
    /// The guest asked for a reboot.
    Reboot,
    /// The instruction limit was reached.
    InstructionLimit,
}

/// Everything hart threads share.
pub struct Shared {
    /// Guest RAM.
    pub ram: Arc<GuestRam>,
    /// Device windows.
    pub devices: Arc<Devices>,
    /// The CLINT (also in `devices`, typed here for timer upkeep).
    pub clint: Arc<Mutex<Clint>>,
    /// The VM clock.
    pub clock: Arc<VirtualClock>,
    /// Per-hart state.
    pub slots: Vec<HartSlot>,
    /// Why the machine stopped, once it did.
    pub reason: Mutex<Option<StopReason>>,
    /// Instructions retired by all harts.
    pub retired: AtomicU64,
    /// Stop after this many instructions.
    pub max_insns: Option<u64>,
    /// Console for the SBI debug console and legacy putchar.
    pub console: super::SharedConsole,
    /// Pausing at an instruction boundary.
    pub pause: super::pause::Pause,
    /// tern is the SBI firmware (no `--bios`): its state is part of the machine's.
    pub builtin_sbi: bool,
    /// Percentage of host time the harts are held back (0: none; at most
    /// [`MAX_THROTTLE`]): live migration's auto-converge slows a guest that dirties
    /// memory faster than the link carries it.
    pub throttle: AtomicU32,
    /// A host debugger's settings for the harts and their stop reports.
    pub debug: tern_hart::DebugHub,
    /// SBI rules of `tern run --policy` (tern as the firmware only).
    pub sbi_policy: std::sync::OnceLock<sbi::policy::SbiPolicy>,
}

/// The highest throttle: harts still run 1 % of the time.
pub const MAX_THROTTLE: u32 = 99;

impl Shared {
    /// Stops the machine for `reason` (the first reason wins) and wakes every hart.
    pub fn stop(&self, reason: StopReason) {
        {
            let mut r = self.reason.lock().unwrap_or_else(|e| e.into_inner());
            if r.is_none() {
                *r = Some(reason);
            }
        }
        self.devices.stop.store(true, Ordering::Release);
        for slot in &self.slots {
            slot.lines.request(REQ_STOP);
            let _g = slot.hsm.lock().unwrap_or_else(|e| e.into_inner());
            slot.wake.notify_all();
        }
    }

    /// Whether the machine is stopping.
    pub fn stopping(&self) -> bool {
        self.devices.stop.load(Ordering::Acquire)
    }
}

/// The SBI's view of the machine from one calling hart.
struct SbiPlatform<'a> {
    shared: &'a Shared,
    hart: &'a mut Hart,
    me: usize,
}

impl SbiPlatform<'_> {
    fn request_all(&mut self, harts: &[usize], flag: u64) {
        let mut waits = Vec::new();
        for &h in harts {
            if let Some(slot) = self.shared.slots.get(h) {
                waits.push((h, slot.lines.request(flag)));
            }
        }
        for (h, seq) in waits {
            if h != self.me {
                self.shared.slots[h].lines.wait_done(seq);
            }
        }
    }
}

impl Platform for SbiPlatform<'_> {
    fn harts(&self) -> usize {
        self.shared.slots.len()
    }

    fn set_timer(&mut self, hart: usize, deadline: u64) {
        // With Sstc enabled for S-mode (`menvcfg.STCE`, which tern's firmware sets),
        // `mip.STIP` is driven by `stimecmp` alone and software writes to it are
        // ignored, so the SBI timer is `stimecmp` itself, as OpenSBI programs it on
        // Sstc harts: the comparator raises and clears STIP.
        if hart == self.me && self.hart.state().csr.menvcfg >> 63 != 0 {
            self.hart.state_mut().csr.stimecmp = deadline;
            if let Some(slot) = self.shared.slots.get(hart) {
                slot.sbi_deadline.store(u64::MAX, Ordering::Release);
            }
            return;
        }
        if let Some(slot) = self.shared.slots.get(hart) {
            slot.sbi_deadline.store(deadline, Ordering::Release);
        }
        if hart == self.me {
            self.hart.state_mut().csr.mip &= !irq::STIP;
        }
    }

    fn send_ipi(&mut self, harts: &[usize]) {
        for &h in harts {
            if let Some(slot) = self.shared.slots.get(h) {
                slot.lines.post_mip(irq::SSIP);
            }
        }
    }

    fn fence_i(&mut self, harts: &[usize]) {
        self.request_all(harts, REQ_FLUSH_CODE);
    }

    fn sfence_vma(&mut self, harts: &[usize]) {
        self.request_all(harts, REQ_FLUSH_TLB);
    }

    fn hart_start(&mut self, hart: usize, addr: u64, opaque: u64) -> i64 {
        let Some(slot) = self.shared.slots.get(hart) else {
            return sbi::error::INVALID_PARAM;
        };
        let mut h = slot.hsm.lock().unwrap_or_else(|e| e.into_inner());
        if h.state != hsm::STOPPED || h.start.is_some() {
            return sbi::error::ALREADY_STARTED;
        }
        h.start = Some((addr, opaque));
        slot.wake.notify_all();
        sbi::error::SUCCESS
    }

    fn hart_status(&self, hart: usize) -> u64 {
        self.shared.slots.get(hart).map_or(hsm::STOPPED, |slot| {
            let h = slot.hsm.lock().unwrap_or_else(|e| e.into_inner());
            if h.start.is_some() {
                2 // START_PENDING
            } else {
                h.state
            }
        })
    }

    fn console_write(&mut self, bytes: &[u8]) {
        let _ = self.shared.console.clone().write_all(bytes);
    }

    fn console_read(&mut self) -> Option<u8> {
        None
    }

    fn read_phys(&self, addr: u64, buf: &mut [u8]) -> bool {
        self.shared.ram.read(addr, buf).is_ok()
    }

    fn write_phys(&mut self, addr: u64, data: &[u8]) -> bool {
        self.shared.ram.write(addr, data).is_ok()
    }
}

/// The earliest timer deadline of hart `me` still in the future, if any.
fn next_deadline(shared: &Shared, hart: &Hart, me: usize) -> Option<u64> {
    let now = shared.clock.now();
    let clint = shared.clint.lock().unwrap_or_else(|e| e.into_inner());
    let mtimecmp = clint.mtimecmp(me);
    drop(clint);
    let s = hart.state();
    let stimecmp = (s.csr.menvcfg >> 63 != 0).then_some(s.csr.stimecmp);
    [
        mtimecmp,
        Some(shared.slots[me].sbi_deadline.load(Ordering::Acquire)),
        stimecmp,
    ]
    .into_iter()
    .flatten()
    .filter(|&t| t > now && t != u64::MAX)
    .min()
}

/// Puts a hart started through HSM (or the boot hart) at `pc` in S-mode.
pub fn enter_supervisor(hart: &mut Hart, pc: u64, a0: u64, a1: u64) {
    let s = hart.state_mut();
    s.pc = pc;
    s.prv = Priv::S;
    s.x[10] = a0;
    s.x[11] = a1;
    s.csr.satp = 0;
    s.csr.mstatus &= !(1 << 1); // SIE
    s.waiting = false;
    hart.state_changed();
}

/// Runs hart `me` until the machine stops.
pub fn hart_loop(shared: &Shared, mut hart: Hart, me: usize) {
    let mut bus = HartBus {
        devices: shared.devices.clone(),
    };
    let slot = &shared.slots[me];
    let mut debug_applied = 0;
    'outer: loop {
        if shared.stopping() {
            return;
        }
        shared.pause.park_if_requested(shared, &mut hart, me);
        shared.debug.apply(&mut hart, me as u64, &mut debug_applied);
        if shared.debug.held(me as u64) {
            // The debugger runs other harts alone: wait for it to pause the machine
            // (then park) or to let this hart run too.
            std::thread::sleep(Duration::from_millis(5));
            continue;
        }
        // HSM: a stopped hart waits for `hart_start`.
        {
            let mut h = slot.hsm.lock().unwrap_or_else(|e| e.into_inner());
            while h.state == hsm::STOPPED {
                if shared.pause.requested() {
                    drop(h);
                    shared.pause.park_if_requested(shared, &mut hart, me);
                    continue 'outer;
                }
                if let Some((addr, opaque)) = h.start.take() {
                    h.state = hsm::STARTED;
                    drop(h);
                    enter_supervisor(&mut hart, addr, me as u64, opaque);
                    break;
                }
                if shared.stopping() {
                    return;
                }
                h = slot.wake.wait(h).unwrap_or_else(|e| e.into_inner());
            }
        }
        // Timers: the CLINT's MTIP for everyone, the SBI timer as STIP for this hart.
        shared
            .clint
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .update_timers();
        if shared.clock.now() >= slot.sbi_deadline.load(Ordering::Acquire) {
            hart.state_mut().csr.mip |= irq::STIP;
        }
        let mut budget = SLICE;
        if let Some(limit) = shared.max_insns {
            let done = shared.retired.load(Ordering::Relaxed);
            if done >= limit {
                shared.stop(StopReason::InstructionLimit);
                return;
            }
            budget = budget.min(limit - done);
        }
        let throttle = shared.throttle.load(Ordering::Relaxed).min(MAX_THROTTLE);
        let slice_start = (throttle > 0).then(Instant::now);
        let (exit, n) = hart.run(&mut bus, budget);
        if let Some(start) = slice_start {
            hold_back(shared, slot, start.elapsed(), throttle);
        }
        // Output the slice produced goes to the host now (see `console`).
        let _ = shared.console.flush_output();
        shared.clock.retired(n);
        shared.retired.fetch_add(n, Ordering::Relaxed);
        slot.retired.fetch_add(n, Ordering::Relaxed);
        slot.counters.publish(hart.counters());
        // Built-in plugins (`tern run --plugin`) take what their callbacks gathered.
        if let Some(o) = hart.observer_mut() {
            o.flush();
        }
        match exit {
            RunExit::Trap(e) if e.cause == cause::ECALL_S => sbi_call(shared, &mut hart, me),
            RunExit::Debug(stop) => {
                // All-stop: the whole machine pauses for the debugger, this hart first.
                shared.debug.report(me as u64, stop);
                shared.pause.request(shared);
            }
            RunExit::Trap(_) | RunExit::Budget | RunExit::Stop => {}
            RunExit::Wait => wait_for_interrupt(shared, &mut hart, me),
        }
    }
}

/// Throttling: after a slice that ran for `ran`, the hart sleeps so that it runs
/// `100 - percent` % of the time (a request from another thread or a stop ends the
/// sleep early). Each hart
/// is held back in proportion to the instructions it executes, so a busy hart slows
/// down and an idle one (in `wfi`) is not affected.
fn hold_back(shared: &Shared, slot: &HartSlot, ran: Duration, percent: u32) {
    let sleep = ran.mul_f64(f64::from(percent) / f64::from(100 - percent));
    let until = Instant::now() + sleep.min(Duration::from_millis(100));
    loop {
        let now = Instant::now();
        // A request (an IPI, a remote fence, a pause) is answered at once.
        if now >= until || shared.stopping() || slot.lines.has_requests() {
            return;
        }
        slot.lines.wait(0, until - now);
    }
}

/// Sleeps while hart `me` waits in `wfi`, until an interrupt line, a request, or its
/// next timer deadline.
fn wait_for_interrupt(shared: &Shared, hart: &mut Hart, me: usize) {
    if shared.pause.requested() {
        return;
    }
    shared
        .clint
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .update_timers();
    if hart.interrupt_pending() || shared.stopping() {
        return;
    }
    let deadline = next_deadline(shared, hart, me);
    match shared.clock.mode() {
        ClockMode::Instructions(_) => {
            // Deterministic time only jumps when the only hart is idle; with several
            // harts, time advances as the others retire instructions.
            if shared.slots.len() == 1 {
                match deadline {
                    Some(d) => shared.clock.skip_to(d),
                    None => shared.slots[me].lines.wait(hart.state().csr.mie, MAX_SLEEP),
                }
            } else {
                shared.slots[me]
                    .lines
                    .wait(hart.state().csr.mie, Duration::from_millis(1));
            }
        }
        ClockMode::Host => {
            let sleep = deadline.map_or(MAX_SLEEP, |d| {
                shared.clock.host_duration_until(d).min(MAX_SLEEP)
            });
            shared.slots[me].lines.wait(hart.state().csr.mie, sleep);
        }
    }
}

/// Answers the SBI call hart `me` just made (its pc is at the `ecall`).
fn sbi_call(shared: &Shared, hart: &mut Hart, me: usize) {
    let x = hart.state().x;
    let call = Call {
        eid: x[17],
        fid: x[16],
        args: [x[10], x[11], x[12], x[13], x[14], x[15]],
    };
    let policy = shared.sbi_policy.get();
    let (denied, log) = match policy {
        Some(p) => p.before(me, &call),
        None => (None, false),
    };
    let outcome = match denied {
        Some(o) => o,
        None => sbi::handle(
            &mut SbiPlatform {
                shared,
                hart: &mut *hart,
                me,
            },
            me,
            call,
        ),
    };
    if let (true, Some(p)) = (log, policy) {
        p.after(me, &call, &outcome);
    }
    let pc = hart.state().pc.wrapping_add(4);
    match outcome {
        Outcome::Return { error, value } => {
            let s = hart.state_mut();
            s.x[10] = error as u64;
            s.x[11] = value;
            s.pc = pc;
        }
        Outcome::Legacy(value) => {
            let s = hart.state_mut();
            s.x[10] = value;
            s.pc = pc;
        }
        Outcome::Stop => {
            let slot = &shared.slots[me];
            slot.hsm.lock().unwrap_or_else(|e| e.into_inner()).state = hsm::STOPPED;
            hart.state_mut().pc = pc;
        }
        Outcome::Suspend { resume } => {
            // Sleep like `wfi` until an interrupt is pending (regardless of SIE). A pause
            // leaves the call unfinished (pc still at the `ecall`): after it, the hart
            // makes the call again.
            while !hart.interrupt_pending() && !shared.stopping() {
                if shared.pause.requested() {
                    return;
                }
                let deadline = next_deadline(shared, hart, me);
                let sleep = deadline.map_or(MAX_SLEEP, |d| {
                    shared.clock.host_duration_until(d).min(MAX_SLEEP)
                });
                shared.slots[me].lines.wait(hart.state().csr.mie, sleep);
                shared
                    .clint
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .update_timers();
                if shared.clock.now() >= shared.slots[me].sbi_deadline.load(Ordering::Acquire) {
                    hart.state_mut().csr.mip |= irq::STIP;
                }
            }
            match resume {
                Some((addr, opaque)) => enter_supervisor(hart, addr, me as u64, opaque),
                None => {
                    let s = hart.state_mut();
                    s.x[10] = 0;
                    s.pc = pc;
                }
            }
        }
        Outcome::Reset { reboot, failure } => {
            hart.state_mut().pc = pc;
            shared.stop(if reboot {
                StopReason::Reboot
            } else {
                StopReason::PowerOff(i32::from(failure))
            });
        }
    }
}
