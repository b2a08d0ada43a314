//! Guest RAM in snapshot files, the same for both kinds of VM: reading it page by
//! page while writing a snapshot, and filling a fresh RAM from one on restore.

use std::io;

use tern_hart::GuestRam;
use tern_snapshot::{PageLocation, PageSource, PopulateOptions, Snapshot, PAGE_SIZE};

/// Guest RAM as a page source for the snapshot writer.
pub struct RamPages<'a>(pub &'a GuestRam);

impl PageSource for RamPages<'_> {
    fn read_page(&self, index: u64, buf: &mut [u8]) -> io::Result<()> {
        let addr = self.0.base() + index * PAGE_SIZE;
        self.0
            .read(addr, buf)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))
    }
}

/// Fills `ram` (fresh, zero, no hart running) from memory section `name` of
/// `snapshot`: stored uncompressed pages are mapped from the file copy-on-write and
/// read lazily, compressed ones are decompressed into place. Restored pages count as
/// clean, so the next incremental snapshot stores only new writes.
pub fn fill_ram(snapshot: &Snapshot, name: &str, ram: &GuestRam) -> anyhow::Result<()> {
    let view = snapshot.memory(name)?;
    let region = view.region();
    if region.base != ram.base() || region.size != ram.size() {
        anyhow::bail!(
            "snapshot memory `{name}` is {:#x}+{:#x}, the VM's {:#x}+{:#x}",
            region.base,
            region.size,
            ram.base(),
            ram.size()
        );
    }
    let mut compressed = false;
    for run in view.plan() {
        let addr = ram.base() + run.first_page * PAGE_SIZE;
        match run.location {
            PageLocation::Zero => {}
            PageLocation::File { layer, offset } => {
                let file = snapshot
                    .layer_file(layer)
                    .ok_or_else(|| anyhow::anyhow!("snapshot memory: layer {layer} is missing"))?;
                ram.map_file(addr, run.pages * PAGE_SIZE, file, offset)?;
            }
            _ => compressed = true,
        }
    }
    if compressed {
        let opts = PopulateOptions {
            dest_is_zeroed: true,
            mapped_min_pages: Some(1),
            threads: 0,
        };
        // SAFETY: the VM has not started: no hart runs and no device touches guest
        // RAM while the snapshot's compressed pages are decompressed into it.
        let dest = unsafe { ram.restore_slice() };
        view.populate_with(dest, &opts)?;
    }
    ram.take_dirty();
    Ok(())
}
