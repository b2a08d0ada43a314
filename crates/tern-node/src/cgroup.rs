//! Slivers as cgroups: each slice gets a cgroup subtree `<root>/<group>/<slice>`
//! whose limits come from its [`SliceSpec`], and every process of the slice's VMs is
//! placed in it before it runs guest code.
//!
//! cgroup v2 is the mechanism (`cpu.weight`, `cpu.max`, `memory.max`, `pids.max`,
//! controllers enabled through `cgroup.subtree_control` down the tree). A *hybrid*
//! host, where `cgroup2` is mounted but the cpu, memory and pids controllers are still
//! bound to v1 hierarchies (common for hosts booted with systemd's hybrid layout and
//! for some micro-VMs), gets the same limits written to the v1 files
//! (`cpu.shares`, `cpu.cfs_quota_us`, `memory.limit_in_bytes`, `pids.max`); the
//! layout in use is reported by `GET /node`. Without either, the node does not start
//! and says why.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::spec::{SliceSpec, SliceUsage};

/// The controllers a sliver needs.
pub const CONTROLLERS: [&str; 3] = ["cpu", "memory", "pids"];

/// The period of `cpu.max` / `cpu.cfs_period_us`, in microseconds.
pub const CPU_PERIOD_US: u64 = 100_000;

/// A cgroup operation failed; the message names the file and the error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CgroupError(pub String);

/// Where the controllers are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    /// The unified hierarchy, mounted at this directory, offers all [`CONTROLLERS`].
    V2(PathBuf),
    /// One v1 hierarchy per controller (cpu, memory, pids), mounted at these.
    V1 {
        /// The hierarchy holding the cpu controller.
        cpu: PathBuf,
        /// The memory controller's.
        memory: PathBuf,
        /// The pids controller's.
        pids: PathBuf,
        /// The blkio controller's, if the host has one (disk limits).
        blkio: Option<PathBuf>,
    },
}

/// The node's cgroups: a [`Layout`] and the node's group name under each root.
#[derive(Debug, Clone)]
pub struct Cgroups {
    layout: Layout,
    group: String,
    /// Whether the v2 io controller is enabled for slivers (`io.max`).
    io_v2: bool,
    /// The block device (major, minor) holding the state directory, whose
    /// bandwidth and operations disk limits bound ([`crate::disk_io`]).
    disk: Option<(u32, u32)>,
}

/// One line of `/proc/self/mountinfo` that mounts a cgroup file system.
struct CgroupMount {
    dir: PathBuf,
    v2: bool,
    options: Vec<String>,
}

fn cgroup_mounts() -> Result<Vec<CgroupMount>, CgroupError> {
    let text = fs::read_to_string("/proc/self/mountinfo")
        .map_err(|e| CgroupError(format!("cannot read /proc/self/mountinfo: {e}")))?;
    Ok(parse_mountinfo(&text))
}

/// The cgroup mounts of a `mountinfo` text.
fn parse_mountinfo(text: &str) -> Vec<CgroupMount> {
    let mut out = Vec::new();
    for line in text.lines() {
        let Some((mount, fs_part)) = line.split_once(" - ") else {
            continue;
        };
        let mut fs_fields = fs_part.split(' ');
        let fstype = fs_fields.next().unwrap_or("");
        let _source = fs_fields.next();
        let options = fs_fields.next().unwrap_or("");
        let Some(dir) = mount.split(' ').nth(4) else {
            continue;
        };
        // mountinfo escapes spaces and the like as \040: cgroup mounts have none.
        if fstype == "cgroup2" || fstype == "cgroup" {
            out.push(CgroupMount {
                dir: PathBuf::from(dir),
                v2: fstype == "cgroup2",
                options: options.split(',').map(str::to_string).collect(),
            });
        }
    }
    out
}

/// Picks the layout (see the module doc) among `mounts`; `controllers` reads a v2
/// mount's `cgroup.controllers`.
fn choose_layout(
    mounts: &[CgroupMount],
    controllers: impl Fn(&Path) -> String,
) -> Result<Layout, CgroupError> {
    let mut v2_notes = Vec::new();
    for m in mounts.iter().filter(|m| m.v2) {
        let available = controllers(&m.dir);
        let available: Vec<&str> = available.split_whitespace().collect();
        let missing: Vec<&str> = CONTROLLERS
            .iter()
            .copied()
            .filter(|c| !available.contains(c))
            .collect();
        if missing.is_empty() {
            return Ok(Layout::V2(m.dir.clone()));
        }
        v2_notes.push(format!(
            "cgroup2 at {} lacks the {} controller(s)",
            m.dir.display(),
            missing.join(", ")
        ));
    }
    let v1 = |c: &str| {
        mounts
            .iter()
            .find(|m| !m.v2 && m.options.iter().any(|o| o == c))
            .map(|m| m.dir.clone())
    };
    if let (Some(cpu), Some(memory), Some(pids)) = (v1("cpu"), v1("memory"), v1("pids")) {
        for n in &v2_notes {
            crate::node_event!("{n}: using their cgroup v1 hierarchies");
        }
        return Ok(Layout::V1 {
            cpu,
            memory,
            pids,
            blkio: v1("blkio"),
        });
    }
    if v2_notes.is_empty() {
        v2_notes.push("no cgroup2 file system is mounted".into());
    }
    Err(CgroupError(format!(
        "cgroup v2 is not available: {}; mount it (mount -t cgroup2 none /sys/fs/cgroup) \
         with the cpu, memory and pids controllers free: the node manager enforces \
         slices with cgroups and cannot run without them",
        v2_notes.join("; ")
    )))
}

impl Cgroups {
    /// Finds the controllers (see the module doc) and prepares the node's group
    /// `group` under them, enabling the controllers in each `cgroup.subtree_control`
    /// on the way down (cgroup v2).
    pub fn detect(group: &str) -> Result<Cgroups, CgroupError> {
        let layout = choose_layout(&cgroup_mounts()?, |dir| {
            fs::read_to_string(dir.join("cgroup.controllers")).unwrap_or_default()
        })?;
        Cgroups::at(layout, group)
    }

    /// The node's cgroups in `layout` under group `group` (created, with the
    /// controllers enabled for its children).
    pub fn at(layout: Layout, group: &str) -> Result<Cgroups, CgroupError> {
        let mut cg = Cgroups {
            layout,
            group: group.to_string(),
            io_v2: false,
            disk: None,
        };
        match &cg.layout {
            Layout::V2(root) => {
                // The io controller is optional: without it disk limits are refused.
                let io = fs::read_to_string(root.join("cgroup.controllers"))
                    .unwrap_or_default()
                    .split_whitespace()
                    .any(|c| c == "io");
                enable_controllers(root, io)?;
                make_dir(&root.join(group))?;
                enable_controllers(&root.join(group), io)?;
                cg.io_v2 = io;
            }
            Layout::V1 { .. } => {
                for r in cg.roots() {
                    make_dir(&r.join(group))?;
                }
            }
        }
        Ok(cg)
    }

    /// The same, bounding disk I/O on `disk` (major, minor): the device of the
    /// state directory ([`crate::disk_io::block_device_of`]).
    pub fn with_disk(mut self, disk: Option<(u32, u32)>) -> Cgroups {
        self.disk = disk;
        self
    }

    /// How disk limits are enforced on this node (`io.max` on a device, or the v1
    /// `blkio.throttle` files), or why they cannot be.
    pub fn disk_enforcement(&self) -> Result<String, String> {
        let Some((major, minor)) = self.disk else {
            return Err("the state directory is not on a block device of its own".into());
        };
        match &self.layout {
            Layout::V2(_) if self.io_v2 => Ok(format!("io.max on device {major}:{minor}")),
            Layout::V2(root) => Err(format!(
                "cgroup2 at {} has no io controller",
                root.display()
            )),
            Layout::V1 { blkio: Some(_), .. } => Ok(format!(
                "cgroup v1 blkio.throttle on device {major}:{minor} (the v2 io controller \
                 is bound to v1 on this host)"
            )),
            Layout::V1 { blkio: None, .. } => Err(
                "neither the cgroup v2 io controller nor a v1 blkio hierarchy is available".into(),
            ),
        }
    }

    /// The layout in use.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// One line for `GET /node` and the log.
    pub fn describe(&self) -> String {
        match &self.layout {
            Layout::V2(root) => format!("cgroup2 at {}", root.join(&self.group).display()),
            Layout::V1 {
                cpu, memory, pids, ..
            } => format!(
                "cgroup v1 (hybrid host) at {}, {}, {}",
                cpu.join(&self.group).display(),
                memory.join(&self.group).display(),
                pids.join(&self.group).display()
            ),
        }
    }

    /// The node's group directories (one per hierarchy).
    pub fn group_dirs(&self) -> Vec<PathBuf> {
        self.roots().iter().map(|r| r.join(&self.group)).collect()
    }

    fn roots(&self) -> Vec<&Path> {
        match &self.layout {
            Layout::V2(root) => vec![root],
            Layout::V1 {
                cpu,
                memory,
                pids,
                blkio,
            } => {
                let mut v: Vec<&Path> = vec![cpu, memory, pids];
                v.extend(blkio.as_deref());
                v
            }
        }
    }

    /// The slice's directories (one per hierarchy).
    pub fn slice_dirs(&self, slice: &str) -> Vec<PathBuf> {
        self.group_dirs().iter().map(|g| g.join(slice)).collect()
    }

    /// The `cgroup.procs` files a VM process writes itself into.
    pub fn procs_files(&self, slice: &str) -> Vec<PathBuf> {
        self.slice_dirs(slice)
            .iter()
            .map(|d| d.join("cgroup.procs"))
            .collect()
    }

    /// Creates (or keeps) the slice's cgroup and writes its limits.
    pub fn create(&self, slice: &str, spec: &SliceSpec) -> Result<Vec<PathBuf>, CgroupError> {
        let dirs = self.slice_dirs(slice);
        for d in &dirs {
            make_dir(d)?;
        }
        self.apply(slice, spec)?;
        Ok(dirs)
    }

    /// Writes the slice's limits from `spec`.
    pub fn apply(&self, slice: &str, spec: &SliceSpec) -> Result<(), CgroupError> {
        let memory = spec.memory_mib.saturating_mul(1 << 20).to_string();
        let pids = spec.pids_max.to_string();
        let quota = spec
            .cpu_max_percent
            .map(|p| u64::from(p) * CPU_PERIOD_US / 100);
        match &self.layout {
            Layout::V2(root) => {
                let d = root.join(&self.group).join(slice);
                write(&d.join("cpu.weight"), &spec.cpu_weight.to_string())?;
                let max = match quota {
                    Some(q) => format!("{q} {CPU_PERIOD_US}"),
                    None => format!("max {CPU_PERIOD_US}"),
                };
                write(&d.join("cpu.max"), &max)?;
                write(&d.join("memory.max"), &memory)?;
                // Swap would let the slice exceed its memory: none (absent without swap
                // accounting).
                let swap = d.join("memory.swap.max");
                if swap.exists() {
                    write(&swap, "0")?;
                }
                write(&d.join("pids.max"), &pids)?;
                if let Some(line) = self.io_max_line(spec)? {
                    write(&d.join("io.max"), &line)?;
                }
            }
            Layout::V1 {
                cpu,
                memory: mem,
                pids: pid,
                blkio,
            } => {
                let c = cpu.join(&self.group).join(slice);
                // cpu.weight 100 is cpu.shares 1024 (both are the default share).
                let shares = (u64::from(spec.cpu_weight) * 1024 / 100).max(2);
                write(&c.join("cpu.shares"), &shares.to_string())?;
                write(&c.join("cpu.cfs_period_us"), &CPU_PERIOD_US.to_string())?;
                let q = quota.map_or("-1".to_string(), |q| q.to_string());
                write(&c.join("cpu.cfs_quota_us"), &q)?;
                let m = mem.join(&self.group).join(slice);
                write(&m.join("memory.limit_in_bytes"), &memory)?;
                // Memory plus swap: the same, so swap does not extend the limit
                // (absent without swap accounting; set after the memory limit, which
                // it may not be below).
                let memsw = m.join("memory.memsw.limit_in_bytes");
                if memsw.exists() {
                    write(&memsw, &memory)?;
                }
                write(&pid.join(&self.group).join(slice).join("pids.max"), &pids)?;
                if spec.disk_iops.is_some() || spec.disk_bps.is_some() {
                    self.disk_enforcement().map_err(CgroupError)?;
                }
                if let (Some(b), Some((major, minor))) = (blkio, self.disk) {
                    let d = b.join(&self.group).join(slice);
                    // 0 removes a rule.
                    let rule = |v: Option<u64>| format!("{major}:{minor} {}", v.unwrap_or(0));
                    if spec.disk_iops.is_some() || spec.disk_bps.is_some() {
                        for op in ["read", "write"] {
                            let iops = d.join(format!("blkio.throttle.{op}_iops_device"));
                            write(&iops, &rule(spec.disk_iops))?;
                            let bps = d.join(format!("blkio.throttle.{op}_bps_device"));
                            write(&bps, &rule(spec.disk_bps))?;
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// The `io.max` line of a slice's disk limits (`None` without any); an error if
    /// it has some and the node cannot enforce them.
    fn io_max_line(&self, spec: &SliceSpec) -> Result<Option<String>, CgroupError> {
        if spec.disk_iops.is_none() && spec.disk_bps.is_none() {
            return Ok(None);
        }
        self.disk_enforcement().map_err(CgroupError)?;
        let Some((major, minor)) = self.disk else {
            return Ok(None);
        };
        let v = |x: Option<u64>| x.map_or("max".to_string(), |n| n.to_string());
        let (iops, bps) = (v(spec.disk_iops), v(spec.disk_bps));
        Ok(Some(format!(
            "{major}:{minor} rbps={bps} wbps={bps} riops={iops} wiops={iops}"
        )))
    }

    /// The slice's disk limits as the kernel reports them: the `io.max` line, or the
    /// v1 throttle files' lines (for tests and `GET /slices/{name}`).
    pub fn disk_limits(&self, slice: &str) -> String {
        match &self.layout {
            Layout::V2(root) => {
                fs::read_to_string(root.join(&self.group).join(slice).join("io.max"))
                    .unwrap_or_default()
            }
            Layout::V1 { blkio: Some(b), .. } => {
                let d = b.join(&self.group).join(slice);
                ["read_iops", "write_iops", "read_bps", "write_bps"]
                    .iter()
                    .map(|f| {
                        let text = fs::read_to_string(d.join(format!("blkio.throttle.{f}_device")))
                            .unwrap_or_default();
                        format!("{f}: {}\n", text.trim())
                    })
                    .collect()
            }
            Layout::V1 { blkio: None, .. } => String::new(),
        }
    }

    /// The processes in the slice's cgroup.
    pub fn pids(&self, slice: &str) -> Vec<i32> {
        let dir = match &self.layout {
            Layout::V2(root) => root.join(&self.group).join(slice),
            Layout::V1 { pids, .. } => pids.join(&self.group).join(slice),
        };
        read_pids(&dir.join("cgroup.procs"))
    }

    /// What the slice uses now; `None` if its cgroup is gone.
    pub fn usage(&self, slice: &str) -> Option<SliceUsage> {
        let (pids_dir, mem_dir) = match &self.layout {
            Layout::V2(root) => {
                let d = root.join(&self.group).join(slice);
                (d.clone(), d)
            }
            Layout::V1 { memory, pids, .. } => (
                pids.join(&self.group).join(slice),
                memory.join(&self.group).join(slice),
            ),
        };
        let pids_current = read_u64(&pids_dir.join("pids.current"))?;
        let (memory_file, oom_file) = match self.layout {
            Layout::V2(_) => ("memory.current", "memory.events"),
            Layout::V1 { .. } => ("memory.usage_in_bytes", "memory.oom_control"),
        };
        Some(SliceUsage {
            pids_current,
            pids_max_hits: read_key(&pids_dir.join("pids.events"), "max").unwrap_or(0),
            memory_bytes: read_u64(&mem_dir.join(memory_file)).unwrap_or(0),
            oom_kills: read_key(&mem_dir.join(oom_file), "oom_kill").unwrap_or(0),
        })
    }

    /// Ends every process of the slice (SIGKILL, repeated until none is left: a
    /// process forking meanwhile is caught by the next round) and removes its
    /// cgroup. A slice whose processes do not go within a few seconds is an error.
    pub fn remove(&self, slice: &str) -> Result<(), CgroupError> {
        let dirs = self.slice_dirs(slice);
        if dirs.iter().all(|d| !d.exists()) {
            return Ok(());
        }
        if let Layout::V2(_) = self.layout {
            let kill = dirs[0].join("cgroup.kill");
            if kill.exists() {
                let _ = write(&kill, "1");
            }
        }
        let mut left = self.pids(slice);
        for _ in 0..100 {
            if left.is_empty() {
                break;
            }
            for pid in &left {
                // SAFETY: kill takes no pointers; the pid is in the slice's cgroup.
                unsafe { libc::kill(*pid, libc::SIGKILL) };
            }
            std::thread::sleep(Duration::from_millis(50));
            left = self.pids(slice);
        }
        if !left.is_empty() {
            return Err(CgroupError(format!(
                "slice `{slice}`: {} processes still in its cgroup after SIGKILL",
                left.len()
            )));
        }
        for d in &dirs {
            remove_dir(d)?;
        }
        Ok(())
    }

    /// Removes the node's own group directories if they are empty (tests; a node
    /// normally keeps them).
    pub fn remove_group(&self) {
        for d in self.group_dirs() {
            let _ = fs::remove_dir(d);
        }
    }
}

/// Enables [`CONTROLLERS`] (and `io` if `io`) for the children of the v2 cgroup
/// `dir`.
fn enable_controllers(dir: &Path, io: bool) -> Result<(), CgroupError> {
    let file = dir.join("cgroup.subtree_control");
    let on = fs::read_to_string(&file).unwrap_or_default();
    let io = io.then_some("io");
    for c in CONTROLLERS.iter().copied().chain(io) {
        if !on.split_whitespace().any(|x| x == c) {
            write(&file, &format!("+{c}"))?;
        }
    }
    Ok(())
}

fn make_dir(dir: &Path) -> Result<(), CgroupError> {
    match fs::create_dir(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(CgroupError(format!(
            "cannot create cgroup {}: {e}",
            dir.display()
        ))),
    }
}

/// Removes a cgroup directory; waits a moment while the kernel still counts a
/// process that just died (EBUSY).
fn remove_dir(dir: &Path) -> Result<(), CgroupError> {
    let mut last = None;
    for _ in 0..50 {
        match fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => last = Some(e),
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Err(CgroupError(format!(
        "cannot remove cgroup {}: {}",
        dir.display(),
        last.map_or_else(String::new, |e| e.to_string())
    )))
}

fn write(file: &Path, value: &str) -> Result<(), CgroupError> {
    fs::write(file, value)
        .map_err(|e| CgroupError(format!("cannot write `{value}` to {}: {e}", file.display())))
}

fn read_pids(file: &Path) -> Vec<i32> {
    fs::read_to_string(file)
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

fn read_u64(file: &Path) -> Option<u64> {
    fs::read_to_string(file).ok()?.trim().parse().ok()
}

/// The number after `key` in a flat keyed file (`max 3`, `oom_kill 1`).
fn read_key(file: &Path, key: &str) -> Option<u64> {
    fs::read_to_string(file)
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(' ')?.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_written_in_each_layouts_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("v2");
        fs::create_dir(&root).unwrap();
        let cg = Cgroups::at(Layout::V2(root.clone()), "tern").unwrap();
        let spec = SliceSpec {
            cpu_weight: 200,
            cpu_max_percent: Some(25),
            memory_mib: 64,
            pids_max: 32,
            ..SliceSpec::default()
        };
        cg.create("a", &spec).unwrap();
        let read = |p: &Path| fs::read_to_string(p).unwrap();
        let a = root.join("tern/a");
        assert_eq!(read(&a.join("cpu.weight")), "200");
        assert_eq!(read(&a.join("cpu.max")), "25000 100000");
        assert_eq!(read(&a.join("memory.max")), "67108864");
        assert_eq!(read(&a.join("pids.max")), "32");
        assert!(read(&root.join("cgroup.subtree_control")).contains("+pids"));

        let v1 = |c: &str| {
            let d = dir.path().join(c);
            fs::create_dir_all(&d).unwrap();
            d
        };
        let layout = Layout::V1 {
            cpu: v1("cpu"),
            memory: v1("memory"),
            pids: v1("pids"),
            blkio: None,
        };
        let cg = Cgroups::at(layout, "tern").unwrap();
        cg.create("a", &spec).unwrap();
        let p = dir.path();
        assert_eq!(read(&p.join("cpu/tern/a/cpu.shares")), "2048");
        assert_eq!(read(&p.join("cpu/tern/a/cpu.cfs_quota_us")), "25000");
        assert_eq!(
            read(&p.join("memory/tern/a/memory.limit_in_bytes")),
            "67108864"
        );
        assert_eq!(read(&p.join("pids/tern/a/pids.max")), "32");
        assert_eq!(cg.procs_files("a").len(), 3);
    }

    #[test]
    fn the_layout_is_v2_when_it_has_the_controllers_else_v1_else_an_explanation() {
        let hybrid = "\
30 24 0:26 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755
31 30 0:27 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw
32 30 0:28 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu
33 30 0:29 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
34 30 0:30 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids
";
        let mounts = parse_mountinfo(hybrid);
        assert_eq!(mounts.len(), 4);
        let full = |_: &Path| "cpuset cpu io memory pids".to_string();
        let bare = |_: &Path| "hugetlb".to_string();
        assert_eq!(
            choose_layout(&mounts, full).unwrap(),
            Layout::V2("/sys/fs/cgroup/unified".into())
        );
        assert_eq!(
            choose_layout(&mounts, bare).unwrap(),
            Layout::V1 {
                cpu: "/sys/fs/cgroup/cpu".into(),
                memory: "/sys/fs/cgroup/memory".into(),
                pids: "/sys/fs/cgroup/pids".into(),
                blkio: None,
            }
        );
        let no_pids: Vec<CgroupMount> = parse_mountinfo(hybrid)
            .into_iter()
            .filter(|m| !m.options.iter().any(|o| o == "pids"))
            .collect();
        let e = choose_layout(&no_pids, bare).unwrap_err().0;
        assert!(e.starts_with("cgroup v2 is not available: cgroup2 at /sys/fs/cgroup/unified lacks the cpu, memory, pids controller(s)"), "{e}");
        let e = choose_layout(&[], bare).unwrap_err().0;
        assert!(e.contains("no cgroup2 file system is mounted"), "{e}");
    }

    #[test]
    fn keyed_files_are_read_by_key() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("events");
        fs::write(&f, "oom 2\noom_kill 1\nmax 7\n").unwrap();
        assert_eq!(read_key(&f, "oom_kill"), Some(1));
        assert_eq!(read_key(&f, "max"), Some(7));
        assert_eq!(read_key(&f, "oom_group_kill"), None);
    }
}
