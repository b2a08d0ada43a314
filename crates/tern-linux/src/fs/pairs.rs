//! Which Unix sockets are the two ends of one `socketpair`, by host inode, so that a
//! snapshot can record a pair and rebuild it ([`crate::fs::saved_chan`]): the kernel
//! does not say which socket is a socket's peer without a netlink query.
//!
//! Entries are added when a pair is made (by the program or by a restore) and
//! kept for the process's life; a forked child inherits the map with the
//! descriptors. The map is bounded: past [`PRUNE_AT`] entries, those whose sockets
//! are no longer open in the process are dropped.

use std::collections::BTreeMap;
use std::sync::Mutex;

/// Entries kept before pairs whose sockets are closed are dropped.
pub const PRUNE_AT: usize = 4096;

/// inode -> peer inode, both directions.
static PEERS: Mutex<BTreeMap<u64, u64>> = Mutex::new(BTreeMap::new());

/// The host inode of socket (or any) descriptor `fd`, if it is open.
pub fn inode(fd: i32) -> Option<u64> {
    // SAFETY: fstat into a local.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is a valid stat buffer.
    (unsafe { libc::fstat(fd, &mut st) } == 0).then_some(st.st_ino)
}

/// The inodes of the sockets open in this process's descriptor table.
fn open_sockets() -> std::collections::BTreeSet<u64> {
    std::fs::read_dir("/proc/self/fd")
        .map(|dir| {
            dir.flatten()
                .filter_map(|e| {
                    let link = std::fs::read_link(e.path()).ok()?;
                    let s = link.to_str()?;
                    s.strip_prefix("socket:[")?.strip_suffix(']')?.parse().ok()
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Notes that descriptors `a` and `b` are the two ends of one socketpair.
pub fn register(a: i32, b: i32) {
    let (Some(ia), Some(ib)) = (inode(a), inode(b)) else {
        return;
    };
    let mut peers = PEERS.lock().unwrap_or_else(|e| e.into_inner());
    if peers.len() >= PRUNE_AT {
        let open = open_sockets();
        peers.retain(|k, v| open.contains(k) || open.contains(v));
    }
    peers.insert(ia, ib);
    peers.insert(ib, ia);
}

/// The inode of the other end of the socketpair whose end has inode `ino`.
pub fn peer(ino: u64) -> Option<u64> {
    PEERS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&ino)
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_ends_know_each_other() {
        let mut sv = [0i32; 2];
        // SAFETY: two-element array.
        let r = unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_STREAM, 0, sv.as_mut_ptr()) };
        assert_eq!(r, 0);
        register(sv[0], sv[1]);
        let (a, b) = (inode(sv[0]).unwrap(), inode(sv[1]).unwrap());
        assert_eq!(peer(a), Some(b));
        assert_eq!(peer(b), Some(a));
        assert!(open_sockets().contains(&a));
        // SAFETY: closing our own descriptors.
        unsafe {
            libc::close(sv[0]);
            libc::close(sv[1]);
        }
    }
}
