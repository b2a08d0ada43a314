//! The destination side: receives a VM into fresh guest RAM, its disks and its
//! component states, then (once tern's command line has built and restored the
//! machine) confirms, waits for `go` and lets it run.
//!
//! Everything from the source is checked before it is used: the frames by the wire
//! layer, then each message against what came before (a page inside RAM, blocks
//! inside their disk, a disk message per drive, states within a count and a size).
//! A bad stream is an error naming the problem, sent back to the source, and the
//! destination throws the VM away (its RAM, copied disks) and waits for the next.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tern_devices::virtio::disk::{BlockBackend, DiskHandle};
use tern_hart::GuestRam;
use tern_linux::mm::PHYS_BASE;
use tern_machine::virt::memmap::DRAM_BASE;
use tern_machine::virt::StopHandle;
use tern_migrate::message::{PAGE_SIZE, PROTOCOL_VERSION};
use tern_migrate::{Conn, DiskMode, Job, Listener, Message, Mode, PageData, Role, WireError};
use tern_state::Sections;

use super::disks::{check_shared, mode_name, DiskOpener, IncomingDisk};
use super::postcopy::{self, NetworkPages};
use crate::process::config::ProcessConfig;
use crate::system::config::SystemConfig;

/// Most component states a VM may send (harts, devices, board: well under 64).
const MAX_STATES: usize = 256;
/// Most bytes of component states in all.
const MAX_STATE_BYTES: usize = 64 << 20;
/// Largest guest RAM accepted (as `tern run --memory` allows).
const MAX_MEMORY: u64 = 64 << 30;
/// How long the destination waits for the source's next message.
const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// The configuration of the VM that arrives, which says its kind.
#[derive(Clone, Debug)]
pub enum VmConfig {
    /// A system VM on the virt board.
    System(SystemConfig),
    /// A process VM: one riscv64 Linux program.
    Process(ProcessConfig),
}

/// What runs when a page the VM needs can no longer come (post-copy, the source
/// gone): the VM stops.
type OnLost = Box<dyn Fn() + Send + Sync>;

/// A VM received up to the switch-over.
pub struct Incoming {
    /// Its configuration (drives copied here name their local copies).
    pub config: VmConfig,
    /// Its memory (with post-copy, pages still pending are fetched on first touch).
    pub ram: Arc<GuestRam>,
    /// Every component's state.
    pub states: Sections,
    /// Its drives' disks, in the order of `config.drives`.
    pub disks: Vec<DiskHandle>,
    /// How the memory moved.
    pub mode: Mode,
    conn: Conn,
    postcopy: Option<NetworkPages>,
    stop: Arc<OnceLock<OnLost>>,
}

/// What arrived on a connection: a running VM, or a job to start (`tern submit`).
pub enum Arrival {
    /// A VM, received up to the switch-over (the source paused).
    Vm(Incoming),
    /// A job: the program's files follow on `conn` (see [`tern_migrate::job`]).
    Job(Job, Conn),
}

/// Receives a VM on `conn` (just accepted on `listener`, which the post-copy request
/// connection also comes through). Returns at the switch-over, with the source
/// paused, waiting for [`Incoming::ready`]; or at once when a job arrives.
pub fn receive(
    conn: Conn,
    listener: &Listener,
    opener: &mut dyn DiskOpener,
) -> anyhow::Result<Arrival> {
    receive_with(conn, &mut || Ok(listener.accept()?.0), opener)
}

/// [`receive`], with the post-copy page-request connection taken from `accept_fault`
/// (the fuzz target feeds the receiver from memory).
pub fn receive_with(
    mut conn: Conn,
    accept_fault: &mut dyn FnMut() -> Result<Conn, WireError>,
    opener: &mut dyn DiskOpener,
) -> anyhow::Result<Arrival> {
    conn.set_read_timeout(Some(READ_TIMEOUT));
    match receive_on(&mut conn, accept_fault, opener) {
        Ok(Received::Vm(parts)) => Ok(Arrival::Vm(parts.finish(conn))),
        Ok(Received::Job(job)) => Ok(Arrival::Job(job, conn)),
        Err(e) => {
            conn.send_error(&format!("{e:#}"));
            Err(e)
        }
    }
}

/// What [`receive_on`] read.
enum Received {
    Vm(Parts),
    Job(Job),
}

/// What was received before the switch-over.
struct Parts {
    config: VmConfig,
    ram: Arc<GuestRam>,
    states: Sections,
    disks: Vec<DiskHandle>,
    mode: Mode,
    postcopy: Option<NetworkPages>,
    stop: Arc<OnceLock<OnLost>>,
}

impl Parts {
    fn finish(self, conn: Conn) -> Incoming {
        Incoming {
            config: self.config,
            ram: self.ram,
            states: self.states,
            disks: self.disks,
            mode: self.mode,
            conn,
            postcopy: self.postcopy,
            stop: self.stop,
        }
    }
}

fn hello(conn: &mut Conn, role: Role) -> anyhow::Result<[u8; 16]> {
    let h = match conn.recv()? {
        Message::Hello(h) => h,
        other => anyhow::bail!("expected `hello`, got `{}`", other.name()),
    };
    if h.protocol != PROTOCOL_VERSION {
        anyhow::bail!(
            "migration protocol {} is not this tern's ({PROTOCOL_VERSION}; source tern {})",
            h.protocol,
            h.tern_version
        );
    }
    if h.arch != crate::snapshot_file::ARCH {
        anyhow::bail!("a {} guest, this tern runs riscv64 guests", h.arch);
    }
    if h.role != role {
        anyhow::bail!(
            "a {:?} connection where a {role:?} one was expected",
            h.role
        );
    }
    conn.set_session(h.session);
    Ok(h.session)
}

fn receive_on(
    conn: &mut Conn,
    accept_fault: &mut dyn FnMut() -> Result<Conn, WireError>,
    opener: &mut dyn DiskOpener,
) -> anyhow::Result<Received> {
    let session = hello(conn, Role::Main)?;
    let mut config = match conn.recv()? {
        Message::Job(job) => return Ok(Received::Job(job)),
        Message::Config(bytes) => VmConfig::System(
            tern_state::from_bytes(&bytes)
                .map_err(|e| anyhow::anyhow!("the VM's configuration: {e}"))?,
        ),
        Message::ProcessConfig(bytes) => VmConfig::Process(
            tern_state::from_bytes(&bytes)
                .map_err(|e| anyhow::anyhow!("the program's configuration: {e}"))?,
        ),
        other => anyhow::bail!("expected `config`, got `{}`", other.name()),
    };
    let (ram, memory, mut drives) = match &config {
        VmConfig::System(c) => {
            if c.memory == 0 || c.memory > MAX_MEMORY || !c.memory.is_multiple_of(PAGE_SIZE as u64)
            {
                anyhow::bail!("guest RAM of {} bytes is not supported", c.memory);
            }
            (
                GuestRam::new(DRAM_BASE, c.memory)?,
                c.memory,
                c.drives.clone(),
            )
        }
        VmConfig::Process(c) => {
            crate::process::config::check_memory(c.memory)?;
            let size = tern_linux::mm::phys_size(c.memory);
            (GuestRam::new(PHYS_BASE, size)?, c.memory, Vec::new())
        }
    };
    let ram = Arc::new(ram);
    let pages = memory / PAGE_SIZE as u64;
    let mut disks: Vec<Option<IncomingDisk>> = drives.iter().map(|_| None).collect();
    let mut states = Sections::new();
    let mut state_bytes = 0usize;
    let pending = loop {
        match conn.recv()? {
            Message::Disk(info) => {
                let i = info.index as usize;
                let Some(slot) = disks.get_mut(i) else {
                    anyhow::bail!("disk {i}: the VM has {} drives", drives.len());
                };
                let spec = drives[i].clone();
                match slot {
                    None => {
                        let mut handle = None;
                        if info.mode != DiskMode::Shared {
                            if let (DiskMode::Overlay, Some(fp)) = (info.mode, &info.fingerprint) {
                                if let Some(path) = crate::system::config::drive_file(&spec) {
                                    check_shared(path, fp).map_err(anyhow::Error::msg)?;
                                }
                            }
                            let (h, new_spec) = opener.open(i, &spec, info.mode, info.size)?;
                            if h.lock().size() / 512 != info.size / 512 {
                                anyhow::bail!(
                                    "disk {i}: {} bytes here, {} on the source",
                                    h.lock().size(),
                                    info.size
                                );
                            }
                            if let Some(s) = new_spec {
                                drives[i] = s;
                            }
                            handle = Some(h);
                        }
                        *slot = Some(IncomingDisk { info, handle });
                    }
                    Some(d) if d.info.mode == DiskMode::Shared && d.handle.is_none() => {
                        // The switch-over: the image is flushed, compare and open it.
                        let Some(fp) = info.fingerprint else {
                            anyhow::bail!("disk {i}: a shared disk without a fingerprint");
                        };
                        if let Some(path) = crate::system::config::drive_file(&spec) {
                            check_shared(path, &fp).map_err(anyhow::Error::msg)?;
                        }
                        let (h, _) = opener.open(i, &spec, DiskMode::Shared, info.size)?;
                        d.handle = Some(h);
                    }
                    Some(d) => anyhow::bail!(
                        "disk {i}: a second `disk` message for a {} disk",
                        mode_name(d.info.mode)
                    ),
                }
            }
            Message::Pages(batch) => {
                for (p, data) in batch {
                    if p >= pages {
                        anyhow::bail!("page {p:#x} is outside guest RAM ({pages} pages)");
                    }
                    let addr = ram.base() + p * PAGE_SIZE as u64;
                    match data {
                        PageData::Zero => ram.zero(addr, PAGE_SIZE as u64)?,
                        PageData::Bytes(b) => ram.write(addr, &b)?,
                    }
                }
            }
            Message::Blocks { disk, offset, data } => {
                let Some(Some(d)) = disks.get_mut(disk as usize) else {
                    anyhow::bail!("blocks for disk {disk}, which was not announced");
                };
                d.write(offset, &data).map_err(anyhow::Error::msg)?;
            }
            Message::State { name, bytes } => {
                state_bytes += bytes.len();
                if states.len() >= MAX_STATES || state_bytes > MAX_STATE_BYTES {
                    anyhow::bail!("more component states than a VM has");
                }
                states
                    .insert(name, bytes)
                    .map_err(|e| anyhow::anyhow!("component states: {e}"))?;
            }
            Message::SwitchOver { pending } => break pending,
            other => anyhow::bail!("unexpected `{}` before the switch-over", other.name()),
        }
    };
    let mut opened = Vec::new();
    for (i, d) in disks.into_iter().enumerate() {
        match d.and_then(|d| d.handle) {
            Some(h) => opened.push(h),
            None => anyhow::bail!("disk {i} was not sent, or its image not fingerprinted"),
        }
    }
    if let VmConfig::System(c) = &mut config {
        c.drives = drives;
    }
    let stop: Arc<OnceLock<OnLost>> = Arc::new(OnceLock::new());
    let postcopy = if pending.is_empty() {
        None
    } else {
        if pending.len() as u64 != pages.div_ceil(8) {
            anyhow::bail!(
                "a pending-page bitmap of {} bytes for {pages} pages",
                pending.len()
            );
        }
        let mut fault = accept_fault()?;
        fault.set_read_timeout(Some(READ_TIMEOUT));
        if hello(&mut fault, Role::Fault)? != session {
            anyhow::bail!("a page-request connection of another migration");
        }
        let runs = postcopy::runs(&pending, pages);
        let source = NetworkPages::new(pending, pages, fault);
        let handle = source.stream_handle();
        let slot = stop.clone();
        ram.restore_lazily(
            &runs,
            Box::new(source),
            Box::new(move |_| {
                if let Some(stop) = slot.get() {
                    stop();
                }
            }),
        )?;
        Some(handle)
    };
    Ok(Received::Vm(Parts {
        config,
        ram,
        states,
        disks: opened,
        mode: if postcopy.is_some() {
            Mode::Postcopy
        } else {
            Mode::Precopy
        },
        postcopy,
        stop,
    }))
}

impl Incoming {
    /// Tells the source the machine is built and restored, and waits for `go`: from
    /// then on the VM is this side's. An error means the source gave up (it runs the
    /// VM on): throw this one away.
    pub fn ready(&mut self, stop: StopHandle) -> anyhow::Result<()> {
        self.ready_with(Box::new(move || stop.stop(1)))
    }

    /// [`Incoming::ready`] for a VM that is not a machine (a process VM): `on_lost`
    /// ends it if a page it needs can no longer come (post-copy).
    pub fn ready_with(&mut self, on_lost: OnLost) -> anyhow::Result<()> {
        let _ = self.stop.set(on_lost);
        self.conn.send_now(&Message::Ready)?;
        match self.conn.recv()? {
            Message::Go => Ok(()),
            other => anyhow::bail!("expected `go`, got `{}`", other.name()),
        }
    }

    /// Refuses the VM (it could not be built or restored here): the source runs on.
    pub fn refuse(mut self, why: &str) {
        self.conn.send_error(why);
    }

    /// Tells the source the VM runs here (call just before running it). With
    /// post-copy, starts the thread that puts the streamed pages into RAM; if the
    /// source goes away before all have come, the machine stops.
    pub fn started(mut self) -> anyhow::Result<()> {
        // The VM is this side's now: a lost confirmation changes nothing here.
        let _ = self.conn.send_now(&Message::Started);
        if let Some(pages) = self.postcopy.take() {
            let ram = self.ram.clone();
            let mut conn = self.conn;
            std::thread::Builder::new()
                .name("tern-postcopy".into())
                .spawn(move || {
                    if let Err(e) = stream_in(&mut conn, &ram, &pages) {
                        pages.fail(&e);
                        // Make the loss visible now, not when the guest next touches
                        // a missing page: reading one fails and stops the VM.
                        if let Some(p) = pages.first_needed() {
                            let _ = ram.prepare(ram.base() + p * PAGE_SIZE as u64, 1);
                        }
                    }
                })?;
        }
        Ok(())
    }
}

/// Post-copy, destination: puts streamed pages into RAM until the source is done.
fn stream_in(conn: &mut Conn, ram: &GuestRam, pages: &NetworkPages) -> Result<(), String> {
    // The guest may be idle for long: the stream is waited for without a limit
    // (a dead source shows as a closed connection).
    conn.set_read_timeout(None);
    loop {
        match conn.recv().map_err(|e| e.to_string())? {
            Message::Pages(batch) => pages.arrived(ram, batch)?,
            Message::PostcopyDone => break,
            other => return Err(format!("unexpected `{}` during post-copy", other.name())),
        }
    }
    // Pages still owed (none, normally) come through requests.
    while let Some(p) = pages.first_needed() {
        ram.prepare(ram.base() + p * PAGE_SIZE as u64, 1)
            .map_err(|e| e.to_string())?;
        // A page the RAM did not ask for (it was not pending) is owed no more.
        pages.settle(p);
    }
    conn.send_now(&Message::Finished).map_err(|e| e.to_string())
}
