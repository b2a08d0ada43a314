//! Snapshot ids: 128 bits that name one snapshot file for ever.
//!
//! An incremental snapshot names its parent by id (and by a path hint); the reader
//! opens the file at the hint and refuses it unless its id matches, so a parent that was
//! overwritten by another snapshot of the same name is detected. Ids are random rather
//! than a hash of the contents: hashing a 1 GiB guest would cost about 0.3 s per
//! snapshot, and uniqueness is all the chain needs.

use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The unique id of one snapshot file.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SnapshotId(pub [u8; 16]);

impl SnapshotId {
    /// A fresh id: BLAKE3 of the time, the process and thread, a counter and keys that
    /// the standard library seeds from the operating system's random source.
    pub fn random() -> SnapshotId {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let mut h = blake3::Hasher::new();
        h.update(b"tern snapshot id");
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        h.update(&now.to_le_bytes());
        h.update(&std::process::id().to_le_bytes());
        h.update(format!("{:?}", std::thread::current().id()).as_bytes());
        h.update(&COUNTER.fetch_add(1, Ordering::Relaxed).to_le_bytes());
        for _ in 0..2 {
            h.update(&RandomState::new().hash_one(now).to_le_bytes());
        }
        let mut id = [0u8; 16];
        id.copy_from_slice(&h.finalize().as_bytes()[..16]);
        SnapshotId(id)
    }

    /// Whether this is the all-zero id (never produced by [`SnapshotId::random`] in
    /// practice; the format uses it for "no parent").
    pub fn is_nil(&self) -> bool {
        self.0 == [0; 16]
    }
}

impl fmt::Display for SnapshotId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for SnapshotId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SnapshotId({self})")
    }
}

impl std::str::FromStr for SnapshotId {
    type Err = String;

    /// Parses the 32 hex digits that [`fmt::Display`] prints.
    fn from_str(s: &str) -> Result<SnapshotId, String> {
        if s.len() != 32 || !s.is_ascii() {
            return Err(format!("snapshot id `{s}` is not 32 hex digits"));
        }
        let mut id = [0u8; 16];
        for (i, b) in id.iter_mut().enumerate() {
            *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16)
                .map_err(|_| format!("snapshot id `{s}` is not 32 hex digits"))?;
        }
        Ok(SnapshotId(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_differ_and_parse_back() {
        let a = SnapshotId::random();
        let b = SnapshotId::random();
        assert_ne!(a, b);
        assert!(!a.is_nil());
        assert_eq!(a.to_string().parse::<SnapshotId>().unwrap(), a);
        assert!("xyz".parse::<SnapshotId>().is_err());
    }
}
