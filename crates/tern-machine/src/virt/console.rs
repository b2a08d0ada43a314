//! The console shared by the UART and the SBI debug console.
//!
//! Guest output is collected and handed to the host writer in batches: the 16550 sends
//! one byte per register write, and a write system call per byte (to a pipe whose
//! reader wakes up for each) cost a Linux boot several percent of its wall time.
//! Collected bytes reach the host writer when [`SharedConsole::flush_output`] runs —
//! after every run slice of a hart (some 20 000 instructions), on every tick of the
//! machine's I/O loop and when the machine stops — or when a batch is full, so output
//! is never held back for long. The batch is host state only: nothing the guest can
//! observe depends on it.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Bytes collected before they are written out regardless of the next flush point.
const BATCH: usize = 4096;

struct Collected {
    out: Box<dyn Write + Send>,
    bytes: Vec<u8>,
}

impl Collected {
    fn drain(&mut self) -> std::io::Result<()> {
        let result = self
            .out
            .write_all(&self.bytes)
            .and_then(|()| self.out.flush());
        // A failed write (a closed pipe) drops the bytes: the guest must not stall,
        // and the batch must not grow without bound.
        self.bytes.clear();
        result
    }
}

struct Inner {
    collected: Mutex<Collected>,
    /// Set when `collected` holds bytes not yet written out.
    pending: AtomicBool,
}

/// The console, shared by the UART and the SBI debug console (cheap to clone).
#[derive(Clone)]
pub struct SharedConsole(Arc<Inner>);

impl SharedConsole {
    /// Collects output for `out`.
    pub fn new(out: Box<dyn Write + Send>) -> SharedConsole {
        SharedConsole(Arc::new(Inner {
            collected: Mutex::new(Collected {
                out,
                bytes: Vec::with_capacity(BATCH),
            }),
            pending: AtomicBool::new(false),
        }))
    }

    /// Writes the collected output to the host writer and flushes it. Costs one atomic
    /// load when there is nothing to write.
    pub fn flush_output(&self) -> std::io::Result<()> {
        if !self.0.pending.swap(false, Ordering::AcqRel) {
            return Ok(());
        }
        self.0
            .collected
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain()
    }
}

impl Write for SharedConsole {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut c = self.0.collected.lock().unwrap_or_else(|e| e.into_inner());
        c.bytes.extend_from_slice(buf);
        if c.bytes.len() >= BATCH {
            c.drain()?;
        } else {
            self.0.pending.store(true, Ordering::Release);
        }
        Ok(buf.len())
    }

    /// Deferred: the bytes go out at the next [`SharedConsole::flush_output`] (the
    /// UART flushes after every byte).
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<(Vec<u8>, usize)>>);

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let mut s = self.0.lock().unwrap();
            s.0.extend_from_slice(buf);
            s.1 += 1;
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn bytes_go_out_in_one_write_at_the_flush_point() {
        let sink = Sink::default();
        let mut console = SharedConsole::new(Box::new(sink.clone()));
        for b in b"hello\n" {
            console.write_all(&[*b]).unwrap();
            console.flush().unwrap();
        }
        assert!(sink.0.lock().unwrap().0.is_empty());
        console.flush_output().unwrap();
        console.flush_output().unwrap();
        let s = sink.0.lock().unwrap();
        assert_eq!(s.0, b"hello\n");
        assert_eq!(s.1, 1);
    }

    #[test]
    fn a_full_batch_goes_out_at_once() {
        let sink = Sink::default();
        let mut console = SharedConsole::new(Box::new(sink.clone()));
        console.write_all(&[b'x'; BATCH]).unwrap();
        assert_eq!(sink.0.lock().unwrap().0.len(), BATCH);
    }
}
