//! Device models for tern's boards.
//!
//! Devices know nothing of the board layout (DESIGN.md): each takes accesses at
//! offsets inside its own register window, and a board maps windows to addresses.
//! Interrupts reach harts through their [`tern_hart::IrqLines`].

pub mod clint;
pub mod htif;

pub use clint::Clint;
pub use htif::Htif;
