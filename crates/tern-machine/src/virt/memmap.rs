//! The `virt` board's memory map: one table that both the bus and the device tree are
//! built from, so that the two cannot disagree ("the board is data"). Addresses and
//! interrupt numbers are those of QEMU's `virt` machine (hw/riscv/virt.c), so that
//! firmware and kernels built for it boot unchanged.

/// What sits in a window of the physical address space.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceKind {
    /// The syscon "test" device (poweroff, reboot).
    Test,
    /// Goldfish real-time clock.
    Rtc,
    /// The core-local interruptor.
    Clint,
    /// The platform-level interrupt controller.
    Plic,
    /// 16550 UART.
    Uart,
    /// virtio-mmio transport slot `n` (0-7).
    VirtioMmio(u8),
    /// Guest RAM.
    Dram,
}

/// One window of the memory map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    /// What it is.
    pub kind: DeviceKind,
    /// First guest physical address.
    pub base: u64,
    /// Size in bytes.
    pub size: u64,
    /// PLIC source number, if it interrupts.
    pub irq: Option<u32>,
}

/// Number of virtio-mmio slots.
pub const VIRTIO_SLOTS: u8 = 8;
/// Base of the first virtio-mmio slot.
pub const VIRTIO_BASE: u64 = 0x1000_1000;
/// Size of one virtio-mmio slot.
pub const VIRTIO_SIZE: u64 = 0x1000;
/// PLIC source of the first virtio slot (slot n uses 1 + n).
pub const VIRTIO_IRQ: u32 = 1;
/// Guest RAM base.
pub const DRAM_BASE: u64 = 0x8000_0000;
/// PLIC sources (QEMU's VIRT_IRQCHIP_NUM_SOURCES is 96; source 0 is reserved).
pub const PLIC_SOURCES: u32 = 96;
/// PLIC window size for up to 8 harts with two contexts each.
pub const PLIC_SIZE: u64 = 0x60_0000;

/// The fixed devices of the board (RAM and virtio slots come from [`regions`]).
const FIXED: [Region; 5] = [
    Region {
        kind: DeviceKind::Test,
        base: 0x0010_0000,
        size: 0x1000,
        irq: None,
    },
    Region {
        kind: DeviceKind::Rtc,
        base: 0x0010_1000,
        size: 0x1000,
        irq: Some(11),
    },
    Region {
        kind: DeviceKind::Clint,
        base: 0x0200_0000,
        size: 0x1_0000,
        irq: None,
    },
    Region {
        kind: DeviceKind::Plic,
        base: 0x0c00_0000,
        size: PLIC_SIZE,
        irq: None,
    },
    Region {
        kind: DeviceKind::Uart,
        base: 0x1000_0000,
        size: 0x100,
        irq: Some(10),
    },
];

/// The whole map for a machine with `ram_size` bytes of RAM.
pub fn regions(ram_size: u64) -> Vec<Region> {
    let mut map = FIXED.to_vec();
    for n in 0..VIRTIO_SLOTS {
        map.push(Region {
            kind: DeviceKind::VirtioMmio(n),
            base: VIRTIO_BASE + u64::from(n) * VIRTIO_SIZE,
            size: VIRTIO_SIZE,
            irq: Some(VIRTIO_IRQ + u32::from(n)),
        });
    }
    map.push(Region {
        kind: DeviceKind::Dram,
        base: DRAM_BASE,
        size: ram_size,
        irq: None,
    });
    map
}

/// The region of `kind` in the fixed map.
pub fn fixed(kind: DeviceKind) -> Region {
    FIXED
        .iter()
        .copied()
        .find(|r| r.kind == kind)
        .unwrap_or(Region {
            kind,
            base: 0,
            size: 0,
            irq: None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_do_not_overlap() {
        let map = regions(256 << 20);
        for (i, a) in map.iter().enumerate() {
            for b in &map[i + 1..] {
                assert!(
                    a.base + a.size <= b.base || b.base + b.size <= a.base,
                    "{a:?} overlaps {b:?}"
                );
            }
        }
        assert_eq!(fixed(DeviceKind::Uart).base, 0x1000_0000);
    }
}
