//! Zicsr, the privileged instructions, fences, and Zicboz.

use tern_isa::{Inst, Op};

use crate::csr::{status, ENVCFG_CBZE};
use crate::hart::Core;
use crate::mem::bus::Bus;
use crate::state::Priv;
use crate::trap::{cause, irq, Access, Exception};

/// What the engine does after a system instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flow {
    /// Continue with the next instruction (the block ends here regardless).
    Next,
    /// Continue at this address.
    Jump(u64),
    /// Stall in `wfi` until an interrupt is pending.
    Wait,
}

/// Size of the cache block `cbo.zero` clears (QEMU's default).
const CBO_BLOCK: u64 = 64;

impl Core {
    /// Executes a system instruction.
    pub(crate) fn exec_system<B: Bus>(
        &mut self,
        inst: &Inst,
        bus: &mut B,
    ) -> Result<Flow, Exception> {
        let illegal = Exception::illegal(inst.raw);
        let prv = self.state.prv;
        let mstatus = self.state.csr.mstatus;
        match inst.op {
            Op::Csrrw | Op::Csrrs | Op::Csrrc | Op::Csrrwi | Op::Csrrsi | Op::Csrrci => {
                self.exec_csr(inst)?;
                Ok(Flow::Next)
            }
            Op::Ecall => {
                let c = match prv {
                    Priv::U => cause::ECALL_U,
                    Priv::S => cause::ECALL_S,
                    Priv::M => cause::ECALL_M,
                };
                Err(Exception::new(c, 0))
            }
            Op::Ebreak => Err(Exception::new(cause::BREAKPOINT, 0)),
            Op::Mret => {
                if prv != Priv::M {
                    return Err(illegal);
                }
                Ok(Flow::Jump(self.mret()))
            }
            Op::Sret => {
                if prv == Priv::U || (prv == Priv::S && mstatus & status::TSR != 0) {
                    return Err(illegal);
                }
                Ok(Flow::Jump(self.sret()))
            }
            Op::Wfi => {
                if prv == Priv::U || (prv == Priv::S && mstatus & status::TW != 0) {
                    return Err(illegal);
                }
                if self.mip() & self.state.csr.mie & irq::ALL != 0 {
                    return Ok(Flow::Next);
                }
                self.state.waiting = true;
                Ok(Flow::Wait)
            }
            Op::SfenceVma => {
                if prv == Priv::U || (prv == Priv::S && mstatus & status::TVM != 0) {
                    return Err(illegal);
                }
                let addr = self.state.x[usize::from(inst.rs1 & 31)];
                if inst.rs1 != 0 && !self.in_cached_superpage(addr) {
                    self.tlb.flush_vpage(addr & !0xfff);
                    // Two pages before the run loop looked: drop the whole cache.
                    if self.flush_jump_page.replace(addr & !0xfff).is_some() {
                        self.flush_jumps = true;
                    }
                } else {
                    self.translation_changed();
                }
                Ok(Flow::Next)
            }
            Op::FenceI => {
                // Decoded blocks already follow every logged write (see
                // `HartConfig::sole_hart`); Linux fences the instruction stream each
                // time it maps a new executable page.
                if !self.config.sole_hart {
                    self.flush_blocks = true;
                }
                Ok(Flow::Next)
            }
            Op::CboZero => {
                let c = &self.state.csr;
                let allowed = match prv {
                    Priv::M => true,
                    Priv::S => c.menvcfg & ENVCFG_CBZE != 0,
                    Priv::U => c.menvcfg & ENVCFG_CBZE != 0 && c.senvcfg & ENVCFG_CBZE != 0,
                };
                if !allowed {
                    return Err(illegal);
                }
                let vaddr = self.state.x[usize::from(inst.rs1 & 31)] & !(CBO_BLOCK - 1);
                let paddr = self.translate_data(vaddr, CBO_BLOCK, Access::Store)?;
                if self.ram.contains(paddr, CBO_BLOCK) && self.ram.is_direct_page(paddr & !0xfff) {
                    self.ram
                        .zero(paddr, CBO_BLOCK)
                        .map_err(|_| Access::Store.access_fault(vaddr))?;
                } else {
                    for i in 0..CBO_BLOCK / 8 {
                        self.phys_write(paddr + 8 * i, 8, 0, bus)
                            .map_err(|_| Access::Store.access_fault(vaddr))?;
                    }
                }
                Ok(Flow::Next)
            }
            _ => Err(illegal),
        }
    }

    fn exec_csr(&mut self, inst: &Inst) -> Result<(), Exception> {
        let illegal = Exception::illegal(inst.raw);
        let csr = (inst.imm as u32 & 0xfff) as u16;
        let src = match inst.op {
            Op::Csrrwi | Op::Csrrsi | Op::Csrrci => u64::from(inst.rs1),
            _ => self.state.x[usize::from(inst.rs1 & 31)],
        };
        let (reads, writes) = match inst.op {
            Op::Csrrw | Op::Csrrwi => (inst.rd != 0, true),
            _ => (true, inst.rs1 != 0),
        };
        self.csr_check(csr, writes).map_err(|_| illegal)?;
        let old = if reads || writes && !matches!(inst.op, Op::Csrrw | Op::Csrrwi) {
            self.csr_read(csr).map_err(|_| illegal)?
        } else {
            0
        };
        if writes {
            // Read-modify-write of mip/sip starts from the software-written bits, so
            // that a device-driven SEIP is not latched into the writable bit (§3.1.9).
            let base = match csr {
                crate::csr::num::MIP | crate::csr::num::SIP => self.state.csr.mip,
                _ => old,
            };
            let new = match inst.op {
                Op::Csrrw | Op::Csrrwi => src,
                Op::Csrrs | Op::Csrrsi => base | src,
                _ => base & !src,
            };
            self.csr_write(csr, new).map_err(|_| illegal)?;
        }
        if reads {
            self.state.x[usize::from(inst.rd & 31)] = old;
            self.state.x[0] = 0;
        }
        Ok(())
    }
}
