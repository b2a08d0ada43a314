//! A host debugger (gdb) attached to a running `virt` machine: what it asks of each
//! hart (breakpoints, watchpoints, single-step) and what the harts report back.
//!
//! The debugger works on a paused machine (see [`super::pause`]): it reads and
//! replaces the parked harts' states and guest RAM, sets each hart's
//! [`HostDebug`] here and resumes. A hart applies new settings when it starts its
//! next run slice. When one stops for the debugger ([`RunExit::Debug`]), it reports
//! why here and asks the whole machine to pause (all-stop, as gdb expects); the
//! debugger waits for that report, then for every hart to park.
//!
//! [`RunExit::Debug`]: tern_hart::RunExit::Debug

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use tern_hart::{DebugStop, Hart, HostDebug};

/// Settings and stop reports shared by the debugger and the hart threads.
#[derive(Default)]
pub struct DebugHub {
    /// Bumped on every change of the settings; each hart applies them when it sees
    /// a value it has not applied yet (one atomic load per run slice otherwise).
    generation: AtomicU64,
    inner: Mutex<Inner>,
    reported: Condvar,
}

#[derive(Default)]
struct Inner {
    /// Per hart: what the debugger asks of it (missing = nothing), `None` to stay
    /// stopped while the others run.
    settings: Vec<Option<HostDebug>>,
    /// Stops reported by harts and not yet taken by the debugger: (hart, why).
    stops: VecDeque<(usize, DebugStop)>,
}

impl DebugHub {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Replaces what the debugger asks of every hart (index = hart number; harts
    /// beyond the list get nothing; `None` holds a hart stopped while the others
    /// run) and forgets stops not yet taken.
    pub fn set(&self, settings: Vec<Option<HostDebug>>) {
        let mut inner = self.lock();
        inner.settings = settings;
        inner.stops.clear();
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// Hart side: gives hart `me` the current settings if they changed since
    /// `applied` (the generation this hart last applied).
    pub(crate) fn apply(&self, hart: &mut Hart, me: usize, applied: &mut u64) {
        let now = self.generation.load(Ordering::Acquire);
        if now == *applied {
            return;
        }
        let inner = self.lock();
        *applied = self.generation.load(Ordering::Acquire);
        let mine = inner
            .settings
            .get(me)
            .cloned()
            .flatten()
            .unwrap_or_default();
        drop(inner);
        if mine != *hart.host_debug() {
            hart.set_host_debug(mine);
        }
    }

    /// Hart side: whether hart `me` is held stopped while the others run.
    pub(crate) fn held(&self, me: usize) -> bool {
        // No debugger ever attached: no lock taken.
        if self.generation.load(Ordering::Acquire) == 0 {
            return false;
        }
        matches!(self.lock().settings.get(me), Some(None))
    }

    /// Hart side: hart `me` stopped for the debugger.
    pub(crate) fn report(&self, me: usize, stop: DebugStop) {
        let mut inner = self.lock();
        inner.stops.push_back((me, stop));
        self.reported.notify_all();
    }

    /// Debugger side: the next stop a hart reported, waiting up to `timeout`.
    pub fn wait_stop(&self, timeout: Duration) -> Option<(usize, DebugStop)> {
        let mut inner = self.lock();
        if inner.stops.is_empty() {
            inner = self
                .reported
                .wait_timeout(inner, timeout)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        inner.stops.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use tern_hart::{ClockMode, GuestRam, IrqLines, VirtualClock};

    #[test]
    fn harts_apply_new_settings_once_and_reports_queue() {
        let hub = DebugHub::default();
        let ram = Arc::new(GuestRam::new(0x8000_0000, 1 << 20).unwrap());
        let clock = Arc::new(VirtualClock::new(ClockMode::Host));
        let mut hart = Hart::new(1, 0x8000_0000, ram, Arc::new(IrqLines::new()), clock);
        let mut applied = 0;
        hub.apply(&mut hart, 1, &mut applied);
        assert!(!hart.host_debug().active());
        let bp = HostDebug {
            breakpoints: vec![0x8000_0010],
            ..HostDebug::default()
        };
        hub.set(vec![None, Some(bp.clone())]);
        assert!(hub.held(0) && !hub.held(1));
        hub.apply(&mut hart, 1, &mut applied);
        assert_eq!(*hart.host_debug(), bp);
        assert_eq!(hub.wait_stop(Duration::from_millis(1)), None);
        hub.report(1, DebugStop::Breakpoint);
        hub.report(0, DebugStop::Step);
        assert_eq!(
            hub.wait_stop(Duration::ZERO),
            Some((1, DebugStop::Breakpoint))
        );
        hub.set(Vec::new());
        assert_eq!(hub.wait_stop(Duration::ZERO), None, "set forgets old stops");
        hub.apply(&mut hart, 1, &mut applied);
        assert!(!hart.host_debug().active());
    }
}
