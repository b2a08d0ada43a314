//! Live migration of a running system VM (`virt` board) to another tern process,
//! over the stream of `tern-migrate`: pre-copy rounds over the dirty log with a
//! downtime budget and auto-converge ([`source`]), post-copy with pages fetched on
//! first touch ([`postcopy`]), disks shared or copied ([`disks`]), and the receiving
//! side ([`dest`]).

pub mod dest;
pub mod disks;
pub mod migrant;
mod pages;
pub mod postcopy;
mod slot;
pub mod source;

pub use dest::{receive, receive_with, Arrival, Incoming};
pub use disks::DiskOpener;
pub use migrant::{Drive, Migrant, SourceVm};
pub use slot::Migrations;
pub use source::{start, Outgoing};
