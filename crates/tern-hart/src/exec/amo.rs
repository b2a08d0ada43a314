//! The A extension: LR/SC and AMOs (Unprivileged ISA, chapter "A").
//!
//! AMOs run as host atomic operations on guest RAM, so they are atomic with respect to
//! other harts on other host threads. LR records the address and the value it read;
//! SC succeeds only if the address matches and memory still holds that value (a
//! compare-and-swap, as QEMU does). AMOs and LR/SC must be naturally aligned; AMOs on
//! memory that is not RAM raise an access fault.

use std::sync::atomic::Ordering::SeqCst;

use tern_isa::{Inst, Op};

use crate::exec::alu::sext32;
use crate::hart::Core;
use crate::mem::bus::Bus;
use crate::trap::{Access, Exception};

impl Core {
    fn amo_addr(&mut self, vaddr: u64, size: u64, access: Access) -> Result<u64, Exception> {
        if !vaddr.is_multiple_of(size) {
            return Err(access.misaligned(vaddr));
        }
        let paddr = self.translate_data(vaddr, size, access)?;
        if !self.ram.contains(paddr, size)
            || !self.ram.is_direct_page(paddr & !0xfff)
            || self.ram.ensure(paddr, size).is_err()
        {
            return Err(access.access_fault(vaddr));
        }
        Ok(paddr)
    }

    /// Executes an A-extension instruction; returns the value for `rd`.
    pub(crate) fn exec_amo<B: Bus>(&mut self, inst: &Inst, _bus: &mut B) -> Result<u64, Exception> {
        let vaddr = self.state.x[usize::from(inst.rs1 & 31)];
        let src = self.state.x[usize::from(inst.rs2 & 31)];
        let word = matches!(
            inst.op,
            Op::LrW
                | Op::ScW
                | Op::AmoswapW
                | Op::AmoaddW
                | Op::AmoxorW
                | Op::AmoandW
                | Op::AmoorW
                | Op::AmominW
                | Op::AmomaxW
                | Op::AmominuW
                | Op::AmomaxuW
        );
        let size = if word { 4 } else { 8 };
        match inst.op {
            Op::LrW | Op::LrD => {
                let paddr = self.amo_addr(vaddr, size, Access::Load)?;
                let value = self.atomic_load(paddr, word);
                self.state.reservation = Some(vaddr);
                self.state.reservation_value = value;
                return Ok(if word { sext32(value) } else { value });
            }
            Op::ScW | Op::ScD => {
                if self.state.reservation != Some(vaddr) {
                    self.state.reservation = None;
                    return Ok(1);
                }
                self.state.reservation = None;
                let paddr = self.amo_addr(vaddr, size, Access::Store)?;
                let expected = self.state.reservation_value;
                let ok = if word {
                    self.ram.atomic32(paddr).is_some_and(|a| {
                        a.compare_exchange(expected as u32, src as u32, SeqCst, SeqCst)
                            .is_ok()
                    })
                } else {
                    self.ram
                        .atomic64(paddr)
                        .is_some_and(|a| a.compare_exchange(expected, src, SeqCst, SeqCst).is_ok())
                };
                if ok {
                    self.ram.note_write(paddr, size);
                }
                return Ok(u64::from(!ok));
            }
            _ => {}
        }
        let paddr = self.amo_addr(vaddr, size, Access::Store)?;
        let old = if word {
            let Some(a) = self.ram.atomic32(paddr) else {
                return Err(Access::Store.access_fault(vaddr));
            };
            let b = src as u32;
            let old = match inst.op {
                Op::AmoswapW => a.swap(b, SeqCst),
                Op::AmoaddW => a.fetch_add(b, SeqCst),
                Op::AmoxorW => a.fetch_xor(b, SeqCst),
                Op::AmoandW => a.fetch_and(b, SeqCst),
                Op::AmoorW => a.fetch_or(b, SeqCst),
                Op::AmominW => a.fetch_min_signed(b, SeqCst),
                Op::AmomaxW => a.fetch_max_signed(b, SeqCst),
                Op::AmominuW => a.fetch_min(b, SeqCst),
                _ => a.fetch_max(b, SeqCst),
            };
            sext32(u64::from(old))
        } else {
            let Some(a) = self.ram.atomic64(paddr) else {
                return Err(Access::Store.access_fault(vaddr));
            };
            match inst.op {
                Op::AmoswapD => a.swap(src, SeqCst),
                Op::AmoaddD => a.fetch_add(src, SeqCst),
                Op::AmoxorD => a.fetch_xor(src, SeqCst),
                Op::AmoandD => a.fetch_and(src, SeqCst),
                Op::AmoorD => a.fetch_or(src, SeqCst),
                Op::AmominD => a.fetch_min_signed(src, SeqCst),
                Op::AmomaxD => a.fetch_max_signed(src, SeqCst),
                Op::AmominuD => a.fetch_min(src, SeqCst),
                _ => a.fetch_max(src, SeqCst),
            }
        };
        self.ram.note_write(paddr, size);
        Ok(old)
    }

    fn atomic_load(&self, paddr: u64, word: bool) -> u64 {
        if word {
            self.ram
                .atomic32(paddr)
                .map_or(0, |a| u64::from(a.load(SeqCst)))
        } else {
            self.ram.atomic64(paddr).map_or(0, |a| a.load(SeqCst))
        }
    }
}
