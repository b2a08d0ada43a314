//! The arena's tables (layout version [`super::VERSION`]) and the limits they give.
//!
//! Every type is `#[repr(C)]` plain data for which all-zero bytes are the empty
//! state.

use std::sync::atomic::AtomicU32;

/// Semaphore sets (`SEMMNI`; Linux's default is 32000).
pub const SEMMNI: usize = 128;
/// Semaphores per set (`SEMMSL`; Linux: 32000).
pub const SEMMSL: usize = 250;
/// Semaphores in all sets (`SEMMNS`).
pub const SEMMNS: usize = SEMMNI * SEMMSL;
/// Operations per `semop` (`SEMOPM`; Linux: 500).
pub const SEMOPM: usize = 32;
/// The largest semaphore value (`SEMVMX`, as Linux).
pub const SEMVMX: i32 = 32767;
/// The largest undo adjustment (`SEMAEM`, as Linux).
pub const SEMAEM: i32 = SEMVMX;
/// Undo records (one per process and set used with `SEM_UNDO`).
pub const SEMMNU: usize = 256;

/// Message queues (`MSGMNI`; Linux: 32000).
pub const MSGMNI: usize = 64;
/// The largest message (`MSGMAX`, as Linux).
pub const MSGMAX: usize = 8192;
/// The default and largest byte capacity of a queue (`MSGMNB`, as Linux).
pub const MSGMNB: usize = 16384;
/// Messages per queue: Linux bounds their number by `msg_qbytes` only; here a
/// queue holds at most this many (a full queue blocks or gives `EAGAIN` as one
/// out of bytes does).
pub const MSGQNUM: usize = 1024;
/// The bytes a message takes in a queue's area besides its text (type, length).
pub const MSG_HDR: usize = 16;
/// The bytes of a queue's message area: room for [`MSGMNB`] bytes of text in
/// [`MSGQNUM`] messages, each text padded to 8 bytes.
pub const MSG_AREA: usize = MSGMNB + MSGQNUM * (MSG_HDR + 8);

/// Shared-memory segments (`SHMMNI`; Linux: 4096).
pub const SHMMNI: usize = 64;
/// Attachment records: processes of the VM with segments attached at once.
pub const SHMATT: usize = 256;
/// `SHM_DEST` in a segment's mode: removed, destroyed at the last detach.
pub const SHM_DEST: u32 = 0o1000;
/// `SHM_LOCKED` in a segment's mode.
pub const SHM_LOCKED: u32 = 0o2000;

/// An object id is `seq * SEQ_MULTIPLIER + index` (Linux's `IPCMNI`).
pub const SEQ_MULTIPLIER: usize = 32768;
/// Sequence numbers wrap below this, so that ids stay positive `int`s.
pub const SEQ_LIMIT: u32 = 65535;

/// The permissions and identity of an object (`struct kern_ipc_perm`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Perm {
    /// The key (`IPC_PRIVATE` = 0).
    pub key: i32,
    /// Owner uid.
    pub uid: u32,
    /// Owner gid.
    pub gid: u32,
    /// Creator uid.
    pub cuid: u32,
    /// Creator gid.
    pub cgid: u32,
    /// Permission bits (low 9 bits).
    pub mode: u32,
    /// The slot's sequence number (part of the id).
    pub seq: u32,
    /// 1 while the slot holds an object.
    pub used: u32,
}

impl Perm {
    /// The id of the object in slot `idx`.
    pub fn id(&self, idx: usize) -> i32 {
        (self.seq as usize * SEQ_MULTIPLIER + idx) as i32
    }
}

/// One semaphore.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Sem {
    /// `semval`.
    pub val: i32,
    /// `sempid`: the guest pid of the last process to change it.
    pub pid: i32,
    /// Waiters for an increase (`GETNCNT`).
    pub ncnt: u32,
    /// Waiters for zero (`GETZCNT`).
    pub zcnt: u32,
}

/// A semaphore set.
#[repr(C)]
pub struct SemSet {
    /// Identity and permissions.
    pub perm: Perm,
    /// Semaphores in the set.
    pub nsems: u32,
    /// Bumped at every change: blocked callers wait on it.
    pub wake: AtomicU32,
    /// Last `semop`.
    pub otime: i64,
    /// Last change of the set itself.
    pub ctime: i64,
    /// The semaphores (the first `nsems` are the set's).
    pub sems: [Sem; SEMMSL],
}

/// A process's `SEM_UNDO` adjustments for one set.
#[repr(C)]
pub struct Undo {
    /// The owner's host pid (0: free record).
    pub pid: i32,
    /// The set's id.
    pub semid: i32,
    /// The owner's start time (`/proc/PID/stat`), so that a reused pid is not it.
    pub start: u64,
    /// `semadj` per semaphore.
    pub adj: [i16; SEMMSL],
}

/// A message queue.
#[repr(C)]
pub struct MsgQueue {
    /// Identity and permissions.
    pub perm: Perm,
    /// Bumped at every change: blocked senders and receivers wait on it.
    pub wake: AtomicU32,
    /// Messages queued.
    pub qnum: u32,
    /// Bytes of text queued.
    pub cbytes: u32,
    /// The queue's byte capacity (`msg_qbytes`).
    pub qbytes: u32,
    /// Guest pid of the last `msgsnd`.
    pub lspid: i32,
    /// Guest pid of the last `msgrcv`.
    pub lrpid: i32,
    /// Last `msgsnd`.
    pub stime: i64,
    /// Last `msgrcv`.
    pub rtime: i64,
    /// Last change.
    pub ctime: i64,
    /// Bytes of `area` in use.
    pub used: u32,
    /// Padding.
    pub _pad: u32,
    /// The messages in order: each a type (i64), a text length (u32), 4 bytes of
    /// padding, then the text padded to 8 bytes.
    pub area: [u8; MSG_AREA],
}

/// A shared-memory segment.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct ShmSeg {
    /// Identity and permissions (mode also holds `SHM_DEST`, `SHM_LOCKED`).
    pub perm: Perm,
    /// The size asked for.
    pub size: u64,
    /// Where its pages are in the shared-memory pool.
    pub offset: u64,
    /// Padding (attachments are counted in [`ShmAtt`] records).
    pub _unused: u64,
    /// Creator's guest pid.
    pub cpid: i32,
    /// Guest pid of the last `shmat`/`shmdt`.
    pub lpid: i32,
    /// Last `shmat`.
    pub atime: i64,
    /// Last `shmdt`.
    pub dtime: i64,
    /// Last change.
    pub ctime: i64,
}

/// The segments one process has attached.
#[repr(C)]
pub struct ShmAtt {
    /// The process's host pid (0: free record).
    pub pid: i32,
    /// Padding.
    pub _pad: u32,
    /// Its start time (`/proc/PID/stat`).
    pub start: u64,
    /// Attachments per segment slot (areas of its address space, as Linux counts).
    pub count: [u16; SHMMNI],
}

/// All tables.
#[repr(C)]
pub struct Tables {
    /// Semaphores in use in all sets.
    pub sem_total: u32,
    /// Padding.
    pub _pad: u32,
    /// Semaphore sets.
    pub sems: [SemSet; SEMMNI],
    /// Undo records.
    pub undo: [Undo; SEMMNU],
    /// Message queues.
    pub msgs: [MsgQueue; MSGMNI],
    /// Shared-memory segments.
    pub shm: [ShmSeg; SHMMNI],
    /// Who has which segments attached.
    pub shm_att: [ShmAtt; SHMATT],
}

/// A message as stored in a queue's area.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MsgRec {
    /// Offset of its header in the area.
    pub at: usize,
    /// `mtype`.
    pub mtype: i64,
    /// Text length.
    pub len: usize,
}

impl MsgRec {
    /// The bytes it takes in the area.
    pub fn span(&self) -> usize {
        MSG_HDR + self.len.next_multiple_of(8)
    }
}

impl MsgQueue {
    /// The queued messages in order (stops at anything out of bounds).
    pub fn messages(&self) -> impl Iterator<Item = MsgRec> + '_ {
        let used = (self.used as usize).min(MSG_AREA);
        let mut at = 0usize;
        std::iter::from_fn(move || {
            if at + MSG_HDR > used {
                return None;
            }
            let h = &self.area[at..at + MSG_HDR];
            let mtype = i64::from_le_bytes(h[0..8].try_into().ok()?);
            let len = u32::from_le_bytes(h[8..12].try_into().ok()?) as usize;
            let rec = MsgRec { at, mtype, len };
            if at + rec.span() > used {
                return None;
            }
            at += rec.span();
            Some(rec)
        })
    }

    /// The text of `rec`.
    pub fn text(&self, rec: &MsgRec) -> &[u8] {
        let s = (rec.at + MSG_HDR).min(MSG_AREA);
        &self.area[s..(s + rec.len).min(MSG_AREA)]
    }

    /// Appends a message; false if the area has no room.
    pub fn push(&mut self, mtype: i64, text: &[u8]) -> bool {
        let at = self.used as usize;
        let span = MSG_HDR + text.len().next_multiple_of(8);
        if at + span > MSG_AREA {
            return false;
        }
        self.area[at..at + 8].copy_from_slice(&mtype.to_le_bytes());
        self.area[at + 8..at + 12].copy_from_slice(&(text.len() as u32).to_le_bytes());
        self.area[at + 12..at + MSG_HDR].fill(0);
        self.area[at + MSG_HDR..at + MSG_HDR + text.len()].copy_from_slice(text);
        self.area[at + MSG_HDR + text.len()..at + span].fill(0);
        self.used = (at + span) as u32;
        self.qnum += 1;
        self.cbytes += text.len() as u32;
        true
    }

    /// Removes message `rec`, closing the gap.
    pub fn remove(&mut self, rec: &MsgRec) {
        let used = (self.used as usize).min(MSG_AREA);
        let end = (rec.at + rec.span()).min(used);
        self.area.copy_within(end..used, rec.at);
        self.used = (used - (end - rec.at)) as u32;
        self.qnum = self.qnum.saturating_sub(1);
        self.cbytes = self.cbytes.saturating_sub(rec.len as u32);
    }

    /// Empties the queue.
    pub fn clear(&mut self) {
        self.used = 0;
        self.qnum = 0;
        self.cbytes = 0;
    }
}
