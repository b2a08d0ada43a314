//! `tern run --policy FILE`: interposition on a system VM's SBI calls (tern-machine's
//! `virt::sbi::policy`) and device accesses (`virt::mmio_policy`). The file takes
//! `sbi-deny`, `sbi-log`, `mmio-deny` and `mmio-log` rules and `log-file PATH`
//! (absolute; logs go to stderr without it), `#` comments.

use std::path::Path;

use anyhow::{bail, Context};
use tern_machine::virt::mmio_policy::MmioPolicy;
use tern_machine::virt::sbi::policy::SbiPolicy;
use tern_machine::virt::VirtMachine;

/// Reads the policy in `file` and puts it on `machine`; returns its text (kept in
/// the VM's snapshots).
pub fn install(file: &Path, machine: &mut VirtMachine) -> anyhow::Result<String> {
    let what = format!("--policy {}", file.display());
    let text = std::fs::read_to_string(file).with_context(|| format!("{what}: cannot read it"))?;
    install_text(&text, &what, machine)?;
    Ok(text)
}

/// Puts the policy `text` on `machine`; `what` names it in errors.
pub fn install_text(text: &str, what: &str, machine: &mut VirtMachine) -> anyhow::Result<()> {
    let mut log_file = None;
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() || SbiPolicy::is_rule(line) || MmioPolicy::is_rule(line) {
            continue;
        }
        match line.split_once(char::is_whitespace) {
            Some(("log-file", path)) if path.trim().starts_with('/') => {
                log_file = Some((n + 1, path.trim().to_string()));
            }
            _ => bail!(
                "{what}: line {}: a system VM's policy takes sbi-deny, sbi-log, mmio-deny, mmio-log and log-file (absolute path) lines",
                n + 1
            ),
        }
    }
    // Each rule set has its own handle; appends of whole lines do not interleave.
    let open_log = || -> anyhow::Result<Box<dyn std::io::Write + Send>> {
        Ok(match &log_file {
            None => Box::new(std::io::stderr()),
            Some((n, path)) => Box::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .with_context(|| format!("{what}: line {n}: cannot open {path}"))?,
            ),
        })
    };
    let sbi = SbiPolicy::parse(text, open_log()?).map_err(|e| anyhow::anyhow!("{what}: {e}"))?;
    let mmio = MmioPolicy::parse(text, open_log()?).map_err(|e| anyhow::anyhow!("{what}: {e}"))?;
    if !sbi.is_empty() {
        machine
            .set_sbi_policy(sbi)
            .map_err(|e| anyhow::anyhow!("{what}: {e}"))?;
    }
    if !mmio.is_empty() {
        machine
            .set_mmio_policy(&mmio)
            .map_err(|e| anyhow::anyhow!("{what}: {e}"))?;
    }
    Ok(())
}
