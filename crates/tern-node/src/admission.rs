//! Admission control: the node's capacity, what slices hold of it, and refusing a
//! slice (or a VM in a slice) that does not fit, with a message saying what is short.
//!
//! Memory and disk are reserved: the sum over slices stays within the node's. CPU is
//! shared by weight and may be overcommitted (more harts than host CPUs is logical
//! partitioning); only a cap beyond the host's CPUs is refused.

use std::path::Path;

use crate::spec::{SliceSpec, StartVm, Vm, VmState};

/// Most slices on one node: each costs a cgroup and store records, and the node's
/// answers list them all.
pub const MAX_SLICES: u32 = 1024;

/// What the node offers to slices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capacity {
    /// Host CPUs (their number, for caps).
    pub cpus: u32,
    /// The host CPUs the node may hand out (the daemon's own affinity: all online
    /// CPUs, or those `taskset` or a cpuset gave it).
    pub cpu_ids: Vec<u32>,
    /// Memory in MiB.
    pub memory_mib: u64,
    /// Disk in MiB.
    pub disk_mib: u64,
}

impl Capacity {
    /// The host's: its online CPUs, its physical memory, and the free space of the
    /// file system holding `state_dir`.
    pub fn of_host(state_dir: &Path) -> Capacity {
        let cpu_ids = own_cpus();
        Capacity {
            cpus: (cpu_ids.len() as u32).max(1),
            cpu_ids,
            memory_mib: host_memory_mib(),
            disk_mib: free_disk_mib(state_dir),
        }
    }
}

/// The CPUs this process may run on.
fn own_cpus() -> Vec<u32> {
    // SAFETY: cpu_set_t is a plain bit array; all zeroes is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a writable cpu_set_t of the size passed.
    let r = unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) };
    if r != 0 {
        return vec![0];
    }
    (0..crate::affinity::MAX_CPUS)
        // SAFETY: c < CPU_SETSIZE, so the bit read is inside `set`.
        .filter(|&c| unsafe { libc::CPU_ISSET(c as usize, &set) })
        .collect()
}

fn host_memory_mib() -> u64 {
    // SAFETY: sysconf takes no pointers and only reads system constants.
    let (pages, size) = unsafe {
        (
            libc::sysconf(libc::_SC_PHYS_PAGES),
            libc::sysconf(libc::_SC_PAGESIZE),
        )
    };
    if pages <= 0 || size <= 0 {
        return 0;
    }
    (pages as u64).saturating_mul(size as u64) >> 20
}

fn free_disk_mib(dir: &Path) -> u64 {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
        return 0;
    };
    // SAFETY: statvfs is plain old data; zeroed is a valid value of it.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid NUL-terminated path and `st` a writable statvfs, both
    // alive across the call.
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return 0;
    }
    (st.f_bavail as u64).saturating_mul(st.f_frsize as u64) >> 20
}

/// Totals held by slices.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Held {
    /// Memory in MiB.
    pub memory_mib: u64,
    /// Disk in MiB.
    pub disk_mib: u64,
    /// Number of slices.
    pub slices: u32,
    /// CPUs dedicated to slices, with the slice holding each.
    pub dedicated: Vec<(u32, String)>,
}

impl Held {
    /// The sum over `specs`.
    pub fn of<'a>(slices: impl IntoIterator<Item = (&'a str, &'a SliceSpec)>) -> Held {
        let mut h = Held::default();
        for (name, s) in slices {
            h.memory_mib = h.memory_mib.saturating_add(s.memory_mib);
            h.disk_mib = h.disk_mib.saturating_add(s.disk_mib);
            h.slices += 1;
            h.dedicated
                .extend(s.cpus.iter().map(|&c| (c, name.to_string())));
        }
        h
    }

    /// The dedicated CPUs alone.
    pub fn dedicated_cpus(&self) -> Vec<u32> {
        let mut c: Vec<u32> = self.dedicated.iter().map(|(c, _)| *c).collect();
        c.sort_unstable();
        c
    }
}

/// Whether a new slice `name` asking for `spec` fits beside what slices `held`;
/// otherwise what is short.
pub fn admit_slice(cap: Capacity, held: &Held, name: &str, spec: &SliceSpec) -> Result<(), String> {
    if held.slices >= MAX_SLICES {
        return Err(format!(
            "the node cannot hold slice `{name}`: it has {} slices, its most",
            held.slices
        ));
    }
    let mut short = Vec::new();
    let free_mem = cap.memory_mib.saturating_sub(held.memory_mib);
    if spec.memory_mib > free_mem {
        short.push(format!(
            "memory: it asks for {} MiB but {free_mem} MiB are free ({} MiB on the node, \
             {} MiB held by {} slices)",
            spec.memory_mib, cap.memory_mib, held.memory_mib, held.slices
        ));
    }
    let free_disk = cap.disk_mib.saturating_sub(held.disk_mib);
    if spec.disk_mib > free_disk {
        short.push(format!(
            "disk: it asks for {} MiB but {free_disk} MiB are free ({} MiB on the node, \
             {} MiB held by {} slices)",
            spec.disk_mib, cap.disk_mib, held.disk_mib, held.slices
        ));
    }
    if let Some(p) = spec.cpu_max_percent {
        let most = u64::from(cap.cpus) * 100;
        if u64::from(p) > most {
            short.push(format!(
                "cpu: a cap of {p}% is more than the node's {} CPUs give ({most}%)",
                cap.cpus
            ));
        }
    }
    for &c in &spec.cpus {
        if !cap.cpu_ids.contains(&c) {
            short.push(format!(
                "cpu: CPU {c} is not one of the node's ({})",
                crate::affinity::list_text(&cap.cpu_ids)
            ));
        } else if let Some((_, owner)) = held.dedicated.iter().find(|(d, _)| *d == c) {
            short.push(format!("cpu: CPU {c} is dedicated to slice `{owner}`"));
        }
    }
    if !spec.cpus.is_empty() && held.dedicated.len() + spec.cpus.len() >= cap.cpu_ids.len() {
        short.push(format!(
            "cpu: dedicating CPUs {} would leave no CPU for time-shared slices ({} of the \
             node's {} are dedicated already)",
            crate::affinity::list_text(&spec.cpus),
            held.dedicated.len(),
            cap.cpu_ids.len()
        ));
    }
    if short.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the node cannot hold slice `{name}`: not enough {}",
            short.join("; not enough ")
        ))
    }
}

/// Whether a VM `req` fits in slice `name` (its `spec`) beside its running `vms`.
pub fn admit_vm(name: &str, spec: &SliceSpec, vms: &[Vm], req: &StartVm) -> Result<(), String> {
    let running: Vec<&Vm> = vms.iter().filter(|v| v.state == VmState::Running).collect();
    if running.len() as u64 >= u64::from(spec.max_vms) {
        return Err(format!(
            "slice `{name}` runs {} VMs already, its max_vms",
            running.len()
        ));
    }
    let used: u64 = running.iter().map(|v| v.memory_mib).sum();
    let free = spec.memory_mib.saturating_sub(used);
    if req.memory_mib > free {
        return Err(format!(
            "slice `{name}` has not enough memory for the VM: it asks for {} MiB but {free} MiB \
             of the slice's {} MiB are free ({used} MiB held by {} running VMs)",
            req.memory_mib,
            spec.memory_mib,
            running.len()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cap() -> Capacity {
        Capacity {
            cpus: 2,
            cpu_ids: vec![0, 1],
            memory_mib: 1024,
            disk_mib: 1000,
        }
    }

    #[test]
    fn memory_and_disk_are_reserved_and_the_refusal_says_what_is_short() {
        let a = SliceSpec {
            memory_mib: 768,
            disk_mib: 0,
            ..SliceSpec::default()
        };
        let held = Held::of([("a", &a)]);
        let b = SliceSpec {
            memory_mib: 512,
            disk_mib: 2000,
            ..SliceSpec::default()
        };
        let e = admit_slice(cap(), &held, "b", &b).unwrap_err();
        assert!(
            e.contains("memory: it asks for 512 MiB but 256 MiB are free"),
            "{e}"
        );
        assert!(
            e.contains("disk: it asks for 2000 MiB but 1000 MiB are free"),
            "{e}"
        );
        let small = SliceSpec {
            memory_mib: 256,
            disk_mib: 1000,
            ..SliceSpec::default()
        };
        assert!(admit_slice(cap(), &held, "c", &small).is_ok());
        let capped = SliceSpec {
            cpu_max_percent: Some(250),
            memory_mib: 1,
            ..SliceSpec::default()
        };
        assert!(admit_slice(cap(), &held, "d", &capped)
            .unwrap_err()
            .contains("cpu: a cap of 250%"));
    }
}
