//! Register, rounding-mode and fence-set names as GNU binutils prints them.

/// Integer register ABI names, x0–x31 (RISC-V psABI, "Integer Register
/// Convention"). x8 is `s0` (binutils prints `s0`, not `fp`).
pub const XREG_NAMES: [&str; 32] = [
    "zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0", "a1", "a2", "a3", "a4",
    "a5", "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4",
    "t5", "t6",
];

/// Floating-point register ABI names, f0–f31 (RISC-V psABI, "Floating-point
/// Register Convention").
pub const FREG_NAMES: [&str; 32] = [
    "ft0", "ft1", "ft2", "ft3", "ft4", "ft5", "ft6", "ft7", "fs0", "fs1", "fa0", "fa1", "fa2",
    "fa3", "fa4", "fa5", "fa6", "fa7", "fs2", "fs3", "fs4", "fs5", "fs6", "fs7", "fs8", "fs9",
    "fs10", "fs11", "ft8", "ft9", "ft10", "ft11",
];

/// Name of integer register `n` (only the low five bits are used).
pub(crate) fn xreg(n: u8) -> &'static str {
    XREG_NAMES[usize::from(n & 31)]
}

/// Name of floating-point register `n` (only the low five bits are used).
pub(crate) fn freg(n: u8) -> &'static str {
    FREG_NAMES[usize::from(n & 31)]
}

/// Rounding-mode names (unprivileged spec, table "Rounding mode encoding"); the
/// reserved values 5 and 6 print as `unknown`, like binutils.
pub(crate) fn rounding_mode(rm: u8) -> &'static str {
    match rm {
        0 => "rne",
        1 => "rtz",
        2 => "rdn",
        3 => "rup",
        4 => "rmm",
        7 => "dyn",
        _ => "unknown",
    }
}

/// A `fence` predecessor or successor set (bits i, o, r, w from high to low). The
/// empty set prints as `unknown`, like binutils 2.40.
pub(crate) fn fence_set(set: u32) -> &'static str {
    const NAMES: [&str; 16] = [
        "unknown", "w", "r", "rw", "o", "ow", "or", "orw", "i", "iw", "ir", "irw", "io", "iow",
        "ior", "iorw",
    ];
    NAMES[(set & 0xf) as usize]
}

/// The AMO ordering suffix for `rm = aq << 1 | rl`.
pub(crate) fn amo_suffix(rm: u8) -> &'static str {
    match rm & 0b11 {
        0 => "",
        1 => ".rl",
        2 => ".aq",
        _ => ".aqrl",
    }
}
