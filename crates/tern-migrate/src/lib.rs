//! tern's live migration stream (issue 10): how a running VM's configuration,
//! memory, disks and component states travel from one tern process to another.
//!
//! - [`message`]: the messages and their payloads, little-endian whatever the host,
//!   so that a VM moves between hosts of any architecture and byte order. Component
//!   states are the versioned bytes of the snapshot file (tern-state), carried as is.
//! - [`wire`]: frames with a sequence number and a CRC-32C over the migration's
//!   session id, header and payload: a damaged, truncated, replayed or foreign frame
//!   is refused before it is decoded.
//! - [`transport`]: TCP, with mutual TLS (rustls) unless the user asked for plain
//!   TCP: an unknown peer is refused before a byte of the VM is read.
//!
//! The VM side (rounds over the dirty log, switch-over, post-copy) is in tern-vmm.

#![forbid(unsafe_code)]

mod codec;
mod error;
pub mod job;
pub mod message;
pub mod transport;
pub mod wire;

pub use error::WireError;
pub use job::{Job, JobExit};
pub use message::{DiskFingerprint, DiskInfo, DiskMode, Hello, Message, Mode, PageData, Role};
pub use transport::{Listener, Security, TlsFiles};
pub use wire::Conn;
