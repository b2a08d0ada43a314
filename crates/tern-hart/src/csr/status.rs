//! `mstatus`/`sstatus` fields (Privileged ISA §3.1.6, §4.1.1).

/// `mstatus.SIE`.
pub const SIE: u64 = 1 << 1;
/// `mstatus.MIE`.
pub const MIE: u64 = 1 << 3;
/// `mstatus.SPIE`.
pub const SPIE: u64 = 1 << 5;
/// `mstatus.UBE`.
pub const UBE: u64 = 1 << 6;
/// `mstatus.MPIE`.
pub const MPIE: u64 = 1 << 7;
/// `mstatus.SPP`.
pub const SPP: u64 = 1 << 8;
/// `mstatus.VS`.
pub const VS: u64 = 3 << 9;
/// `mstatus.MPP`.
pub const MPP: u64 = 3 << 11;
/// Shift of `mstatus.MPP`.
pub const MPP_SHIFT: u32 = 11;
/// `mstatus.FS`.
pub const FS: u64 = 3 << 13;
/// `mstatus.FS` = Dirty.
pub const FS_DIRTY: u64 = 3 << 13;
/// `mstatus.XS`.
pub const XS: u64 = 3 << 15;
/// `mstatus.MPRV`.
pub const MPRV: u64 = 1 << 17;
/// `mstatus.SUM`.
pub const SUM: u64 = 1 << 18;
/// `mstatus.MXR`.
pub const MXR: u64 = 1 << 19;
/// `mstatus.TVM`.
pub const TVM: u64 = 1 << 20;
/// `mstatus.TW`.
pub const TW: u64 = 1 << 21;
/// `mstatus.TSR`.
pub const TSR: u64 = 1 << 22;
/// `mstatus.UXL`.
pub const UXL: u64 = 3 << 32;
/// `mstatus.SXL`.
pub const SXL: u64 = 3 << 34;
/// `mstatus.SD`.
pub const SD: u64 = 1 << 63;

/// Bits of `mstatus` that M-mode software may write.
pub const MSTATUS_WRITABLE: u64 =
    SIE | MIE | SPIE | MPIE | SPP | MPP | FS | MPRV | SUM | MXR | TVM | TW | TSR;
/// Bits of `mstatus` visible through `sstatus`.
pub const SSTATUS_VISIBLE: u64 = SIE | SPIE | UBE | SPP | VS | FS | XS | SUM | MXR | UXL | SD;
/// Bits of `sstatus` that S-mode software may write.
pub const SSTATUS_WRITABLE: u64 = SIE | SPIE | SPP | FS | SUM | MXR;

/// `mstatus` as read: the stored value with SD computed from FS/VS/XS.
pub fn read_value(stored: u64) -> u64 {
    let dirty = stored & FS == FS || stored & XS == XS || stored & VS == VS;
    (stored & !SD) | if dirty { SD } else { 0 }
}

/// Applies a write of `value` under `mask` to the stored `mstatus`, legalizing WARL
/// fields: the reserved MPP value 2 leaves MPP unchanged.
pub fn write_value(stored: u64, value: u64, mask: u64) -> u64 {
    let mut mask = mask;
    if (value & MPP) >> MPP_SHIFT == 2 {
        mask &= !MPP;
    }
    (stored & !mask) | (value & mask)
}
