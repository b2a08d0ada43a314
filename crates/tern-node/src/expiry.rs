//! The background task: every [`TICK`] it notes VMs whose process ended and reclaims
//! expired slices (their VMs killed, their cgroups removed). Expiry is a lease: a
//! slice nobody renews goes away on its own.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::node::{now_ms, Node};

/// How often the task looks.
pub const TICK: Duration = Duration::from_millis(250);

/// The running task; dropping it stops it.
pub struct Expiry {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// Starts the task on a thread of its own.
pub fn start(node: Arc<Node>) -> std::io::Result<Expiry> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let thread = std::thread::Builder::new()
        .name("tern-node-expiry".into())
        .spawn(move || {
            while !flag.load(Ordering::Acquire) {
                node.tick(now_ms());
                std::thread::sleep(TICK);
            }
        })?;
    Ok(Expiry {
        stop,
        thread: Some(thread),
    })
}

impl Expiry {
    /// Waits for the task (it runs until stopped; the daemon waits here forever).
    pub fn join(mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Expiry {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
