//! Little-endian encoding of message payloads: integers of fixed width, byte strings
//! and strings with a length first. Every read is bounds-checked and fails with the
//! field's name, so a malformed payload is an error, never a panic.

use crate::error::WireError;

/// Appends fields to a payload.
#[derive(Default)]
pub struct Enc {
    /// The payload so far.
    pub out: Vec<u8>,
}

impl Enc {
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.out.push(v);
        self
    }

    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.out.extend_from_slice(&v.to_le_bytes());
        self
    }

    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.out.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// A byte string: u32 length, bytes.
    pub fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.u32(b.len() as u32);
        self.out.extend_from_slice(b);
        self
    }

    /// Bytes of a length both sides know.
    pub fn raw(&mut self, b: &[u8]) -> &mut Self {
        self.out.extend_from_slice(b);
        self
    }

    /// A string: as a byte string of UTF-8.
    pub fn str(&mut self, s: &str) -> &mut Self {
        self.bytes(s.as_bytes())
    }
}

/// Reads the fields of a payload in order.
pub struct Dec<'a> {
    buf: &'a [u8],
    what: &'static str,
}

impl<'a> Dec<'a> {
    /// Reads `buf`, the payload of a `what` message (named in errors).
    pub fn new(buf: &'a [u8], what: &'static str) -> Dec<'a> {
        Dec { buf, what }
    }

    fn bad(&self, field: &str, problem: &str) -> WireError {
        WireError::Malformed(format!("{} message: {field}: {problem}", self.what))
    }

    /// The next `n` bytes.
    pub fn raw(&mut self, n: usize, field: &str) -> Result<&'a [u8], WireError> {
        if self.buf.len() < n {
            return Err(self.bad(field, "truncated"));
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    pub fn u8(&mut self, field: &str) -> Result<u8, WireError> {
        Ok(self.raw(1, field)?[0])
    }

    pub fn u32(&mut self, field: &str) -> Result<u32, WireError> {
        let b = self.raw(4, field)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub fn u64(&mut self, field: &str) -> Result<u64, WireError> {
        let b = self.raw(8, field)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    /// A byte string of at most `max` bytes.
    pub fn bytes(&mut self, max: usize, field: &str) -> Result<&'a [u8], WireError> {
        let n = self.u32(field)? as usize;
        if n > max {
            return Err(self.bad(field, &format!("{n} bytes, at most {max} allowed")));
        }
        self.raw(n, field)
    }

    /// A UTF-8 string of at most `max` bytes.
    pub fn str(&mut self, max: usize, field: &str) -> Result<String, WireError> {
        let b = self.bytes(max, field)?;
        std::str::from_utf8(b)
            .map(str::to_string)
            .map_err(|_| self.bad(field, "not UTF-8"))
    }

    /// A boolean byte (0 or 1).
    pub fn flag(&mut self, field: &str) -> Result<bool, WireError> {
        match self.u8(field)? {
            0 => Ok(false),
            1 => Ok(true),
            v => Err(self.bad(field, &format!("{v} is not 0 or 1"))),
        }
    }

    /// Ends the payload: bytes left over are an error.
    pub fn end(self) -> Result<(), WireError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(self.bad(
                "end",
                &format!("{} bytes after the last field", self.buf.len()),
            ))
        }
    }
}
