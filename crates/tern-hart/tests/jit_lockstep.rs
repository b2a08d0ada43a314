//! Lockstep check of the translator: the same random machine runs once on the
//! interpreter and once with the JIT (translating every block on first sight, and with
//! a small hot threshold), and the complete architectural state and RAM must match.
//! The programs are streams of random integer instructions of the kinds the
//! translator covers (ALU, M, Zba/Zbb/Zbs, branches, jumps, loads and stores) mixed
//! with a few others (system, FP, AMO) so translations end early, trap and resume.

use tern_hart::fuzzing::{run_random_machine_on, RAM_BASE, RAM_SIZE};
use tern_hart::{Engine, Hart};

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn r_type(f7: u32, rs2: u32, rs1: u32, f3: u32, rd: u32, opc: u32) -> u32 {
    (f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | opc
}

fn i_type(imm: u32, rs1: u32, f3: u32, rd: u32, opc: u32) -> u32 {
    ((imm & 0xfff) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | opc
}

/// One random instruction, biased towards what the translator covers. Memory
/// accesses use x8..x11, which the header points into RAM.
fn instruction(r: &mut Rng) -> u32 {
    let rd = r.below(32) as u32;
    let rs1 = r.below(32) as u32;
    let rs2 = r.below(32) as u32;
    let base = 8 + r.below(4) as u32;
    match r.below(20) {
        // OP: base, M and bit-manipulation function codes.
        0..=4 => {
            let (f7, f3) = [
                (0, 0),
                (0x20, 0),
                (0, 1),
                (0, 2),
                (0, 3),
                (0, 4),
                (0, 5),
                (0x20, 5),
                (0, 6),
                (0, 7),
                (1, 0),
                (1, 1),
                (1, 2),
                (1, 3),
                (1, 4),
                (1, 5),
                (1, 6),
                (1, 7),
                (0x10, 2),
                (0x10, 4),
                (0x10, 6),
                (0x20, 4),
                (0x20, 6),
                (0x20, 7),
                (5, 4),
                (5, 5),
                (5, 6),
                (5, 7),
                (0x30, 1),
                (0x30, 5),
                (0x24, 1),
                (0x24, 5),
                (0x34, 1),
                (0x14, 1),
                (7, 5),
                (7, 7),
            ][r.below(36) as usize];
            r_type(f7, rs2, rs1, f3, rd, 0x33)
        }
        // OP-32.
        5..=6 => {
            let (f7, f3) = [
                (0, 0),
                (0x20, 0),
                (0, 1),
                (0, 5),
                (0x20, 5),
                (1, 0),
                (1, 4),
                (1, 5),
                (1, 6),
                (1, 7),
                (4, 0),
                (0x10, 2),
                (0x30, 1),
                (0x30, 5),
            ][r.below(14) as usize];
            r_type(f7, rs2, rs1, f3, rd, 0x3b)
        }
        // OP-IMM and OP-IMM-32 (shifts with random amounts and top bits).
        7..=10 => {
            let f3 = r.below(8) as u32;
            let imm = match f3 {
                1 | 5 => {
                    let top = [0u32, 0x400, 0x600, 0x480, 0x280, 0x680, 0x600 | 0x05]
                        [r.below(7) as usize];
                    top | r.below(64) as u32
                }
                _ => r.next() as u32,
            };
            let opc = if r.below(4) == 0 { 0x1b } else { 0x13 };
            i_type(imm, rs1, f3, rd, opc)
        }
        11 => ((r.next() as u32) & 0xffff_f000) | (rd << 7) | [0x37, 0x17][r.below(2) as usize],
        // Loads and stores near the RAM pointers, sometimes misaligned.
        12..=13 => i_type(
            r.below(64) as u32,
            base,
            [0, 1, 2, 3, 4, 5, 6][r.below(7) as usize],
            rd,
            0x03,
        ),
        14..=15 => {
            let imm = r.below(64) as u32;
            ((imm >> 5) << 25)
                | (rs2 << 20)
                | (base << 15)
                | ((r.below(4) as u32) << 12)
                | ((imm & 31) << 7)
                | 0x23
        }
        // Short forward and backward branches.
        16..=17 => {
            let off = ((r.below(16) as i32 - 6) * 4) as u32;
            let f3 = [0, 1, 4, 5, 6, 7][r.below(6) as usize];
            (((off >> 12) & 1) << 31)
                | (((off >> 5) & 0x3f) << 25)
                | (rs2 << 20)
                | (rs1 << 15)
                | (f3 << 12)
                | (((off >> 1) & 0xf) << 8)
                | (((off >> 11) & 1) << 7)
                | 0x63
        }
        18 => {
            if r.below(2) == 0 {
                let off = ((r.below(16) as i32 - 4) * 4) as u32;
                (((off >> 20) & 1) << 31)
                    | (((off >> 1) & 0x3ff) << 21)
                    | (((off >> 11) & 1) << 20)
                    | (((off >> 12) & 0xff) << 12)
                    | (rd << 7)
                    | 0x6f
            } else {
                i_type(r.below(32) as u32, base, 0, rd, 0x67)
            }
        }
        // Anything (system, FP, AMO, illegal).
        _ => r.next() as u32 | 3,
    }
}

/// A random machine image: a header of settings (M-mode, no translation, RAM pointers
/// in x8..x11) and random instructions.
fn program(seed: u64) -> Vec<u8> {
    let mut r = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let n = 64 + r.below(1024) as usize;
    let mut words: Vec<u32> = (0..n).map(|_| instruction(&mut r)).collect();
    let mut set = |i: usize, v: u64| {
        if words.len() > 2 * i + 1 {
            words[2 * i] = v as u32;
            words[2 * i + 1] = (v >> 32) as u32;
        }
    };
    // Entry near the start of the instructions, after the header's words.
    set(0, 512 + 4 * r.below(64));
    set(1, 3);
    set(2, 0);
    set(3, 0);
    set(5, 0x400 + 4 * r.below(64));
    set(9, 0);
    set(11, 0);
    set(13, 0xffff);
    set(15, 0);
    for reg in 8..12 {
        set(16 + reg, RAM_BASE + 0x2000 + r.below(0x4000));
    }
    let mut data = Vec::with_capacity(words.len() * 4);
    for w in words {
        data.extend_from_slice(&w.to_le_bytes());
    }
    data
}

fn ram(h: &Hart) -> Vec<u8> {
    let mut buf = vec![0u8; RAM_SIZE as usize];
    h.ram().read(RAM_BASE, &mut buf).expect("RAM");
    buf
}

fn check(seed: u64, data: &[u8], hot: u32) -> u64 {
    let interp = run_random_machine_on(data, 20_000, Engine::Interp, 0);
    let jit = run_random_machine_on(data, 20_000, Engine::Jit, hot);
    assert_eq!(
        interp.state(),
        jit.state(),
        "seed {seed} hot {hot}: state differs"
    );
    assert!(
        ram(&interp) == ram(&jit),
        "seed {seed} hot {hot}: RAM differs"
    );
    jit.jit_stats().translated_insts
}

#[test]
fn jit_matches_interpreter_on_random_programs() {
    let mut translated = 0;
    for seed in 0..3000 {
        let data = program(seed);
        translated += check(seed, &data, if seed % 3 == 0 { 2 } else { 0 });
    }
    // The check is only worth something if the translator ran.
    if Engine::AVAILABLE {
        assert!(
            translated > 100_000,
            "only {translated} instructions translated"
        );
    }
}

#[test]
fn jit_matches_interpreter_on_random_bytes() {
    let mut r = Rng(0x5eed);
    for seed in 0..500 {
        let n = r.below(4096) as usize;
        let data: Vec<u8> = (0..n).map(|_| r.next() as u8).collect();
        check(seed, &data, 0);
    }
}
