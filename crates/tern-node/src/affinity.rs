//! Partitioning the host's CPUs between slices. A slice may have host CPUs
//! *dedicated* to it (physical partitioning): its VMs run only there, and no other
//! slice's VMs do. Slices without dedicated CPUs are time-shared by their cgroup
//! weights and caps (logical partitioning: more harts than CPUs is fine) on the CPUs
//! nobody has dedicated.
//!
//! The mechanism is each VM process's CPU affinity, set before it runs guest code
//! (the spawn's pre_exec) and inherited by its threads and forks. Guests cannot
//! change it: the process VM answers `sched_setaffinity` itself, and a system VM's
//! guest has no way to reach the host's. When CPUs are dedicated or given back,
//! the time-shared VMs already running are moved (every thread of every process in
//! their slices' cgroups).

use std::io;

/// Highest CPU number plus one that a CPU set can name (glibc's `CPU_SETSIZE`).
pub const MAX_CPUS: u32 = 1024;

/// A CPU set for `sched_setaffinity`, built before a fork so that the child only
/// passes it to the kernel.
#[derive(Clone, Copy)]
pub struct CpuSet(libc::cpu_set_t);

impl CpuSet {
    /// The set of `cpus` (each below [`MAX_CPUS`]; others are left out).
    pub fn of(cpus: &[u32]) -> CpuSet {
        // SAFETY: cpu_set_t is a plain bit array; all zeroes is the empty set.
        let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        for &c in cpus.iter().filter(|&&c| c < MAX_CPUS) {
            // SAFETY: c < CPU_SETSIZE, so the bit is inside `set`.
            unsafe { libc::CPU_SET(c as usize, &mut set) };
        }
        CpuSet(set)
    }

    /// Sets the affinity of thread `tid` (0: the calling thread). Async-signal-safe
    /// (one system call), so it may run in a pre_exec.
    pub fn apply(&self, tid: i32) -> io::Result<()> {
        // SAFETY: the set is a valid cpu_set_t of the size passed, alive across the call.
        let r = unsafe {
            libc::sched_setaffinity(tid, std::mem::size_of::<libc::cpu_set_t>(), &self.0)
        };
        if r == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }
}

/// Moves every thread of the processes `pids` to `cpus`. Threads that ended
/// meanwhile are skipped.
pub fn repin(pids: &[i32], cpus: &[u32]) {
    let set = CpuSet::of(cpus);
    for pid in pids {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            continue;
        };
        for t in tasks.flatten() {
            if let Some(tid) = t.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) {
                if let Err(e) = set.apply(tid) {
                    tracing::debug!("cannot move thread {tid} of {pid}: {e}");
                }
            }
        }
    }
}

/// The CPUs time-shared slices use: the node's `0..cpus` less the dedicated ones.
pub fn shared_cpus(cpus: u32, dedicated: &[u32]) -> Vec<u32> {
    (0..cpus.min(MAX_CPUS))
        .filter(|c| !dedicated.contains(c))
        .collect()
}

/// A compact text of a CPU list (`0-3,6`), for messages.
pub fn list_text(cpus: &[u32]) -> String {
    let mut sorted = cpus.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i;
        while j + 1 < sorted.len() && sorted[j + 1] == sorted[j] + 1 {
            j += 1;
        }
        out.push(if i == j {
            sorted[i].to_string()
        } else {
            format!("{}-{}", sorted[i], sorted[j])
        });
        i = j + 1;
    }
    out.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_shares() {
        assert_eq!(list_text(&[3, 0, 1, 2, 6, 6]), "0-3,6");
        assert_eq!(list_text(&[]), "");
        assert_eq!(shared_cpus(4, &[1, 2]), [0, 3]);
    }

    #[test]
    fn a_thread_can_be_pinned_and_released() {
        let all = shared_cpus(
            std::thread::available_parallelism().unwrap().get() as u32,
            &[],
        );
        std::thread::spawn(move || {
            CpuSet::of(&[0]).apply(0).unwrap();
            let status = std::fs::read_to_string("/proc/thread-self/status").unwrap();
            assert!(
                status.lines().any(|l| l == "Cpus_allowed_list:\t0"),
                "{status}"
            );
            CpuSet::of(&all).apply(0).unwrap();
        })
        .join()
        .unwrap();
    }
}
