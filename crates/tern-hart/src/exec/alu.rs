//! Integer operations of M, Zba, Zbb, Zbs and Zicond that are more than one host
//! operator. All are total functions: division by zero and overflow have the results
//! the Unprivileged ISA defines (§M, "Division Operations"), never a host panic.

/// Sign-extends the low 32 bits.
#[inline(always)]
pub fn sext32(v: u64) -> u64 {
    v as i32 as i64 as u64
}

/// `mulh`: high 64 bits of signed × signed.
#[inline(always)]
pub fn mulh(a: u64, b: u64) -> u64 {
    ((i128::from(a as i64) * i128::from(b as i64)) >> 64) as u64
}

/// `mulhu`: high 64 bits of unsigned × unsigned.
#[inline(always)]
pub fn mulhu(a: u64, b: u64) -> u64 {
    ((u128::from(a) * u128::from(b)) >> 64) as u64
}

/// `mulhsu`: high 64 bits of signed × unsigned.
#[inline(always)]
pub fn mulhsu(a: u64, b: u64) -> u64 {
    ((i128::from(a as i64) * (u128::from(b) as i128)) >> 64) as u64
}

/// `div`: signed division; x/0 = -1, MIN/-1 = MIN.
#[inline(always)]
pub fn div(a: u64, b: u64) -> u64 {
    let (a, b) = (a as i64, b as i64);
    if b == 0 {
        u64::MAX
    } else {
        a.wrapping_div(b) as u64
    }
}

/// `divu`: unsigned division; x/0 = all ones.
#[inline(always)]
pub fn divu(a: u64, b: u64) -> u64 {
    a.checked_div(b).unwrap_or(u64::MAX)
}

/// `rem`: signed remainder; x%0 = x, MIN%-1 = 0.
#[inline(always)]
pub fn rem(a: u64, b: u64) -> u64 {
    let (a, b) = (a as i64, b as i64);
    if b == 0 {
        a as u64
    } else {
        a.wrapping_rem(b) as u64
    }
}

/// `remu`: unsigned remainder; x%0 = x.
#[inline(always)]
pub fn remu(a: u64, b: u64) -> u64 {
    a.checked_rem(b).unwrap_or(a)
}

/// `divw`.
#[inline(always)]
pub fn divw(a: u64, b: u64) -> u64 {
    let (a, b) = (a as i32, b as i32);
    if b == 0 {
        u64::MAX
    } else {
        a.wrapping_div(b) as i64 as u64
    }
}

/// `divuw`.
#[inline(always)]
pub fn divuw(a: u64, b: u64) -> u64 {
    let (a, b) = (a as u32, b as u32);
    sext32(u64::from(a.checked_div(b).unwrap_or(u32::MAX)))
}

/// `remw`.
#[inline(always)]
pub fn remw(a: u64, b: u64) -> u64 {
    let (a, b) = (a as i32, b as i32);
    if b == 0 {
        a as i64 as u64
    } else {
        a.wrapping_rem(b) as i64 as u64
    }
}

/// `remuw`.
#[inline(always)]
pub fn remuw(a: u64, b: u64) -> u64 {
    let (a, b) = (a as u32, b as u32);
    sext32(u64::from(a.checked_rem(b).unwrap_or(a)))
}

/// `orc.b`: each byte becomes 0xff if it was non-zero.
#[inline(always)]
pub fn orc_b(v: u64) -> u64 {
    let mut out = 0;
    for i in 0..8 {
        if (v >> (8 * i)) & 0xff != 0 {
            out |= 0xff << (8 * i);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn division_corner_cases() {
        assert_eq!(div(5, 0), u64::MAX);
        assert_eq!(div(i64::MIN as u64, u64::MAX), i64::MIN as u64);
        assert_eq!(rem(i64::MIN as u64, u64::MAX), 0);
        assert_eq!(rem(7, 0), 7);
        assert_eq!(divu(7, 0), u64::MAX);
        assert_eq!(remu(7, 0), 7);
        assert_eq!(divw(0x8000_0000, u64::MAX), 0xffff_ffff_8000_0000);
        assert_eq!(remw(0x8000_0000, u64::MAX), 0);
        assert_eq!(divuw(5, 0), u64::MAX);
        assert_eq!(remuw(0xffff_fff5, 0), 0xffff_ffff_ffff_fff5);
    }

    #[test]
    fn high_multiplies() {
        assert_eq!(mulh(u64::MAX, u64::MAX), 0);
        assert_eq!(mulhu(u64::MAX, u64::MAX), u64::MAX - 1);
        assert_eq!(mulhsu(u64::MAX, u64::MAX), u64::MAX);
        assert_eq!(orc_b(0x0100_0000_0000_ff00), 0xff00_0000_0000_ff00);
    }
}
