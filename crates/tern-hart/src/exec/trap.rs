//! Taking traps and returning from them (Privileged ISA §3.1.6.1, §3.3.2, §4.1.1).

use crate::csr::status;
use crate::hart::Core;
use crate::state::Priv;
use crate::trap::{irq, Exception};

/// `xcause` bit that marks an interrupt.
const INTERRUPT: u64 = 1 << 63;

impl Core {
    /// Takes a synchronous exception raised by the instruction at `pc`.
    pub(crate) fn raise(&mut self, e: Exception, pc: u64) {
        let to_host = (self.config.user_traps_exit && self.state.prv == Priv::U)
            || (self.config.sbi_ecalls_exit && e.cause == crate::trap::cause::ECALL_S);
        if to_host {
            self.state.pc = pc;
            self.host_trap = Some(e);
            return;
        }
        self.enter_trap(u64::from(e.cause), e.tval, pc);
    }

    /// The interrupt to take now, if any: pending, enabled, and allowed by the current
    /// privilege and `xstatus.xIE`, in the priority order of [`irq::PRIORITY`].
    pub(crate) fn pending_interrupt(&self) -> Option<u32> {
        let pending = self.mip() & self.state.csr.mie;
        if pending == 0 {
            return None;
        }
        let s = &self.state;
        let mstatus = s.csr.mstatus;
        let m_enabled = s.prv < Priv::M || mstatus & status::MIE != 0;
        let s_enabled = s.prv < Priv::S || (s.prv == Priv::S && mstatus & status::SIE != 0);
        let m_pending = if m_enabled {
            pending & !s.csr.mideleg
        } else {
            0
        };
        let s_pending = if s_enabled {
            pending & s.csr.mideleg
        } else {
            0
        };
        // M-level interrupts take precedence over S-level ones.
        let take = if m_pending != 0 { m_pending } else { s_pending };
        irq::PRIORITY
            .iter()
            .copied()
            .find(|&i| take & (1 << i) != 0)
    }

    /// Takes interrupt `number` with the next instruction at `pc`.
    pub(crate) fn take_interrupt(&mut self, number: u32, pc: u64) {
        self.enter_trap(INTERRUPT | u64::from(number), 0, pc);
    }

    /// Enters the trap handler for `cause` (interrupt bit included) in M- or S-mode,
    /// according to delegation.
    fn enter_trap(&mut self, cause: u64, tval: u64, pc: u64) {
        let is_interrupt = cause & INTERRUPT != 0;
        let code = cause & !INTERRUPT;
        let s = &mut self.state;
        let deleg = if is_interrupt {
            s.csr.mideleg
        } else {
            s.csr.medeleg
        };
        let to_s = s.prv <= Priv::S && code < 64 && deleg & (1 << code) != 0;
        s.waiting = false;
        let prv = s.prv;
        let target = if to_s {
            let c = &mut s.csr;
            c.scause = cause;
            c.sepc = pc;
            c.stval = tval;
            let sie = c.mstatus & status::SIE != 0;
            c.mstatus &= !(status::SPIE | status::SIE | status::SPP);
            if sie {
                c.mstatus |= status::SPIE;
            }
            if prv == Priv::S {
                c.mstatus |= status::SPP;
            }
            s.pc = vector(c.stvec, is_interrupt, code);
            Priv::S
        } else {
            let c = &mut s.csr;
            c.mcause = cause;
            c.mepc = pc;
            c.mtval = tval;
            let mie = c.mstatus & status::MIE != 0;
            c.mstatus &= !(status::MPIE | status::MIE | status::MPP);
            if mie {
                c.mstatus |= status::MPIE;
            }
            c.mstatus |= (prv as u64) << status::MPP_SHIFT;
            s.pc = vector(c.mtvec, is_interrupt, code);
            Priv::M
        };
        self.set_priv(target);
    }

    /// `mret`: returns to the privilege in MPP (Privileged ISA §3.3.2). Returns the new pc.
    pub(crate) fn mret(&mut self) -> u64 {
        let c = &mut self.state.csr;
        let mpp = Priv::from_bits(c.mstatus >> status::MPP_SHIFT);
        let mpie = c.mstatus & status::MPIE != 0;
        c.mstatus &= !(status::MIE | status::MPP);
        if mpie {
            c.mstatus |= status::MIE;
        }
        c.mstatus |= status::MPIE;
        // MPP is set to the least-privileged mode; leaving M clears MPRV.
        if mpp != Priv::M {
            c.mstatus &= !status::MPRV;
        }
        let pc = c.mepc;
        self.set_priv(mpp);
        pc
    }

    /// `sret`: returns to the privilege in SPP. Returns the new pc.
    pub(crate) fn sret(&mut self) -> u64 {
        let c = &mut self.state.csr;
        let spp = if c.mstatus & status::SPP != 0 {
            Priv::S
        } else {
            Priv::U
        };
        let spie = c.mstatus & status::SPIE != 0;
        c.mstatus &= !(status::SIE | status::SPP);
        if spie {
            c.mstatus |= status::SIE;
        }
        c.mstatus |= status::SPIE;
        c.mstatus &= !status::MPRV;
        let pc = c.sepc;
        self.set_priv(spp);
        pc
    }
}

/// The handler address for a trap through `tvec` (direct, or vectored for interrupts).
fn vector(tvec: u64, is_interrupt: bool, code: u64) -> u64 {
    let base = tvec & !3;
    if tvec & 3 == 1 && is_interrupt {
        base.wrapping_add(4 * code)
    } else {
        base
    }
}
