//! Unit tests of the system calls, one file per family: each test calls handlers
//! directly on the [`Task`] of a small process ([`Guest`]: 16 MiB of guest memory,
//! no hart, no run loop) and checks the result and errno Linux gives, including
//! which error wins when several arguments are wrong.
//!
//! Guest descriptors are host descriptors, and the test harness runs tests in
//! parallel threads of one host process: a test closes only descriptors it opened,
//! and names a bad descriptor by a number at or above the guest's limit
//! ([`Guest::bad_fd`]), which no other test can open meanwhile.

mod files;
mod io;
mod memory;
mod misc;
mod notify;
mod poll;
mod process;
mod sched;
mod signals;
mod sockets;
mod sysv;
mod time;

use std::sync::Arc;

use crate::process::{Options, Process};
use crate::syscalls::mm;
use crate::task::{gettid, Task};

/// An address nothing is mapped at (the address space starts empty and `mmap`
/// never places anything in the first page).
pub const UNMAPPED: u64 = 0x1000;

/// How large the writable user buffer of a [`Guest`] is.
pub const BUF: u64 = 64 << 10;

/// A process with one thread's kernel state and a writable user buffer.
pub struct Guest {
    /// The process.
    pub proc: Arc<Process>,
    /// The calling thread.
    pub t: Task,
    /// The start of [`BUF`] bytes of writable user memory.
    pub mem: u64,
}

impl Guest {
    /// A new process with an empty address space but for the buffer.
    pub fn new() -> Guest {
        let proc = Process::new(Options {
            memory: 16 << 20,
            slice: 1000,
            ..Options::default()
        })
        .expect("a process");
        let mut t = Task::new(proc.clone(), gettid(), gettid());
        let mem = map(&mut t, BUF, 3);
        Guest { proc, t, mem }
    }

    /// Writes `bytes` at offset `off` of the buffer; returns their address.
    pub fn put(&self, off: u64, bytes: &[u8]) -> u64 {
        let va = self.mem + off;
        self.proc.write_mem(va, bytes).expect("write user memory");
        va
    }

    /// `s` as a NUL-terminated string at offset `off` of the buffer.
    pub fn cstr(&self, off: u64, s: &str) -> u64 {
        let mut b = s.as_bytes().to_vec();
        b.push(0);
        self.put(off, &b)
    }

    /// `n` bytes of user memory at `va`.
    pub fn get(&self, va: u64, n: usize) -> Vec<u8> {
        self.proc.read_mem(va, n).expect("read user memory")
    }

    /// The little-endian u64 at `va`.
    pub fn u64_at(&self, va: u64) -> u64 {
        self.proc.read_u64(va).expect("read user memory")
    }

    /// The little-endian i32 at `va`.
    pub fn i32_at(&self, va: u64) -> i32 {
        self.proc.read_u32(va).expect("read user memory") as i32
    }

    /// A page the guest may read but not write.
    pub fn read_only_page(&mut self) -> u64 {
        map(&mut self.t, 4096, 1)
    }

    /// A descriptor number the guest cannot use (at its limit).
    pub fn bad_fd(&self) -> u64 {
        self.proc.files().limit as u64
    }

    /// How many descriptors the guest's table holds.
    pub fn open_fds(&self) -> usize {
        self.proc.files().iter().count()
    }
}

/// Maps `len` bytes of anonymous memory with `prot`.
fn map(t: &mut Task, len: u64, prot: u64) -> u64 {
    mm::mmap(t, [0, len, prot, 0x22, u64::MAX, 0]).expect("mmap")
}

/// Closes descriptors a test got from a handler.
pub fn close(g: &mut Guest, fds: &[u64]) {
    for &fd in fds {
        assert_eq!(
            crate::syscalls::io::close(&mut g.t, [fd, 0, 0, 0, 0, 0]),
            Ok(0)
        );
    }
}
