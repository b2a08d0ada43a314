//! The gdb server: accepts gdb's connections on a TCP listener, one at a time, and
//! runs the remote protocol against the VM until gdb detaches.
//!
//! While gdb is connected the VM is all-stop: when one thread stops (breakpoint,
//! watchpoint, step, Ctrl-C) every thread stops. Detaching clears every breakpoint
//! and lets the VM run on; the next `target remote` attaches again (the VM stops where
//! it is). gdb's `kill` ends the VM.

use std::io::Write;
use std::marker::PhantomData;
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use gdbstub::common::Signal;
use gdbstub::conn::ConnectionExt;
use gdbstub::stub::run_blocking::{BlockingEventLoop, Event as LoopEvent, WaitForStopReasonError};
use gdbstub::stub::{DisconnectReason, GdbStub, MultiThreadStopReason};
use gdbstub::target::ext::breakpoints::WatchKind as GdbWatchKind;
use tern_hart::{DebugStop, WatchKind};

use crate::debuggee::{Debuggee, Event};
use crate::target::{tid_of, GdbTarget};

/// How often the server looks at the connection while the VM runs.
const POLL: Duration = Duration::from_millis(20);

/// Starts serving gdb on `listener` for `vm` on a thread of its own, until the VM
/// ends. With `wait`, the VM is asked to stop before this returns, so that it runs no
/// instruction before gdb continues it (QEMU's `-S`).
pub fn spawn<D: Debuggee + 'static>(
    listener: TcpListener,
    vm: D,
    wait: bool,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    if wait {
        vm.request_stop();
    }
    std::thread::Builder::new()
        .name("gdb".into())
        .spawn(move || serve(listener, vm, wait))
}

/// Serves gdb on `listener` for `vm` until the VM ends (see [`spawn`]).
pub fn serve<D: Debuggee>(listener: TcpListener, vm: D, wait: bool) {
    let mut target = GdbTarget::new(vm);
    if wait {
        if let Err(e) = target.vm.stop() {
            eprintln!("tern: gdb: cannot stop the VM for the debugger: {e}");
            return;
        }
    }
    for conn in listener.incoming() {
        let Ok(stream) = conn else { continue };
        let _ = stream.set_nodelay(true);
        if let Err(e) = target.vm.stop() {
            eprintln!("tern: gdb: the VM cannot be debugged any more: {e}");
            return;
        }
        let gdb = GdbStub::new(stream);
        let outcome = gdb.run_blocking::<Loop<D>>(&mut target);
        target.clear();
        match outcome {
            Ok(DisconnectReason::Kill) => {
                target.vm.kill();
                return;
            }
            Ok(DisconnectReason::TargetExited(_) | DisconnectReason::TargetTerminated(_)) => {
                return;
            }
            Ok(DisconnectReason::Disconnect) => {}
            Err(e) => {
                let _ = writeln!(std::io::stderr(), "tern: gdb: connection ended: {e}");
            }
        }
        // Detached: run on without breakpoints.
        if let Err(e) = target.vm.resume(&[], None) {
            eprintln!("tern: gdb: cannot resume the VM after detach: {e}");
            return;
        }
    }
}

/// gdbstub's blocking event loop over a [`Debuggee`].
struct Loop<D>(PhantomData<D>);

/// The stop reply for a VM event.
fn stop_reason<D: Debuggee>(target: &GdbTarget<D>, event: Event) -> MultiThreadStopReason<u64> {
    let system = target.vm.is_system();
    match event {
        Event::Exited(code) => MultiThreadStopReason::Exited(code as u8),
        Event::Stopped(t, why) => {
            let tid = tid_of(t, system);
            match why {
                DebugStop::Breakpoint => MultiThreadStopReason::SwBreak(tid),
                DebugStop::Watch { addr, kind } => MultiThreadStopReason::Watch {
                    tid,
                    kind: match kind {
                        WatchKind::Write => GdbWatchKind::Write,
                        WatchKind::Read => GdbWatchKind::Read,
                        WatchKind::Access => GdbWatchKind::ReadWrite,
                    },
                    addr,
                },
                DebugStop::Step => MultiThreadStopReason::SignalWithThread {
                    tid,
                    signal: Signal::SIGTRAP,
                },
            }
        }
    }
}

impl<D: Debuggee> BlockingEventLoop for Loop<D> {
    type Target = GdbTarget<D>;
    type Connection = TcpStream;
    type StopReason = MultiThreadStopReason<u64>;

    fn wait_for_stop_reason(
        target: &mut GdbTarget<D>,
        conn: &mut TcpStream,
    ) -> Result<LoopEvent<Self::StopReason>, WaitForStopReasonError<String, std::io::Error>> {
        loop {
            if conn
                .peek()
                .map_err(WaitForStopReasonError::Connection)?
                .is_some()
            {
                let byte = conn.read().map_err(WaitForStopReasonError::Connection)?;
                return Ok(LoopEvent::IncomingData(byte));
            }
            if let Some(event) = target.vm.wait(POLL) {
                return Ok(LoopEvent::TargetStopped(stop_reason(target, event)));
            }
        }
    }

    fn on_interrupt(target: &mut GdbTarget<D>) -> Result<Option<Self::StopReason>, String> {
        target.vm.stop()?;
        let first = target.vm.threads().first().copied().unwrap_or(0);
        Ok(Some(MultiThreadStopReason::SignalWithThread {
            tid: tid_of(first, target.vm.is_system()),
            signal: Signal::SIGINT,
        }))
    }
}
