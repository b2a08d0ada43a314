//! The trait every stateful component implements, and its object-safe form for walks
//! over a board's components.

use crate::encoding::{from_bytes, to_bytes, Versioned};
use crate::error::StateError;

/// A component whose guest-visible state is plain data (DESIGN.md invariant 1): a
/// hart, the clock, a device, a network backend, a board, the process VM's kernel.
///
/// Modelled on Firecracker's `Persist`, with one difference: tern's boards build and
/// wire their components first (RAM, interrupt lines, backends, disks) and then put
/// each into its saved state, so `restore` works on a component that exists, where
/// Firecracker constructs one from its arguments. A component shared between threads
/// through interior mutability (the clock) implements it on a shared reference.
///
/// A component without state says so with [`crate::NoState`]; it never invents one.
pub trait Persist {
    /// The saved state: plain data, usually [`Versioned`] so that it can be stored.
    type State;

    /// The component's state now. Fails when part of it cannot be recorded (a backend
    /// that stopped answering, a descriptor the snapshot cannot hold).
    fn save(&self) -> Result<Self::State, StateError>;

    /// Puts the component into `state`, after checking that the state fits it (same
    /// number of harts, queues, sources...), and re-drives what derives from the
    /// state (interrupt lines, timers).
    fn restore(&mut self, state: &Self::State) -> Result<(), StateError>;
}

/// A [`Persist`] component seen through a trait object, with its state encoded
/// ([`crate::to_bytes`]): what a board walks when its components are of many types
/// (the devices behind `dyn MmioDevice`, network backends).
pub trait Component {
    /// The kind of the component's state, or `None` when it has no state.
    fn state_kind(&self) -> Option<&'static str>;

    /// The encoded state, or `None` when the component has no state.
    fn save_encoded(&self) -> Result<Option<Vec<u8>>, StateError>;

    /// Decodes `bytes` (refusing another kind or a newer version) and restores it.
    fn restore_encoded(&mut self, bytes: &[u8]) -> Result<(), StateError>;
}

impl<T> Component for T
where
    T: Persist,
    T::State: Versioned,
{
    fn state_kind(&self) -> Option<&'static str> {
        T::State::HAS_STATE.then_some(T::State::KIND)
    }

    fn save_encoded(&self) -> Result<Option<Vec<u8>>, StateError> {
        if !T::State::HAS_STATE {
            return Ok(None);
        }
        to_bytes(&self.save()?).map(Some)
    }

    fn restore_encoded(&mut self, bytes: &[u8]) -> Result<(), StateError> {
        let state = from_bytes::<T::State>(bytes)?;
        self.restore(&state)
    }
}
