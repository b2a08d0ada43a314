//! Loading riscv64 ELF executables and their dynamic loader into an address space.
//!
//! What the kernel's `load_elf_binary` does: every `PT_LOAD` segment becomes an area
//! with the segment's protection, its file bytes are copied into private frames and the
//! rest (bss) is zero. `ET_EXEC` images load at their link addresses; `ET_DYN` images
//! (static-PIE, PIE, the dynamic loader itself) at a chosen base: PIEs at
//! [`PIE_BASE`](crate::mm::PIE_BASE) as Linux's `ELF_ET_DYN_BASE`, the interpreter
//! wherever `mmap` would put it.

use goblin::elf::header::{EM_RISCV, ET_DYN, ET_EXEC};
use goblin::elf::program_header::{PF_R, PF_W, PF_X, PT_INTERP, PT_LOAD, PT_PHDR};
use goblin::elf::Elf;

use crate::mm::pagetable::USER_TOP;
use crate::mm::vma::{Backing, Vma, PROT_EXEC, PROT_READ, PROT_WRITE};
use crate::mm::{page_down, page_up, Mm, PIE_BASE};

/// Why an image cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Not an ELF file, or a malformed one.
    #[error("not a valid ELF file: {0}")]
    Parse(String),
    /// An ELF file for another machine or class.
    #[error("not a riscv64 ELF executable")]
    WrongMachine,
    /// No room or no memory.
    #[error("cannot map the image: out of memory")]
    NoMemory,
}

/// Where an image landed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    /// Entry point (relocated).
    pub entry: u64,
    /// Address of the program headers in memory (`AT_PHDR`).
    pub phdr: u64,
    /// Number of program headers (`AT_PHNUM`).
    pub phnum: u64,
    /// Size of one program header (`AT_PHENT`).
    pub phent: u64,
    /// Load bias (0 for `ET_EXEC`; `AT_BASE` for the interpreter).
    pub bias: u64,
    /// End of the highest segment (start of the heap for the main program).
    pub end: u64,
    /// `PT_INTERP` path, if any.
    pub interp: Option<String>,
}

/// Whether `data` starts like an ELF file.
pub fn is_elf(data: &[u8]) -> bool {
    data.starts_with(b"\x7fELF")
}

/// Loads the ELF image `data` (the file at guest path `path`) into `mm`. `main` says
/// whether it is the program (PIE base) or its interpreter (placed like `mmap`).
pub fn load(mm: &mut Mm, data: &[u8], path: &str, main: bool) -> Result<Image, LoadError> {
    if !is_elf(data) {
        return Err(LoadError::Parse("no ELF header".into()));
    }
    // goblin's messages quote values read from the file (the magic number, sizes,
    // offsets): none of the file's bytes go into ours.
    let elf = Elf::parse(data).map_err(|e| {
        LoadError::Parse(
            match e {
                goblin::error::Error::Malformed(_) => "malformed headers",
                goblin::error::Error::BadMagic(_) => "no ELF header",
                goblin::error::Error::Scroll(_) => "headers outside the file",
                goblin::error::Error::IO(_) => "cannot read the headers",
                _ => "unreadable headers",
            }
            .into(),
        )
    })?;
    if elf.header.e_machine != EM_RISCV || !elf.is_64 || !elf.little_endian {
        return Err(LoadError::WrongMachine);
    }
    let ty = elf.header.e_type;
    if ty != ET_EXEC && ty != ET_DYN {
        return Err(LoadError::Parse(
            "not an executable or shared object".into(),
        ));
    }
    let loads: Vec<_> = elf
        .program_headers
        .iter()
        .filter(|p| p.p_type == PT_LOAD)
        .collect();
    if loads.is_empty() {
        return Err(LoadError::Parse("no loadable segments".into()));
    }
    let lo = loads
        .iter()
        .map(|p| page_down(p.p_vaddr))
        .min()
        .unwrap_or(0);
    let hi = loads
        .iter()
        .map(|p| page_up(p.p_vaddr.saturating_add(p.p_memsz)))
        .max()
        .unwrap_or(0);
    if hi <= lo || hi - lo > (1 << 40) || (ty == ET_EXEC && hi > USER_TOP) {
        return Err(LoadError::Parse("segments span an impossible range".into()));
    }
    let bias = if ty == ET_DYN {
        let want = if main { PIE_BASE } else { 0 };
        let at = mm.find_free(want, hi - lo).ok_or(LoadError::NoMemory)?;
        at - lo
    } else {
        0
    };
    let mut prev_end = 0u64;
    let mut prev_prot = 0u32;
    for p in &loads {
        let mut prot = 0;
        if p.p_flags & PF_R != 0 {
            prot |= PROT_READ;
        }
        if p.p_flags & PF_W != 0 {
            prot |= PROT_WRITE;
        }
        if p.p_flags & PF_X != 0 {
            prot |= PROT_EXEC;
        }
        let vaddr = bias.wrapping_add(p.p_vaddr);
        let mut start = page_down(vaddr);
        let end = page_up(vaddr.saturating_add(p.p_memsz));
        if start < prev_end {
            // The segment shares a page with the previous one: that page gets both
            // protections.
            let _ = mm.protect(start, prev_end, prev_prot | prot);
            start = prev_end;
        }
        if end > start {
            mm.map(Vma {
                start,
                end,
                prot,
                shared: false,
                backing: Backing::File {
                    path: path.to_string(),
                    offset: page_down(p.p_offset) + (start - page_down(vaddr)),
                },
            });
        }
        let off = p.p_offset as usize;
        let len = p.p_filesz.min(p.p_memsz) as usize;
        let bytes = off
            .checked_add(len)
            .and_then(|e| data.get(off..e))
            .ok_or_else(|| LoadError::Parse("segment outside the file".into()))?;
        mm.poke(vaddr, bytes).map_err(|_| LoadError::NoMemory)?;
        prev_end = prev_end.max(end);
        prev_prot = prot;
    }
    let phdr = elf
        .program_headers
        .iter()
        .find(|p| p.p_type == PT_PHDR)
        .map(|p| p.p_vaddr)
        .or_else(|| {
            let off = elf.header.e_phoff;
            loads
                .iter()
                .find(|p| off >= p.p_offset && off < p.p_offset + p.p_filesz)
                .map(|p| p.p_vaddr + (off - p.p_offset))
        })
        .unwrap_or(0)
        .wrapping_add(bias);
    let interp = elf
        .program_headers
        .iter()
        .find(|p| p.p_type == PT_INTERP)
        .and_then(|p| {
            let off = p.p_offset as usize;
            let bytes = data.get(off..off.checked_add(p.p_filesz as usize)?)?;
            let s = bytes.split(|&b| b == 0).next()?;
            Some(String::from_utf8_lossy(s).into_owned())
        });
    Ok(Image {
        entry: bias.wrapping_add(elf.header.e_entry),
        phdr,
        phnum: u64::from(elf.header.e_phnum),
        phent: u64::from(elf.header.e_phentsize),
        bias,
        end: bias.wrapping_add(hi),
        interp,
    })
}
