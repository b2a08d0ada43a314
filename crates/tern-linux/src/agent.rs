//! Mobile agents: a program asks to move itself to another host and goes on there,
//! as D'Agents' `agent_jump` did. The call is tern's own system call [`JUMP`]
//! (`syscall(0x5445524e, "tcp:HOST:PORT")`): the host process that runs the program
//! live-migrates it to the `tern receive` at that address; the call returns 0 at
//! the destination, where the program continues, and fails at the source with
//! `EHOSTUNREACH` if the move did not happen (the program goes on here). Only a VM
//! started with `--agent` answers it (the user chooses whether a guest may make tern
//! connect somewhere): elsewhere it is `ENOSYS`, as for any unknown number.
//!
//! The migration itself is the VMM's ([`Jumper`], installed once per host process);
//! this module only holds the hook.

use std::sync::OnceLock;

/// The system call number of a jump: "TERN" in ASCII, far above Linux's numbers.
pub const JUMP: u64 = 0x5445_524e;

/// Longest destination address a jump takes, in bytes.
pub const MAX_ADDRESS: usize = 256;

/// How a jump goes, as the source sees it.
pub type Journey = Box<dyn Fn() -> Option<Result<(), String>> + Send>;

/// Starts the migrations that jumps ask for.
pub trait Jumper: Send + Sync {
    /// Starts moving this process to `to` (`[tcp:]HOST:PORT`); returns how to poll
    /// its outcome (`None` while it goes on, then whether it completed), or why it
    /// cannot start.
    fn start(&self, to: &str) -> Result<Journey, String>;
}

static JUMPER: OnceLock<Box<dyn Jumper>> = OnceLock::new();

/// Lets the program jump (`--agent`); the first call wins.
pub fn install(j: Box<dyn Jumper>) {
    let _ = JUMPER.set(j);
}

/// The jumper, if jumps are allowed.
pub fn jumper() -> Option<&'static dyn Jumper> {
    JUMPER.get().map(|j| &**j)
}
