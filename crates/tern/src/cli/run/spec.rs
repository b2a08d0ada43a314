//! Parsing of device options in QEMU's `key=value,...` style: `--drive` and `--netdev`.

use std::path::PathBuf;

use anyhow::{bail, Context};

/// Image format of a drive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DriveFormat {
    /// Raw image.
    Raw,
    /// qcow2 (as written by `qemu-img`).
    Qcow2,
    /// Not given: raw. Never probed (a guest can write a qcow2 header into its raw
    /// disk), but refused with a hint when the file starts like a qcow2 image.
    Unset,
}

/// `--drive file=PATH[,format=raw|qcow2][,readonly=on][,snapshot=on][,backing=PATH]...
/// [,data-file=PATH]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DriveSpec {
    /// Image file.
    pub file: PathBuf,
    /// Format.
    pub format: DriveFormat,
    /// The guest cannot write.
    pub readonly: bool,
    /// Writes go to a throw-away overlay; the image is never modified.
    pub snapshot: bool,
    /// Backing images a qcow2 image's chain may use (repeatable).
    pub backing: Vec<PathBuf>,
    /// The external data file a qcow2 image may use.
    pub data_file: Option<PathBuf>,
}

/// A network backend.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NetBackend {
    /// User-mode NAT (libslirp), with host port forwards (protocol, host port, guest port).
    User {
        /// `hostfwd=tcp::HOSTPORT-:GUESTPORT` rules, as written.
        hostfwd: Vec<String>,
        /// `host-loopback=on`: 10.0.2.2 reaches the host's 127.0.0.1.
        host_loopback: bool,
        /// `max-flows=N`: the cap on NAT flows, if not the default.
        max_flows: Option<usize>,
    },
    /// QEMU-compatible socket backend: listen for one peer.
    SocketListen(String),
    /// QEMU-compatible socket backend: connect to a peer.
    SocketConnect(String),
}

/// `--netdev user[,hostfwd=...][,host-loopback=on][,max-flows=N][,rate-kbps=N]` or
/// `--netdev socket,listen=HOST:PORT|connect=HOST:PORT`, with an optional
/// `mac=52:54:00:..` and an optional bandwidth limit `rate-kbps=N` (kilobits per
/// second each way).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetSpec {
    /// Backend.
    pub backend: NetBackend,
    /// MAC address, if given.
    pub mac: Option<[u8; 6]>,
    /// Bandwidth limit in kilobits per second, each way.
    pub rate_kbps: Option<u64>,
}

fn on_off(key: &str, value: &str) -> anyhow::Result<bool> {
    match value {
        "on" | "true" | "yes" => Ok(true),
        "off" | "false" | "no" => Ok(false),
        _ => bail!("{key}={value}: expected on or off"),
    }
}

fn pairs(spec: &str) -> impl Iterator<Item = (&str, &str)> {
    spec.split(',')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
}

/// Parses a `--drive` value.
pub fn parse_drive(spec: &str) -> anyhow::Result<DriveSpec> {
    let mut file = None;
    let mut d = DriveSpec {
        file: PathBuf::new(),
        format: DriveFormat::Unset,
        readonly: false,
        snapshot: false,
        backing: Vec::new(),
        data_file: None,
    };
    for (k, v) in pairs(spec) {
        match k {
            "file" => file = Some(PathBuf::from(v)),
            "format" => {
                d.format = match v {
                    "raw" => DriveFormat::Raw,
                    "qcow2" => DriveFormat::Qcow2,
                    _ => bail!("--drive format={v}: expected raw or qcow2"),
                }
            }
            "readonly" => d.readonly = on_off(k, v)?,
            "snapshot" => d.snapshot = on_off(k, v)?,
            "backing" if !v.is_empty() => d.backing.push(PathBuf::from(v)),
            "data-file" if !v.is_empty() && d.data_file.is_none() => {
                d.data_file = Some(PathBuf::from(v))
            }
            "data-file" if !v.is_empty() => bail!("--drive: data-file= given twice"),
            "backing" | "data-file" => bail!("--drive {k}=: expected a path"),
            "if" if v == "virtio" => {}
            _ => bail!(
                "--drive: unknown option {k}={v} (known: file, format, readonly, snapshot, backing, data-file)"
            ),
        }
    }
    d.file = file.context("--drive needs file=PATH")?;
    if d.format != DriveFormat::Qcow2 && (!d.backing.is_empty() || d.data_file.is_some()) {
        bail!("--drive: backing= and data-file= need format=qcow2");
    }
    Ok(d)
}

fn parse_mac(v: &str) -> anyhow::Result<[u8; 6]> {
    let parts: Vec<&str> = v.split(':').collect();
    if parts.len() != 6 {
        bail!("mac={v}: expected six hex bytes like 52:54:00:12:34:56");
    }
    let mut mac = [0u8; 6];
    for (m, p) in mac.iter_mut().zip(parts) {
        *m =
            u8::from_str_radix(p, 16).with_context(|| format!("mac={v}: {p} is not a hex byte"))?;
    }
    Ok(mac)
}

/// Parses a `--netdev` value.
pub fn parse_netdev(spec: &str) -> anyhow::Result<NetSpec> {
    let mut it = spec.splitn(2, ',');
    let kind = it.next().unwrap_or("");
    let rest = it.next().unwrap_or("");
    let mut mac = None;
    let mut hostfwd = Vec::new();
    let mut listen = None;
    let mut connect = None;
    let mut host_loopback = None;
    let mut max_flows = None;
    let mut rate_kbps = None;
    for (k, v) in pairs(rest) {
        match k {
            "mac" => mac = Some(parse_mac(v)?),
            "hostfwd" => hostfwd.push(v.to_string()),
            "host-loopback" => host_loopback = Some(on_off(k, v)?),
            "max-flows" => {
                let n: usize = v.parse().ok().filter(|&n| n > 0).with_context(|| {
                    format!("--netdev max-flows={v}: expected a number above 0")
                })?;
                max_flows = Some(n);
            }
            "rate-kbps" => {
                let n: u64 = v
                    .parse()
                    .ok()
                    .filter(|n| (1..=100_000_000).contains(n))
                    .with_context(|| {
                        format!("--netdev rate-kbps={v}: expected kilobits per second, 1 or more")
                    })?;
                rate_kbps = Some(n);
            }
            "listen" => listen = Some(v.to_string()),
            "connect" => connect = Some(v.to_string()),
            "id" => {}
            _ => bail!("--netdev: unknown option {k}={v}"),
        }
    }
    if kind != "user" && (host_loopback.is_some() || max_flows.is_some()) {
        bail!("--netdev {kind}: host-loopback= and max-flows= apply to user only");
    }
    let backend = match (kind, listen, connect) {
        ("user", None, None) => NetBackend::User {
            hostfwd,
            host_loopback: host_loopback.unwrap_or(false),
            max_flows,
        },
        ("socket", Some(a), None) => NetBackend::SocketListen(a),
        ("socket", None, Some(a)) => NetBackend::SocketConnect(a),
        ("socket", _, _) => {
            bail!("--netdev socket needs exactly one of listen=HOST:PORT or connect=HOST:PORT")
        }
        _ => bail!("--netdev {kind}: expected user or socket"),
    };
    Ok(NetSpec {
        backend,
        mac,
        rate_kbps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drives() {
        let d = parse_drive("file=disk.img,format=qcow2,readonly=on").unwrap();
        assert_eq!(d.file, PathBuf::from("disk.img"));
        assert_eq!(d.format, DriveFormat::Qcow2);
        assert!(d.readonly && !d.snapshot);
        assert!(d.backing.is_empty() && d.data_file.is_none());
        assert!(parse_drive("format=raw").is_err());
        assert!(parse_drive("file=x,cache=none").is_err());
        assert_eq!(parse_drive("file=x").unwrap().format, DriveFormat::Unset);
    }

    #[test]
    fn drives_name_their_backing_and_data_files() {
        let d = parse_drive(
            "file=top.qcow2,format=qcow2,backing=mid.qcow2,backing=/b/base.raw,data-file=data.raw",
        )
        .unwrap();
        assert_eq!(
            d.backing,
            vec![PathBuf::from("mid.qcow2"), PathBuf::from("/b/base.raw")]
        );
        assert_eq!(d.data_file, Some(PathBuf::from("data.raw")));
        for bad in [
            "file=x,backing=b",
            "file=x,format=raw,data-file=d",
            "file=x,format=qcow2,backing=",
            "file=x,format=qcow2,data-file=a,data-file=b",
        ] {
            assert!(parse_drive(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn netdev_rate_limits() {
        assert_eq!(parse_netdev("user").unwrap().rate_kbps, None);
        assert_eq!(
            parse_netdev("user,rate-kbps=1500").unwrap().rate_kbps,
            Some(1500)
        );
        assert_eq!(
            parse_netdev("socket,connect=h:1,rate-kbps=8")
                .unwrap()
                .rate_kbps,
            Some(8)
        );
        for bad in ["user,rate-kbps=0", "user,rate-kbps=x", "user,rate-kbps=-1"] {
            assert!(parse_netdev(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn netdevs() {
        let n = parse_netdev("user,hostfwd=tcp::2222-:22,mac=52:54:00:12:34:56").unwrap();
        assert_eq!(
            n.backend,
            NetBackend::User {
                hostfwd: vec!["tcp::2222-:22".into()],
                host_loopback: false,
                max_flows: None,
            }
        );
        assert_eq!(
            parse_netdev("user,host-loopback=on,max-flows=64")
                .unwrap()
                .backend,
            NetBackend::User {
                hostfwd: Vec::new(),
                host_loopback: true,
                max_flows: Some(64),
            }
        );
        assert!(parse_netdev("user,max-flows=0").is_err());
        assert!(parse_netdev("user,host-loopback=maybe").is_err());
        assert!(parse_netdev("socket,listen=:1,host-loopback=on").is_err());
        assert_eq!(n.mac, Some([0x52, 0x54, 0, 0x12, 0x34, 0x56]));
        assert_eq!(
            parse_netdev("socket,listen=:1234").unwrap().backend,
            NetBackend::SocketListen(":1234".into())
        );
        assert!(parse_netdev("socket").is_err());
        assert!(parse_netdev("tap,ifname=x").is_err());
    }
}
