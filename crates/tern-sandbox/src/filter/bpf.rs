//! Compiling a [`Table`] to seccomp-bpf programs with seccompiler, which knows the
//! system call conventions of x86-64, aarch64 and riscv64 hosts only: on other hosts
//! (a cross-built tern on s390x) this module is left out and the sandbox runs without
//! its filter layer, saying so (`Sandbox::isolate`).

use std::collections::BTreeMap;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};

use super::{Call, Check, Table};

impl Table {
    /// The BPF programs to install, in order: one per error number of the answers
    /// (everything else passes), then the allowlist (everything else traps). The
    /// kernel runs every installed program and takes the strictest verdict, so an
    /// answer wins over the allowlist's "allow" of the same call.
    pub fn compile(&self, arch: TargetArch) -> Result<Vec<BpfProgram>, String> {
        let pid = std::process::id() as u64;
        let mut programs = Vec::new();
        let mut errnos: Vec<i32> = self.answers.iter().map(|a| a.errno).collect();
        errnos.sort_unstable();
        errnos.dedup();
        for e in errnos {
            let mut rules: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
            for a in self.answers.iter().filter(|a| a.errno == e) {
                add_rule(&mut rules, &a.call, pid)?;
            }
            programs.push(bpf(
                rules,
                SeccompAction::Allow,
                SeccompAction::Errno(e as u32),
                arch,
            )?);
        }
        let mut rules: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
        for c in &self.allowed {
            add_rule(&mut rules, c, pid)?;
        }
        for a in &self.answers {
            // An answered call passes the allowlist whatever its arguments (the
            // kernel takes the strictest verdict, a trap here would win over the
            // answer): its answer's check alone decides which arguments fail.
            rules.insert(a.call.nr, Vec::new());
        }
        programs.push(bpf(rules, SeccompAction::Trap, SeccompAction::Allow, arch)?);
        Ok(programs)
    }
}

/// Adds `c`'s rules to `rules`; a call with [`Check::Any`] matches whatever else is
/// listed for it (an empty rule list in seccompiler means any arguments).
fn add_rule(rules: &mut BTreeMap<i64, Vec<SeccompRule>>, c: &Call, pid: u64) -> Result<(), String> {
    let any = rules.get(&c.nr).is_some_and(Vec::is_empty);
    match rules_of(c, pid)? {
        None => {
            rules.insert(c.nr, Vec::new());
        }
        Some(r) if !any => rules.entry(c.nr).or_default().extend(r),
        Some(_) => {}
    }
    Ok(())
}

/// The seccompiler rules for a call's check, any of which lets it through (`None`:
/// any arguments).
fn rules_of(c: &Call, pid: u64) -> Result<Option<Vec<SeccompRule>>, String> {
    let cond = |arg: u8, len: SeccompCmpArgLen, op: SeccompCmpOp, v: u64| {
        SeccompCondition::new(arg, len, op, v).map_err(|e| format!("{}: {e}", c.name))
    };
    let rule = |conds: Vec<SeccompCondition>| {
        SeccompRule::new(conds).map_err(|e| format!("{}: {e}", c.name))
    };
    let rules = match c.check {
        Check::Any => return Ok(None),
        Check::NoneOf { arg, mask } => vec![rule(vec![cond(
            arg,
            SeccompCmpArgLen::Qword,
            SeccompCmpOp::MaskedEq(mask),
            0,
        )?])?],
        Check::OneOf { arg, values } => values
            .iter()
            .map(|&v| {
                rule(vec![cond(
                    arg,
                    SeccompCmpArgLen::Dword,
                    SeccompCmpOp::Eq,
                    v,
                )?])
            })
            .collect::<Result<Vec<_>, _>>()?,
        Check::NotOneOf { arg, values } => vec![rule(
            values
                .iter()
                .map(|&v| cond(arg, SeccompCmpArgLen::Dword, SeccompCmpOp::Ne, v))
                .collect::<Result<Vec<_>, _>>()?,
        )?],
        Check::OwnPid { arg } => vec![rule(vec![cond(
            arg,
            SeccompCmpArgLen::Dword,
            SeccompCmpOp::Eq,
            pid,
        )?])?],
    };
    Ok(Some(rules))
}

/// Compiles one filter.
fn bpf(
    rules: BTreeMap<i64, Vec<SeccompRule>>,
    mismatch: SeccompAction,
    matched: SeccompAction,
    arch: TargetArch,
) -> Result<BpfProgram, String> {
    let filter = SeccompFilter::new(rules, mismatch, matched, arch).map_err(|e| e.to_string())?;
    BpfProgram::try_from(filter).map_err(|e| e.to_string())
}
