//! `GET /metrics`: the node's and each slice's and VM's use of the host in
//! Prometheus' text exposition format (tern-vmm's [`Metrics`]), so that a scraper
//! collects a whole node from one socket. Slices' figures come from their cgroups,
//! VMs' from `/proc/PID/stat`.

use tern_vmm::control::{Family, MetricKind, Metrics};

use crate::error::NodeError;
use crate::node::{now_ms, Node};
use crate::procs;
use crate::spec::VmState;

/// A metric family labelled by slice: name, help, kind, (slice, value) samples.
type SliceFamily = (&'static str, &'static str, MetricKind, Vec<(String, f64)>);

/// Clock ticks per second (`/proc` times) and the page size (`/proc` sizes).
fn tick_and_page() -> (f64, f64) {
    // SAFETY: sysconf takes no pointers and only reads system constants.
    let (tick, page) = unsafe {
        (
            libc::sysconf(libc::_SC_CLK_TCK),
            libc::sysconf(libc::_SC_PAGESIZE),
        )
    };
    (tick.max(1) as f64, page.max(1) as f64)
}

/// The metrics of `node` now.
pub fn collect(node: &Node) -> Result<Metrics, NodeError> {
    let info = node.info()?;
    let slices = node.slices()?;
    let mut m = Metrics::default();
    m.one(
        "tern_node_slices",
        "Slices on the node.",
        MetricKind::Gauge,
        f64::from(info.slices),
    );
    m.one(
        "tern_node_memory_capacity_bytes",
        "Memory the node offers to slices.",
        MetricKind::Gauge,
        (info.memory_mib << 20) as f64,
    );
    m.one(
        "tern_node_memory_held_bytes",
        "Memory held by slices (their memory_mib).",
        MetricKind::Gauge,
        (info.memory_held_mib << 20) as f64,
    );
    let per_slice = |f: &dyn Fn(&crate::spec::Slice) -> f64| -> Vec<(String, f64)> {
        slices.iter().map(|s| (s.name.clone(), f(s))).collect()
    };
    let usage = |s: &crate::spec::Slice| s.usage.clone().unwrap_or_default();
    let now = now_ms();
    let families: [SliceFamily; 9] = [
        (
            "tern_slice_memory_limit_bytes",
            "The slice's memory limit (memory.max).",
            MetricKind::Gauge,
            per_slice(&|s| (s.spec.memory_mib << 20) as f64),
        ),
        (
            "tern_slice_memory_bytes",
            "Memory charged to the slice's cgroup.",
            MetricKind::Gauge,
            per_slice(&|s| usage(s).memory_bytes as f64),
        ),
        (
            "tern_slice_processes",
            "Processes and threads in the slice (pids.current).",
            MetricKind::Gauge,
            per_slice(&|s| usage(s).pids_current as f64),
        ),
        (
            "tern_slice_pids_max_refusals_total",
            "Forks refused at the slice's pids.max.",
            MetricKind::Counter,
            per_slice(&|s| usage(s).pids_max_hits as f64),
        ),
        (
            "tern_slice_oom_kills_total",
            "Processes of the slice ended by the OOM killer.",
            MetricKind::Counter,
            per_slice(&|s| usage(s).oom_kills as f64),
        ),
        (
            "tern_slice_running_vms",
            "VMs running in the slice.",
            MetricKind::Gauge,
            per_slice(&|s| f64::from(s.running_vms)),
        ),
        (
            "tern_slice_disk_quota_bytes",
            "The slice's disk quota (disk_mib; 0 for none).",
            MetricKind::Gauge,
            per_slice(&|s| (s.spec.disk_mib << 20) as f64),
        ),
        (
            "tern_slice_disk_bytes",
            "What the slice's files take against its disk quota (images, snapshots).",
            MetricKind::Gauge,
            per_slice(&|s| node.disk_used(&s.name) as f64),
        ),
        (
            "tern_slice_expires_in_seconds",
            "Seconds until the slice expires unless renewed.",
            MetricKind::Gauge,
            per_slice(&|s| s.expires_ms.saturating_sub(now) as f64 / 1000.0),
        ),
    ];
    for (name, help, kind, values) in families {
        m.labelled(name, help, kind, "slice", values);
    }
    let (tick, page) = tick_and_page();
    let mut cpu = Vec::new();
    let mut rss = Vec::new();
    for s in &slices {
        for vm in node.vms(&s.name)? {
            if vm.state != VmState::Running {
                continue;
            }
            let Some(st) = procs::stat(vm.pid).filter(|st| st.start_time == vm.start_time) else {
                continue;
            };
            let labels = vec![("slice", s.name.clone()), ("vm", vm.id.clone())];
            cpu.push((labels.clone(), st.cpu_ticks as f64 / tick));
            rss.push((labels, st.rss_pages as f64 * page));
        }
    }
    m.families.push(Family {
        name: "tern_vm_cpu_seconds_total",
        help: "CPU time of the VM's host process (user and kernel).",
        kind: MetricKind::Counter,
        samples: cpu,
    });
    m.families.push(Family {
        name: "tern_vm_resident_bytes",
        help: "Resident memory of the VM's host process.",
        kind: MetricKind::Gauge,
        samples: rss,
    });
    Ok(m)
}
