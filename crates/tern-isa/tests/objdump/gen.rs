//! Random instruction words biased towards the encodings tern-isa supports, so
//! that most generated words are valid and every selector field (funct3, funct7,
//! funct5, rs2-as-selector, exact privileged encodings) gets exercised, including
//! the values next to valid ones.

/// A small deterministic generator (SplitMix64): the same seed gives the same words
/// on every host.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u32) -> u32 {
        (((self.next_u64() >> 32) * u64::from(n)) >> 32) as u32
    }

    /// True with probability `1 / n`.
    pub fn one_in(&mut self, n: u32) -> bool {
        self.below(n) == 0
    }

    pub fn pick(&mut self, values: &[u32]) -> u32 {
        values[self.below(values.len() as u32) as usize]
    }
}

/// Replaces the bits of `word` selected by `mask` with `value` (already shifted).
fn set(word: u32, mask: u32, value: u32) -> u32 {
    (word & !mask) | (value & mask)
}

const FUNCT7: u32 = 0xfe00_0000;
const FUNCT6: u32 = 0xfc00_0000;
const FUNCT5: u32 = 0xf800_0000;
const IMM12: u32 = 0xfff0_0000;
const RS2: u32 = 0x01f0_0000;
const FUNCT3: u32 = 0x0000_7000;
const RD: u32 = 0x0000_0f80;

/// A 32-bit word with low bits 0b11 and a length of exactly 32 bits (bits [4:2]
/// != 0b111, so objdump decodes it as one 4-byte unit).
pub fn word32(rng: &mut Rng) -> u32 {
    let mut w = rng.u32() | 0b11;
    // One word in sixteen stays completely random (other than its length).
    if rng.one_in(16) {
        if w & 0x1c == 0x1c {
            w &= !0x10;
        }
        return w;
    }
    let opcode = rng.pick(&[
        0x03, 0x07, 0x0f, 0x13, 0x17, 0x1b, 0x23, 0x27, 0x2f, 0x33, 0x37, 0x3b, 0x43, 0x47, 0x4b,
        0x4f, 0x53, 0x63, 0x67, 0x6f, 0x73, 0x33, 0x3b, 0x13, 0x1b, 0x53, 0x53, 0x73, 0x2f, 0x0f,
    ]);
    w = set(w, 0x7f, opcode);
    match opcode {
        // OP and OP-32: every funct7 that selects something, and neighbours.
        0x33 | 0x3b => {
            if !rng.one_in(8) {
                let f7 = rng.pick(&[
                    0x00, 0x20, 0x01, 0x05, 0x30, 0x10, 0x24, 0x34, 0x14, 0x07, 0x04,
                ]);
                w = set(w, FUNCT7, f7 << 25);
            }
            if opcode == 0x3b && w & FUNCT7 == 0x04 << 25 && rng.one_in(2) {
                w = set(w, RS2, 0); // zext.h
            }
        }
        // OP-IMM: shifts, Zbs immediates, Zbb unary (imm[11:0] selects).
        0x13 => match rng.below(4) {
            0 => {
                let f6 = rng.pick(&[0x00, 0x10, 0x0a, 0x12, 0x1a, 0x18, 0x01, 0x11]);
                w = set(w, FUNCT6, f6 << 26);
            }
            1 => {
                let imm = rng.pick(&[
                    0x600, 0x601, 0x602, 0x603, 0x604, 0x605, 0x606, 0x287, 0x6b8, 0x698, 0x687,
                ]);
                w = set(w, IMM12, imm << 20);
                w = set(w, FUNCT3, rng.pick(&[1, 5]) << 12);
            }
            _ => {}
        },
        // OP-IMM-32: word shifts (bit 25 must be 0), slli.uw, roriw, word counts.
        0x1b => match rng.below(3) {
            0 => {
                let f7 = rng.pick(&[0x00, 0x01, 0x20, 0x21, 0x30, 0x31, 0x04, 0x05, 0x06]);
                w = set(w, FUNCT7, f7 << 25);
            }
            1 => {
                let imm = rng.pick(&[0x600, 0x601, 0x602, 0x603, 0x604]);
                w = set(w, IMM12, imm << 20);
                w = set(w, FUNCT3, 1 << 12);
            }
            _ => {}
        },
        // FP loads and stores: mostly the defined widths (the other widths are V).
        0x07 | 0x27 if rng.one_in(2) => w = set(w, FUNCT3, rng.pick(&[2, 3]) << 12),
        // AMO: defined funct5 values, word/doubleword, LR with rs2 = 0.
        0x2f => {
            if !rng.one_in(8) {
                let f5 = rng.pick(&[
                    0x02, 0x03, 0x01, 0x00, 0x04, 0x0c, 0x08, 0x10, 0x14, 0x18, 0x1c,
                ]);
                w = set(w, FUNCT5, f5 << 27);
                w = set(w, FUNCT3, rng.pick(&[2, 3]) << 12);
            }
            if w >> 27 == 0x02 && !rng.one_in(4) {
                w = set(w, RS2, 0);
            }
        }
        // FMA: S and D formats mostly.
        0x43 | 0x47 | 0x4b | 0x4f if !rng.one_in(8) => w = set(w, 0x0600_0000, rng.below(2) << 25),
        // OP-FP: defined funct5 values, S/D, small rs2 and funct3 selectors.
        0x53 => {
            if !rng.one_in(8) {
                let f5 = rng.pick(&[
                    0x00, 0x01, 0x02, 0x03, 0x0b, 0x04, 0x05, 0x08, 0x14, 0x18, 0x1a, 0x1c, 0x1e,
                ]);
                w = set(w, FUNCT5, f5 << 27);
                w = set(w, 0x0600_0000, rng.below(2) << 25);
            }
            if rng.one_in(2) {
                w = set(w, RS2, rng.below(4) << 20);
            }
            if rng.one_in(2) {
                w = set(w, FUNCT3, rng.below(3) << 12);
            }
        }
        // SYSTEM: exact privileged encodings, sfence.vma, CSRs by known number.
        0x73 => match rng.below(6) {
            0 => {
                w = rng.pick(&[
                    0x0000_0073,
                    0x0010_0073,
                    0x1020_0073,
                    0x3020_0073,
                    0x1050_0073,
                    0x7b20_0073,
                ])
            }
            1 => {
                // The exact encodings with one stray bit.
                let base = rng.pick(&[
                    0x0000_0073,
                    0x0010_0073,
                    0x1020_0073,
                    0x3020_0073,
                    0x1050_0073,
                ]);
                w = base ^ (1 << (7 + rng.below(25)));
            }
            2 => {
                w = set(w, FUNCT7 | FUNCT3, 0x09 << 25);
                if rng.one_in(2) {
                    w = set(w, RD, 0);
                }
            }
            3 => {
                let csr = rng.pick(&[
                    0x001, 0x002, 0x003, 0x100, 0x180, 0x300, 0x301, 0x305, 0x341, 0x3b5, 0x3a3,
                    0xc00, 0xc01, 0xc83, 0xb05, 0x7c0, 0xf14, 0x323, 0x600, 0x015, 0xda0,
                ]);
                w = set(w, IMM12, csr << 20);
            }
            _ => {}
        },
        // MISC-MEM: canonical fences, pause, fence.tso, fence.i, cbo.*.
        0x0f => match rng.below(6) {
            0 => w = set(w, 0xf00f_ff80, 0),
            1 => w = rng.pick(&[0x0100_000f, 0x8330_000f, 0x0000_100f, 0x0ff0_000f]),
            2 => {
                w = set(w, IMM12 | FUNCT3 | RD, (rng.below(8) << 20) | (2 << 12));
            }
            3 => w = set(w, FUNCT3, rng.below(2) << 12),
            _ => {}
        },
        _ => {}
    }
    w
}
