//! An empty virtio-mmio slot: it answers the identification registers with device id 0
//! ("no device"), as QEMU's unpopulated `virtio_mmio` transports do, so that the
//! guest's probe skips it.

use tern_devices::MmioDevice;
use tern_hart::BusFault;
use tern_state::{NoState, Persist, StateError};

/// A virtio-mmio window without a device.
pub struct EmptySlot;

impl MmioDevice for EmptySlot {
    fn read(&mut self, offset: u64, size: u8) -> Result<u64, BusFault> {
        if size != 4 {
            return Err(BusFault);
        }
        Ok(match offset {
            0x000 => 0x7472_6976, // "virt"
            0x004 => 2,           // version 2 (modern)
            0x00c => 0x554d_4551, // vendor "QEMU", as QEMU's empty slots report
            _ => 0,
        })
    }

    fn write(&mut self, _offset: u64, _size: u8, _value: u64) -> Result<(), BusFault> {
        Ok(())
    }
}

/// An empty slot has no state: a machine saves nothing for it, and a saved state
/// under its name is a state without a component (see `virt::state`).
impl Persist for EmptySlot {
    type State = NoState;

    fn save(&self) -> Result<NoState, StateError> {
        Ok(NoState)
    }

    fn restore(&mut self, _state: &NoState) -> Result<(), StateError> {
        Ok(())
    }
}
