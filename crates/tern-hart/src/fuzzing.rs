//! Robustness harness: runs arbitrary bytes as a machine (code, page tables, CSRs)
//! for a bounded number of instructions. Used by the `cargo fuzz` target and by
//! property tests; any panic is a bug (DESIGN.md invariant 3).

use std::sync::Arc;

use crate::clock::{ClockMode, VirtualClock};
use crate::hart::Hart;
use crate::irq::IrqLines;
use crate::mem::bus::{Bus, BusFault};
use crate::mem::ram::GuestRam;
use crate::state::Priv;

/// Where the random machine's RAM starts.
pub const RAM_BASE: u64 = 0x8000_0000;
/// Size of the random machine's RAM.
pub const RAM_SIZE: u64 = 64 * 1024;
/// A device window: loads return a pattern, stores are accepted.
const MMIO_BASE: u64 = 0x1000_0000;

/// A bus with one well-behaved device and holes everywhere else.
struct FuzzBus {
    scratch: u64,
}

impl Bus for FuzzBus {
    fn load(&mut self, addr: u64, size: u8) -> Result<u64, BusFault> {
        if (MMIO_BASE..MMIO_BASE + 0x1000).contains(&addr) {
            let mask = if size >= 8 {
                u64::MAX
            } else {
                (1u64 << (8 * u32::from(size))) - 1
            };
            Ok((self.scratch ^ addr) & mask)
        } else {
            Err(BusFault)
        }
    }

    fn store(&mut self, addr: u64, _size: u8, value: u64) -> Result<(), BusFault> {
        if (MMIO_BASE..MMIO_BASE + 0x1000).contains(&addr) {
            self.scratch = self.scratch.rotate_left(7) ^ value;
            Ok(())
        } else {
            Err(BusFault)
        }
    }

    fn stop_requested(&mut self) -> bool {
        self.scratch == 0x5707
    }
}

fn word(data: &[u8], i: usize) -> u64 {
    let mut b = [0u8; 8];
    for (k, byte) in b.iter_mut().enumerate() {
        *byte = data.get(i * 8 + k).copied().unwrap_or(0);
    }
    u64::from_le_bytes(b)
}

/// Builds a hart from `data` and runs it for about `budget` instructions.
///
/// The first 128 bytes choose the privilege level, `mstatus`, `satp`, trap vectors,
/// delegation, interrupt enables, `menvcfg` and PMP; the whole input is also copied
/// over RAM repeatedly, so that code, data and page tables are all fuzzer-controlled.
/// Returns the hart for inspection.
pub fn run_random_machine(data: &[u8], budget: u64) -> Hart {
    run_random_machine_on(data, budget, crate::Engine::Interp, 0)
}

/// [`run_random_machine`] with the given engine and hot threshold (the lockstep
/// check of the translator runs each input on both engines and compares the harts).
pub fn run_random_machine_on(
    data: &[u8],
    budget: u64,
    engine: crate::Engine,
    jit_hot: u32,
) -> Hart {
    let ram = match GuestRam::new(RAM_BASE, RAM_SIZE) {
        Ok(r) => Arc::new(r),
        Err(_) => std::process::abort(),
    };
    if !data.is_empty() {
        let mut off = 0;
        while off < RAM_SIZE {
            let n = (data.len() as u64).min(RAM_SIZE - off);
            let _ = ram.write(RAM_BASE + off, &data[..n as usize]);
            off += n;
        }
    }
    let lines = Arc::new(IrqLines::new());
    lines.set_level(word(data, 15) & 0xaaa, true);
    let clock = Arc::new(VirtualClock::new(ClockMode::Instructions(
        1 + (word(data, 14) & 0xff),
    )));
    let entry = RAM_BASE + (word(data, 0) & (RAM_SIZE - 2));
    let mut hart = Hart::new(0, entry, ram, lines, clock);
    let st = hart.state_mut();
    st.prv = Priv::from_bits(word(data, 1));
    st.csr.mstatus = (st.csr.mstatus & !0x7f_fffe) | (word(data, 2) & 0x7f_f9aa);
    let mode = [0u64, 8, 9, 10][(word(data, 3) & 3) as usize];
    st.csr.satp = (mode << 60) | ((RAM_BASE >> 12) + (word(data, 4) & 0xf));
    st.csr.mtvec = RAM_BASE + (word(data, 5) & (RAM_SIZE - 1));
    st.csr.stvec = RAM_BASE + (word(data, 6) & (RAM_SIZE - 1));
    st.csr.medeleg = word(data, 7) & 0xb3ff;
    st.csr.mideleg = word(data, 8) & 0x222;
    st.csr.mie = word(data, 9) & 0xaaa;
    st.csr.menvcfg = word(data, 10) & ((1 << 63) | 0xf1);
    st.csr
        .pmp
        .cfg
        .copy_from_slice(&word(data, 11).to_le_bytes().repeat(2));
    for (i, a) in st.csr.pmp.addr.iter_mut().enumerate() {
        *a = word(data, 12).rotate_left(i as u32 * 4);
    }
    st.csr.pmp.sanitize();
    st.csr.stimecmp = word(data, 13) & 0xffff;
    for (i, x) in st.x.iter_mut().enumerate().skip(1) {
        *x = word(data, 16 + i);
    }
    hart.state_changed();
    hart.set_config(crate::HartConfig {
        sstc: true,
        user_traps_exit: word(data, 13) & (1 << 20) != 0,
        sbi_ecalls_exit: word(data, 13) & (1 << 21) != 0,
        sole_hart: word(data, 13) & (1 << 22) != 0,
        engine,
        jit_hot,
    });
    let mut bus = FuzzBus {
        scratch: word(data, 48),
    };
    let mut left = budget;
    while left > 0 {
        let (exit, n) = hart.run(&mut bus, left.min(5_000));
        left = left.saturating_sub(n.max(1));
        if exit == crate::RunExit::Stop {
            break;
        }
        if let crate::RunExit::Trap(_) = exit {
            // What a process VM's kernel does after a syscall: skip the instruction.
            let pc = hart.state().pc;
            hart.state_mut().pc = pc.wrapping_add(2);
        }
        if exit == crate::RunExit::Wait && !hart.interrupt_pending() {
            break;
        }
    }
    hart
}

/// Runs the machine of `data` once on the interpreter and once with the translator
/// (every block translated on first sight) and compares the complete architectural
/// state and RAM afterwards. `Err` says what differs; on hosts without the
/// translator both runs interpret and always agree.
pub fn lockstep(data: &[u8], budget: u64) -> Result<(), String> {
    let interp = run_random_machine_on(data, budget, crate::Engine::Interp, 0);
    let jit = run_random_machine_on(data, budget, crate::Engine::Jit, 0);
    if interp.state() != jit.state() {
        return Err(format!(
            "state differs:\ninterp {:?}\njit    {:?}",
            interp.state(),
            jit.state()
        ));
    }
    let mut a = vec![0u8; RAM_SIZE as usize];
    let mut b = vec![0u8; RAM_SIZE as usize];
    if interp.ram().read(RAM_BASE, &mut a).is_err() || jit.ram().read(RAM_BASE, &mut b).is_err() {
        return Err("RAM unreadable".into());
    }
    match a.iter().zip(&b).position(|(x, y)| x != y) {
        Some(i) => Err(format!("RAM differs at {:#x}", RAM_BASE + i as u64)),
        None => Ok(()),
    }
}
