//! `tern exec --policy FILE` and `--plugin NAME`: the process VM's interposition
//! hooks (tern-linux's `interpose`), installed before the program runs and handed
//! on to the programs it starts with `execve`.

use std::path::Path;

use anyhow::{bail, Context};
use tern_linux::interpose;
use tern_linux::policy::{coverage, insn_count, mem_trace, Policy};

/// Installs the policy (from `file`, or the text a program's `execve` handed on)
/// and the plugins named in `plugins`.
pub fn install(
    file: Option<&Path>,
    text: Option<&str>,
    log_fd: Option<i32>,
    plugins: &[String],
) -> anyhow::Result<()> {
    let mut reexec = Vec::new();
    let text = match (file, text) {
        (Some(f), _) => Some(
            std::fs::read_to_string(f)
                .with_context(|| format!("--policy {}: cannot read it", f.display()))?,
        ),
        (None, Some(t)) => Some(t.to_string()),
        (None, None) => None,
    };
    if let Some(text) = text {
        let what = file.map_or("--policy".to_string(), |f| {
            format!("--policy {}", f.display())
        });
        let policy = Policy::parse(&text).map_err(|e| anyhow::anyhow!("{what}: {e}"))?;
        // The log file is opened now, before tern confines itself (its mount
        // namespace may hide the path), or taken over from the program's `execve`.
        match (log_fd, policy.log_file()) {
            (Some(fd), _) => policy
                .adopt_log_fd(fd)
                .map_err(|e| anyhow::anyhow!("--policy-log-fd {fd}: {e}"))?,
            (None, Some(path)) => {
                let fd = tern_linux::policy::open_log_file(path)
                    .map_err(|e| anyhow::anyhow!("{what}: {e}"))?;
                policy.set_log(fd);
            }
            (None, None) => {}
        }
        interpose::install(Box::new(policy));
        reexec.push("--policy-text".to_string());
        reexec.push(text);
    }
    for p in plugins {
        let (name, arg) = match p.split_once('=') {
            Some((n, a)) => (n, Some(a)),
            None => (p.as_str(), None),
        };
        let installed = match (name, arg) {
            ("insn-count", None) => insn_count::install(),
            ("insn-count", Some(_)) => {
                bail!("--plugin {p}: insn-count takes no argument (it counts every block)")
            }
            ("mem-trace", Some(a)) => {
                let (path, max) = match a.split_once(",max=") {
                    Some((f, n)) => (
                        f,
                        n.parse::<u64>()
                            .ok()
                            .with_context(|| format!("--plugin {p}: max must be a number"))?,
                    ),
                    None => (a, mem_trace::DEFAULT_MAX),
                };
                mem_trace::install(create(p, path)?, max)
            }
            ("coverage", Some(a)) => coverage::install(a.into(), create(p, a)?),
            _ => bail!(
                "--plugin {p}: unknown plugin (known: insn-count, mem-trace=FILE[,max=N], coverage=FILE)"
            ),
        };
        if !installed {
            bail!("--plugin {p}: given twice");
        }
        // The file plugins write what the first program does: a program its
        // `execve` starts runs without them (its tern may not reach the path).
        if name == "insn-count" {
            reexec.push("--plugin".to_string());
            reexec.push(p.clone());
        }
    }
    if !reexec.is_empty() {
        interpose::add_reexec_args(reexec);
    }
    Ok(())
}

/// Creates (or truncates) a plugin's output file, before tern confines itself.
fn create(plugin: &str, path: &str) -> anyhow::Result<std::fs::File> {
    if path.is_empty() {
        bail!("--plugin {plugin}: FILE is empty");
    }
    std::fs::File::create(path).with_context(|| format!("--plugin {plugin}: cannot create {path}"))
}
