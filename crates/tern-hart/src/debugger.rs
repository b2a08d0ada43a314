//! A debugger's view of a stopped hart: its CSRs and its virtual memory, read from
//! the architectural state without side effects.
//!
//! A debugger must see what the hart sees without changing it: a page-table walk here
//! sets no A/D bits and raises no fault (an unmapped address is an error for the
//! debugger only), and CSR reads have no read side effects. Only RAM is reachable;
//! device registers are never read or written (their accesses have side effects).

use crate::csr::{num, status, trigger, MISA};
use crate::mem::ram::GuestRam;
use crate::state::{HartState, Priv};

const PAGE: u64 = 4096;

/// The physical address the hart's data accesses at `vaddr` would reach now: through
/// `satp` in S- and U-mode (and in M-mode with `mstatus.MPRV`, as the hart's loads
/// would), the identity in M-mode or with `satp` off. `None` when the address is not
/// mapped (or not canonical, or a page table lies outside RAM).
pub fn translate(state: &HartState, ram: &GuestRam, vaddr: u64) -> Option<u64> {
    let c = &state.csr;
    let prv = if state.prv == Priv::M && c.mstatus & status::MPRV != 0 {
        Priv::from_bits(c.mstatus >> status::MPP_SHIFT)
    } else {
        state.prv
    };
    let levels = match c.satp >> 60 {
        _ if prv == Priv::M => return Some(vaddr),
        0 => return Some(vaddr),
        8 => 3,
        9 => 4,
        10 => 5,
        _ => return None,
    };
    let va_bits = 12 + 9 * levels;
    // Canonical: the bits above the top one copy it.
    let shifted = ((vaddr << (64 - va_bits)) as i64 >> (64 - va_bits)) as u64;
    if shifted != vaddr {
        return None;
    }
    let ppn_mask = (1u64 << 44) - 1;
    let mut table = (c.satp & ppn_mask) * PAGE;
    for level in (0..levels).rev() {
        let shift = 12 + 9 * level;
        let index = (vaddr >> shift) & 0x1ff;
        let mut raw = [0u8; 8];
        ram.read(table + index * 8, &mut raw).ok()?;
        let pte = u64::from_le_bytes(raw);
        let (v, r, w, x) = (pte & 1, pte >> 1 & 1, pte >> 2 & 1, pte >> 3 & 1);
        if v == 0 || (r == 0 && w == 1) {
            return None;
        }
        let ppn = (pte >> 10) & ppn_mask;
        if r == 1 || x == 1 {
            let span = 1u64 << shift;
            let base = ppn * PAGE;
            if base & (span - 1) != 0 {
                return None; // misaligned superpage
            }
            return Some(base | (vaddr & (span - 1)));
        }
        table = ppn * PAGE;
    }
    None
}

/// Copies the hart's virtual memory at `vaddr` into `buf`. On failure, returns how
/// many bytes were copied before the first unmapped or non-RAM byte.
pub fn read_virt(
    state: &HartState,
    ram: &GuestRam,
    vaddr: u64,
    buf: &mut [u8],
) -> Result<(), usize> {
    let mut done = 0;
    while done < buf.len() {
        let va = vaddr.wrapping_add(done as u64);
        let chunk = ((PAGE - va % PAGE) as usize).min(buf.len() - done);
        let pa = translate(state, ram, va).ok_or(done)?;
        ram.read(pa, &mut buf[done..done + chunk])
            .map_err(|_| done)?;
        done += chunk;
    }
    Ok(())
}

/// Writes `data` to the hart's virtual memory at `vaddr` (through the logged write
/// path, so decoded code of the pages written is dropped). On failure, returns how
/// many bytes were written before the first unmapped or non-RAM byte.
pub fn write_virt(state: &HartState, ram: &GuestRam, vaddr: u64, data: &[u8]) -> Result<(), usize> {
    let mut done = 0;
    while done < data.len() {
        let va = vaddr.wrapping_add(done as u64);
        let chunk = ((PAGE - va % PAGE) as usize).min(data.len() - done);
        let pa = translate(state, ram, va).ok_or(done)?;
        ram.write(pa, &data[done..done + chunk]).map_err(|_| done)?;
        done += chunk;
    }
    Ok(())
}

/// The value of CSR `csr` as the hart holds it, for a debugger: the same views as an
/// instruction reads (`sstatus`, `sie`, `sip` of the M-mode registers), except that
/// `mip`/`sip` show only the bits held in the hart (not the device lines) and `time`
/// is not offered. `None` for CSRs this hart does not implement.
pub fn read_csr(state: &HartState, csr: u16) -> Option<u64> {
    let c = &state.csr;
    let t = &state.triggers;
    Some(match csr {
        num::FFLAGS => u64::from(state.fflags),
        num::FRM => u64::from(state.frm),
        num::FCSR => u64::from(state.frm) << 5 | u64::from(state.fflags),
        num::CYCLE | num::MCYCLE => c.cycle,
        num::INSTRET | num::MINSTRET => c.instret,
        num::SSTATUS => status::read_value(c.mstatus) & status::SSTATUS_VISIBLE,
        num::SIE => c.mie & c.mideleg,
        num::STVEC => c.stvec,
        num::SCOUNTEREN => c.scounteren,
        num::SENVCFG => c.senvcfg,
        num::SSCRATCH => c.sscratch,
        num::SEPC => c.sepc,
        num::SCAUSE => c.scause,
        num::STVAL => c.stval,
        num::SIP => c.mip & c.mideleg,
        num::STIMECMP => c.stimecmp,
        num::SATP => c.satp,
        num::MVENDORID | num::MARCHID | num::MIMPID | num::MCONFIGPTR => 0,
        num::MHARTID => state.hartid,
        num::MSTATUS => status::read_value(c.mstatus),
        num::MISA => MISA,
        num::MEDELEG => c.medeleg,
        num::MIDELEG => c.mideleg,
        num::MIE => c.mie,
        num::MTVEC => c.mtvec,
        num::MCOUNTEREN => c.mcounteren,
        num::MENVCFG => c.menvcfg,
        num::MCOUNTINHIBIT => c.mcountinhibit,
        num::MSCRATCH => c.mscratch,
        num::MEPC => c.mepc,
        num::MCAUSE => c.mcause,
        num::MTVAL => c.mtval,
        num::MIP => c.mip,
        num::PMPCFG0..=num::PMPCFG15 if (csr - num::PMPCFG0).is_multiple_of(2) => {
            c.pmp.read_cfg(usize::from(csr - num::PMPCFG0))
        }
        num::PMPADDR0..=num::PMPADDR63 => c.pmp.read_addr(usize::from(csr - num::PMPADDR0)),
        num::TSELECT => t.select,
        num::TDATA1 => t.read_tdata1(),
        num::TDATA2 => t.read_tdata2(),
        num::TDATA3 => 0,
        num::TINFO => trigger::TINFO,
        _ => return None,
    })
}

/// Writes CSR `csr` of a stopped hart for a debugger, with the legal values an
/// instruction would leave (WARL fields, read-only bits). Returns `false` for CSRs a
/// debugger may not change here (read-only ones, counters, PMP, `mip`); the hart
/// drops its caches for the new state when it runs again.
pub fn write_csr(state: &mut HartState, csr: u16, value: u64) -> bool {
    let c = &mut state.csr;
    match csr {
        num::FFLAGS => state.fflags = (value & 0x1f) as u8,
        num::FRM => state.frm = (value & 7) as u8,
        num::FCSR => {
            state.fflags = (value & 0x1f) as u8;
            state.frm = ((value >> 5) & 7) as u8;
        }
        num::MSTATUS => c.mstatus = status::write_value(c.mstatus, value, status::MSTATUS_WRITABLE),
        num::SSTATUS => c.mstatus = status::write_value(c.mstatus, value, status::SSTATUS_WRITABLE),
        num::MEPC => c.mepc = value & !1,
        num::SEPC => c.sepc = value & !1,
        num::MSCRATCH => c.mscratch = value,
        num::SSCRATCH => c.sscratch = value,
        num::MCAUSE => c.mcause = value,
        num::SCAUSE => c.scause = value,
        num::MTVAL => c.mtval = value,
        num::STVAL => c.stval = value,
        num::MTVEC if value & 3 < 2 => c.mtvec = value,
        num::STVEC if value & 3 < 2 => c.stvec = value,
        num::SATP if matches!(value >> 60, 0 | 8 | 9 | 10) => c.satp = value,
        num::TSELECT => state.triggers.write_select(value),
        num::TDATA1 => state.triggers.write_tdata1(value),
        num::TDATA2 => state.triggers.write_tdata2(value),
        _ => return false,
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: u64 = 0x8000_0000;

    fn ram_with(words: &[(u64, u64)]) -> GuestRam {
        let ram = GuestRam::new(BASE, 1 << 20).unwrap();
        for &(addr, value) in words {
            ram.write(addr, &value.to_le_bytes()).unwrap();
        }
        ram
    }

    /// Sv39 tables at BASE (root), BASE+0x1000 (level 1), BASE+0x2000 (level 0):
    /// va 0x4000_1000 -> BASE+0x5000 (4 KiB page, A/D clear), and a 2 MiB superpage
    /// va 0x4020_0000 -> BASE+0x0 (level 1 leaf).
    fn sv39() -> (HartState, GuestRam) {
        let pte = |pa: u64, flags: u64| (pa >> 12) << 10 | flags;
        let ram = ram_with(&[
            (BASE + 8, pte(BASE + 0x1000, 1)),            // root[1]: va bit 30
            (BASE + 0x1000, pte(BASE + 0x2000, 1)),       // l1[0]
            (BASE + 0x1000 + 8, pte(BASE, 0x3)),          // l1[1]: 2 MiB leaf, R
            (BASE + 0x2000 + 8, pte(BASE + 0x5000, 0x3)), // l0[1]: R, no A/D
            (BASE + 0x5010, 0x1122_3344_5566_7788),
        ]);
        let mut s = HartState::new(0, BASE);
        s.prv = Priv::S;
        s.csr.satp = 8 << 60 | BASE >> 12;
        (s, ram)
    }

    #[test]
    fn walks_the_page_tables_without_setting_accessed_bits() {
        let (s, ram) = sv39();
        assert_eq!(translate(&s, &ram, 0x4000_1010), Some(BASE + 0x5010));
        assert_eq!(translate(&s, &ram, 0x4020_0123), Some(BASE + 0x123));
        assert_eq!(translate(&s, &ram, 0x4000_2000), None, "unmapped");
        assert_eq!(
            translate(&s, &ram, 0x0000_0040_0000_0000),
            None,
            "not canonical"
        );
        let mut word = [0u8; 8];
        read_virt(&s, &ram, 0x4000_1010, &mut word).unwrap();
        assert_eq!(u64::from_le_bytes(word), 0x1122_3344_5566_7788);
        let mut pte = [0u8; 8];
        ram.read(BASE + 0x2008, &mut pte).unwrap();
        assert_eq!(u64::from_le_bytes(pte) & 0xc0, 0, "A and D stay clear");
        // M-mode sees physical addresses.
        let mut m = s.clone();
        m.prv = Priv::M;
        assert_eq!(translate(&m, &ram, BASE + 0x10), Some(BASE + 0x10));
    }

    #[test]
    fn accesses_stop_at_the_first_unmapped_byte() {
        let (s, ram) = sv39();
        let mut buf = [0u8; 16];
        assert_eq!(read_virt(&s, &ram, 0x4000_1ff8, &mut buf), Err(8));
        assert_eq!(write_virt(&s, &ram, 0x4000_1ffc, &[1; 8]), Err(4));
        let mut back = [0u8; 4];
        read_virt(&s, &ram, 0x4000_1ffc, &mut back).unwrap();
        assert_eq!(back, [1; 4]);
    }

    #[test]
    fn csrs_read_and_write_like_instructions() {
        let mut s = HartState::new(3, BASE);
        assert_eq!(read_csr(&s, num::MHARTID), Some(3));
        assert_eq!(read_csr(&s, 0x7c0), None);
        assert!(write_csr(&mut s, num::MSTATUS, u64::MAX));
        assert_eq!(
            s.csr.mstatus & !status::MSTATUS_WRITABLE,
            (2 << 32) | (2 << 34)
        );
        assert!(write_csr(&mut s, num::MEPC, 0x1235));
        assert_eq!(read_csr(&s, num::MEPC), Some(0x1234));
        assert!(!write_csr(&mut s, num::MHARTID, 9));
        assert!(!write_csr(&mut s, num::SATP, 3 << 60));
        assert!(write_csr(&mut s, num::FCSR, 0xff));
        assert_eq!((s.frm, s.fflags), (7, 0x1f));
    }
}
