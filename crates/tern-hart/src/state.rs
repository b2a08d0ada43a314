//! The architectural state of one hart, as plain data (DESIGN.md invariant 1).
//!
//! Everything the guest can observe about a hart lives in [`HartState`]; the engine's
//! caches (TLB, decoded blocks) are derived from it and rebuilt after a restore.

use serde::{Deserialize, Serialize};

use crate::csr::pmp::PmpState;
use crate::csr::trigger::Triggers;

/// Privilege level (Privileged ISA §1.2). The discriminants are the encodings used
/// in `mstatus.MPP` and `sstatus.SPP`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[repr(u8)]
pub enum Priv {
    /// User mode.
    U = 0,
    /// Supervisor mode.
    S = 1,
    /// Machine mode.
    M = 3,
}

impl Priv {
    /// Decodes a 2-bit privilege field; the reserved value 2 reads as U (WARL).
    pub fn from_bits(bits: u64) -> Priv {
        match bits & 3 {
            3 => Priv::M,
            1 => Priv::S,
            _ => Priv::U,
        }
    }
}

/// The control and status registers that hold state (read-only and derived CSRs are
/// computed on access). Values are stored in their architectural layout.
///
/// This struct's serde form is part of the base of the hart's versioned state
/// (`persist.rs`): a new CSR goes into a new part of that state, not into this
/// struct's serialized fields, or older snapshots stop decoding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[repr(C)]
pub struct Csrs {
    /// `mstatus` (sstatus is a view of it); the SD bit is computed on read.
    pub mstatus: u64,
    /// `medeleg`.
    pub medeleg: u64,
    /// `mideleg`.
    pub mideleg: u64,
    /// `mie` (sie is a view of it).
    pub mie: u64,
    /// Software-writable bits of `mip` (SSIP, STIP when Sstc is off, SEIP); the
    /// device-driven bits come from the hart's interrupt lines.
    pub mip: u64,
    /// `mtvec`.
    pub mtvec: u64,
    /// `mcounteren`.
    pub mcounteren: u64,
    /// `menvcfg`.
    pub menvcfg: u64,
    /// `mcountinhibit`.
    pub mcountinhibit: u64,
    /// `mscratch`.
    pub mscratch: u64,
    /// `mepc`.
    pub mepc: u64,
    /// `mcause`.
    pub mcause: u64,
    /// `mtval`.
    pub mtval: u64,
    /// `stvec`.
    pub stvec: u64,
    /// `scounteren`.
    pub scounteren: u64,
    /// `senvcfg`.
    pub senvcfg: u64,
    /// `sscratch`.
    pub sscratch: u64,
    /// `sepc`.
    pub sepc: u64,
    /// `scause`.
    pub scause: u64,
    /// `stval`.
    pub stval: u64,
    /// `satp`.
    pub satp: u64,
    /// `stimecmp` (Sstc).
    pub stimecmp: u64,
    /// `mcycle`.
    pub cycle: u64,
    /// `minstret`.
    pub instret: u64,
    /// Physical memory protection registers.
    pub pmp: PmpState,
}

impl Default for Csrs {
    fn default() -> Csrs {
        Csrs {
            // UXL = SXL = 2 (64-bit), everything else 0 (Privileged ISA §3.1.6).
            mstatus: (2 << 32) | (2 << 34),
            medeleg: 0,
            mideleg: 0,
            mie: 0,
            mip: 0,
            mtvec: 0,
            mcounteren: 0,
            menvcfg: 0,
            mcountinhibit: 0,
            mscratch: 0,
            mepc: 0,
            mcause: 0,
            mtval: 0,
            stvec: 0,
            scounteren: 0,
            senvcfg: 0,
            sscratch: 0,
            sepc: 0,
            scause: 0,
            stval: 0,
            satp: 0,
            stimecmp: u64::MAX,
            cycle: 0,
            instret: 0,
            pmp: PmpState::default(),
        }
    }
}

/// The complete architectural state of one hart.
///
/// `#[repr(C)]` with the integer registers first so that generated code can address
/// them at fixed offsets (DESIGN.md invariant 6). Saved as a versioned state
/// (tern-state; the encoding is in `persist.rs`), never as a plain serde struct, so
/// that a new field cannot silently change what older snapshots hold.
#[derive(Clone, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct HartState {
    /// Integer registers x0–x31 (x0 always reads 0).
    pub x: [u64; 32],
    /// Floating-point registers f0–f31, raw bits (singles are NaN-boxed).
    pub f: [u64; 32],
    /// Program counter.
    pub pc: u64,
    /// Current privilege level.
    pub prv: Priv,
    /// Accrued floating-point exception flags (`fflags`, 5 bits).
    pub fflags: u8,
    /// Dynamic rounding mode (`frm`, 3 bits).
    pub frm: u8,
    /// The hart is stalled in `wfi` until an interrupt becomes pending.
    pub waiting: bool,
    /// This hart's id (`mhartid`).
    pub hartid: u64,
    /// Virtual address of the LR reservation, if one is held.
    pub reservation: Option<u64>,
    /// The value LR read (SC succeeds only if memory still holds it).
    pub reservation_value: u64,
    /// Control and status registers.
    pub csr: Csrs,
    /// Debug triggers (Sdtrig): `tselect`, `tdata1`, `tdata2`.
    pub triggers: Triggers,
}

impl HartState {
    /// The reset state: M-mode at `pc`, registers zero.
    pub fn new(hartid: u64, pc: u64) -> HartState {
        HartState {
            x: [0; 32],
            f: [0; 32],
            pc,
            prv: Priv::M,
            fflags: 0,
            frm: 0,
            waiting: false,
            hartid,
            reservation: None,
            reservation_value: 0,
            csr: Csrs::default(),
            triggers: Triggers::default(),
        }
    }
}
