//! `tern restore --hostfwd RULE`: new port forwards for a restored VM's user-mode
//! network. A snapshot records its `--netdev` options as written, host ports
//! included; a VM restored elsewhere, or twice at once, or by the node manager's
//! super-server (which picks a free port each time) needs other host ports. The
//! rules given replace every `hostfwd=` of the first `user` netdev; the guest side is
//! unchanged (its address and ports are in its memory).

/// The netdevs of a snapshot with the `hostfwd=` rules of the first `user` netdev
/// replaced by `rules` (each `[tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport`).
/// Fails if the VM has no `user` netdev. No rules: the netdevs unchanged.
pub fn replace_hostfwd(netdevs: &[String], rules: &[String]) -> anyhow::Result<Vec<String>> {
    if rules.is_empty() {
        return Ok(netdevs.to_vec());
    }
    let mut out = netdevs.to_vec();
    let Some(user) = out.iter_mut().find(|n| n.split(',').next() == Some("user")) else {
        anyhow::bail!(
            "--hostfwd: the snapshot's VM has no `--netdev user` (its netdevs: {})",
            if netdevs.is_empty() {
                "none".to_string()
            } else {
                netdevs.join(" ")
            }
        );
    };
    let mut parts: Vec<String> = user
        .split(',')
        .filter(|p| !p.starts_with("hostfwd="))
        .map(str::to_string)
        .collect();
    parts.extend(rules.iter().map(|r| format!("hostfwd={r}")));
    *user = parts.join(",");
    Ok(out)
}

/// The netdevs of a snapshot with every card limited to `kbps` (`rate-kbps=`,
/// replacing a limit the snapshot had): `tern restore --net-rate`, what the node
/// manager gives a slice's restored VMs.
pub fn replace_rate(netdevs: &[String], kbps: Option<u64>) -> Vec<String> {
    let Some(kbps) = kbps else {
        return netdevs.to_vec();
    };
    netdevs
        .iter()
        .map(|n| {
            let mut parts: Vec<String> = n
                .split(',')
                .filter(|p| !p.starts_with("rate-kbps="))
                .map(str::to_string)
                .collect();
            parts.push(format!("rate-kbps={kbps}"));
            parts.join(",")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rate_replaces_every_cards_limit() {
        let nets = vec!["user,rate-kbps=5".to_string(), "socket,connect=h:1".into()];
        assert_eq!(
            replace_rate(&nets, Some(1500)),
            ["user,rate-kbps=1500", "socket,connect=h:1,rate-kbps=1500"]
        );
        assert_eq!(replace_rate(&nets, None), nets);
    }

    #[test]
    fn rules_replace_the_first_user_netdevs_forwards() {
        let nets = vec![
            "socket,listen=127.0.0.1:1".to_string(),
            "user,hostfwd=tcp::2222-:22,host-loopback=on".to_string(),
        ];
        let got = replace_hostfwd(&nets, &["tcp:127.0.0.1:4000-:80".to_string()]).unwrap();
        assert_eq!(got[0], nets[0]);
        assert_eq!(
            got[1],
            "user,host-loopback=on,hostfwd=tcp:127.0.0.1:4000-:80"
        );
        assert_eq!(replace_hostfwd(&nets, &[]).unwrap(), nets);
        assert!(replace_hostfwd(&nets[..1], &["tcp::1-:2".to_string()]).is_err());
    }
}
