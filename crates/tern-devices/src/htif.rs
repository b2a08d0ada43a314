//! HTIF, the host-target interface of the Spike simulator, as RISC-V test programs use
//! it (and as QEMU's `-machine spike` implements it).
//!
//! The guest writes a 64-bit command to `tohost`: device in bits 63:56, command in
//! 55:48, payload in 47:0. Supported:
//! - device 0 (syscall proxy), payload odd: exit with status `payload >> 1`;
//! - device 0, payload even: address of a "magic memory" block of eight doublewords
//!   holding a syscall number and arguments; `write` (64) to fd 1 or 2 is performed,
//!   its result stored in the first doubleword;
//! - device 1 (console), command 1: write the payload's low byte to the console.
//!
//! The host answers in `fromhost` and clears `tohost` once it took the command.

use std::io::Write;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tern_hart::{BusFault, GuestRam};
use tern_state::{Decoder, Encoder, Persist, StateError, Versioned};

const SYS_WRITE: u64 = 64;

/// Saved HTIF registers.
///
/// Encoded (version 1) as a base (`tohost`, `fromhost`) and a part `exit`, written
/// once the guest asked to exit.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HtifState {
    /// `tohost`.
    pub tohost: u64,
    /// `fromhost`.
    pub fromhost: u64,
    /// Exit status requested by the guest, if any.
    pub exit: Option<u64>,
}

#[derive(Serialize, Deserialize)]
struct Mailboxes {
    tohost: u64,
    fromhost: u64,
}

impl Versioned for HtifState {
    const KIND: &'static str = "htif";
    const VERSION: u32 = 1;

    fn encode(&self, out: &mut Encoder) {
        out.base(&Mailboxes {
            tohost: self.tohost,
            fromhost: self.fromhost,
        });
        if let Some(code) = self.exit {
            out.part("exit", true, &code);
        }
    }

    fn decode(input: &mut Decoder<'_>) -> Result<Self, StateError> {
        let m: Mailboxes = input.base()?;
        Ok(HtifState {
            tohost: m.tohost,
            fromhost: m.fromhost,
            exit: input.part("exit")?,
        })
    }
}

/// The HTIF mailboxes.
pub struct Htif {
    ram: Arc<GuestRam>,
    console: Box<dyn Write + Send>,
    state: HtifState,
}

/// Which mailbox an access hits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mailbox {
    /// `tohost`.
    ToHost,
    /// `fromhost`.
    FromHost,
}

impl Htif {
    /// An HTIF writing console output to `console`.
    pub fn new(ram: Arc<GuestRam>, console: Box<dyn Write + Send>) -> Htif {
        Htif {
            ram,
            console,
            state: HtifState::default(),
        }
    }

    /// The exit status the guest asked for, if it did.
    pub fn exit_status(&self) -> Option<u64> {
        self.state.exit
    }

    /// Reads `size` bytes at byte `offset` (0..8) of a mailbox.
    pub fn load(&mut self, mailbox: Mailbox, offset: u64, size: u8) -> Result<u64, BusFault> {
        let reg = match mailbox {
            Mailbox::ToHost => self.state.tohost,
            Mailbox::FromHost => self.state.fromhost,
        };
        match (offset, size) {
            (0, 8) => Ok(reg),
            (0, 4) => Ok(reg & 0xffff_ffff),
            (4, 4) => Ok(reg >> 32),
            _ => Err(BusFault),
        }
    }

    /// Writes `size` bytes of `value` at byte `offset` of a mailbox. A write that
    /// completes `tohost` (a doubleword, or its upper word) runs the command.
    pub fn store(
        &mut self,
        mailbox: Mailbox,
        offset: u64,
        size: u8,
        value: u64,
    ) -> Result<(), BusFault> {
        let reg = match mailbox {
            Mailbox::ToHost => &mut self.state.tohost,
            Mailbox::FromHost => &mut self.state.fromhost,
        };
        *reg = match (offset, size) {
            (0, 8) => value,
            (0, 4) => (*reg & !0xffff_ffff) | (value & 0xffff_ffff),
            (4, 4) => (*reg & 0xffff_ffff) | (value << 32),
            _ => return Err(BusFault),
        };
        let complete = offset + u64::from(size) == 8;
        if mailbox == Mailbox::ToHost && complete && self.state.tohost != 0 {
            let cmd = self.state.tohost;
            self.command(cmd);
        }
        Ok(())
    }

    fn command(&mut self, cmd: u64) {
        let device = cmd >> 56;
        let command = (cmd >> 48) & 0xff;
        let payload = cmd & 0xffff_ffff_ffff;
        let response = match (device, command) {
            (0, 0) if payload & 1 == 1 => {
                self.state.exit = Some(payload >> 1);
                let _ = self.console.flush();
                0
            }
            (0, 0) => {
                self.syscall(payload);
                1
            }
            (1, 1) => {
                // Console output failures (a closed pipe) must not stop the guest.
                let _ = self.console.write_all(&[payload as u8]);
                if payload as u8 == b'\n' {
                    let _ = self.console.flush();
                }
                0x100 | (payload & 0xff)
            }
            // Console input is not connected: the request stays unanswered.
            _ => {
                self.state.tohost = 0;
                return;
            }
        };
        self.state.fromhost = (cmd >> 48 << 48) | (response & 0xffff_ffff_ffff);
        self.state.tohost = 0;
    }

    /// Runs a proxied system call described at guest address `magic`.
    fn syscall(&mut self, magic: u64) {
        let mut block = [0u8; 64];
        if self.ram.read(magic, &mut block).is_err() {
            return;
        }
        let word = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&block[8 * i..8 * i + 8]);
            u64::from_le_bytes(b)
        };
        let result: i64 = if word(0) == SYS_WRITE && (word(1) == 1 || word(1) == 2) {
            let len = word(3).min(1 << 20);
            let mut buf = vec![0u8; len as usize];
            if self.ram.read(word(2), &mut buf).is_ok() {
                let _ = self.console.write_all(&buf);
                let _ = self.console.flush();
                len as i64
            } else {
                -14 // EFAULT
            }
        } else {
            -38 // ENOSYS
        };
        let _ = self.ram.write(magic, &result.to_le_bytes());
    }
}

impl Persist for Htif {
    type State = HtifState;

    fn save(&self) -> Result<HtifState, StateError> {
        Ok(self.state.clone())
    }

    /// Restores saved mailboxes; a command left in `tohost` was taken when it was
    /// written, so nothing runs again.
    fn restore(&mut self, state: &HtifState) -> Result<(), StateError> {
        self.state = state.clone();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn console_and_exit() {
        let ram = Arc::new(GuestRam::new(0x8000_0000, 0x10000).unwrap());
        let sink = Sink::default();
        let mut htif = Htif::new(ram.clone(), Box::new(sink.clone()));
        htif.store(
            Mailbox::ToHost,
            0,
            8,
            (1 << 56) | (1 << 48) | u64::from(b'A'),
        )
        .unwrap();
        assert_eq!(htif.load(Mailbox::ToHost, 0, 8).unwrap(), 0);
        assert_eq!(
            htif.load(Mailbox::FromHost, 0, 8).unwrap(),
            (1 << 56) | (1 << 48) | 0x141
        );
        // syscall proxy: write(1, buf, 3)
        ram.write(0x8000_1000, b"xyz").unwrap();
        let mut magic = Vec::new();
        for w in [64u64, 1, 0x8000_1000, 3, 0, 0, 0, 0] {
            magic.extend_from_slice(&w.to_le_bytes());
        }
        ram.write(0x8000_2000, &magic).unwrap();
        htif.store(Mailbox::ToHost, 0, 4, 0x8000_2000).unwrap();
        htif.store(Mailbox::ToHost, 4, 4, 0).unwrap();
        assert_eq!(&sink.0.lock().unwrap()[..], b"Axyz");
        assert_eq!(htif.exit_status(), None);
        htif.store(Mailbox::ToHost, 0, 8, (7 << 1) | 1).unwrap();
        assert_eq!(htif.exit_status(), Some(7));
    }

    #[test]
    fn a_state_without_an_exit_decodes() {
        let ram = Arc::new(GuestRam::new(0x8000_0000, 0x10000).unwrap());
        let mut htif = Htif::new(ram.clone(), Box::new(Sink::default()));
        htif.store(Mailbox::FromHost, 0, 8, 0x55).unwrap();
        let plain = tern_state::to_bytes(&htif.save().unwrap()).unwrap();
        htif.store(Mailbox::ToHost, 0, 8, (3 << 1) | 1).unwrap();
        let done = tern_state::to_bytes(&htif.save().unwrap()).unwrap();
        assert!(plain.len() < done.len());
        let mut other = Htif::new(ram, Box::new(Sink::default()));
        other
            .restore(&tern_state::from_bytes(&plain).unwrap())
            .unwrap();
        assert_eq!(other.load(Mailbox::FromHost, 0, 8).unwrap(), 0x55);
        assert_eq!(other.exit_status(), None);
        other
            .restore(&tern_state::from_bytes(&done).unwrap())
            .unwrap();
        assert_eq!(other.exit_status(), Some(3));
    }
}
