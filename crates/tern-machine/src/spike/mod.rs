//! The `spike` board: RAM at 0x8000_0000, a CLINT at 0x0200_0000, and HTIF at the
//! addresses of the program's `tohost`/`fromhost` symbols — what RISC-V architecture
//! tests and bare-metal programs for the Spike simulator (or QEMU's `-machine spike`)
//! expect. One hart starts in M-mode at the ELF entry point.
//!
//! The machine runs on the calling thread; a [`SpikeHandle`] pauses, inspects and
//! stops it from another one ([`control`]), and [`state`] saves and restores it.

pub mod control;
pub mod state;

use std::io::Write;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tern_devices::clint::{self, Clint};
use tern_devices::htif::{Htif, Mailbox};
use tern_hart::{
    Bus, BusFault, ClockMode, GuestRam, Hart, HartConfig, IrqLines, RunExit, VirtualClock,
};

use crate::loader::elf::{load_elf, ElfError};
use control::Control;
pub use control::{SpikeControlError, SpikeHandle, SpikeStatus};
use tern_state::{Persist, StateError};

/// Guest physical address of RAM.
pub const RAM_BASE: u64 = 0x8000_0000;
/// Guest physical address of the CLINT.
pub const CLINT_BASE: u64 = 0x0200_0000;

/// Instructions per run slice: bounds how late device timers (and pause requests)
/// are noticed.
const SLICE: u64 = 50_000;
/// Longest sleep while the hart waits in `wfi`, so that a pause is noticed soon.
const MAX_SLEEP: Duration = Duration::from_millis(10);

/// How to build a spike machine.
pub struct SpikeConfig {
    /// RAM size in bytes.
    pub memory: u64,
    /// How guest time advances.
    pub clock: ClockMode,
    /// Stop after this many instructions.
    pub max_insns: Option<u64>,
    /// Where HTIF console output goes.
    pub console: Box<dyn Write + Send>,
    /// Where to write an instruction trace, if anywhere.
    pub trace: Option<Box<dyn Write + Send>>,
}

/// How a spike machine's run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpikeExit {
    /// The program reported this status through HTIF (0 = pass).
    Exited(u64),
    /// `max_insns` instructions ran without the program exiting.
    InstructionLimit,
    /// The hart waits in `wfi` and no timer is armed: nothing can wake it.
    Deadlock,
    /// Stopped through [`SpikeHandle::stop`].
    Stopped,
}

/// Errors while building the machine.
#[derive(Debug, thiserror::Error)]
pub enum SpikeError {
    /// RAM could not be set up.
    #[error(transparent)]
    Ram(#[from] tern_hart::mem::ram::RamError),
    /// The program could not be loaded.
    #[error("cannot load the program: {0}")]
    Elf(#[from] ElfError),
    /// A saved state does not fit (restore).
    #[error(transparent)]
    State(#[from] StateError),
    /// Saved guest memory could not be put into RAM (restore).
    #[error("{0}")]
    Memory(String),
}

struct HtifWindow {
    device: Htif,
    tohost: u64,
    fromhost: u64,
}

/// Everything outside RAM on the spike board.
struct SpikeBus {
    ram: Arc<GuestRam>,
    clint: Clint,
    htif: Option<HtifWindow>,
}

impl SpikeBus {
    fn mailbox(&self, addr: u64) -> Option<(Mailbox, u64)> {
        let h = self.htif.as_ref()?;
        if (h.tohost..h.tohost + 8).contains(&addr) {
            Some((Mailbox::ToHost, addr - h.tohost))
        } else if (h.fromhost..h.fromhost + 8).contains(&addr) {
            Some((Mailbox::FromHost, addr - h.fromhost))
        } else {
            None
        }
    }
}

impl Bus for SpikeBus {
    fn load(&mut self, addr: u64, size: u8) -> Result<u64, BusFault> {
        if let Some((mailbox, offset)) = self.mailbox(addr) {
            if let Some(h) = self.htif.as_mut() {
                return h.device.load(mailbox, offset, size);
            }
        }
        if (CLINT_BASE..CLINT_BASE + clint::SIZE).contains(&addr) {
            return self.clint.load(addr - CLINT_BASE, size);
        }
        // The rest of a RAM page that HTIF overlays.
        let mut buf = [0u8; 8];
        self.ram
            .read(addr, &mut buf[..usize::from(size.min(8))])
            .map_err(|_| BusFault)?;
        Ok(u64::from_le_bytes(buf))
    }

    fn store(&mut self, addr: u64, size: u8, value: u64) -> Result<(), BusFault> {
        if let Some((mailbox, offset)) = self.mailbox(addr) {
            if let Some(h) = self.htif.as_mut() {
                return h.device.store(mailbox, offset, size, value);
            }
        }
        if (CLINT_BASE..CLINT_BASE + clint::SIZE).contains(&addr) {
            return self.clint.store(addr - CLINT_BASE, size, value);
        }
        let bytes = value.to_le_bytes();
        self.ram
            .write(addr, &bytes[..usize::from(size.min(8))])
            .map_err(|_| BusFault)
    }

    fn stop_requested(&mut self) -> bool {
        self.htif
            .as_ref()
            .is_some_and(|h| h.device.exit_status().is_some())
    }
}

/// A spike board with one hart and a loaded program.
pub struct SpikeMachine {
    hart: Hart,
    bus: SpikeBus,
    clock: Arc<VirtualClock>,
    max_insns: Option<u64>,
    retired: u64,
    control: Arc<Control>,
}

impl SpikeMachine {
    /// Builds the board and loads the ELF program `elf`.
    pub fn new(config: SpikeConfig, elf: &[u8]) -> Result<SpikeMachine, SpikeError> {
        let mut ram = GuestRam::new(RAM_BASE, config.memory)?;
        let image = load_elf(&ram, elf)?;
        let tohost = image.symbols.get("tohost").copied();
        let fromhost = image.symbols.get("fromhost").copied();
        if let Some(t) = tohost {
            ram.add_io_page(t);
            ram.add_io_page(t + 7);
        }
        if let Some(f) = fromhost {
            ram.add_io_page(f);
            ram.add_io_page(f + 7);
        }
        let ram = Arc::new(ram);
        let clock = Arc::new(VirtualClock::new(config.clock));
        let lines = Arc::new(IrqLines::new());
        let mut hart = Hart::new(0, image.entry, ram.clone(), lines.clone(), clock.clone());
        hart.set_trace(config.trace);
        // The only hart: its decoded code always matches memory (see `HartConfig`).
        hart.set_config(HartConfig {
            sole_hart: true,
            ..hart.config()
        });
        let clint = Clint::new(vec![lines], clock.clone());
        let htif = tohost.map(|tohost| HtifWindow {
            device: Htif::new(ram.clone(), config.console),
            tohost,
            fromhost: fromhost.unwrap_or(tohost + 8),
        });
        let bus = SpikeBus { ram, clint, htif };
        Ok(SpikeMachine::assemble(hart, bus, clock, config.max_insns))
    }

    fn assemble(
        hart: Hart,
        bus: SpikeBus,
        clock: Arc<VirtualClock>,
        max_insns: Option<u64>,
    ) -> SpikeMachine {
        SpikeMachine {
            hart,
            bus,
            clock,
            max_insns,
            retired: 0,
            control: Arc::default(),
        }
    }

    /// A handle to pause, inspect and stop the machine from another thread.
    pub fn handle(&self) -> SpikeHandle {
        SpikeHandle {
            control: self.control.clone(),
            ram: self.bus.ram.clone(),
        }
    }

    /// Guest RAM.
    pub fn ram(&self) -> Arc<GuestRam> {
        self.bus.ram.clone()
    }

    /// Serves a pause request (between two slices): freezes guest time, publishes the
    /// machine's state and waits until resumed or stopped.
    fn park(&mut self) {
        self.clock.freeze();
        let state = self.save();
        if let Some(changed) = self.control.park(state, self.hart.state()) {
            self.hart.set_state(changed);
        }
        self.clock.thaw();
    }

    /// Whether the program has HTIF mailboxes (otherwise it cannot report an exit).
    pub fn has_htif(&self) -> bool {
        self.bus.htif.is_some()
    }

    /// The hart.
    pub fn hart(&self) -> &Hart {
        &self.hart
    }

    /// Instructions retired so far.
    pub fn retired(&self) -> u64 {
        self.retired
    }

    /// Runs until the program exits, the instruction limit is reached, the hart
    /// waits forever, or a [`SpikeHandle`] stops it.
    pub fn run(&mut self) -> SpikeExit {
        let exit = self.run_slices();
        self.control.finished(exit);
        exit
    }

    fn run_slices(&mut self) -> SpikeExit {
        let mut debug_applied = 0;
        loop {
            if self.control.stop.load(Ordering::Acquire) {
                return SpikeExit::Stopped;
            }
            if self.control.requested.load(Ordering::Acquire) {
                self.park();
                continue;
            }
            self.control
                .debug
                .apply(&mut self.hart, 0, &mut debug_applied);
            self.bus.clint.update_timers();
            let mut budget = SLICE;
            if let Some(limit) = self.max_insns {
                if self.retired >= limit {
                    return SpikeExit::InstructionLimit;
                }
                budget = budget.min(limit - self.retired);
            }
            if let (ClockMode::Instructions(per_tick), Some(deadline)) =
                (self.clock.mode(), self.bus.clint.next_deadline())
            {
                let ticks = deadline.saturating_sub(self.clock.now());
                budget = budget.min(ticks.saturating_mul(per_tick).max(1));
            }
            let (exit, n) = self.hart.run(&mut self.bus, budget);
            self.retired += n;
            self.control.retired.store(self.retired, Ordering::Relaxed);
            self.clock.retired(n);
            match exit {
                RunExit::Stop => {
                    if let Some(code) = self.bus.htif.as_ref().and_then(|h| h.device.exit_status())
                    {
                        return SpikeExit::Exited(code);
                    }
                    // A page restored lazily could not be read: the hart cannot go on
                    // (the caller reports `GuestRam::lost`).
                    if self.ram().lost().is_some() {
                        return SpikeExit::Stopped;
                    }
                }
                // No trap goes to the host on this board (`user_traps_exit` is off).
                RunExit::Debug(stop) => {
                    // The debugger's breakpoint or step: pause for it.
                    self.control.debug.report(0, stop);
                    self.control.requested.store(true, Ordering::Release);
                }
                RunExit::Budget | RunExit::Trap(_) => {}
                RunExit::Wait => {
                    self.bus.clint.update_timers();
                    if self.hart.interrupt_pending() {
                        continue;
                    }
                    let stimecmp = self.hart.state().csr.stimecmp;
                    let sstc_armed = stimecmp != u64::MAX
                        && stimecmp > self.clock.now()
                        && self.hart.state().csr.menvcfg >> 63 != 0;
                    let deadline = match (self.bus.clint.next_deadline(), sstc_armed) {
                        (Some(d), true) => d.min(stimecmp),
                        (Some(d), false) => d,
                        (None, true) => stimecmp,
                        (None, false) => return SpikeExit::Deadlock,
                    };
                    match self.clock.mode() {
                        ClockMode::Instructions(_) => self.clock.skip_to(deadline),
                        ClockMode::Host => std::thread::sleep(
                            self.clock.host_duration_until(deadline).min(MAX_SLEEP),
                        ),
                    }
                }
            }
        }
    }
}
