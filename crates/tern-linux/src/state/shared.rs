//! Shared regions as plain data, for snapshots (part `shared` of the process state).
//!
//! A file region is recorded by its guest path, offset and access: its data is the
//! file's, which is there on restore (as CRIU does for shared file mappings). Shared
//! anonymous memory has no file: its non-zero pages are recorded with it. An
//! attached SysV segment is recorded by its id and place in the VM's IPC arena,
//! whose bytes the state holds too (part `ipc`, see [`crate::ipc::saved`]).

use serde::{Deserialize, Serialize};

/// One shared region.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedRegionState {
    /// First physical address (in the shared window).
    pub phys: u64,
    /// Length in bytes (whole pages).
    pub len: u64,
    /// What it shows.
    pub kind: SavedRegionKind,
}

/// What a saved region shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SavedRegionKind {
    /// A file: guest path, offset of the region's first byte, whether the guest may
    /// write it.
    File {
        /// Guest path (absolute).
        path: String,
        /// File offset.
        offset: u64,
        /// Opened for writing.
        writable: bool,
    },
    /// Shared anonymous memory: its non-zero pages, by page index in the region.
    Anon {
        /// (page index, 4096 bytes).
        pages: Vec<(u64, Vec<u8>)>,
    },
    /// An attached SysV segment (its bytes are in the IPC arena, part `ipc`).
    /// Appended: the variants' order is the encoding's.
    SysV {
        /// The segment's id.
        id: i32,
        /// Offset of the region's first byte in the arena's memfd.
        offset: u64,
        /// Offset just past the segment.
        end: u64,
        /// Attached for writing.
        writable: bool,
    },
}

impl SharedRegionState {
    /// Checks the region against the shared window `[base, end)`.
    pub fn check(&self, base: u64, end: u64) -> Result<(), String> {
        let pages = self.len / 4096;
        let fits = self.phys >= base
            && self.len > 0
            && self.len.is_multiple_of(4096)
            && self.phys.is_multiple_of(4096)
            && self.phys.checked_add(self.len).is_some_and(|e| e <= end);
        if !fits {
            return Err(format!(
                "shared region {:#x}+{:#x} is not inside the shared window",
                self.phys, self.len
            ));
        }
        if let SavedRegionKind::Anon { pages: saved } = &self.kind {
            if saved.iter().any(|(i, b)| *i >= pages || b.len() != 4096) {
                return Err(format!(
                    "shared region {:#x}: a saved page is outside it or not 4096 bytes",
                    self.phys
                ));
            }
        }
        if let SavedRegionKind::SysV { offset, end, .. } = &self.kind {
            if offset.checked_add(self.len).is_none_or(|e| e > *end) {
                return Err(format!(
                    "shared region {:#x}: longer than its SysV segment",
                    self.phys
                ));
            }
        }
        if let SavedRegionKind::File { path, .. } = &self.kind {
            if !path.starts_with('/') {
                return Err(format!(
                    "shared region {:#x}: path {path:?} is not absolute",
                    self.phys
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn anon(phys: u64, len: u64, pages: Vec<(u64, Vec<u8>)>) -> SharedRegionState {
        SharedRegionState {
            phys,
            len,
            kind: SavedRegionKind::Anon { pages },
        }
    }

    #[test]
    fn regions_from_a_file_are_checked_against_the_window() {
        let (base, end) = (0x1_0000_0000, 0x1_1000_0000);
        assert!(anon(base, 8192, vec![(1, vec![0; 4096])])
            .check(base, end)
            .is_ok());
        assert!(
            anon(base - 4096, 8192, vec![]).check(base, end).is_err(),
            "below"
        );
        assert!(
            anon(end - 4096, 8192, vec![]).check(base, end).is_err(),
            "past the end"
        );
        assert!(anon(base, 0, vec![]).check(base, end).is_err(), "empty");
        assert!(
            anon(base + 1, 4096, vec![]).check(base, end).is_err(),
            "unaligned"
        );
        assert!(
            anon(u64::MAX - 4095, 8192, vec![])
                .check(base, u64::MAX)
                .is_err(),
            "wraps"
        );
        assert!(
            anon(base, 8192, vec![(2, vec![0; 4096])])
                .check(base, end)
                .is_err(),
            "page outside"
        );
        assert!(
            anon(base, 8192, vec![(0, vec![0; 10])])
                .check(base, end)
                .is_err(),
            "short page"
        );
        let relative = SharedRegionState {
            phys: base,
            len: 4096,
            kind: SavedRegionKind::File {
                path: "etc/passwd".into(),
                offset: 0,
                writable: false,
            },
        };
        assert!(relative.check(base, end).is_err(), "relative path");
    }
}
