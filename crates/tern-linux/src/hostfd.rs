//! Keeping the emulator's own descriptors out of the guest's descriptor table.
//!
//! Guest descriptors are host descriptors with the same numbers (see [`crate::fs`]).
//! Work that opens descriptors of its own while the program runs — the control API
//! server (its listening socket, connections, the runtime's epoll), reading or
//! writing a snapshot file — would take numbers the program expects to get from
//! `open`, and a program that `dup2`s onto such a number would close it. Such work
//! runs on threads with a private descriptor table (`unshare(CLONE_FILES)`): a copy
//! of the guest's table at the time, of which only stderr is kept (stdin and stdout
//! are /dev/null there). Threads spawned
//! from such a thread share its private table.

/// Runs `f` on a new host thread whose descriptor table is its own (with only
/// stderr of the guest's kept, for diagnostics), and returns its result. Threads
/// that `f` spawns share that private table and outlive the call.
pub fn in_private_fd_table<T: Send + 'static>(
    name: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, String> {
    let handle = std::thread::Builder::new()
        .name(name.to_string())
        .spawn(move || {
            // No guest code runs here: the program's signals go to its threads
            // (threads this one starts inherit the mask).
            crate::signal::block_host_signals();
            unshare_files()?;
            Ok(f())
        })
        .map_err(|e| format!("cannot start thread {name}: {e}"))?;
    handle
        .join()
        .map_err(|_| format!("thread {name} panicked"))?
}

/// Gives the calling thread a private copy of the descriptor table and closes the
/// copies of everything but stderr in it.
fn unshare_files() -> Result<(), String> {
    // SAFETY: unshare affects only the calling thread's descriptor table.
    if unsafe { libc::unshare(libc::CLONE_FILES) } != 0 {
        return Err(format!(
            "unshare(CLONE_FILES): {}",
            std::io::Error::last_os_error()
        ));
    }
    let fds: Vec<i32> = std::fs::read_dir("/proc/thread-self/fd")
        .map_err(|e| format!("/proc/thread-self/fd: {e}"))?
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|s| s.parse().ok()))
        .collect();
    for fd in fds {
        if fd != 2 {
            // SAFETY: closing this thread's private copy; the guest's table keeps its
            // own descriptors (the directory handle read_dir used is closed already).
            unsafe { libc::close(fd) };
        }
    }
    // Standard input and output are /dev/null here, so that nothing else takes
    // those numbers and a stray print cannot land in a socket.
    // SAFETY: opening a constant path; descriptors 0 and 1 are free now.
    unsafe {
        for _ in 0..2 {
            libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        }
    }
    Ok(())
}

/// Writes all of `bytes` to `fd`, one of tern's own descriptors (stderr, a log file),
/// retrying short writes and giving up quietly on an error: a report that cannot be
/// written must not stop the program. Used by `--strace`, policy logs and plugin
/// reports.
pub fn write_all(fd: i32, bytes: &[u8]) {
    let mut off = 0;
    while off < bytes.len() {
        // SAFETY: writing a valid buffer to a descriptor; a bad one only fails.
        let n = unsafe { libc::write(fd, bytes[off..].as_ptr().cast(), bytes.len() - off) };
        if n <= 0 {
            break;
        }
        off += n as usize;
    }
}

/// Moves socket `s` to a descriptor numbered `min` or above (closing the old one).
/// Guest descriptors are host descriptors with the same numbers, so a socket tern
/// keeps while a restored program runs (a migration stream) goes above the numbers
/// the program may take ([`crate::fs::guest_fd_limit`]).
pub fn move_above(s: std::net::TcpStream, min: i32) -> std::io::Result<std::net::TcpStream> {
    use std::os::fd::{AsRawFd, FromRawFd};
    // SAFETY: F_DUPFD_CLOEXEC on a descriptor we own returns a new one or -1.
    let high = unsafe { libc::fcntl(s.as_raw_fd(), libc::F_DUPFD_CLOEXEC, min) };
    if high < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `high` was just made and nothing else owns it; `s` is dropped (closed).
    Ok(unsafe { std::net::TcpStream::from_raw_fd(high) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_descriptors_do_not_appear_in_the_shared_table() {
        let path = std::env::temp_dir().join(format!("tern-hostfd-{}", std::process::id()));
        std::fs::write(&path, b"x").unwrap();
        let p = path.clone();
        let fd = in_private_fd_table("t", move || {
            let f = std::fs::File::open(&p).unwrap();
            std::os::fd::IntoRawFd::into_raw_fd(f)
        })
        .unwrap();
        let here = std::fs::read_link(format!("/proc/thread-self/fd/{fd}")).ok();
        std::fs::remove_file(&path).unwrap();
        assert_ne!(
            here,
            Some(path),
            "descriptor {fd} leaked into the shared table"
        );
    }
}
