//! What a path lookup needs of the process: the file view and its anchor
//! descriptors, the working directory, and the descriptor table (a `*at` call's
//! directory descriptor). [`super::locate`] and the Unix-socket names take this
//! instead of the whole process, so that they sit below it and can be used (and
//! tested) with only these parts.

use std::sync::{Mutex, MutexGuard};

use crate::fs::root::Anchors;
use crate::fs::view::FileView;
use crate::fs::FdTable;

/// The process's side of path lookups, borrowed.
#[derive(Clone, Copy, Debug)]
pub struct Paths<'p> {
    /// The file view (`--root`, `--bind`, `--sysroot`).
    pub view: &'p FileView,
    /// Its anchor descriptors, from which confined paths are walked.
    pub anchors: &'p Anchors,
    /// The working directory as a guest path (with `--root`; otherwise the host's).
    pub cwd: &'p Mutex<String>,
    /// The descriptor table.
    pub files: &'p Mutex<FdTable>,
}

impl<'p> Paths<'p> {
    /// The working directory (guest path).
    pub fn cwd(&self) -> String {
        self.cwd_lock().clone()
    }

    /// Locks the working directory (to change it with the host's).
    pub fn cwd_lock(&self) -> MutexGuard<'p, String> {
        self.cwd.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Locks the descriptor table.
    pub fn files(&self) -> MutexGuard<'p, FdTable> {
        self.files.lock().unwrap_or_else(|e| e.into_inner())
    }
}
