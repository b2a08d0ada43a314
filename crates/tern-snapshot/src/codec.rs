//! Little-endian encoding of the format's fixed-layout records.
//!
//! The header, the table of contents and the section directories (page maps, disk
//! records, overlay extents) are plain little-endian records described byte by byte in
//! FORMAT.md, so that a reader in any language can check a file. [`Dec`] never reads
//! past its slice: running out of bytes is an error, never a panic.

/// Appends little-endian values to a byte vector.
#[derive(Default)]
pub(crate) struct Enc {
    pub buf: Vec<u8>,
}

impl Enc {
    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }

    pub fn u16(&mut self, v: u16) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    pub fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    pub fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    pub fn bytes(&mut self, v: &[u8]) {
        self.buf.extend_from_slice(v);
    }

    /// A string as a u16 byte count and its UTF-8 bytes. Callers check the length.
    pub fn str16(&mut self, s: &str) {
        debug_assert!(s.len() <= usize::from(u16::MAX));
        self.u16(s.len() as u16);
        self.bytes(s.as_bytes());
    }

    /// Zero bytes up to the next multiple of `align`.
    pub fn pad_to(&mut self, align: usize) {
        while !self.buf.len().is_multiple_of(align) {
            self.buf.push(0);
        }
    }
}

/// Reads little-endian values from a slice; every read is bounds-checked.
pub(crate) struct Dec<'a> {
    buf: &'a [u8],
    pos: usize,
}

/// A decoding failure, already worded for the user.
pub(crate) type DecResult<T> = Result<T, String>;

impl<'a> Dec<'a> {
    pub fn new(buf: &'a [u8]) -> Dec<'a> {
        Dec { buf, pos: 0 }
    }

    /// Bytes left.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub fn take(&mut self, n: usize) -> DecResult<&'a [u8]> {
        if n > self.remaining() {
            return Err(format!(
                "ends early: {n} bytes needed at byte {}, {} left",
                self.pos,
                self.remaining()
            ));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> DecResult<[u8; N]> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    pub fn u8(&mut self) -> DecResult<u8> {
        Ok(self.array::<1>()?[0])
    }

    pub fn u16(&mut self) -> DecResult<u16> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    pub fn u32(&mut self) -> DecResult<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    pub fn u64(&mut self) -> DecResult<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    pub fn bytes16(&mut self) -> DecResult<[u8; 16]> {
        self.array()
    }

    pub fn bytes32(&mut self) -> DecResult<[u8; 32]> {
        self.array()
    }

    /// A u16-counted UTF-8 string; `what` names it in the error.
    pub fn str16(&mut self, what: &str) -> DecResult<String> {
        let n = usize::from(self.u16()?);
        let b = self.take(n)?;
        String::from_utf8(b.to_vec()).map_err(|_| format!("{what} is not UTF-8"))
    }

    /// Skips zero padding up to the next multiple of `align`; non-zero padding is an
    /// error (it would be a place for undetected damage or hidden data).
    pub fn pad_to(&mut self, align: usize) -> DecResult<()> {
        let n = (align - self.pos % align) % align;
        if self.take(n)?.iter().any(|&b| b != 0) {
            return Err(format!("non-zero padding before byte {}", self.pos));
        }
        Ok(())
    }

    /// A field that must be zero in this format version.
    pub fn reserved32(&mut self, what: &str) -> DecResult<()> {
        match self.u32()? {
            0 => Ok(()),
            v => Err(format!("reserved field {what} is {v:#x}, not 0")),
        }
    }

    /// Fails unless every byte was consumed.
    pub fn finish(&self, what: &str) -> DecResult<()> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(format!("{n} unexpected bytes after the {what}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_short_reads() {
        let mut e = Enc::default();
        e.u8(1);
        e.u16(0x0203);
        e.u32(0x0405_0607);
        e.u64(0x0809_0a0b_0c0d_0e0f);
        e.str16("riscv64");
        e.pad_to(8);
        let mut d = Dec::new(&e.buf);
        assert_eq!(d.u8().unwrap(), 1);
        assert_eq!(d.u16().unwrap(), 0x0203);
        assert_eq!(d.u32().unwrap(), 0x0405_0607);
        assert_eq!(d.u64().unwrap(), 0x0809_0a0b_0c0d_0e0f);
        assert_eq!(d.str16("arch").unwrap(), "riscv64");
        d.pad_to(8).unwrap();
        d.finish("test").unwrap();
        assert!(d.u8().unwrap_err().contains("ends early"));
    }
}
