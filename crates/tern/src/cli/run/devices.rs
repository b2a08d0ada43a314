//! Building the virtio devices of a `virt` machine from the command line.

use tern_machine::virt::VirtioFactory;

use super::spec::{DriveSpec, NetSpec};

/// One factory per device, in slot order: drives, then network cards, then the rest.
pub fn factories(
    drives: &[DriveSpec],
    nets: &[NetSpec],
    extra: &[String],
) -> anyhow::Result<Vec<VirtioFactory>> {
    let factories: Vec<VirtioFactory> = Vec::new();
    if !drives.is_empty() || !nets.is_empty() || !extra.is_empty() {
        anyhow::bail!("virtio devices are not wired yet");
    }
    Ok(factories)
}
