//! POSIX message queues in snapshots (`syscalls::mqueue`): a queue descriptor is
//! recorded with the queue's guest name, attributes and messages (with their
//! priorities). The messages are read by receiving them all and sending them back
//! in the same order while the process is paused (a queue has no peek); another
//! process of the VM using the queue at that moment could see it briefly empty.
//!
//! A restore makes the queue under the restored VM's host name (which carries the
//! VM's identity, see `syscalls::mqueue`), puts the messages back and opens the
//! descriptor with its flags. A queue whose name was removed (`mq_unlink`) while
//! held, and a queue of more than [`MQ_BYTES_MAX`] bytes, refuse the snapshot;
//! `mq_notify` registrations are not recorded.

use serde::{Deserialize, Serialize};

/// Most bytes of messages a recorded queue may hold.
pub const MQ_BYTES_MAX: u64 = 16 << 20;
/// Largest message size (`HARD_MSGSIZEMAX`).
const MSGSIZE_MAX: i64 = 16 << 20;

/// A message queue descriptor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MqState {
    /// The guest's name (without the leading `/`).
    pub name: String,
    /// Permission bits.
    pub mode: u32,
    /// `mq_maxmsg`.
    pub maxmsg: i64,
    /// `mq_msgsize`.
    pub msgsize: i64,
    /// The messages in the order they are received: (priority, text).
    pub messages: Vec<(u32, Vec<u8>)>,
}

fn last_error(what: &str) -> String {
    format!("{what}: {}", std::io::Error::last_os_error())
}

/// The guest name of a queue whose host link target is `/tern.PID.START.NAME`.
pub fn guest_name(link: &str) -> Option<&str> {
    let rest = link.strip_prefix("/tern.")?;
    let mut parts = rest.splitn(3, '.');
    let (pid, start, name) = (parts.next()?, parts.next()?, parts.next()?);
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (numeric(pid) && numeric(start) && !name.is_empty()).then_some(name)
}

fn mq_open(name: &str, flags: i32, mode: u32, attr: Option<&[i64; 8]>) -> Result<i32, String> {
    let c = std::ffi::CString::new(name).map_err(|_| "a queue name with NUL".to_string())?;
    let ap = attr.map_or(std::ptr::null(), |a| a.as_ptr());
    // SAFETY: a valid C string; `ap` is null or a struct mq_attr (8 longs).
    let fd = unsafe { libc::syscall(libc::SYS_mq_open, c.as_ptr(), flags, mode, ap) };
    if fd < 0 {
        return Err(last_error(&format!("mq_open {name}")));
    }
    Ok(fd as i32)
}

/// Records queue descriptor `fd` whose host link target is `link` (the queue's
/// host name with a leading `/`).
pub fn record(fd: i32, link: &str) -> Result<MqState, String> {
    let name = guest_name(link)
        .ok_or("not a queue of this VM")?
        .to_string();
    // SAFETY: fstat into a local.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is a valid stat buffer.
    if unsafe { libc::fstat(fd, &mut st) } < 0 {
        return Err(last_error("fstat"));
    }
    // A descriptor of our own that can receive (the program's may be write-only);
    // found by name, so a queue whose name is gone cannot be recorded.
    let own = mq_open(
        &link[1..],
        libc::O_RDWR | libc::O_NONBLOCK | libc::O_CLOEXEC,
        0,
        None,
    )
    .map_err(|e| format!("{e} (a queue unlinked while held cannot be recorded)"))?;
    let r = drain_and_refill(own);
    // SAFETY: closing our own descriptor.
    unsafe { libc::close(own) };
    let (attr, messages) = r?;
    Ok(MqState {
        name,
        mode: st.st_mode & 0o7777,
        maxmsg: attr[1],
        msgsize: attr[2],
        messages,
    })
}

/// Takes every message of queue `q` (non-blocking) and sends them back in the
/// order received; returns the attributes and the messages.
#[allow(clippy::type_complexity)]
fn drain_and_refill(q: i32) -> Result<([i64; 8], Vec<(u32, Vec<u8>)>), String> {
    let mut attr = [0i64; 8];
    // SAFETY: reading the attributes into a local struct mq_attr.
    if unsafe {
        libc::syscall(
            libc::SYS_mq_getsetattr,
            q,
            std::ptr::null::<i64>(),
            attr.as_mut_ptr(),
        )
    } < 0
    {
        return Err(last_error("mq_getattr"));
    }
    let (maxmsg, msgsize, curmsgs) = (attr[1], attr[2], attr[3]);
    if !(1..=MSGSIZE_MAX).contains(&msgsize)
        || (curmsgs.max(0) as u64).saturating_mul(msgsize as u64) > MQ_BYTES_MAX
    {
        return Err(format!(
            "a queue of {curmsgs} messages of up to {msgsize} bytes: more than {MQ_BYTES_MAX} bytes"
        ));
    }
    let mut buf = vec![0u8; msgsize as usize];
    let mut messages = Vec::new();
    loop {
        let mut prio = 0u32;
        // SAFETY: receiving into `buf` (its length given), the priority into a local.
        let n = unsafe {
            libc::syscall(
                libc::SYS_mq_timedreceive,
                q,
                buf.as_mut_ptr(),
                buf.len(),
                &mut prio as *mut u32,
                std::ptr::null::<libc::timespec>(),
            )
        };
        if n < 0 {
            if std::io::Error::last_os_error().raw_os_error() == Some(libc::EAGAIN) {
                break;
            }
            let e = last_error("mq_receive");
            send_all(q, &messages)?;
            return Err(e);
        }
        messages.push((prio, buf[..n as usize].to_vec()));
        if messages.len() as i64 > maxmsg.max(curmsgs) {
            break;
        }
    }
    send_all(q, &messages)?;
    Ok((attr, messages))
}

/// Sends `messages` to queue `q` in order.
fn send_all(q: i32, messages: &[(u32, Vec<u8>)]) -> Result<(), String> {
    for (prio, text) in messages {
        // SAFETY: sending from `text`.
        let r = unsafe {
            libc::syscall(
                libc::SYS_mq_timedsend,
                q,
                text.as_ptr(),
                text.len(),
                *prio,
                std::ptr::null::<libc::timespec>(),
            )
        };
        if r < 0 {
            return Err(last_error("mq_send"));
        }
    }
    Ok(())
}

/// Whether `fd` is a descriptor of the host's mqueue filesystem.
pub fn is_queue(fd: i32) -> bool {
    // SAFETY: fstatfs into a local.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is a valid statfs buffer.
    (unsafe { libc::fstatfs(fd, &mut st) } == 0) && st.f_type == 0x1980_0202
}

/// A new descriptor of the existing queue `host_name`, opened with `flags`.
pub fn open(host_name: &str, flags: i32) -> Result<i32, String> {
    mq_open(host_name, flags, 0, None)
}

/// Makes queue `m` under host name `host_name`, with its messages, and returns a
/// descriptor of it opened with `flags` (the program's access mode, `O_NONBLOCK`,
/// `O_CLOEXEC`).
pub fn remake(m: &MqState, host_name: &str, flags: i32) -> Result<i32, String> {
    let bytes: u64 = m.messages.iter().map(|(_, t)| t.len() as u64).sum();
    if !(1..=MSGSIZE_MAX).contains(&m.msgsize)
        || m.maxmsg < 1
        || m.messages.len() as i64 > m.maxmsg
        || m.messages.iter().any(|(_, t)| t.len() as i64 > m.msgsize)
        || bytes > MQ_BYTES_MAX
    {
        return Err(format!(
            "message queue {}: invalid attributes or messages",
            m.name
        ));
    }
    let attr = [0, m.maxmsg, m.msgsize, 0, 0, 0, 0, 0];
    let own = mq_open(
        host_name,
        libc::O_CREAT | libc::O_EXCL | libc::O_RDWR | libc::O_NONBLOCK | libc::O_CLOEXEC,
        m.mode,
        Some(&attr),
    )?;
    let filled = send_all(own, &m.messages);
    // SAFETY: closing our own descriptor.
    unsafe { libc::close(own) };
    filled?;
    mq_open(host_name, flags, 0, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guest_names_are_read_from_host_names() {
        assert_eq!(guest_name("/tern.12.345.queue.x"), Some("queue.x"));
        assert_eq!(guest_name("/tern.12.345."), None);
        assert_eq!(guest_name("/tern.a.345.q"), None);
        assert_eq!(guest_name("/other"), None);
    }

    #[test]
    fn a_queue_is_recorded_without_losing_its_messages_and_made_again() {
        let host = format!("tern.{}.1.saved-mq-test", std::process::id());
        let attr = [0, 4, 32, 0, 0, 0, 0, 0];
        let q = mq_open(
            &host,
            libc::O_CREAT | libc::O_RDWR | libc::O_NONBLOCK,
            0o600,
            Some(&attr),
        )
        .expect("a host queue");
        send_all(q, &[(1, b"low".to_vec()), (5, b"high".to_vec())]).unwrap();
        let m = record(q, &format!("/{host}")).unwrap();
        assert_eq!(m.name, "saved-mq-test");
        assert_eq!(
            m.messages,
            vec![(5, b"high".to_vec()), (1, b"low".to_vec())]
        );
        let (_, again) = drain_and_refill(q).unwrap();
        assert_eq!(again, m.messages, "the queue still holds them");
        // SAFETY: closing and removing our test queue.
        unsafe {
            libc::close(q);
            let c = std::ffi::CString::new(host.clone()).unwrap();
            libc::syscall(libc::SYS_mq_unlink, c.as_ptr());
        }
        let fd = remake(&m, &host, libc::O_RDWR | libc::O_NONBLOCK).unwrap();
        let (_, back) = drain_and_refill(fd).unwrap();
        assert_eq!(back, m.messages);
        // SAFETY: as above.
        unsafe {
            libc::close(fd);
            let c = std::ffi::CString::new(host).unwrap();
            libc::syscall(libc::SYS_mq_unlink, c.as_ptr());
        }
    }
}
