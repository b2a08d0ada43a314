//! The process VM of tern (`tern exec`): runs one riscv64 Linux program by emulating
//! its instructions on tern harts and the Linux system-call interface on the host,
//! like `qemu-riscv64`, with all of the process's state kept as plain data
//! (DESIGN.md invariant 1).
//!
//! - [`mm`]: the address space as real Sv48 page tables in guest physical memory.
//! - [`loader`], [`stack`]: ELF images, the dynamic loader, the initial stack.
//! - [`thread`]: a guest thread, its run loop, signal delivery.
//! - [`syscalls`]: the system calls, one module per area.
//! - [`fs`]: descriptors and the file-system view (`--root`, `--bind`, `--sysroot`).
//! - [`ipc`]: the VM's SysV IPC arena (semaphores, message queues, shared memory).
//! - [`signal`], [`futex`], [`strace`]; [`tree`]: the VM's process tree (whom the
//!   program may signal).
//! - [`interpose`]: hooks on system calls and the instruction stream; [`policy`]:
//!   the `--policy` file built on them.
//! - [`state`]: the process and its threads as plain data (for snapshots);
//!   [`persist`]: giving and taking those states; [`restore`]: a process VM rebuilt
//!   from them; [`agent`]: a program that asks to move itself (`--agent`).

pub mod agent;
pub mod errno;
pub mod exit;
pub mod fs;
pub mod futex;
pub mod hostfd;
pub mod interpose;
pub mod ipc;
pub mod kernel;
pub mod limits;
pub mod loader;
pub mod mm;
pub mod pause;
pub mod persist;
pub mod policy;
pub mod process;
pub mod restore;
pub mod sigframe;
pub mod signal;
pub mod sigwatch;
pub mod stack;
pub mod start;
pub mod state;
pub mod strace;
pub mod syscalls;
pub mod task;
pub mod thread;
pub mod tree;

pub use process::{Options, Process, EXIT_LIMIT};
pub use start::{exec, Program};
