//! Exceptions and interrupts (Privileged ISA §3.1.15 `mcause`, §3.1.9 `mip`/`mie`).

/// Exception cause codes (the value written to `xcause` for synchronous traps).
pub mod cause {
    /// Instruction address misaligned.
    pub const INST_MISALIGNED: u8 = 0;
    /// Instruction access fault.
    pub const INST_ACCESS: u8 = 1;
    /// Illegal instruction.
    pub const ILLEGAL: u8 = 2;
    /// Breakpoint.
    pub const BREAKPOINT: u8 = 3;
    /// Load address misaligned.
    pub const LOAD_MISALIGNED: u8 = 4;
    /// Load access fault.
    pub const LOAD_ACCESS: u8 = 5;
    /// Store/AMO address misaligned.
    pub const STORE_MISALIGNED: u8 = 6;
    /// Store/AMO access fault.
    pub const STORE_ACCESS: u8 = 7;
    /// Environment call from U-mode.
    pub const ECALL_U: u8 = 8;
    /// Environment call from S-mode.
    pub const ECALL_S: u8 = 9;
    /// Environment call from M-mode.
    pub const ECALL_M: u8 = 11;
    /// Instruction page fault.
    pub const INST_PAGE: u8 = 12;
    /// Load page fault.
    pub const LOAD_PAGE: u8 = 13;
    /// Store/AMO page fault.
    pub const STORE_PAGE: u8 = 15;
}

/// Interrupt numbers (bit positions in `mip`/`mie`).
pub mod irq {
    /// Supervisor software interrupt.
    pub const SSI: u32 = 1;
    /// Machine software interrupt.
    pub const MSI: u32 = 3;
    /// Supervisor timer interrupt.
    pub const STI: u32 = 5;
    /// Machine timer interrupt.
    pub const MTI: u32 = 7;
    /// Supervisor external interrupt.
    pub const SEI: u32 = 9;
    /// Machine external interrupt.
    pub const MEI: u32 = 11;

    /// `mip` bit of `SSIP`.
    pub const SSIP: u64 = 1 << SSI;
    /// `mip` bit of `MSIP`.
    pub const MSIP: u64 = 1 << MSI;
    /// `mip` bit of `STIP`.
    pub const STIP: u64 = 1 << STI;
    /// `mip` bit of `MTIP`.
    pub const MTIP: u64 = 1 << MTI;
    /// `mip` bit of `SEIP`.
    pub const SEIP: u64 = 1 << SEI;
    /// `mip` bit of `MEIP`.
    pub const MEIP: u64 = 1 << MEI;

    /// Supervisor-level interrupt bits.
    pub const S_MASK: u64 = SSIP | STIP | SEIP;
    /// All interrupt bits this hart implements.
    pub const ALL: u64 = SSIP | MSIP | STIP | MTIP | SEIP | MEIP;

    /// Priority order for taking interrupts (Privileged ISA §3.1.9: MEI, MSI, MTI, SEI,
    /// SSI, STI).
    pub const PRIORITY: [u32; 6] = [MEI, MSI, MTI, SEI, SSI, STI];
}

/// A synchronous exception: its cause code and the value for `xtval`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exception {
    /// Cause code (see [`cause`]).
    pub cause: u8,
    /// Trap value: faulting address, instruction bits, or 0.
    pub tval: u64,
}

impl Exception {
    /// An exception with cause `cause` and trap value `tval`.
    #[inline]
    pub const fn new(cause: u8, tval: u64) -> Exception {
        Exception { cause, tval }
    }

    /// Illegal instruction with the instruction bits as trap value (as QEMU reports).
    #[inline]
    pub const fn illegal(bits: u32) -> Exception {
        Exception {
            cause: cause::ILLEGAL,
            tval: bits as u64,
        }
    }
}

/// Kinds of memory access, which select permission checks and fault causes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Access {
    /// Instruction fetch.
    Fetch,
    /// Data read.
    Load,
    /// Data write or AMO.
    Store,
}

impl Access {
    /// The access-fault exception for this kind of access at `addr`.
    #[inline]
    pub const fn access_fault(self, addr: u64) -> Exception {
        let cause = match self {
            Access::Fetch => cause::INST_ACCESS,
            Access::Load => cause::LOAD_ACCESS,
            Access::Store => cause::STORE_ACCESS,
        };
        Exception::new(cause, addr)
    }

    /// The page-fault exception for this kind of access at `addr`.
    #[inline]
    pub const fn page_fault(self, addr: u64) -> Exception {
        let cause = match self {
            Access::Fetch => cause::INST_PAGE,
            Access::Load => cause::LOAD_PAGE,
            Access::Store => cause::STORE_PAGE,
        };
        Exception::new(cause, addr)
    }

    /// The misaligned-address exception for this kind of access at `addr`.
    #[inline]
    pub const fn misaligned(self, addr: u64) -> Exception {
        let cause = match self {
            Access::Fetch => cause::INST_MISALIGNED,
            Access::Load => cause::LOAD_MISALIGNED,
            Access::Store => cause::STORE_MISALIGNED,
        };
        Exception::new(cause, addr)
    }
}
