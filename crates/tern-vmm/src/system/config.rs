//! What shapes a system VM, kept in its snapshot so that `tern restore` can rebuild the
//! same machine: the board's size and firmware mode, and the device options as the
//! user gave them on the command line (re-parsed on restore).

use serde::{Deserialize, Serialize};
use tern_hart::ClockMode;
use tern_state::{Decoder, Encoder, StateError, Versioned};

/// The configuration of a `virt` machine.
///
/// Encoded (version 1, kind `virt-config`) as a base (harts, memory, firmware mode,
/// clock) and parts `drives`, `netdevs`, `devices` and `policy`, each written when
/// not empty.
#[derive(Clone, Debug, PartialEq, Eq)]
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
    /// The `--policy` file's text (SBI and MMIO rules), which a restore installs
    /// again unless told otherwise.
    pub policy: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct Board {
    harts: u32,
    memory: u64,
    builtin_sbi: bool,
    clock: ClockMode,
}

impl Versioned for SystemConfig {
    const KIND: &'static str = "virt-config";
    const VERSION: u32 = 1;

    fn encode(&self, out: &mut Encoder) {
        out.base(&Board {
            harts: self.harts as u32,
            memory: self.memory,
            builtin_sbi: self.builtin_sbi,
            clock: self.clock,
        });
        out.part("drives", !self.drives.is_empty(), &self.drives);
        out.part("netdevs", !self.netdevs.is_empty(), &self.netdevs);
        out.part("devices", !self.devices.is_empty(), &self.devices);
        out.part("policy", self.policy.is_some(), &self.policy);
    }

    fn decode(input: &mut Decoder<'_>) -> Result<Self, StateError> {
        let b: Board = input.base()?;
        Ok(SystemConfig {
            harts: b.harts as usize,
            memory: b.memory,
            builtin_sbi: b.builtin_sbi,
            clock: b.clock,
            drives: input.part_or_default("drives")?,
            netdevs: input.part_or_default("netdevs")?,
            devices: input.part_or_default("devices")?,
            policy: input.part_or_default("policy")?,
        })
    }
}

/// The configuration of a `spike` machine (the program is in the snapshot's memory;
/// where its HTIF mailboxes are is board state).
///
/// Encoded (version 1, kind `spike-config`) as a base (memory, clock).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpikeVmConfig {
    /// RAM size in bytes.
    pub memory: u64,
    /// How guest time advances.
    pub clock: ClockMode,
}

impl Versioned for SpikeVmConfig {
    const KIND: &'static str = "spike-config";
    const VERSION: u32 = 1;

    fn encode(&self, out: &mut Encoder) {
        out.base(self);
    }

    fn decode(input: &mut Decoder<'_>) -> Result<Self, StateError> {
        input.base()
    }
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

    #[test]
    fn a_configuration_without_devices_decodes() {
        let mut c = SystemConfig {
            harts: 2,
            memory: 64 << 20,
            builtin_sbi: true,
            clock: ClockMode::Host,
            drives: vec!["file=/d.img".into()],
            netdevs: Vec::new(),
            devices: vec!["virtio-rng".into()],
            policy: Some("sbi-deny srst\n".into()),
        };
        let with = tern_state::to_bytes(&c).unwrap();
        assert_eq!(tern_state::from_bytes::<SystemConfig>(&with).unwrap(), c);
        c.drives.clear();
        c.devices.clear();
        c.policy = None;
        let plain = tern_state::to_bytes(&c).unwrap();
        assert!(plain.len() < with.len());
        assert_eq!(tern_state::from_bytes::<SystemConfig>(&plain).unwrap(), c);
    }
}
