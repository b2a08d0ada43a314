//! Interposition on the SBI calls of a system VM (`tern run --policy FILE` with tern
//! as the firmware): rules that log calls or deny them by extension and function,
//! as `tern exec --policy` does for a process's system calls.
//!
//! ```text
//! sbi-deny srst                 # every call of the extension: SBI_ERR_DENIED
//! sbi-deny hsm/1                # one function (hart_stop)
//! sbi-log dbcn legacy-putchar   # logged: "tern sbi: hart H EXT/FID (a0, a1, a2) = result"
//! ```
//!
//! Extensions are named as in the specification (`base`, `time`, `ipi`, `rfence`,
//! `hsm`, `srst`, `dbcn`, the legacy calls `legacy-set-timer`, `legacy-putchar`,
//! `legacy-getchar`, `legacy-clear-ipi`, `legacy-send-ipi`, `legacy-fence-i`,
//! `legacy-sfence-vma`, `legacy-sfence-vma-asid`, `legacy-shutdown`) or by number
//! (`0x53525354`). A denied call is not made: a v0.2+ call returns
//! `SBI_ERR_DENIED` (-4), a legacy call returns -2 in a0; `sbi_probe_extension`
//! still reports the extension (the guest learns of the denial when it calls). A
//! denied call is always logged. The rules are checked only on a hart's `ecall`
//! from S-mode, which already leaves the run loop: a VM without rules pays one load
//! and a branch per SBI call.

use std::io::Write;
use std::sync::Mutex;

use super::{eid, Call, Outcome};

/// `SBI_ERR_DENIED`.
pub const ERR_DENIED: i64 = -4;

/// The extensions by name.
const NAMES: &[(&str, u64)] = &[
    ("legacy-set-timer", eid::LEGACY_SET_TIMER),
    ("legacy-putchar", eid::LEGACY_PUTCHAR),
    ("legacy-getchar", eid::LEGACY_GETCHAR),
    ("legacy-clear-ipi", eid::LEGACY_CLEAR_IPI),
    ("legacy-send-ipi", eid::LEGACY_SEND_IPI),
    ("legacy-fence-i", eid::LEGACY_FENCE_I),
    ("legacy-sfence-vma", eid::LEGACY_SFENCE_VMA),
    ("legacy-sfence-vma-asid", eid::LEGACY_SFENCE_VMA_ASID),
    ("legacy-shutdown", eid::LEGACY_SHUTDOWN),
    ("base", eid::BASE),
    ("time", eid::TIME),
    ("ipi", eid::IPI),
    ("rfence", eid::RFENCE),
    ("hsm", eid::HSM),
    ("srst", eid::SRST),
    ("dbcn", eid::DBCN),
];

/// What a rule does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Action {
    Deny,
    Log,
}

/// One rule: an extension, maybe one function of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Rule {
    eid: u64,
    fid: Option<u64>,
    action: Action,
}

/// The SBI rules of a policy.
pub struct SbiPolicy {
    rules: Vec<Rule>,
    log: Mutex<Box<dyn Write + Send>>,
}

/// The name of extension `e` (its number if it has none here).
fn name(e: u64) -> String {
    NAMES
        .iter()
        .find(|(_, v)| *v == e)
        .map_or(format!("{e:#x}"), |(n, _)| (*n).to_string())
}

fn number(s: &str) -> Option<u64> {
    match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

/// Parses `EXT` or `EXT/FID`.
fn target(word: &str) -> Result<(u64, Option<u64>), String> {
    let (ext, fid) = match word.split_once('/') {
        Some((e, f)) => (e, Some(number(f).ok_or(format!("bad function id {f:?}"))?)),
        None => (word, None),
    };
    let e = NAMES
        .iter()
        .find(|(n, _)| *n == ext)
        .map(|(_, v)| *v)
        .or_else(|| number(ext))
        .ok_or(format!("unknown SBI extension {ext:?}"))?;
    Ok((e, fid))
}

impl SbiPolicy {
    /// Parses the `sbi-deny` and `sbi-log` lines of `text` (others are left to the
    /// caller: it passes the lines it does not know, see [`SbiPolicy::is_rule`]).
    /// Log lines go to `log`. Errors name the line.
    pub fn parse(text: &str, log: Box<dyn Write + Send>) -> Result<SbiPolicy, String> {
        let mut rules = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            let mut words = line.split_whitespace();
            let action = match words.next() {
                Some("sbi-deny") => Action::Deny,
                Some("sbi-log") => Action::Log,
                _ => continue,
            };
            let mut any = false;
            for w in words {
                let (eid, fid) = target(w).map_err(|e| format!("line {}: {e}", n + 1))?;
                rules.push(Rule { eid, fid, action });
                any = true;
            }
            if !any {
                return Err(format!("line {}: no extension named", n + 1));
            }
        }
        Ok(SbiPolicy {
            rules,
            log: Mutex::new(log),
        })
    }

    /// Whether the policy line `line` is an SBI rule.
    pub fn is_rule(line: &str) -> bool {
        matches!(
            line.split_whitespace().next(),
            Some("sbi-deny") | Some("sbi-log")
        )
    }

    /// Whether the policy has rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// What applies to `call`: denied, logged, or neither.
    fn action(&self, call: &Call) -> Option<Action> {
        let mut found = None;
        for r in &self.rules {
            if r.eid == call.eid && r.fid.is_none_or(|f| f == call.fid) {
                if r.action == Action::Deny {
                    return Some(Action::Deny);
                }
                found = Some(Action::Log);
            }
        }
        found
    }

    /// Before hart `hart` makes `call`: `Some(outcome)` when it is denied (the call
    /// is not made), else `None`; and whether to log the result ([`Self::after`]).
    pub fn before(&self, hart: usize, call: &Call) -> (Option<Outcome>, bool) {
        match self.action(call) {
            Some(Action::Deny) => {
                let outcome = if call.eid <= eid::LEGACY_SHUTDOWN {
                    Outcome::Legacy(-2i64 as u64)
                } else {
                    Outcome::Return {
                        error: ERR_DENIED,
                        value: 0,
                    }
                };
                self.write(hart, call, "denied");
                (Some(outcome), false)
            }
            Some(Action::Log) => (None, true),
            None => (None, false),
        }
    }

    /// Logs a call that was made, with its outcome.
    pub fn after(&self, hart: usize, call: &Call, outcome: &Outcome) {
        let result = match outcome {
            Outcome::Return { error, value } => format!("{error} ({value:#x})"),
            Outcome::Legacy(v) => format!("{v:#x}"),
            other => format!("{other:?}"),
        };
        self.write(hart, call, &result);
    }

    fn write(&self, hart: usize, call: &Call, result: &str) {
        let a = call.args;
        let line = format!(
            "tern sbi: hart {hart} {}/{} ({:#x}, {:#x}, {:#x}) = {result}\n",
            name(call.eid),
            call.fid,
            a[0],
            a[1],
            a[2]
        );
        let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        // A broken log must not stop the guest.
        let _ = log.write_all(line.as_bytes());
        let _ = log.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(eid: u64, fid: u64) -> Call {
        Call {
            eid,
            fid,
            args: [0; 6],
        }
    }

    #[test]
    fn rules_match_by_extension_and_function() {
        let p = SbiPolicy::parse(
            "sbi-deny srst hsm/1 # comment\nsbi-log dbcn 0x54494d45\nread-only /x\n",
            Box::new(std::io::sink()),
        )
        .expect("parses");
        assert_eq!(
            p.before(0, &call(eid::SRST, 0)).0,
            Some(Outcome::Return {
                error: ERR_DENIED,
                value: 0
            })
        );
        assert!(p.before(0, &call(eid::HSM, 1)).0.is_some());
        assert_eq!(p.before(0, &call(eid::HSM, 0)), (None, false));
        assert_eq!(p.before(0, &call(eid::DBCN, 2)), (None, true));
        assert_eq!(p.before(0, &call(eid::TIME, 0)), (None, true));
        assert_eq!(p.before(0, &call(eid::IPI, 0)), (None, false));
        let legacy = SbiPolicy::parse("sbi-deny legacy-shutdown", Box::new(std::io::sink()))
            .expect("parses");
        assert_eq!(
            legacy.before(0, &call(eid::LEGACY_SHUTDOWN, 0)).0,
            Some(Outcome::Legacy(-2i64 as u64))
        );
        assert!(
            SbiPolicy::parse("sbi-deny nosuch", Box::new(std::io::sink()))
                .is_err_and(|e| e.contains("line 1"))
        );
        assert!(SbiPolicy::parse("sbi-log", Box::new(std::io::sink())).is_err());
    }
}
