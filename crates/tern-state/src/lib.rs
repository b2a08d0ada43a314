//! tern's state model (DESIGN.md, "State, versions and mobility"): one trait,
//! [`Persist`], that every stateful component implements (harts, the clock, devices,
//! network backends, boards, tern's firmware, the process VM's kernel), and one
//! versioned encoding of component states, which snapshot files (and later migration
//! streams) carry, one state per component.
//!
//! - [`Persist`]: `save` a component's state as plain data, `restore` a built
//!   component from it. [`Component`] is the same seen through a trait object.
//! - [`Versioned`]: a state's kind, version, base and optional parts, and their
//!   encoding ([`to_bytes`], [`from_bytes`]). A state written by version N decodes in
//!   every later build; a newer one is refused, naming its kind and both versions.
//! - [`Sections`]: a board's component states by name, restored by a walk that names
//!   a component without saved state and a saved state without a component.
//!
//! This crate sits below every other tern crate and depends on serde and postcard
//! only, so any layer may implement the trait without breaking DESIGN.md's layering.
//!
//! ```
//! use serde::{Deserialize, Serialize};
//! use tern_state::{from_bytes, to_bytes, Decoder, Encoder, Persist, StateError, Versioned};
//!
//! /// A timer's state: the base never changes; `label` was added in version 2.
//! #[derive(Debug, PartialEq)]
//! struct TimerState { deadline: u64, label: String }
//!
//! #[derive(Serialize, Deserialize)]
//! struct Base { deadline: u64 }
//!
//! impl Versioned for TimerState {
//!     const KIND: &'static str = "timer";
//!     const VERSION: u32 = 2;
//!     fn encode(&self, out: &mut Encoder) {
//!         out.base(&Base { deadline: self.deadline });
//!         out.part("label", !self.label.is_empty(), &self.label);
//!     }
//!     fn decode(input: &mut Decoder<'_>) -> Result<Self, StateError> {
//!         let Base { deadline } = input.base()?;
//!         Ok(TimerState { deadline, label: input.part_or_default("label")? })
//!     }
//! }
//!
//! struct Timer { deadline: u64, label: String }
//!
//! impl Persist for Timer {
//!     type State = TimerState;
//!     fn save(&self) -> Result<TimerState, StateError> {
//!         Ok(TimerState { deadline: self.deadline, label: self.label.clone() })
//!     }
//!     fn restore(&mut self, s: &TimerState) -> Result<(), StateError> {
//!         self.deadline = s.deadline;
//!         self.label = s.label.clone();
//!         Ok(())
//!     }
//! }
//!
//! let t = Timer { deadline: 10, label: String::new() };
//! let bytes = to_bytes(&t.save()?)?;
//! let mut u = Timer { deadline: 0, label: "x".into() };
//! u.restore(&from_bytes(&bytes)?)?;
//! assert_eq!((u.deadline, u.label.as_str()), (10, ""));
//! # Ok::<(), StateError>(())
//! ```

#![forbid(unsafe_code)]

mod encoding;
mod error;
mod persist;
mod sections;

pub use encoding::{
    from_bytes, peek, to_bytes, valid_name, Decoder, Encoder, NoState, Versioned, MAX_NAME_LEN,
};
pub use error::{Problem, StateError};
pub use persist::{Component, Persist};
pub use sections::Sections;
