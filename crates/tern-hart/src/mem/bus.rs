//! The hart's view of everything that is not plain RAM.
//!
//! The hart knows nothing of devices (DESIGN.md, layering): a board implements [`Bus`]
//! and decides what lives at each physical address. The hart calls it for physical
//! addresses that are outside RAM or on pages a device overlays, after translation and
//! PMP checks.

/// A device-side failure of one access; the hart turns it into an access fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BusFault;

/// Physical address space outside plain RAM, as provided by a board.
pub trait Bus {
    /// Reads `size` bytes (1, 2, 4 or 8) at physical address `addr`, zero-extended.
    fn load(&mut self, addr: u64, size: u8) -> Result<u64, BusFault>;

    /// Writes the low `size` bytes (1, 2, 4 or 8) of `value` at physical address `addr`.
    fn store(&mut self, addr: u64, size: u8, value: u64) -> Result<(), BusFault>;

    /// Asks, after a block that touched the bus, whether the board wants the hart to
    /// stop (for example because the guest asked to power off). Checked at block
    /// boundaries only, so a stop takes effect at an instruction boundary.
    fn stop_requested(&mut self) -> bool {
        false
    }
}

/// A bus with nothing on it: every access faults. Useful for tests and fuzzing.
#[derive(Clone, Copy, Debug, Default)]
pub struct EmptyBus;

impl Bus for EmptyBus {
    fn load(&mut self, _addr: u64, _size: u8) -> Result<u64, BusFault> {
        Err(BusFault)
    }

    fn store(&mut self, _addr: u64, _size: u8, _value: u64) -> Result<(), BusFault> {
        Err(BusFault)
    }
}
