//! Interposition on a system VM's device accesses (`tern run --policy FILE`): rules
//! that log or deny the guest's loads and stores to a device window, by device and
//! direction, in the same policy file as the SBI rules ([`super::sbi::policy`]).
//!
//! ```text
//! mmio-log uart write           # "tern mmio: uart write 0x0/1 0x41" per store
//! mmio-deny virtio-blk write    # every store to a block device's registers dropped
//! mmio-log plic rtc             # both directions of two devices
//! ```
//!
//! A device is named as the board names its window (`test`, `rtc`, `clint`, `plic`,
//! `uart`, `virtio0` … `virtio7`, see `GET /status`), or by the kind of virtio device
//! in a slot (`virtio-net`, `virtio-blk`, `virtio-console`, `virtio-rng`: every slot
//! holding one). The direction is `read`, `write` or both when not given.
//!
//! A denied access does not reach the device model and does not fault: a load reads
//! 0, a store is dropped, as on a device that ignores the guest (a fault would look
//! like a broken bus to the guest's kernel; ignoring is what a guest driver is
//! written to survive). Denying a virtio device's register stores from boot keeps its
//! driver from bringing it up (status and feature writes vanish), so the guest sees
//! no such device and its host backend is never touched. A denied access is always
//! logged, with `denied`.
//!
//! The rules live on each window ([`super::bus::Window::policy`]), set before the
//! harts run: a window without rules pays one load and a branch on an access that
//! already leaves the run loop for the device model.

use std::io::Write;
use std::sync::{Arc, Mutex};

/// What a rule does to the accesses it matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MmioAction {
    /// Passed to the device and logged.
    Log,
    /// Not passed to the device (loads read 0, stores are dropped); logged.
    Deny,
}

/// The log of a policy's MMIO rules, shared by all windows.
pub type MmioLog = Arc<Mutex<Box<dyn Write + Send>>>;

/// The rules of one device window, by direction.
pub struct WindowRules {
    /// What applies to loads.
    pub read: Option<MmioAction>,
    /// What applies to stores.
    pub write: Option<MmioAction>,
    log: MmioLog,
}

impl WindowRules {
    /// Writes one access to the log: `tern mmio: DEVICE read|write OFFSET/SIZE VALUE`,
    /// with ` denied` when it was.
    pub fn record(&self, device: &str, write: bool, offset: u64, size: u8, value: u64) {
        let action = if write { self.write } else { self.read };
        let line = format!(
            "tern mmio: {device} {} {offset:#x}/{size} {value:#x}{}\n",
            if write { "write" } else { "read" },
            if action == Some(MmioAction::Deny) {
                " denied"
            } else {
                ""
            }
        );
        let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        // A broken log must not stop the guest.
        let _ = log.write_all(line.as_bytes());
        let _ = log.flush();
    }
}

/// One rule: a device name, the directions, the action.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Rule {
    device: String,
    read: bool,
    write: bool,
    action: MmioAction,
}

/// The MMIO rules of a policy file.
pub struct MmioPolicy {
    rules: Vec<Rule>,
    log: MmioLog,
}

/// The kinds of virtio device a rule may name, with their device type.
const VIRTIO_KINDS: &[(&str, u32)] = &[
    ("virtio-net", tern_devices::virtio::ID_NET),
    ("virtio-blk", tern_devices::virtio::ID_BLOCK),
    ("virtio-console", tern_devices::virtio::ID_CONSOLE),
    ("virtio-rng", tern_devices::virtio::ID_RNG),
];

/// Offset of a virtio-mmio window's DeviceID register (virtio 1.2 §4.2.2): the type
/// of device in the slot, 0 when the slot is empty.
pub const VIRTIO_DEVICE_ID: u64 = 0x8;

/// The device type of a virtio kind name.
pub fn virtio_kind(name: &str) -> Option<u32> {
    VIRTIO_KINDS.iter().find(|(n, _)| *n == name).map(|k| k.1)
}

impl MmioPolicy {
    /// Parses the `mmio-log` and `mmio-deny` lines of `text` (others are the
    /// caller's, see [`MmioPolicy::is_rule`]). Device names are checked when the
    /// rules are put on a machine. Log lines go to `log`. Errors name the line.
    pub fn parse(text: &str, log: Box<dyn Write + Send>) -> Result<MmioPolicy, String> {
        let mut rules = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            let mut words = line.split_whitespace();
            let action = match words.next() {
                Some("mmio-log") => MmioAction::Log,
                Some("mmio-deny") => MmioAction::Deny,
                _ => continue,
            };
            let (mut devices, mut read, mut write) = (Vec::new(), false, false);
            for w in words {
                match w {
                    "read" => read = true,
                    "write" => write = true,
                    d => devices.push(d.to_string()),
                }
            }
            if devices.is_empty() {
                return Err(format!("line {}: no device named", n + 1));
            }
            if !read && !write {
                (read, write) = (true, true);
            }
            rules.extend(devices.into_iter().map(|device| Rule {
                device,
                read,
                write,
                action,
            }));
        }
        Ok(MmioPolicy {
            rules,
            log: Arc::new(Mutex::new(log)),
        })
    }

    /// Whether the policy line `line` is an MMIO rule.
    pub fn is_rule(line: &str) -> bool {
        matches!(
            line.split_whitespace().next(),
            Some("mmio-log") | Some("mmio-deny")
        )
    }

    /// Whether the policy has rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The names the rules use, each once.
    pub fn devices(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for r in &self.rules {
            if !names.contains(&r.device.as_str()) {
                names.push(&r.device);
            }
        }
        names
    }

    /// The rules for the window `name` holding a virtio device of type `virtio_type`
    /// (`None` for other devices and empty slots), or `None` when no rule names it.
    /// Deny wins over log.
    pub fn for_window(&self, name: &str, virtio_type: Option<u32>) -> Option<WindowRules> {
        let mut rules = WindowRules {
            read: None,
            write: None,
            log: self.log.clone(),
        };
        let merge = |slot: &mut Option<MmioAction>, a: MmioAction| {
            if *slot != Some(MmioAction::Deny) {
                *slot = Some(a);
            }
        };
        let mut any = false;
        for r in &self.rules {
            let named = r.device == name
                || (virtio_type.is_some() && virtio_kind(&r.device) == virtio_type);
            if !named {
                continue;
            }
            any = true;
            if r.read {
                merge(&mut rules.read, r.action);
            }
            if r.write {
                merge(&mut rules.write, r.action);
            }
        }
        any.then_some(rules)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_match_by_window_name_kind_and_direction() {
        let p = MmioPolicy::parse(
            "mmio-log uart write # console\nmmio-deny virtio-blk write\nmmio-log virtio-blk\n\
             sbi-deny srst\nmmio-log plic rtc\n",
            Box::new(std::io::sink()),
        )
        .expect("parses");
        let uart = p.for_window("uart", None).expect("uart has rules");
        assert_eq!((uart.read, uart.write), (None, Some(MmioAction::Log)));
        let blk = p
            .for_window("virtio1", Some(tern_devices::virtio::ID_BLOCK))
            .expect("a block device has rules");
        assert_eq!(
            (blk.read, blk.write),
            (Some(MmioAction::Log), Some(MmioAction::Deny))
        );
        assert!(p
            .for_window("virtio0", Some(tern_devices::virtio::ID_NET))
            .is_none());
        let rtc = p.for_window("rtc", None).expect("rtc has rules");
        assert_eq!(
            (rtc.read, rtc.write),
            (Some(MmioAction::Log), Some(MmioAction::Log))
        );
        assert!(p.for_window("clint", None).is_none());
        assert_eq!(p.devices(), ["uart", "virtio-blk", "plic", "rtc"]);
        assert!(
            MmioPolicy::parse("mmio-deny write", Box::new(std::io::sink()))
                .is_err_and(|e| e.contains("line 1"))
        );
        assert!(MmioPolicy::parse("sbi-log base", Box::new(std::io::sink()))
            .expect("parses")
            .is_empty());
    }

    #[test]
    fn the_log_names_device_direction_offset_size_value() {
        #[derive(Clone, Default)]
        struct Buf(Arc<Mutex<Vec<u8>>>);
        impl Write for Buf {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buf = Buf::default();
        let p = MmioPolicy::parse("mmio-deny uart write\nmmio-log uart", Box::new(buf.clone()))
            .expect("parses");
        let w = p.for_window("uart", None).expect("rules");
        w.record("uart", true, 0, 1, 0x41);
        w.record("uart", false, 5, 1, 0x60);
        assert_eq!(
            String::from_utf8(buf.0.lock().unwrap().clone()).unwrap(),
            "tern mmio: uart write 0x0/1 0x41 denied\ntern mmio: uart read 0x5/1 0x60\n"
        );
    }
}
