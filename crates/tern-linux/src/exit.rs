//! Ending the process VM: the emulator process ends with the program.
//!
//! A process VM is one host process, so `exit_group` ends the host process with the
//! program's status (other guest threads, being host threads, end with it), and a
//! fatal signal ends it by the same signal ([`crate::signal::die_by_signal`]).

use std::io::Write;
use std::sync::Mutex;

/// What `--stats` prints at exit: a report its owner registered
/// ([`crate::process::Process::enable_stats`]), run once by [`exit_process`].
static STATS: Mutex<Option<Box<dyn FnOnce() + Send>>> = Mutex::new(None);

/// Asks for `report` (the `--stats` line on stderr) when the process ends by
/// [`exit_process`]; a later call replaces an earlier one.
pub fn report_at_exit(report: impl FnOnce() + Send + 'static) {
    if let Ok(mut s) = STATS.lock() {
        *s = Some(Box::new(report));
    }
}

/// A second `--stats` report, from the front end (the engine's figures), printed after
/// the first one and only with it.
static MORE_STATS: Mutex<Option<Box<dyn FnOnce() + Send>>> = Mutex::new(None);

/// Asks for `report` after the one of [`report_at_exit`], if that one prints.
pub fn also_report_at_exit(report: impl FnOnce() + Send + 'static) {
    if let Ok(mut s) = MORE_STATS.lock() {
        *s = Some(Box::new(report));
    }
}

/// Prints the statistics line, if asked for.
pub fn print_stats() {
    let taken = STATS.lock().ok().and_then(|mut s| s.take());
    if let Some(report) = taken {
        report();
        if let Some(more) = MORE_STATS.lock().ok().and_then(|mut s| s.take()) {
            more();
        }
    }
}

/// The emulator's own stderr, duplicated above the guest's descriptors at start-up
/// (the guest may close or redirect its fd 2).
static DIAG_FD: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(2);

/// Keeps a private duplicate of stderr at or above `min_fd` for internal errors, and
/// makes a panic (an emulator bug: guest input must never cause one) print there and
/// end the process with status 101 at once, whichever host thread it happens on.
pub fn install_panic_hook(min_fd: i32) {
    // SAFETY: duplicating our own stderr.
    let fd = unsafe { libc::fcntl(2, libc::F_DUPFD_CLOEXEC, min_fd) };
    if fd >= 0 {
        DIAG_FD.store(fd, std::sync::atomic::Ordering::Relaxed);
    }
    std::panic::set_hook(Box::new(|info| {
        let msg = format!("tern: internal error (a bug in tern, please report it): {info}\n");
        let fd = DIAG_FD.load(std::sync::atomic::Ordering::Relaxed);
        // SAFETY: writing a local buffer, then ending the process without unwinding
        // into guest-visible state.
        unsafe {
            libc::write(fd, msg.as_ptr().cast(), msg.len());
            libc::_exit(101);
        }
    }));
}

/// Writes `line` and a newline to the emulator's own stderr (see
/// [`install_panic_hook`]): for diagnostics while descriptor 2 may be the
/// program's (a restore puts the program's descriptors back).
pub fn diag(line: &str) {
    let msg = format!("{line}\n");
    let fd = DIAG_FD.load(std::sync::atomic::Ordering::Relaxed);
    // SAFETY: writing a local buffer to our own descriptor.
    unsafe { libc::write(fd, msg.as_ptr().cast(), msg.len()) };
}

/// Makes descriptor 2 the emulator's own stderr again (a restore that failed after
/// the program's descriptors were put back: the error is for whoever ran tern, not
/// for the program's log).
pub fn own_stderr_back() {
    let fd = DIAG_FD.load(std::sync::atomic::Ordering::Relaxed);
    if fd != 2 {
        // SAFETY: duplicating our own descriptor onto number 2.
        unsafe { libc::dup2(fd, 2) };
    }
}

/// A function to run when the process ends, and the host process that registered it.
type Hook = (i32, Box<dyn Fn() + Send>);

/// What [`at_exit`] registered.
static HOOKS: Mutex<Vec<Hook>> = Mutex::new(Vec::new());

/// Runs `hook` when the program ends this host process (exit, or a fatal signal
/// that tern raises itself), for example to remove the control API's socket file:
/// the process ends with `exit(2)`, not by returning to whoever owns such things.
/// A child made by `fork` does not run its parent's hooks.
pub fn at_exit(hook: impl Fn() + Send + 'static) {
    // SAFETY: getpid cannot fail.
    let pid = unsafe { libc::getpid() };
    HOOKS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push((pid, Box::new(hook)));
}

/// Runs the hooks registered by this host process (once).
pub fn run_hooks() {
    // SAFETY: getpid cannot fail.
    let pid = unsafe { libc::getpid() };
    // A hook held by a thread that did not survive `fork` is not waited for.
    let Ok(mut hooks) = HOOKS.try_lock() else {
        return;
    };
    for (owner, hook) in hooks.drain(..) {
        if owner == pid {
            hook();
        }
    }
}

/// Ends the process with `status` (the low 8 bits are what `wait` sees).
pub fn exit_process(status: i32) -> ! {
    let _ = std::io::stdout().flush();
    print_stats();
    run_hooks();
    std::process::exit(status & 0xff)
}
