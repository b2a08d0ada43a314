//! The page-table walk for Sv39, Sv48 and Sv57 (Privileged ISA §4.3–4.5), with hardware
//! updates of the A and D bits as QEMU performs them.

use std::sync::atomic::Ordering;

use crate::csr::pmp::PmpState;
use crate::mem::ram::GuestRam;
use crate::mem::GuestWord64;
use crate::state::Priv;
use crate::trap::{Access, Exception};

const PTE_V: u64 = 1 << 0;
const PTE_R: u64 = 1 << 1;
const PTE_W: u64 = 1 << 2;
const PTE_X: u64 = 1 << 3;
const PTE_U: u64 = 1 << 4;
const PTE_A: u64 = 1 << 6;
const PTE_D: u64 = 1 << 7;
/// Bits 63:54 are reserved without Svpbmt/Svnapot and must be zero.
const PTE_RESERVED: u64 = 0x3ff << 54;
const PPN_MASK: u64 = (1 << 44) - 1;

/// `satp.MODE` values.
pub const SATP_MODE_BARE: u64 = 0;
/// Sv39.
pub const SATP_MODE_SV39: u64 = 8;
/// Sv48.
pub const SATP_MODE_SV48: u64 = 9;
/// Sv57.
pub const SATP_MODE_SV57: u64 = 10;

/// The inputs of one translation.
pub struct WalkRequest<'a> {
    /// Guest RAM, where page tables must live.
    pub ram: &'a GuestRam,
    /// PMP registers (implicit page-table accesses are checked as S-mode reads).
    pub pmp: &'a PmpState,
    /// `satp`.
    pub satp: u64,
    /// Effective privilege of the access.
    pub prv: Priv,
    /// `mstatus.SUM`.
    pub sum: bool,
    /// `mstatus.MXR`.
    pub mxr: bool,
}

/// A successful translation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Translation {
    /// Physical address of the accessed byte.
    pub paddr: u64,
    /// Whether the leaf was a superpage (affects `sfence.vma` by address).
    pub superpage: bool,
    /// Size of the page the leaf maps (4 KiB, 2 MiB, 1 GiB, ...).
    pub page_size: u64,
}

fn levels(mode: u64) -> Option<u32> {
    match mode {
        SATP_MODE_SV39 => Some(3),
        SATP_MODE_SV48 => Some(4),
        SATP_MODE_SV57 => Some(5),
        _ => None,
    }
}

/// Whether `mode` is a translation mode this hart supports.
pub fn mode_supported(mode: u64) -> bool {
    mode == SATP_MODE_BARE || levels(mode).is_some()
}

/// The PTE at `addr` as an atomic (other harts may update it at the same time: the
/// A/D update is a compare-and-swap), or `None` if it is not in RAM or PMP forbids
/// the read.
fn pte_cell<'a>(req: &WalkRequest<'a>, addr: u64) -> Option<GuestWord64<'a>> {
    if !req.pmp.check(addr, 8, Access::Load, Priv::S) {
        return None;
    }
    req.ram.atomic64(addr)
}

/// Translates `vaddr` for `access`. Faults are returned as the exception to raise.
pub fn walk(req: &WalkRequest<'_>, vaddr: u64, access: Access) -> Result<Translation, Exception> {
    let mode = req.satp >> 60;
    let Some(levels) = levels(mode) else {
        return Ok(Translation {
            paddr: vaddr,
            superpage: false,
            page_size: 4096,
        });
    };
    let va_bits = 12 + 9 * levels;
    // Bits above the virtual address width must equal its top bit.
    let top = (vaddr as i64) >> (va_bits - 1);
    if top != 0 && top != -1 {
        return Err(access.page_fault(vaddr));
    }
    let mut table = (req.satp & PPN_MASK) << 12;
    let mut level = levels;
    loop {
        level -= 1;
        let vpn = (vaddr >> (12 + 9 * level)) & 0x1ff;
        let pte_addr = table + vpn * 8;
        let Some(cell) = pte_cell(req, pte_addr) else {
            return Err(access.access_fault(vaddr));
        };
        let mut pte = cell.load(Ordering::Acquire);
        if pte & PTE_V == 0 || (pte & PTE_R == 0 && pte & PTE_W != 0) || pte & PTE_RESERVED != 0 {
            return Err(access.page_fault(vaddr));
        }
        if pte & (PTE_R | PTE_X) == 0 {
            // Pointer to the next level.
            if level == 0 {
                return Err(access.page_fault(vaddr));
            }
            table = ((pte >> 10) & PPN_MASK) << 12;
            continue;
        }
        // A leaf: check permissions.
        let user_page = pte & PTE_U != 0;
        let allowed = match req.prv {
            Priv::U => user_page,
            Priv::S => !user_page || (req.sum && access != Access::Fetch),
            Priv::M => true,
        };
        let perm = match access {
            Access::Fetch => pte & PTE_X != 0,
            Access::Load => pte & PTE_R != 0 || (req.mxr && pte & PTE_X != 0),
            Access::Store => pte & PTE_W != 0,
        };
        if !allowed || !perm {
            return Err(access.page_fault(vaddr));
        }
        let ppn = (pte >> 10) & PPN_MASK;
        let low_ppn_mask = (1u64 << (9 * level)) - 1;
        if ppn & low_ppn_mask != 0 {
            // Misaligned superpage.
            return Err(access.page_fault(vaddr));
        }
        // Hardware A/D update (QEMU does this rather than faulting).
        let mut want = pte | PTE_A;
        if access == Access::Store {
            want |= PTE_D;
        }
        while want != pte {
            match cell.compare_exchange(pte, want, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => {
                    req.ram.note_write(pte_addr, 8);
                    break;
                }
                Err(now) => {
                    // Another hart changed the PTE: if it is still the same mapping,
                    // retry the update; otherwise fault and let the guest retry.
                    if now & !(PTE_A | PTE_D) != pte & !(PTE_A | PTE_D) {
                        return Err(access.page_fault(vaddr));
                    }
                    pte = now;
                    want = pte | PTE_A | if access == Access::Store { PTE_D } else { 0 };
                }
            }
        }
        let page_offset_mask = (1u64 << (12 + 9 * level)) - 1;
        let paddr = (ppn << 12) | (vaddr & page_offset_mask);
        return Ok(Translation {
            paddr,
            superpage: level > 0,
            page_size: page_offset_mask + 1,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: u64 = 0x8000_0000;

    fn setup() -> GuestRam {
        GuestRam::new(BASE, 1 << 22).unwrap()
    }

    fn put(ram: &GuestRam, addr: u64, v: u64) {
        ram.write(addr, &v.to_le_bytes()).unwrap();
    }

    fn get(ram: &GuestRam, addr: u64) -> u64 {
        let mut b = [0u8; 8];
        ram.read(addr, &mut b).unwrap();
        u64::from_le_bytes(b)
    }

    #[test]
    fn sv39_4k_leaf_with_ad_update() {
        let ram = setup();
        let pmp = PmpState::default();
        let root = BASE;
        let l1 = BASE + 0x1000;
        let l0 = BASE + 0x2000;
        let va: u64 = 0x4000_1234;
        put(
            &ram,
            root + ((va >> 30) & 0x1ff) * 8,
            ((l1 >> 12) << 10) | PTE_V,
        );
        put(
            &ram,
            l1 + ((va >> 21) & 0x1ff) * 8,
            ((l0 >> 12) << 10) | PTE_V,
        );
        let leaf = l0 + ((va >> 12) & 0x1ff) * 8;
        put(
            &ram,
            leaf,
            ((0x8030_0000u64 >> 12) << 10) | PTE_V | PTE_R | PTE_W,
        );
        let req = WalkRequest {
            ram: &ram,
            pmp: &pmp,
            satp: (8 << 60) | (root >> 12),
            prv: Priv::S,
            sum: false,
            mxr: false,
        };
        let t = walk(&req, va, Access::Load).unwrap();
        assert_eq!(t.paddr, 0x8030_0234);
        assert_eq!(get(&ram, leaf) & (PTE_A | PTE_D), PTE_A);
        walk(&req, va, Access::Store).unwrap();
        assert_eq!(get(&ram, leaf) & (PTE_A | PTE_D), PTE_A | PTE_D);
        assert_eq!(
            walk(&req, va, Access::Fetch),
            Err(Access::Fetch.page_fault(va))
        );
        let ureq = WalkRequest {
            prv: Priv::U,
            ..req
        };
        assert_eq!(
            walk(&ureq, va, Access::Load),
            Err(Access::Load.page_fault(va))
        );
    }

    #[test]
    fn non_canonical_and_misaligned_superpage_fault() {
        let ram = setup();
        let pmp = PmpState::default();
        let req = WalkRequest {
            ram: &ram,
            pmp: &pmp,
            satp: (8 << 60) | (BASE >> 12),
            prv: Priv::S,
            sum: false,
            mxr: false,
        };
        assert_eq!(
            walk(&req, 1 << 40, Access::Load),
            Err(Access::Load.page_fault(1 << 40))
        );
        // 1 GiB leaf whose PPN is not 1 GiB aligned.
        put(&ram, BASE, ((0x8000_1000u64 >> 12) << 10) | PTE_V | PTE_R);
        assert_eq!(
            walk(&req, 0x10, Access::Load),
            Err(Access::Load.page_fault(0x10))
        );
        // A page table outside RAM is an access fault.
        let req2 = WalkRequest {
            satp: (8 << 60) | 0x10,
            ..req
        };
        assert_eq!(
            walk(&req2, 0x10, Access::Load),
            Err(Access::Load.access_fault(0x10))
        );
    }
}
