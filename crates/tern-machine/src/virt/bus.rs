//! The `virt` board's physical address space outside RAM, shared by all hart threads.
//!
//! Each device sits behind its own lock, so harts on different threads only contend
//! when they touch the same device. The table of windows comes from the memory map.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use tern_devices::MmioDevice;
use tern_hart::{Bus, BusFault};

use super::mmio_policy::{MmioAction, WindowRules};

/// One device window.
pub struct Window {
    /// First guest physical address.
    pub base: u64,
    /// Size in bytes.
    pub size: u64,
    /// Name for messages.
    pub name: String,
    /// The device.
    pub device: Mutex<Box<dyn MmioDevice>>,
    /// Guest loads and stores that reached the device (exits to the device model),
    /// for metrics.
    pub exits: AtomicU64,
    /// Log and deny rules of `tern run --policy` for this device, set before the harts
    /// run (none: the access goes straight to the device).
    pub policy: OnceLock<WindowRules>,
}

impl Window {
    /// A window for `device` at `base`, `size` bytes, named `name`, without rules.
    pub fn new(base: u64, size: u64, name: String, device: Box<dyn MmioDevice>) -> Window {
        Window {
            base,
            size,
            name,
            device: Mutex::new(device),
            exits: AtomicU64::new(0),
            policy: OnceLock::new(),
        }
    }

    /// A load through the window's rules (there are some).
    #[cold]
    fn load_with(&self, rules: &WindowRules, offset: u64, size: u8) -> Result<u64, BusFault> {
        let value = match rules.read {
            Some(MmioAction::Deny) => 0,
            _ => {
                let mut dev = self.device.lock().unwrap_or_else(|e| e.into_inner());
                dev.read(offset, size)?
            }
        };
        if rules.read.is_some() {
            rules.record(&self.name, false, offset, size, value);
        }
        Ok(value)
    }

    /// A store through the window's rules (there are some).
    #[cold]
    fn store_with(
        &self,
        rules: &WindowRules,
        offset: u64,
        size: u8,
        value: u64,
    ) -> Result<(), BusFault> {
        if rules.write.is_some() {
            rules.record(&self.name, true, offset, size, value);
        }
        if rules.write == Some(MmioAction::Deny) {
            return Ok(());
        }
        let mut dev = self.device.lock().unwrap_or_else(|e| e.into_inner());
        dev.write(offset, size, value)
    }
}

/// All device windows, sorted by address, and the machine-wide stop flag.
pub struct Devices {
    windows: Vec<Window>,
    /// Set when the machine must stop (power off, reset, error): harts leave `run`.
    pub stop: AtomicBool,
}

impl Devices {
    /// The windows `windows` (any order).
    pub fn new(mut windows: Vec<Window>) -> Devices {
        windows.sort_by_key(|w| w.base);
        Devices {
            windows,
            stop: AtomicBool::new(false),
        }
    }

    fn find(&self, addr: u64) -> Option<&Window> {
        let i = self.windows.partition_point(|w| w.base <= addr);
        let w = self.windows.get(i.checked_sub(1)?)?;
        (addr - w.base < w.size).then_some(w)
    }

    /// Runs `f` on every device (for polling and saving).
    pub fn for_each(&self, mut f: impl FnMut(&str, &mut dyn MmioDevice)) {
        for w in &self.windows {
            let mut dev = w.device.lock().unwrap_or_else(|e| e.into_inner());
            f(&w.name, dev.as_mut());
        }
    }

    /// The windows, in address order.
    pub fn windows(&self) -> &[Window] {
        &self.windows
    }
}

/// One hart thread's handle on the devices (what the hart calls for MMIO).
#[derive(Clone)]
pub struct HartBus {
    /// The shared devices.
    pub devices: Arc<Devices>,
}

impl Bus for HartBus {
    fn load(&mut self, addr: u64, size: u8) -> Result<u64, BusFault> {
        let w = self.devices.find(addr).ok_or(BusFault)?;
        w.exits.fetch_add(1, Ordering::Relaxed);
        if let Some(rules) = w.policy.get() {
            return w.load_with(rules, addr - w.base, size);
        }
        let mut dev = w.device.lock().unwrap_or_else(|e| e.into_inner());
        dev.read(addr - w.base, size)
    }

    fn store(&mut self, addr: u64, size: u8, value: u64) -> Result<(), BusFault> {
        let w = self.devices.find(addr).ok_or(BusFault)?;
        w.exits.fetch_add(1, Ordering::Relaxed);
        if let Some(rules) = w.policy.get() {
            return w.store_with(rules, addr - w.base, size, value);
        }
        let mut dev = w.device.lock().unwrap_or_else(|e| e.into_inner());
        dev.write(addr - w.base, size, value)
    }

    fn stop_requested(&mut self) -> bool {
        self.devices.stop.load(Ordering::Acquire)
    }
}
