//! A memory region of an open snapshot, read on demand: what a restore that reads
//! pages when the guest first touches them keeps for the life of the VM.

use std::borrow::Cow;
use std::sync::Arc;

use crate::error::Result;
use crate::memory::resolve::{MemoryView, Piece};
use crate::memory::Region;
use crate::reader::Snapshot;

/// Region `name` of a snapshot (and its chain), resolved once, whose stored pages
/// can be read page by page for as long as it lives. It keeps the files open: a file
/// replaced by rename meanwhile does not matter, one changed in place is found by the
/// page checksums, one truncated by the failing read.
pub struct LazyMemory {
    snapshot: Arc<Snapshot>,
    name: String,
    region: Region,
    pieces: Vec<Piece>,
}

impl LazyMemory {
    /// Resolves region `name` of `snapshot`.
    pub fn new(snapshot: Arc<Snapshot>, name: &str) -> Result<LazyMemory> {
        let view = MemoryView::new(&snapshot, name)?;
        let (name, region, pieces) = (view.name.to_string(), view.region, view.pieces.into_owned());
        Ok(LazyMemory {
            snapshot,
            name,
            region,
            pieces,
        })
    }

    /// The region's guest physical base and size.
    pub fn region(&self) -> Region {
        self.region
    }

    /// The snapshot read from.
    pub fn snapshot(&self) -> &Arc<Snapshot> {
        &self.snapshot
    }

    /// The region as a [`MemoryView`] (without resolving it again).
    pub fn view(&self) -> Result<MemoryView<'_>> {
        MemoryView::with_pieces(&self.snapshot, &self.name, Cow::Borrowed(&self.pieces))
    }

    /// The runs of pages stored uncompressed: see [`MemoryView::stored_runs`].
    pub fn stored_runs(&self) -> Result<Vec<(u64, u64)>> {
        Ok(self.view()?.stored_runs())
    }

    /// Reads the stored pages among `first..` into `dest`, checked: see
    /// [`MemoryView::read_stored`].
    pub fn read_stored(&self, first: u64, dest: &mut [u8]) -> Result<()> {
        self.view()?.read_stored(first, dest)
    }
}
