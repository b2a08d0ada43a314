//! The messages of a migration stream and their payload encoding (all integers
//! little-endian, whatever the host: the stream is host-architecture and byte-order
//! neutral). Component states and the VM configuration travel as the same
//! versioned bytes the snapshot file stores (tern-state's encoding), opaque here.
//!
//! A migration, source (S) and destination (D), main connection:
//!
//! ```text
//! S: hello  config  disk*  (pages | blocks)*          pre-copy rounds, VM running
//! S: (pages | blocks)*  state*  switch-over            VM paused on S
//! D: ready                                             D has loaded everything
//! S: go                                                D owns the VM from here
//! D: started
//! post-copy only, after `started`: S: pages* postcopy-done   D: finished
//! ```
//!
//! Post-copy opens a second connection (`hello` with [`Role::Fault`]) on which D asks
//! for the pages its harts touch first (`page-request`) and S answers with `pages`.
//! Either side may send `error` instead of its next message and close.

use crate::codec::{Dec, Enc};
use crate::error::WireError;
use crate::job::{Job, JobExit, MAX_ARG, MAX_ARGS, MAX_CHUNK, MAX_FILES, MAX_NAME};

/// The protocol version this build speaks (and the only one it accepts).
pub const PROTOCOL_VERSION: u32 = 1;
/// Bytes in a guest page.
pub const PAGE_SIZE: usize = 4096;
/// Most pages in one `pages` message.
pub const MAX_BATCH_PAGES: usize = 256;
/// Most bytes of disk data in one `blocks` message.
pub const MAX_BLOCK_BYTES: usize = 1 << 20;
/// Longest string field (names, versions, messages).
pub const MAX_STRING: usize = 4096;
/// Longest state or configuration.
pub const MAX_STATE: usize = 4 << 20;
/// Longest pending-page bitmap (64 GiB of guest RAM).
pub const MAX_BITMAP: usize = 2 << 20;

/// Which connection of a migration a `hello` opens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The stream of the VM itself.
    Main,
    /// Post-copy page requests and their answers.
    Fault,
}

/// How the memory moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Pre-copy: every page before the switch-over.
    Precopy,
    /// Post-copy: the destination runs at once, fetching pages on first touch.
    Postcopy,
}

/// The first message on each connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hello {
    /// [`PROTOCOL_VERSION`] of the sender.
    pub protocol: u32,
    /// Guest architecture ("riscv64").
    pub arch: String,
    /// The sender's tern version (informational).
    pub tern_version: String,
    /// Random id of this migration: both connections carry it, and every frame's
    /// checksum covers it, so a frame of another migration fails its checksum.
    pub session: [u8; 16],
    /// Which connection this is.
    pub role: Role,
    /// How memory moves.
    pub mode: Mode,
}

/// How a drive's disk moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiskMode {
    /// The destination opens the same image (shared storage), checked by fingerprint.
    Shared,
    /// The image is shared but read-only on both sides; the blocks the guest wrote
    /// (a `snapshot=on` overlay) are copied.
    Overlay,
    /// The whole disk is copied: the destination needs nothing but the stream.
    Copy,
}

/// What identifies an image's content (size and BLAKE3 of sampled blocks).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DiskFingerprint {
    /// Size in bytes.
    pub size: u64,
    /// The content digest.
    pub digest: [u8; 32],
}

/// How drive `index` moves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiskInfo {
    /// Index of the drive in the configuration.
    pub index: u32,
    /// How it moves.
    pub mode: DiskMode,
    /// Size of the disk as the guest sees it, in bytes.
    pub size: u64,
    /// The image's fingerprint (for [`DiskMode::Shared`] and [`DiskMode::Overlay`]).
    pub fingerprint: Option<DiskFingerprint>,
}

/// One page of guest RAM.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PageData {
    /// All zero.
    Zero,
    /// Its bytes ([`PAGE_SIZE`] of them).
    Bytes(Vec<u8>),
}

/// A message of the stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// Opens a connection.
    Hello(Hello),
    /// The VM's configuration (versioned bytes, as in a snapshot's `config`).
    Config(Vec<u8>),
    /// A process VM's configuration, in place of [`Message::Config`]: the VM that
    /// follows is one riscv64 Linux program (`tern exec`), its RAM the process's
    /// frames and its states the process's and its threads'.
    ProcessConfig(Vec<u8>),
    /// How a drive moves.
    Disk(DiskInfo),
    /// Pages of guest RAM: (page index from RAM's base, content).
    Pages(Vec<(u64, PageData)>),
    /// Disk data: bytes of drive `disk` at byte `offset` (a multiple of 512).
    Blocks {
        /// The drive.
        disk: u32,
        /// Where the bytes go.
        offset: u64,
        /// The bytes.
        data: Vec<u8>,
    },
    /// One component's state (versioned bytes, as in a snapshot's state sections).
    State {
        /// The component ("hart0", "plic", ...).
        name: String,
        /// Its state.
        bytes: Vec<u8>,
    },
    /// The source has paused the VM and sent everything but (post-copy) the pages of
    /// `pending`: a bitmap, bit `i` of byte `i / 8` for page `i`.
    SwitchOver {
        /// Pages the destination must fetch (empty for pre-copy).
        pending: Vec<u8>,
    },
    /// The destination has loaded the VM and waits for `go`.
    Ready,
    /// The destination owns the VM from now on and starts it.
    Go,
    /// The VM runs on the destination.
    Started,
    /// Post-copy: every pending page has been sent.
    PostcopyDone,
    /// Post-copy: the destination has every page; the source may end.
    Finished,
    /// Post-copy: the destination needs pages `first..first + count` now.
    PageRequest {
        /// First page index.
        first: u64,
        /// Number of pages (1 to [`MAX_BATCH_PAGES`]).
        count: u32,
    },
    /// The sender gives up, saying why.
    Error(String),
    /// A job (weak mobility, [`crate::job`]): run this program there.
    Job(Job),
    /// Bytes of a job's file `name` at `offset` (the file's bytes so far): its
    /// files going out, the fetched ones coming back. `mode`: permission bits.
    JobFile {
        /// The file's name (one path component).
        name: String,
        /// Its permission bits.
        mode: u32,
        /// Where the bytes go.
        offset: u64,
        /// The bytes (at most [`MAX_CHUNK`]; none for an empty file).
        data: Vec<u8>,
    },
    /// Output of the job's program: `fd` 1 (standard output) or 2 (error).
    Output {
        /// Which stream.
        fd: u8,
        /// The bytes.
        data: Vec<u8>,
    },
    /// How the job's program ended.
    Exit(JobExit),
}

const HELLO: u8 = 1;
const CONFIG: u8 = 2;
const DISK: u8 = 3;
const PAGES: u8 = 4;
const BLOCKS: u8 = 5;
const STATE: u8 = 6;
const SWITCH_OVER: u8 = 7;
const READY: u8 = 8;
const GO: u8 = 9;
const STARTED: u8 = 10;
const POSTCOPY_DONE: u8 = 11;
const FINISHED: u8 = 12;
const PAGE_REQUEST: u8 = 13;
const ERROR: u8 = 14;
const PROCESS_CONFIG: u8 = 15;
const JOB: u8 = 16;
const JOB_FILE: u8 = 17;
const OUTPUT: u8 = 18;
const EXIT: u8 = 19;

const PAGE_ZERO: u8 = 0;
const PAGE_BYTES: u8 = 1;

impl Message {
    /// The message's name, as errors say it.
    pub fn name(&self) -> &'static str {
        match self {
            Message::Hello(_) => "hello",
            Message::Config(_) => "config",
            Message::ProcessConfig(_) => "process-config",
            Message::Disk(_) => "disk",
            Message::Pages(_) => "pages",
            Message::Blocks { .. } => "blocks",
            Message::State { .. } => "state",
            Message::SwitchOver { .. } => "switch-over",
            Message::Ready => "ready",
            Message::Go => "go",
            Message::Started => "started",
            Message::PostcopyDone => "postcopy-done",
            Message::Finished => "finished",
            Message::PageRequest { .. } => "page-request",
            Message::Error(_) => "error",
            Message::Job(_) => "job",
            Message::JobFile { .. } => "job-file",
            Message::Output { .. } => "output",
            Message::Exit(_) => "exit",
        }
    }

    /// The message's type byte and payload.
    pub fn encode(&self) -> (u8, Vec<u8>) {
        let mut e = Enc::default();
        let kind = match self {
            Message::Hello(h) => {
                e.u32(h.protocol)
                    .str(&h.arch)
                    .str(&h.tern_version)
                    .raw(&h.session);
                e.u8(match h.role {
                    Role::Main => 0,
                    Role::Fault => 1,
                });
                e.u8(match h.mode {
                    Mode::Precopy => 0,
                    Mode::Postcopy => 1,
                });
                HELLO
            }
            Message::Config(b) => {
                e.bytes(b);
                CONFIG
            }
            Message::ProcessConfig(b) => {
                e.bytes(b);
                PROCESS_CONFIG
            }
            Message::Disk(d) => {
                e.u32(d.index);
                e.u8(match d.mode {
                    DiskMode::Shared => 0,
                    DiskMode::Overlay => 1,
                    DiskMode::Copy => 2,
                });
                e.u64(d.size);
                match &d.fingerprint {
                    None => {
                        e.u8(0);
                    }
                    Some(f) => {
                        e.u8(1).u64(f.size).raw(&f.digest);
                    }
                }
                DISK
            }
            Message::Pages(pages) => {
                e.u32(pages.len() as u32);
                for (index, data) in pages {
                    e.u64(*index);
                    match data {
                        PageData::Zero => {
                            e.u8(PAGE_ZERO);
                        }
                        PageData::Bytes(b) => {
                            e.u8(PAGE_BYTES).raw(b);
                        }
                    }
                }
                PAGES
            }
            Message::Blocks { disk, offset, data } => {
                e.u32(*disk).u64(*offset).bytes(data);
                BLOCKS
            }
            Message::State { name, bytes } => {
                e.str(name).bytes(bytes);
                STATE
            }
            Message::SwitchOver { pending } => {
                e.bytes(pending);
                SWITCH_OVER
            }
            Message::Ready => READY,
            Message::Go => GO,
            Message::Started => STARTED,
            Message::PostcopyDone => POSTCOPY_DONE,
            Message::Finished => FINISHED,
            Message::PageRequest { first, count } => {
                e.u64(*first).u32(*count);
                PAGE_REQUEST
            }
            Message::Error(m) => {
                e.str(m);
                ERROR
            }
            Message::Job(j) => {
                for list in [&j.argv, &j.env] {
                    e.u32(list.len() as u32);
                    for s in list {
                        e.str(s);
                    }
                }
                match &j.stdin {
                    None => e.u8(0),
                    Some(s) => e.u8(1).str(s),
                };
                e.u32(j.fetch.len() as u32);
                for s in &j.fetch {
                    e.str(s);
                }
                JOB
            }
            Message::JobFile {
                name,
                mode,
                offset,
                data,
            } => {
                e.str(name).u32(*mode).u64(*offset).bytes(data);
                JOB_FILE
            }
            Message::Output { fd, data } => {
                e.u8(*fd).bytes(data);
                OUTPUT
            }
            Message::Exit(x) => {
                let (how, v) = match x {
                    JobExit::Code(c) => (0, *c),
                    JobExit::Signal(s) => (1, *s),
                };
                e.u8(how).u32(v as u32);
                EXIT
            }
        };
        (kind, e.out)
    }

    /// Decodes the payload of a message of type `kind`. Every field is checked: a
    /// malformed payload is an error naming the message and the field.
    pub fn decode(kind: u8, payload: &[u8]) -> Result<Message, WireError> {
        let name = match kind {
            HELLO => "hello",
            CONFIG => "config",
            DISK => "disk",
            PAGES => "pages",
            BLOCKS => "blocks",
            STATE => "state",
            SWITCH_OVER => "switch-over",
            READY => "ready",
            GO => "go",
            STARTED => "started",
            POSTCOPY_DONE => "postcopy-done",
            FINISHED => "finished",
            PAGE_REQUEST => "page-request",
            ERROR => "error",
            PROCESS_CONFIG => "process-config",
            JOB => "job",
            JOB_FILE => "job-file",
            OUTPUT => "output",
            EXIT => "exit",
            other => {
                return Err(WireError::Malformed(format!(
                    "unknown message type {other}"
                )))
            }
        };
        let mut d = Dec::new(payload, name);
        let m = match kind {
            HELLO => {
                let protocol = d.u32("protocol")?;
                let arch = d.str(32, "arch")?;
                let tern_version = d.str(128, "tern version")?;
                let mut session = [0u8; 16];
                session.copy_from_slice(d.raw(16, "session")?);
                let role = match d.u8("role")? {
                    0 => Role::Main,
                    1 => Role::Fault,
                    v => return Err(WireError::Malformed(format!("hello message: role {v}"))),
                };
                let mode = match d.u8("mode")? {
                    0 => Mode::Precopy,
                    1 => Mode::Postcopy,
                    v => return Err(WireError::Malformed(format!("hello message: mode {v}"))),
                };
                Message::Hello(Hello {
                    protocol,
                    arch,
                    tern_version,
                    session,
                    role,
                    mode,
                })
            }
            CONFIG => Message::Config(d.bytes(MAX_STATE, "config")?.to_vec()),
            PROCESS_CONFIG => {
                Message::ProcessConfig(d.bytes(MAX_STATE, "process config")?.to_vec())
            }
            DISK => {
                let index = d.u32("index")?;
                let mode = match d.u8("mode")? {
                    0 => DiskMode::Shared,
                    1 => DiskMode::Overlay,
                    2 => DiskMode::Copy,
                    v => return Err(WireError::Malformed(format!("disk message: mode {v}"))),
                };
                let size = d.u64("size")?;
                let fingerprint = if d.flag("fingerprint")? {
                    let size = d.u64("fingerprint size")?;
                    let mut digest = [0u8; 32];
                    digest.copy_from_slice(d.raw(32, "fingerprint digest")?);
                    Some(DiskFingerprint { size, digest })
                } else {
                    None
                };
                Message::Disk(DiskInfo {
                    index,
                    mode,
                    size,
                    fingerprint,
                })
            }
            PAGES => {
                let n = d.u32("count")? as usize;
                if n > MAX_BATCH_PAGES {
                    return Err(WireError::Malformed(format!(
                        "pages message: {n} pages, at most {MAX_BATCH_PAGES} allowed"
                    )));
                }
                let mut pages = Vec::with_capacity(n);
                for _ in 0..n {
                    let index = d.u64("page index")?;
                    let data = match d.u8("page kind")? {
                        PAGE_ZERO => PageData::Zero,
                        PAGE_BYTES => PageData::Bytes(d.raw(PAGE_SIZE, "page data")?.to_vec()),
                        v => {
                            return Err(WireError::Malformed(format!(
                                "pages message: page {index:#x}: kind {v}"
                            )))
                        }
                    };
                    pages.push((index, data));
                }
                Message::Pages(pages)
            }
            BLOCKS => Message::Blocks {
                disk: d.u32("disk")?,
                offset: d.u64("offset")?,
                data: d.bytes(MAX_BLOCK_BYTES, "data")?.to_vec(),
            },
            STATE => Message::State {
                name: d.str(64, "name")?,
                bytes: d.bytes(MAX_STATE, "bytes")?.to_vec(),
            },
            SWITCH_OVER => Message::SwitchOver {
                pending: d.bytes(MAX_BITMAP, "pending")?.to_vec(),
            },
            READY => Message::Ready,
            GO => Message::Go,
            STARTED => Message::Started,
            POSTCOPY_DONE => Message::PostcopyDone,
            FINISHED => Message::Finished,
            PAGE_REQUEST => {
                let first = d.u64("first")?;
                let count = d.u32("count")?;
                if count == 0 || count as usize > MAX_BATCH_PAGES {
                    return Err(WireError::Malformed(format!(
                        "page-request message: {count} pages (1 to {MAX_BATCH_PAGES})"
                    )));
                }
                Message::PageRequest { first, count }
            }
            ERROR => Message::Error(d.str(MAX_STRING, "message")?),
            JOB => {
                let mut lists = [Vec::new(), Vec::new()];
                for (list, field) in lists.iter_mut().zip(["argv", "env"]) {
                    let n = d.u32(field)? as usize;
                    if n > MAX_ARGS {
                        return Err(WireError::Malformed(format!(
                            "job message: {n} {field} entries, at most {MAX_ARGS}"
                        )));
                    }
                    for _ in 0..n {
                        list.push(d.str(MAX_ARG, field)?);
                    }
                }
                let [argv, env] = lists;
                let stdin = if d.flag("stdin")? {
                    Some(d.str(MAX_NAME, "stdin")?)
                } else {
                    None
                };
                let n = d.u32("fetch")? as usize;
                if n > MAX_FILES {
                    return Err(WireError::Malformed(format!(
                        "job message: {n} files to fetch, at most {MAX_FILES}"
                    )));
                }
                let mut fetch = Vec::new();
                for _ in 0..n {
                    fetch.push(d.str(MAX_NAME, "fetch")?);
                }
                Message::Job(Job {
                    argv,
                    env,
                    stdin,
                    fetch,
                })
            }
            JOB_FILE => Message::JobFile {
                name: d.str(MAX_NAME, "name")?,
                mode: d.u32("mode")?,
                offset: d.u64("offset")?,
                data: d.bytes(MAX_CHUNK, "data")?.to_vec(),
            },
            OUTPUT => {
                let fd = d.u8("fd")?;
                if fd != 1 && fd != 2 {
                    return Err(WireError::Malformed(format!("output message: fd {fd}")));
                }
                Message::Output {
                    fd,
                    data: d.bytes(MAX_CHUNK, "data")?.to_vec(),
                }
            }
            EXIT => {
                let how = d.u8("how")?;
                let v = d.u32("status")? as i32;
                Message::Exit(match how {
                    0 => JobExit::Code(v),
                    1 => JobExit::Signal(v),
                    _ => return Err(WireError::Malformed(format!("exit message: kind {how}"))),
                })
            }
            _ => unreachable!("the type was matched above"),
        };
        d.end()?;
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> Vec<Message> {
        vec![
            Message::Hello(Hello {
                protocol: PROTOCOL_VERSION,
                arch: "riscv64".into(),
                tern_version: "0.1.0".into(),
                session: [7; 16],
                role: Role::Fault,
                mode: Mode::Postcopy,
            }),
            Message::Config(vec![1, 2, 3]),
            Message::ProcessConfig(vec![4, 5]),
            Message::Disk(DiskInfo {
                index: 1,
                mode: DiskMode::Overlay,
                size: 1 << 30,
                fingerprint: Some(DiskFingerprint {
                    size: 1 << 30,
                    digest: [9; 32],
                }),
            }),
            Message::Disk(DiskInfo {
                index: 0,
                mode: DiskMode::Copy,
                size: 4096,
                fingerprint: None,
            }),
            Message::Pages(vec![
                (0, PageData::Zero),
                (77, PageData::Bytes(vec![0xab; PAGE_SIZE])),
            ]),
            Message::Blocks {
                disk: 0,
                offset: 512,
                data: vec![5; 1024],
            },
            Message::State {
                name: "hart0".into(),
                bytes: vec![4; 100],
            },
            Message::SwitchOver {
                pending: vec![0xff, 0],
            },
            Message::Ready,
            Message::Go,
            Message::Started,
            Message::PostcopyDone,
            Message::Finished,
            Message::PageRequest {
                first: 3,
                count: 16,
            },
            Message::Error("no".into()),
            Message::Job(Job {
                argv: vec!["prog".into(), "a b".into()],
                env: vec!["K=V".into()],
                stdin: Some("in.txt".into()),
                fetch: vec!["out.txt".into()],
            }),
            Message::Job(Job::default()),
            Message::JobFile {
                name: "prog".into(),
                mode: 0o755,
                offset: 1 << 20,
                data: vec![1, 2, 3],
            },
            Message::Output {
                fd: 2,
                data: b"hi\n".to_vec(),
            },
            Message::Exit(JobExit::Code(3)),
            Message::Exit(JobExit::Signal(9)),
        ]
    }

    #[test]
    fn every_message_round_trips() {
        for m in samples() {
            let (kind, payload) = m.encode();
            assert_eq!(Message::decode(kind, &payload).unwrap(), m, "{}", m.name());
        }
    }

    #[test]
    fn truncated_and_extended_payloads_are_refused() {
        for m in samples() {
            let (kind, payload) = m.encode();
            for cut in 0..payload.len() {
                assert!(
                    Message::decode(kind, &payload[..cut]).is_err(),
                    "{} cut at {cut}",
                    m.name()
                );
            }
            let mut longer = payload.clone();
            longer.push(0);
            let e = Message::decode(kind, &longer).unwrap_err().to_string();
            assert!(e.contains("after the last field"), "{e}");
        }
        let e = Message::decode(99, &[]).unwrap_err().to_string();
        assert!(e.contains("unknown message type 99"), "{e}");
    }

    #[test]
    fn oversized_counts_are_refused_before_allocating() {
        let mut e = Enc::default();
        e.u32(u32::MAX);
        let err = Message::decode(PAGES, &e.out).unwrap_err().to_string();
        assert!(err.contains("at most 256"), "{err}");
        let err = Message::decode(CONFIG, &e.out).unwrap_err().to_string();
        assert!(err.contains("at most"), "{err}");
    }
}
