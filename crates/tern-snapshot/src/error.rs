//! Errors of the snapshot reader and writer.
//!
//! Every error names the thing that is wrong (the file, the header, the table of
//! contents, or a section by name) and the problem, in the words a user reads on the
//! terminal: "snapshot section `plic`: crc mismatch". A bad file never panics the
//! reader and never makes it allocate more than the file's size justifies (DESIGN.md,
//! invariant 3).

use std::path::PathBuf;

use crate::SnapshotId;

/// Result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong reading or writing a snapshot.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The operating system refused a read, a write, an open or a rename.
    #[error("snapshot `{}`: {what}: {source}", path.display())]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// What was being done ("cannot open", "cannot write", ...).
        what: &'static str,
        /// The host error.
        source: std::io::Error,
    },
    /// The file does not start with the snapshot magic.
    #[error("snapshot: not a tern snapshot file ({0})")]
    NotASnapshot(String),
    /// The file is shorter than its header says.
    #[error(
        "snapshot: file is truncated: the header says {expected} bytes, the file has {actual}"
    )]
    Truncated {
        /// Length recorded in the header.
        expected: u64,
        /// Length of the file.
        actual: u64,
    },
    /// The format version is newer than this reader.
    #[error("snapshot: format version {found} is newer than this tern understands ({supported})")]
    VersionTooNew {
        /// Version in the file.
        found: u32,
        /// Newest version this reader knows.
        supported: u32,
    },
    /// The format version is older than any this reader decodes.
    #[error("snapshot: format version {found} is older than this tern reads ({oldest} and later): version 1 files hold component states without versions, which later builds cannot decode safely; restore it with the tern that wrote it")]
    VersionTooOld {
        /// Version in the file.
        found: u32,
        /// Oldest version this reader knows.
        oldest: u32,
    },
    /// The header is damaged or inconsistent.
    #[error("snapshot header: {0}")]
    Header(String),
    /// The table of contents is damaged or inconsistent.
    #[error("snapshot table of contents: {0}")]
    Toc(String),
    /// One section is damaged or inconsistent.
    #[error("snapshot section `{section}`: {problem}")]
    Section {
        /// The section's name.
        section: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A section asked for by name is not in the file.
    #[error("snapshot has no {kind} section `{name}`")]
    NoSuchSection {
        /// The kind asked for ("state", "memory", "disk", "disk overlay").
        kind: &'static str,
        /// The name asked for.
        name: String,
    },
    /// The snapshot was taken of a guest of another architecture or kind.
    #[error("snapshot holds a {found}, not a {expected}")]
    WrongGuest {
        /// What the file holds ("riscv64 system VM").
        found: String,
        /// What the caller can restore.
        expected: String,
    },
    /// An incremental snapshot's parent file cannot be opened.
    #[error("snapshot parent {id} not found at `{}`: {source}", path.display())]
    ParentMissing {
        /// The id the child names.
        id: SnapshotId,
        /// Where it was looked for.
        path: PathBuf,
        /// Why opening it failed.
        source: Box<Error>,
    },
    /// The file at the parent's path is another snapshot.
    #[error("snapshot parent at `{}` is snapshot {found}, but the child was taken from {expected}", path.display())]
    ParentMismatch {
        /// Where the parent was looked for.
        path: PathBuf,
        /// The id the child names.
        expected: SnapshotId,
        /// The id found in the file.
        found: SnapshotId,
    },
    /// A chain of incremental snapshots is too long or loops.
    #[error("snapshot chain: {0}")]
    Chain(String),
    /// A disk image differs from the one the snapshot was taken with.
    #[error("disk `{disk}` changed since the snapshot: {what}")]
    DiskChanged {
        /// The disk's name in the snapshot.
        disk: String,
        /// What differs.
        what: String,
    },
    /// The caller asked for something the format cannot hold (a bad name, a page
    /// outside the region, a section added twice).
    #[error("snapshot writer: {0}")]
    Usage(String),
}

impl Error {
    /// A problem with the section `name`.
    pub(crate) fn section(name: &str, problem: impl Into<String>) -> Error {
        Error::Section {
            section: name.to_string(),
            problem: problem.into(),
        }
    }

    /// An I/O error on `path`.
    pub(crate) fn io(
        path: impl Into<PathBuf>,
        what: &'static str,
        source: std::io::Error,
    ) -> Error {
        Error::Io {
            path: path.into(),
            what,
            source,
        }
    }
}
