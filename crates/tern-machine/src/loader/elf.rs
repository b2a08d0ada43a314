//! Loading ELF executables into guest RAM at their physical addresses.
//!
//! The file is untrusted: every segment is checked against the file and against RAM,
//! and a bad file yields an error naming the segment.

use std::collections::HashMap;

use goblin::elf::{program_header::PT_LOAD, Elf};
use tern_hart::GuestRam;

/// What loading an ELF produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ElfImage {
    /// Entry point.
    pub entry: u64,
    /// Addresses of named symbols (functions and objects).
    pub symbols: HashMap<String, u64>,
    /// Highest physical address loaded (exclusive).
    pub end: u64,
}

/// Why an ELF could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ElfError {
    /// Not a parsable ELF file.
    #[error("not a valid ELF file: {0}")]
    Parse(#[from] goblin::error::Error),
    /// Not a 64-bit RISC-V executable.
    #[error("not a 64-bit RISC-V ELF (machine {machine}, 64-bit: {is_64})")]
    WrongArch {
        /// `e_machine`.
        machine: u16,
        /// ELFCLASS64.
        is_64: bool,
    },
    /// A segment's file range lies outside the file.
    #[error("segment {index}: file range {offset:#x}+{size:#x} is outside the file")]
    Truncated {
        /// Program header index.
        index: usize,
        /// `p_offset`.
        offset: u64,
        /// `p_filesz`.
        size: u64,
    },
    /// A segment does not fit in guest RAM.
    #[error(
        "segment {index}: {addr:#x}+{size:#x} is outside guest RAM ({ram_base:#x}+{ram_size:#x})"
    )]
    OutsideRam {
        /// Program header index.
        index: usize,
        /// `p_paddr`.
        addr: u64,
        /// `p_memsz`.
        size: u64,
        /// RAM base.
        ram_base: u64,
        /// RAM size.
        ram_size: u64,
    },
}

/// `EM_RISCV`.
const EM_RISCV: u16 = 243;

/// Loads the `PT_LOAD` segments of `bytes` into `ram` at their physical addresses,
/// zero-filling the part of each segment beyond its file data.
pub fn load_elf(ram: &GuestRam, bytes: &[u8]) -> Result<ElfImage, ElfError> {
    let elf = Elf::parse(bytes)?;
    if elf.header.e_machine != EM_RISCV || !elf.is_64 {
        return Err(ElfError::WrongArch {
            machine: elf.header.e_machine,
            is_64: elf.is_64,
        });
    }
    let mut end = 0;
    for (index, ph) in elf.program_headers.iter().enumerate() {
        if ph.p_type != PT_LOAD || ph.p_memsz == 0 {
            continue;
        }
        let file = ph
            .p_offset
            .checked_add(ph.p_filesz)
            .filter(|&e| e <= bytes.len() as u64 && ph.p_filesz <= ph.p_memsz)
            .map(|e| &bytes[ph.p_offset as usize..e as usize])
            .ok_or(ElfError::Truncated {
                index,
                offset: ph.p_offset,
                size: ph.p_filesz,
            })?;
        if !ram.contains(ph.p_paddr, ph.p_memsz) {
            return Err(ElfError::OutsideRam {
                index,
                addr: ph.p_paddr,
                size: ph.p_memsz,
                ram_base: ram.base(),
                ram_size: ram.size(),
            });
        }
        // Both calls are inside RAM (checked above), so they cannot fail.
        let _ = ram.write(ph.p_paddr, file);
        let _ = ram.zero(ph.p_paddr + ph.p_filesz, ph.p_memsz - ph.p_filesz);
        end = end.max(ph.p_paddr + ph.p_memsz);
    }
    let mut symbols = HashMap::new();
    for sym in elf.syms.iter() {
        if let Some(name) = elf.strtab.get_at(sym.st_name) {
            if !name.is_empty() && sym.st_shndx != 0 {
                symbols.insert(name.to_string(), sym.st_value);
            }
        }
    }
    Ok(ElfImage {
        entry: elf.entry,
        symbols,
        end,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let ram = GuestRam::new(0x8000_0000, 0x10000).unwrap();
        assert!(load_elf(&ram, b"").is_err());
        assert!(load_elf(&ram, b"\x7fELF\x02\x01\x01garbage").is_err());
        let mut bytes = vec![0u8; 64];
        bytes[..4].copy_from_slice(b"\x7fELF");
        assert!(load_elf(&ram, &bytes).is_err());
    }
}
