//! Control and status registers: numbers, access rules, and their read/write behaviour.
//!
//! Access rules (Privileged ISA §2.1): bits 11:10 of the number say read-only (`0b11`),
//! bits 9:8 the lowest privilege that may access it. Anything not implemented here
//! raises an illegal-instruction exception, as do accesses that the counter-enable,
//! `TVM`, `FS` and Sstc rules forbid.

pub mod pmp;
pub mod status;
pub mod trigger;

use crate::hart::Core;
use crate::mmu::walk;
use crate::state::Priv;
use crate::trap::irq;

/// CSR numbers.
#[allow(missing_docs)]
pub mod num {
    pub const FFLAGS: u16 = 0x001;
    pub const FRM: u16 = 0x002;
    pub const FCSR: u16 = 0x003;
    pub const CYCLE: u16 = 0xc00;
    pub const TIME: u16 = 0xc01;
    pub const INSTRET: u16 = 0xc02;
    pub const HPMCOUNTER3: u16 = 0xc03;
    pub const HPMCOUNTER31: u16 = 0xc1f;
    pub const SSTATUS: u16 = 0x100;
    pub const SIE: u16 = 0x104;
    pub const STVEC: u16 = 0x105;
    pub const SCOUNTEREN: u16 = 0x106;
    pub const SENVCFG: u16 = 0x10a;
    pub const SSCRATCH: u16 = 0x140;
    pub const SEPC: u16 = 0x141;
    pub const SCAUSE: u16 = 0x142;
    pub const STVAL: u16 = 0x143;
    pub const SIP: u16 = 0x144;
    pub const STIMECMP: u16 = 0x14d;
    pub const SATP: u16 = 0x180;
    pub const MVENDORID: u16 = 0xf11;
    pub const MARCHID: u16 = 0xf12;
    pub const MIMPID: u16 = 0xf13;
    pub const MHARTID: u16 = 0xf14;
    pub const MCONFIGPTR: u16 = 0xf15;
    pub const MSTATUS: u16 = 0x300;
    pub const MISA: u16 = 0x301;
    pub const MEDELEG: u16 = 0x302;
    pub const MIDELEG: u16 = 0x303;
    pub const MIE: u16 = 0x304;
    pub const MTVEC: u16 = 0x305;
    pub const MCOUNTEREN: u16 = 0x306;
    pub const MENVCFG: u16 = 0x30a;
    pub const MCOUNTINHIBIT: u16 = 0x320;
    pub const MHPMEVENT3: u16 = 0x323;
    pub const MHPMEVENT31: u16 = 0x33f;
    pub const MSCRATCH: u16 = 0x340;
    pub const MEPC: u16 = 0x341;
    pub const MCAUSE: u16 = 0x342;
    pub const MTVAL: u16 = 0x343;
    pub const MIP: u16 = 0x344;
    pub const PMPCFG0: u16 = 0x3a0;
    pub const PMPCFG15: u16 = 0x3af;
    pub const PMPADDR0: u16 = 0x3b0;
    pub const PMPADDR63: u16 = 0x3ef;
    pub const TSELECT: u16 = 0x7a0;
    pub const TDATA1: u16 = 0x7a1;
    pub const TDATA2: u16 = 0x7a2;
    pub const TDATA3: u16 = 0x7a3;
    pub const TINFO: u16 = 0x7a4;
    pub const MCYCLE: u16 = 0xb00;
    pub const MINSTRET: u16 = 0xb02;
    pub const MHPMCOUNTER3: u16 = 0xb03;
    pub const MHPMCOUNTER31: u16 = 0xb1f;
}

/// `misa`: RV64 (MXL = 2) with A, C, D, F, I, M, S, U.
pub const MISA: u64 = (2 << 62)
    | (1 << 0) // A
    | (1 << 2) // C
    | (1 << 3) // D
    | (1 << 5) // F
    | (1 << 8) // I
    | (1 << 12) // M
    | (1 << 18) // S
    | (1 << 20); // U

/// Exceptions that may be delegated to S-mode (`medeleg[11]`, ecall from M, is
/// read-only zero as the specification recommends).
const MEDELEG_WRITABLE: u64 = 0xb3ff;
/// `menvcfg` bits: FIOM, CBIE, CBCFE, CBZE (Zicboz) and STCE (Sstc).
const MENVCFG_BASE: u64 = 0x1 | 0x30 | 0x40 | 0x80;
/// `menvcfg.STCE`.
pub const MENVCFG_STCE: u64 = 1 << 63;
/// `xenvcfg.CBZE`.
pub const ENVCFG_CBZE: u64 = 1 << 7;
/// `senvcfg` bits: FIOM, CBIE, CBCFE, CBZE.
const SENVCFG_WRITABLE: u64 = 0x1 | 0x30 | 0x40 | 0x80;
/// `mcountinhibit` bits: CY and HPM3–31 (bit 1, TM, is read-only zero).
const MCOUNTINHIBIT_WRITABLE: u64 = 0xffff_fffd;

/// A CSR access the hart must refuse with an illegal-instruction exception.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CsrDenied;

impl Core {
    /// Whether the current privilege may access `csr` at all, and write it if `write`.
    fn csr_allowed(&self, csr: u16, write: bool) -> bool {
        let min_priv = (csr >> 8) & 3;
        if (self.state.prv as u16) < min_priv {
            return false;
        }
        !(write && csr >> 10 == 3)
    }

    /// Whether counter `index` (0 = cycle, 1 = time, 2 = instret, 3.. = hpm) may be
    /// read at the current privilege (`mcounteren`, `scounteren`).
    fn counter_enabled(&self, index: u16) -> bool {
        let bit = 1u64 << index;
        let c = &self.state.csr;
        match self.state.prv {
            Priv::M => true,
            Priv::S => c.mcounteren & bit != 0,
            Priv::U => c.mcounteren & bit != 0 && c.scounteren & bit != 0,
        }
    }

    fn fs_enabled(&self) -> bool {
        self.state.csr.mstatus & status::FS != 0
    }

    /// Whether Sstc's `stimecmp` is active (`menvcfg.STCE`).
    pub(crate) fn sstc_active(&self) -> bool {
        self.config.sstc && self.state.csr.menvcfg & MENVCFG_STCE != 0
    }

    fn stimecmp_allowed(&self) -> bool {
        if !self.config.sstc {
            return false;
        }
        match self.state.prv {
            Priv::M => true,
            Priv::S => self.sstc_active() && self.state.csr.mcounteren & 2 != 0,
            Priv::U => false,
        }
    }

    /// The full `mip` value: software-written bits, device lines and the Sstc timer
    /// (as of the last [`Core::refresh_timer`]).
    pub(crate) fn mip(&self) -> u64 {
        let mut v = self.state.csr.mip | self.lines.get();
        if self.sstc_active() {
            v = (v & !irq::STIP) | self.stip_bit();
        }
        v
    }

    /// STIP as driven by Sstc's comparator (0 when Sstc is off).
    #[inline(always)]
    pub(crate) fn stip_bit(&self) -> u64 {
        if self.stimer_fired {
            irq::STIP
        } else {
            0
        }
    }

    /// Re-evaluates Sstc's comparator against the clock.
    pub(crate) fn refresh_timer(&mut self) {
        self.stimer_fired = self.sstc_active() && self.clock.now() >= self.state.csr.stimecmp;
    }

    /// Reads `csr`. `Err` means the access raises an illegal-instruction exception.
    pub(crate) fn csr_read(&mut self, csr: u16) -> Result<u64, CsrDenied> {
        self.csr_check(csr, false)?;
        self.refresh_timer();
        let c = &self.state.csr;
        Ok(match csr {
            num::FFLAGS => u64::from(self.state.fflags),
            num::FRM => u64::from(self.state.frm),
            num::FCSR => u64::from(self.state.frm) << 5 | u64::from(self.state.fflags),
            num::CYCLE | num::MCYCLE => c.cycle,
            num::TIME => self.clock.now(),
            num::INSTRET | num::MINSTRET => c.instret,
            num::HPMCOUNTER3..=num::HPMCOUNTER31 | num::MHPMCOUNTER3..=num::MHPMCOUNTER31 => 0,
            num::SSTATUS => status::read_value(c.mstatus) & status::SSTATUS_VISIBLE,
            num::SIE => c.mie & c.mideleg,
            num::STVEC => c.stvec,
            num::SCOUNTEREN => c.scounteren,
            num::SENVCFG => c.senvcfg,
            num::SSCRATCH => c.sscratch,
            num::SEPC => c.sepc,
            num::SCAUSE => c.scause,
            num::STVAL => c.stval,
            num::SIP => self.mip() & self.state.csr.mideleg,
            num::STIMECMP => c.stimecmp,
            num::SATP => c.satp,
            num::MVENDORID | num::MARCHID | num::MIMPID | num::MCONFIGPTR => 0,
            num::MHARTID => self.state.hartid,
            num::MSTATUS => status::read_value(c.mstatus),
            num::MISA => MISA,
            num::MEDELEG => c.medeleg,
            num::MIDELEG => c.mideleg,
            num::MIE => c.mie,
            num::MTVEC => c.mtvec,
            num::MCOUNTEREN => c.mcounteren,
            num::MENVCFG => c.menvcfg,
            num::MCOUNTINHIBIT => c.mcountinhibit,
            num::MHPMEVENT3..=num::MHPMEVENT31 => 0,
            num::MSCRATCH => c.mscratch,
            num::MEPC => c.mepc,
            num::MCAUSE => c.mcause,
            num::MTVAL => c.mtval,
            num::MIP => self.mip(),
            num::PMPCFG0..=num::PMPCFG15 => c.pmp.read_cfg(usize::from(csr - num::PMPCFG0)),
            num::PMPADDR0..=num::PMPADDR63 => c.pmp.read_addr(usize::from(csr - num::PMPADDR0)),
            num::TSELECT => self.state.triggers.select,
            num::TDATA1 => self.state.triggers.read_tdata1(),
            num::TDATA2 => self.state.triggers.read_tdata2(),
            num::TDATA3 => 0,
            num::TINFO => trigger::TINFO,
            _ => return Err(CsrDenied),
        })
    }

    /// Checks whether `csr` exists and may be accessed (and written if `write`).
    pub(crate) fn csr_check(&self, csr: u16, write: bool) -> Result<(), CsrDenied> {
        if !self.csr_allowed(csr, write) {
            return Err(CsrDenied);
        }
        let ok = match csr {
            num::FFLAGS | num::FRM | num::FCSR => self.fs_enabled(),
            num::CYCLE..=num::HPMCOUNTER31 => self.counter_enabled(csr - num::CYCLE),
            num::SATP => !(self.state.prv == Priv::S && self.state.csr.mstatus & status::TVM != 0),
            num::STIMECMP => self.stimecmp_allowed(),
            // RV64 has only the even pmpcfg registers. Entries 16-63 are not
            // implemented: their registers exist and read as zero (§3.7.1).
            num::PMPCFG0..=num::PMPCFG15 => (csr - num::PMPCFG0).is_multiple_of(2),
            num::PMPADDR0..=num::PMPADDR63 => true,
            num::SSTATUS
            | num::SIE
            | num::STVEC
            | num::SCOUNTEREN
            | num::SENVCFG
            | num::SSCRATCH
            | num::SEPC
            | num::SCAUSE
            | num::STVAL
            | num::SIP
            | num::MVENDORID
            | num::MARCHID
            | num::MIMPID
            | num::MHARTID
            | num::MCONFIGPTR
            | num::MSTATUS
            | num::MISA
            | num::MEDELEG
            | num::MIDELEG
            | num::MIE
            | num::MTVEC
            | num::MCOUNTEREN
            | num::MENVCFG
            | num::MCOUNTINHIBIT
            | num::MHPMEVENT3..=num::MHPMEVENT31
            | num::MSCRATCH
            | num::MEPC
            | num::MCAUSE
            | num::MTVAL
            | num::MIP
            | num::MCYCLE
            | num::MINSTRET
            | num::MHPMCOUNTER3..=num::MHPMCOUNTER31
            | num::TSELECT..=num::TINFO => true,
            // Not implemented: custom, debug-mode, hypervisor and other CSRs.
            _ => false,
        };
        if ok {
            Ok(())
        } else {
            Err(CsrDenied)
        }
    }

    /// Writes `value` to `csr` (after [`Core::csr_check`] with `write = true`).
    pub(crate) fn csr_write(&mut self, csr: u16, value: u64) -> Result<(), CsrDenied> {
        self.csr_check(csr, true)?;
        let c = &mut self.state.csr;
        match csr {
            num::FFLAGS => {
                self.state.fflags = (value & 0x1f) as u8;
                self.mark_fs_dirty();
            }
            num::FRM => {
                self.state.frm = (value & 7) as u8;
                self.mark_fs_dirty();
            }
            num::FCSR => {
                self.state.fflags = (value & 0x1f) as u8;
                self.state.frm = ((value >> 5) & 7) as u8;
                self.mark_fs_dirty();
            }
            // The write replaces the increment of the writing instruction, which the
            // engine adds when it retires (Zicsr, "CSR side effects").
            num::MCYCLE => {
                c.cycle = if c.mcountinhibit & 1 == 0 {
                    value.wrapping_sub(1)
                } else {
                    value
                };
            }
            num::MINSTRET => {
                c.instret = if c.mcountinhibit & 4 == 0 {
                    value.wrapping_sub(1)
                } else {
                    value
                };
            }
            num::MHPMCOUNTER3..=num::MHPMCOUNTER31 | num::MHPMEVENT3..=num::MHPMEVENT31 => {}
            num::SSTATUS => self.write_mstatus(value, status::SSTATUS_WRITABLE),
            num::MSTATUS => self.write_mstatus(value, status::MSTATUS_WRITABLE),
            num::SIE => {
                let mask = c.mideleg & irq::S_MASK;
                c.mie = (c.mie & !mask) | (value & mask);
            }
            num::MIE => c.mie = value & irq::ALL,
            num::STVEC if value & 3 < 2 => {
                c.stvec = value;
            }
            num::MTVEC if value & 3 < 2 => {
                c.mtvec = value;
            }
            num::SCOUNTEREN => c.scounteren = value & 0xffff_ffff,
            num::MCOUNTEREN => c.mcounteren = value & 0xffff_ffff,
            num::SENVCFG => c.senvcfg = value & SENVCFG_WRITABLE,
            num::MENVCFG => {
                let stce = if self.config.sstc { MENVCFG_STCE } else { 0 };
                c.menvcfg = value & (MENVCFG_BASE | stce);
                self.refresh_timer();
            }
            num::MCOUNTINHIBIT => c.mcountinhibit = value & MCOUNTINHIBIT_WRITABLE,
            num::SSCRATCH => c.sscratch = value,
            num::MSCRATCH => c.mscratch = value,
            num::SEPC => c.sepc = value & !1,
            num::MEPC => c.mepc = value & !1,
            num::SCAUSE => c.scause = value,
            num::MCAUSE => c.mcause = value,
            num::STVAL => c.stval = value,
            num::MTVAL => c.mtval = value,
            num::SIP => {
                let mask = c.mideleg & irq::SSIP;
                c.mip = (c.mip & !mask) | (value & mask);
            }
            num::MIP => {
                let mut mask = irq::SSIP | irq::SEIP;
                if !self.sstc_active() {
                    mask |= irq::STIP;
                }
                let c = &mut self.state.csr;
                c.mip = (c.mip & !mask) | (value & mask);
            }
            num::STIMECMP => {
                c.stimecmp = value;
                self.refresh_timer();
            }
            num::MEDELEG => c.medeleg = value & MEDELEG_WRITABLE,
            num::MIDELEG => c.mideleg = value & irq::S_MASK,
            num::SATP => {
                let mode = value >> 60;
                if walk::mode_supported(mode) {
                    let new = value;
                    if new != c.satp {
                        c.satp = new;
                        self.translation_changed();
                    }
                }
            }
            num::PMPCFG0..=num::PMPCFG15 => {
                c.pmp.write_cfg(usize::from(csr - num::PMPCFG0), value);
                self.translation_changed();
            }
            num::PMPADDR0..=num::PMPADDR63 => {
                c.pmp.write_addr(usize::from(csr - num::PMPADDR0), value);
                self.translation_changed();
            }
            num::TSELECT => self.state.triggers.write_select(value),
            num::TDATA1 => {
                self.state.triggers.write_tdata1(value);
                self.refresh_debug();
            }
            num::TDATA2 => self.state.triggers.write_tdata2(value),
            // TDATA3 (no textra) and TINFO ignore writes.
            // Read-only registers were refused by `csr_check`; the rest are ignored.
            _ => {}
        }
        Ok(())
    }

    fn write_mstatus(&mut self, value: u64, mask: u64) {
        let old = self.state.csr.mstatus;
        let new = status::write_value(old, value, mask);
        self.state.csr.mstatus = new;
        if (old ^ new) & status::MXR != 0 {
            self.translation_changed();
        } else if (old ^ new) & (status::MPRV | status::MPP | status::SUM) != 0 {
            self.update_contexts();
        }
    }

    /// Sets `mstatus.FS` to Dirty (the floating-point state was written).
    #[inline]
    pub(crate) fn mark_fs_dirty(&mut self) {
        self.state.csr.mstatus |= status::FS_DIRTY;
    }
}
