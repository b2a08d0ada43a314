//! What `GET /metrics` reports: the VM's counters in Prometheus' text exposition
//! format (version 0.0.4), so that a Prometheus server or any scraper can collect
//! them from the control socket.

use std::fmt::Write;

use super::status::VmStatus;

/// Whether a metric only grows or may go both ways.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricKind {
    /// Only grows (while the process lives): `_total` names.
    Counter,
    /// A current value.
    Gauge,
}

/// One metric family: its name, help text, kind and samples (label pairs, value).
#[derive(Clone, Debug, PartialEq)]
pub struct Family {
    /// Metric name (`tern_...`).
    pub name: &'static str,
    /// One line of help.
    pub help: &'static str,
    /// Counter or gauge.
    pub kind: MetricKind,
    /// Samples: label pairs and the value.
    pub samples: Vec<(Vec<(&'static str, String)>, f64)>,
}

/// All metrics of a VM.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Metrics {
    /// The families, in output order.
    pub families: Vec<Family>,
}

impl Metrics {
    /// Adds a family with one unlabelled sample.
    pub fn one(&mut self, name: &'static str, help: &'static str, kind: MetricKind, value: f64) {
        self.families.push(Family {
            name,
            help,
            kind,
            samples: vec![(Vec::new(), value)],
        });
    }

    /// Adds a family of samples labelled `label`.
    pub fn labelled(
        &mut self,
        name: &'static str,
        help: &'static str,
        kind: MetricKind,
        label: &'static str,
        values: impl IntoIterator<Item = (String, f64)>,
    ) {
        let samples = values
            .into_iter()
            .map(|(l, v)| (vec![(label, l)], v))
            .collect();
        self.families.push(Family {
            name,
            help,
            kind,
            samples,
        });
    }

    /// The metrics every VM has, from its status: instructions (all harts and per
    /// hart or thread), memory size and pages written, devices, uptime.
    pub fn from_status(s: &VmStatus) -> Metrics {
        let mut m = Metrics::default();
        m.one(
            "tern_instructions_retired_total",
            "Instructions retired by all harts (threads) of the VM.",
            MetricKind::Counter,
            s.instructions_retired as f64,
        );
        m.labelled(
            "tern_hart_instructions_retired_total",
            "Instructions retired per hart (system VM) or thread (process VM).",
            MetricKind::Counter,
            "hart",
            s.harts
                .iter()
                .map(|h| (h.id.to_string(), h.instructions_retired as f64)),
        );
        m.one(
            "tern_memory_bytes",
            "Guest RAM size in bytes.",
            MetricKind::Gauge,
            s.memory.size_bytes as f64,
        );
        m.one(
            "tern_memory_dirty_bytes",
            "Guest RAM written since the VM started or its last snapshot (4 KiB pages).",
            MetricKind::Gauge,
            s.memory.touched_bytes as f64,
        );
        m.one(
            "tern_uptime_seconds",
            "Seconds since the VM started in this process.",
            MetricKind::Gauge,
            s.uptime_ms as f64 / 1000.0,
        );
        m.one(
            "tern_running",
            "1 while the VM runs, 0 while it is paused or stopped.",
            MetricKind::Gauge,
            f64::from(u8::from(s.state == super::VmState::Running)),
        );
        m
    }

    /// Adds the harts' slow-path counters ([`tern_hart::HartCounters`]), labelled
    /// by hart (system VM) or thread (process VM): software-TLB misses that walked
    /// the page tables, block lookups the jump cache missed, blocks decoded because
    /// the block cache missed. (Hits are not counted: that would cost on the fast
    /// paths.)
    pub fn hart_counters(&mut self, harts: &[(String, tern_hart::HartCounters)]) {
        let per = |f: fn(&tern_hart::HartCounters) -> u64| {
            harts
                .iter()
                .map(move |(id, c)| (id.clone(), f(c) as f64))
                .collect::<Vec<_>>()
        };
        self.labelled(
            "tern_hart_tlb_walks_total",
            "Software-TLB misses that walked the page tables, per hart (or thread).",
            MetricKind::Counter,
            "hart",
            per(|c| c.tlb_walks),
        );
        self.labelled(
            "tern_hart_jump_cache_misses_total",
            "Block lookups by virtual pc that the jump cache missed, per hart (or thread).",
            MetricKind::Counter,
            "hart",
            per(|c| c.jump_cache_misses),
        );
        self.labelled(
            "tern_hart_blocks_decoded_total",
            "Blocks decoded because the block cache missed, per hart (or thread).",
            MetricKind::Counter,
            "hart",
            per(|c| c.blocks_decoded),
        );
    }

    /// Adds the current or last live migration's progress (`GET /migrate` as
    /// metrics): its phase (one sample at 1, labelled by phase), rounds, bytes and
    /// pages sent, and downtime once known. A new migration starts its counts again
    /// (a counter reset, as scrapers expect of a restarted process).
    pub fn migration(&mut self, s: &super::migrate::MigrationStatus) {
        let phase = serde_json::to_value(s.phase)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        self.labelled(
            "tern_migration_phase",
            "Phase of the current or last live migration (none if never asked).",
            MetricKind::Gauge,
            "phase",
            [(phase, 1.0)],
        );
        self.one(
            "tern_migration_iterations_total",
            "Pre-copy rounds of the current or last live migration.",
            MetricKind::Counter,
            s.iteration as f64,
        );
        self.one(
            "tern_migration_bytes_sent_total",
            "Bytes sent by the current or last live migration (frames, before TLS).",
            MetricKind::Counter,
            s.bytes_sent as f64,
        );
        self.one(
            "tern_migration_pages_sent_total",
            "Guest pages sent by the current or last live migration (resent ones too).",
            MetricKind::Counter,
            s.pages_sent as f64,
        );
        if let Some(d) = s.downtime_ms {
            self.one(
                "tern_migration_downtime_seconds",
                "How long the VM stood still in the last live migration's switch-over.",
                MetricKind::Gauge,
                d / 1000.0,
            );
        }
    }

    /// The text exposition format: `# HELP`, `# TYPE`, then one line per sample.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for f in &self.families {
            let kind = match f.kind {
                MetricKind::Counter => "counter",
                MetricKind::Gauge => "gauge",
            };
            let _ = writeln!(out, "# HELP {} {}", f.name, f.help);
            let _ = writeln!(out, "# TYPE {} {kind}", f.name);
            for (labels, value) in &f.samples {
                out.push_str(f.name);
                if !labels.is_empty() {
                    let inner: Vec<String> = labels
                        .iter()
                        .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
                        .collect();
                    let _ = write!(out, "{{{}}}", inner.join(","));
                }
                let _ = writeln!(out, " {value}");
            }
        }
        out
    }
}

/// A label value with `\`, `"` and newlines escaped as the format requires.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_text_format() {
        let mut m = Metrics::default();
        m.one("tern_a_total", "A thing.", MetricKind::Counter, 3.0);
        m.labelled(
            "tern_b",
            "B per device.",
            MetricKind::Gauge,
            "device",
            [("uart".to_string(), 1.5), ("we\"ird".to_string(), 0.0)],
        );
        assert_eq!(
            m.to_text(),
            "# HELP tern_a_total A thing.\n# TYPE tern_a_total counter\ntern_a_total 3\n\
             # HELP tern_b B per device.\n# TYPE tern_b gauge\ntern_b{device=\"uart\"} 1.5\n\
             tern_b{device=\"we\\\"ird\"} 0\n"
        );
    }

    #[test]
    fn a_migration_shows_its_phase_and_counts() {
        let mut m = Metrics::default();
        let mut s = crate::control::migrate::MigrationStatus::none();
        s.phase = crate::control::migrate::MigrationPhase::Precopy;
        s.pages_sent = 7;
        m.migration(&s);
        let text = m.to_text();
        assert!(
            text.contains("tern_migration_phase{phase=\"precopy\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("tern_migration_pages_sent_total 7\n"),
            "{text}"
        );
        assert!(!text.contains("downtime"), "{text}");
    }
}
