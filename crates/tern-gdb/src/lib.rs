//! The gdb remote protocol for tern's VMs (`tern run --gdb`, `tern exec --gdb`):
//! Debian's `gdb-multiarch` connects over TCP and debugs a system VM's harts or a
//! process VM's threads as gdb threads.
//!
//! - [`arch`]: the RISC-V 64 target description (x, f and CSR registers).
//! - [`target`]: gdbstub's target over any [`Debuggee`]: registers, virtual memory
//!   through the thread's own page tables, breakpoints (2- and 4-byte `Z0`, `Z1`),
//!   watchpoints (`Z2`–`Z4`), single-step, resume actions.
//! - [`server`]: the connection loop (all-stop; detach lets the VM run on).
//! - [`virt`]: the `virt` board as a [`Debuggee`]; [`spike`]: the `spike` board;
//!   [`process`]: a process VM.
//!
//! Breakpoints and watchpoints are host-side checks in the hart (see
//! `tern_hart::HostDebug`), never written into guest memory, so they survive a
//! snapshot unseen and a restored VM is debugged the same way.

pub mod arch;
pub mod debuggee;
pub mod process;
pub mod server;
pub mod spike;
pub mod target;
pub mod virt;

pub use debuggee::{Debuggee, Event};
pub use server::{serve, spawn};
