//! Resource binding of files when a process moves (the binding actions of code
//! mobility): a regular file the program holds open is, by the path it was opened
//! with,
//!
//! - **rebound** (RB, the default): opened again by the same path at the destination,
//!   which has its own file there (a library, a per-host configuration, `/dev/null`,
//!   or the same file on shared storage);
//! - **copied** (CP): its contents travel in the process's state and are written at
//!   the same path at the destination (made or replaced), which the program then
//!   holds; the source's file stays;
//! - **moved** (MV): copied, and its name removed at the source once the program runs
//!   at the destination.
//!
//! Rules are guest path prefixes (a whole path or a directory), the longest that
//! matches decides. The policy is the host process's (one guest process per host
//! process), set by whoever records the state ([`set_policy`]) and read when the
//! descriptors are recorded ([`super::saved`]); the action taken is recorded in the
//! state, so the destination knows a file arrived with it.

use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// What happens to a file the program holds when it moves.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Binding {
    /// RB: opened again by path where the program arrives.
    #[default]
    Rebind,
    /// CP: the contents travel; the source keeps its file.
    Copy,
    /// MV: the contents travel; the source's name is removed.
    Move,
}

/// Rules: guest path prefix → binding.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bindings {
    /// (absolute guest path, what happens to files at or under it).
    pub rules: Vec<(String, Binding)>,
}

impl Bindings {
    /// Parses one rule, `PATH=rb|cp|mv` (PATH absolute).
    pub fn parse_rule(text: &str) -> Result<(String, Binding), String> {
        let (path, action) = text
            .rsplit_once('=')
            .ok_or_else(|| format!("`{text}`: expected PATH=rb|cp|mv"))?;
        if !path.starts_with('/') {
            return Err(format!(
                "`{path}`: a binding's path is absolute (a guest path)"
            ));
        }
        let binding = match action {
            "rb" => Binding::Rebind,
            "cp" => Binding::Copy,
            "mv" => Binding::Move,
            other => return Err(format!("`{other}`: a binding is rb, cp or mv")),
        };
        Ok((super::view::normalize(path), binding))
    }

    /// Parses rules `PATH=rb|cp|mv` (see [`Bindings::parse_rule`]).
    pub fn parse(rules: &[String]) -> Result<Bindings, String> {
        let rules = rules
            .iter()
            .map(|r| Bindings::parse_rule(r))
            .collect::<Result<_, _>>()?;
        Ok(Bindings { rules })
    }

    /// The binding of a file opened as guest path `path`: the longest rule that is
    /// the path or one of its directories.
    pub fn of(&self, path: &str) -> Binding {
        let path = super::view::normalize(path);
        self.rules
            .iter()
            .filter(|(prefix, _)| under(&path, prefix))
            .max_by_key(|(prefix, _)| prefix.len())
            .map_or(Binding::Rebind, |(_, b)| *b)
    }
}

/// Whether `path` is `dir` or inside it (both normalized).
fn under(path: &str, dir: &str) -> bool {
    dir == "/"
        || path == dir
        || (path.starts_with(dir) && path.as_bytes().get(dir.len()) == Some(&b'/'))
}

static POLICY: Mutex<Bindings> = Mutex::new(Bindings { rules: Vec::new() });

/// Sets the policy the next recordings of the descriptors follow (a migration sets
/// it before it records the state, and clears it after).
pub fn set_policy(b: Bindings) {
    *POLICY.lock().unwrap_or_else(|e| e.into_inner()) = b;
}

/// The binding of guest path `path` under the current policy.
pub fn policy_of(path: &str) -> Binding {
    POLICY.lock().unwrap_or_else(|e| e.into_inner()).of(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_matching_directory_decides() {
        let b = Bindings {
            rules: [
                "/data=cp",
                "/data/big=mv",
                "/data/big/keep.txt=rb",
                "/tmp/x=cp",
            ]
            .iter()
            .map(|r| Bindings::parse_rule(r).unwrap())
            .collect(),
        };
        assert_eq!(b.of("/data/a.txt"), Binding::Copy);
        assert_eq!(b.of("/data/big/b"), Binding::Move);
        assert_eq!(b.of("/data/big/keep.txt"), Binding::Rebind);
        assert_eq!(b.of("/data//big/../big/c"), Binding::Move);
        assert_eq!(
            b.of("/database"),
            Binding::Rebind,
            "a prefix, not a directory"
        );
        assert_eq!(b.of("/tmp/xy"), Binding::Rebind);
        assert_eq!(b.of("/etc/hosts"), Binding::Rebind);
    }

    #[test]
    fn rules_are_checked() {
        assert!(Bindings::parse_rule("data=cp").is_err());
        assert!(Bindings::parse_rule("/data=gr").is_err());
        assert!(Bindings::parse_rule("/data").is_err());
        assert_eq!(
            Bindings::parse_rule("/a=b/c=mv"),
            Ok(("/a=b/c".to_string(), Binding::Move))
        );
    }
}
