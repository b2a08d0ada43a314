//! A host debugger (gdb) attached to a running VM: what it asks of each hart
//! (breakpoints, watchpoints, single-step) and what the harts report back. Harts are
//! named by an id of the VM's choosing: the hart number on a board, the thread id in a
//! process VM.
//!
//! The debugger works on a paused VM: it reads and replaces the parked harts' states
//! and guest RAM, sets each hart's [`HostDebug`] here and resumes. A hart's thread
//! applies new settings before its next run slice. When a hart stops for the
//! debugger ([`crate::RunExit::Debug`]), its thread reports why here and asks the
//! whole VM to pause (all-stop, as gdb expects); the debugger waits for that report,
//! then for every hart to park.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use crate::engine::debug::{DebugStop, HostDebug};
use crate::hart::Hart;

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
    /// By hart id: what the debugger asks of it (missing = nothing), `None` to stay
    /// stopped while the others run.
    settings: BTreeMap<u64, Option<HostDebug>>,
    /// For harts not in `settings` (a thread that starts while the VM runs).
    others: Option<HostDebug>,
    /// Stops reported by harts and not yet taken by the debugger: (hart id, why).
    stops: VecDeque<(u64, DebugStop)>,
}

impl DebugHub {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Replaces what the debugger asks of every hart (by id; `None` holds a hart
    /// stopped while the others run; harts not listed, such as threads that start
    /// later, get `others`) and forgets stops not yet taken.
    pub fn set(&self, settings: BTreeMap<u64, Option<HostDebug>>, others: Option<HostDebug>) {
        let mut inner = self.lock();
        inner.settings = settings;
        inner.others = others;
        inner.stops.clear();
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// Hart side: gives hart `me` the current settings if they changed since
    /// `applied` (the generation this hart last applied; start with 0).
    pub fn apply(&self, hart: &mut Hart, me: u64, applied: &mut u64) {
        let now = self.generation.load(Ordering::Acquire);
        if now == *applied {
            return;
        }
        let inner = self.lock();
        *applied = self.generation.load(Ordering::Acquire);
        let mine = match inner.settings.get(&me) {
            Some(s) => s.clone(),
            None => inner.others.clone(),
        }
        .unwrap_or_default();
        drop(inner);
        if mine != *hart.host_debug() {
            hart.set_host_debug(mine);
        }
    }

    /// Hart side: whether hart `me` is held stopped while the others run.
    pub fn held(&self, me: u64) -> bool {
        // No debugger ever attached: no lock taken.
        if self.generation.load(Ordering::Acquire) == 0 {
            return false;
        }
        let inner = self.lock();
        match inner.settings.get(&me) {
            Some(s) => s.is_none(),
            None => inner.others.is_none() && !inner.settings.is_empty(),
        }
    }

    /// Hart side: hart `me` stopped for the debugger.
    pub fn report(&self, me: u64, stop: DebugStop) {
        let mut inner = self.lock();
        inner.stops.push_back((me, stop));
        self.reported.notify_all();
    }

    /// Debugger side: the next stop a hart reported, waiting up to `timeout`.
    pub fn wait_stop(&self, timeout: Duration) -> Option<(u64, DebugStop)> {
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
    use crate::{ClockMode, GuestRam, IrqLines, VirtualClock};
    use std::sync::Arc;

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
        hub.set(
            BTreeMap::from([(0, None), (1, Some(bp.clone()))]),
            Some(bp.clone()),
        );
        assert!(hub.held(0) && !hub.held(1) && !hub.held(7));
        let mut newcomer = Hart::new(
            7,
            0x8000_0000,
            hart.core.ram.clone(),
            Arc::new(IrqLines::new()),
            hart.core.clock.clone(),
        );
        let mut its_applied = 0;
        hub.apply(&mut newcomer, 7, &mut its_applied);
        assert_eq!(
            *newcomer.host_debug(),
            bp,
            "a hart not listed gets `others`"
        );
        hub.apply(&mut hart, 1, &mut applied);
        assert_eq!(*hart.host_debug(), bp);
        assert_eq!(hub.wait_stop(Duration::from_millis(1)), None);
        hub.report(1, DebugStop::Breakpoint);
        hub.report(0, DebugStop::Step);
        assert_eq!(
            hub.wait_stop(Duration::ZERO),
            Some((1, DebugStop::Breakpoint))
        );
        hub.set(BTreeMap::new(), None);
        assert_eq!(hub.wait_stop(Duration::ZERO), None, "set forgets old stops");
        hub.apply(&mut hart, 1, &mut applied);
        assert!(!hart.host_debug().active());
    }
}
