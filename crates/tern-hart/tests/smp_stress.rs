//! Four harts on four host threads race on shared guest memory: AMO counters, an
//! LR/SC retry loop, two locks that guard plain loads and stores, and the
//! store-buffering litmus test with fences. Every outcome checked is one RVWMO
//! forbids or requires: counters exact (no update lost), and never both loads of a
//! fenced store-buffering round reading the old value.
//!
//! Each location is accessed with one access size only, so that the run is also
//! clean under Miri's data-race detector (`cargo +nightly miri test -p tern-hart
//! --test smp_stress`, with fewer iterations).

use std::sync::Arc;

use tern_hart::{ClockMode, EmptyBus, GuestRam, Hart, IrqLines, RunExit, VirtualClock};

const RAM_BASE: u64 = 0x8000_0000;
const RAM_SIZE: u64 = 4 << 20;
/// Shared counters and locks (each on its own 64-byte line).
const DATA: u64 = RAM_BASE + 0x1_0000;
const AMO_COUNTER: i32 = 0x000;
const LRSC_COUNTER: i32 = 0x040;
const SWAP_LOCK: i32 = 0x080;
const SWAP_LOCKED_COUNTER: i32 = 0x0c0;
const LRSC_LOCK: i32 = 0x100;
const LRSC_LOCKED_COUNTER: i32 = 0x140;
/// Store-buffering arrays of harts 0 and 1: `x`, `y`, one result array per hart (a
/// word per round), then the round counter. With this spacing, a `fence` that is no
/// host fence shows the forbidden outcome in about a tenth of the rounds on an
/// x86-64 host.
const SB_BASE: u64 = RAM_BASE + 0x2_0000;
const SB_ARRAY: u64 = 0x2_0000;

#[cfg(not(miri))]
const ITERATIONS: i32 = 20_000;
#[cfg(miri)]
const ITERATIONS: i32 = 12;
#[cfg(not(miri))]
const ROUNDS: i32 = 30_000;
#[cfg(miri)]
const ROUNDS: i32 = 12;

/// Integer registers by ABI name.
const ZERO: u32 = 0;
const T0: u32 = 5;
const T1: u32 = 6;
const T2: u32 = 7;
const S0: u32 = 8;
const S1: u32 = 9;
const A0: u32 = 10;
const A1: u32 = 11;
const A2: u32 = 12;
const A3: u32 = 13;
const S2: u32 = 18;
const S3: u32 = 19;
const S4: u32 = 20;
const S5: u32 = 21;
const S6: u32 = 22;
const T3: u32 = 28;

/// Fence sets (predecessor or successor): R and W.
const R: u32 = 0b0010;
const W: u32 = 0b0001;

/// A tiny RV64 assembler: enough for the programs below (backward branches only).
#[derive(Default)]
struct Asm {
    code: Vec<u32>,
}

impl Asm {
    fn here(&self) -> usize {
        self.code.len()
    }

    fn i_type(&mut self, op: u32, f3: u32, rd: u32, rs1: u32, imm: i32) {
        assert!((-2048..2048).contains(&imm));
        let imm = (imm as u32) & 0xfff;
        self.code
            .push(imm << 20 | rs1 << 15 | f3 << 12 | rd << 7 | op);
    }

    fn addi(&mut self, rd: u32, rs1: u32, imm: i32) {
        self.i_type(0x13, 0, rd, rs1, imm);
    }

    /// `rd = value` for a 32-bit value (lui + addi, or addi alone).
    fn li(&mut self, rd: u32, value: i64) {
        let v = value as i32;
        assert_eq!(i64::from(v), value);
        let lo = (v << 20) >> 20;
        let hi = v.wrapping_sub(lo) as u32;
        if hi == 0 {
            self.addi(rd, ZERO, lo);
        } else {
            self.code.push(hi | rd << 7 | 0x37);
            self.addi(rd, rd, lo);
        }
    }

    /// Loads a guest physical address above 2 GiB (lui sign-extends: clear the top).
    fn la(&mut self, rd: u32, addr: u64) {
        assert!(addr < 1 << 32);
        self.li(rd, addr as u32 as i32 as i64);
        // slli rd, rd, 32; srli rd, rd, 32
        self.code
            .push(32 << 20 | rd << 15 | 1 << 12 | rd << 7 | 0x13);
        self.code
            .push(32 << 20 | rd << 15 | 5 << 12 | rd << 7 | 0x13);
    }

    fn lw(&mut self, rd: u32, rs1: u32, imm: i32) {
        self.i_type(0x03, 2, rd, rs1, imm);
    }

    fn ld(&mut self, rd: u32, rs1: u32, imm: i32) {
        self.i_type(0x03, 3, rd, rs1, imm);
    }

    fn store(&mut self, f3: u32, rs2: u32, rs1: u32, imm: i32) {
        assert!((-2048..2048).contains(&imm));
        let imm = imm as u32;
        self.code.push(
            ((imm >> 5) & 0x7f) << 25 | rs2 << 20 | rs1 << 15 | f3 << 12 | (imm & 0x1f) << 7 | 0x23,
        );
    }

    fn sw(&mut self, rs2: u32, rs1: u32, imm: i32) {
        self.store(2, rs2, rs1, imm);
    }

    fn sd(&mut self, rs2: u32, rs1: u32, imm: i32) {
        self.store(3, rs2, rs1, imm);
    }

    /// An A-extension word operation: `funct5` (0 add, 1 swap, 2 lr, 3 sc).
    fn amo_w(&mut self, funct5: u32, aq: bool, rl: bool, rd: u32, rs1: u32, rs2: u32) {
        self.code.push(
            funct5 << 27
                | u32::from(aq) << 26
                | u32::from(rl) << 25
                | rs2 << 20
                | rs1 << 15
                | 2 << 12
                | rd << 7
                | 0x2f,
        );
    }

    /// `bne rs1, rs2, target` for an earlier instruction index.
    fn bne(&mut self, rs1: u32, rs2: u32, target: usize) {
        self.branch(1, rs1, rs2, target);
    }

    /// `bltu rs1, rs2, target` for an earlier instruction index.
    fn bltu(&mut self, rs1: u32, rs2: u32, target: usize) {
        self.branch(6, rs1, rs2, target);
    }

    fn branch(&mut self, f3: u32, rs1: u32, rs2: u32, target: usize) {
        let off = (target as i64 - self.here() as i64) * 4;
        assert!((-4096..0).contains(&off));
        let o = off as u32;
        self.code.push(
            ((o >> 12) & 1) << 31
                | ((o >> 5) & 0x3f) << 25
                | rs2 << 20
                | rs1 << 15
                | f3 << 12
                | ((o >> 1) & 0xf) << 8
                | ((o >> 11) & 1) << 7
                | 0x63,
        );
    }

    fn fence(&mut self, pred: u32, succ: u32) {
        self.code.push(pred << 24 | succ << 20 | 0x0f);
    }

    fn wfi(&mut self) {
        let at = self.here();
        self.code.push(0x1050_0073);
        // A wfi may wake spuriously: loop on it.
        self.bne(ZERO, T0, at);
    }

    fn bytes(&self) -> Vec<u8> {
        self.code.iter().flat_map(|w| w.to_le_bytes()).collect()
    }
}

/// The program of hart `hart`.
fn program(hart: u64) -> Vec<u8> {
    let mut a = Asm::default();
    a.la(S0, DATA);
    a.li(S1, i64::from(ITERATIONS));
    a.addi(A0, S0, LRSC_COUNTER);
    a.addi(A1, S0, SWAP_LOCK);
    a.addi(A2, S0, LRSC_LOCK);
    a.addi(A3, S0, AMO_COUNTER);
    a.li(T0, 1);
    let top = a.here();
    // 1. amoadd.w zero, t0, (a3)
    a.amo_w(0, false, false, ZERO, A3, T0);
    // 2. An LR/SC increment, retried until the SC succeeds.
    let retry = a.here();
    a.amo_w(2, false, false, T1, A0, ZERO);
    a.addi(T1, T1, 1);
    a.amo_w(3, false, false, T2, A0, T1);
    a.bne(T2, ZERO, retry);
    // 3. A test-and-set lock (amoswap.w.aq), plain lw/sw inside, released by
    //    amoswap.w.rl.
    let spin = a.here();
    a.amo_w(1, true, false, T1, A1, T0);
    a.bne(T1, ZERO, spin);
    a.lw(T3, S0, SWAP_LOCKED_COUNTER);
    a.addi(T3, T3, 1);
    a.sw(T3, S0, SWAP_LOCKED_COUNTER);
    a.amo_w(1, false, true, ZERO, A1, ZERO);
    // 4. An LR/SC lock (lr.w.aq / sc.w), plain ld/sd inside, released by
    //    fence rw,w and a plain sw.
    let spin2 = a.here();
    a.amo_w(2, true, false, T1, A2, ZERO);
    a.bne(T1, ZERO, spin2);
    a.amo_w(3, false, false, T2, A2, T0);
    a.bne(T2, ZERO, spin2);
    a.ld(T3, S0, LRSC_LOCKED_COUNTER);
    a.addi(T3, T3, 1);
    a.sd(T3, S0, LRSC_LOCKED_COUNTER);
    a.fence(R | W, W);
    a.sw(ZERO, A2, 0);
    a.addi(S1, S1, -1);
    a.bne(S1, ZERO, top);
    // 5. Store buffering, harts 0 and 1 only, each round started together (both add
    //    to a round counter and wait until it reaches 2 × rounds so far):
    //    x[i] = 1; fence rw,rw; r[i] = y[i] (the other hart swaps x and y).
    if hart < 2 {
        let (mine, theirs) = (hart, 1 - hart);
        a.la(S2, SB_BASE + mine * SB_ARRAY);
        a.la(S3, SB_BASE + theirs * SB_ARRAY);
        a.la(S4, SB_BASE + (2 + mine) * SB_ARRAY);
        a.la(S5, SB_BASE + 4 * SB_ARRAY);
        a.li(S6, 2);
        a.li(S1, i64::from(ROUNDS));
        let round = a.here();
        a.amo_w(0, false, false, ZERO, S5, T0);
        let wait = a.here();
        a.lw(T1, S5, 0);
        a.bltu(T1, S6, wait);
        a.addi(S6, S6, 2);
        a.sw(T0, S2, 0);
        a.fence(R | W, R | W);
        a.lw(T1, S3, 0);
        a.sw(T1, S4, 0);
        a.addi(S2, S2, 4);
        a.addi(S3, S3, 4);
        a.addi(S4, S4, 4);
        a.addi(S1, S1, -1);
        a.bne(S1, ZERO, round);
    }
    a.wfi();
    a.bytes()
}

fn word(ram: &GuestRam, addr: u64) -> u32 {
    let mut b = [0u8; 4];
    ram.read(addr, &mut b).unwrap();
    u32::from_le_bytes(b)
}

fn dword(ram: &GuestRam, addr: u64) -> u64 {
    let mut b = [0u8; 8];
    ram.read(addr, &mut b).unwrap();
    u64::from_le_bytes(b)
}

#[test]
fn four_harts_racing_on_shared_lines_lose_no_update() {
    let ram = Arc::new(GuestRam::new(RAM_BASE, RAM_SIZE).unwrap());
    let harts: Vec<Hart> = (0..4u64)
        .map(|h| {
            let pc = RAM_BASE + h * 0x1000;
            ram.write(pc, &program(h)).unwrap();
            let lines = Arc::new(IrqLines::new());
            let clock = Arc::new(VirtualClock::new(ClockMode::Instructions(1)));
            Hart::new(h, pc, ram.clone(), lines, clock)
        })
        .collect();
    let start = std::sync::Barrier::new(4);
    std::thread::scope(|s| {
        for mut hart in harts {
            let start = &start;
            s.spawn(move || {
                start.wait();
                // Bounded in time: a lost lock would make a hart spin, not hang the
                // test.
                let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
                while std::time::Instant::now() < deadline {
                    let (exit, _) = hart.run(&mut EmptyBus, 2_000);
                    if exit == RunExit::Wait {
                        return;
                    }
                    assert!(!matches!(exit, RunExit::Trap(_)), "{exit:?}");
                }
                panic!("a hart did not finish (pc {:#x})", hart.state().pc);
            });
        }
    });
    let want = 4 * ITERATIONS as u32;
    assert_eq!(word(&ram, DATA + AMO_COUNTER as u64), want, "amoadd.w");
    assert_eq!(word(&ram, DATA + LRSC_COUNTER as u64), want, "lr/sc");
    assert_eq!(
        word(&ram, DATA + SWAP_LOCKED_COUNTER as u64),
        want,
        "under the amoswap lock"
    );
    assert_eq!(
        dword(&ram, DATA + LRSC_LOCKED_COUNTER as u64),
        u64::from(want),
        "under the lr/sc lock"
    );
    // Outcomes by (hart 0 read, hart 1 read): both reading the new value shows the
    // two harts ran the round at the same time, which is what gives the test power.
    let mut outcomes = [[0u32; 2]; 2];
    for i in 0..ROUNDS as u64 {
        let r0 = word(&ram, SB_BASE + 2 * SB_ARRAY + 4 * i);
        let r1 = word(&ram, SB_BASE + 3 * SB_ARRAY + 4 * i);
        assert!(r0 <= 1 && r1 <= 1, "round {i}: {r0} {r1}");
        outcomes[r0 as usize][r1 as usize] += 1;
    }
    eprintln!("store buffering, rounds by (r0, r1): {outcomes:?}");
    let both_old = outcomes[0][0];
    assert_eq!(
        both_old, 0,
        "store-buffering rounds where both fenced loads read the old value"
    );
}
