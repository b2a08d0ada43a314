//! Kernel images: the RISC-V Linux `Image` header, ELF files, and raw binaries.
//!
//! The 64-byte header of a RISC-V Linux `Image` (Documentation/riscv/boot-image-header.rst
//! in the kernel tree) is parsed here rather than with `linux-loader`, whose Image
//! loader only builds on riscv64 hosts.

use goblin::elf::Elf;

/// What kind of file a kernel is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KernelFormat {
    /// A Linux `Image` with the RISC-V boot header.
    LinuxImage {
        /// Offset from the start of RAM where the image wants to be loaded.
        text_offset: u64,
        /// Memory the image occupies once running (0 = unknown).
        image_size: u64,
    },
    /// An ELF executable (loaded at its physical addresses).
    Elf,
    /// Anything else: loaded verbatim.
    Raw,
}

/// `RISCV\0\0\0`, the deprecated magic at offset 48.
const MAGIC: u64 = 0x0056_4353_4952;
/// `RSC\x05`, the magic at offset 56.
const MAGIC2: u32 = 0x0543_5352;

fn u64_at(b: &[u8], off: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[off..off + 8]);
    u64::from_le_bytes(w)
}

fn u32_at(b: &[u8], off: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&b[off..off + 4]);
    u32::from_le_bytes(w)
}

/// Recognizes the format of `bytes`.
pub fn detect(bytes: &[u8]) -> KernelFormat {
    if bytes.len() >= 4 && &bytes[..4] == b"\x7fELF" && Elf::parse_header(bytes).is_ok() {
        return KernelFormat::Elf;
    }
    if bytes.len() >= 64 && (u32_at(bytes, 56) == MAGIC2 || u64_at(bytes, 48) == MAGIC) {
        return KernelFormat::LinuxImage {
            text_offset: u64_at(bytes, 8),
            image_size: u64_at(bytes, 16),
        };
    }
    KernelFormat::Raw
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognizes_an_image_header() {
        let mut h = vec![0u8; 64];
        h[8..16].copy_from_slice(&0x20_0000u64.to_le_bytes());
        h[16..24].copy_from_slice(&0x140_0000u64.to_le_bytes());
        h[48..56].copy_from_slice(&MAGIC.to_le_bytes());
        h[56..60].copy_from_slice(&MAGIC2.to_le_bytes());
        assert_eq!(
            detect(&h),
            KernelFormat::LinuxImage {
                text_offset: 0x20_0000,
                image_size: 0x140_0000
            }
        );
        assert_eq!(detect(&h[..63]), KernelFormat::Raw);
        assert_eq!(detect(b"\x7fELF"), KernelFormat::Raw);
    }
}
