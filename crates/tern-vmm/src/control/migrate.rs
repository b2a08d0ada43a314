//! The request and the answers of `PUT /migrate`, `GET /migrate` and
//! `DELETE /migrate`: live migration of a running system VM to another tern.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ControlError;

/// The smallest downtime budget a migration accepts: a switch-over costs about 2 ms
/// besides the pages (states, building the machine at the destination).
pub const MIN_DOWNTIME_MS: u64 = 3;

/// How memory moves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MigrationMode {
    /// Rounds over the dirty log while the VM runs, then a short stop for the rest.
    #[default]
    Precopy,
    /// One round, then the VM runs on the destination at once, which fetches the
    /// pages it has not received when it first touches them.
    Postcopy,
    /// Pre-copy, switching to post-copy when the rounds do not converge even with
    /// the harts throttled.
    Auto,
}

/// How the drives' disks move.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DiskMigration {
    /// Shared storage: the destination opens the same image path (checked by
    /// fingerprint). The blocks of a `snapshot=on` drive's throw-away overlay are
    /// copied, on top of the shared image.
    #[default]
    Shared,
    /// Block migration: every disk's content is copied while the VM runs (with
    /// dirty-block tracking); the destination needs nothing but the stream.
    Copy,
}

/// The TLS files of the source: its certificate and key, and the CA that signed the
/// destination's certificate (PEM, absolute paths, read by the VM process).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TlsPaths {
    /// This side's certificate (chain).
    pub cert: String,
    /// Its private key.
    pub key: String,
    /// The CA the destination's certificate must be signed by.
    pub ca: String,
    /// The name the destination's certificate must carry, if not the host of `to`.
    #[serde(default)]
    pub server_name: Option<String>,
}

/// What to do: the body of `PUT /migrate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MigrateRequest {
    /// Where the destination (`tern receive --listen`) listens: `HOST:PORT`.
    #[schema(example = "10.0.0.2:4444", min_length = 3, max_length = 255)]
    pub to: String,
    /// How memory moves.
    #[serde(default)]
    pub mode: MigrationMode,
    /// The longest the VM may stand still at the switch-over, in milliseconds:
    /// pre-copy rounds go on until what remains fits at the measured bandwidth.
    #[serde(default = "default_downtime")]
    #[schema(default = 100, minimum = 3, maximum = 60000)]
    pub max_downtime_ms: u64,
    /// Highest bandwidth to use, in MiB/s (none: as fast as the link goes).
    #[serde(default)]
    pub max_bandwidth_mib: Option<u64>,
    /// Throttle the harts when the guest dirties memory faster than the link
    /// carries it.
    #[serde(default = "yes")]
    #[schema(default = true)]
    pub auto_converge: bool,
    /// How the disks move.
    #[serde(default)]
    pub disks: DiskMigration,
    /// Mutual TLS with these files; required unless `insecure`.
    #[serde(default)]
    pub tls: Option<TlsPaths>,
    /// Plain TCP: the VM's memory travels unencrypted and the destination is not
    /// authenticated. For tests on the loopback.
    #[serde(default)]
    pub insecure: bool,
    /// Process VMs: how the files the program holds are bound, `PATH=rb|cp|mv`
    /// rules (guest paths; the longest matching one decides; default rb: opened
    /// again by path at the destination). cp: the contents travel and are written
    /// at the same path there; mv: the same, and the source's file is removed.
    #[serde(default)]
    #[schema(example = json!(["/data=cp", "/data/out.txt=mv"]))]
    pub bindings: Vec<String>,
}

fn default_downtime() -> u64 {
    100
}

fn yes() -> bool {
    true
}

impl MigrateRequest {
    /// A pre-copy migration to `to` over plain TCP with the default limits.
    pub fn insecure(to: impl Into<String>) -> MigrateRequest {
        MigrateRequest {
            to: to.into(),
            mode: MigrationMode::Precopy,
            max_downtime_ms: default_downtime(),
            max_bandwidth_mib: None,
            auto_converge: true,
            disks: DiskMigration::Shared,
            tls: None,
            insecure: true,
            bindings: Vec::new(),
        }
    }

    /// Checks what can be checked without the VM.
    pub fn validate(&self) -> Result<(), ControlError> {
        let bad = |why: String| Err(ControlError::InvalidRequest(format!("migrate: {why}")));
        if self.to.is_empty() || self.to.len() > 255 || !self.to.contains(':') {
            return bad(format!(
                "`to` must be HOST:PORT, not `{}`",
                self.to.escape_debug()
            ));
        }
        // A switch-over costs about 2 ms besides the pages: a smaller budget could
        // never be met, and pre-copy would throttle the guest forever.
        if !(MIN_DOWNTIME_MS..=60_000).contains(&self.max_downtime_ms) {
            return bad(format!(
                "max_downtime_ms must be {MIN_DOWNTIME_MS} to 60000, not {}",
                self.max_downtime_ms
            ));
        }
        if self.bindings.len() > 256 {
            return bad("at most 256 bindings".into());
        }
        if self.bindings.iter().any(|r| r.len() > 4096) {
            return bad("a binding longer than 4096 bytes".into());
        }
        tern_linux::fs::binding::Bindings::parse(&self.bindings)
            .map_err(|e| ControlError::InvalidRequest(format!("migrate: bindings: {e}")))?;
        if self.max_bandwidth_mib == Some(0) {
            return bad("max_bandwidth_mib must be at least 1".into());
        }
        match (&self.tls, self.insecure) {
            (None, false) => {
                return bad("give tls (certificate, key and CA) or ask for insecure".into())
            }
            (Some(_), true) => return bad("tls and insecure exclude each other".into()),
            _ => {}
        }
        if let Some(t) = &self.tls {
            for (what, p) in [("cert", &t.cert), ("key", &t.key), ("ca", &t.ca)] {
                if !p.starts_with('/') || p.len() > super::MAX_PATH_LEN || p.contains('\0') {
                    return bad(format!(
                        "tls {what} `{}` must be an absolute path",
                        p.escape_debug()
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Where a migration is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum MigrationPhase {
    /// No migration was asked for.
    None,
    /// Connecting, authenticating, sending the configuration.
    Setup,
    /// Pre-copy rounds while the VM runs.
    Precopy,
    /// The VM is paused; the rest of its state is on its way.
    Switchover,
    /// The VM runs on the destination, which still fetches pages from here.
    Postcopy,
    /// The VM runs on the destination; this one has ended.
    Completed,
    /// The migration failed; `error` says why. Before the switch-over the VM runs on
    /// here; after it, see the README ("failure semantics").
    Failed,
    /// Cancelled (`DELETE /migrate`): the VM runs on here.
    Cancelled,
}

impl MigrationPhase {
    /// Whether the migration is over (a new one may start).
    pub fn is_over(self) -> bool {
        matches!(
            self,
            MigrationPhase::None
                | MigrationPhase::Completed
                | MigrationPhase::Failed
                | MigrationPhase::Cancelled
        )
    }
}

/// The progress of a migration: the answer of `GET /migrate`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MigrationStatus {
    /// Where it is.
    pub phase: MigrationPhase,
    /// The destination.
    pub to: String,
    /// How memory moves (post-copy once `auto` switched).
    pub mode: MigrationMode,
    /// Pre-copy round (0: the first pass over all memory).
    pub iteration: u64,
    /// Bytes sent so far (frames, before TLS).
    pub bytes_sent: u64,
    /// Guest pages sent so far (including resent ones).
    pub pages_sent: u64,
    /// Guest memory in bytes.
    pub memory_bytes: u64,
    /// Bytes the guest dirtied per second in the last round.
    pub dirty_rate_bytes: u64,
    /// Bytes per second the link carried in the last round.
    pub bandwidth_bytes: u64,
    /// Bytes still to send (dirty pages and disk blocks) at the last count.
    pub remaining_bytes: u64,
    /// How long the switch-over would take with what remains, in milliseconds.
    pub expected_downtime_ms: f64,
    /// How much the harts are held back, in percent (auto-converge).
    pub throttle_percent: u32,
    /// How long the VM stood still (pause to running on the destination), once known.
    pub downtime_ms: Option<f64>,
    /// Time since the migration started, in milliseconds.
    pub total_ms: f64,
    /// Why it failed.
    pub error: Option<String>,
}

impl MigrationStatus {
    /// The status of a VM that was never asked to migrate.
    pub fn none() -> MigrationStatus {
        MigrationStatus {
            phase: MigrationPhase::None,
            to: String::new(),
            mode: MigrationMode::Precopy,
            iteration: 0,
            bytes_sent: 0,
            pages_sent: 0,
            memory_bytes: 0,
            dirty_rate_bytes: 0,
            bandwidth_bytes: 0,
            remaining_bytes: 0,
            expected_downtime_ms: 0.0,
            throttle_percent: 0,
            downtime_ms: None,
            total_ms: 0.0,
            error: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_checked() {
        assert!(MigrateRequest::insecure("127.0.0.1:4444")
            .validate()
            .is_ok());
        let mut r = MigrateRequest::insecure("nowhere");
        assert!(r.validate().is_err());
        r.to = "h:1".into();
        r.insecure = false;
        let e = r.validate().unwrap_err().to_string();
        assert!(e.contains("give tls"), "{e}");
        r.tls = Some(TlsPaths {
            cert: "c.pem".into(),
            key: "/k.pem".into(),
            ca: "/ca.pem".into(),
            server_name: None,
        });
        let e = r.validate().unwrap_err().to_string();
        assert!(e.contains("absolute"), "{e}");
        let json = r#"{"to":"h:1","insecure":true}"#;
        let r: MigrateRequest = serde_json::from_str(json).unwrap();
        assert_eq!(r.max_downtime_ms, 100);
        assert!(r.auto_converge);
        // A budget below a switch-over's fixed cost could never be met.
        let mut r = MigrateRequest::insecure("127.0.0.1:4444");
        r.max_downtime_ms = 2;
        let e = r.validate().unwrap_err().to_string();
        assert!(e.contains("must be 3 to 60000, not 2"), "{e}");
        r.max_downtime_ms = 3;
        assert!(r.validate().is_ok());
        // Binding rules: absolute guest paths, rb, cp or mv.
        r.bindings = vec!["/data=cp".into(), "/data/out.txt=mv".into()];
        assert!(r.validate().is_ok());
        for bad in [
            "data=cp",
            "/data=gr",
            "/data",
            &format!("/{}=cp", "a".repeat(4096)),
        ] {
            r.bindings = vec![bad.to_string()];
            let e = r.validate().unwrap_err().to_string();
            assert!(e.contains("binding"), "{bad:.20}: {e}");
        }
    }
}
