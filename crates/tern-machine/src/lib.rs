//! tern's boards: which device sits at which address, how the guest is loaded, and the
//! loop that runs harts and devices together.

#![forbid(unsafe_code)]

pub mod loader;
pub mod spike;
pub mod virt;

pub use spike::{SpikeConfig, SpikeExit, SpikeHandle, SpikeMachine};
