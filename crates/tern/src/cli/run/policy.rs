//! `tern run --policy FILE`: interposition on a system VM's SBI calls (tern-machine's
//! `virt::sbi::policy`). The file takes `sbi-deny` and `sbi-log` rules and
//! `log-file PATH` (absolute; logs go to stderr without it), `#` comments.

use std::path::Path;

use anyhow::{bail, Context};
use tern_machine::virt::sbi::policy::SbiPolicy;
use tern_machine::virt::VirtMachine;

/// Reads the policy in `file` and puts it on `machine`.
pub fn install(file: &Path, machine: &mut VirtMachine) -> anyhow::Result<()> {
    let what = format!("--policy {}", file.display());
    let text = std::fs::read_to_string(file).with_context(|| format!("{what}: cannot read it"))?;
    let mut log: Box<dyn std::io::Write + Send> = Box::new(std::io::stderr());
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() || SbiPolicy::is_rule(line) {
            continue;
        }
        match line.split_once(char::is_whitespace) {
            Some(("log-file", path)) if path.trim().starts_with('/') => {
                let path = path.trim();
                log = Box::new(
                    std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(path)
                        .with_context(|| format!("{what}: line {}: cannot open {path}", n + 1))?,
                );
            }
            _ => bail!(
                "{what}: line {}: a system VM's policy takes sbi-deny, sbi-log and log-file (absolute path) lines",
                n + 1
            ),
        }
    }
    let policy = SbiPolicy::parse(&text, log).map_err(|e| anyhow::anyhow!("{what}: {e}"))?;
    machine
        .set_sbi_policy(policy)
        .map_err(|e| anyhow::anyhow!("{what}: {e}"))
}
