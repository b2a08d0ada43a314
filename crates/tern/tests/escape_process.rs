//! The process VM keeps a hostile program inside it (issue 8, rows 6 to 9): the
//! program `guests/linux-user/escape_process.c` tries to signal host processes, to
//! make tern use more host memory than `--memory`, to hand itself descriptors tern
//! owns, and to write read-only memory through futexes. Every outcome is checked on
//! the host side where there is one (a host process still alive, tern's peak RSS, a
//! snapshot that lists a received descriptor), besides what the program saw.

#[path = "common/linux_user.rs"]
mod linux_user;

use std::process::Command;
use std::time::Duration;

use linux_user::{build, run, Link, Outcome};

const TERN: &str = env!("CARGO_BIN_EXE_tern");

/// `tern exec [OPTIONS] escape_process ARGS` (statically linked).
fn escape(opts: &[&str], args: &[&str]) -> Command {
    let prog = build("escape_process", Link::Static);
    let mut c = Command::new(TERN);
    c.arg("exec").args(opts).arg(prog).args(args);
    c
}

fn finished(c: Command) -> Outcome {
    run(c, Duration::from_secs(120))
}

#[test]
fn futex_operations_that_store_need_write_access() {
    // Row 9: wake-op and the PI operations store to the futex word; on a read-only
    // page they fail with EFAULT (as on Linux) and leave the page as it was.
    let o = finished(escape(&[], &["futex"]));
    assert_eq!(
        o.stdout,
        "wake_op on read-only: EFAULT\n\
         trylock_pi on read-only: EFAULT\n\
         lock_pi on read-only: EFAULT\n\
         unlock_pi on read-only: EFAULT\n\
         read-only words: 11111111 00000000 owner\n\
         wake_op on writable: ok, word 00000055\n\
         trylock_pi on writable: ok, owner me\n\
         unlock_pi on writable: ok, word 00000000\n",
        "stderr: {}",
        o.stderr
    );
    assert_eq!(o.status, 0);
}
