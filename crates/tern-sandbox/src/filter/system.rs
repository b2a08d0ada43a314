//! The host system calls of a system VM (`tern run`, `tern restore` of a system
//! snapshot): hart threads, devices (disk images, user-mode networking through
//! libslirp, socket network backends), the console, the control API and snapshot
//! files. The guest never names a host call here: it sees devices only.

use super::{common, Answer, Call, Check, Table};
use crate::allow;

/// Socket families a system VM creates: Unix (control API), IPv4 and IPv6 (network
/// backends).
pub const FAMILIES: &[u64] = &[
    libc::AF_UNIX as u64,
    libc::AF_INET as u64,
    libc::AF_INET6 as u64,
];

/// Signals go to this process only (the console and stop requests between its own
/// threads).
const OWN_SIGNALS: &[Call] = &[
    Call::new("SYS_kill", libc::SYS_kill, Check::OwnPid { arg: 0 }),
    Call::new("SYS_tgkill", libc::SYS_tgkill, Check::OwnPid { arg: 0 }),
];

/// `socket` itself: which families fail is the answer's business.
const SOCKET: &[Call] = allow![SYS_socket];

/// The system VM's table.
pub fn table() -> Table {
    let mut allowed = common::all();
    allowed.extend_from_slice(OWN_SIGNALS);
    allowed.extend_from_slice(SOCKET);
    let mut answers = common::ANSWERS.to_vec();
    answers.push(Answer {
        call: Call::new(
            "SYS_socket",
            libc::SYS_socket,
            Check::NotOneOf {
                arg: 0,
                values: FAMILIES,
            },
        ),
        errno: libc::EAFNOSUPPORT,
    });
    Table {
        name: "run",
        allowed,
        answers,
    }
}
