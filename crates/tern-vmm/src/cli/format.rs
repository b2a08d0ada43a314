//! Human-readable renderings of API answers.

use std::fmt::Write;

use crate::control::{SnapshotInfo, VmStatus};

/// `bytes` as KiB/MiB/GiB with one decimal, or plain bytes below 1 KiB.
pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut v = bytes as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

/// The status as aligned lines, harts and devices as indented tables.
pub fn status(s: &VmStatus) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "state         {}", s.state.as_str());
    let _ = writeln!(o, "kind          {}", s.kind.as_str());
    let _ = writeln!(o, "uptime        {:.3} s", s.uptime_ms as f64 / 1000.0);
    let _ = writeln!(o, "instructions  {}", s.instructions_retired);
    let _ = writeln!(
        o,
        "memory        {} ({} touched)",
        size(s.memory.size_bytes),
        size(s.memory.touched_bytes)
    );
    let title = match s.kind {
        crate::control::VmKind::System => "harts",
        crate::control::VmKind::Process => "threads",
    };
    let _ = writeln!(o, "{title:<13} {}", s.harts.len());
    for h in &s.harts {
        let _ = writeln!(
            o,
            "  {:>4}  {:<9}  {}  pc {:#018x}  {} instructions",
            h.id,
            h.state.as_str(),
            h.privilege.letter(),
            h.pc,
            h.instructions_retired
        );
    }
    let _ = writeln!(o, "devices       {}", s.devices.len());
    for d in &s.devices {
        let _ = writeln!(o, "  {:<16}  {}", d.name, d.kind);
    }
    o
}

/// One line saying what was written.
pub fn snapshot(i: &SnapshotInfo) -> String {
    let mut o = format!(
        "snapshot {} written to {}: {}, {} page{}, VM held {:.1} ms",
        i.id,
        i.path,
        size(i.bytes),
        i.pages_written,
        if i.pages_written == 1 { "" } else { "s" },
        i.duration_us as f64 / 1000.0
    );
    if let Some(p) = &i.parent {
        let _ = write!(o, ", incremental to {p}");
    }
    if i.compress != crate::control::Compression::None {
        let _ = write!(o, ", zstd");
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(size(0), "0 B");
        assert_eq!(size(1023), "1023 B");
        assert_eq!(size(1024), "1.0 KiB");
        assert_eq!(size(256 << 20), "256.0 MiB");
        assert_eq!(size(3 << 30), "3.0 GiB");
        assert_eq!(size(u64::MAX), "16777216.0 TiB");
    }
}
