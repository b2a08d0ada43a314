//! Instruction and memory callbacks for built-in plugins (what QEMU's TCG plugins
//! give): an [`ExecObserver`] installed on a hart ([`crate::Hart::set_observer`])
//! sees every block of instructions that ran and every load and store.
//!
//! The interpreter has two compiled forms of its run loop: the plain one, and an
//! instrumented one that also writes the instruction trace
//! ([`crate::Hart::set_trace`]) and calls the observer. [`crate::Hart::run`] picks
//! one per block with the test it made for the trace before observers existed, so a
//! hart with neither runs exactly the code it ran before: observers cost nothing
//! when none is installed.

/// Callbacks on what a hart executes. Called on the thread that runs the hart.
pub trait ExecObserver: Send {
    /// `insns` instructions of the block starting at virtual address `pc` retired
    /// (fewer than the block holds when one of them trapped; zero is not reported).
    /// Blocks are straight-line code: they end at a jump, a taken branch, a system
    /// instruction or a page boundary.
    fn on_block(&mut self, pc: u64, insns: u64);

    /// The instruction at `pc` loaded (`store` false) or stored `size` bytes at
    /// virtual address `vaddr`. Reported once the access succeeded; atomic
    /// read-modify-writes are reported as stores, floating-point accesses too.
    fn on_mem(&mut self, _pc: u64, _vaddr: u64, _size: u8, _store: bool) {}

    /// Whether [`ExecObserver::on_mem`] is wanted (asked when installed).
    fn wants_mem(&self) -> bool {
        false
    }

    /// Hands on what was gathered so far (called by the hart's owner, for example
    /// after each run slice, so that little is lost if the process ends abruptly).
    fn flush(&mut self) {}
}

/// Several observers on one hart, called in order.
pub struct Fanout(pub Vec<Box<dyn ExecObserver>>);

impl ExecObserver for Fanout {
    fn on_block(&mut self, pc: u64, insns: u64) {
        for o in &mut self.0 {
            o.on_block(pc, insns);
        }
    }
    fn on_mem(&mut self, pc: u64, vaddr: u64, size: u8, store: bool) {
        for o in &mut self.0 {
            o.on_mem(pc, vaddr, size, store);
        }
    }
    fn wants_mem(&self) -> bool {
        self.0.iter().any(|o| o.wants_mem())
    }
    fn flush(&mut self) {
        for o in &mut self.0 {
            o.flush();
        }
    }
}

/// A fast hasher for guest addresses (the default SipHash costs more than the rest
/// of a block callback): a multiply and a rotate per word. Not for keys a guest can
/// choose to collide on purpose where that matters; plugins bound their tables.
#[derive(Default, Clone, Copy)]
pub struct AddrHasher(u64);

impl std::hash::Hasher for AddrHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

/// A map keyed by guest address, with [`AddrHasher`].
pub type AddrMap<V> = std::collections::HashMap<u64, V, std::hash::BuildHasherDefault<AddrHasher>>;
