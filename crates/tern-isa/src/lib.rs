//! RISC-V instruction decoding and disassembly for tern.
//!
//! [`decode()`] turns instruction bits into an [`Inst`] (RV64GC with Zicsr, Zifencei,
//! Zba, Zbb, Zbs, Zicond, Zihintpause, Zicboz and the privileged instructions); the
//! [`std::fmt::Display`] implementation of [`Inst`] prints it the way GNU objdump does
//! with `-M no-aliases`, for traces (see [`disasm`] for the exact conventions).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod classify;
mod decode;
pub mod disasm;
mod inst;
mod op;

pub use decode::decode;
pub use disasm::{CsrName, Disasm, FREG_NAMES, XREG_NAMES};
pub use inst::{inst_len, Inst};
pub use op::Op;
