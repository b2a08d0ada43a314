//! The file header: what the snapshot is, who wrote it, and where its table of contents
//! lies.
//!
//! The header occupies the start of the file's first 4 KiB page (the rest of that page
//! is zero), so that everything after it can be page aligned. Its first 16 bytes
//! (magic, format version, header length) and the rule "the header ends with the
//! CRC-32C of the bytes before it" never change between format versions: a reader
//! checks the checksum before it interprets the version, so a bit flip in the version
//! field reads as damage, while an intact newer file reads as "too new".

use crate::codec::{Dec, Enc};
use crate::error::{Error, Result};
use crate::SnapshotId;

/// The first 8 bytes of every snapshot file.
pub const MAGIC: [u8; 8] = *b"TERNSNAP";
/// The newest format version this crate reads, and the one it writes.
pub const FORMAT_VERSION: u32 = 2;
/// The oldest format version this crate reads. Version 1 files hold component states
/// without versions (one postcard blob per VM), which no later tern can decode
/// safely: they are refused with [`crate::Error::VersionTooOld`].
pub const OLDEST_FORMAT_VERSION: u32 = 2;
/// Bytes reserved for the header at the start of the file: one page, so that memory
/// data after it can sit at page-aligned offsets.
pub const HEADER_AREA: u64 = 4096;
/// Required-features bit: memory regions may carry a CRC-32C per stored page (page
/// map flag 4), which a reader without the feature would refuse as an unknown flag.
const FEATURE_PAGE_CRCS: u64 = 1;
/// The features this tern reads, and sets in every file it writes.
const FEATURES: u64 = FEATURE_PAGE_CRCS;
/// Bytes of the fixed part of a version 1 header, before its strings.
const FIXED_LEN: usize = 96;
/// The shortest possible version 1 header: fixed part, three empty strings, checksum.
const MIN_LEN: usize = FIXED_LEN + 3 * 2 + 4;
/// Longest producer version string.
pub const MAX_VERSION_LEN: usize = 128;
/// Longest architecture name.
pub const MAX_ARCH_LEN: usize = 32;
/// Longest parent path hint.
pub const MAX_PATH_HINT_LEN: usize = 3072;

/// The two kinds of virtual machine that tern runs (DESIGN.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VmKind {
    /// A whole RISC-V computer (`tern run`).
    System,
    /// One riscv64 Linux program (`tern exec`).
    Process,
}

impl VmKind {
    fn code(self) -> u8 {
        match self {
            VmKind::System => 1,
            VmKind::Process => 2,
        }
    }

    fn from_code(c: u8) -> Option<VmKind> {
        match c {
            1 => Some(VmKind::System),
            2 => Some(VmKind::Process),
            _ => None,
        }
    }

    /// "system" or "process".
    pub fn name(self) -> &'static str {
        match self {
            VmKind::System => "system",
            VmKind::Process => "process",
        }
    }
}

/// The snapshot an incremental snapshot was taken on top of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParentRef {
    /// The parent's id; the reader refuses a file at `path_hint` with another id.
    pub id: SnapshotId,
    /// Where to find the parent; a relative path is taken relative to the directory
    /// of the child, so that a directory holding a chain can be copied as a whole.
    pub path_hint: String,
}

/// What a snapshot is: everything in the header except the file layout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// Format version of the file (not the tern version).
    pub format_version: u32,
    /// This snapshot's id.
    pub id: SnapshotId,
    /// Creation time, nanoseconds since the Unix epoch.
    pub created_unix_ns: u64,
    /// System or process VM.
    pub vm_kind: VmKind,
    /// The tern version that wrote the file (informational).
    pub tern_version: String,
    /// Guest architecture, e.g. "riscv64".
    pub arch: String,
    /// The parent of an incremental snapshot.
    pub parent: Option<ParentRef>,
    /// Where the rest of the file lies.
    pub(crate) layout: Layout,
}

/// The header's pointers into the file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Layout {
    /// Length of the whole file.
    pub file_len: u64,
    /// Offset of the table of contents.
    pub toc_offset: u64,
    /// Length of the table of contents.
    pub toc_len: u64,
    /// CRC-32C of the table of contents.
    pub toc_crc: u32,
}

/// Checks the lengths and characters of the header's strings (writer side).
pub(crate) fn check_strings(
    tern_version: &str,
    arch: &str,
    parent: Option<&ParentRef>,
) -> Result<()> {
    if tern_version.len() > MAX_VERSION_LEN {
        return Err(Error::Usage(format!(
            "tern version string is longer than {MAX_VERSION_LEN} bytes"
        )));
    }
    if arch.is_empty() || arch.len() > MAX_ARCH_LEN {
        return Err(Error::Usage(format!(
            "architecture name `{arch}` must have 1 to {MAX_ARCH_LEN} bytes"
        )));
    }
    if let Some(p) = parent {
        if p.path_hint.len() > MAX_PATH_HINT_LEN {
            return Err(Error::Usage(format!(
                "parent path is longer than {MAX_PATH_HINT_LEN} bytes"
            )));
        }
        if p.id.is_nil() {
            return Err(Error::Usage("parent id is all zero".into()));
        }
    }
    Ok(())
}

impl Header {
    /// The header's bytes, checksum included (at most [`HEADER_AREA`] bytes once
    /// [`check_strings`] passed).
    pub(crate) fn encode(&self) -> Vec<u8> {
        let hint = self.parent.as_ref().map_or("", |p| p.path_hint.as_str());
        let len = FIXED_LEN + 6 + self.tern_version.len() + self.arch.len() + hint.len() + 4;
        let mut e = Enc::default();
        e.bytes(&MAGIC);
        e.u32(self.format_version);
        e.u32(len as u32);
        e.u64(FEATURES);
        e.u64(self.layout.file_len);
        e.u64(self.layout.toc_offset);
        e.u64(self.layout.toc_len);
        e.u32(self.layout.toc_crc);
        e.u8(self.vm_kind.code());
        e.u8(self.parent.is_some() as u8);
        e.u16(0);
        e.bytes(&self.id.0);
        e.u64(self.created_unix_ns);
        e.bytes(&self.parent.as_ref().map_or([0; 16], |p| p.id.0));
        e.str16(&self.tern_version);
        e.str16(&self.arch);
        e.str16(hint);
        let crc = crc32c::crc32c(&e.buf);
        e.u32(crc);
        debug_assert_eq!(e.buf.len(), len);
        e.buf
    }

    /// Parses and checks the header from the file's first bytes (`first` holds up to
    /// [`HEADER_AREA`] of them; `file_len` is the file's real length).
    pub(crate) fn decode(first: &[u8], file_len: u64) -> Result<Header> {
        if first.len() < MAGIC.len() || first[..MAGIC.len()] != MAGIC {
            return Err(Error::NotASnapshot(if first.len() < MAGIC.len() {
                format!("the file has only {file_len} bytes")
            } else {
                "wrong magic".into()
            }));
        }
        if first.len() < 16 {
            return Err(Error::Truncated {
                expected: MIN_LEN as u64,
                actual: file_len,
            });
        }
        let version = u32::from_le_bytes(first[8..12].try_into().unwrap_or_default());
        let len = u32::from_le_bytes(first[12..16].try_into().unwrap_or_default()) as usize;
        if !(MIN_LEN..=HEADER_AREA as usize).contains(&len) {
            return Err(Error::Header(format!(
                "header length {len} is outside {MIN_LEN}..={HEADER_AREA}"
            )));
        }
        if len > first.len() {
            return Err(Error::Truncated {
                expected: len as u64,
                actual: file_len,
            });
        }
        let stored = u32::from_le_bytes(first[len - 4..len].try_into().unwrap_or_default());
        if crc32c::crc32c(&first[..len - 4]) != stored {
            return Err(Error::Header("checksum mismatch".into()));
        }
        if first[len..].iter().any(|&b| b != 0) {
            return Err(Error::Header(format!(
                "bytes {len}..{HEADER_AREA} of the header page are not zero"
            )));
        }
        if version == 0 {
            return Err(Error::Header("format version 0 does not exist".into()));
        }
        if version > FORMAT_VERSION {
            return Err(Error::VersionTooNew {
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        if version < OLDEST_FORMAT_VERSION {
            return Err(Error::VersionTooOld {
                found: version,
                oldest: OLDEST_FORMAT_VERSION,
            });
        }
        Self::decode_fields(&first[16..len - 4], version).map_err(Error::Header)
    }

    /// The header fields after the first 16 bytes, checksum excluded (the same in
    /// versions 1 and 2).
    fn decode_fields(body: &[u8], version: u32) -> Result<Header, String> {
        let mut d = Dec::new(body);
        let features = d.u64()?;
        if features & !FEATURES != 0 {
            return Err(format!(
                "the file needs features {:#x} that this tern does not know",
                features & !FEATURES
            ));
        }
        let layout = Layout {
            file_len: d.u64()?,
            toc_offset: d.u64()?,
            toc_len: d.u64()?,
            toc_crc: d.u32()?,
        };
        let kind = d.u8()?;
        let vm_kind = VmKind::from_code(kind).ok_or(format!("unknown VM kind {kind}"))?;
        let has_parent = d.u8()?;
        if d.u16()? != 0 {
            return Err("reserved bytes 54..56 are not zero".into());
        }
        let id = SnapshotId(d.bytes16()?);
        let created_unix_ns = d.u64()?;
        let parent_id = SnapshotId(d.bytes16()?);
        let tern_version = d.str16("the tern version")?;
        let arch = d.str16("the architecture")?;
        let hint = d.str16("the parent path")?;
        d.finish("header strings")?;
        if arch.is_empty() || arch.len() > MAX_ARCH_LEN || tern_version.len() > MAX_VERSION_LEN {
            return Err("architecture or version string has a bad length".into());
        }
        let parent = match has_parent {
            0 if parent_id.is_nil() && hint.is_empty() => None,
            1 if !parent_id.is_nil() => Some(ParentRef {
                id: parent_id,
                path_hint: hint,
            }),
            _ => return Err("inconsistent parent reference".into()),
        };
        if id.is_nil() {
            return Err("snapshot id is all zero".into());
        }
        Ok(Header {
            format_version: version,
            id,
            created_unix_ns,
            vm_kind,
            tern_version,
            arch,
            parent,
            layout,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Header {
        Header {
            format_version: FORMAT_VERSION,
            id: SnapshotId::random(),
            created_unix_ns: 1_700_000_000_000_000_000,
            vm_kind: VmKind::System,
            tern_version: "0.1.0".into(),
            arch: "riscv64".into(),
            parent: Some(ParentRef {
                id: SnapshotId::random(),
                path_hint: "base.tern".into(),
            }),
            layout: Layout {
                file_len: 8192,
                toc_offset: 4096,
                toc_len: 8,
                toc_crc: 7,
            },
        }
    }

    #[test]
    fn round_trip() {
        let h = sample();
        let b = h.encode();
        assert_eq!(Header::decode(&b, 8192).unwrap(), h);
    }

    #[test]
    fn every_bit_flip_is_caught() {
        let b = sample().encode();
        for i in 0..b.len() {
            for bit in 0..8 {
                let mut c = b.clone();
                c[i] ^= 1 << bit;
                assert!(Header::decode(&c, 8192).is_err(), "byte {i} bit {bit}");
            }
        }
    }

    #[test]
    fn newer_version_is_named() {
        let mut h = sample();
        h.format_version = 7;
        let e = Header::decode(&h.encode(), 8192).unwrap_err().to_string();
        assert_eq!(
            e,
            "snapshot: format version 7 is newer than this tern understands (2)"
        );
    }

    #[test]
    fn version_1_is_refused_with_the_reason() {
        let mut h = sample();
        h.format_version = 1;
        let e = Header::decode(&h.encode(), 8192).unwrap_err().to_string();
        assert_eq!(
            e,
            "snapshot: format version 1 is older than this tern reads (2 and later): version 1 files hold component states without versions, which later builds cannot decode safely; restore it with the tern that wrote it"
        );
    }

    #[test]
    fn short_and_foreign_files() {
        let b = sample().encode();
        for n in 0..b.len() {
            assert!(Header::decode(&b[..n], n as u64).is_err());
        }
        let e = Header::decode(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0", 16).unwrap_err();
        assert!(e.to_string().contains("not a tern snapshot"), "{e}");
    }
}
