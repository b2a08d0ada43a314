//! What the source side needs of the VM it migrates: a system VM on the virt board
//! ([`SourceVm`]) or a process VM ([`crate::process::migrate::ProcessMigrant`]). The
//! rounds, the switch-over and post-copy are the same for both: guest RAM with its
//! dirty log, a pause at an instruction boundary, and component states.

use std::sync::Arc;
use std::time::Duration;

use tern_devices::virtio::disk::DiskHandle;
use tern_hart::GuestRam;
use tern_machine::virt::state::VirtHandle;
use tern_migrate::Message;
use tern_state::Sections;

use crate::system::config::{drive_file, SystemConfig};

/// One drive of the VM: the image it was opened from (if a file) and its disk.
pub struct Drive {
    /// The image file, as the drive's specification names it.
    pub path: Option<String>,
    /// The disk.
    pub disk: DiskHandle,
}

/// A VM the source side can move.
pub trait Migrant: Send + Sync {
    /// The configuration message that opens the stream ([`Message::Config`] or
    /// [`Message::ProcessConfig`]).
    fn config(&self) -> Result<Message, String>;
    /// Guest RAM.
    fn ram(&self) -> Arc<GuestRam>;
    /// Bytes of RAM, from its base, that hold the VM's memory (what moves).
    fn memory(&self) -> u64;
    /// The drives, in the configuration's order.
    fn drives(&self) -> Vec<Drive>;
    /// Takes the dirty log while the VM runs (see [`VirtHandle::sync_dirty_log`]).
    fn sync_dirty_log(&self) -> Vec<u64>;
    /// Slows the VM to `percent` of its speed taken away (0: full speed); false if
    /// this kind of VM cannot be throttled.
    fn set_throttle(&self, percent: u32) -> bool;
    /// Stops the VM at an instruction boundary.
    fn pause(&self, timeout: Duration) -> Result<(), String>;
    /// Lets it run again (a migration that failed before its switch-over).
    fn resume(&self);
    /// The state of the paused VM, all but RAM, by component.
    fn save_state(&self) -> Result<Sections, String>;
    /// Ends the VM here: it runs at the destination now.
    fn moved(&self);
}

/// A system VM being migrated.
#[derive(Clone)]
pub struct SourceVm {
    /// The machine.
    pub handle: VirtHandle,
    /// Its configuration.
    pub config: SystemConfig,
    /// Its drives' disks, in the order of `config.drives`.
    pub disks: Vec<DiskHandle>,
}

impl Migrant for SourceVm {
    fn config(&self) -> Result<Message, String> {
        tern_state::to_bytes(&self.config)
            .map(Message::Config)
            .map_err(|e| format!("configuration: {e}"))
    }

    fn ram(&self) -> Arc<GuestRam> {
        self.handle.ram()
    }

    fn memory(&self) -> u64 {
        self.handle.ram().size()
    }

    fn drives(&self) -> Vec<Drive> {
        self.config
            .drives
            .iter()
            .zip(&self.disks)
            .map(|(spec, disk)| Drive {
                path: drive_file(spec).map(str::to_string),
                disk: disk.clone(),
            })
            .collect()
    }

    fn sync_dirty_log(&self) -> Vec<u64> {
        self.handle.sync_dirty_log()
    }

    fn set_throttle(&self, percent: u32) -> bool {
        self.handle.set_throttle(percent);
        true
    }

    fn pause(&self, timeout: Duration) -> Result<(), String> {
        self.handle.pause(timeout).map_err(|e| e.to_string())
    }

    fn resume(&self) {
        let _ = self.handle.resume();
    }

    fn save_state(&self) -> Result<Sections, String> {
        self.handle.save_state().map_err(|e| e.to_string())
    }

    fn moved(&self) {
        self.handle.stop();
    }
}
