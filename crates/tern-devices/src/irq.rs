//! Interrupt lines from devices to the PLIC.
//!
//! A device holds an [`IrqLine`] for its PLIC source and drives it to a level; it
//! never talks to harts. Lines are level-triggered (as every device source of QEMU's
//! `virt` board): the device keeps its line high while it has a reason to interrupt,
//! and the PLIC's gateway turns that into claimable requests (see [`crate::plic`]).

use std::fmt;
use std::sync::Arc;

/// Something that takes interrupt source levels: the PLIC, or a recorder in tests.
pub trait IrqSink: Send + Sync {
    /// Drives source `source` to `level`.
    fn set_source_level(&self, source: u32, level: bool);
}

/// One device's interrupt line: cheap to clone, usable from any thread.
#[derive(Clone)]
pub struct IrqLine {
    sink: Option<Arc<dyn IrqSink>>,
    source: u32,
}

impl IrqLine {
    /// The line for `source` of `sink`.
    pub fn new(sink: Arc<dyn IrqSink>, source: u32) -> IrqLine {
        IrqLine {
            sink: Some(sink),
            source,
        }
    }

    /// A line connected to nothing (a device whose interrupt the board does not wire).
    pub fn disconnected() -> IrqLine {
        IrqLine {
            sink: None,
            source: 0,
        }
    }

    /// The source number this line drives.
    pub fn source(&self) -> u32 {
        self.source
    }

    /// Drives the line to `level`. Setting the level it already has is harmless.
    pub fn set_level(&self, level: bool) {
        if let Some(sink) = &self.sink {
            sink.set_source_level(self.source, level);
        }
    }

    /// Drives the line high.
    pub fn raise(&self) {
        self.set_level(true);
    }

    /// Drives the line low.
    pub fn lower(&self) {
        self.set_level(false);
    }
}

impl fmt::Debug for IrqLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IrqLine")
            .field("source", &self.source)
            .field("connected", &self.sink.is_some())
            .finish()
    }
}

/// An [`IrqSink`] that remembers the last level of each source (for tests of device
/// models without a PLIC).
#[derive(Debug, Default)]
pub struct LevelRecorder {
    levels: std::sync::Mutex<std::collections::BTreeMap<u32, bool>>,
}

impl LevelRecorder {
    /// All sources low.
    pub fn new() -> Arc<LevelRecorder> {
        Arc::new(LevelRecorder::default())
    }

    /// The line for `source`.
    pub fn line(self: &Arc<Self>, source: u32) -> IrqLine {
        IrqLine::new(self.clone(), source)
    }

    /// The last level driven on `source`.
    pub fn level(&self, source: u32) -> bool {
        let levels = self.levels.lock().unwrap_or_else(|e| e.into_inner());
        levels.get(&source).copied().unwrap_or(false)
    }
}

impl IrqSink for LevelRecorder {
    fn set_source_level(&self, source: u32, level: bool) {
        let mut levels = self.levels.lock().unwrap_or_else(|e| e.into_inner());
        levels.insert(source, level);
    }
}
