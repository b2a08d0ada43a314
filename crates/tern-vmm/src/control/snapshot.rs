//! The request and the answer of `PUT /snapshot`.

use std::path::Path;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ControlError;

/// Longest accepted snapshot path, in bytes (Linux's `PATH_MAX`).
pub const MAX_PATH_LEN: usize = 4096;

/// Compression of memory pages in the snapshot file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// Pages stored as they are, at aligned offsets, so restore can map them lazily.
    #[default]
    None,
    /// Pages compressed with zstd: a smaller file, restore has to decompress.
    Zstd,
}

/// What to write: the body of `PUT /snapshot`.
///
/// The file is written by the VM process, on its host, so `path` must be absolute:
/// the client resolves a relative path against its own working directory before
/// sending it. If a tern snapshot file exists at `path` it is replaced; anything else
/// there (another file, a symbolic link, a directory) is refused and left alone. An
/// implementation writes to a fresh temporary file beside it and renames it, so a
/// failed snapshot never leaves a half-written file under `path`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SnapshotRequest {
    /// Absolute path of the snapshot file to write.
    #[schema(
        example = "/var/lib/tern/vm1.tern",
        pattern = "^/",
        min_length = 1,
        max_length = 4096
    )]
    pub path: String,
    /// Write only the memory pages dirtied since this VM's previous snapshot (or the
    /// snapshot it was restored from), referencing that one as its parent.
    #[serde(default)]
    pub incremental: bool,
    /// Compression of memory pages.
    #[serde(default)]
    pub compress: Compression,
    /// Store the blocks the guest wrote to its disks inside the file, so that the file
    /// alone is the VM. Without it the file records each disk image's path and
    /// fingerprint, and restore refuses a changed image.
    #[serde(default)]
    pub include_disks: bool,
}

impl SnapshotRequest {
    /// A full, uncompressed snapshot without disks to `path`.
    pub fn new(path: impl Into<String>) -> Self {
        SnapshotRequest {
            path: path.into(),
            incremental: false,
            compress: Compression::None,
            include_disks: false,
        }
    }

    /// Checks what can be checked without the VM: `path` is absolute, not empty, not
    /// a directory name, without NUL bytes, at most [`MAX_PATH_LEN`] bytes.
    pub fn validate(&self) -> Result<(), ControlError> {
        let bad = |why: &str| {
            Err(ControlError::InvalidRequest(format!(
                "snapshot: path `{}` {why}",
                self.path.escape_debug()
            )))
        };
        if self.path.is_empty() {
            return Err(ControlError::InvalidRequest(
                "snapshot: path is empty".to_string(),
            ));
        }
        if self.path.len() > MAX_PATH_LEN {
            return Err(ControlError::InvalidRequest(format!(
                "snapshot: path is {} bytes long, at most {MAX_PATH_LEN} allowed",
                self.path.len()
            )));
        }
        if self.path.contains('\0') {
            return bad("contains a NUL byte");
        }
        if !Path::new(&self.path).is_absolute() {
            return bad("is not absolute (the VM resolves paths on its own host, not in the client's directory)");
        }
        if self.path.ends_with('/') || self.path.ends_with("/.") || self.path.ends_with("/..") {
            return bad("names a directory, not a file");
        }
        Ok(())
    }
}

/// What was written: the answer of `PUT /snapshot`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SnapshotInfo {
    /// Identifier of this snapshot, unique for the VM; incremental snapshots name
    /// their parent by it.
    pub id: String,
    /// Absolute path of the file written.
    pub path: String,
    /// Id of the snapshot this one is incremental to; `null` for a full snapshot.
    #[schema(required = true)]
    pub parent: Option<String>,
    /// Compression used for memory pages.
    pub compress: Compression,
    /// Size of the file in bytes.
    pub bytes: u64,
    /// Number of 4 KiB memory pages stored in the file (zero pages are omitted; an
    /// incremental snapshot stores only dirtied pages).
    pub pages_written: u64,
    /// Microseconds the VM was held stopped to take the snapshot.
    pub duration_us: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_accepts_absolute_file_paths() {
        for ok in ["/a", "/tmp/vm.snap", "/tmp/../tmp/x", "/tmp/.hidden"] {
            assert_eq!(SnapshotRequest::new(ok).validate(), Ok(()), "{ok}");
        }
    }

    #[test]
    fn validate_names_the_problem() {
        let long = format!("/{}", "x".repeat(MAX_PATH_LEN));
        for (path, why) in [
            ("", "path is empty"),
            ("rel/x", "is not absolute"),
            ("/", "names a directory"),
            ("/tmp/", "names a directory"),
            ("/tmp/.", "names a directory"),
            ("/tmp/..", "names a directory"),
            ("/a\0b", "NUL byte"),
            (long.as_str(), "at most 4096"),
        ] {
            let err = SnapshotRequest::new(path).validate().unwrap_err();
            assert!(matches!(err, ControlError::InvalidRequest(_)));
            assert!(err.to_string().contains(why), "{path:?}: {err}");
        }
    }

    #[test]
    fn options_default_when_missing_and_unknown_fields_are_refused() {
        let r: SnapshotRequest = serde_json::from_str(r#"{"path":"/x"}"#).unwrap();
        assert_eq!(r, SnapshotRequest::new("/x"));
        let e = serde_json::from_str::<SnapshotRequest>(r#"{"path":"/x","zstd":true}"#);
        assert!(e.unwrap_err().to_string().contains("unknown field `zstd`"));
    }
}
