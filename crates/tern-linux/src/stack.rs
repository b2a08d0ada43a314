//! The initial stack of a new program: argc, argv, envp and the auxiliary vector.
//!
//! The layout is the one the kernel's `create_elf_tables` builds and the riscv64 psABI
//! expects at `_start`: `sp` points at `argc`, followed by the `argv` pointers and a
//! NULL, the `envp` pointers and a NULL, then `(type, value)` auxv pairs ending with
//! `AT_NULL`; the strings and the 16 `AT_RANDOM` bytes live above, and `sp` is 16-byte
//! aligned.

use crate::errno::Errno;
use crate::loader::Image;
use crate::mm::Mm;

/// Auxiliary vector keys (include/uapi/linux/auxvec.h).
#[allow(missing_docs)]
pub mod at {
    pub const NULL: u64 = 0;
    pub const PHDR: u64 = 3;
    pub const PHENT: u64 = 4;
    pub const PHNUM: u64 = 5;
    pub const PAGESZ: u64 = 6;
    pub const BASE: u64 = 7;
    pub const FLAGS: u64 = 8;
    pub const ENTRY: u64 = 9;
    pub const UID: u64 = 11;
    pub const EUID: u64 = 12;
    pub const GID: u64 = 13;
    pub const EGID: u64 = 14;
    pub const HWCAP: u64 = 16;
    pub const CLKTCK: u64 = 17;
    pub const SECURE: u64 = 23;
    pub const RANDOM: u64 = 25;
    pub const EXECFN: u64 = 31;
}

/// `AT_HWCAP` for RV64GC: one bit per single-letter extension (`1 << (letter - 'a')`),
/// as arch/riscv/kernel/cpufeature.c reports them.
pub const HWCAP: u64 = (1 << (b'i' - b'a'))
    | (1 << (b'm' - b'a'))
    | 1 // 'a'
    | (1 << (b'f' - b'a'))
    | (1 << (b'd' - b'a'))
    | (1 << (b'c' - b'a'));

/// What goes on the stack besides the strings.
pub struct StackParams<'a> {
    /// Program arguments.
    pub argv: &'a [Vec<u8>],
    /// Environment strings (`NAME=value`).
    pub envp: &'a [Vec<u8>],
    /// The program's image.
    pub image: &'a Image,
    /// The interpreter's load bias (`AT_BASE`), 0 without one.
    pub interp_base: u64,
    /// The path the program was started by (`AT_EXECFN`).
    pub execfn: &'a [u8],
    /// 16 random bytes (`AT_RANDOM`).
    pub random: [u8; 16],
    /// Real and effective user and group ids.
    pub ids: [u64; 4],
}

/// Builds the stack below `top` (inside an existing stack area); returns the new `sp`.
pub fn build(mm: &mut Mm, top: u64, p: &StackParams<'_>) -> Result<u64, Errno> {
    // Strings first, from the top down.
    let mut sp = top - 16;
    let push_str = |mm: &mut Mm, s: &[u8], sp: &mut u64| -> Result<u64, Errno> {
        *sp -= s.len() as u64 + 1;
        mm.poke(*sp, s)?;
        mm.poke(*sp + s.len() as u64, &[0])?;
        Ok(*sp)
    };
    let execfn = push_str(mm, p.execfn, &mut sp)?;
    let mut env_ptrs = Vec::with_capacity(p.envp.len());
    for e in p.envp.iter().rev() {
        env_ptrs.push(push_str(mm, e, &mut sp)?);
    }
    env_ptrs.reverse();
    let mut arg_ptrs = Vec::with_capacity(p.argv.len());
    for a in p.argv.iter().rev() {
        arg_ptrs.push(push_str(mm, a, &mut sp)?);
    }
    arg_ptrs.reverse();
    sp &= !15;
    sp -= 16;
    let random = sp;
    mm.poke(random, &p.random)?;
    let img = p.image;
    let auxv: [(u64, u64); 17] = [
        (at::PHDR, img.phdr),
        (at::PHENT, img.phent),
        (at::PHNUM, img.phnum),
        (at::PAGESZ, 4096),
        (at::BASE, p.interp_base),
        (at::FLAGS, 0),
        (at::ENTRY, img.entry),
        (at::UID, p.ids[0]),
        (at::EUID, p.ids[1]),
        (at::GID, p.ids[2]),
        (at::EGID, p.ids[3]),
        (at::HWCAP, HWCAP),
        (at::CLKTCK, 100),
        (at::SECURE, 0),
        (at::RANDOM, random),
        (at::EXECFN, execfn),
        (at::NULL, 0),
    ];
    let words = 1 + arg_ptrs.len() + 1 + env_ptrs.len() + 1 + 2 * auxv.len();
    sp -= 8 * words as u64;
    sp &= !15;
    let mut table = Vec::with_capacity(words * 8);
    table.extend_from_slice(&(arg_ptrs.len() as u64).to_le_bytes());
    for a in &arg_ptrs {
        table.extend_from_slice(&a.to_le_bytes());
    }
    table.extend_from_slice(&0u64.to_le_bytes());
    for e in &env_ptrs {
        table.extend_from_slice(&e.to_le_bytes());
    }
    table.extend_from_slice(&0u64.to_le_bytes());
    for (k, v) in auxv {
        table.extend_from_slice(&k.to_le_bytes());
        table.extend_from_slice(&v.to_le_bytes());
    }
    mm.poke(sp, &table)?;
    Ok(sp)
}
