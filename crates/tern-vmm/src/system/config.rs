//! What shapes a system VM, kept in its snapshot so that `tern restore` can rebuild the
//! same machine: the board's size and firmware mode, and the device options as the
//! user gave them on the command line (re-parsed on restore).

use serde::{Deserialize, Serialize};
use tern_hart::ClockMode;

/// The configuration of a `virt` machine.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemConfig {
    /// Number of harts.
    pub harts: usize,
    /// RAM size in bytes.
    pub memory: u64,
    /// tern was the firmware (no `--bios`).
    pub builtin_sbi: bool,
    /// How guest time advances.
    pub clock: ClockMode,
    /// `--drive` values.
    pub drives: Vec<String>,
    /// `--netdev` values.
    pub netdevs: Vec<String>,
    /// `--device` values.
    pub devices: Vec<String>,
}

/// The disk image path of a `--drive` value, if it has one.
pub fn drive_file(spec: &str) -> Option<&str> {
    spec.split(',').find_map(|kv| kv.strip_prefix("file="))
}

/// Whether a `--drive` value asks for a throw-away overlay (`snapshot=on`).
pub fn drive_is_throwaway(spec: &str) -> bool {
    spec.split(',').any(|kv| kv == "snapshot=on")
}
