//! The super-server's API types: a service as registered and as the port mapper
//! reports it. Stored as JSON in the node's store, so new fields need
//! `#[serde(default)]`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Longest idle timeout a service may ask for (one day).
pub const MAX_IDLE_TIMEOUT_S: u64 = 24 * 3600;

/// `POST /slices/{name}/services`: a service of a slice, served by a VM restored
/// from a snapshot when a connection arrives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateService {
    /// The service's name, unique on the node (what `GET /services/{name}` finds).
    pub name: String,
    /// The TCP port the node listens on for it.
    #[schema(minimum = 1, maximum = 65535)]
    pub port: u16,
    /// The host address the node listens on.
    #[serde(default = "default_listen")]
    #[schema(default = "0.0.0.0")]
    pub listen: String,
    /// The snapshot file (`tern snapshot`) of a system VM with a `--netdev user`
    /// whose guest serves on `guest_port`. Absolute path, read by the node.
    pub snapshot: String,
    /// The guest's TCP port connections are handed to.
    #[serde(default = "default_guest_port")]
    #[schema(default = 80, minimum = 1, maximum = 65535)]
    pub guest_port: u16,
    /// Seconds without any connection after which the VM is snapshotted and
    /// stopped (scale to zero).
    #[serde(default = "default_idle_timeout_s")]
    #[schema(default = 60, minimum = 1)]
    pub idle_timeout_s: u64,
    /// The VM's memory in MiB as counted against the slice (it is the snapshot's).
    #[serde(default = "default_memory_mib")]
    #[schema(default = 128, minimum = 1)]
    pub memory_mib: u64,
}

fn default_listen() -> String {
    "0.0.0.0".into()
}

fn default_guest_port() -> u16 {
    80
}

fn default_idle_timeout_s() -> u64 {
    60
}

fn default_memory_mib() -> u64 {
    128
}

/// Whether a service's VM runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ServiceState {
    /// Only its snapshot exists: the next connection restores it.
    Cold,
    /// Its VM runs and connections go straight to it.
    Warm,
}

/// A service as the node records it, and the port mapper's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Service {
    /// Its name.
    pub name: String,
    /// The slice whose VM serves it.
    pub slice: String,
    /// The node's address it is reached at (the listen address).
    pub address: String,
    /// The node's port it is reached at.
    pub port: u16,
    /// The guest's port.
    pub guest_port: u16,
    /// The snapshot the next restore starts from (the registered one, then the
    /// node's own, written when the VM was last scaled to zero).
    pub snapshot: String,
    /// Seconds without connections before scaling to zero.
    pub idle_timeout_s: u64,
    /// The VM's memory in MiB.
    pub memory_mib: u64,
    /// Cold or warm.
    pub state: ServiceState,
    /// The running VM's id while warm.
    #[serde(default)]
    pub vm: Option<String>,
    /// The host loopback port the warm VM's `hostfwd` listens on.
    #[serde(default)]
    pub forward_port: Option<u16>,
    /// How many times the VM was restored.
    #[serde(default)]
    pub restores: u64,
    /// How long the last restore took, from the first waiting connection to the
    /// guest accepting it, in milliseconds.
    #[serde(default)]
    pub last_restore_ms: Option<u64>,
    /// Connections handed to the guest so far (since the daemon started).
    #[serde(default)]
    pub connections: u64,
}

impl CreateService {
    /// Checks the request's fields on their own.
    pub fn check(&self) -> Result<(), String> {
        crate::spec::check_name(&self.name)
            .map_err(|e| e.replacen("slice name", "service name", 1))?;
        if self.port == 0 || self.guest_port == 0 {
            return Err("port and guest_port must be 1 to 65535".into());
        }
        if self.listen.parse::<std::net::IpAddr>().is_err() {
            return Err(format!(
                "listen `{}` is not an IP address",
                self.listen.escape_debug()
            ));
        }
        if !self.snapshot.starts_with('/')
            || self.snapshot.contains('\0')
            || self.snapshot.len() > 4096
        {
            return Err("snapshot must be an absolute path (at most 4096 bytes)".into());
        }
        if self.idle_timeout_s == 0 || self.idle_timeout_s > MAX_IDLE_TIMEOUT_S {
            return Err(format!(
                "idle_timeout_s {} is out of range: 1 to {MAX_IDLE_TIMEOUT_S}",
                self.idle_timeout_s
            ));
        }
        if self.memory_mib == 0 || self.memory_mib > 64 * 1024 {
            return Err(format!(
                "memory_mib {} is out of range: 1 to 65536",
                self.memory_mib
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_take_defaults_and_are_checked() {
        let r: CreateService =
            serde_json::from_str(r#"{"name":"web","port":8080,"snapshot":"/s.tern"}"#).unwrap();
        assert_eq!(
            (r.guest_port, r.idle_timeout_s, r.listen.as_str()),
            (80, 60, "0.0.0.0")
        );
        assert!(r.check().is_ok());
        let bad = |f: fn(&mut CreateService)| {
            let mut b = r.clone();
            f(&mut b);
            b.check().is_err()
        };
        assert!(bad(|b| b.name = "A".into()));
        assert!(bad(|b| b.port = 0));
        assert!(bad(|b| b.snapshot = "rel.tern".into()));
        assert!(bad(|b| b.listen = "nowhere".into()));
        assert!(bad(|b| b.idle_timeout_s = 0));
        assert!(serde_json::from_str::<CreateService>(
            r#"{"name":"a","port":1,"snapshot":"/s","x":1}"#
        )
        .is_err());
    }
}
