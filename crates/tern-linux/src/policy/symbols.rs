//! Names for the program's addresses, for the plugins' reports: the mapped file an
//! address lies in (the program, its dynamic loader, shared libraries — found in
//! the address space's file-backed areas), its offset in that file's image, and the
//! function symbol that covers it (`STT_FUNC` of `.symtab`, else `.dynsym`).

use std::collections::HashMap;
use std::sync::Arc;

use crate::fs::resolve::Lookup;
use crate::mm::vma::Backing;
use crate::process::Process;

/// An ELF file's functions: `(start, end, name)` sorted by start, and how its
/// virtual addresses map to file offsets (PT_LOAD: vaddr, offset, filesz).
pub struct Symbols {
    funcs: Vec<(u64, u64, String)>,
    loads: Vec<(u64, u64, u64)>,
}

/// The functions of the ELF file `data` (`None` if it is not one).
pub fn symbols(data: &[u8]) -> Option<Symbols> {
    let elf = goblin::elf::Elf::parse(data).ok()?;
    let mut funcs = Vec::new();
    for (syms, strs) in [(&elf.syms, &elf.strtab), (&elf.dynsyms, &elf.dynstrtab)] {
        for s in syms.iter() {
            if s.st_type() == goblin::elf::sym::STT_FUNC && s.st_value != 0 {
                if let Some(n) = strs.get_at(s.st_name) {
                    funcs.push((s.st_value, s.st_value + s.st_size.max(1), n.to_string()));
                }
            }
        }
        if !funcs.is_empty() {
            break;
        }
    }
    funcs.sort();
    funcs.dedup_by_key(|f| f.0);
    let loads = elf
        .program_headers
        .iter()
        .filter(|p| p.p_type == goblin::elf::program_header::PT_LOAD)
        .map(|p| (p.p_vaddr, p.p_offset, p.p_filesz))
        .collect();
    Some(Symbols { funcs, loads })
}

impl Symbols {
    /// The ELF virtual address of `pc` in the area at `area_start` mapping file
    /// offset `area_off`.
    fn elf_addr(&self, pc: u64, area_start: u64, area_off: u64) -> Option<u64> {
        // The PT_LOAD segment holding the area's first file byte gives the bias.
        let &(vaddr, poff, _) = self
            .loads
            .iter()
            .find(|(_, o, sz)| *o <= area_off && area_off < o + sz.max(&1))?;
        let bias = area_start.wrapping_sub(vaddr + (area_off - poff));
        Some(pc.wrapping_sub(bias))
    }

    /// The function at ELF address `addr`.
    pub fn function(&self, addr: u64) -> Option<&str> {
        let i = self.funcs.partition_point(|f| f.0 <= addr);
        let (s, e, n) = self.funcs.get(i.checked_sub(1)?)?;
        (*s <= addr && addr < *e).then_some(n.as_str())
    }
}

/// Where an address of the program is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Place {
    /// The mapped file's base name, or `[anonymous]`, `[sigreturn]`, `[unmapped]`.
    pub file: String,
    /// The address in the file's ELF image (its link-time address), if known.
    pub elf_addr: Option<u64>,
    /// The function symbol covering it, if any.
    pub function: Option<String>,
}

impl Place {
    /// `function (file)`, or `? (file)` without a symbol.
    pub fn label(&self) -> String {
        match (&self.function, self.file.starts_with('[')) {
            (Some(f), _) => format!("{f} ({})", self.file),
            (None, false) => format!("? ({})", self.file),
            (None, true) => self.file.clone(),
        }
    }
}

/// Looks addresses up in one process, reading each mapped file once.
pub struct Symbolizer {
    proc: Arc<Process>,
    files: HashMap<String, Option<Symbols>>,
}

impl Symbolizer {
    /// A symbolizer for `proc`'s address space as it is now.
    pub fn new(proc: Arc<Process>) -> Symbolizer {
        Symbolizer {
            proc,
            files: HashMap::new(),
        }
    }

    /// Reads a mapped file by guest path, through the process's file view.
    fn read_file(proc: &Process, guest: &str) -> Option<Vec<u8>> {
        let loc = crate::fs::locate::locate(
            proc.paths(),
            libc::AT_FDCWD,
            guest.as_bytes(),
            Lookup::Follow,
        )
        .ok()?;
        let fd = loc.reopen(libc::O_RDONLY).ok()?;
        let mut data = Vec::new();
        std::io::Read::read_to_end(
            &mut std::io::Read::take(std::fs::File::from(fd), 1 << 30),
            &mut data,
        )
        .ok()?;
        Some(data)
    }

    /// Where `pc` is.
    pub fn place(&mut self, pc: u64) -> Place {
        let proc = self.proc.clone();
        let mm = proc.mm();
        let Some(v) = mm.vmas.find(pc) else {
            return Place {
                file: "[unmapped]".into(),
                elf_addr: None,
                function: None,
            };
        };
        match &v.backing {
            Backing::File { path, offset } => {
                let syms = self
                    .files
                    .entry(path.clone())
                    .or_insert_with(|| Self::read_file(&proc, path).and_then(|d| symbols(&d)));
                let base = path.rsplit('/').next().unwrap_or(path).to_string();
                let elf_addr = syms.as_ref().and_then(|s| s.elf_addr(pc, v.start, *offset));
                let function = match (syms.as_ref(), elf_addr) {
                    (Some(s), Some(a)) => s.function(a).map(str::to_string),
                    _ => None,
                };
                Place {
                    file: base,
                    elf_addr,
                    function,
                }
            }
            Backing::Sigpage => Place {
                file: "[sigreturn]".into(),
                elf_addr: None,
                function: None,
            },
            _ => Place {
                file: "[anonymous]".into(),
                elf_addr: None,
                function: None,
            },
        }
    }
}
