//! virtio-rng (virtio 1.2 §5.4), device type 4: one request queue whose
//! device-writable buffers are filled with the host's randomness (`/dev/urandom`).
//! At most [`MAX_PER_REQUEST`] bytes go into one buffer (the spec lets the device
//! write fewer bytes than offered), so a huge buffer costs bounded host memory.

use std::fs::File;
use std::io::{self, Read, Write};

use super::{Queues, VirtioDevice, ID_RNG};
use tern_state::{NoState, Persist, StateError};

/// Queue size offered.
pub const QUEUE_SIZE: u16 = 64;
/// Largest number of bytes written into one request.
pub const MAX_PER_REQUEST: usize = 64 * 1024;

/// An entropy device.
pub struct Rng {
    source: Box<dyn Read + Send>,
    queue_sizes: [u16; 1],
}

impl Rng {
    /// An entropy device reading the host's `/dev/urandom`.
    pub fn new() -> io::Result<Rng> {
        Ok(Rng::with_source(Box::new(File::open("/dev/urandom")?)))
    }

    /// An entropy device reading `source` (deterministic tests).
    pub fn with_source(source: Box<dyn Read + Send>) -> Rng {
        Rng {
            source,
            queue_sizes: [QUEUE_SIZE],
        }
    }
}

impl VirtioDevice for Rng {
    fn device_type(&self) -> u32 {
        ID_RNG
    }

    fn name(&self) -> &'static str {
        "virtio-rng"
    }

    fn features(&self) -> u64 {
        0
    }

    fn queue_max_sizes(&self) -> &[u16] {
        &self.queue_sizes
    }

    fn config(&self) -> Vec<u8> {
        Vec::new()
    }

    fn notify(&mut self, queue: usize, queues: &mut Queues<'_>) {
        if queue != 0 {
            return;
        }
        let mem = queues.mem();
        let mut buf = Vec::new();
        for _ in 0..QUEUE_SIZE {
            let Some(chain) = queues.pop(0) else {
                return;
            };
            let head = chain.head_index();
            let written = match chain.writer(mem) {
                Ok(mut w) => {
                    buf.resize(w.available_bytes().min(MAX_PER_REQUEST), 0);
                    match self
                        .source
                        .read_exact(&mut buf)
                        .and_then(|_| w.write_all(&buf))
                    {
                        Ok(()) => buf.len() as u32,
                        Err(_) => 0,
                    }
                }
                Err(_) => 0,
            };
            queues.add_used(0, head, written);
        }
    }
}

/// The virtio-rng device keeps no state of its own: everything is in the transport's queues.
impl Persist for Rng {
    type State = NoState;

    fn save(&self) -> Result<NoState, StateError> {
        Ok(NoState)
    }

    fn restore(&mut self, _state: &NoState) -> Result<(), StateError> {
        Ok(())
    }
}
