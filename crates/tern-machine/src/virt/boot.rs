//! Where the `virt` board puts firmware, kernel, initrd and device tree in RAM, and
//! how each hart starts. The placement follows QEMU's `virt` board (hw/riscv/boot.c),
//! so that firmware built for it finds things where it expects them.

use tern_hart::GuestRam;

use super::memmap::DRAM_BASE;
use crate::loader::elf::{load_elf, ElfError};
use crate::loader::image::{detect, KernelFormat};

/// Where the kernel goes when firmware runs first (OpenSBI's `FW_JUMP_ADDR`).
pub const KERNEL_BASE: u64 = DRAM_BASE + 0x20_0000;
const MIB: u64 = 1 << 20;
/// `fw_dynamic_info` magic ("OSBI").
const FW_DYNAMIC_MAGIC: u64 = 0x4942_534f;

/// Why images could not be placed.
#[derive(Debug, thiserror::Error)]
pub enum BootError {
    /// An ELF file could not be loaded.
    #[error("{what}: {source}")]
    Elf {
        /// Which image.
        what: &'static str,
        /// Why.
        source: ElfError,
    },
    /// An image does not fit in RAM where it must go.
    #[error("{what} ({size} bytes at {addr:#x}) does not fit in guest RAM; use a larger --memory")]
    TooBig {
        /// Which image.
        what: &'static str,
        /// Where it would go.
        addr: u64,
        /// Its size.
        size: u64,
    },
}

/// A loaded image: where it starts executing and where it ends in memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Loaded {
    /// Entry point.
    pub entry: u64,
    /// First byte after the image (including memory it claims, like BSS).
    pub end: u64,
}

fn put(ram: &GuestRam, what: &'static str, addr: u64, data: &[u8]) -> Result<(), BootError> {
    ram.write(addr, data).map_err(|_| BootError::TooBig {
        what,
        addr,
        size: data.len() as u64,
    })
}

/// Loads a kernel or firmware image: ELF at its physical addresses, a Linux `Image` at
/// RAM base + its text offset, anything else verbatim at `raw_base`.
pub fn load_image(
    ram: &GuestRam,
    what: &'static str,
    bytes: &[u8],
    raw_base: u64,
) -> Result<Loaded, BootError> {
    match detect(bytes) {
        KernelFormat::Elf => {
            let image = load_elf(ram, bytes).map_err(|source| BootError::Elf { what, source })?;
            Ok(Loaded {
                entry: image.entry,
                end: image.end,
            })
        }
        KernelFormat::LinuxImage {
            text_offset,
            image_size,
        } => {
            // RV64 kernels want a 2 MiB aligned load address; `text_offset` gives it.
            let base = DRAM_BASE
                + if text_offset == 0 {
                    0x20_0000
                } else {
                    text_offset
                };
            put(ram, what, base, bytes)?;
            Ok(Loaded {
                entry: base,
                end: base + image_size.max(bytes.len() as u64),
            })
        }
        KernelFormat::Raw => {
            put(ram, what, raw_base, bytes)?;
            Ok(Loaded {
                entry: raw_base,
                end: raw_base + bytes.len() as u64,
            })
        }
    }
}

/// Address of the device tree: the top of RAM (below 3 GiB), 2 MiB aligned, as QEMU.
pub fn fdt_address(ram_size: u64, fdt_len: u64) -> u64 {
    let top = (DRAM_BASE + ram_size).min(3072 * MIB);
    top.saturating_sub(fdt_len) & !(2 * MIB - 1)
}

/// Address of the initial RAM disk: 128 MiB above the kernel (half of RAM on machines
/// with less than 256 MiB), as QEMU places it, so that the kernel's own memory does not
/// overlap it.
pub fn initrd_address(kernel_start: u64, ram_size: u64) -> u64 {
    let offset = if ram_size < 256 * MIB {
        ram_size / 2
    } else {
        128 * MIB
    };
    (kernel_start + offset) & !(4096 - 1)
}

/// Writes OpenSBI's `struct fw_dynamic_info` (version 2) at `addr`: jump to `next` in
/// S-mode, boot hart chosen by the firmware.
pub fn write_fw_dynamic_info(ram: &GuestRam, addr: u64, next: u64) -> Result<(), BootError> {
    let mut b = Vec::with_capacity(48);
    for v in [FW_DYNAMIC_MAGIC, 2, next, 1, 0, u64::MAX] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    put(ram, "fw_dynamic_info", addr, &b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placement_matches_qemu_virt() {
        assert_eq!(fdt_address(256 * MIB, 0x2000), 0x8fe0_0000);
        assert_eq!(initrd_address(0x8020_0000, 256 * MIB), 0x8820_0000);
        assert_eq!(initrd_address(0x8020_0000, 128 * MIB), 0x8420_0000);
    }

    #[test]
    fn raw_images_go_where_asked_and_must_fit() {
        let ram = GuestRam::new(DRAM_BASE, 4 * MIB).unwrap();
        let l = load_image(&ram, "kernel", &[0x13, 0, 0, 0], KERNEL_BASE).unwrap();
        assert_eq!(
            l,
            Loaded {
                entry: KERNEL_BASE,
                end: KERNEL_BASE + 4
            }
        );
        let big = vec![0u8; 3 * MIB as usize];
        assert!(load_image(&ram, "kernel", &big, KERNEL_BASE).is_err());
    }
}
