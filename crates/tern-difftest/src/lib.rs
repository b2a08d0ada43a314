//! Differential testing of tern against QEMU with random programs.
//!
//! The generator ([`gen`]) writes batches of independent random programs as GNU
//! assembly ([`asm`]); each program sets every x and f register, frm and a scratch
//! buffer to random (biased) values, runs random valid RV64GC + Zba/Zbb/Zbs
//! instructions, and dumps its final architectural state over the HTIF console
//! (runtime.S). The [`runner`] assembles a batch with the cross compiler
//! ([`toolchain`]), runs the same ELF on `qemu-system-riscv64 -machine spike` and on
//! `tern run --machine spike` ([`emulator`]), compares the dumps ([`dump`]), shrinks
//! diverging programs ([`minimize`]) and saves them ([`report`]).

#![forbid(unsafe_code)]

pub mod asm;
pub mod dump;
pub mod emulator;
pub mod gen;
pub mod minimize;
pub mod report;
pub mod runner;
pub mod toolchain;
pub mod values;

pub use emulator::Emulator;
pub use gen::GenConfig;
pub use runner::{run, Divergence, Minimized, RunConfig, Summary};
pub use toolchain::check_tools;
