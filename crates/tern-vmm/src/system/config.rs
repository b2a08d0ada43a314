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

/// Whether a `--drive` value turns option `key` on (`on`, `true` or `yes`, as the
/// command line accepts them).
fn drive_flag(spec: &str, key: &str) -> bool {
    spec.split(',').any(|kv| {
        kv.split_once('=')
            .is_some_and(|(k, v)| k == key && matches!(v, "on" | "true" | "yes"))
    })
}

/// Whether a `--drive` value makes the disk read-only for the guest (`readonly=on`).
pub fn drive_is_read_only(spec: &str) -> bool {
    drive_flag(spec, "readonly")
}

/// Whether a `--drive` value asks for a throw-away overlay (`snapshot=on` on a disk the
/// guest may write).
pub fn drive_is_throwaway(spec: &str) -> bool {
    drive_flag(spec, "snapshot") && !drive_is_read_only(spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drive_options_are_read_as_the_command_line_reads_them() {
        let spec = "file=/d.img,format=raw,snapshot=yes";
        assert_eq!(drive_file(spec), Some("/d.img"));
        assert!(drive_is_throwaway(spec) && !drive_is_read_only(spec));
        assert!(!drive_is_throwaway("file=/d.img,snapshot=on,readonly=on"));
        assert!(drive_is_read_only("file=/d.img,readonly=true"));
        assert!(!drive_is_throwaway("file=/snapshot=on.img"));
    }
}
