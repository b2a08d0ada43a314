//! Frames: how messages travel, each one checked before it is decoded.
//!
//! ```text
//! u8  message type        u8 reserved (0)     u16 reserved (0)
//! u32 payload length L    (at most MAX_PAYLOAD)
//! u64 sequence number     (0, 1, 2... per connection and direction)
//! L   payload             (see `message`)
//! u32 CRC-32C of: the migration's session id (16 bytes), the 16 header bytes, the payload
//! ```
//!
//! All integers little-endian. A frame whose checksum fails, whose sequence number is
//! not the next one (a frame replayed, dropped or reordered), whose reserved bytes are
//! not zero or whose length is too large is refused before its payload is decoded, and
//! the connection is given up. The session id, which both sides learn from the first
//! frame (`hello`, checksummed with an all-zero id), makes frames of another migration
//! fail their checksums.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::error::WireError;
use crate::message::Message;

/// Largest payload of one frame.
pub const MAX_PAYLOAD: usize = 8 << 20;
/// Bytes of a frame header.
pub const HEADER: usize = 16;
/// Written data is sent once this much is buffered (or on `flush`).
const WRITE_BUFFER: usize = 256 << 10;

/// Something a connection runs over: a TCP stream, a TLS stream, a test's buffer.
pub trait Stream: Read + Write + Send {}
impl<T: Read + Write + Send> Stream for T {}

/// One connection of a migration: frames out and in, with sequence numbers and
/// checksums.
pub struct Conn {
    stream: Box<dyn Stream>,
    /// A handle on the TCP socket underneath, to cut the connection from another
    /// thread (cancel) and to set timeouts.
    socket: Option<TcpStream>,
    session: [u8; 16],
    sent: u64,
    received: u64,
    out: Vec<u8>,
    /// Bytes sent and received (frames, before TLS).
    pub bytes_sent: u64,
    /// See `bytes_sent`.
    pub bytes_received: u64,
}

impl Conn {
    /// A connection over `stream`; `socket` is the TCP socket underneath, if any.
    pub fn new(stream: Box<dyn Stream>, socket: Option<TcpStream>) -> Conn {
        Conn {
            stream,
            socket,
            session: [0; 16],
            sent: 0,
            received: 0,
            out: Vec::with_capacity(WRITE_BUFFER + MAX_PAYLOAD / 8),
            bytes_sent: 0,
            bytes_received: 0,
        }
    }

    /// Sets the session id every later frame's checksum covers (after `hello`).
    pub fn set_session(&mut self, session: [u8; 16]) {
        self.session = session;
    }

    /// A clone of the TCP socket underneath, to shut it down from another thread.
    pub fn socket(&self) -> Option<TcpStream> {
        self.socket.as_ref().and_then(|s| s.try_clone().ok())
    }

    /// How long a read may wait for the peer before the connection is given up.
    pub fn set_read_timeout(&self, t: Option<Duration>) {
        if let Some(s) = &self.socket {
            let _ = s.set_read_timeout(t);
        }
    }

    /// Queues `m` (sent when the buffer fills or on [`Conn::flush`]).
    pub fn send(&mut self, m: &Message) -> Result<(), WireError> {
        let (kind, payload) = m.encode();
        if payload.len() > MAX_PAYLOAD {
            return Err(WireError::Frame(format!(
                "a {} message of {} bytes is too long to send",
                m.name(),
                payload.len()
            )));
        }
        let header = header(kind, payload.len() as u32, self.sent);
        let crc = frame_crc(&self.session, &header, &payload);
        self.out.extend_from_slice(&header);
        self.out.extend_from_slice(&payload);
        self.out.extend_from_slice(&crc.to_le_bytes());
        self.sent += 1;
        if self.out.len() >= WRITE_BUFFER {
            self.write_out()?;
        }
        Ok(())
    }

    /// Sends `m` and everything queued before it now.
    pub fn send_now(&mut self, m: &Message) -> Result<(), WireError> {
        self.send(m)?;
        self.flush()
    }

    /// Sends everything queued.
    pub fn flush(&mut self) -> Result<(), WireError> {
        self.write_out()?;
        self.stream.flush()?;
        Ok(())
    }

    fn write_out(&mut self) -> Result<(), WireError> {
        if !self.out.is_empty() {
            self.stream.write_all(&self.out)?;
            self.bytes_sent += self.out.len() as u64;
            self.out.clear();
        }
        Ok(())
    }

    /// Receives the next message (flushing what is queued first). An `error` message
    /// from the peer is returned as [`WireError::Peer`].
    pub fn recv(&mut self) -> Result<Message, WireError> {
        self.flush()?;
        let mut h = [0u8; HEADER];
        read_exact(&mut self.stream, &mut h)?;
        let kind = h[0];
        let len = u32::from_le_bytes([h[4], h[5], h[6], h[7]]) as usize;
        let mut seq = [0u8; 8];
        seq.copy_from_slice(&h[8..16]);
        let seq = u64::from_le_bytes(seq);
        if h[1] != 0 || h[2] != 0 || h[3] != 0 {
            return Err(WireError::Frame(format!(
                "frame {}: reserved header bytes are not zero",
                self.received
            )));
        }
        if len > MAX_PAYLOAD {
            return Err(WireError::Frame(format!(
                "frame {}: payload of {len} bytes, at most {MAX_PAYLOAD} allowed",
                self.received
            )));
        }
        let mut payload = vec![0u8; len];
        read_exact(&mut self.stream, &mut payload)?;
        let mut crc = [0u8; 4];
        read_exact(&mut self.stream, &mut crc)?;
        self.bytes_received += (HEADER + len + 4) as u64;
        if u32::from_le_bytes(crc) != frame_crc(&self.session, &h, &payload) {
            return Err(WireError::Frame(format!(
                "frame {}: checksum mismatch",
                self.received
            )));
        }
        if seq != self.received {
            return Err(WireError::Frame(format!(
                "frame {}: sequence number {seq} (replayed, lost or reordered)",
                self.received
            )));
        }
        self.received += 1;
        match Message::decode(kind, &payload)? {
            Message::Error(e) => Err(WireError::Peer(e)),
            m => Ok(m),
        }
    }

    /// Sends an `error` message saying `why` (best effort: the connection may be gone).
    pub fn send_error(&mut self, why: &str) {
        let mut msg = why.to_string();
        if msg.len() > crate::message::MAX_STRING {
            let mut end = crate::message::MAX_STRING;
            while !msg.is_char_boundary(end) {
                end -= 1;
            }
            msg.truncate(end);
        }
        let _ = self.send_now(&Message::Error(msg));
    }

    /// Cuts the connection (both directions).
    pub fn shutdown(&self) {
        if let Some(s) = &self.socket {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    }
}

/// `read_exact`, with the end of the stream said plainly.
fn read_exact(stream: &mut Box<dyn Stream>, buf: &mut [u8]) -> io::Result<()> {
    stream.read_exact(buf).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            io::Error::new(e.kind(), "the other side closed the connection")
        } else {
            e
        }
    })
}

fn header(kind: u8, len: u32, seq: u64) -> [u8; HEADER] {
    let mut h = [0u8; HEADER];
    h[0] = kind;
    h[4..8].copy_from_slice(&len.to_le_bytes());
    h[8..16].copy_from_slice(&seq.to_le_bytes());
    h
}

fn frame_crc(session: &[u8; 16], header: &[u8], payload: &[u8]) -> u32 {
    let c = crc32c::crc32c(session);
    let c = crc32c::crc32c_append(c, header);
    crc32c::crc32c_append(c, payload)
}

/// Decodes a whole byte sequence as the frames a receiver would read (for fuzzing
/// and tests): every message until the bytes end or a frame is refused.
pub fn decode_all(bytes: &[u8]) -> Vec<Result<Message, WireError>> {
    let mut conn = Conn::new(Box::new(Replay(io::Cursor::new(bytes.to_vec()))), None);
    let mut out = Vec::new();
    loop {
        match conn.recv() {
            Err(WireError::Io(_)) => return out,
            Err(e) => {
                out.push(Err(e));
                return out;
            }
            Ok(Message::Hello(h)) if conn.received == 1 => {
                conn.set_session(h.session);
                out.push(Ok(Message::Hello(h)));
            }
            Ok(m) => out.push(Ok(m)),
        }
    }
}

/// Bytes to read, and a sink for what is written.
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

/// Encodes `messages` as a sender on a fresh connection would (the first, if a
/// `hello`, sets the session): for tests and fuzzing seeds.
pub fn encode_all(messages: &[Message]) -> Vec<u8> {
    let sink = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut conn = Conn::new(Box::new(Sink(sink.clone())), None);
    for m in messages {
        conn.send(m).expect("encodable");
        if let Message::Hello(h) = m {
            conn.set_session(h.session);
        }
    }
    conn.flush().expect("flush to memory");
    drop(conn);
    let v = sink.lock().unwrap_or_else(|e| e.into_inner()).clone();
    v
}

struct Sink(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Read for Sink {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Ok(0)
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{Hello, Mode, Role, PROTOCOL_VERSION};

    fn hello(session: u8) -> Message {
        Message::Hello(Hello {
            protocol: PROTOCOL_VERSION,
            arch: "riscv64".into(),
            tern_version: "t".into(),
            session: [session; 16],
            role: Role::Main,
            mode: Mode::Precopy,
        })
    }

    fn stream() -> Vec<Message> {
        vec![
            hello(3),
            Message::Config(vec![1; 10]),
            Message::State {
                name: "clock".into(),
                bytes: vec![2; 40],
            },
            Message::Go,
        ]
    }

    #[test]
    fn frames_round_trip() {
        let bytes = encode_all(&stream());
        let got: Vec<Message> = decode_all(&bytes).into_iter().map(Result::unwrap).collect();
        assert_eq!(got, stream());
    }

    #[test]
    fn every_flipped_bit_and_every_cut_is_caught() {
        let bytes = encode_all(&stream());
        for i in 0..bytes.len() {
            for bit in [0, 3, 7] {
                let mut bad = bytes.clone();
                bad[i] ^= 1 << bit;
                let got = decode_all(&bad);
                let all_ok = got.len() == 4 && got.iter().all(Result::is_ok);
                assert!(!all_ok, "flipping bit {bit} of byte {i} went unnoticed");
            }
        }
        for cut in 0..bytes.len() {
            let got = decode_all(&bytes[..cut]);
            assert!(got.len() < 4, "cut at {cut}");
        }
    }

    #[test]
    fn replayed_and_foreign_frames_are_refused() {
        let bytes = encode_all(&stream());
        // The config frame sent twice.
        let first = encode_all(&stream()[..1]).len();
        let two = encode_all(&stream()[..2]).len();
        let mut replay = bytes[..two].to_vec();
        replay.extend_from_slice(&bytes[first..two]);
        let got = decode_all(&replay);
        let e = got.last().unwrap().as_ref().unwrap_err().to_string();
        assert!(e.contains("sequence number 1"), "{e}");
        // A frame of another session.
        let mut other = stream();
        other[0] = hello(4);
        let foreign = encode_all(&other);
        let mut mixed = bytes[..first].to_vec();
        mixed.extend_from_slice(&foreign[first..two]);
        let e = decode_all(&mixed)
            .last()
            .unwrap()
            .as_ref()
            .unwrap_err()
            .to_string();
        assert!(e.contains("checksum mismatch"), "{e}");
    }
}
