//! The NAT backend of a tern built without the `user-net` feature: it cannot start,
//! and says why, so `--netdev user` (or restoring a VM that used it) fails with a
//! message instead of the build failing for want of libslirp.

use std::io;

use tern_state::{Persist, StateError};

use super::{SlirpOptions, SlirpState};
use crate::PollWaker;

/// Stands where the libslirp backend would be; never constructed.
pub enum SlirpBackend {}

const WHY: &str = "this tern was built without user-mode networking (the `user-net` \
                   feature, which needs libslirp): use a socket network instead";

impl SlirpBackend {
    /// Fails: there is no NAT in this build.
    pub fn new(_opts: SlirpOptions, _waker: Option<PollWaker>) -> io::Result<SlirpBackend> {
        Err(io::Error::new(io::ErrorKind::Unsupported, WHY))
    }
}

impl super::super::net::NetBackend for SlirpBackend {
    fn send(&mut self, _frame: &[u8]) {
        match *self {}
    }

    fn recv(&mut self) -> Option<Vec<u8>> {
        match *self {}
    }
}

impl Persist for SlirpBackend {
    type State = SlirpState;

    fn save(&self) -> Result<SlirpState, StateError> {
        match *self {}
    }

    fn restore(&mut self, _state: &SlirpState) -> Result<(), StateError> {
        match *self {}
    }
}
