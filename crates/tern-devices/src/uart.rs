//! The NS16550A UART of QEMU's `virt` board (`ns16550a`, registers one byte apart).
//!
//! The register logic is `vm-superio`'s [`Serial`]. It signals interrupts as edges
//! through a trigger, while the PLIC wants a level: this model ignores the trigger and,
//! after every access and every input, drives the PLIC line from the interrupt
//! identification register (IIR bit 0 clear = an interrupt is pending, masked by the
//! matching IER bit), as DESIGN.md prescribes. Reading IIR acknowledges the transmitter-empty interrupt, which lowers
//! the line exactly as the 16550's INTR output falls.
//!
//! Output goes to any [`Write`]. Input comes from the board (the terminal) through a
//! [`UartInput`] handle: bytes wait in a bounded host-side queue and enter the 64-byte
//! receive FIFO when there is room (on [`MmioDevice::poll`] and after the guest reads
//! a byte).

use std::collections::VecDeque;
use std::convert::Infallible;
use std::io::Write;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tern_hart::BusFault;
use vm_superio::serial::{NoEvents, SerialState};
use vm_superio::{Serial, Trigger};

use crate::irq::IrqLine;
use tern_state::{Decoder, Encoder, Persist, StateError, Versioned};

use crate::{MmioDevice, PollWaker};

/// Size of the register window (QEMU's `virt` maps 0x100 bytes).
pub const SIZE: u64 = 0x100;
/// Bytes of terminal input kept on the host side while the guest does not read them.
pub const INPUT_QUEUE_LIMIT: usize = 64 * 1024;
/// Depth of the 16550A receive FIFO.
const FIFO_SIZE: usize = 64;
const IIR_OFFSET: u64 = 2;
const IIR_NONE: u8 = 0x01;
const IIR_THR_EMPTY: u8 = 0x02;
const IIR_RDA: u8 = 0x04;
const IER_RDA: u8 = 0x01;
const IER_THR_EMPTY: u8 = 0x02;

/// A trigger that does nothing: the line level is derived from IIR instead.
struct NoTrigger;

impl Trigger for NoTrigger {
    type E = Infallible;

    fn trigger(&self) -> Result<(), Infallible> {
        Ok(())
    }
}

/// Saved UART registers (the fields of `vm-superio`'s `SerialState`). Bytes still in
/// the host-side input queue are terminal input not yet received, like keys typed
/// into a disconnected terminal: they are not guest state.
///
/// Encoded (version 1) as a base (the registers) and a part `fifo`, written only
/// while the receive FIFO holds bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UartState {
    /// Divisor latch, low byte.
    pub baud_divisor_low: u8,
    /// Divisor latch, high byte.
    pub baud_divisor_high: u8,
    /// IER.
    pub interrupt_enable: u8,
    /// IIR.
    pub interrupt_identification: u8,
    /// LCR.
    pub line_control: u8,
    /// LSR.
    pub line_status: u8,
    /// MCR.
    pub modem_control: u8,
    /// MSR.
    pub modem_status: u8,
    /// Scratch register.
    pub scratch: u8,
    /// Receive FIFO contents (at most 64 bytes).
    pub in_buffer: Vec<u8>,
}

/// The registers, the base of the encoding.
#[derive(Serialize, Deserialize)]
struct UartRegs {
    baud_divisor_low: u8,
    baud_divisor_high: u8,
    interrupt_enable: u8,
    interrupt_identification: u8,
    line_control: u8,
    line_status: u8,
    modem_control: u8,
    modem_status: u8,
    scratch: u8,
}

impl Versioned for UartState {
    const KIND: &'static str = "uart-16550a";
    const VERSION: u32 = 1;

    fn encode(&self, out: &mut Encoder) {
        out.base(&UartRegs {
            baud_divisor_low: self.baud_divisor_low,
            baud_divisor_high: self.baud_divisor_high,
            interrupt_enable: self.interrupt_enable,
            interrupt_identification: self.interrupt_identification,
            line_control: self.line_control,
            line_status: self.line_status,
            modem_control: self.modem_control,
            modem_status: self.modem_status,
            scratch: self.scratch,
        });
        out.part("fifo", !self.in_buffer.is_empty(), &self.in_buffer);
    }

    fn decode(input: &mut Decoder<'_>) -> Result<Self, StateError> {
        let r: UartRegs = input.base()?;
        Ok(UartState {
            baud_divisor_low: r.baud_divisor_low,
            baud_divisor_high: r.baud_divisor_high,
            interrupt_enable: r.interrupt_enable,
            interrupt_identification: r.interrupt_identification,
            line_control: r.line_control,
            line_status: r.line_status,
            modem_control: r.modem_control,
            modem_status: r.modem_status,
            scratch: r.scratch,
            in_buffer: input.part_or_default("fifo")?,
        })
    }
}

impl From<SerialState> for UartState {
    fn from(s: SerialState) -> UartState {
        UartState {
            baud_divisor_low: s.baud_divisor_low,
            baud_divisor_high: s.baud_divisor_high,
            interrupt_enable: s.interrupt_enable,
            interrupt_identification: s.interrupt_identification,
            line_control: s.line_control,
            line_status: s.line_status,
            modem_control: s.modem_control,
            modem_status: s.modem_status,
            scratch: s.scratch,
            in_buffer: s.in_buffer,
        }
    }
}

impl From<&UartState> for SerialState {
    fn from(s: &UartState) -> SerialState {
        SerialState {
            baud_divisor_low: s.baud_divisor_low,
            baud_divisor_high: s.baud_divisor_high,
            interrupt_enable: s.interrupt_enable,
            interrupt_identification: s.interrupt_identification,
            line_control: s.line_control,
            line_status: s.line_status,
            modem_control: s.modem_control,
            modem_status: s.modem_status,
            scratch: s.scratch,
            in_buffer: s.in_buffer.clone(),
        }
    }
}

/// Where the board puts terminal input for a UART or a virtio console: clone it into
/// the input thread. Bounded: bytes beyond [`INPUT_QUEUE_LIMIT`] are refused.
#[derive(Clone, Debug, Default)]
pub struct InputQueue {
    bytes: Arc<Mutex<VecDeque<u8>>>,
    waker: Option<PollWaker>,
}

impl InputQueue {
    /// An empty queue that calls `waker` when input arrives.
    pub fn new(waker: Option<PollWaker>) -> InputQueue {
        InputQueue {
            bytes: Arc::default(),
            waker,
        }
    }

    /// Queues as much of `data` as fits and returns how many bytes were taken.
    pub fn push(&self, data: &[u8]) -> usize {
        let n = {
            let mut q = self.bytes.lock().unwrap_or_else(|e| e.into_inner());
            let n = data.len().min(INPUT_QUEUE_LIMIT - q.len());
            q.extend(&data[..n]);
            n
        };
        if n > 0 {
            if let Some(w) = &self.waker {
                w.wake();
            }
        }
        n
    }

    /// Takes up to `max` queued bytes.
    pub fn take(&self, max: usize) -> Vec<u8> {
        let mut q = self.bytes.lock().unwrap_or_else(|e| e.into_inner());
        let n = max.min(q.len());
        q.drain(..n).collect()
    }

    /// Puts bytes back at the front (those a device could not take after all).
    pub fn unget(&self, data: &[u8]) {
        let mut q = self.bytes.lock().unwrap_or_else(|e| e.into_inner());
        for &b in data.iter().rev() {
            q.push_front(b);
        }
    }

    /// Whether bytes are waiting.
    pub fn is_empty(&self) -> bool {
        self.bytes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }
}

/// The handle for terminal input into a [`Uart`].
pub type UartInput = InputQueue;

type Out = Box<dyn Write + Send>;

/// A 16550A UART.
pub struct Uart {
    serial: Serial<NoTrigger, NoEvents, Out>,
    irq: IrqLine,
    input: InputQueue,
}

impl Uart {
    /// A UART writing output to `out`, raising `irq`; `waker` is woken when terminal
    /// input is queued through [`Uart::input`].
    pub fn new(out: Box<dyn Write + Send>, irq: IrqLine, waker: Option<PollWaker>) -> Uart {
        Uart {
            serial: Serial::new(NoTrigger, out),
            irq,
            input: InputQueue::new(waker),
        }
    }

    /// The handle through which the board feeds terminal input.
    pub fn input(&self) -> InputQueue {
        self.input.clone()
    }

    /// Moves queued input into the receive FIFO as far as it has room.
    fn fill_fifo(&mut self) {
        let room = self.serial.fifo_capacity();
        if room == 0 {
            return;
        }
        let bytes = self.input.take(room);
        if bytes.is_empty() {
            return;
        }
        match self.serial.enqueue_raw_bytes(&bytes) {
            Ok(n) if n < bytes.len() => self.input.unget(&bytes[n..]),
            Ok(_) => {}
            // In loopback mode the UART takes no outside input: keep it for later.
            Err(_) => self.input.unget(&bytes),
        }
    }

    /// Drives the PLIC line from IIR, masked by IER as the 16550's INTR output is
    /// (`vm-superio` leaves a THR-empty identification set after the driver disables
    /// that interrupt; a real UART would not interrupt then).
    fn update_irq(&mut self) {
        let st = self.serial.state();
        let (iir, ier) = (st.interrupt_identification, st.interrupt_enable);
        let rx = iir & IIR_RDA != 0 && ier & IER_RDA != 0;
        let tx = iir & IIR_THR_EMPTY != 0 && ier & IER_THR_EMPTY != 0;
        self.irq.set_level(iir & IIR_NONE == 0 && (rx || tx));
    }
}

impl Persist for Uart {
    type State = UartState;

    fn save(&self) -> Result<UartState, StateError> {
        Ok(self.serial.state().into())
    }

    /// Restores saved registers, keeping this UART's output, line and input queue.
    fn restore(&mut self, state: &UartState) -> Result<(), StateError> {
        if state.in_buffer.len() > FIFO_SIZE {
            return Err(StateError::mismatch(format!(
                "{} bytes in a 64-byte FIFO",
                state.in_buffer.len()
            )));
        }
        let out = std::mem::replace(&mut self.serial, Serial::new(NoTrigger, sink())).into_writer();
        self.serial = Serial::from_state(&state.into(), NoTrigger, NoEvents, out)
            .map_err(|e| StateError::mismatch(format!("{e:?}")))?;
        self.update_irq();
        Ok(())
    }
}

fn sink() -> Out {
    Box::new(std::io::sink())
}

impl MmioDevice for Uart {
    fn read(&mut self, offset: u64, size: u8) -> Result<u64, BusFault> {
        if offset >= SIZE {
            return Err(BusFault);
        }
        let value = if offset < 8 && size == 1 {
            let v = self.serial.read(offset as u8);
            if offset == 0 || offset == IIR_OFFSET {
                self.fill_fifo();
            }
            v
        } else {
            0
        };
        self.update_irq();
        Ok(u64::from(value))
    }

    fn write(&mut self, offset: u64, size: u8, value: u64) -> Result<(), BusFault> {
        if offset >= SIZE {
            return Err(BusFault);
        }
        if offset < 8 && size == 1 {
            // An output error (a closed pipe) must not stop the guest.
            let _ = self.serial.write(offset as u8, value as u8);
        }
        self.update_irq();
        Ok(())
    }

    fn poll(&mut self) {
        self.fill_fifo();
        self.update_irq();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::irq::LevelRecorder;

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
    fn output_input_and_interrupt_levels() {
        let rec = LevelRecorder::new();
        let out = Sink::default();
        let mut u = Uart::new(Box::new(out.clone()), rec.line(10), None);
        u.write(0, 1, u64::from(b'h')).unwrap();
        u.write(0, 1, u64::from(b'i')).unwrap();
        assert_eq!(&out.0.lock().unwrap()[..], b"hi");
        assert!(!rec.level(10));
        // Enable RX-data interrupts, feed two bytes.
        u.write(1, 1, 1).unwrap();
        assert_eq!(u.input().push(b"ab"), 2);
        assert!(!rec.level(10));
        u.poll();
        assert!(rec.level(10));
        assert_eq!(u.read(5, 1).unwrap() & 1, 1);
        assert_eq!(u.read(0, 1).unwrap(), u64::from(b'a'));
        assert_eq!(u.read(0, 1).unwrap(), u64::from(b'b'));
        assert_eq!(u.read(5, 1).unwrap() & 1, 0);
        assert!(!rec.level(10));
        // THR-empty interrupt: raised on enabling, acknowledged by reading IIR.
        u.write(1, 1, 2).unwrap();
        assert!(rec.level(10));
        assert_eq!(u.read(2, 1).unwrap() & 0xf, 2);
        assert!(!rec.level(10));
        // Each byte written re-arms it; disabling it in IER lowers the line at once.
        u.write(0, 1, u64::from(b'!')).unwrap();
        assert!(rec.level(10));
        u.write(1, 1, 0).unwrap();
        assert!(!rec.level(10));
    }

    #[test]
    fn save_restore_keeps_fifo() {
        let rec = LevelRecorder::new();
        let mut u = Uart::new(Box::new(std::io::sink()), rec.line(1), None);
        u.write(1, 1, 1).unwrap();
        u.input().push(b"xyz");
        u.poll();
        let s = u.save().unwrap();
        let bytes = tern_state::to_bytes(&s).unwrap();
        let rec2 = LevelRecorder::new();
        let mut v = Uart::new(Box::new(std::io::sink()), rec2.line(1), None);
        v.restore(&tern_state::from_bytes(&bytes).unwrap()).unwrap();
        assert!(rec2.level(1));
        assert_eq!(v.read(0, 1).unwrap(), u64::from(b'x'));
        let mut bad = s.clone();
        bad.in_buffer = vec![0; 65];
        assert!(v.restore(&bad).is_err());
    }

    #[test]
    fn a_state_without_fifo_bytes_decodes() {
        let rec = LevelRecorder::new();
        let mut u = Uart::new(Box::new(std::io::sink()), rec.line(1), None);
        u.write(7, 1, 0x5a).unwrap();
        let s = u.save().unwrap();
        assert!(s.in_buffer.is_empty());
        let back: UartState = tern_state::from_bytes(&tern_state::to_bytes(&s).unwrap()).unwrap();
        assert_eq!(back, s);
        assert_eq!(back.scratch, 0x5a);
    }
}
