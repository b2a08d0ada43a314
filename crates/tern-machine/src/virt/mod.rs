//! The `virt` board: a whole RISC-V computer compatible with QEMU's
//! `-machine virt` (memory map, device tree), booting firmware or a kernel directly.
//!
//! Two boot paths (DESIGN.md): with `--bios`, real M-mode firmware (OpenSBI) starts on
//! every hart; without it, tern is the firmware: the kernel starts in S-mode on hart
//! 0 with a0 = hart id and a1 = device tree, and its SBI calls are answered by
//! [`sbi`]. Each hart runs on its own host thread ([`hart_thread`]); the calling thread
//! runs the I/O loop that polls devices.

pub mod boot;
pub mod bus;
mod console;
pub mod fdt;
pub mod hart_thread;
pub mod memmap;
pub mod mmio_policy;
pub mod pause;
pub mod sbi;
mod slots;
pub mod state;

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tern_devices::uart::InputQueue;
use tern_devices::{
    Clint, GoldfishRtc, IrqLine, MmioDevice, Plic, PollWaker, PowerAction, PowerControl, Syscon,
    Uart,
};
use tern_hart::{ClockMode, GuestRam, Hart, HartConfig, IrqLines, Priv, VirtualClock};
use tern_state::{Persist, StateError};

use bus::{Devices, Window};
pub use console::SharedConsole;
pub use hart_thread::StopReason;
use hart_thread::{enter_supervisor, hart_loop, HartSlot, Shared};
use memmap::{
    fixed, DeviceKind, DRAM_BASE, PLIC_SOURCES, VIRTIO_BASE, VIRTIO_IRQ, VIRTIO_SIZE, VIRTIO_SLOTS,
};

/// What a virtio device needs from the board when it is built.
pub struct VirtioContext {
    /// Guest RAM (for the virtqueues).
    pub ram: Arc<GuestRam>,
    /// The slot's interrupt line.
    pub irq: IrqLine,
    /// Wakes the I/O loop when a backend has input.
    pub waker: PollWaker,
}

/// Builds one virtio-mmio device for a slot.
pub type VirtioFactory =
    Box<dyn FnOnce(&VirtioContext) -> Result<Box<dyn MmioDevice>, String> + Send>;

/// How to build a `virt` machine.
pub struct VirtConfig {
    /// Number of harts (1–8).
    pub harts: usize,
    /// RAM size in bytes.
    pub memory: u64,
    /// M-mode firmware (OpenSBI), or `None` for tern's own SBI.
    pub bios: Option<Vec<u8>>,
    /// Kernel (Linux `Image`, ELF, or raw binary such as U-Boot).
    pub kernel: Option<Vec<u8>>,
    /// Initial RAM disk.
    pub initrd: Option<Vec<u8>>,
    /// Kernel command line.
    pub append: String,
    /// How guest time advances.
    pub clock: ClockMode,
    /// Stop after this many instructions (all harts together).
    pub max_insns: Option<u64>,
    /// Where the UART and the SBI console write.
    pub console: Box<dyn Write + Send>,
    /// virtio devices, in slot order from 0x1000_1000 (at most 8).
    pub virtio: Vec<VirtioFactory>,
    /// Set when the machine is rebuilt to restore a snapshot: no images are loaded, and
    /// the value says whether tern was the firmware (`true`) or an M-mode firmware ran.
    pub restore_builtin_sbi: Option<bool>,
}

/// Errors while building the machine.
#[derive(Debug, thiserror::Error)]
pub enum VirtError {
    /// A bad configuration.
    #[error("{0}")]
    Config(String),
    /// RAM could not be set up.
    #[error(transparent)]
    Ram(#[from] tern_hart::mem::ram::RamError),
    /// An image could not be placed.
    #[error(transparent)]
    Boot(#[from] boot::BootError),
    /// The device tree could not be built.
    #[error("device tree: {0}")]
    Fdt(String),
    /// A saved state does not fit the machine.
    #[error(transparent)]
    State(#[from] StateError),
}

/// A `virt` machine, ready to run.
pub struct VirtMachine {
    shared: Arc<Shared>,
    harts: Vec<Hart>,
    waker: PollWaker,
    power: PowerControl,
    input: InputQueue,
    dtb: Vec<u8>,
}

/// A device window for the CLINT, which the board also needs typed access to.
struct ClintWindow(Arc<Mutex<Clint>>);

impl MmioDevice for ClintWindow {
    fn read(&mut self, offset: u64, size: u8) -> Result<u64, tern_hart::BusFault> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .read(offset, size)
    }
    fn write(&mut self, offset: u64, size: u8, value: u64) -> Result<(), tern_hart::BusFault> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .write(offset, size, value)
    }
}

impl Persist for ClintWindow {
    type State = tern_devices::clint::ClintState;

    fn save(&self) -> Result<Self::State, StateError> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).save()
    }

    fn restore(&mut self, state: &Self::State) -> Result<(), StateError> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .restore(state)
    }
}

impl VirtMachine {
    /// Builds the machine and loads its images.
    pub fn new(config: VirtConfig) -> Result<VirtMachine, VirtError> {
        VirtMachine::build(config, None)
    }

    /// Builds a machine for a restore (`config.restore_builtin_sbi` set) around guest
    /// RAM that already holds the guest's memory: a live migration's destination
    /// receives pages while the source runs, before the machine exists. The RAM must
    /// be `config.memory` bytes at [`memmap::DRAM_BASE`].
    pub fn with_ram(config: VirtConfig, ram: Arc<GuestRam>) -> Result<VirtMachine, VirtError> {
        if config.restore_builtin_sbi.is_none() {
            return Err(VirtError::Config(
                "only a restored machine is built around existing RAM".into(),
            ));
        }
        if ram.base() != DRAM_BASE || ram.size() != config.memory {
            return Err(VirtError::Config(format!(
                "guest RAM is {:#x}+{:#x}, the machine's {DRAM_BASE:#x}+{:#x}",
                ram.base(),
                ram.size(),
                config.memory
            )));
        }
        VirtMachine::build(config, Some(ram))
    }

    fn build(config: VirtConfig, ram: Option<Arc<GuestRam>>) -> Result<VirtMachine, VirtError> {
        if !(1..=8).contains(&config.harts) {
            return Err(VirtError::Config(format!(
                "--cpus must be 1 to 8, not {}",
                config.harts
            )));
        }
        if config.virtio.len() > usize::from(VIRTIO_SLOTS) {
            return Err(VirtError::Config(format!(
                "at most {VIRTIO_SLOTS} virtio devices"
            )));
        }
        if config.bios.is_none() && config.kernel.is_none() && config.restore_builtin_sbi.is_none()
        {
            return Err(VirtError::Config(
                "nothing to boot: give --kernel or --bios".into(),
            ));
        }
        let ram = match ram {
            Some(ram) => ram,
            None => Arc::new(GuestRam::new(DRAM_BASE, config.memory)?),
        };
        let clock = Arc::new(VirtualClock::new(config.clock));
        let lines: Vec<Arc<IrqLines>> = (0..config.harts)
            .map(|_| Arc::new(IrqLines::new()))
            .collect();
        let waker = PollWaker::new();
        let power = PowerControl::new(Some(waker.clone()));

        // Devices, from the memory map.
        let plic = Plic::new(PLIC_SOURCES, &lines);
        let clint = Arc::new(Mutex::new(Clint::new(lines.clone(), clock.clone())));
        let uart_region = fixed(DeviceKind::Uart);
        let console = SharedConsole::new(config.console);
        let uart = Uart::new(
            Box::new(console.clone()),
            plic.irq_line(uart_region.irq.unwrap_or(10)),
            Some(waker.clone()),
        );
        let input = uart.input();
        let rtc_region = fixed(DeviceKind::Rtc);
        let rtc = GoldfishRtc::new(clock.clone(), plic.irq_line(rtc_region.irq.unwrap_or(11)));
        let window = |kind: DeviceKind, name: &str, device: Box<dyn MmioDevice>| {
            let r = fixed(kind);
            Window::new(r.base, r.size, name.into(), device)
        };
        let mut windows = vec![
            window(
                DeviceKind::Test,
                "test",
                Box::new(Syscon::new(power.clone())),
            ),
            window(DeviceKind::Rtc, "rtc", Box::new(rtc)),
            window(
                DeviceKind::Clint,
                "clint",
                Box::new(ClintWindow(clint.clone())),
            ),
            window(DeviceKind::Plic, "plic", Box::new(plic.clone())),
            window(DeviceKind::Uart, "uart", Box::new(uart)),
        ];
        let mut factories = config.virtio.into_iter();
        for n in 0..VIRTIO_SLOTS {
            let ctx = VirtioContext {
                ram: ram.clone(),
                irq: plic.irq_line(VIRTIO_IRQ + u32::from(n)),
                waker: waker.clone(),
            };
            let device: Box<dyn MmioDevice> = match factories.next() {
                Some(f) => f(&ctx).map_err(VirtError::Config)?,
                None => Box::new(slots::EmptySlot),
            };
            windows.push(Window::new(
                VIRTIO_BASE + u64::from(n) * VIRTIO_SIZE,
                VIRTIO_SIZE,
                format!("virtio{n}"),
                device,
            ));
        }
        let devices = Arc::new(Devices::new(windows));

        // Images.
        let firmware = match &config.bios {
            Some(bios) => Some(boot::load_image(&ram, "firmware", bios, DRAM_BASE)?),
            None => None,
        };
        let kernel = match &config.kernel {
            Some(k) => Some(boot::load_image(&ram, "kernel", k, boot::KERNEL_BASE)?),
            None => None,
        };
        let initrd = match (&config.initrd, kernel) {
            (Some(data), Some(k)) => {
                let start = boot::initrd_address(k.entry, config.memory);
                ram.write(start, data)
                    .map_err(|_| boot::BootError::TooBig {
                        what: "initrd",
                        addr: start,
                        size: data.len() as u64,
                    })?;
                Some((start, start + data.len() as u64))
            }
            (Some(_), None) => return Err(VirtError::Config("--initrd needs --kernel".into())),
            _ => None,
        };
        let fdt_config = fdt::FdtConfig {
            harts: config.harts as u32,
            ram_size: config.memory,
            bootargs: config.append.clone(),
            initrd,
            isa: fdt::ISA.into(),
            mmu_type: "riscv,sv57".into(),
        };
        let dtb = fdt::build(&fdt_config).map_err(|e| VirtError::Fdt(e.to_string()))?;
        let dtb_addr = boot::fdt_address(config.memory, dtb.len() as u64);
        // A restored machine's RAM is the guest's: the tree it booted with is there,
        // or was freed and reused, and a page that was zero must stay zero.
        if config.restore_builtin_sbi.is_none() {
            ram.write(dtb_addr, &dtb)
                .map_err(|_| VirtError::Fdt("does not fit in RAM".into()))?;
        }
        if let (Some(k), Some((start, _))) = (kernel, initrd) {
            if start < k.end {
                return Err(VirtError::Config(
                    "the kernel overlaps the initrd; use a larger --memory".into(),
                ));
            }
        }

        // Harts.
        let mut harts = Vec::new();
        let mut slots = Vec::new();
        for (id, l) in lines.iter().enumerate() {
            let mut hart = Hart::new(id as u64, DRAM_BASE, ram.clone(), l.clone(), clock.clone());
            let started = match (firmware, kernel) {
                (Some(fw), _) => {
                    let fw_info = dtb_addr - 0x1000;
                    boot::write_fw_dynamic_info(&ram, fw_info, boot::KERNEL_BASE)?;
                    let s = hart.state_mut();
                    s.pc = fw.entry;
                    s.x[10] = id as u64;
                    s.x[11] = dtb_addr;
                    s.x[12] = fw_info;
                    true
                }
                (None, Some(k)) => {
                    hart.set_config(HartConfig {
                        sbi_ecalls_exit: true,
                        ..HartConfig::default()
                    });
                    firmware_setup(&mut hart);
                    if id == 0 {
                        enter_supervisor(&mut hart, k.entry, 0, dtb_addr);
                    }
                    id == 0
                }
                (None, None) => {
                    if config.restore_builtin_sbi == Some(true) {
                        hart.set_config(HartConfig {
                            sbi_ecalls_exit: true,
                            ..HartConfig::default()
                        });
                    }
                    // Rebuilt for a restore: with tern as the SBI the saved firmware
                    // state says which harts run; under M-mode firmware they all do.
                    config.restore_builtin_sbi == Some(false)
                }
            };
            // One hart: its decoded code always matches memory (see `HartConfig`).
            hart.set_config(HartConfig {
                sole_hart: config.harts == 1,
                ..hart.config()
            });
            let state = if started {
                sbi::hsm::STARTED
            } else {
                sbi::hsm::STOPPED
            };
            slots.push(HartSlot::new(l.clone(), state));
            harts.push(hart);
        }
        let shared = Arc::new(Shared {
            ram,
            devices,
            clint,
            clock,
            slots,
            reason: Mutex::new(None),
            retired: AtomicU64::new(0),
            max_insns: config.max_insns,
            console,
            pause: pause::Pause::new(config.harts),
            builtin_sbi: firmware.is_none() && config.restore_builtin_sbi != Some(false),
            throttle: Default::default(),
            debug: tern_hart::DebugHub::default(),
            sbi_policy: std::sync::OnceLock::new(),
        });
        Ok(VirtMachine {
            shared,
            harts,
            waker,
            power,
            input,
            dtb,
        })
    }

    /// The device tree given to the guest.
    pub fn dtb(&self) -> &[u8] {
        &self.dtb
    }

    /// Where terminal input for the UART goes.
    pub fn console_input(&self) -> InputQueue {
        self.input.clone()
    }

    /// Instructions retired by all harts so far.
    pub fn retired(&self) -> u64 {
        self.shared.retired.load(Ordering::Relaxed)
    }

    /// Bytes of guest RAM the guest has written (what the host had to provide).
    pub fn ram_touched(&self) -> u64 {
        self.shared.ram.dirty_pages() * tern_hart::mem::ram::PAGE_SIZE
    }

    /// Asks the machine to stop as if powered off with `status` (for Ctrl-A X).
    pub fn stop_handle(&self) -> StopHandle {
        StopHandle(self.shared.clone())
    }

    /// Installs instruction and memory callbacks on every hart (`make(hart id)`);
    /// each hart's thread calls [`tern_hart::ExecObserver::flush`] after each run
    /// slice. Before [`VirtMachine::run`].
    pub fn set_observers(
        &mut self,
        mut make: impl FnMut(usize) -> Box<dyn tern_hart::ExecObserver>,
    ) {
        for (id, hart) in self.harts.iter_mut().enumerate() {
            hart.set_observer(Some(make(id)));
        }
    }

    /// Puts SBI rules (`tern run --policy`) between the guest and tern's SBI; an
    /// error when tern is not the firmware or rules are set already.
    pub fn set_sbi_policy(&mut self, policy: sbi::policy::SbiPolicy) -> Result<(), String> {
        if !self.shared.builtin_sbi {
            return Err("SBI rules need tern's own SBI (no --bios)".into());
        }
        self.shared
            .sbi_policy
            .set(policy)
            .map_err(|_| "SBI rules are set already".to_string())
    }

    /// Puts MMIO rules (`tern run --policy`) on the device windows they name; an
    /// error naming a device the board does not have (a virtio kind matches every
    /// slot holding one, and none may hold one), or when rules are set already.
    pub fn set_mmio_policy(&mut self, policy: &mmio_policy::MmioPolicy) -> Result<(), String> {
        let windows = self.shared.devices.windows();
        for name in policy.devices() {
            if mmio_policy::virtio_kind(name).is_none() && !windows.iter().any(|w| w.name == name) {
                let known: Vec<&str> = windows.iter().map(|w| w.name.as_str()).collect();
                return Err(format!(
                    "no device {name:?} on this board (devices: {}, or virtio-net, virtio-blk, virtio-console, virtio-rng)",
                    known.join(", ")
                ));
            }
        }
        for w in windows {
            let virtio_type = w.name.starts_with("virtio").then(|| {
                // The device type register (read-only, no side effect); 0 in an
                // empty slot.
                let mut dev = w.device.lock().unwrap_or_else(|e| e.into_inner());
                dev.read(mmio_policy::VIRTIO_DEVICE_ID, 4).unwrap_or(0) as u32
            });
            if let Some(rules) = policy.for_window(&w.name, virtio_type.filter(|t| *t != 0)) {
                w.policy
                    .set(rules)
                    .map_err(|_| format!("MMIO rules for {} are set already", w.name))?;
            }
        }
        Ok(())
    }

    /// Runs the machine until it powers off, resets, or hits the instruction limit.
    pub fn run(&mut self) -> StopReason {
        let shared = self.shared.clone();
        let harts = std::mem::take(&mut self.harts);
        std::thread::scope(|scope| {
            for (id, hart) in harts.into_iter().enumerate() {
                let shared = &shared;
                let _ = std::thread::Builder::new()
                    .name(format!("hart{id}"))
                    .spawn_scoped(scope, move || hart_loop(shared, hart, id));
            }
            self.io_loop();
        });
        let reason = *shared.reason.lock().unwrap_or_else(|e| e.into_inner());
        reason.unwrap_or(StopReason::PowerOff(0))
    }

    /// Polls devices until the machine stops.
    fn io_loop(&self) {
        let shared = &self.shared;
        while !shared.stopping() {
            if let Some(action) = self.power.take() {
                shared.stop(match action {
                    PowerAction::Reboot => StopReason::Reboot,
                    other => StopReason::PowerOff(other.exit_status().unwrap_or(0)),
                });
                break;
            }
            if !shared.pause.requested() {
                shared.devices.for_each(|_, dev| dev.poll());
            }
            let _ = shared.console.flush_output();
            self.waker.wait(Duration::from_millis(10));
        }
        let _ = shared.console.flush_output();
    }
}

/// Stops a running machine from another thread.
#[derive(Clone)]
pub struct StopHandle(Arc<Shared>);

impl StopHandle {
    /// Stops the machine as if it powered off with `status`.
    pub fn stop(&self, status: i32) {
        self.0.stop(StopReason::PowerOff(status));
    }
}

/// M-mode set-up that firmware would do before entering the kernel: delegate traps
/// and supervisor interrupts to S-mode, enable counters, Sstc and Zicboz for S-mode.
fn firmware_setup(hart: &mut Hart) {
    let s = hart.state_mut();
    // Every exception except ecalls from S and M goes straight to S-mode.
    s.csr.medeleg = 0xb1ff;
    s.csr.mideleg = tern_hart::trap::irq::S_MASK;
    s.csr.mcounteren = 0xffff_ffff;
    // As OpenSBI does: U-mode may read cycle, time and instret (the vDSO reads time)
    // until the kernel decides otherwise.
    s.csr.scounteren = 7;
    s.csr.menvcfg = tern_hart::csr::MENVCFG_STCE | tern_hart::csr::ENVCFG_CBZE;
    s.csr.mstatus |= 1 << 13; // FS = Initial, so the kernel may use the FPU at once
    s.prv = Priv::M;
    hart.state_changed();
}
