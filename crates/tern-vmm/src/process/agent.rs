//! Jumps asked by the program itself (`--agent`, see [`tern_linux::agent`]): each
//! starts a live migration of this process VM to the address the program gave, with
//! the security the user chose when starting it (TLS files or plain TCP). It is the
//! same migration `tern migrate` starts, and the control API shows its progress.

use std::sync::{Arc, OnceLock};

use tern_linux::agent::{Journey, Jumper};
use tern_linux::Process;

use super::config::ProcessConfig;
use super::migrate::ProcessMigrant;
use crate::control::{MigrateRequest, MigrationPhase, TlsPaths};
use crate::migrate::Migrations;

/// The migrations of this host process's process VM (there is one per host
/// process): shared by the control API and the program's jumps.
pub fn migrations() -> Arc<Migrations> {
    static M: OnceLock<Arc<Migrations>> = OnceLock::new();
    M.get_or_init(Default::default).clone()
}

/// Starts the migrations of the program's jumps.
struct AgentJumper {
    proc: Arc<Process>,
    config: ProcessConfig,
    tls: Option<TlsPaths>,
}

impl Jumper for AgentJumper {
    fn start(&self, to: &str) -> Result<Journey, String> {
        let mut req = MigrateRequest::insecure(to);
        req.insecure = self.tls.is_none();
        req.tls = self.tls.clone();
        // A program that moves itself is waiting in its call: no reason to slow it.
        req.auto_converge = false;
        req.validate().map_err(|e| e.to_string())?;
        let vm = Arc::new(ProcessMigrant {
            proc: self.proc.clone(),
            config: self.config.clone(),
            migrations: migrations(),
            to: to.to_string(),
            wait_for_reader: false,
            bindings: Default::default(),
            moved_files: Default::default(),
        });
        let m = migrations();
        m.start(vm, req).map_err(|e| e.to_string())?;
        Ok(Box::new(move || {
            let s = m.status();
            match s.phase {
                MigrationPhase::Completed => Some(Ok(())),
                p if p.is_over() => Some(Err(s.error.unwrap_or_else(|| "cancelled".into()))),
                _ => None,
            }
        }))
    }
}

/// Lets program `proc` (run with `config`) move itself: its jumps go out with `tls`
/// (mutual TLS) or, when `None`, over plain TCP.
pub fn allow_jumps(proc: &Arc<Process>, config: ProcessConfig, tls: Option<TlsPaths>) {
    tern_linux::agent::install(Box::new(AgentJumper {
        proc: proc.clone(),
        config,
        tls,
    }));
}
