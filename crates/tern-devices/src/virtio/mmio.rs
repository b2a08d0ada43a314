//! The virtio-mmio transport, modern interface (virtio 1.2 §4.2.2, version 2).
//!
//! | offset | register | |
//! |---|---|---|
//! | 0x000 | MagicValue `"virt"` | R |
//! | 0x004 | Version (2) | R |
//! | 0x008 | DeviceID | R |
//! | 0x00c | VendorID | R |
//! | 0x010 / 0x014 | DeviceFeatures / DeviceFeaturesSel | R / W |
//! | 0x020 / 0x024 | DriverFeatures / DriverFeaturesSel | W / W |
//! | 0x030 / 0x034 / 0x038 | QueueSel / QueueNumMax / QueueNum | W / R / W |
//! | 0x044 | QueueReady | RW |
//! | 0x050 | QueueNotify | W |
//! | 0x060 / 0x064 | InterruptStatus / InterruptACK | R / W |
//! | 0x070 | Status | RW |
//! | 0x080..0x0a4 | QueueDesc, QueueDriver, QueueDevice (low/high) | W |
//! | 0x0ac..0x0bc | SHMSel, SHMLen, SHMBase: no shared memory regions (all ones) | |
//! | 0x0fc | ConfigGeneration | R |
//! | 0x100.. | device configuration space | RW |
//!
//! Registers below 0x100 take 32-bit accesses only (§4.2.2.2); other widths read 0
//! and are ignored, as in QEMU. Feature negotiation (§3.1.1): `FEATURES_OK` stays clear
//! when the driver accepted a feature that was not offered or did not accept
//! `VIRTIO_F_VERSION_1`. Writing 0 to Status resets the device (§4.2.3.1). A ring the
//! device cannot use (outside RAM, a corrupt available index) sets `DEVICE_NEEDS_RESET`
//! and sends a configuration change interrupt (§2.1.2); the driver must reset.
//!
//! The interrupt line is a level: high while InterruptStatus is not zero.

use serde::{Deserialize, Serialize};
use tern_hart::BusFault;
use tern_state::{peek, Decoder, Encoder, Persist, StateError, Versioned};
use virtio_queue::{Queue, QueueState, QueueT};

use super::{read_config_bytes, GuestMem, Queues, VirtioDevice, F_INDIRECT_DESC, F_VERSION_1};
use crate::irq::IrqLine;
use crate::MmioDevice;

/// Size of one virtio-mmio window (QEMU's `virt` spaces them 0x1000 apart).
pub const SIZE: u64 = 0x1000;
const MAGIC: u32 = 0x7472_6976;
/// Vendor ID reported ("QEMU", as QEMU's devices say; drivers do not look at it).
pub const VENDOR_ID: u32 = 0x554d_4551;
const CONFIG_BASE: u64 = 0x100;

/// Device status bits (§2.1).
pub mod status {
    /// The guest found the device.
    pub const ACKNOWLEDGE: u32 = 1;
    /// The guest has a driver for it.
    pub const DRIVER: u32 = 2;
    /// The driver is ready.
    pub const DRIVER_OK: u32 = 4;
    /// Feature negotiation is complete.
    pub const FEATURES_OK: u32 = 8;
    /// The device hit an error and needs a reset.
    pub const DEVICE_NEEDS_RESET: u32 = 0x40;
    /// The driver gave up.
    pub const FAILED: u32 = 0x80;
}

/// InterruptStatus bit: buffers were used.
pub const INT_VRING: u32 = 1;
/// InterruptStatus bit: the configuration changed.
pub const INT_CONFIG: u32 = 2;

/// One queue's registers and ring positions (`virtio-queue`'s `QueueState`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueRegs {
    /// QueueNumMax.
    pub max_size: u16,
    /// QueueNum.
    pub size: u16,
    /// QueueReady.
    pub ready: bool,
    /// QueueDesc.
    pub desc_table: u64,
    /// QueueDriver (available ring).
    pub avail_ring: u64,
    /// QueueDevice (used ring).
    pub used_ring: u64,
    /// Next available ring entry the device will read.
    pub next_avail: u16,
    /// Next used ring entry the device will write.
    pub next_used: u16,
    /// Whether `VIRTIO_F_EVENT_IDX` is in use.
    pub event_idx: bool,
}

impl From<QueueState> for QueueRegs {
    fn from(s: QueueState) -> QueueRegs {
        QueueRegs {
            max_size: s.max_size,
            size: s.size,
            ready: s.ready,
            desc_table: s.desc_table,
            avail_ring: s.avail_ring,
            used_ring: s.used_ring,
            next_avail: s.next_avail,
            next_used: s.next_used,
            event_idx: s.event_idx_enabled,
        }
    }
}

impl From<QueueRegs> for QueueState {
    fn from(s: QueueRegs) -> QueueState {
        QueueState {
            max_size: s.max_size,
            size: s.size,
            ready: s.ready,
            desc_table: s.desc_table,
            avail_ring: s.avail_ring,
            used_ring: s.used_ring,
            next_avail: s.next_avail,
            next_used: s.next_used,
            event_idx_enabled: s.event_idx,
        }
    }
}

/// Saved transport registers and the device's own state (`S`, the device's
/// [`Persist`] state).
///
/// Encoded (version 1, kind `virtio-mmio`) as a base (device type, status, features,
/// interrupt status, configuration generation, queues), a part `select` with the
/// selector registers (written when one is not zero), and a part `device` holding the
/// device's own state in its own kind and version (written when the device has
/// state).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VirtioMmioState<S> {
    /// Device type, checked on restore.
    pub device_type: u32,
    /// DeviceFeaturesSel.
    pub device_features_sel: u32,
    /// DriverFeaturesSel.
    pub driver_features_sel: u32,
    /// Features accepted by the driver.
    pub driver_features: u64,
    /// QueueSel.
    pub queue_sel: u32,
    /// Status.
    pub status: u32,
    /// InterruptStatus.
    pub interrupt_status: u32,
    /// ConfigGeneration.
    pub config_generation: u32,
    /// SHMSel.
    pub shm_sel: u32,
    /// Every queue.
    pub queues: Vec<QueueRegs>,
    /// The device behind the transport (`None` for a device without state).
    pub device: Option<S>,
}

#[derive(Serialize, Deserialize)]
struct TransportBase {
    device_type: u32,
    status: u32,
    driver_features: u64,
    interrupt_status: u32,
    config_generation: u32,
    queues: Vec<QueueRegs>,
}

#[derive(Default, Serialize, Deserialize)]
struct Selectors {
    device_features_sel: u32,
    driver_features_sel: u32,
    queue_sel: u32,
    shm_sel: u32,
}

impl<S: Versioned> Versioned for VirtioMmioState<S> {
    const KIND: &'static str = "virtio-mmio";
    const VERSION: u32 = 1;

    fn encode(&self, out: &mut Encoder) {
        out.base(&TransportBase {
            device_type: self.device_type,
            status: self.status,
            driver_features: self.driver_features,
            interrupt_status: self.interrupt_status,
            config_generation: self.config_generation,
            queues: self.queues.clone(),
        });
        let sel = Selectors {
            device_features_sel: self.device_features_sel,
            driver_features_sel: self.driver_features_sel,
            queue_sel: self.queue_sel,
            shm_sel: self.shm_sel,
        };
        let needed =
            sel.device_features_sel | sel.driver_features_sel | sel.queue_sel | sel.shm_sel != 0;
        out.part("select", needed, &sel);
        if let Some(d) = &self.device {
            out.state_part("device", d);
        }
    }

    fn decode(input: &mut Decoder<'_>) -> Result<Self, StateError> {
        let b: TransportBase = input.base()?;
        let sel: Selectors = input.part_or_default("select")?;
        let device = if S::HAS_STATE {
            input.state_part::<S>("device")?
        } else if let Some(bytes) = input.encoded_part("device") {
            let kind = peek(bytes).map_or("unreadable", |(k, _)| k);
            return Err(StateError::mismatch(format!(
                "a {kind} state was saved for the device, which has none here"
            )));
        } else {
            None
        };
        Ok(VirtioMmioState {
            device_type: b.device_type,
            device_features_sel: sel.device_features_sel,
            driver_features_sel: sel.driver_features_sel,
            driver_features: b.driver_features,
            queue_sel: sel.queue_sel,
            status: b.status,
            interrupt_status: b.interrupt_status,
            config_generation: b.config_generation,
            shm_sel: sel.shm_sel,
            queues: b.queues,
            device,
        })
    }
}

/// A virtio device on the MMIO transport.
pub struct VirtioMmio<D: VirtioDevice> {
    device: D,
    mem: GuestMem,
    irq: IrqLine,
    queues: Vec<Queue>,
    device_features_sel: u32,
    driver_features_sel: u32,
    driver_features: u64,
    queue_sel: u32,
    status: u32,
    interrupt_status: u32,
    config_generation: u32,
    shm_sel: u32,
}

impl<D: VirtioDevice> VirtioMmio<D> {
    /// `device` on the MMIO transport, using buffers in `mem` and interrupting
    /// through `irq`.
    pub fn new(device: D, mem: GuestMem, irq: IrqLine) -> VirtioMmio<D> {
        let queues = device
            .queue_max_sizes()
            .iter()
            .map(|&max| Queue::new(max).unwrap_or_else(|_| Queue::new(256).expect("valid size")))
            .collect();
        VirtioMmio {
            device,
            mem,
            irq,
            queues,
            device_features_sel: 0,
            driver_features_sel: 0,
            driver_features: 0,
            queue_sel: 0,
            status: 0,
            interrupt_status: 0,
            config_generation: 0,
            shm_sel: 0,
        }
    }

    /// The device behind the transport.
    pub fn device(&self) -> &D {
        &self.device
    }

    /// The device behind the transport, mutably.
    pub fn device_mut(&mut self) -> &mut D {
        &mut self.device
    }

    /// The Status register.
    pub fn status(&self) -> u32 {
        self.status
    }

    /// The InterruptStatus register.
    pub fn interrupt_status(&self) -> u32 {
        self.interrupt_status
    }

    /// All features offered.
    pub fn offered_features(&self) -> u64 {
        self.device.features() | F_VERSION_1 | F_INDIRECT_DESC
    }

    fn update_irq(&self) {
        self.irq.set_level(self.interrupt_status != 0);
    }

    fn reset(&mut self) {
        self.device.reset();
        for q in &mut self.queues {
            q.reset();
        }
        self.device_features_sel = 0;
        self.driver_features_sel = 0;
        self.driver_features = 0;
        self.queue_sel = 0;
        self.status = 0;
        self.interrupt_status = 0;
        self.shm_sel = 0;
        self.update_irq();
    }

    fn active(&self) -> bool {
        self.status & status::DRIVER_OK != 0 && self.status & status::DEVICE_NEEDS_RESET == 0
    }

    /// Runs `f` on the device with a queue context, then applies what happened.
    fn with_queues(&mut self, f: impl FnOnce(&mut D, &mut Queues<'_>)) {
        let active = self.active();
        let mut q = Queues::new(&self.mem, &mut self.queues, active);
        f(&mut self.device, &mut q);
        let used = q.needs_interrupt();
        let broken = q.take_broken();
        let config = q.take_config_changed();
        if used {
            self.interrupt_status |= INT_VRING;
        }
        if config {
            self.config_generation = self.config_generation.wrapping_add(1);
            self.interrupt_status |= INT_CONFIG;
        }
        if broken.is_some() && self.status & status::DRIVER_OK != 0 {
            self.status |= status::DEVICE_NEEDS_RESET;
            self.interrupt_status |= INT_CONFIG;
        }
        self.update_irq();
    }

    fn selected_queue(&mut self) -> Option<&mut Queue> {
        self.queues.get_mut(self.queue_sel as usize)
    }

    fn read_reg(&self, offset: u64) -> u32 {
        let q = self.queues.get(self.queue_sel as usize);
        match offset {
            0x000 => MAGIC,
            0x004 => 2,
            0x008 => self.device.device_type(),
            0x00c => VENDOR_ID,
            0x010 => match self.device_features_sel {
                0 => self.offered_features() as u32,
                1 => (self.offered_features() >> 32) as u32,
                _ => 0,
            },
            0x034 => q.map_or(0, |q| u32::from(q.max_size())),
            0x044 => q.map_or(0, |q| u32::from(q.ready())),
            0x060 => self.interrupt_status,
            0x070 => self.status,
            0x0b0 | 0x0b4 | 0x0b8 | 0x0bc => u32::MAX,
            0x0fc => self.config_generation,
            _ => 0,
        }
    }

    fn write_reg(&mut self, offset: u64, value: u32) {
        // Queue layout may only change while the queue is not in use.
        let configurable = self.status & status::DRIVER_OK == 0;
        match offset {
            0x014 => self.device_features_sel = value,
            0x020 if self.status & status::FEATURES_OK == 0 => match self.driver_features_sel {
                0 => {
                    self.driver_features = (self.driver_features & !0xffff_ffff) | u64::from(value)
                }
                1 => {
                    self.driver_features =
                        (self.driver_features & 0xffff_ffff) | (u64::from(value) << 32)
                }
                _ => {}
            },
            0x024 => self.driver_features_sel = value,
            0x030 => self.queue_sel = value,
            0x038 => {
                if let Some(q) = self.selected_queue() {
                    if !q.ready() {
                        q.set_size(value.min(u32::from(u16::MAX)) as u16);
                    }
                }
            }
            0x044 => {
                if let Some(q) = self.selected_queue() {
                    q.set_ready(value & 1 != 0);
                }
            }
            0x050 => self.notify(value & 0xffff),
            0x064 => {
                self.interrupt_status &= !value;
                self.update_irq();
            }
            0x070 => self.write_status(value),
            0x080..=0x0a4 if configurable => self.write_queue_address(offset, value),
            0x0ac => self.shm_sel = value,
            _ => {}
        }
    }

    fn write_queue_address(&mut self, offset: u64, value: u32) {
        let Some(q) = self.selected_queue() else {
            return;
        };
        if q.ready() {
            return;
        }
        let (lo, hi) = if offset.is_multiple_of(8) {
            (Some(value), None)
        } else {
            (None, Some(value))
        };
        match offset & !7 {
            0x080 => q.set_desc_table_address(lo, hi),
            0x090 => q.set_avail_ring_address(lo, hi),
            0x0a0 => q.set_used_ring_address(lo, hi),
            _ => {}
        }
    }

    fn write_status(&mut self, value: u32) {
        if value == 0 {
            self.reset();
            return;
        }
        let old = self.status;
        let mut new = value & !status::DEVICE_NEEDS_RESET | (old & status::DEVICE_NEEDS_RESET);
        if new & status::FEATURES_OK != 0 && old & status::FEATURES_OK == 0 {
            let offered = self.offered_features();
            if self.driver_features & !offered != 0 || self.driver_features & F_VERSION_1 == 0 {
                new &= !status::FEATURES_OK;
            }
        }
        if new & status::DRIVER_OK != 0 && new & status::FEATURES_OK == 0 {
            // DRIVER_OK without negotiated features is a driver error: ignore it.
            new &= !status::DRIVER_OK;
        }
        self.status = new;
        if new & status::DRIVER_OK != 0 && old & status::DRIVER_OK == 0 {
            self.device.activate(self.driver_features);
            // Buffers made available before DRIVER_OK were not processed: do it now.
            for i in 0..self.queues.len() {
                self.with_queues(|d, q| d.notify(i, q));
            }
        }
    }

    fn notify(&mut self, queue: u32) {
        let queue = queue as usize;
        if self.active() && queue < self.queues.len() {
            self.with_queues(|d, q| d.notify(queue, q));
        }
    }
}

impl<D: VirtioDevice> Persist for VirtioMmio<D> {
    type State = VirtioMmioState<D::State>;

    fn save(&self) -> Result<Self::State, StateError> {
        let device = if D::State::HAS_STATE {
            Some(self.device.save().map_err(|e| e.within("device"))?)
        } else {
            None
        };
        Ok(VirtioMmioState {
            device_type: self.device.device_type(),
            device_features_sel: self.device_features_sel,
            driver_features_sel: self.driver_features_sel,
            driver_features: self.driver_features,
            queue_sel: self.queue_sel,
            status: self.status,
            interrupt_status: self.interrupt_status,
            config_generation: self.config_generation,
            shm_sel: self.shm_sel,
            queues: self.queues.iter().map(|q| q.state().into()).collect(),
            device,
        })
    }

    /// Restores a saved state into this transport and its device.
    fn restore(&mut self, state: &Self::State) -> Result<(), StateError> {
        let name = self.device.name();
        if state.device_type != self.device.device_type() {
            return Err(StateError::mismatch(format!(
                "the saved device has device type {}, this {name} has {}",
                state.device_type,
                self.device.device_type()
            )));
        }
        let max = self.device.queue_max_sizes();
        if state.queues.len() != max.len() {
            return Err(StateError::mismatch(format!(
                "{} queues saved, this {name} has {}",
                state.queues.len(),
                max.len()
            )));
        }
        let mut queues = Vec::with_capacity(max.len());
        for (i, (regs, &m)) in state.queues.iter().zip(max).enumerate() {
            if regs.max_size != m {
                return Err(StateError::mismatch(format!(
                    "queue {i}: maximum size {} saved, this {name} has {m}",
                    regs.max_size
                )));
            }
            let q = Queue::try_from(QueueState::from(*regs))
                .map_err(|e| StateError::mismatch(format!("queue {i}: {e}")))?;
            // Ring addresses are checked when the queue is used (outside RAM: needs reset).
            queues.push(q);
        }
        match &state.device {
            Some(d) => self.device.restore(d).map_err(|e| e.within("device"))?,
            None if D::State::HAS_STATE => {
                return Err(StateError::mismatch(format!(
                    "no state was saved for the {name} device"
                )))
            }
            None => {}
        }
        self.queues = queues;
        self.device_features_sel = state.device_features_sel;
        self.driver_features_sel = state.driver_features_sel;
        self.driver_features = state.driver_features;
        self.queue_sel = state.queue_sel;
        self.status = state.status;
        self.interrupt_status = state.interrupt_status;
        self.config_generation = state.config_generation;
        self.shm_sel = state.shm_sel;
        if self.active() {
            self.device.activate(self.driver_features);
        }
        self.update_irq();
        Ok(())
    }
}

impl<D: VirtioDevice> MmioDevice for VirtioMmio<D> {
    fn read(&mut self, offset: u64, size: u8) -> Result<u64, BusFault> {
        if offset >= SIZE || !matches!(size, 1 | 2 | 4 | 8) {
            return Err(BusFault);
        }
        if offset >= CONFIG_BASE {
            let config = self.device.config();
            return Ok(read_config_bytes(
                &config,
                offset - CONFIG_BASE,
                size.into(),
            ));
        }
        if size != 4 || !offset.is_multiple_of(4) {
            return Ok(0);
        }
        Ok(u64::from(self.read_reg(offset)))
    }

    fn write(&mut self, offset: u64, size: u8, value: u64) -> Result<(), BusFault> {
        if offset >= SIZE || !matches!(size, 1 | 2 | 4 | 8) {
            return Err(BusFault);
        }
        if offset >= CONFIG_BASE {
            let bytes = value.to_le_bytes();
            self.device
                .write_config(offset - CONFIG_BASE, &bytes[..usize::from(size)]);
            return Ok(());
        }
        if size == 4 && offset.is_multiple_of(4) {
            self.write_reg(offset, value as u32);
        }
        Ok(())
    }

    fn poll(&mut self) {
        self.with_queues(|d, q| d.poll(q));
    }
}
