//! Fuzz target: the live-migration destination's receiver (`tern receive`) fed a
//! hostile stream from memory. Whatever the bytes, receiving must end in a VM or an
//! error, never a panic, a hang or host memory out of proportion to what the stream
//! says the guest has (guest RAM is reserved, not touched, until pages arrive).
//!
//! The first input byte picks a mode:
//! - `0`: the rest is the raw stream (frames, checksums and all);
//! - `1`: a real stream (hello, configuration, a copied disk, pages, blocks, states,
//!   switch-over) with `(offset: u16, xor: u8)` edits aimed at its bytes, then cut to
//!   a length taken from the input (checksums now catch the edits);
//! - `2`: the same edits aimed at the messages' payloads, then every frame resealed
//!   with its right sequence number and checksum, so that the edits reach the message
//!   decoder and the receiver's checks behind it;
//! - otherwise: frames made from the input (`kind: u8, len: u8, payload`) after a
//!   valid hello, sealed, so that any order of messages is tried.
#![no_main]

use std::io::{self, Read, Write};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tern_devices::virtio::disk::{DiskFormat, DiskHandle, DiskOptions};
use tern_hart::ClockMode;
use tern_migrate::message::PROTOCOL_VERSION;
use tern_migrate::wire::{encode_all, HEADER};
use tern_migrate::{Conn, DiskInfo, DiskMode, Hello, Message, Mode, PageData, Role, WireError};
use tern_vmm::migrate::{receive_with, DiskOpener};
use tern_vmm::system::config::SystemConfig;

const SESSION: [u8; 16] = *b"fuzz-session-id!";
/// Largest disk the fuzzing opener creates.
const MAX_DISK: u64 = 1 << 20;

fn hello() -> Message {
    Message::Hello(Hello {
        protocol: PROTOCOL_VERSION,
        arch: "riscv64".into(),
        tern_version: "fuzz".into(),
        session: SESSION,
        role: Role::Main,
        mode: Mode::Precopy,
    })
}

/// A valid stream of a small VM with one copied disk.
fn seed() -> &'static Vec<u8> {
    static SEED: OnceLock<Vec<u8>> = OnceLock::new();
    SEED.get_or_init(|| {
        let config = SystemConfig {
            harts: 1,
            memory: 1 << 20,
            builtin_sbi: true,
            clock: ClockMode::Host,
            drives: vec!["file=/nonexistent.img,format=raw".into()],
            netdevs: Vec::new(),
            devices: Vec::new(),
        };
        let page: Vec<u8> = (0..4096u32).map(|i| (i * 7 % 251) as u8).collect();
        encode_all(&[
            hello(),
            Message::Config(tern_state::to_bytes(&config).expect("encode config")),
            Message::Disk(DiskInfo {
                index: 0,
                mode: DiskMode::Copy,
                size: 64 << 10,
                fingerprint: None,
            }),
            Message::Pages(vec![(0, PageData::Bytes(page)), (3, PageData::Zero)]),
            Message::Blocks {
                disk: 0,
                offset: 512,
                data: vec![0x5a; 1024],
            },
            Message::State {
                name: "hart0".into(),
                bytes: vec![1, 2, 3, 4],
            },
            Message::SwitchOver {
                pending: Vec::new(),
            },
            Message::Go,
        ])
    })
}

/// The frames of an encoded stream: (kind, payload).
fn frames(stream: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + HEADER + 4 <= stream.len() {
        let h = &stream[at..at + HEADER];
        let len = u32::from_le_bytes([h[4], h[5], h[6], h[7]]) as usize;
        out.push((h[0], stream[at + HEADER..at + HEADER + len].to_vec()));
        at += HEADER + len + 4;
    }
    out
}

/// Frames sealed as a sender would: sequence numbers from 0, the first frame (the
/// hello) checksummed without the session, the others with it.
fn seal(frames: &[(u8, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (seq, (kind, payload)) in frames.iter().enumerate() {
        let mut h = [0u8; HEADER];
        h[0] = *kind;
        h[4..8].copy_from_slice(&(payload.len() as u32).to_le_bytes());
        h[8..16].copy_from_slice(&(seq as u64).to_le_bytes());
        let session: &[u8] = if seq == 0 { &[0; 16] } else { &SESSION };
        let crc =
            crc32c::crc32c_append(crc32c::crc32c_append(crc32c::crc32c(session), &h), payload);
        out.extend_from_slice(&h);
        out.extend_from_slice(payload);
        out.extend_from_slice(&crc.to_le_bytes());
    }
    out
}

/// Applies `(offset: u16, xor: u8)` edits from `edits` to `bytes`.
fn edit(bytes: &mut [u8], edits: &[u8]) {
    if bytes.is_empty() {
        return;
    }
    for e in edits.chunks_exact(3) {
        let at = u16::from_le_bytes([e[0], e[1]]) as usize % bytes.len();
        bytes[at] ^= e[2];
    }
}

/// The bytes to read, and a sink for the receiver's answers.
struct Replay(io::Cursor<Vec<u8>>);

impl Read for Replay {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl Write for Replay {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Copied and overlay disks become small temporary raw files; shared images are
/// refused (the fuzzer names no real image).
struct TempDisks(Vec<tempfile::NamedTempFile>);

impl DiskOpener for TempDisks {
    fn open(
        &mut self,
        _index: usize,
        _spec: &str,
        mode: DiskMode,
        size: u64,
    ) -> anyhow::Result<(DiskHandle, Option<String>)> {
        if mode == DiskMode::Shared || size > MAX_DISK {
            anyhow::bail!("no such disk while fuzzing");
        }
        let file = tempfile::NamedTempFile::new()?;
        file.as_file().set_len(size)?;
        let handle = DiskHandle::open(&DiskOptions::new(file.path(), DiskFormat::Raw))?;
        self.0.push(file);
        Ok((handle, None))
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let stream = match mode {
        0 => rest.to_vec(),
        1 => {
            let mut s = seed().clone();
            let (cut, edits) = rest.split_at(rest.len().min(2));
            edit(&mut s, edits);
            if let [a, b] = cut {
                s.truncate(u16::from_le_bytes([*a, *b]) as usize);
            }
            s
        }
        2 => {
            let mut fs = frames(seed());
            let Some((&pick, edits)) = rest.split_first() else {
                return;
            };
            let n = fs.len();
            // Edits aim at one frame's payload (never the hello's, which sets the
            // session), or at all of them when `pick` is past the last.
            match fs.get_mut(1 + pick as usize % (n + 1)) {
                Some((_, payload)) => edit(payload, edits),
                None => fs.iter_mut().skip(1).for_each(|(_, p)| edit(p, edits)),
            }
            seal(&fs)
        }
        _ => {
            let mut fs = frames(&encode_all(&[hello()]));
            let mut r = rest;
            while let [kind, len, tail @ ..] = r {
                let len = (*len as usize).min(tail.len());
                fs.push((*kind % 20, tail[..len].to_vec()));
                r = &tail[len..];
            }
            seal(&fs)
        }
    };
    let conn = Conn::new(Box::new(Replay(io::Cursor::new(stream))), None);
    let mut disks = TempDisks(Vec::new());
    let mut no_fault = || -> Result<Conn, WireError> {
        Err(WireError::Frame(
            "no page-request connection while fuzzing".into(),
        ))
    };
    let _ = receive_with(conn, &mut no_fault, &mut disks);
});
