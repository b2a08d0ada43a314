//! The SysV IPC namespace of a process VM: one **IPC arena** per VM.
//!
//! Guest processes are host processes (`fork` forks tern, `execve` re-executes it), so
//! the semaphore sets, message queues and shared-memory segments that Linux keeps in
//! the kernel live here in host shared memory: a `memfd` created by the VM's first
//! process ([`init`]), inherited by `fork` (the mapping is `MAP_SHARED`, so every
//! process of the VM sees the same bytes) and handed to a re-executed tern as
//! `--ipc-fd N` (its only moment without `FD_CLOEXEC`, see [`pass_on_exec`]). Two VMs
//! have two arenas: keys and ids never cross.
//!
//! The arena has a fixed size, so what a guest can make the host hold is bounded
//! whatever it does (the limits below are what `IPC_INFO` reports; Linux's defaults
//! are far larger, SEMMSL 32000, MSGMNI 32000, and those tables would be huge here).
//!
//! # Layout (version [`VERSION`])
//!
//! Plain data, little-endian host integers, `#[repr(C)]`:
//! - [`Header`] at offset 0: magic `TERNIPC\0`, version, the size of the tables, the
//!   lock word and its waiter count;
//! - [`Tables`] at offset [`TABLES_OFFSET`]: [`SEMMNI`] semaphore sets of [`SEMMSL`]
//!   semaphores, [`SEMMNU`] undo records (`SEM_UNDO`), [`MSGMNI`] message queues
//!   each with its own [`MSG_AREA`] bytes of messages, [`SHMMNI`] shared-memory
//!   segment records and [`SHMATT`] records of which process has which segments
//!   attached;
//! - the shared-memory pool at [`POOL_OFFSET`], [`Header::shm_pool`] bytes: the
//!   segments' pages, each segment a run of it. tern maps only the header and tables
//!   itself; a segment is mapped into the guest's address space by `shmat` as a
//!   shared region over its run of the memfd ([`crate::mm::shared`]). The pool's size
//!   is the VM's `--memory` up to [`SHM_POOL_MAX`]: all segments together cannot
//!   hold more host memory than that.
//!
//! A zeroed table is empty, so a new memfd needs only its header written. An object's
//! id is `seq * 32768 + index` as in Linux; `seq` grows each time a slot is reused, so
//! an old id stops naming the slot. A process snapshot carries the arena as bytes
//! with this version ([`saved`]); a snapshot of a process tree must carry it once.
//!
//! # Locking and waiting
//!
//! One lock for the whole arena: the word [`Header::lock`] holds the host thread id of
//! its holder (0 when free), taken with compare-and-swap and waited for with a host
//! futex on the shared word (futexes on shared mappings work across processes). A
//! holder that died (a process killed by `SIGKILL`) is detected by the waiters, which
//! take the lock over: the critical sections are short and never block, and every
//! index read from the arena is bounds-checked, so a half-done update cannot make
//! tern misbehave. A call that must wait (`semop`, `msgsnd`, `msgrcv`) notes the
//! object's `wake` word, drops the lock and waits on that word with a host futex in
//! short slices, checking for guest signals (`EINTR`), its deadline and the object's
//! removal (`EIDRM`); whoever changes the object bumps the word and wakes all.

pub mod layout;
pub mod saved;

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use crate::errno::Errno;
pub use layout::*;

/// The magic at the start of an arena.
pub const MAGIC: [u8; 8] = *b"TERNIPC\0";
/// The arena layout version.
pub const VERSION: u32 = 1;
/// Where the tables start (the header has a page of its own).
pub const TABLES_OFFSET: usize = 4096;
/// The bytes of the arena tern maps (header and tables).
pub const ARENA_SIZE: usize = TABLES_OFFSET + std::mem::size_of::<Tables>();
/// Where the shared-memory pool starts in the memfd.
pub const POOL_OFFSET: u64 = (ARENA_SIZE as u64).next_multiple_of(1 << 21);
/// The largest shared-memory pool.
pub const SHM_POOL_MAX: u64 = 1 << 30;
/// The shared-memory pool in a VM of `memory` bytes (whole pages).
pub fn pool_size(memory: u64) -> u64 {
    memory.min(SHM_POOL_MAX) & !0xfff
}

/// The header of an arena.
#[repr(C)]
pub struct Header {
    /// [`MAGIC`].
    pub magic: [u8; 8],
    /// [`VERSION`].
    pub version: u32,
    /// `size_of::<Tables>()` of the process that made the arena.
    pub tables_size: u32,
    /// The host tid of the lock's holder, 0 when free.
    pub lock: AtomicU32,
    /// How many threads wait for the lock.
    pub lock_waiters: AtomicU32,
    /// Padding.
    pub _pad: u32,
    /// Bytes of the shared-memory pool.
    pub shm_pool: u64,
}

/// An arena mapped into this host process.
pub struct Arena {
    base: *mut u8,
    file: Arc<OwnedFd>,
}

// SAFETY: the mapping lives as long as the process and is only written under the
// arena lock (the lock word itself is atomic).
unsafe impl Send for Arena {}
// SAFETY: as above.
unsafe impl Sync for Arena {}

/// The arena of this host process (see [`init`]).
static ARENA: OnceLock<Arena> = OnceLock::new();

impl Arena {
    /// A new, empty arena with a shared-memory pool of `pool` bytes in a new memfd at
    /// or above descriptor `min_fd`.
    pub fn create(min_fd: RawFd, pool: u64) -> Result<Arena, String> {
        let name = c"tern-ipc";
        // SAFETY: a valid C string; the result is checked.
        let fd = unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC) };
        if fd < 0 {
            return Err(format!("ipc arena: {}", std::io::Error::last_os_error()));
        }
        let fd = raise_fd(fd, min_fd)?;
        // SAFETY: our own new descriptor.
        if unsafe { libc::ftruncate(fd, (POOL_OFFSET + pool) as libc::off_t) } != 0 {
            let e = std::io::Error::last_os_error();
            // SAFETY: our own descriptor.
            unsafe { libc::close(fd) };
            return Err(format!("ipc arena: {e}"));
        }
        let a = Arena::map(fd)?;
        // SAFETY: nobody else has the arena yet; the header is within the mapping.
        unsafe {
            let h = a.base.cast::<Header>();
            (*h).magic = MAGIC;
            (*h).version = VERSION;
            (*h).tables_size = std::mem::size_of::<Tables>() as u32;
            (*h).shm_pool = pool;
        }
        Ok(a)
    }

    /// The arena in inherited descriptor `fd` (`--ipc-fd`), checked to be one of this
    /// version, moved at or above `min_fd`.
    pub fn adopt(fd: RawFd, min_fd: RawFd) -> Result<Arena, String> {
        // SAFETY: a local stat buffer.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        if unsafe { libc::fstat(fd, &mut st) } != 0 {
            return Err(format!(
                "--ipc-fd {fd}: {}",
                std::io::Error::last_os_error()
            ));
        }
        if (st.st_size as u64) < ARENA_SIZE as u64 || st.st_mode & libc::S_IFMT != libc::S_IFREG {
            return Err(format!("--ipc-fd {fd}: not an IPC arena"));
        }
        // SAFETY: setting FD_CLOEXEC on a descriptor we were given.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
        let fd = raise_fd(fd, min_fd)?;
        let a = Arena::map(fd)?;
        let h = a.header();
        if h.magic != MAGIC
            || h.version != VERSION
            || h.tables_size as usize != std::mem::size_of::<Tables>()
            || (st.st_size as u64) < POOL_OFFSET.saturating_add(h.shm_pool)
        {
            return Err(format!(
                "--ipc-fd {fd}: an IPC arena of another version (this tern reads version {VERSION})"
            ));
        }
        Ok(a)
    }

    fn map(fd: RawFd) -> Result<Arena, String> {
        // SAFETY: a new shared mapping of our descriptor; checked below.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                ARENA_SIZE,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(format!("ipc arena: {}", std::io::Error::last_os_error()));
        }
        // SAFETY: `fd` is ours from here on.
        let file = Arc::new(unsafe { OwnedFd::from_raw_fd(fd) });
        Ok(Arena {
            base: p.cast(),
            file,
        })
    }

    /// The header.
    pub fn header(&self) -> &Header {
        // SAFETY: the header is at the start of the mapping, which lives as long as
        // `self`; its mutable fields are atomics.
        unsafe { &*self.base.cast::<Header>() }
    }

    /// The arena's descriptor.
    pub fn fd(&self) -> RawFd {
        self.file.as_raw_fd()
    }

    /// The arena's memfd (shared regions of SysV segments map it).
    pub fn file(&self) -> &Arc<OwnedFd> {
        &self.file
    }

    /// The bytes of the shared-memory pool.
    pub fn pool(&self) -> u64 {
        self.header().shm_pool
    }

    /// Gives the pool's pages `[off, off + len)` back to the host: they read as
    /// zeros afterwards (a segment made or destroyed).
    pub fn zero_pool(&self, off: u64, len: u64) {
        // SAFETY: fallocate on our own memfd; a failure leaves old bytes, which
        // cannot happen for a memfd and a range inside it.
        unsafe {
            libc::fallocate(
                self.fd(),
                libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
                (POOL_OFFSET + off) as libc::off_t,
                len as libc::off_t,
            );
        }
    }

    /// Takes the arena lock.
    pub fn lock(&self) -> Locked<'_> {
        // SAFETY: gettid cannot fail.
        let me = unsafe { libc::gettid() } as u32;
        let h = self.header();
        let mut spins = 0u32;
        loop {
            match h
                .lock
                .compare_exchange(0, me, Ordering::Acquire, Ordering::Relaxed)
            {
                Ok(_) => break,
                Err(owner) => {
                    spins += 1;
                    if spins < 64 {
                        std::hint::spin_loop();
                        continue;
                    }
                    h.lock_waiters.fetch_add(1, Ordering::SeqCst);
                    let r = futex_wait(&h.lock, owner, Some(Duration::from_millis(20)));
                    h.lock_waiters.fetch_sub(1, Ordering::SeqCst);
                    if r == Wait::TimedOut && owner != 0 && !alive(owner as i32) {
                        // The holder died with the lock: take it over.
                        if h.lock
                            .compare_exchange(owner, me, Ordering::Acquire, Ordering::Relaxed)
                            .is_ok()
                        {
                            break;
                        }
                    }
                }
            }
        }
        Locked {
            arena: self,
            // SAFETY: the tables follow the header within the mapping; the lock
            // makes this the only reference to them in any process of the VM.
            tables: unsafe { &mut *self.base.add(TABLES_OFFSET).cast::<Tables>() },
        }
    }
}

/// The arena, locked.
pub struct Locked<'a> {
    arena: &'a Arena,
    /// The tables.
    pub tables: &'a mut Tables,
}

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        let h = self.arena.header();
        h.lock.store(0, Ordering::Release);
        if h.lock_waiters.load(Ordering::SeqCst) != 0 {
            futex_wake(&h.lock);
        }
    }
}

impl std::ops::Deref for Locked<'_> {
    type Target = Tables;
    fn deref(&self) -> &Tables {
        self.tables
    }
}

impl std::ops::DerefMut for Locked<'_> {
    fn deref_mut(&mut self) -> &mut Tables {
        self.tables
    }
}

/// Moves `fd` at or above `min_fd` (the emulator's descriptors, out of the guest's
/// reach), close-on-exec.
fn raise_fd(fd: RawFd, min_fd: RawFd) -> Result<RawFd, String> {
    if fd >= min_fd {
        return Ok(fd);
    }
    // SAFETY: duplicating our own descriptor, then closing the original.
    let n = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, min_fd) };
    // SAFETY: as above.
    unsafe { libc::close(fd) };
    if n < 0 {
        return Err(format!("ipc arena: {}", std::io::Error::last_os_error()));
    }
    Ok(n)
}

/// Whether host thread or process `id` exists.
fn alive(id: i32) -> bool {
    // SAFETY: signal 0 only checks for existence.
    let r = unsafe { libc::kill(id, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

/// Whether the process `pid` that started at `start` has ended: it no longer
/// exists, its pid is another process's, or it is a zombie (Linux applies undo
/// records before a process becomes one).
pub fn gone(pid: i32, start: u64) -> bool {
    let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return true;
    };
    let state = text
        .rfind(')')
        .and_then(|i| text[i + 1..].split_whitespace().next());
    if matches!(state, Some("Z" | "X" | "x")) {
        return true;
    }
    crate::tree::parse_stat(&text).map(|s| s.start) != Some(start)
}

/// The calling process as the arena's records name it (pid and start time), read
/// from `/proc` once per host process.
pub fn me() -> crate::tree::ProcId {
    use std::sync::atomic::{AtomicI32, AtomicU64};
    // Atomics, not a lock: a `fork` child must never find it held.
    static PID: AtomicI32 = AtomicI32::new(0);
    static START: AtomicU64 = AtomicU64::new(0);
    // SAFETY: getpid cannot fail.
    let pid = unsafe { libc::getpid() };
    if PID.load(Ordering::Acquire) == pid {
        return crate::tree::ProcId {
            pid,
            start: START.load(Ordering::Relaxed),
        };
    }
    // A fork child has another pid: it reads its own.
    let p = crate::tree::ProcId::current();
    START.store(p.start, Ordering::Relaxed);
    PID.store(p.pid, Ordering::Release);
    p
}

/// Sets up this host process's arena: the one in `fd` (`--ipc-fd`, from the process
/// that ran `execve`), or a new one (the first process of a VM, of `memory` bytes).
/// The caller then applies what `execve` means for an adopted arena (the system
/// calls' `sysv_sem::undo_hook`, `sysv_shm::exec_detached`: see `start`).
pub fn init(fd: Option<RawFd>, min_fd: RawFd, memory: u64) -> Result<(), String> {
    let a = match fd {
        Some(fd) => Arena::adopt(fd, min_fd)?,
        None => Arena::create(min_fd, pool_size(memory))?,
    };
    if ARENA.set(a).is_err() {
        return Err("ipc arena: set up twice".into());
    }
    Ok(())
}

/// The arena of this process. Unit tests get one per test thread; a process that
/// never ran [`init`] (a restored one) makes its own.
pub fn arena() -> Result<&'static Arena, Errno> {
    #[cfg(test)]
    {
        Ok(TEST_ARENA.with(|c| {
            *c.get_or_init(|| {
                Box::leak(Box::new(Arena::create(3, 16 << 20).expect("an ipc arena")))
            })
        }))
    }
    #[cfg(not(test))]
    {
        if let Some(a) = ARENA.get() {
            return Ok(a);
        }
        let a = Arena::create(crate::fs::guest_fd_limit(), pool_size(SHM_POOL_MAX))
            .map_err(|_| Errno::ENOMEM)?;
        let _ = ARENA.set(a);
        ARENA.get().ok_or(Errno::ENOMEM)
    }
}

/// The arena of this process if it has one (never making one): a snapshot's.
pub(crate) fn arena_if_any() -> Option<&'static Arena> {
    #[cfg(test)]
    {
        TEST_ARENA.with(|c| c.get().copied())
    }
    #[cfg(not(test))]
    {
        ARENA.get()
    }
}

#[cfg(test)]
thread_local! {
    /// The arena of a unit test's thread: tests run in parallel threads of one
    /// process, each with its own namespace ([`share_with_thread`] for a helper
    /// thread of the same test).
    static TEST_ARENA: std::cell::OnceCell<&'static Arena> = const { std::cell::OnceCell::new() };
}

/// Gives the calling (test) thread the arena `a` of another test thread.
#[cfg(test)]
pub fn share_with_thread(a: &'static Arena) {
    TEST_ARENA.with(|c| {
        let _ = c.set(a);
    });
}

/// The descriptor of this process's arena, if it has one (`--ipc-fd` for `execve`).
pub fn fd() -> Option<RawFd> {
    ARENA.get().map(|a| a.fd())
}

/// Lets the arena's descriptor survive the `execve` of a new tern (which is told
/// its number); [`keep_private`] undoes it when that `execve` failed.
pub fn pass_on_exec() {
    if let Some(fd) = fd() {
        // SAFETY: clearing FD_CLOEXEC on our own descriptor.
        unsafe { libc::fcntl(fd, libc::F_SETFD, 0) };
    }
}

/// Makes the arena's descriptor close-on-exec again.
pub fn keep_private() {
    if let Some(fd) = fd() {
        // SAFETY: setting FD_CLOEXEC on our own descriptor.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
}

/// How a futex wait ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wait {
    /// Woken, interrupted, or the word had changed.
    Woken,
    /// The timeout passed.
    TimedOut,
}

/// Waits while `word` holds `old`, at most `timeout` (a shared futex: the word is in
/// the arena, mapped by several processes).
pub fn futex_wait(word: &AtomicU32, old: u32, timeout: Option<Duration>) -> Wait {
    let ts = timeout.map(|d| libc::timespec {
        tv_sec: d.as_secs() as libc::time_t,
        tv_nsec: d.subsec_nanos() as libc::c_long,
    });
    let tsp = ts
        .as_ref()
        .map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: `word` lives in the arena mapping; `tsp` is null or a local.
    let r = unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT,
            old,
            tsp,
            0usize,
            0u32,
        )
    };
    if r < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ETIMEDOUT) {
        Wait::TimedOut
    } else {
        Wait::Woken
    }
}

/// Wakes every waiter on `word`.
pub fn futex_wake(word: &AtomicU32) {
    // SAFETY: `word` lives in the arena mapping.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAKE,
            i32::MAX,
            0usize,
            0usize,
            0u32,
        );
    }
}

/// Bumps an object's wake word and wakes its waiters (called with the lock held).
pub fn bump(word: &AtomicU32) {
    word.fetch_add(1, Ordering::SeqCst);
    futex_wake(word);
}

/// The slice a blocked call waits before it looks again at signals and deadlines.
pub const WAIT_SLICE: Duration = Duration::from_millis(50);

/// How long to wait next: a slice, or less before `deadline`; `None` once passed.
pub fn next_wait(deadline: Option<Instant>) -> Option<Duration> {
    match deadline {
        None => Some(WAIT_SLICE),
        Some(d) => {
            let now = Instant::now();
            if now >= d {
                None
            } else {
                Some((d - now).min(WAIT_SLICE))
            }
        }
    }
}

/// Seconds since the epoch (the `*_time` fields).
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The calling process's credentials (guest ids are the host's).
#[derive(Clone, Copy, Debug)]
pub struct Creds {
    /// Real uid.
    pub uid: u32,
    /// Effective uid.
    pub euid: u32,
    /// Effective gid.
    pub egid: u32,
}

impl Creds {
    /// The caller's.
    pub fn current() -> Creds {
        // SAFETY: the id getters cannot fail.
        unsafe {
            Creds {
                uid: libc::getuid(),
                euid: libc::geteuid(),
                egid: libc::getegid(),
            }
        }
    }

    /// Whether the caller is in group `g` (effective or supplementary).
    fn in_group(&self, g: u32) -> bool {
        if g == self.egid {
            return true;
        }
        let mut groups = [0 as libc::gid_t; 256];
        // SAFETY: a local array of the given length.
        let n = unsafe { libc::getgroups(groups.len() as i32, groups.as_mut_ptr()) };
        n > 0 && groups[..n as usize].contains(&g)
    }

    /// Whether the caller has the capabilities that override IPC permissions
    /// (root).
    pub fn privileged(&self) -> bool {
        self.euid == 0
    }

    /// Linux's `ipcperms`: whether `flag`'s permission bits (`0400`/`0200`, or a
    /// `*get` flag's mode) are granted by `perm` to the caller.
    pub fn may(&self, perm: &Perm, flag: u32) -> bool {
        let requested = (flag >> 6) | (flag >> 3) | flag;
        let mut granted = perm.mode;
        if self.euid == perm.cuid || self.euid == perm.uid {
            granted >>= 6;
        } else if self.in_group(perm.cgid) || self.in_group(perm.gid) {
            granted >>= 3;
        }
        requested & !granted & 0o7 == 0 || self.privileged()
    }

    /// Whether the caller owns or created `perm`'s object (`IPC_SET`, `IPC_RMID`).
    pub fn owns(&self, perm: &Perm) -> bool {
        self.euid == perm.cuid || self.euid == perm.uid || self.privileged()
    }
}

/// Read permission (`S_IRUGO` in `ipcperms`).
pub const READ: u32 = 0o444;
/// Write (alter) permission.
pub const WRITE: u32 = 0o222;

/// `IPC_*` flags and commands.
#[allow(missing_docs)]
pub mod cmd {
    pub const IPC_PRIVATE: i32 = 0;
    pub const IPC_CREAT: u32 = 0o1000;
    pub const IPC_EXCL: u32 = 0o2000;
    pub const IPC_NOWAIT: u32 = 0o4000;
    pub const IPC_RMID: u32 = 0;
    pub const IPC_SET: u32 = 1;
    pub const IPC_STAT: u32 = 2;
    pub const IPC_INFO: u32 = 3;
    /// The "new layout" flag some C libraries add to `*ctl` commands: the layouts
    /// of riscv64 are the 64-bit ones either way.
    pub const IPC_64: u32 = 0x100;
}

/// What [`lookup`]-style searches find for a `*get`: an existing slot or a free one.
pub enum Found {
    /// The key's object at this index.
    Existing(usize),
    /// No object has the key; this slot is free (`None`: the table is full).
    Missing(Option<usize>),
}

/// Finds `key` (not `IPC_PRIVATE`) among `perms`, or a free slot.
pub fn find_key<'a>(perms: impl Iterator<Item = &'a Perm>, key: i32) -> Found {
    let mut free = None;
    for (i, p) in perms.enumerate() {
        if p.used != 0 {
            if key != cmd::IPC_PRIVATE && p.key == key {
                return Found::Existing(i);
            }
        } else if free.is_none() {
            free = Some(i);
        }
    }
    Found::Missing(free)
}

/// The index an id names in a table of `len` slots whose slot holds `perm`, if the
/// object is still that one.
pub fn index_of(id: i64, len: usize, perm: impl Fn(usize) -> Perm) -> Option<usize> {
    if id < 0 || id > i32::MAX as i64 {
        return None;
    }
    let idx = (id as usize) % SEQ_MULTIPLIER;
    if idx >= len {
        return None;
    }
    let p = perm(idx);
    (p.used != 0 && p.id(idx) == id as i32).then_some(idx)
}

/// Fills `perm` for a new object of `key` made by the caller with `flag`'s mode.
pub fn new_perm(perm: &mut Perm, key: i32, flag: u32) {
    let c = Creds::current();
    let seq = (perm.seq + 1) % SEQ_LIMIT;
    *perm = Perm {
        key,
        uid: c.euid,
        gid: c.egid,
        cuid: c.euid,
        cgid: c.egid,
        mode: flag & 0o777,
        seq,
        used: 1,
    };
}

/// Writes the `ipc64_perm` of `perm` (48 bytes) into `out`.
pub fn put_perm(out: &mut [u8], perm: &Perm, idx: usize) {
    out[0..4].copy_from_slice(&perm.key.to_le_bytes());
    out[4..8].copy_from_slice(&perm.uid.to_le_bytes());
    out[8..12].copy_from_slice(&perm.gid.to_le_bytes());
    out[12..16].copy_from_slice(&perm.cuid.to_le_bytes());
    out[16..20].copy_from_slice(&perm.cgid.to_le_bytes());
    out[20..24].copy_from_slice(&perm.mode.to_le_bytes());
    out[24..26].copy_from_slice(&(perm.seq as u16).to_le_bytes());
    let _ = idx;
}

/// Applies `IPC_SET`'s uid, gid and mode from an `ipc64_perm` in `buf`.
pub fn set_perm(perm: &mut Perm, buf: &[u8]) {
    let u = |o: usize| u32::from_le_bytes([buf[o], buf[o + 1], buf[o + 2], buf[o + 3]]);
    perm.uid = u(4);
    perm.gid = u(8);
    perm.mode = (perm.mode & !0o777) | (u(20) & 0o777);
}

/// `IPC_SET`'s checks, in Linux's order: the caller must own the object (`EPERM`),
/// the new owner must be a valid id (`EINVAL`).
pub fn check_set(c: &Creds, perm: &Perm, buf: &[u8]) -> Result<(), Errno> {
    let u = |o: usize| u32::from_le_bytes([buf[o], buf[o + 1], buf[o + 2], buf[o + 3]]);
    if !c.owns(perm) {
        return Err(Errno::EPERM);
    }
    if u(4) == u32::MAX || u(8) == u32::MAX {
        return Err(Errno::EINVAL);
    }
    Ok(())
}
