//! virtio-console (virtio 1.2 §5.3), device type 3: one port, no multiport
//! (`VIRTIO_CONSOLE_F_MULTIPORT` not offered), so queue 0 is port 0's receive queue
//! and queue 1 its transmit queue. Linux shows it as `/dev/hvc0`.
//!
//! Output goes to any [`Write`], streamed through a small buffer whatever the chain's
//! length. Input comes from the board through an [`InputQueue`] (bounded, wakes the
//! board's [`crate::PollWaker`]) and fills receive buffers on
//! [`crate::MmioDevice::poll`] and when the guest adds receive buffers.

use std::io::{self, Write};

use super::{Queues, VirtioDevice, ID_CONSOLE};
use crate::uart::InputQueue;
use crate::PollWaker;
use tern_state::{NoState, Persist, StateError};

/// Queue size offered.
pub const QUEUE_SIZE: u16 = 128;
const RX: usize = 0;
const TX: usize = 1;
/// Bytes put into one receive buffer at most.
const RX_CHUNK: usize = 4096;

/// A virtio console with one port.
pub struct Console {
    out: Box<dyn Write + Send>,
    input: InputQueue,
    queue_sizes: [u16; 2],
}

impl Console {
    /// A console writing to `out`; `waker` is woken when input is queued.
    pub fn new(out: Box<dyn Write + Send>, waker: Option<PollWaker>) -> Console {
        Console {
            out,
            input: InputQueue::new(waker),
            queue_sizes: [QUEUE_SIZE; 2],
        }
    }

    /// The handle through which the board feeds terminal input.
    pub fn input(&self) -> InputQueue {
        self.input.clone()
    }

    fn receive(&mut self, queues: &mut Queues<'_>) {
        let mem = queues.mem();
        for _ in 0..QUEUE_SIZE {
            if self.input.is_empty() {
                return;
            }
            let Some(chain) = queues.pop(RX) else {
                return;
            };
            let head = chain.head_index();
            let written = match chain.writer(mem) {
                Ok(mut w) => {
                    let bytes = self.input.take(w.available_bytes().min(RX_CHUNK));
                    match w.write_all(&bytes) {
                        Ok(()) => bytes.len() as u32,
                        Err(_) => {
                            self.input.unget(&bytes);
                            0
                        }
                    }
                }
                Err(_) => 0,
            };
            queues.add_used(RX, head, written);
        }
    }

    fn transmit(&mut self, queues: &mut Queues<'_>) {
        let mem = queues.mem();
        for _ in 0..QUEUE_SIZE {
            let Some(chain) = queues.pop(TX) else {
                break;
            };
            let head = chain.head_index();
            if let Ok(mut r) = chain.reader(mem) {
                // Output failures (a closed pipe) must not stop the guest.
                let _ = io::copy(&mut r, &mut self.out);
            }
            queues.add_used(TX, head, 0);
        }
        let _ = self.out.flush();
    }
}

impl VirtioDevice for Console {
    fn device_type(&self) -> u32 {
        ID_CONSOLE
    }

    fn name(&self) -> &'static str {
        "virtio-console"
    }

    fn features(&self) -> u64 {
        0
    }

    fn queue_max_sizes(&self) -> &[u16] {
        &self.queue_sizes
    }

    /// `struct virtio_console_config` (§5.3.4); no field is valid without features.
    fn config(&self) -> Vec<u8> {
        vec![0u8; 12]
    }

    fn notify(&mut self, queue: usize, queues: &mut Queues<'_>) {
        match queue {
            RX => self.receive(queues),
            TX => self.transmit(queues),
            _ => {}
        }
    }

    fn poll(&mut self, queues: &mut Queues<'_>) {
        if queues.active() {
            self.receive(queues);
        }
    }
}

/// The virtio-console device keeps no state of its own: everything is in the transport's queues.
impl Persist for Console {
    type State = NoState;

    fn save(&self) -> Result<NoState, StateError> {
        Ok(NoState)
    }

    fn restore(&mut self, _state: &NoState) -> Result<(), StateError> {
        Ok(())
    }
}
