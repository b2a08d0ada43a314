//! One RISC-V hardware thread (RV64GC, privileged architecture 1.12) for tern.
//!
//! A [`Hart`] holds its architectural state as plain data ([`HartState`]), reaches
//! guest RAM directly through a software TLB ([`mem::ram::GuestRam`]) and everything
//! else through a board's [`Bus`], and runs code with an interpreter over decoded
//! blocks. Devices drive interrupts through [`IrqLines`]; guest time comes from a
//! [`VirtualClock`].

pub mod clock;
pub mod csr;
pub mod debug_hub;
pub mod debugger;
mod engine;
mod exec;
pub mod fuzzing;
pub mod hart;
pub mod irq;
pub mod mem;
pub mod mmu;
pub mod observer;
mod persist;
pub mod state;
pub mod trap;

pub use clock::{ClockMode, VirtualClock};
pub use debug_hub::DebugHub;
pub use engine::debug::{DebugStop, HostDebug, WatchKind, Watchpoint};
pub use engine::jit::{
    default_engine, default_jit_hot, jit_totals, set_default_engine, set_default_jit_hot, Engine,
    JitStats,
};
pub use engine::run::RunExit;
pub use hart::{Hart, HartConfig, HartCounters, SharedCounters};
pub use irq::IrqLines;
pub use mem::bus::{Bus, BusFault, EmptyBus};
pub use mem::ram::GuestRam;
pub use mem::{GuestWord32, GuestWord64};
pub use observer::ExecObserver;
pub use state::{HartState, Priv};
