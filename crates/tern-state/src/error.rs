//! Errors of saving and restoring component states. Each names the component (the
//! path of names from the board down to the part that failed) and the problem.

use std::fmt;

/// Why a state could not be saved, decoded or restored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// The state was written by a newer tern, with a version this build cannot read.
    Newer {
        /// The kind of state ("hart", "plic").
        kind: String,
        /// The version in the file.
        found: u32,
        /// The newest version this build reads.
        supported: u32,
    },
    /// The bytes hold another kind of state than the component's.
    WrongKind {
        /// The kind in the bytes.
        found: String,
        /// The kind the component has.
        expected: String,
    },
    /// The bytes are not a well-formed state of this kind and version.
    Malformed(String),
    /// The state decodes but does not fit the component it is restored into (another
    /// number of harts, queues, sources...).
    Mismatch(String),
    /// A component of the machine has no state among the saved ones.
    Missing {
        /// The component's name (`virtio1`).
        component: String,
        /// The kind of state it has.
        kind: String,
    },
    /// A saved state has no component to go to.
    Unknown {
        /// The saved state's name.
        name: String,
        /// Its kind.
        kind: String,
        /// What the machine has under that name, if anything ("an empty virtio slot").
        here: Option<String>,
    },
    /// The component could not produce its state (a backend that stopped, a
    /// descriptor that cannot be recorded).
    Save(String),
}

/// A state error: the problem, and where (outermost component first).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateError {
    path: Vec<String>,
    problem: Problem,
}

impl StateError {
    /// An error with no location yet.
    pub fn new(problem: Problem) -> StateError {
        StateError {
            path: Vec::new(),
            problem,
        }
    }

    /// The state does not fit the component: `why`.
    pub fn mismatch(why: impl Into<String>) -> StateError {
        StateError::new(Problem::Mismatch(why.into()))
    }

    /// The bytes do not decode: `why`.
    pub fn malformed(why: impl Into<String>) -> StateError {
        StateError::new(Problem::Malformed(why.into()))
    }

    /// The component cannot save its state: `why`.
    pub fn save(why: impl Into<String>) -> StateError {
        StateError::new(Problem::Save(why.into()))
    }

    /// The same error, located inside `outer` (a component or part name, shown
    /// before the locations already known).
    pub fn within(mut self, outer: impl Into<String>) -> StateError {
        self.path.insert(0, outer.into());
        self
    }

    /// The problem.
    pub fn problem(&self) -> &Problem {
        &self.problem
    }

    /// Where it happened, outermost first.
    pub fn path(&self) -> &[String] {
        &self.path
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Newer {
                kind,
                found,
                supported,
            } => write!(
                f,
                "{kind} state version {found} is newer than this tern understands ({supported})"
            ),
            Problem::WrongKind { found, expected } => {
                write!(f, "holds a {found} state, not a {expected} state")
            }
            Problem::Malformed(why) => write!(f, "malformed: {why}"),
            Problem::Mismatch(why) | Problem::Save(why) => f.write_str(why),
            Problem::Missing { component, kind } => write!(
                f,
                "this VM's `{component}` ({kind}) has no state among the saved ones"
            ),
            Problem::Unknown { name, kind, here } => match here {
                Some(here) => write!(
                    f,
                    "a {kind} state was saved for `{name}`, but this VM's `{name}` is {here}, which has no state"
                ),
                None => write!(
                    f,
                    "a {kind} state was saved for `{name}`, but this VM has no `{name}`"
                ),
            },
        }
    }
}

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.path {
            write!(f, "{p}: ")?;
        }
        self.problem.fmt(f)
    }
}

impl std::error::Error for StateError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_place_and_both_sides() {
        let e = StateError::new(Problem::Newer {
            kind: "hart".into(),
            found: 3,
            supported: 1,
        })
        .within("state `hart0`");
        assert_eq!(
            e.to_string(),
            "state `hart0`: hart state version 3 is newer than this tern understands (1)"
        );
        let e = StateError::mismatch("2 queues saved, the device has 1")
            .within("device")
            .within("state `virtio1`");
        assert_eq!(
            e.to_string(),
            "state `virtio1`: device: 2 queues saved, the device has 1"
        );
        assert_eq!(e.path(), ["state `virtio1`", "device"]);
    }
}
