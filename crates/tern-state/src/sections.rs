//! The states of a board's components by name: what a board saves by walking its
//! components and restores by walking them again. A snapshot stores one state section
//! per entry.

use crate::encoding::{from_bytes, peek, to_bytes, valid_name, Versioned};
use crate::error::{Problem, StateError};
use crate::persist::Component;

/// Encoded component states ([`crate::to_bytes`]) by component name, in the order
/// they were saved. Names are unique, 1 to 32 ASCII letters, digits, `.`, `_`, `-`.
///
/// Restoring takes the states out one by one ([`Sections::take`],
/// [`Sections::restore`]): a component whose state is missing is an error naming it,
/// and so is a saved state no component took ([`Sections::finish`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sections {
    entries: Vec<(String, Vec<u8>)>,
}

fn located(name: &str) -> String {
    format!("state `{name}`")
}

impl Sections {
    /// No states.
    pub fn new() -> Sections {
        Sections::default()
    }

    /// Adds the encoded state `bytes` of component `name`.
    pub fn insert(&mut self, name: impl Into<String>, bytes: Vec<u8>) -> Result<(), StateError> {
        let name = name.into();
        if !valid_name(&name) {
            return Err(StateError::save(format!("invalid component name `{name}`")));
        }
        if self.get(&name).is_some() {
            return Err(StateError::save(format!(
                "two components are named `{name}`"
            )));
        }
        self.entries.push((name, bytes));
        Ok(())
    }

    /// Adds `state` as the state of component `name`.
    pub fn put<S: Versioned>(&mut self, name: &str, state: &S) -> Result<(), StateError> {
        let bytes = to_bytes(state).map_err(|e| e.within(located(name)))?;
        self.insert(name, bytes)
    }

    /// Adds the state of `component` as `name` (nothing for a component without state).
    pub fn save(&mut self, name: &str, component: &dyn Component) -> Result<(), StateError> {
        match component
            .save_encoded()
            .map_err(|e| e.within(located(name)))?
        {
            Some(bytes) => self.insert(name, bytes),
            None => Ok(()),
        }
    }

    /// The encoded state of `name`, if saved.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.entries
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, b)| &b[..])
    }

    /// Every state, in the order saved.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.entries.iter().map(|(n, b)| (n.as_str(), &b[..]))
    }

    /// Number of states.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn take_bytes(&mut self, name: &str) -> Option<Vec<u8>> {
        let i = self.entries.iter().position(|(n, _)| n == name)?;
        Some(self.entries.remove(i).1)
    }

    /// Takes and decodes the state of component `name`, if it was saved.
    pub fn take_optional<S: Versioned>(&mut self, name: &str) -> Result<Option<S>, StateError> {
        self.take_bytes(name)
            .map(|b| from_bytes::<S>(&b).map_err(|e| e.within(located(name))))
            .transpose()
    }

    /// Takes and decodes the state of component `name`; its absence is an error
    /// naming the component.
    pub fn take<S: Versioned>(&mut self, name: &str) -> Result<S, StateError> {
        self.take_optional(name)?.ok_or_else(|| {
            StateError::new(Problem::Missing {
                component: name.into(),
                kind: S::KIND.into(),
            })
        })
    }

    /// Takes the state of component `name` and restores `component` from it. A
    /// component with state whose state is missing is an error naming it; a component
    /// without state takes nothing (a state saved under its name is left for
    /// [`Sections::finish`] to report).
    pub fn restore(&mut self, name: &str, component: &mut dyn Component) -> Result<(), StateError> {
        let Some(kind) = component.state_kind() else {
            return Ok(());
        };
        let bytes = self.take_bytes(name).ok_or_else(|| {
            StateError::new(Problem::Missing {
                component: name.into(),
                kind: kind.into(),
            })
        })?;
        component
            .restore_encoded(&bytes)
            .map_err(|e| e.within(located(name)))
    }

    /// Ends a restore: a state no component took is an error naming it and saying
    /// what the machine has under that name (`here` answers, `None` for nothing).
    pub fn finish(self, here: impl Fn(&str) -> Option<String>) -> Result<(), StateError> {
        match self.entries.into_iter().next() {
            None => Ok(()),
            Some((name, bytes)) => {
                let kind =
                    peek(&bytes).map_or_else(|_| "unreadable".to_string(), |(k, _)| k.into());
                let here = here(&name);
                Err(StateError::new(Problem::Unknown { name, kind, here }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::{Decoder, Encoder, NoState};
    use crate::persist::Persist;

    #[derive(Clone, Debug, PartialEq)]
    struct Ticks(u64);

    impl Versioned for Ticks {
        const KIND: &'static str = "ticks";
        const VERSION: u32 = 1;
        fn encode(&self, out: &mut Encoder) {
            out.base(&self.0);
        }
        fn decode(input: &mut Decoder<'_>) -> Result<Self, StateError> {
            input.base().map(Ticks)
        }
    }

    struct Timer(u64);

    impl Persist for Timer {
        type State = Ticks;
        fn save(&self) -> Result<Ticks, StateError> {
            Ok(Ticks(self.0))
        }
        fn restore(&mut self, state: &Ticks) -> Result<(), StateError> {
            if state.0 == u64::MAX {
                return Err(StateError::mismatch("a timer cannot be that late"));
            }
            self.0 = state.0;
            Ok(())
        }
    }

    struct Nothing;

    impl Persist for Nothing {
        type State = NoState;
        fn save(&self) -> Result<NoState, StateError> {
            Ok(NoState)
        }
        fn restore(&mut self, _: &NoState) -> Result<(), StateError> {
            Ok(())
        }
    }

    #[test]
    fn a_walk_restores_every_component_and_names_what_does_not_match() {
        let mut saved = Sections::new();
        saved.save("timer0", &Timer(7)).unwrap();
        saved.save("slot", &Nothing).unwrap();
        assert_eq!(saved.len(), 1, "a component without state saves nothing");
        assert!(saved.save("timer0", &Timer(1)).is_err(), "names are unique");

        let mut t = Timer(0);
        let mut s = saved.clone();
        s.restore("timer0", &mut t).unwrap();
        s.restore("slot", &mut Nothing).unwrap();
        s.finish(|_| None).unwrap();
        assert_eq!(t.0, 7);

        // A component whose state is missing.
        let e = saved.clone().restore("timer1", &mut t).unwrap_err();
        assert_eq!(
            e.to_string(),
            "this VM's `timer1` (ticks) has no state among the saved ones"
        );
        // A saved state without a component, and one whose component has no state.
        let e = saved.clone().finish(|_| None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "a ticks state was saved for `timer0`, but this VM has no `timer0`"
        );
        let e = saved
            .clone()
            .finish(|_| Some("an empty slot".into()))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "a ticks state was saved for `timer0`, but this VM's `timer0` is an empty slot, which has no state"
        );
        // A state that does not fit the component.
        let mut late = Sections::new();
        late.put("timer0", &Ticks(u64::MAX)).unwrap();
        let e = late.restore("timer0", &mut t).unwrap_err();
        assert_eq!(e.to_string(), "state `timer0`: a timer cannot be that late");
        // A state of another kind.
        let mut other = Sections::new();
        other
            .insert("timer0", crate::to_bytes(&NoState).unwrap())
            .unwrap();
        let e = other.restore("timer0", &mut t).unwrap_err();
        assert_eq!(
            e.to_string(),
            "state `timer0`: holds a no state, not a ticks state"
        );
    }
}
