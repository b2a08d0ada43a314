//! The terminal as the guest's console: raw mode while the guest runs (so that Ctrl-C
//! and friends reach the guest), and QEMU's escape keys: Ctrl-A X quits, Ctrl-A C... is
//! not a monitor here, Ctrl-A Ctrl-A sends one Ctrl-A, Ctrl-A H prints help.

use std::io::{Read, Write};

use rustix::termios::{self, OptionalActions, Termios};

/// Restores the terminal's previous mode when dropped.
pub struct RawTerminal {
    saved: Option<Termios>,
}

impl RawTerminal {
    /// Puts stdin in raw mode if it is a terminal.
    pub fn enter() -> RawTerminal {
        let stdin = std::io::stdin();
        if !termios::isatty(&stdin) {
            return RawTerminal { saved: None };
        }
        let Ok(saved) = termios::tcgetattr(&stdin) else {
            return RawTerminal { saved: None };
        };
        let mut raw = saved.clone();
        raw.make_raw();
        // Keep output post-processing off as make_raw does: the guest sends \r\n itself.
        if termios::tcsetattr(&stdin, OptionalActions::Now, &raw).is_err() {
            return RawTerminal { saved: None };
        }
        RawTerminal { saved: Some(saved) }
    }
}

impl Drop for RawTerminal {
    fn drop(&mut self) {
        if let Some(saved) = &self.saved {
            let _ = termios::tcsetattr(std::io::stdin(), OptionalActions::Now, saved);
        }
    }
}

/// What the escape handling decided for a chunk of input.
#[derive(Debug, PartialEq, Eq)]
pub enum Input {
    /// Bytes for the guest.
    Data(Vec<u8>),
    /// The user asked to quit (Ctrl-A X).
    Quit,
}

/// QEMU-style escape handling: Ctrl-A is the escape character.
#[derive(Default)]
pub struct Escapes {
    pending_escape: bool,
}

const CTRL_A: u8 = 0x01;

impl Escapes {
    /// Processes bytes read from the terminal.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Input> {
        let mut out = Vec::new();
        let mut data = Vec::new();
        for &b in bytes {
            if self.pending_escape {
                self.pending_escape = false;
                match b {
                    b'x' | b'X' => {
                        if !data.is_empty() {
                            out.push(Input::Data(std::mem::take(&mut data)));
                        }
                        out.push(Input::Quit);
                        return out;
                    }
                    CTRL_A => data.push(CTRL_A),
                    b'h' | b'H' => {
                        let _ = std::io::stderr()
                            .write_all(b"\r\nC-a x    exit tern\r\nC-a C-a  send C-a\r\nC-a h    this help\r\n");
                    }
                    _ => {}
                }
            } else if b == CTRL_A {
                self.pending_escape = true;
            } else {
                data.push(b);
            }
        }
        if !data.is_empty() {
            out.push(Input::Data(data));
        }
        out
    }
}

/// Reads stdin on its own thread and hands each decision to `sink` (until end of input
/// or Quit).
pub fn spawn_reader(mut sink: impl FnMut(Input) + Send + 'static) {
    let _ = std::thread::Builder::new()
        .name("console-in".into())
        .spawn(move || {
            let mut stdin = std::io::stdin();
            let mut escapes = Escapes::default();
            let mut buf = [0u8; 256];
            loop {
                let n = match stdin.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                for input in escapes.feed(&buf[..n]) {
                    let quit = input == Input::Quit;
                    sink(input);
                    if quit {
                        return;
                    }
                }
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctrl_a_escapes() {
        let mut e = Escapes::default();
        assert_eq!(e.feed(b"ls\r"), vec![Input::Data(b"ls\r".to_vec())]);
        assert_eq!(
            e.feed(&[CTRL_A, CTRL_A, b'q']),
            vec![Input::Data(vec![CTRL_A, b'q'])]
        );
        assert_eq!(e.feed(&[b'a', CTRL_A]), vec![Input::Data(vec![b'a'])]);
        assert_eq!(e.feed(b"x"), vec![Input::Quit]);
    }
}
