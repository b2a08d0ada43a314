//! The source side: pre-copy rounds over the dirty log while the VM runs, auto-converge,
//! the switch-over, and (post-copy) serving the pages the destination still needs.
//!
//! Failure semantics (README, "Live migration"): until the source has sent `go`, any
//! failure — the connection cut, the destination refusing or dying, a cancel — leaves
//! the VM running here as if nothing happened (resumed if it was paused for the
//! switch-over, throttle lifted), and a new migration may start. Once `go` is sent the
//! destination owns the VM: this side never resumes it on its own. In pre-copy it
//! ends when the destination confirms (`started`); without that confirmation it stays
//! paused, phase `failed`, for the user to decide. In post-copy it serves pages until
//! the destination has all of them; if the connection breaks first the destination
//! stops (it cannot run without those pages) and this side stays paused, holding the
//! VM as it was at the switch-over.

use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tern_devices::virtio::disk::{BlockBackend, BlockSet, DiskHandle};
use tern_migrate::message::{PAGE_SIZE, PROTOCOL_VERSION};
use tern_migrate::transport::{self, Security, TlsFiles};
use tern_migrate::{Conn, DiskInfo, DiskMode, Hello, Message, Mode, Role, WireError};

use super::disks::fingerprint;
use super::migrant::{Drive, Migrant};
use super::pages::{SendError, Sender};
use super::postcopy;
use crate::control::{
    DiskMigration, MigrateRequest, MigrationMode, MigrationPhase, MigrationStatus,
};

/// How long connecting to the destination may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the source waits for the destination's answers.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the harts may take to reach an instruction boundary.
const PAUSE_TIMEOUT: Duration = Duration::from_secs(10);
/// Auto-converge: the first throttle, the step, and how many rounds in a row must
/// dirty more than half of what the previous round sent before it steps.
const THROTTLE_INITIAL: u32 = 20;
const THROTTLE_STEP: u32 = 10;
const THROTTLE_ROUNDS: u32 = 2;
/// `auto` switches to post-copy after this many rounds without converging, or when
/// the throttle is at its highest.
const AUTO_POSTCOPY_ROUNDS: u64 = 10;
/// Estimated fixed cost of a switch-over besides the pages (states, building the
/// machine on the destination), added to the expected downtime.
const SWITCHOVER_OVERHEAD: Duration = Duration::from_millis(2);

/// Bytes of a disk block as virtio-blk tracks them.
const DISK_BLOCK: u64 = 4096;

/// A migration in progress (or over), shared between its thread and the API.
pub struct Outgoing {
    status: Mutex<MigrationStatus>,
    cancel: AtomicBool,
    /// `go` was sent: the destination owns the VM.
    committed: AtomicBool,
    sockets: Mutex<Vec<TcpStream>>,
    started: Instant,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Outgoing {
    /// The current status.
    pub fn status(&self) -> MigrationStatus {
        let mut s = lock(&self.status).clone();
        if !s.phase.is_over() {
            s.total_ms = self.started.elapsed().as_secs_f64() * 1e3;
        }
        s
    }

    fn update(&self, f: impl FnOnce(&mut MigrationStatus)) {
        f(&mut lock(&self.status));
    }

    /// Cancels: refused once the destination owns the VM.
    pub fn cancel(&self) -> Result<MigrationStatus, String> {
        if self.committed.load(Ordering::SeqCst) {
            return Err("migrate: too late to cancel: the destination owns the VM".into());
        }
        if self.status().phase.is_over() {
            return Err("migrate: no migration is running".into());
        }
        self.cancel.store(true, Ordering::SeqCst);
        for s in lock(&self.sockets).iter() {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
        Ok(self.status())
    }

    fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::SeqCst)
    }

    fn watch(&self, conn: &Conn) {
        if let Some(s) = conn.socket() {
            lock(&self.sockets).push(s);
        }
    }
}

/// Starts migrating `vm` as `req` asks, on a thread of its own.
pub fn start(vm: Arc<dyn Migrant>, req: MigrateRequest) -> Arc<Outgoing> {
    let mut status = MigrationStatus::none();
    status.phase = MigrationPhase::Setup;
    status.to = req.to.clone();
    status.mode = req.mode;
    status.memory_bytes = vm.memory();
    let out = Arc::new(Outgoing {
        status: Mutex::new(status),
        cancel: AtomicBool::new(false),
        committed: AtomicBool::new(false),
        sockets: Mutex::new(Vec::new()),
        started: Instant::now(),
    });
    let o = out.clone();
    let spawned = std::thread::Builder::new()
        .name("tern-migrate".into())
        .spawn(move || run(&*vm, &req, &o));
    if let Err(e) = spawned {
        out.update(|s| {
            s.phase = MigrationPhase::Failed;
            s.error = Some(format!("cannot start the migration thread: {e}"));
        });
    }
    out
}

/// Why a migration failed, and whether the VM is paused here because of it.
pub(super) struct Failure {
    message: String,
    paused: bool,
}

impl Failure {
    fn new(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            paused: false,
        }
    }
}

impl From<WireError> for Failure {
    fn from(e: WireError) -> Failure {
        Failure::new(e.to_string())
    }
}

impl From<SendError> for Failure {
    fn from(e: SendError) -> Failure {
        Failure::new(e.to_string())
    }
}

fn run(vm: &dyn Migrant, req: &MigrateRequest, out: &Outgoing) {
    let result = migrate(vm, req, out);
    vm.set_throttle(0);
    let end = out.started.elapsed().as_secs_f64() * 1e3;
    match result {
        Ok(()) => {
            out.update(|s| {
                s.phase = MigrationPhase::Completed;
                s.total_ms = end;
                s.throttle_percent = 0;
            });
            // The VM lives on at the destination: this machine ends.
            vm.moved();
        }
        Err(f) => {
            let committed = out.committed.load(Ordering::SeqCst);
            if f.paused && !committed {
                vm.resume();
            }
            let cancelled = out.cancelled() && !committed;
            out.update(|s| {
                s.phase = if cancelled {
                    MigrationPhase::Cancelled
                } else {
                    MigrationPhase::Failed
                };
                s.throttle_percent = 0;
                s.total_ms = end;
                s.error = Some(if cancelled {
                    "cancelled".to_string()
                } else if committed {
                    format!(
                        "{} (after the switch-over: the VM stays paused here; the destination may run it)",
                        f.message
                    )
                } else {
                    f.message
                });
            });
        }
    }
}

/// The stream's security as the request asks.
fn security(req: &MigrateRequest) -> Security {
    match &req.tls {
        Some(t) => Security::Tls(TlsFiles {
            cert: t.cert.clone().into(),
            key: t.key.clone().into(),
            ca: t.ca.clone().into(),
            server_name: t.server_name.clone(),
        }),
        None => Security::Insecure,
    }
}

/// Opens a connection of `role` to the destination and says hello.
pub(super) fn open(
    req: &MigrateRequest,
    session: [u8; 16],
    role: Role,
    mode: Mode,
    out: &Outgoing,
) -> Result<Conn, Failure> {
    let mut conn = transport::connect(&req.to, &security(req), CONNECT_TIMEOUT)?;
    out.watch(&conn);
    if out.cancelled() {
        return Err(Failure::new("cancelled"));
    }
    conn.set_read_timeout(Some(ANSWER_TIMEOUT));
    // Sent at once: the destination answers nothing before it has read the hello
    // (the post-copy connection waits silently until the switch-over).
    conn.send_now(&Message::Hello(Hello {
        protocol: PROTOCOL_VERSION,
        arch: crate::snapshot_file::ARCH.into(),
        tern_version: env!("CARGO_PKG_VERSION").into(),
        session,
        role,
        mode,
    }))?;
    conn.set_session(session);
    Ok(conn)
}

/// How one drive moves.
struct DiskPlan {
    index: u32,
    mode: DiskMode,
    disk: DiskHandle,
    path: Option<String>,
}

fn plan_disks(vm: &dyn Migrant, req: &MigrateRequest) -> Vec<DiskPlan> {
    vm.drives()
        .into_iter()
        .enumerate()
        .map(|(i, Drive { path, disk })| {
            let mode = match (req.disks, disk.lock().throwaway()) {
                (DiskMigration::Copy, _) => DiskMode::Copy,
                (DiskMigration::Shared, true) => DiskMode::Overlay,
                (DiskMigration::Shared, false) => DiskMode::Shared,
            };
            DiskPlan {
                index: i as u32,
                mode,
                disk,
                path,
            }
        })
        .collect()
}

fn migrate(vm: &dyn Migrant, req: &MigrateRequest, out: &Outgoing) -> Result<(), Failure> {
    let session: [u8; 16] = rand::random();
    let mode = match req.mode {
        MigrationMode::Postcopy => Mode::Postcopy,
        _ => Mode::Precopy,
    };
    let mut conn = open(req, session, Role::Main, mode, out)?;
    conn.send(&vm.config().map_err(Failure::new)?)?;
    let disks = plan_disks(vm, req);
    for d in &disks {
        let size = d.disk.lock().size();
        // A shared image is fingerprinted at the switch-over, once the guest's writes
        // have reached it; an overlay's image never changes, so now.
        let fp = match (d.mode, &d.path) {
            (DiskMode::Overlay, Some(p)) => Some(fingerprint(p).map_err(Failure::new)?),
            _ => None,
        };
        conn.send(&Message::Disk(DiskInfo {
            index: d.index,
            mode: d.mode,
            size,
            fingerprint: fp,
        }))?;
    }
    let ram = vm.ram();
    let pages = vm.memory() / PAGE_SIZE as u64;
    let cap = req.max_bandwidth_mib.map(|m| m << 20);
    let mut s = Sender::new(&mut conn, cap);
    let mut buf = [0u8; PAGE_SIZE];
    out.update(|st| st.phase = MigrationPhase::Precopy);

    // Round 0: every page that is not zero, and every disk block to move.
    vm.sync_dirty_log();
    let mut moved: Vec<(u32, DiskHandle, BlockSet, bool)> = Vec::new();
    for d in disks.iter().filter(|d| d.mode != DiskMode::Shared) {
        let mut disk = d.disk.lock();
        let set = match d.mode {
            DiskMode::Copy => {
                let mut all = BlockSet::new(disk.written().bound());
                all.insert_range(0..all.bound());
                all
            }
            _ => disk.written().clone(),
        };
        disk.mark();
        drop(disk);
        moved.push((d.index, d.disk.clone(), set, true));
    }
    let round_start = Instant::now();
    for index in 0..pages {
        if index % 1024 == 0 && out.cancelled() {
            return Err(Failure::new("cancelled"));
        }
        s.page(&ram, index, true, &mut buf)?;
    }
    for (index, disk, set, skip_zero) in &moved {
        s.blocks(*index, disk, set, *skip_zero)?;
    }
    s.flush()?;
    let mut last_round = round_start.elapsed();
    let mut last_sent = s.conn.bytes_sent;
    let mut iteration = 0u64;
    let mut high_rounds = 0u32;
    let mut throttle = 0u32;
    let postcopy_now;
    let (mut dirty, mut dirty_disks) = loop {
        out.update(|st| {
            st.iteration = iteration;
            st.bytes_sent = s.conn.bytes_sent;
            st.pages_sent = s.pages_sent;
        });
        if out.cancelled() {
            return Err(Failure::new("cancelled"));
        }
        let round_start = Instant::now();
        let dirty = vm.sync_dirty_log();
        let mut dirty_disks = Vec::new();
        let mut disk_bytes = 0;
        for (index, disk, _, _) in &moved {
            let mut d = disk.lock();
            let set = d.written_since_mark().clone();
            d.mark();
            disk_bytes += set.len() * DISK_BLOCK;
            drop(d);
            dirty_disks.push((*index, disk.clone(), set));
        }
        let remaining = dirty.len() as u64 * PAGE_SIZE as u64 + disk_bytes;
        let bandwidth = s.bandwidth();
        let dirty_rate = remaining as f64 / last_round.as_secs_f64().max(1e-6);
        let expected = Duration::from_secs_f64(remaining as f64 / bandwidth) + SWITCHOVER_OVERHEAD;
        out.update(|st| {
            st.remaining_bytes = remaining;
            st.bandwidth_bytes = bandwidth as u64;
            st.dirty_rate_bytes = dirty_rate as u64;
            st.expected_downtime_ms = expected.as_secs_f64() * 1e3;
        });
        // Post-copy as asked: after the first round, whatever remains is fetched by
        // the running destination (a guest that wrote nothing switches as pre-copy).
        if req.mode == MigrationMode::Postcopy {
            postcopy_now = remaining > 0;
            break (dirty, dirty_disks);
        }
        if expected <= Duration::from_millis(req.max_downtime_ms) {
            postcopy_now = false;
            break (dirty, dirty_disks);
        }
        let give_up_precopy = match req.mode {
            MigrationMode::Postcopy => true,
            MigrationMode::Auto => {
                iteration >= AUTO_POSTCOPY_ROUNDS
                    || throttle >= tern_machine::virt::hart_thread::MAX_THROTTLE
            }
            MigrationMode::Precopy => false,
        };
        if give_up_precopy {
            postcopy_now = true;
            break (dirty, dirty_disks);
        }
        // Auto-converge: the guest dirties more than half of what the link carried
        // in the previous round, round after round.
        let sent_last = s.conn.bytes_sent - last_sent;
        if req.auto_converge && remaining > sent_last / 2 {
            high_rounds += 1;
            if high_rounds >= THROTTLE_ROUNDS {
                high_rounds = 0;
                throttle = if throttle == 0 {
                    THROTTLE_INITIAL
                } else {
                    (throttle + THROTTLE_STEP).min(tern_machine::virt::hart_thread::MAX_THROTTLE)
                };
                if vm.set_throttle(throttle) {
                    out.update(|st| st.throttle_percent = throttle);
                } else {
                    // This kind of VM runs at full speed: rounds decide alone.
                    throttle = 0;
                }
            }
        } else {
            high_rounds = 0;
        }
        last_sent = s.conn.bytes_sent;
        for (n, &addr) in dirty.iter().enumerate() {
            if n % 1024 == 0 && out.cancelled() {
                return Err(Failure::new("cancelled"));
            }
            s.page(
                &ram,
                (addr - ram.base()) / PAGE_SIZE as u64,
                false,
                &mut buf,
            )?;
        }
        for (index, disk, set) in &dirty_disks {
            s.blocks(*index, disk, set, false)?;
        }
        s.flush()?;
        last_round = round_start.elapsed();
        iteration += 1;
    };

    // Switch-over: the VM stops here.
    out.update(|st| {
        st.phase = MigrationPhase::Switchover;
        if postcopy_now {
            st.mode = MigrationMode::Postcopy;
        }
    });
    let paused_at = Instant::now();
    vm.pause(PAUSE_TIMEOUT)
        .map_err(|e| Failure::new(format!("cannot pause the VM: {e}")))?;
    let paused = |e: Failure| Failure { paused: true, ..e };
    dirty.extend(vm.sync_dirty_log());
    dirty.sort_unstable();
    dirty.dedup();
    for (index, disk, set) in &mut dirty_disks {
        let mut d = disk.lock();
        set.union_with(d.written_since_mark());
        d.mark();
        drop(d);
        let _ = index;
    }
    let pending = if postcopy_now {
        // Post-copy: what the destination must fetch is every page not sent yet or
        // dirtied since it was sent; it runs at once.
        postcopy::pending_bitmap(pages, &dirty)
    } else {
        for &addr in &dirty {
            s.page(
                &ram,
                (addr - ram.base()) / PAGE_SIZE as u64,
                false,
                &mut buf,
            )
            .map_err(|e| paused(e.into()))?;
        }
        Vec::new()
    };
    for (index, disk, set) in &dirty_disks {
        s.blocks(*index, disk, set, false)
            .map_err(|e| paused(e.into()))?;
    }
    for d in &disks {
        let mut disk = d.disk.lock();
        disk.flush()
            .map_err(|e| paused(Failure::new(format!("disk {}: cannot flush: {e}", d.index))))?;
        let size = disk.size();
        drop(disk);
        if d.mode == DiskMode::Shared {
            let fp = match &d.path {
                Some(p) => Some(fingerprint(p).map_err(|e| paused(Failure::new(e)))?),
                None => None,
            };
            s.send(&Message::Disk(DiskInfo {
                index: d.index,
                mode: d.mode,
                size,
                fingerprint: fp,
            }))
            .map_err(|e| paused(e.into()))?;
        }
    }
    let states = vm
        .save_state()
        .map_err(|e| paused(Failure::new(format!("machine state: {e}"))))?;
    for (name, bytes) in states.iter() {
        s.send(&Message::State {
            name: name.to_string(),
            bytes: bytes.to_vec(),
        })
        .map_err(|e| paused(e.into()))?;
    }
    let fault = if postcopy_now {
        Some(open(req, session, Role::Fault, Mode::Postcopy, out).map_err(paused)?)
    } else {
        None
    };
    s.send(&Message::SwitchOver {
        pending: pending.clone(),
    })
    .map_err(|e| paused(e.into()))?;
    s.flush().map_err(|e| paused(e.into()))?;
    let pages_sent = s.pages_sent;
    drop(s);
    match conn.recv().map_err(|e| paused(e.into()))? {
        Message::Ready => {}
        other => {
            return Err(paused(Failure::new(format!(
                "the destination answered `{}` instead of `ready`",
                other.name()
            ))))
        }
    }
    if out.cancelled() {
        conn.send_error("the source cancelled the migration");
        return Err(paused(Failure::new("cancelled")));
    }
    out.committed.store(true, Ordering::SeqCst);
    conn.send_now(&Message::Go).map_err(|e| paused(e.into()))?;
    match conn.recv().map_err(|e| paused(e.into()))? {
        Message::Started => {}
        other => {
            return Err(paused(Failure::new(format!(
                "the destination answered `{}` instead of `started`",
                other.name()
            ))))
        }
    }
    let downtime = paused_at.elapsed();
    out.update(|st| {
        st.downtime_ms = Some(downtime.as_secs_f64() * 1e3);
        st.bytes_sent = conn.bytes_sent;
        st.pages_sent = pages_sent;
        st.remaining_bytes = 0;
    });
    if let Some(fault) = fault {
        out.update(|st| st.phase = MigrationPhase::Postcopy);
        postcopy::serve(&ram, &pending, conn, fault, |sent, bytes| {
            out.update(|st| {
                st.pages_sent = pages_sent + sent;
                st.bytes_sent = bytes;
            })
        })
        .map_err(paused)?;
    }
    Ok(())
}

/// A `Failure` from the post-copy server.
pub(super) fn failure(message: String) -> Failure {
    Failure::new(message)
}

pub(super) use Failure as SourceFailure;
